"""Who an LLM call belongs to: team, feature, customer, user, prompt.

``attributes(...)`` puts the values in OpenTelemetry baggage, so they are nestable,
thread- and asyncio-safe (baggage lives in contextvars) and cross service
boundaries with the W3C ``baggage`` header. Every LLM span started inside reads
them back with ``current_attributes()``.
"""

from __future__ import annotations

import enum
import functools
import inspect
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry import baggage, context

from otel_llmcost.semconv import ATTRIBUTION_KEYS, LLMCOST_EXTRA_PREFIX
from otel_llmcost.stepwise import async_generator_in, generator_in

logger = logging.getLogger(__name__)
_F = TypeVar("_F", bound=Callable[..., Any])

# The baggage entries that are attribution: the named keys and llmcost.attr.* extras. Other llmcost.*
# keys are the library's own span attributes (the fingerprint, the estimated and unpriced flags): an
# upstream service's baggage must not set them.
_OWN_KEYS = frozenset(ATTRIBUTION_KEYS.values())
# The blocks open in this context, innermost last: (the attributes object's id, its context token,
# whether it was closed out of order). Per context, so one object (say, a module-level
# ``SUPPORT = attributes(team="support")``) may be open in many threads and tasks at once.
_open: ContextVar[tuple[tuple[int, object, bool], ...]] = ContextVar("otel_llmcost.attributes.open", default=())


class attributes:  # noqa: N801 (used like a function: ``with attributes(team=...):``)
    """Attribute every LLM call inside this block; inner blocks override outer ones.

    >>> with attributes(team="support", feature="answer", customer="c-042"):
    ...     client.chat.completions.create(...)

    Extra keyword arguments land on spans as ``llmcost.attr.<key>``. ``None`` leaves
    an outer value in place. It also decorates a function, ``async def`` and generators
    included: each call (each step of a generator) runs inside the block.
    """

    def __init__(
        self,
        /,
        *,
        team: str | None = None,
        feature: str | None = None,
        customer: str | None = None,
        user: str | None = None,
        prompt_name: str | None = None,
        **extra: str | int | float | bool,
    ) -> None:
        named = {"team": team, "feature": feature, "customer": customer, "user": user, "prompt_name": prompt_name}
        self._entries = [(ATTRIBUTION_KEYS[key], key, value) for key, value in named.items() if value is not None]
        self._entries += [(LLMCOST_EXTRA_PREFIX + key, key, value) for key, value in extra.items() if value is not None]
        for baggage_key, _, value in self._entries:  # once per block object, not per entry into it
            _check_entry_size(baggage_key, value)

    def __enter__(self) -> None:
        token = self._attach()
        _open.set((*_open.get(), (id(self), token, False)))

    def __exit__(self, *exc_info: object) -> None:
        blocks = _open.get()
        for index in range(len(blocks) - 1, -1, -1):  # this object's innermost open block in this context
            if blocks[index][0] == id(self) and not blocks[index][2]:
                break
        else:
            return
        if index < len(blocks) - 1:
            # Closed before a block opened inside it (exits out of order): the inner block's context holds
            # this one's values, so detaching now would bring them back when the inner one ends. It is
            # detached, in order, when the blocks inside it are.
            _open.set((*blocks[:index], (id(self), blocks[index][1], True), *blocks[index + 1 :]))
            return
        context.detach(blocks[index][1])
        while index and blocks[index - 1][2]:  # the blocks below that closed early go with it
            index -= 1
            context.detach(blocks[index][1])
        _open.set(blocks[:index])

    def _attach(self) -> object:
        ctx = context.get_current()
        for baggage_key, argument, value in self._entries:
            ctx = _with_entry(ctx, baggage_key, argument, value)
        return context.attach(ctx)

    def __call__(self, function: _F) -> _F:
        # Each call attaches and detaches its own context: one decorated function may run in many
        # threads and tasks at once.
        if inspect.isgeneratorfunction(function):  # each step inside the block, the caller's code outside
            return generator_in(function, self._begin_steps, _end_steps)  # type: ignore[return-value]
        if inspect.isasyncgenfunction(function):
            return async_generator_in(function, self._begin_steps, _end_steps)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                token = self._attach()
                try:
                    return await function(*args, **kwargs)
                finally:
                    context.detach(token)

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            token = self._attach()
            try:
                return function(*args, **kwargs)
            finally:
                context.detach(token)

        return run  # type: ignore[return-value]


    def _begin_steps(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        return self._attach()  # in the generator's own context (stepwise)


def _end_steps(token: object, error: BaseException | None, result: object) -> None:
    context.detach(token)  # type: ignore[arg-type]


# The context key OpenTelemetry keeps baggage under. It is private to opentelemetry.baggage, but
# reading it directly saves the three calls of baggage.get_all on every LLM call (the hot path runs
# cold, where each call costs microseconds); if a release renames it, get_all is used.
_BAGGAGE_KEY = getattr(baggage, "_BAGGAGE_KEY", None)
_HELD = context.create_key("otel_llmcost.attribution.held")


def current_attributes(ctx: context.Context | None = None) -> dict[str, str]:
    """The attribution in ``ctx`` (default: the current context), as span attributes."""
    if ctx is None:
        ctx = context.get_current()
    entries = baggage.get_all(ctx) if _BAGGAGE_KEY is None else ctx.get(_BAGGAGE_KEY)
    held = ctx.get(_HELD)  # a provider request's context (for_provider) holds it out of the baggage
    if not entries or (type(entries) is not dict and not isinstance(entries, Mapping)):
        return dict(held) if held else {}
    found = {}
    for key, value in entries.items():
        # OpenTelemetry's API takes any key and value: an entry that is not text (42, an object whose
        # str() raises) is none of ours, and must not make the user's call raise
        if type(key) is str and (key in _OWN_KEYS or key.startswith(LLMCOST_EXTRA_PREFIX)):
            try:
                found[key] = str(value)
            except Exception:  # noqa: BLE001
                continue
    return {**held, **found} if held else found


def for_provider(ctx: context.Context | None = None) -> context.Context:
    """``ctx`` (default: the current context) with its attribution held out of the baggage: the context
    an LLM provider's request runs in. Baggage carries attribution across the user's own services; a
    provider is none of them, yet anthropic 2.x (and any HTTP client instrumentation) would send it
    the customer and user ids in the W3C ``baggage`` header. ``current_attributes`` still reads it
    there (what we record inside the request keeps it). The same context when there is none."""
    if ctx is None:
        ctx = context.get_current()
    entries = baggage.get_all(ctx) if _BAGGAGE_KEY is None else ctx.get(_BAGGAGE_KEY)
    if not entries or (type(entries) is not dict and not isinstance(entries, Mapping)):
        return ctx
    try:
        held = current_attributes(ctx)
        outbound = ctx
        for key in held:
            outbound = baggage.remove_baggage(key, outbound)
        return context.set_value(_HELD, held, outbound) if held else ctx
    except Exception:  # noqa: BLE001 (runs outside our wrappers' guards: never the user's problem)
        logger.debug("otel-llmcost: the attribution could not be held out of the baggage", exc_info=True)
        return ctx


def attach_for_provider() -> object | None:
    """Make ``for_provider()`` of the current context current (for a request we record no span of);
    the token to detach, or None when there was no attribution to leave out."""
    try:
        ctx = context.get_current()
        outbound = for_provider(ctx)
        return None if outbound is ctx else context.attach(outbound)
    except Exception:  # noqa: BLE001 (runs outside our wrappers' guards: never the user's problem)
        return None


def _with_entry(ctx: context.Context, baggage_key: str, argument: str, value: object) -> context.Context:
    # A wrong type is the caller's bug, but telemetry must never break the program: warn and skip.
    if isinstance(value, enum.Enum):  # class Team(str, Enum): its value, not "Team.SUPPORT"
        value = value.value
    if not argument:
        logger.warning("otel_llmcost.attributes() got an empty attribute name; the value is ignored.")
        return ctx
    if not isinstance(value, (str, int, float, bool)):
        logger.warning(
            "otel_llmcost.attributes(%s=...) takes a str, int, float or bool, got %s; the value is ignored. "
            "Pass an identifier such as a team name, not an object.",
            argument,
            type(value).__name__,
        )
        return ctx
    return baggage.set_baggage(baggage_key, str(value), ctx)


# W3C Baggage, which carries the attribution to other services, holds at most 4,096 bytes a list-member,
# encoded as OpenTelemetry's propagator encodes it (quote_plus). The propagator drops a bigger one, saying so
# only at inject, far from the cause: said here, once a key.
_ENTRY_BYTES = 4096
_said_too_big: set[str] = set()


def _check_entry_size(baggage_key: str, value: object) -> None:
    if not isinstance(value, str) or len(value) * 12 + len(baggage_key) * 3 < _ENTRY_BYTES:
        return  # 12 bytes at most a character (a 4-byte one, percent-encoded): this one fits
    if baggage_key in _said_too_big:
        return
    size = len(urllib.parse.quote_plus(baggage_key)) + 1 + len(urllib.parse.quote_plus(value))
    if size > _ENTRY_BYTES:
        _said_too_big.add(baggage_key)
        logger.warning(
            "otel_llmcost.attributes(): the baggage entry %r is %d bytes, and the W3C baggage that carries "
            "attribution to other services holds at most %d bytes an entry: services downstream will not get "
            "it (this process's spans do). Pass an identifier, not text.",
            baggage_key,
            size,
            _ENTRY_BYTES,
        )

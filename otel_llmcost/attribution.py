"""Who an LLM call belongs to: team, feature, customer, user, prompt.

``attributes(...)`` puts the values in OpenTelemetry baggage, so they are nestable,
thread- and asyncio-safe (baggage lives in contextvars) and cross service
boundaries with the W3C ``baggage`` header. Every LLM span started inside reads
them back with ``current_attributes()``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from opentelemetry import baggage, context

from otel_llmcost.semconv import ATTRIBUTION_KEYS, LLMCOST_EXTRA_PREFIX, LLMCOST_PROMPT_NAME

logger = logging.getLogger(__name__)
_F = TypeVar("_F", bound=Callable[..., Any])

_OWN_PREFIXES = ("llmcost.",)
_OWN_KEYS = frozenset({LLMCOST_PROMPT_NAME})


class attributes:  # noqa: N801 (used like a function: ``with attributes(team=...):``)
    """Attribute every LLM call inside this block; inner blocks override outer ones.

    >>> with attributes(team="support", feature="answer", customer="c-042"):
    ...     client.chat.completions.create(...)

    Extra keyword arguments land on spans as ``llmcost.attr.<key>``. ``None`` leaves
    an outer value in place. It also decorates a function, ``async def`` ones included:
    each call runs inside the block.
    """

    def __init__(
        self,
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
        self._tokens: list[object] = []

    def __enter__(self) -> None:
        self._tokens.append(self._attach())

    def __exit__(self, *exc_info: object) -> None:
        context.detach(self._tokens.pop())

    def _attach(self) -> object:
        ctx = context.get_current()
        for baggage_key, argument, value in self._entries:
            ctx = _with_entry(ctx, baggage_key, argument, value)
        return context.attach(ctx)

    def __call__(self, function: _F) -> _F:
        # Each call attaches and detaches its own context: one decorated function may run in many
        # threads and tasks at once.
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


# The context key OpenTelemetry keeps baggage under. It is private to opentelemetry.baggage, but
# reading it directly saves the three calls of baggage.get_all on every LLM call (the hot path runs
# cold, where each call costs microseconds); if a release renames it, get_all is used.
_BAGGAGE_KEY = getattr(baggage, "_BAGGAGE_KEY", None)


def current_attributes(ctx: context.Context | None = None) -> dict[str, str]:
    """The attribution in ``ctx`` (default: the current context), as span attributes."""
    if _BAGGAGE_KEY is None:
        entries: object = baggage.get_all(ctx)
    else:
        entries = (context.get_current() if ctx is None else ctx).get(_BAGGAGE_KEY)
    if not entries or (type(entries) is not dict and not isinstance(entries, Mapping)):
        return {}
    return {key: str(value) for key, value in entries.items() if key in _OWN_KEYS or key.startswith(_OWN_PREFIXES)}


def _with_entry(ctx: context.Context, baggage_key: str, argument: str, value: object) -> context.Context:
    # A wrong type is the caller's bug, but telemetry must never break the program: warn and skip.
    if not isinstance(value, (str, int, float, bool)):
        logger.warning(
            "otel_llmcost.attributes(%s=...) takes a str, int, float or bool, got %s; the value is ignored. "
            "Pass an identifier such as a team name, not an object.",
            argument,
            type(value).__name__,
        )
        return ctx
    return baggage.set_baggage(baggage_key, str(value), ctx)

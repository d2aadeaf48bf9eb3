"""Decorated generators whose steps run inside a context, and the caller's code between them outside it.

A decorator that enters a context around a call (``attributes(...)``, an agent or tool span) cannot
simply wrap a generator function: calling it returns the generator before its body has run, and a
context held open across ``yield`` in the caller's context would leak into the caller's code between
steps (and be left in another context than it was entered in). These wrappers give each generator a
context of its own (a ``contextvars.Context``, copied from the caller's at the first step), enter the
decorator's block there once, and run every step in it, ``send``, ``throw`` and ``close`` passed through.
What the generator's own code opens across a ``yield`` (an inner block, a span of the user's) stays open
for its later steps, as in a plain generator, and none of it reaches the caller's code. They are
generator functions themselves, so code that inspects the decorated function
(``inspect.isasyncgenfunction``) still sees what it is.

Hooks, both run in the generator's context:
- ``begin(args, kwargs)``: at the first step, before it runs; enters the block and returns its state;
- ``end(state, error, result)``: once, when the generator returned, raised or was closed (``error``
  None then; ``result`` its return value).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any

Begin = Callable[[tuple[Any, ...], dict[str, Any]], Any]
End = Callable[[Any, "BaseException | None", Any], None]


def generator_in(function: Callable[..., Iterator[Any]], begin: Begin, end: End) -> Callable[..., Iterator[Any]]:
    """``function`` (a generator function), its generators' steps in a context of their own, inside the block."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        own = contextvars.copy_context()
        state = own.run(begin, args, kwargs)
        try:
            result = yield from _steps(function(*args, **kwargs), own)
        except GeneratorExit:
            own.run(end, state, None, None)
            raise
        except BaseException as error:
            own.run(end, state, error, None)
            raise
        own.run(end, state, None, result)
        return result

    return run


def _steps(generator: Any, own: contextvars.Context) -> Any:
    step: Callable[[Any], Any] = generator.send
    value: Any = None
    while True:
        try:
            item = own.run(step, value)
        except StopIteration as stop:
            return stop.value
        try:
            value = yield item
            step = generator.send
        except GeneratorExit:
            own.run(generator.close)
            raise
        except BaseException as error:  # thrown in by the caller: into the generator, in its context
            step, value = generator.throw, error


def async_generator_in(
    function: Callable[..., AsyncIterator[Any]], begin: Begin, end: End
) -> Callable[..., AsyncIterator[Any]]:
    """``generator_in`` for an async generator function (which cannot delegate with ``yield from``)."""

    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        own = contextvars.copy_context()
        state = own.run(begin, args, kwargs)
        generator: Any = function(*args, **kwargs)
        step: Callable[[Any], Any] = generator.asend
        value: Any = None
        try:
            while True:
                try:
                    item = await _InContext(own, step(value))
                except StopAsyncIteration:
                    break
                try:
                    value = yield item
                    step = generator.asend
                except GeneratorExit:
                    await _InContext(own, generator.aclose())
                    raise
                except BaseException as error:
                    step, value = generator.athrow, error
        except GeneratorExit:
            own.run(end, state, None, None)
            raise
        except BaseException as error:
            own.run(end, state, error, None)
            raise
        own.run(end, state, None, None)

    return run


class _InContext:
    """Awaits ``awaitable`` with each of its resumptions run in ``own``: an async generator's step
    runs in the task that awaits it, and ``Context.run`` covers only what runs inside the call."""

    __slots__ = ("_own", "_awaitable")

    def __init__(self, own: contextvars.Context, awaitable: Any) -> None:
        self._own = own
        self._awaitable = awaitable

    def __await__(self) -> Generator[Any, Any, Any]:
        iterator = self._awaitable.__await__()
        resume: Callable[[Any], Any] = iterator.send
        value: Any = None
        while True:
            try:
                signal = self._own.run(resume, value)
            except StopIteration as stop:
                return stop.value
            try:
                value = yield signal
                resume = iterator.send
            except BaseException as error:  # cancelled, or closed: into the step, in its context
                resume, value = iterator.throw, error

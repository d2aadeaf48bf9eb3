"""Decorated generators whose steps run inside a context, and the caller's code between them outside it.

A decorator that enters a context around a call (``attributes(...)``, an agent or tool span) cannot
simply wrap a generator function: calling it returns the generator before its body has run, and a
context held open across ``yield`` would leak into the caller's code between steps (and be left in
another context than it was entered in). These wrappers enter the context for each step only, pass
``send``, ``throw`` and ``close`` through, and are generator functions themselves, so code that
inspects the decorated function (``inspect.isasyncgenfunction``) still sees what it is.

Hooks, each given the ``state`` that ``begin`` returned:
- ``begin(args, kwargs)``: at the first step, before it runs (an agent span starts here);
- ``enter(state)`` / ``leave(state, token)``: around each step; ``enter`` returns the token;
- ``end(state, error, result)``: once, when the generator returned, raised or was closed
  (``error`` None then; ``result`` its return value).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

Begin = Callable[[tuple[Any, ...], dict[str, Any]], Any]
Enter = Callable[[Any], Any]
Leave = Callable[[Any, Any], None]
End = Callable[[Any, "BaseException | None", Any], None]


def _nothing(*_: Any) -> None:
    return None


def generator_in(
    function: Callable[..., Iterator[Any]], enter: Enter, leave: Leave, begin: Begin = _nothing, end: End = _nothing
) -> Callable[..., Iterator[Any]]:
    """``function`` (a generator function), each step of its generators between ``enter`` and ``leave``."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        state = begin(args, kwargs)
        try:
            result = yield from _steps(function(*args, **kwargs), state, enter, leave)
        except GeneratorExit:
            end(state, None, None)
            raise
        except BaseException as error:
            end(state, error, None)
            raise
        end(state, None, result)
        return result

    return run


def _steps(generator: Any, state: Any, enter: Enter, leave: Leave) -> Any:
    step: Callable[[Any], Any] = generator.send
    value: Any = None
    while True:
        token = enter(state)
        try:
            item = step(value)
        except StopIteration as stop:
            return stop.value
        finally:
            leave(state, token)
        try:
            value = yield item
            step = generator.send
        except GeneratorExit:
            token = enter(state)
            try:
                generator.close()
            finally:
                leave(state, token)
            raise
        except BaseException as error:  # thrown in by the caller: into the generator, inside the context
            step, value = generator.throw, error


def async_generator_in(
    function: Callable[..., AsyncIterator[Any]],
    enter: Enter,
    leave: Leave,
    begin: Begin = _nothing,
    end: End = _nothing,
) -> Callable[..., AsyncIterator[Any]]:
    """``generator_in`` for an async generator function (which cannot delegate with ``yield from``)."""

    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        state = begin(args, kwargs)
        generator: Any = function(*args, **kwargs)
        step: Callable[[Any], Any] = generator.asend
        value: Any = None
        try:
            while True:
                token = enter(state)
                try:
                    item = await step(value)
                except StopAsyncIteration:
                    break
                finally:
                    leave(state, token)
                try:
                    value = yield item
                    step = generator.asend
                except GeneratorExit:
                    token = enter(state)
                    try:
                        await generator.aclose()
                    finally:
                        leave(state, token)
                    raise
                except BaseException as error:
                    step, value = generator.athrow, error
        except GeneratorExit:
            end(state, None, None)
            raise
        except BaseException as error:
            end(state, error, None)
            raise
        end(state, None, None)

    return run

"""Streams: the SDK's own ``Stream`` / ``AsyncStream`` object, reporting as the user reads it.

Provider-neutral: the openai and anthropic SDKs share this stream shape (an ``_iterator`` of
parsed chunks or events, and the ``httpx`` response under ``.response``); each adapter brings
a ``StreamState`` that reads its provider's chunks.

The user keeps the exact object the SDK made (same type, same chunks); we swap its
internal iterator for one that shows every chunk to a stream state first, and hook its
HTTP response's close. The call ends exactly once, on whichever comes first:
- the last chunk was read (the SDK closes the response after ``[DONE]``), or the provider's final
  event (a Responses stream's ``response.completed``, a Messages stream's ``message_stop``),
- the user closed the stream (``close()``, a ``with`` block, the ``.stream()`` helpers),
- the SDK raised mid-stream, or the user's ``with`` block exited on an exception (error),
- the stream was garbage collected unfinished or never read (abandoned).
An early end records what was seen; output tokens are then estimated from the text.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

from otel_llmcost.instrumentation import core


class StreamState(Protocol):
    def add(self, chunk: Any) -> bool:
        """Take a chunk in; False keeps it from the user (a chunk only we asked for)."""

    def response(self) -> core.Response: ...


# A state with an ``end_call`` slot (None) gets the call's end there, to call at its provider's final
# event: a program that breaks out of its loop on that event, and keeps the stream unclosed, would
# otherwise end the call only when the garbage collector frees the stream (the SDK's stream and its
# iterator refer to each other).


# stream -> (call, state), so the ``with`` block's exit can find the call to record its exception.
_open: weakref.WeakKeyDictionary[Any, tuple[core.LLMCall, StreamState]] = weakref.WeakKeyDictionary()


def instrument(stream: Any, call: core.LLMCall, state: StreamState, asynchronous: bool) -> None:
    # Once its iterator is ours the stream ends the call (``instrumented``), whatever fails after.
    if asynchronous:
        chunks = stream._iterator = _aiterate(stream._iterator, call, state)
        _open[stream] = (call, state)
        stream.response.aclose = _AsyncCloseHook(stream.response, "aclose", call, state, chunks)
    else:
        chunks = stream._iterator = _iterate(stream._iterator, call, state)
        _open[stream] = (call, state)
        stream.response.close = _CloseHook(stream.response, "close", call, state, chunks)
    weakref.finalize(stream, finish, call, state)
    if hasattr(state, "end_call"):
        state.end_call = functools.partial(finish, call, state)  # type: ignore[attr-defined]


def instrumented(stream: Any) -> bool:
    return stream in _open


def not_instrumented(call: Any) -> None:
    """``instrument`` failed on the stream of ``call`` (an SDK adapter's tracker, which set its ``streaming``
    before): the stream cannot end the call. The request's return ends it, or this, for a raw response's
    stream parsed after the request returned. Never raises."""
    if call.streaming:
        call.streaming = False
        if call.returned:
            call.end(call.response, ended=call.returned_at)


def exit_with_error(stream: Any, error: BaseException | None) -> None:
    """The user's ``with stream:`` block raised: the call ends with that error."""
    if error is None or stream is None:  # None: a manager whose body was never read as a stream
        return
    entry = _open.get(stream)
    if entry is not None:
        finish(entry[0], entry[1], error, by_user=True)


def exit_owner_with_error(owner: Any, exit_args: tuple[Any, ...], stream_types: tuple[type, ...]) -> None:
    """``owner.__exit__(*exit_args)`` ran (a stream's, a helper stream's or a helper manager's, whose
    exit closes the stream without passing the exception on): the call ends with the exception."""
    error = exit_args[1] if len(exit_args) > 1 else None
    if error is not None:
        exit_with_error(raw_stream_of(owner, stream_types), error)


def raw_stream_of(owner: Any, stream_types: tuple[type, ...]) -> Any:
    """The SDK stream behind a stream, a helper stream (``_raw_stream``), the manager that made one, or
    a ``.with_streaming_response`` manager whose response's ``parse()`` made one."""
    if isinstance(owner, stream_types):
        return owner
    raw = getattr(owner, "_raw_stream", None)
    if isinstance(raw, stream_types):
        return raw
    for value in vars(owner).values():  # a manager keeps its helper stream, or its response, under a private name
        raw = getattr(value, "_raw_stream", None)
        if isinstance(raw, stream_types):
            return raw
        parsed = getattr(value, "_parsed_by_type", None)  # an API response caches what parse() returned
        if type(parsed) is dict:
            for result in parsed.values():
                if isinstance(result, stream_types):
                    return result
    return None


def finish(call: core.LLMCall, state: StreamState, error: BaseException | None = None, by_user: bool = False) -> None:
    """End a stream's call; ``by_user``: ``error`` is the program's own (raised in its ``with`` block, or
    a cancellation or interrupt while it waited for a chunk), not the provider's or the connection's."""
    if call.ended:
        return
    ended = (time.time_ns(), time.perf_counter())  # before reading the state: it may count tokens
    call.end(_response_of(state), error, ended, by_user)


@core.guarded()
def _response_of(state: StreamState) -> core.Response | None:
    return state.response()


def _add_failed(state: StreamState, chunk: Any) -> bool:
    """``state.add(chunk)`` raised (called in its ``except``): log it once, and show the chunk as the
    user would have had it. Our failure never hides a chunk the user would have had, nor shows one
    only we asked for."""
    core.log_once(f"stream.{type(state).__qualname__}", "otel-llmcost: reading a stream chunk failed", exc_info=True)
    shown = getattr(state, "shown", None)
    try:
        return True if shown is None else shown(chunk)
    except Exception:
        return True


def _iterate(chunks: Iterator[Any], call: core.LLMCall, state: StreamState) -> Iterator[Any]:
    add = state.add
    first = True
    try:
        for chunk in chunks:
            if first:
                first = False
                call.first_chunk()
            try:
                shown = add(chunk)
            except Exception:
                shown = _add_failed(state, chunk)
            if shown:
                yield chunk
    except GeneratorExit:
        raise
    except BaseException as error:
        # A cancellation or an interrupt (not an Exception) is the program's doing, not the provider's
        finish(call, state, error, by_user=not isinstance(error, Exception))
        raise
    finally:
        finish(call, state)


async def _aiterate(chunks: AsyncIterator[Any], call: core.LLMCall, state: StreamState) -> AsyncIterator[Any]:
    add = state.add
    first = True
    try:
        async for chunk in chunks:
            if first:
                first = False
                call.first_chunk()
            try:
                shown = add(chunk)
            except Exception:
                shown = _add_failed(state, chunk)
            if shown:
                yield chunk
    except GeneratorExit:
        raise
    except BaseException as error:
        # A cancellation or an interrupt (not an Exception) is the program's doing, not the provider's
        finish(call, state, error, by_user=not isinstance(error, Exception))
        raise
    finally:
        finish(call, state)


class _CloseHook:
    """Stands in for the HTTP response's ``close`` once: ends the call after closing.

    The SDK also closes the response itself when its stream ends or fails; then our
    iterator is running and ends the call (with the error, if any) right after.

    Our iterator is held weakly: the hook lives in the response's ``__dict__``, so a strong
    reference would keep the iterator, and the SDK's iterator in it, alive after the user drops a
    half-read stream, with the HTTP body open until the garbage collector ran (without us, dropping
    the stream closes its iterator, and the SDK's iterator closes the body, at once). The response
    itself is held: the SDK may close it while the garbage collector tears it down, when a weak
    reference to it would already be cleared.
    """

    __slots__ = ("response", "name", "call", "state", "chunks")

    def __init__(self, response: Any, name: str, call: core.LLMCall, state: StreamState, chunks: Any) -> None:
        self.response, self.chunks = response, weakref.ref(chunks)
        self.name, self.call, self.state = name, call, state

    def _unhook(self) -> Any:
        response = self.response
        response.__dict__.pop(self.name, None)  # the class's method is back
        return getattr(response, self.name)

    def _iterating(self) -> bool:
        chunks = self.chunks()
        return bool(getattr(chunks, "gi_running", None) or getattr(chunks, "ag_running", None))

    def __call__(self) -> None:
        close = self._unhook()
        try:
            close()
        finally:
            if not self._iterating():
                finish(self.call, self.state)


class _AsyncCloseHook(_CloseHook):
    __slots__ = ()

    async def __call__(self) -> None:  # type: ignore[override]
        close = self._unhook()
        try:
            await close()
        finally:
            if not self._iterating():
                finish(self.call, self.state)

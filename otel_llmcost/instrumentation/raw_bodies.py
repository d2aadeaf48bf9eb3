"""A raw response's body that the user reads themselves: ``iter_bytes()``, ``iter_lines()``, ``iter_text()``.

``.with_streaming_response`` hands the user an HTTP response whose body is still unread. A program that
reads its bytes itself (a proxy passing a stream on) never lets the SDK parse it, and httpx keeps no copy:
the usage in the body would be lost, and the call estimated. So the response's decoded byte iterator is
teed for the call: what the user reads is kept (up to ``MAX_KEPT`` bytes) until the call ends, then read
as the SDK would have read it: a JSON body as the response, server-sent events one by one through the
endpoint's stream state. Provider-neutral: the openai and anthropic SDKs share httpx's response shape.

Not seen: a body read with ``iter_raw()`` (still encoded), or past ``MAX_KEPT``; those calls are estimated.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

MAX_KEPT = 64 * 1024 * 1024
_READERS = ("iter_bytes", "aiter_bytes")


class Kept:
    """What the user has read of a body so far; ``complete``: read to its end."""

    __slots__ = ("response", "content_type", "pieces", "size", "complete", "keeping", "first_chunk")

    def __init__(self, http_response: Any, first_chunk: Callable[[], None] | None) -> None:
        self.response = weakref.ref(http_response)  # the response holds this; a strong reference would be a cycle
        self.content_type = str(http_response.headers.get("content-type", ""))
        self.pieces: list[bytes] = []
        self.size = 0
        self.complete = False
        self.keeping = True
        # an event stream's first piece read is its first chunk's arrival, as the SDK's stream reports it
        self.first_chunk = first_chunk if "text/event-stream" in self.content_type else None

    def keep(self, piece: bytes) -> None:
        if self.first_chunk is not None and piece:
            first_chunk, self.first_chunk = self.first_chunk, None
            first_chunk()
        if self.keeping:
            self.size += len(piece)
            if self.size > MAX_KEPT:
                drop(self)
            else:
                self.pieces.append(piece)


def tee(http_response: Any, first_chunk: Callable[[], None] | None) -> Kept | None:
    """Keep what is read of ``http_response``'s body from now on; None when it was read already (httpx
    keeps a body read whole) or cannot be teed. ``first_chunk``: called at an event stream's first piece
    read. Never raises."""
    try:
        if http_response is None or "_content" in vars(http_response):
            return None
        kept = Kept(http_response, first_chunk)
        cls = type(http_response)
        # Instance attributes: iter_lines(), iter_text() and read() call self.iter_bytes() too
        vars(http_response)["iter_bytes"] = _keeping(cls.iter_bytes, kept)
        vars(http_response)["aiter_bytes"] = _akeeping(cls.aiter_bytes, kept)
        return kept
    except Exception:
        return None


def drop(kept: Kept | None) -> None:
    """Keep nothing more, and let go of what was kept (the SDK parses the body, or the call ended).
    Never raises."""
    if kept is None:
        return
    kept.keeping = False
    kept.pieces = []
    http_response = kept.response()
    if http_response is not None:
        try:
            for name in _READERS:
                vars(http_response).pop(name, None)
        except Exception:
            pass


def _keeping(read: Callable[..., Iterator[bytes]], kept: Kept) -> Callable[..., Iterator[bytes]]:
    def iter_bytes(chunk_size: int | None = None) -> Iterator[bytes]:
        # The response is taken now, as its own iter_bytes() holds it: the program may keep only the iterator
        return _kept_pieces(read(kept.response(), chunk_size), kept)

    return iter_bytes


def _kept_pieces(pieces: Iterator[bytes], kept: Kept) -> Iterator[bytes]:
    try:
        for piece in pieces:
            kept.keep(piece)
            yield piece
        kept.complete = True
    finally:
        pieces.close()  # (a generator) an early close reaches httpx's at once, which closes the response


def _akeeping(read: Callable[..., AsyncIterator[bytes]], kept: Kept) -> Callable[..., AsyncIterator[bytes]]:
    def aiter_bytes(chunk_size: int | None = None) -> AsyncIterator[bytes]:
        return _akept_pieces(read(kept.response(), chunk_size), kept)

    return aiter_bytes


async def _akept_pieces(pieces: Any, kept: Kept) -> AsyncIterator[bytes]:
    try:
        async for piece in pieces:
            kept.keep(piece)
            yield piece
        kept.complete = True
    finally:
        await pieces.aclose()  # an early aclose() reaches httpx's at once, which closes the response


def read_kept(
    kept: Kept | None,
    read_json: Callable[[Any], Any],
    read_events: Callable[[Iterator[dict[str, Any]]], Any] | None,
    decoder: Callable[[], Any],
) -> Any:
    """The response in what the user read of the body, or None: a JSON body read whole by ``read_json``,
    an event stream (read whole or in part) by ``read_events``, given the JSON objects of its events
    (``decoder()``: the SDK's ``SSEDecoder``)."""
    if kept is None or not kept.pieces:
        return None
    body = b"".join(kept.pieces)
    if "text/event-stream" in kept.content_type:
        if read_events is None:
            return None
        return read_events(_event_data(decoder().iter_bytes(iter((body,)))))
    if not kept.complete:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return read_json(value)


def replay(state: Any, events: Iterator[dict[str, Any]], chunk_type: Any, construct: Callable[..., Any]) -> Any:
    """The response of a stream the user read as bytes: its events made the SDK's chunks
    (``construct(type_=chunk_type, value=...)``, the SDK's ``construct_type``) and read by its stream
    ``state`` one by one, as the SDK's stream would have been; one the state cannot read (an error
    event) is passed over."""
    for data in events:
        try:
            state.add(construct(type_=chunk_type, value=data))
        except Exception:
            continue
    return state.response()


def _event_data(events: Iterator[Any]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a stream's server-sent events, up to OpenAI's ``[DONE]``; events that are no
    JSON object are passed over."""
    for event in events:
        data = event.data
        if data.startswith("[DONE]"):
            return
        try:
            value = json.loads(data)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value

"""Real wire formats for the SDK tests: a recording mock transport, SSE bytes, and payloads
shaped like the providers' actual responses.

The SDKs are real; only the network is fake. ``Wire`` is the transport's handler: it keeps
every request the SDK sent and answers with the next scripted reply. Replies are built as
the httpx flavour the installed SDK uses (openai 3.x: httpx2; openai 1.x/2.x: httpx), so the
same tests run against every major version.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Any = None  # a byte stream sent in pieces instead of ``body`` (an httpx Sync/AsyncByteStream)


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode(), {"content-type": "application/json", **(headers or {})})


def sse_reply(events: Iterable[Any], *, named: bool = False, done: bool = True) -> Reply:
    """A ``text/event-stream`` body. ``named`` writes each event's ``type`` as the SSE event
    name (the Responses API does); ``done`` ends with ``data: [DONE]`` (Chat Completions does)."""
    return Reply(200, sse(events, named=named, done=done), {"content-type": "text/event-stream; charset=utf-8"})


def sse(events: Iterable[Any], *, named: bool = False, done: bool = True) -> bytes:
    lines = []
    for event in events:
        if named:
            lines.append(f"event: {event['type']}\n")
        lines.append(f"data: {json.dumps(event, separators=(',', ':'))}\n\n")
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def error_reply(status: int, message: str, kind: str, code: str | None = None) -> Reply:
    headers = {"retry-after": "0"} if status == 429 else {}
    return json_reply({"error": {"message": message, "type": kind, "param": None, "code": code}}, status, headers)


class Wire:
    """Handler of a mock transport: records requests, answers from a script of replies."""

    def __init__(self, http: Any, *replies: Reply | Callable[[Any], Reply]) -> None:
        self.http = http
        self.requests: list[Any] = []
        self._replies = list(replies)

    def reply(self, *replies: Reply | Callable[[Any], Reply]) -> Wire:
        self._replies.extend(replies)
        return self

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(request.content) if request.content else None for request in self.requests]

    def __call__(self, request: Any) -> Any:
        request.read()
        self.requests.append(request)
        if not self._replies:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        reply = self._replies.pop(0)
        if callable(reply):
            reply = reply(request)
        if reply.stream is not None:
            return self.http.Response(reply.status, headers=reply.headers, stream=reply.stream)
        return self.http.Response(reply.status, headers=reply.headers, content=reply.body)


def in_pieces(http: Any, reply: Reply, size: int = 64) -> Reply:
    """``reply`` with its body sent in pieces of ``size`` bytes, as a network delivers it: httpx keeps
    no copy of a body read piece by piece (``iter_bytes()``), as it does of one given whole."""
    body = reply.body

    class Body(http.SyncByteStream, http.AsyncByteStream):
        def __iter__(self) -> Any:
            for start in range(0, len(body), size):
                yield body[start : start + size]

        async def __aiter__(self) -> Any:
            for start in range(0, len(body), size):
                yield body[start : start + size]

    return Reply(reply.status, b"", reply.headers, Body())


def no_first_chunk(http: Any) -> Any:
    """A streamed body whose first chunk never comes, as on a slow provider: async reading waits
    until the program cancels it (a time-to-first-token timeout); sync reading is interrupted, as
    Ctrl-C interrupts a blocked read."""

    class Body(http.SyncByteStream, http.AsyncByteStream):
        def __iter__(self) -> Any:
            raise KeyboardInterrupt
            yield b""  # a generator

        async def __aiter__(self) -> Any:
            await asyncio.Event().wait()
            yield b""

    return Body()


def http_module(sdk: str) -> Any:
    """The httpx flavour an SDK's base client imports (``httpx2`` or ``httpx``)."""
    base = importlib.import_module(f"{sdk}._base_client")
    return getattr(base, "httpx2", None) or base.httpx


def http_client(http: Any, wire: Wire, asynchronous: bool) -> Any:
    transport = http.MockTransport(wire)
    return http.AsyncClient(transport=transport) if asynchronous else http.Client(transport=transport)


# --- OpenAI -------------------------------------------------------------------

CREATED = 1767225600


def chat_usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def chat_completion(
    model: str,
    content: str | None,
    usage: dict[str, Any] | None,
    *,
    finish_reason: str = "stop",
    tool_calls: list[dict[str, Any]] | None = None,
    service_tier: str | None = "default",
    completion_id: str = "chatcmpl-CKv3Nx2ABC",
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
    if tool_calls:
        message["tool_calls"] = tool_calls
    payload: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage,
        "service_tier": service_tier,
        "system_fingerprint": "fp_560af6e559",
    }
    if usage is None:
        del payload["usage"]
    return payload


def chat_chunks(
    model: str,
    pieces: list[str],
    *,
    finish_reason: str = "stop",
    usage: dict[str, Any] | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    completion_id: str = "chatcmpl-CKv3Stream1",
    azure_filter: bool = False,
) -> list[dict[str, Any]]:
    """A chat completion stream as the API sends it. With ``usage`` (the request had
    stream_options.include_usage) every chunk carries ``"usage": null`` and a last chunk with
    no choices carries the usage. ``tool_calls`` stream as a name delta then argument pieces.
    ``azure_filter``: first the chunk Azure OpenAI sends with the prompt filter results, whose
    id, model and object are empty."""

    def chunk(delta: dict[str, Any], finish: str | None = None, choices: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_560af6e559",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
        }
        if usage is not None:
            body["usage"] = None
        return body

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if azure_filter:
        safe = {"filtered": False, "severity": "safe"}
        filters = {"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe}
        results = [{"prompt_index": 0, "content_filter_results": filters}]
        chunks.insert(0, {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": results})
    chunks += [chunk({"content": piece}) for piece in pieces]
    for index, call in enumerate(tool_calls or ()):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        first = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        chunks.append(chunk({"tool_calls": [first]}))
        chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[:half]}}]}))
        chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]}))
    chunks.append(chunk({}, finish_reason))
    if usage is not None:
        last = chunk({}, choices=False)
        last["usage"] = usage
        chunks.append(last)
    return chunks


def completion(model: str, text: str, usage: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": "cmpl-CKv3Legacy",
        "object": "text_completion",
        "created": CREATED,
        "model": model,
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": usage,
    }


def embedding_response(model: str, vectors: list[list[float]], prompt_tokens: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": index, "embedding": vector} for index, vector in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def responses_usage(input_tokens: int, output_tokens: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


def message_item(text: str, item_id: str = "msg_68af4d1e") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}],
        "role": "assistant",
    }


def function_call_item(
    call_id: str, name: str, arguments: dict[str, Any], item_id: str = "fc_68af4d20"
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": "completed",
        "arguments": json.dumps(arguments),
        "call_id": call_id,
        "name": name,
    }


def web_search_item(item_id: str = "ws_68af4d1f") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": "otel semconv genai"},
    }


def reasoning_item(item_id: str = "rs_68af4d1d") -> dict[str, Any]:
    return {"id": item_id, "type": "reasoning", "summary": []}


def response_object(
    model: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    *,
    status: str = "completed",
    service_tier: str = "default",
    incomplete_reason: str | None = None,
    response_id: str = "resp_68af4d1c",
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "reasoning": {"effort": "medium", "summary": None},
        "safety_identifier": None,
        "service_tier": service_tier,
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def response_events(final: dict[str, Any], pieces: list[str]) -> list[dict[str, Any]]:
    """The Responses API event stream that ends in ``final``: created, in_progress, each
    output item added / streamed / done, then completed (or incomplete / failed)."""
    sequence = iter(range(10_000))
    pending = {**final, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    events = [
        {"type": "response.created", "sequence_number": next(sequence), "response": pending},
        {"type": "response.in_progress", "sequence_number": next(sequence), "response": pending},
    ]
    for index, item in enumerate(final["output"]):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            empty_part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            common = {"item_id": item["id"], "output_index": index}
            events.append(
                {
                    "type": "response.output_item.added",
                    "sequence_number": next(sequence),
                    "output_index": index,
                    "item": {**item, "status": "in_progress", "content": []},
                }
            )
            events.append(
                {
                    "type": "response.content_part.added",
                    "sequence_number": next(sequence),
                    **common,
                    "content_index": 0,
                    "part": empty_part,
                }
            )
            for piece in pieces:
                events.append(
                    {
                        "type": "response.output_text.delta",
                        "sequence_number": next(sequence),
                        **common,
                        "content_index": 0,
                        "delta": piece,
                        "logprobs": [],
                    }
                )
            events.append(
                {
                    "type": "response.output_text.done",
                    "sequence_number": next(sequence),
                    **common,
                    "content_index": 0,
                    "text": text,
                    "logprobs": [],
                }
            )
            events.append(
                {
                    "type": "response.content_part.done",
                    "sequence_number": next(sequence),
                    **common,
                    "content_index": 0,
                    "part": {**empty_part, "text": text},
                }
            )
        else:
            added = {**item, "status": "in_progress"}
            if item["type"] == "function_call":
                added["arguments"] = ""
            events.append(
                {
                    "type": "response.output_item.added",
                    "sequence_number": next(sequence),
                    "output_index": index,
                    "item": added,
                }
            )
            if item["type"] == "function_call":
                events.append(
                    {
                        "type": "response.function_call_arguments.delta",
                        "sequence_number": next(sequence),
                        "item_id": item["id"],
                        "output_index": index,
                        "delta": item["arguments"],
                    }
                )
                events.append(
                    {
                        "type": "response.function_call_arguments.done",
                        "sequence_number": next(sequence),
                        "item_id": item["id"],
                        "output_index": index,
                        "arguments": item["arguments"],
                        "name": item["name"],
                    }
                )
        events.append(
            {
                "type": "response.output_item.done",
                "sequence_number": next(sequence),
                "output_index": index,
                "item": item,
            }
        )
    events.append({"type": f"response.{final['status']}", "sequence_number": next(sequence), "response": final})
    return events


# --- Driving one client, sync or async, with the same scenario -----------------


class Api:
    """A real SDK client on a ``Wire``, sync or async, driven by ``async`` scenarios:
    ``await api(value)`` awaits only what is awaitable, so one scenario serves both clients."""

    def __init__(self, client: Any, wire: Wire, asynchronous: bool) -> None:
        self.client = client
        self.wire = wire
        self.asynchronous = asynchronous

    async def __call__(self, value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    async def items(self, iterable: Any, limit: int | None = None) -> list[Any]:
        """The items of a stream, all of them or the first ``limit`` (then the loop breaks)."""
        taken = []
        if hasattr(iterable, "__aiter__"):
            async for item in iterable:
                taken.append(item)
                if limit is not None and len(taken) >= limit:
                    break
        else:
            for item in iterable:
                taken.append(item)
                if limit is not None and len(taken) >= limit:
                    break
        return taken

    async def close(self, closable: Any) -> None:
        await self(closable.close())

    async def streamed(self, manager: Any) -> list[Any]:
        """The items of the stream a ``.with_streaming_response`` manager's response parses to, all read."""
        if self.asynchronous:
            async with manager as response:
                return await self.items(await response.parse())
        with manager as response:
            return await self.items(response.parse())

    async def raise_while_reading(self, manager: Any, error: BaseException) -> None:
        """Raise ``error`` from the user's loop over the stream of a ``.with_streaming_response`` manager."""
        if self.asynchronous:
            async with manager as response:
                async for _ in await response.parse():
                    raise error
        with manager as response:
            for _ in response.parse():
                raise error

    def run(self, scenario: Callable[[Api], Any]) -> Any:
        return asyncio.run(self(scenario(self)))


def chat_stream(model: str, pieces: list[str], usage: dict[str, Any], **kwargs: Any) -> Callable[[Any], Reply]:
    """A chat stream reply that, like the API, carries usage only when the request asked
    for it with stream_options.include_usage."""

    def reply(request: Any) -> Reply:
        options = json.loads(request.content).get("stream_options") or {}
        return sse_reply(chat_chunks(model, pieces, usage=usage if options.get("include_usage") else None, **kwargs))

    return reply


# --- Anthropic (Messages API, Bedrock and Vertex clients) -------------------------
# Payloads as the API sends them: usage with the cache-write split, SSE with ``event:`` lines
# and no [DONE], the error envelope. Fixtures for the anthropic tests follow.

CLAUDE_REQUEST_ID = "req_011CSHoEeqs5C35K2UUqR7Fy"


def claude_usage(
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read: int = 0,
    cache_5m: int = 0,
    cache_1h: int = 0,
    split: bool = True,
    web_search: int | None = None,
    service_tier: str | None = "standard",
) -> dict[str, Any]:
    """A Messages ``usage``: ``input_tokens`` EXCLUDES cache reads and writes. ``split=False``
    leaves out the ``cache_creation`` TTL breakdown, as API versions before it did."""
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_5m + cache_1h,
        "cache_read_input_tokens": cache_read,
    }
    if split:
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": cache_5m, "ephemeral_1h_input_tokens": cache_1h}
    usage["output_tokens"] = output_tokens
    if service_tier is not None:
        usage["service_tier"] = service_tier
    if web_search is not None:
        usage["server_tool_use"] = {"web_search_requests": web_search}
    return usage


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use_block(block_id: str, name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": tool_input}


def thinking_block(thinking: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": thinking, "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pk"}


def claude_message(
    model: str,
    content: list[dict[str, Any]],
    usage: dict[str, Any],
    *,
    stop_reason: str = "end_turn",
    message_id: str = "msg_01XFDUDYJgAACzvnptvVoYEL",
) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def claude_events(message: dict[str, Any], *, delta_usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The event stream of ``message`` as the API sends it: ``message_start`` (no content, the
    input side of the usage, a placeholder ``output_tokens``), ``ping``, each content block
    started, streamed in pieces and stopped, ``message_delta`` (stop reason, cumulative output
    tokens; ``delta_usage`` replaces its usage) and ``message_stop``."""
    usage = message["usage"]
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(message["content"]):
        events += _block_events(index, block)
    final = {"output_tokens": usage["output_tokens"]}
    if "server_tool_use" in usage:
        final["server_tool_use"] = usage["server_tool_use"]
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": final if delta_usage is None else delta_usage,
        }
    )
    events.append({"type": "message_stop"})
    return events


def _block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in _pieces(block["text"])]
    elif kind == "tool_use":
        start = {**block, "input": {}}
        arguments = json.dumps(block["input"])
        half = len(arguments) // 2
        deltas = [
            {"type": "input_json_delta", "partial_json": piece} for piece in ("", arguments[:half], arguments[half:])
        ]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in _pieces(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        start, deltas = block, []
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def _pieces(text: str) -> list[str]:
    """Text as it streams: a few words per delta."""
    words = text.split(" ")
    return [
        " ".join(words[start : start + 3]) + (" " if start + 3 < len(words) else "")
        for start in range(0, len(words), 3)
    ]


def claude_stream(events: Iterable[dict[str, Any]]) -> Reply:
    return sse_reply(events, named=True, done=False)


def claude_error(status: int, kind: str, message: str) -> Reply:
    """Anthropic's error envelope (overloaded_error is 529, rate_limit_error 429)."""
    headers = {"request-id": CLAUDE_REQUEST_ID}
    if status == 429:
        headers["retry-after"] = "0"
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": CLAUDE_REQUEST_ID}
    return json_reply(body, status, headers)


def anthropic_has_own_tracing() -> bool:
    """anthropic 2.x starts spans of its own (``open_telemetry`` client option); 0.x does not."""
    from anthropic._base_client import BaseClient

    return isinstance(vars(BaseClient).get("_tracer"), property)

"""Streams through the real openai SDK: chunks the user sees are untouched, usage is exact
(asked for on the user's behalf where that is invisible) or estimated, and the span ends
exactly once however the stream ends."""

from __future__ import annotations

import asyncio
import gc
import json
from decimal import Decimal as D

import openai
import pytest
from opentelemetry.trace import StatusCode
from wire import (
    Reply,
    Wire,
    chat_chunks,
    chat_completion,
    chat_stream,
    chat_usage,
    completion,
    function_call_item,
    http_client,
    http_module,
    in_pieces,
    json_reply,
    message_item,
    no_first_chunk,
    reasoning_item,
    response_events,
    response_object,
    responses_usage,
    sse,
    sse_reply,
    tool_call,
    web_search_item,
)

from otel_llmcost import semconv as sc
from otel_llmcost.tokens import count_messages, count_text

M = D(1_000_000)
MESSAGES = [
    {"role": "system", "content": "You are the support agent for order 12345."},
    {"role": "user", "content": "Where is my parcel?"},
]
PIECES = ["Your parcel ", "left the depot ", "this morning."]
USAGE = chat_usage(1200, 300, cached=1024)
# gpt-4o-mini: input 0.15, cache read 0.075, output 0.6 USD per 1M tokens
USAGE_COST = float(D(176) * D("0.15") / M + D(1024) * D("0.075") / M + D(300) * D("0.6") / M)


def snapshot(chunks):
    """Everything the user can observe of the chunks they iterated."""
    return [(type(chunk), chunk.to_dict(), chunk.to_json(), sorted(chunk.model_fields_set)) for chunk in chunks]


def stream_chat(limit=None, **kwargs):
    async def scenario(api):
        stream = await api(
            api.client.chat.completions.create(
                **{"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True, **kwargs}
            )
        )
        chunks = await api.items(stream, limit)
        return stream, chunks

    return scenario


def test_usage_is_asked_for_and_the_user_sees_exactly_the_chunks_of_a_plain_stream(
    instrument_openai, telemetry, openai_api
):
    reply = chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE)
    bare_stream, bare = openai_api(reply).run(stream_chat())
    instrument_openai()
    api = openai_api(reply)
    traced_stream, traced = api.run(stream_chat())

    assert api.wire.bodies[0]["stream_options"] == {"include_usage": True}
    assert type(traced_stream) is type(bare_stream)
    assert snapshot(traced) == snapshot(bare)
    assert all(chunk.usage is None for chunk in traced)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in traced) == "".join(PIECES)
    attributes = dict(telemetry.span().attributes)
    assert attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1200
    assert attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1024
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 300
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == USAGE_COST
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-CKv3Stream1"
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert len(telemetry.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK)) == 1


def test_the_users_own_stream_options_are_left_alone(openai_instrumented, openai_api):
    api = openai_api(chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE))
    _, chunks = api.run(stream_chat(stream_options={"include_usage": True}))

    assert api.wire.bodies[0]["stream_options"] == {"include_usage": True}
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 1200  # theirs to see
    assert "usage" in chunks[0].model_fields_set
    assert dict(openai_instrumented.span().attributes)[sc.GEN_AI_USAGE_COST_AMOUNT] == USAGE_COST


def test_a_stream_without_usage_is_estimated_with_tiktoken(openai_instrumented, openai_api):
    api = openai_api(chat_stream("llama-3.1-8b", PIECES, USAGE), base_url="http://localhost:8000/v1")
    _, chunks = api.run(stream_chat(model="gpt-4o-mini", stream_options={"include_usage": False}))

    assert len(chunks) == len(PIECES) + 2
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_messages(MESSAGES, "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES), "gpt-4o-mini")


@pytest.mark.parametrize("failing", ["reading a chunk", "instrumenting the stream"])
def test_our_failure_never_shows_the_user_the_usage_chunk_we_asked_for(
    instrument_openai, openai_api, monkeypatch, failing
):
    # A bug of ours in the stream state: the usage-only chunk we asked for reached the user's loop, and
    # chunk.choices[0] raised IndexError there.
    from otel_llmcost.instrumentation import streams
    from otel_llmcost.instrumentation.openai import chat

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    reply = chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE)
    bare_stream, bare = openai_api(reply).run(stream_chat())
    if failing == "reading a chunk":
        monkeypatch.setattr(chat.ChatStream, "add", broken)
    else:
        monkeypatch.setattr(streams, "instrument", broken)
    instrument_openai()
    api = openai_api(reply)
    _, traced = api.run(stream_chat())

    assert api.wire.bodies[0]["stream_options"] == {"include_usage": True}
    assert snapshot(traced) == snapshot(bare)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in traced) == "".join(PIECES)


def test_no_usage_is_injected_where_the_server_may_reject_it(openai_instrumented, openai_api):
    api = openai_api(chat_stream("llama-3.1-8b", PIECES, USAGE), base_url="http://localhost:8000/v1")
    api.run(stream_chat(model="llama-3.1-8b"))

    assert "stream_options" not in api.wire.bodies[0]
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.LLMCOST_COST_UNPRICED] is True


def test_streamed_tool_calls_are_assembled_by_index(openai_instrumented, openai_api):
    calls = [
        tool_call("call_A1", "get_order", {"order_id": "12345"}),
        tool_call("call_B2", "get_weather", {"city": "Paris"}),
    ]
    api = openai_api(
        chat_stream("gpt-4o-mini-2024-07-18", [], chat_usage(300, 40), tool_calls=calls, finish_reason="tool_calls")
    )
    _, chunks = api.run(stream_chat())

    pieces = [delta.function.arguments for chunk in chunks for delta in chunk.choices[0].delta.tool_calls or ()]
    assert "".join(pieces) == calls[0]["function"]["arguments"] + calls[1]["function"]["arguments"]
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("get_order", "get_weather")
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("call_A1", "call_B2")
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)


def test_streamed_tool_call_arguments_count_when_the_usage_is_missing(openai_instrumented, openai_api):
    # A compatible server is not asked for usage: the estimate counts what the model generated,
    # here only tool calls, whose arguments are output tokens.
    calls = [
        tool_call("call_A1", "get_order", {"order_id": "12345", "include_history": True}),
        tool_call("call_B2", "get_weather", {"city": "Paris"}),
    ]
    api = openai_api(
        chat_stream("gpt-4o-mini", [], USAGE, tool_calls=calls, finish_reason="tool_calls"),
        base_url="http://localhost:8000/v1",
    )
    api.run(stream_chat())

    attributes = dict(openai_instrumented.span().attributes)
    arguments = calls[0]["function"]["arguments"] + calls[1]["function"]["arguments"]
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(arguments, "gpt-4o-mini") > 10


def _gemini_chunk(delta, finish_reason=None, usage=None):
    # Gemini's OpenAI-compatible endpoint: an empty id, each tool call whole and without an index.
    body = {
        "id": "",
        "object": "chat.completion.chunk",
        "created": 1761000000,
        "model": "gemini-2.5-flash",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _unindexed(call_id, name, arguments):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_streamed_tool_calls_without_an_index_stay_apart(openai_instrumented, openai_api):
    chunks = [
        _gemini_chunk({"role": "assistant", "tool_calls": [_unindexed("call_a", "get_weather", '{"city":"Paris"}')]}),
        _gemini_chunk({"role": "assistant", "tool_calls": [_unindexed("call_b", "get_time", '{"tz":"CET"}')]}),
        _gemini_chunk({"role": "assistant"}, "tool_calls", chat_usage(40, 20)),
    ]
    api = openai_api(sse_reply(chunks), base_url="https://generativelanguage.googleapis.com/v1beta/openai/")
    api.run(stream_chat(model="gemini-2.5-flash"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOOL_CALLS_COUNT] == 2
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("call_a", "call_b")
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("get_weather", "get_time")
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "gcp.gemini"
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (40, 20)


def test_an_argument_delta_without_an_index_continues_the_latest_tool_call(openai_instrumented, openai_api):
    # An indexed first delta, then argument pieces without an index: one call, and the usage still read.
    first = {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"ci'}}
    chunks = [
        _gemini_chunk({"role": "assistant", "tool_calls": [first]}),
        _gemini_chunk({"tool_calls": [{"function": {"arguments": 'ty":"Paris"}'}}]}),
        _gemini_chunk({}, "tool_calls", chat_usage(40, 20)),
    ]
    api = openai_api(sse_reply(chunks), base_url="http://localhost:8000/v1")
    api.run(stream_chat(model="gemini-2.5-flash"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("call_a",)
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (40, 20)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes


def test_parallel_tool_calls_streamed_at_one_index_stay_apart(openai_instrumented, openai_api):
    # Ollama sends every parallel call at index 0, each with its own id: two calls, as not streamed.
    chunks = [
        _gemini_chunk({"role": "assistant", "tool_calls": [{"index": 0, **_unindexed("call_a1", "get_weather", '{"city":"Paris"}')}]}),
        _gemini_chunk({"tool_calls": [{"index": 0, **_unindexed("call_b2", "get_time", '{"tz":')}]}),
        _gemini_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"CET"}'}}]}),  # the latest call's piece
        _gemini_chunk({}, "tool_calls", chat_usage(40, 20)),
    ]
    api = openai_api(sse_reply(chunks), base_url="http://localhost:11434/v1")
    api.run(stream_chat(model="qwen3:8b"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("call_a1", "call_b2")  # ("call_b2",) before
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("get_weather", "get_time")


def test_a_stream_of_content_parts_keeps_its_reported_usage(openai_instrumented, openai_api):
    # Mistral's reasoning models stream their thinking as a list of parts in delta.content: the usage on the
    # last chunk was lost (the stream's end failed on the list), and the call estimated from nothing.
    thinking = {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "A greeting: greet back."}]}]}
    chunks = [
        _gemini_chunk({"role": "assistant", "content": ""}),
        _gemini_chunk(thinking),
        _gemini_chunk({"content": "Hello! How can I help?"}),
        _gemini_chunk({"content": ""}, "stop", {"prompt_tokens": 36, "completion_tokens": 282, "total_tokens": 318}),
    ]
    api = openai_api(sse_reply(chunks), base_url="https://api.mistral.ai/v1")
    api.run(stream_chat(model="magistral-medium-2509"))

    attributes = dict(openai_instrumented.span().attributes)
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (36, 282)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_streamed_reasoning_counts_when_the_usage_is_missing(openai_instrumented, openai_api, field):
    # DeepSeek's reasoner (reasoning_content), vLLM and Ollama (reasoning) stream the reasoning beside the answer:
    # billed output, so an estimate counts it (it counted the answer alone).
    reasoning = "The user asks for six times six. Six sixes make thirty-six, so the answer is 36."
    chunks = [_gemini_chunk({"role": "assistant", "content": None, field: reasoning}), _gemini_chunk({"content": "36"})]
    chunks.append(_gemini_chunk({}, "stop"))
    api = openai_api(sse_reply(chunks), base_url="http://localhost:8000/v1")
    api.run(stream_chat(model="gpt-4o-mini"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("36" + reasoning, "gpt-4o-mini")


REFUSAL = "I'm sorry, but I can't help with that request because it asks for something I must not provide."


@pytest.mark.parametrize("field", ["refusal", "function_call"])
def test_a_streamed_refusal_or_function_call_counts_when_the_usage_is_missing(openai_instrumented, openai_api, field):
    # A compatible server is not asked for usage: what streamed is estimated, refusals and the
    # deprecated functions= API's arguments included, as the same answer is when not streamed.
    words = REFUSAL.split(" ")
    pieces = [{"refusal": word + " "} for word in words]
    if field == "function_call":
        pieces = [{"function_call": {"name": "say", "arguments": ""}}]
        pieces += [{"function_call": {"arguments": word + " "}} for word in words]
    chunks = [_gemini_chunk({"role": "assistant", "content": None}), *map(_gemini_chunk, pieces)]
    chunks.append(_gemini_chunk({}, "stop"))
    api = openai_api(sse_reply(chunks), base_url="http://localhost:8000/v1")
    api.run(stream_chat(model="gpt-4o-mini"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(REFUSAL + " ", "gpt-4o-mini") > 15


def test_a_usage_without_counts_is_estimated_not_zero(openai_instrumented, openai_api):
    # A compatible server that sends the usage object with null counts: estimated, as without usage.
    chunks = chat_chunks("gpt-4o-mini", PIECES)
    chunks[-1]["usage"] = {"prompt_tokens": None, "completion_tokens": None, "total_tokens": None}
    api = openai_api(sse_reply(chunks), base_url="http://localhost:8000/v1")
    api.run(stream_chat())

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_messages(MESSAGES, "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES), "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_breaking_out_then_closing_ends_the_span_once_with_what_was_seen(openai_instrumented, openai_api):
    api = openai_api(chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE))

    async def scenario(api):
        stream, chunks = await stream_chat(limit=2)(api)
        assert openai_instrumented.spans() == []  # still open: the user may read on
        await api.close(stream)
        await api.close(stream)
        return chunks

    chunks = api.run(scenario)
    gc.collect()
    span = openai_instrumented.span()
    attributes = dict(span.attributes)
    seen = "".join(chunk.choices[0].delta.content for chunk in chunks)
    assert seen == PIECES[0]
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_messages(MESSAGES, "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(seen, "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0
    assert span.status.status_code is StatusCode.UNSET


def test_an_abandoned_stream_ends_its_span_when_collected(openai_instrumented, openai_api):
    api = openai_api(chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE))

    async def scenario(api):
        stream = await api(api.client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
        assert stream.response.status_code == 200
        # never read, never closed

    api.run(scenario)
    gc.collect()
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 0
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_messages(MESSAGES, "gpt-4o-mini")


class Stop(Exception):
    pass


@pytest.mark.parametrize("way", ["create(stream=True)", "chat.completions.stream()", "with_streaming_response"])
def test_an_exception_in_the_users_with_block_before_reading_still_bills_the_accepted_call(
    openai_instrumented, openai_api, way
):
    # The request was accepted (HTTP 200) and billed, though the program failed before reading a chunk:
    # an estimate, as for a stream closed unread, not the nothing of a provider's error as the first event.
    api = openai_api(chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE))

    async def scenario(api):
        client = api.client
        if way == "create(stream=True)":
            block = await api(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
        elif way == "chat.completions.stream()":
            block = client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES)
        else:
            block = client.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            )
        if api.asynchronous:
            async with block:
                raise Stop("user code failed")
        with block:
            raise Stop("user code failed")

    with pytest.raises(Stop, match="user code failed"):
        api.run(scenario)
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.ERROR_TYPE] == "Stop"
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_messages(MESSAGES, "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


@pytest.mark.parametrize(
    "way", ["create(stream=True)", "chat.completions.stream()", "responses.stream()", "with_streaming_response"]
)
def test_an_exception_in_the_users_with_block_ends_the_span_with_it(openai_instrumented, openai_api, way):
    # A stream's own with block, and the managers' of a stream helper or of .with_streaming_response,
    # which close the stream on exit without passing the exception on: either way the span ends with it.
    if way == "responses.stream()":
        api = openai_api(sse_reply(response_events(RESPONSE, PIECES), named=True, done=False))
    else:
        api = openai_api(chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE))

    async def scenario(api):
        client = api.client
        if way == "with_streaming_response":
            manager = client.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            )
            await api.raise_while_reading(manager, Stop("user code failed"))
        if way == "create(stream=True)":
            block = await api(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
        elif way == "chat.completions.stream()":
            block = client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES)
        else:
            block = client.responses.stream(model="gpt-5-mini", input="Where is my parcel?")
        if api.asynchronous:
            async with block as stream:
                async for _ in stream:
                    raise Stop("user code failed")
        with block as stream:
            for _ in stream:
                raise Stop("user code failed")

    with pytest.raises(Stop, match="user code failed"):
        api.run(scenario)
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "Stop: user code failed"
    assert span.attributes[sc.ERROR_TYPE] == "Stop"
    assert span.attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_stream_the_program_cuts_before_its_first_chunk_still_bills_the_accepted_call(
    openai_instrumented, asynchronous
):
    # A time-to-first-token timeout (the task cancelled) or Ctrl-C while the first chunk is awaited: the
    # request was accepted (HTTP 200) and billed, so an estimate, as for a stream closed unread; not the
    # nothing of a provider's error as the first event.
    http = http_module("openai")
    wire = Wire(http, Reply(200, headers={"content-type": "text/event-stream"}, stream=no_first_chunk(http)))
    call = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    if asynchronous:
        client = openai.AsyncOpenAI(api_key="sk-test", max_retries=0, http_client=http_client(http, wire, True))

        async def read() -> None:
            async for _ in await client.chat.completions.create(**call):
                pass

        with pytest.raises(asyncio.TimeoutError):
            asyncio.run(asyncio.wait_for(read(), 0.05))
    else:
        client = openai.OpenAI(api_key="sk-test", max_retries=0, http_client=http_client(http, wire, False))
        with pytest.raises(KeyboardInterrupt):
            for _ in client.chat.completions.create(**call):
                pass
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.ERROR_TYPE] == ("CancelledError" if asynchronous else "KeyboardInterrupt")
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_messages(MESSAGES, "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 0
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_an_error_event_mid_stream_ends_the_span_with_the_providers_error_type(openai_instrumented, openai_api):
    chunks = chat_chunks("gpt-4o-mini-2024-07-18", PIECES)[:2]
    body = b"".join(f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks)
    body += b'data: {"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}\n\n'
    api = openai_api(Reply(200, body, {"content-type": "text/event-stream"}))

    with pytest.raises(openai.APIError, match="The server had an error"):
        api.run(stream_chat())
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "server_error"  # the SDK raises an APIError: its type, as the semconv asks


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # vLLM's: a numeric code (openai 3.x keeps it as the text "400") would pass for an HTTP status
        ({"message": "max_tokens too large", "type": "BadRequestError", "code": 400}, "BadRequestError"),
        ({"message": "boom", "type": "server error", "code": {"detail": 1}}, "APIError"),  # no name at all
    ],
)
def test_an_error_chunk_is_named_by_a_code_or_type_that_is_a_name_only(
    openai_instrumented, openai_api, error, expected
):
    body = f"data: {json.dumps({'error': error})}\n\n".encode()
    api = openai_api(Reply(200, body, {"content-type": "text/event-stream"}))

    with pytest.raises(openai.APIError):
        api.run(stream_chat())
    assert openai_instrumented.span().attributes[sc.ERROR_TYPE] == expected


def test_a_stream_whose_first_event_is_an_error_is_not_billed(openai_instrumented, openai_api):
    body = b'data: {"error": {"message": "The server is overloaded.", "type": "server_error"}}\n\n'
    api = openai_api(Reply(200, body, {"content-type": "text/event-stream"}))

    with pytest.raises(openai.APIError, match="overloaded"):
        api.run(stream_chat())
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "server_error"
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert sc.GEN_AI_USAGE_COST_AMOUNT not in span.attributes


def test_the_chat_stream_helper(instrument_openai, telemetry, openai_api):
    async def scenario(api):
        manager = api.client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES)
        if api.asynchronous:
            async with manager as stream:
                events = [event.type async for event in stream]
                final = await stream.get_final_completion()
        else:
            with manager as stream:
                events = [event.type for event in stream]
                final = stream.get_final_completion()
        return events, final

    reply = chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE)
    bare_events, bare_final = openai_api(reply).run(scenario)
    instrument_openai()
    events, final = openai_api(reply).run(scenario)

    assert events == bare_events
    assert final.to_dict(warnings=False) == bare_final.to_dict(warnings=False)
    assert final.usage is None  # as without instrumentation: the user did not ask for usage
    attributes = dict(telemetry.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == USAGE_COST


def test_a_raw_stream_is_recorded_when_parsed_and_read(openai_instrumented, openai_api):
    api = openai_api(chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE))

    async def scenario(api):
        raw = await api(
            api.client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        )
        stream = await api(raw.parse())
        return await api.items(stream)

    chunks = api.run(scenario)
    assert len(chunks) == len(PIECES) + 2
    # The user may read a raw response's bytes: nothing is injected into its request.
    assert "stream_options" not in api.wire.bodies[0]
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES), "gpt-4o-mini")


def test_legacy_completion_stream(openai_instrumented, openai_api):
    def chunks(request):
        include = (json.loads(request.content).get("stream_options") or {}).get("include_usage")
        events = [
            {
                **completion("gpt-3.5-turbo-instruct", text, None),
                "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}],
            }
            for text, finish in ((" Paris", None), (".", "stop"))
        ]
        if include:
            events.append({**completion("gpt-3.5-turbo-instruct", "", chat_usage(10, 2)), "choices": []})
        return sse_reply(events)

    api = openai_api(chunks)

    async def scenario(api):
        stream = await api(
            api.client.completions.create(
                model="gpt-3.5-turbo-instruct", prompt="The capital of France is", stream=True
            )
        )
        return await api.items(stream)

    texts = [chunk.choices[0].text for chunk in api.run(scenario)]
    assert texts == [" Paris", "."]
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(10) * D("1.5") / M + D(2) * D(2) / M)


# --- Responses API streams ---------------------------------------------------

RESPONSE = response_object(
    "gpt-5-mini-2025-08-07",
    [reasoning_item(), message_item("".join(PIECES))],
    responses_usage(5000, 800, cached=4096, reasoning=512),
)
# gpt-5-mini: input 0.25, cache read 0.025, output 2 USD per 1M tokens
RESPONSE_COST = float(D(904) * D("0.25") / M + D(4096) * D("0.025") / M + D(800) * D(2) / M)


def test_responses_stream(openai_instrumented, openai_api):
    api = openai_api(sse_reply(response_events(RESPONSE, PIECES), named=True, done=False))

    async def scenario(api):
        stream = await api(api.client.responses.create(model="gpt-5-mini", input="Where is my parcel?", stream=True))
        return await api.items(stream)

    events = api.run(scenario)
    assert events[-1].type == "response.completed"
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.OPENAI_API_TYPE] == "responses"
    assert attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == RESPONSE_COST
    assert attributes[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 512
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "resp_68af4d1c"


def test_a_responses_stream_left_open_after_its_final_event_ends_its_call_at_that_event(
    openai_instrumented, openai_api
):
    # The program breaks out on response.completed and keeps the stream, unclosed: the call ended at that event,
    # not when the garbage collector frees the stream (the SDK's stream and its iterator refer to each other).
    events = response_events(RESPONSE, PIECES)
    api = openai_api(sse_reply(events, named=True, done=False))

    async def scenario(api):
        stream = await api(api.client.responses.create(model="gpt-5-mini", input="Where is my parcel?", stream=True))
        read = await api.items(stream, limit=len(events))  # out of the loop on response.completed, the last one
        assert read[-1].type == "response.completed"
        assert len(openai_instrumented.spans()) == 1  # ended at that event, the loop still running
        return stream  # still referenced, never closed

    kept = api.run(scenario)
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == RESPONSE_COST
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    del kept


def test_the_responses_stream_helper_with_a_function_call(instrument_openai, telemetry, openai_api):
    final = response_object(
        "gpt-5-mini-2025-08-07",
        [reasoning_item(), function_call_item("call_Z9", "get_order", {"order_id": "12345"})],
        responses_usage(900, 120, reasoning=64),
    )
    tools = [
        {
            "type": "function",
            "name": "get_order",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
            "strict": False,
        }
    ]

    async def scenario(api):
        manager = api.client.responses.stream(model="gpt-5-mini", input="Where is order 12345?", tools=tools)
        if api.asynchronous:
            async with manager as stream:
                types = [event.type async for event in stream]
                response = await stream.get_final_response()
        else:
            with manager as stream:
                types = [event.type for event in stream]
                response = stream.get_final_response()
        return types, response

    reply = sse_reply(response_events(final, []), named=True, done=False)
    bare_types, bare_response = openai_api(reply).run(scenario)
    instrument_openai()
    types, response = openai_api(reply).run(scenario)

    assert types == bare_types
    assert response.to_dict(warnings=False) == bare_response.to_dict(warnings=False)
    attributes = dict(telemetry.span().attributes)
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("get_order",)
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("call_Z9",)
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(900) * D("0.25") / M + D(120) * D(2) / M)


def test_a_responses_stream_stopped_after_a_search_still_bills_it(openai_instrumented, openai_api):
    # The search ran (its output_item.done arrived) before the user stopped reading: the tokens are
    # estimated, and the search is billed with them.
    final = response_object(
        "gpt-4o-mini-2024-07-18", [web_search_item(), message_item("".join(PIECES))], responses_usage(300, 100)
    )
    api = openai_api(sse_reply(response_events(final, PIECES), named=True, done=False))

    async def scenario(api):
        search = [{"type": "web_search"}]
        stream = await api(api.client.responses.create(model="gpt-4o-mini", input="Hi?", stream=True, tools=search))
        events = await api.items(stream, limit=7)  # created, in_progress, search added and done, message, part, delta
        await api.close(stream)
        return events

    events = api.run(scenario)
    assert "response.completed" not in [event.type for event in events]
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.LLMCOST_USAGE_WEB_SEARCH_REQUESTS] == 1
    # gpt-4o-mini-2024-07-18: web search 27.5 USD per 1,000 calls
    assert attributes[sc.LLMCOST_COST_REQUEST_FEES] == float(D("27.5") / D(1000))


def test_a_responses_stream_cut_short_is_estimated(openai_instrumented, openai_api):
    api = openai_api(sse_reply(response_events(RESPONSE, PIECES), named=True, done=False))

    async def scenario(api):
        stream = await api(api.client.responses.create(model="gpt-5-mini", input="Where is my parcel?", stream=True))
        events = await api.items(stream, limit=8)  # created, in_progress, reasoning item, message item, part, 2 deltas
        await api.close(stream)
        return events

    events = api.run(scenario)
    assert [event.type for event in events][-1] == "response.output_text.delta"
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES[:2]), "gpt-5-mini")
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "resp_68af4d1c"


@pytest.mark.parametrize("kind", ["response.refusal.delta", "response.reasoning_text.delta"])
def test_a_responses_stream_cut_short_counts_refusals_and_reasoning_text_too(openai_instrumented, openai_api, kind):
    # Generated and billed as output as the answer's text is: counted the same when the usage never comes.
    events = response_events(RESPONSE, PIECES)[:8]  # ... the message item, its part, 2 text deltas
    for event in events[-2:]:
        event["type"] = kind
        event.pop("logprobs", None)
    api = openai_api(sse_reply(events, named=True, done=False))

    async def scenario(api):
        stream = await api(api.client.responses.create(model="gpt-5-mini", input="Where is my parcel?", stream=True))
        return await api.items(stream)

    assert [event.type for event in api.run(scenario)][-1] == kind
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES[:2]), "gpt-5-mini")


def test_a_null_text_delta_from_a_compatible_server_loses_nothing_else(openai_instrumented, openai_api):
    events = response_events(RESPONSE, PIECES)[:8]
    events[-1]["delta"] = None
    api = openai_api(sse_reply(events, named=True, done=False))

    async def scenario(api):
        stream = await api(api.client.responses.create(model="gpt-5-mini", input="Where is my parcel?", stream=True))
        return await api.items(stream)

    api.run(scenario)
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "resp_68af4d1c"  # the whole response was dropped
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(PIECES[0], "gpt-5-mini")


def test_a_responses_stream_cut_short_counts_and_captures_the_tool_calls_so_far(
    instrument_openai, telemetry, openai_api
):
    # Cut while a second tool call's input streams: the finished call and the streamed piece of the
    # unfinished one are output tokens too, and the captured output holds the finished call.
    instrument_openai(capture_content=True)
    weather = function_call_item("call_1", "get_weather", {"city": "Paris"})
    orders = function_call_item("call_2", "find_orders", {"customer": "c-042", "since": "2026-11-01"}, "fc_2")
    final = response_object("gpt-5-mini-2025-08-07", [weather, message_item("".join(PIECES)), orders], None)
    events = response_events(final, PIECES)
    deltas = [i for i, event in enumerate(events) if event["type"] == "response.function_call_arguments.delta"]
    cut = deltas[-1]  # the second call's input: streamed, its output_item.done not yet
    api = openai_api(sse_reply(events[: cut + 1], named=True, done=False))

    seen = stream_response(api)
    assert seen[-1].type == "response.function_call_arguments.delta"
    attributes = dict(telemetry.span().attributes)
    streamed = weather["arguments"] + "".join(PIECES) + orders["arguments"]
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(streamed, "gpt-5-mini")
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("get_weather",)
    assert json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}},
                {"type": "text", "content": "".join(PIECES)},
            ],
            "finish_reason": "",
        }
    ]


def stream_response(api):
    async def scenario(api):
        stream = await api(api.client.responses.create(model="gpt-5-mini", input="Where is my parcel?", stream=True))
        return await api.items(stream)

    return api.run(scenario)


def test_a_responses_stream_refused_with_an_error_event_first_is_not_billed(openai_instrumented, openai_api):
    # A rate limit as the stream's only event: the call never ran and costs nothing (as a chat stream that
    # fails before its first chunk); it was billed an estimate of its input before.
    error = {"type": "error", "code": "rate_limit_exceeded", "message": "Rate limit reached", "param": None}
    api = openai_api(sse_reply([{**error, "sequence_number": 0}], named=True, done=False))

    assert [event.type for event in stream_response(api)] == ["error"]
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "rate_limit_exceeded"
    for key in (sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_COST_AMOUNT, sc.LLMCOST_TOKENS_ESTIMATED):
        assert key not in span.attributes, key
    assert openai_instrumented.metric_points(sc.METRIC_COST) == []


def test_a_responses_stream_refused_with_a_nested_error_event_names_the_providers_code(openai_instrumented, openai_api):
    # The same refusal with the error nested under "error": the SDK raises it as an APIError, which
    # has no status; error.type is still the provider's code, and nothing is billed.
    error = {"type": "rate_limit_exceeded", "code": "rate_limit_exceeded", "message": "Rate limit reached"}
    api = openai_api(sse_reply([{"type": "error", "error": error, "sequence_number": 0}], named=True, done=False))

    with pytest.raises(openai.APIError, match="Rate limit reached"):
        stream_response(api)
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "rate_limit_exceeded"
    for key in (sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_COST_AMOUNT, sc.LLMCOST_TOKENS_ESTIMATED):
        assert key not in span.attributes, key


def test_a_responses_stream_that_ends_in_an_error_event_ends_the_span_as_failed(openai_instrumented, openai_api):
    # The SDK does not raise on a Responses stream's error event: the user iterates it, and the call
    # still failed. What streamed before it is estimated.
    events = response_events(RESPONSE, PIECES)[:8]  # created, in_progress, reasoning item, message item, part, 2 deltas
    error = {"type": "error", "code": "server_error", "message": "The server had an error", "param": None}
    api = openai_api(sse_reply([*events, {**error, "sequence_number": 8}], named=True, done=False))

    seen = stream_response(api)
    assert [event.type for event in seen][-1] == "error"
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "server_error: The server had an error"
    assert span.attributes[sc.ERROR_TYPE] == "server_error"
    assert span.attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES[:2]), "gpt-5-mini")


def test_a_failed_responses_stream_ends_the_span_as_failed_and_estimates_what_streamed(
    openai_instrumented, openai_api
):
    failed = {
        **response_object("gpt-5-mini-2025-08-07", [], None, status="failed"),
        "error": {"code": "server_error", "message": "The model failed to generate a response."},
    }
    text = [event for event in response_events(RESPONSE, PIECES) if event["type"] == "response.output_text.delta"]
    events = response_events(failed, [])
    api = openai_api(sse_reply([*events[:2], *text, events[-1]], named=True, done=False))

    seen = stream_response(api)
    assert [event.type for event in seen][-1] == "response.failed"
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "server_error"
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("error",)
    # no usage in the failed response: the text the user saw stream is estimated, not dropped
    assert span.attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES), "gpt-5-mini")


def test_streamed_content_is_captured_when_asked(instrument_openai, telemetry, openai_api):
    instrument_openai(capture_content=True)
    calls = [tool_call("call_A1", "get_order", {"order_id": "12345"})]
    api = openai_api(chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE, tool_calls=calls, finish_reason="tool_calls"))
    api.run(stream_chat())

    output = json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "".join(PIECES)},
                {"type": "tool_call", "id": "call_A1", "name": "get_order", "arguments": {"order_id": "12345"}},
            ],
            "finish_reason": "tool_call",  # the semconv's FinishReason; the span's finish_reasons keep OpenAI's
        }
    ]
    assert telemetry.span().attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)


def test_the_choices_of_a_stream_asked_for_several_stay_apart(instrument_openai, telemetry, openai_api):
    # n=2: each chunk holds one choice's delta, the two interleaved; each choice keeps its own text
    instrument_openai(capture_content=True)
    first, second = ["Your parcel ", "left."], ["It is ", "on its way."]
    chunks = chat_chunks("gpt-4o-mini-2024-07-18", [])  # the role chunk, then the finish chunk

    def delta(index, content, finish=None):
        return {**chunks[0], "choices": [{"index": index, "delta": {"content": content}, "finish_reason": finish}]}

    body = [chunks[0], delta(1, "")]
    body += [delta(index, piece) for pair in zip(first, second) for index, piece in enumerate(pair)]
    body += [delta(1, "", "stop"), delta(0, "", "length")]
    api = openai_api(sse_reply(body), azure=True, azure_endpoint="https://contoso.openai.azure.com")  # no usage
    api.run(stream_chat(n=2))

    attributes = telemetry.span().attributes
    output = json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert [(message["parts"], message["finish_reason"]) for message in output] == [
        ([{"type": "text", "content": "".join(first)}], "length"),
        ([{"type": "text", "content": "".join(second)}], "stop"),
    ]
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("length", "stop")
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(first + second), "gpt-4o-mini")


def test_the_model_named_by_a_later_chunk_is_the_response_model(openai_instrumented, openai_api):
    # A compatible server that names no model in its first chunks: the first chunk naming one does
    chunks = chat_chunks("llama-3.3-70b", PIECES)
    for chunk in chunks[:2]:
        chunk["model"] = ""
    api = openai_api(sse_reply(chunks), base_url="http://localhost:8000/v1")
    api.run(stream_chat(model="llama"))

    assert openai_instrumented.span().attributes[sc.GEN_AI_RESPONSE_MODEL] == "llama-3.3-70b"


def test_a_streamed_refusal_is_captured(instrument_openai, telemetry, openai_api):
    instrument_openai(capture_content=True)
    refusal = "I'm sorry, I can't help with that."
    chunks = chat_chunks("gpt-4o-mini-2024-07-18", [], usage=USAGE)
    chunks[1:1] = [
        {**chunks[0], "choices": [{"index": 0, "delta": {"refusal": piece}, "finish_reason": None}]}
        for piece in ("I'm sorry, ", "I can't help with that.")
    ]
    api = openai_api(sse_reply(chunks))
    api.run(stream_chat())

    output = json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output == [{"role": "assistant", "parts": [{"type": "text", "content": refusal}], "finish_reason": "stop"}]


def test_an_azure_stream_is_not_asked_for_usage_and_is_estimated(openai_instrumented, openai_api):
    api = openai_api(
        chat_stream("gpt-4o-mini-2024-07-18", PIECES, USAGE, azure_filter=True),
        azure=True,
        azure_endpoint="https://contoso.openai.azure.com",
    )
    api.run(stream_chat(model="support-4o-mini"))

    assert "stream_options" not in api.wire.bodies[0]
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    # read from the first chunk that has them, not from Azure's prompt filter chunk (empty id)
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-CKv3Stream1"
    assert attributes[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] == "fp_560af6e559"
    assert attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] == "default"
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES), "support-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0  # priced as the model that answered


def test_groq_reports_a_streams_usage_in_its_last_chunk_x_groq(openai_instrumented, openai_api):
    # Groq takes no stream_options (none is sent) and puts the stream's usage in the chunk with the
    # finish reason, under x_groq (https://console.groq.com/docs/openai): reported, not estimated.
    chunks = chat_chunks("llama-3.3-70b-versatile", PIECES)
    chunks[-1]["x_groq"] = {
        "id": "req_01hy8ppkajfqk987jv2vx88m9r",
        "usage": {"queue_time": 0.075, "prompt_tokens": 2300, "prompt_time": 0.006, "completion_tokens": 190,
                  "completion_time": 0.022, "total_tokens": 2490, "total_time": 0.028},
    }
    api = openai_api(sse_reply(chunks), base_url="https://api.groq.com/openai/v1")
    _, seen = api.run(stream_chat(model="llama-3.3-70b-versatile"))

    assert "stream_options" not in api.wire.bodies[0]
    assert [chunk.to_dict() for chunk in seen] == chunks  # the user's chunks, untouched
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "groq"
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (2300, 190)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    # from Groq's list (it was unpriced): llama-3.3-70b-versatile, 0.59 / 0.79 USD per 1M tokens
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == "groq/llama-3.3-70b-versatile"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(2300) * D("0.59") + D(190) * D("0.79")) / M)


def test_a_stream_that_will_bring_no_usage_loads_the_tokenizer_beside_it(
    openai_instrumented, openai_api, unloaded_tokenizer
):
    # A compatible server's stream (no usage asked for): the end estimates. The first estimate of a process
    # loaded tiktoken's encoding (~0.6 s) on the caller's thread after the last chunk; it loads while the
    # server streams.
    loaded_while_streaming = []

    def server_streams(request):
        loaded_while_streaming.append(unloaded_tokenizer(30))
        return chat_stream("llama-3.1-8b", PIECES, USAGE)(request)

    openai_api(server_streams, base_url="http://localhost:8000/v1").run(stream_chat(model="gpt-4o-mini"))
    assert loaded_while_streaming == [True]
    assert openai_instrumented.span().attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True


# --- A raw response the program reads as bytes itself (a proxy passing it on) ------------------------


def read_streaming_response(reading, limit=None, **kwargs):
    """``.with_streaming_response.create(**kwargs)`` whose body the program reads itself with ``reading``
    (``iter_bytes``, ``iter_lines``, ``iter_text``), all of it or its first ``limit`` pieces."""

    async def scenario(api):
        manager = api.client.chat.completions.with_streaming_response.create(**{"messages": MESSAGES, **kwargs})
        if api.asynchronous:
            async with manager as response:
                return await api.items(getattr(response, reading)(), limit)
        with manager as response:
            return await api.items(getattr(response, reading)(), limit)

    return scenario


def joined(pieces):
    return b"".join(pieces).decode() if pieces and isinstance(pieces[0], bytes) else "".join(pieces)


@pytest.mark.parametrize("reading", ["iter_bytes", "iter_lines", "iter_text"])
def test_a_body_the_program_reads_itself_is_read_for_its_usage(openai_instrumented, openai_api, reading):
    # The SDK never parses it and httpx keeps no copy: the usage was lost, and the call estimated
    body = chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", USAGE)
    api = openai_api(in_pieces(http_module("openai"), json_reply(body)))
    pieces = api.run(read_streaming_response(reading, model="gpt-4o-mini"))

    assert json.loads(joined(pieces)) == body  # the program's bytes, unchanged
    attributes = dict(openai_instrumented.span().attributes)
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (1200, 300)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == USAGE_COST
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-CKv3Nx2ABC"
    assert sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in attributes  # a JSON answer is no stream


@pytest.mark.parametrize("with_usage", [True, False])
def test_a_stream_the_program_reads_as_lines_is_read_chunk_by_chunk(openai_instrumented, openai_api, with_usage):
    chunks = chat_chunks("gpt-4o-mini-2024-07-18", PIECES, usage=USAGE if with_usage else None)
    api = openai_api(in_pieces(http_module("openai"), sse_reply(chunks)))
    options = {"stream_options": {"include_usage": True}} if with_usage else {}
    lines = api.run(read_streaming_response("iter_lines", model="gpt-4o-mini", stream=True, **options))

    assert [json.loads(line[6:]) for line in lines if line.startswith("data: {")] == chunks
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    # the first piece the program read was the first chunk's arrival
    span = openai_instrumented.span()
    assert 0 < attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] < (span.end_time - span.start_time) / 1e9
    assert len(openai_instrumented.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK)) == 1
    if with_usage:
        assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == USAGE_COST
        assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    else:  # the answer's text counted, not 0 output tokens
        assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
        assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES), "gpt-4o-mini-2024-07-18")


def test_a_stream_the_program_stops_reading_counts_what_it_read(openai_instrumented, openai_api):
    chunks = chat_chunks("gpt-4o-mini-2024-07-18", PIECES, usage=USAGE)
    api = openai_api(in_pieces(http_module("openai"), sse_reply(chunks), size=16))
    options = {"stream_options": {"include_usage": True}}
    api.run(read_streaming_response("iter_lines", limit=5, model="gpt-4o-mini", stream=True, **options))

    # five lines: the role chunk's, a blank line, the first piece's, a blank line, the second piece's
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("".join(PIECES[:2]), "gpt-4o-mini-2024-07-18")


def test_a_responses_stream_the_program_reads_as_bytes_is_read_event_by_event(openai_instrumented, openai_api):
    final = response_object("gpt-5-mini-2025-08-07", [message_item("Your parcel left.")], responses_usage(1000, 200))
    events = response_events(final, ["Your parcel ", "left."])
    api = openai_api(in_pieces(http_module("openai"), sse_reply(events, named=True, done=False)))

    async def scenario(api):
        manager = api.client.responses.with_streaming_response.create(
            model="gpt-5-mini", input="Where is it?", stream=True
        )
        if api.asynchronous:
            async with manager as response:
                return await api.items(response.iter_bytes())
        with manager as response:
            return await api.items(response.iter_bytes())

    api.run(scenario)
    attributes = dict(openai_instrumented.span().attributes)
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (1000, 200)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-5-mini-2025-08-07"


def test_a_streaming_response_parsed_keeps_no_copy_of_its_body(openai_instrumented, openai_api):
    chunks = chat_chunks("gpt-4o-mini-2024-07-18", PIECES, usage=USAGE)
    api = openai_api(in_pieces(http_module("openai"), sse_reply(chunks)))

    async def scenario(api):
        manager = api.client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        if api.asynchronous:
            async with manager as response:
                stream = await response.parse()
                readers = set(vars(response.http_response))
                return readers, await api.items(stream)
        with manager as response:
            stream = response.parse()
            readers = set(vars(response.http_response))
            return readers, await api.items(stream)

    readers, chunks = api.run(scenario)
    assert not readers & {"iter_bytes", "aiter_bytes"}  # the SDK reads the stream: nothing of ours in its way
    assert len(chunks) == len(PIECES) + 3  # the role chunk, the pieces, the finish chunk, the usage chunk
    assert openai_instrumented.span().attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == USAGE_COST


def test_the_byte_iterator_of_a_dropped_raw_response_still_reads_its_body(openai_instrumented, openai_api):
    # A proxy returns raw.http_response.iter_bytes() and drops raw: httpx's own iterator holds its response;
    # ours took it at the first next(), by then gone with raw (AttributeError reached the program)
    body = sse(chat_chunks("gpt-4o-mini-2024-07-18", PIECES))
    api = openai_api(in_pieces(http_module("openai"), Reply(200, body, {"content-type": "text/event-stream"})))

    async def scenario(api):
        async def upstream():
            create = api.client.chat.completions.with_raw_response.create
            raw = await api(create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
            return raw.http_response.aiter_bytes() if api.asynchronous else raw.http_response.iter_bytes()

        pieces = await upstream()
        gc.collect()
        return b"".join(await api.items(pieces))

    assert api.run(scenario) == body
    assert openai_instrumented.span().attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0  # ended when raw was dropped


def test_an_early_close_of_a_read_body_closes_the_response_as_httpx_does(openai_instrumented, openai_api):
    # httpx2's iterator closes the response when it is closed early; ours did not close it, so it stayed
    # open until the garbage collector (async: the event loop) finalized it
    http = http_module("openai")
    reply = in_pieces(http, sse_reply(chat_chunks("gpt-4o-mini-2024-07-18", PIECES)))
    api = openai_api(reply)

    async def closed_after_one_piece(response):
        if api.asynchronous:
            pieces = response.aiter_bytes()
            await pieces.__anext__()
            await pieces.aclose()
        else:
            pieces = response.iter_bytes()
            next(pieces)
            pieces.close()
        return response.is_closed

    async def scenario(api):
        httpx_alone = await closed_after_one_piece(http.Response(200, headers=reply.headers, stream=reply.stream))
        manager = api.client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        if api.asynchronous:
            async with manager as response:
                return httpx_alone, await closed_after_one_piece(response.http_response)
        with manager as response:
            return httpx_alone, await closed_after_one_piece(response.http_response)

    httpx_alone, teed = api.run(scenario)
    assert teed is httpx_alone


def test_the_one_choice_a_server_numbers_other_than_0_is_one_message(instrument_openai, telemetry, openai_api):
    # n not asked for: a compatible server's only choice at index 1 kept its text under 0 and its finish
    # reason under 1, two messages
    instrument_openai(capture_content=True)
    chunks = chat_chunks("llama-3.3-70b", PIECES)
    for chunk in chunks:
        for choice in chunk["choices"]:
            choice["index"] = 1
    api = openai_api(sse_reply(chunks), base_url="http://localhost:8000/v1")
    api.run(stream_chat(model="llama"))

    output = json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    text = {"type": "text", "content": "".join(PIECES)}
    assert output == [{"role": "assistant", "parts": [text], "finish_reason": "stop"}]

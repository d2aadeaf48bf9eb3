"""Streamed Messages through the real anthropic SDK: ``create(stream=True)``, the ``messages.stream()``
helpers (beta included), raw and streaming responses, and every way a stream can end (read to the
end, closed early, abandoned, broken by the user's code, by an error event, or cut by the server)."""

from __future__ import annotations

import asyncio
import gc
import json
from decimal import Decimal as D

import anthropic
import pytest
from conftest import assert_estimated_outside_the_call
from opentelemetry.trace import StatusCode
from wire import (
    Reply,
    Wire,
    claude_events,
    claude_message,
    claude_stream,
    claude_usage,
    http_client,
    http_module,
    in_pieces,
    json_reply,
    no_first_chunk,
    sse,
    text_block,
    tool_use_block,
)

from otel_llmcost import semconv as sc
from otel_llmcost.tokens import count_messages, count_text

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

M = D(1_000_000)
SONNET = "claude-sonnet-4-5-20250929"
MESSAGES = [{"role": "user", "content": "Where is my parcel?"}]
CALL = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": MESSAGES}
ANSWER = "Your parcel left the depot this morning and arrives tomorrow before noon."
USAGE = claude_usage(1500, 800, cache_read=20000, cache_5m=3000, cache_1h=1000)
MESSAGE = claude_message(SONNET, [text_block(ANSWER)], USAGE)
# claude-sonnet-4-5: input 3, cache read 0.3, 5m write 3.75, 1h write 6, output 15 USD per 1M tokens
INPUT_SIDE_COST = (D(1500) * 3 + D(20000) * D("0.3") + D(3000) * D("3.75") + D(1000) * 6) / M
FULL_COST = INPUT_SIDE_COST + D(800) * 15 / M


class Stop(Exception):
    pass


def create_stream(**kwargs):
    async def scenario(api):
        stream = await api(api.client.messages.create(**{**CALL, "stream": True, **kwargs}))
        return await api.items(stream)

    return scenario


def text_seen(events):
    return "".join(event.delta.text for event in events if event.type == "content_block_delta")


def test_a_stream_read_to_the_end_combines_message_start_and_message_delta(
    instrument_anthropic, telemetry, anthropic_api
):
    bare = anthropic_api(claude_stream(claude_events(MESSAGE))).run(create_stream())
    instrument_anthropic()
    traced = anthropic_api(claude_stream(claude_events(MESSAGE))).run(create_stream())

    # The user sees exactly the events they would see without us.
    assert [type(event) for event in traced] == [type(event) for event in bare]
    assert [event.to_dict() for event in traced] == [event.to_dict() for event in bare]
    assert text_seen(traced) == ANSWER
    span = telemetry.span()
    attributes = dict(span.attributes)
    assert span.name == "chat claude-sonnet-4-5"
    assert attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 25500  # from message_start, cache included
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 800  # message_delta's, not message_start's placeholder
    assert attributes[sc.LLMCOST_USAGE_CACHE_WRITE_5M_TOKENS] == 3000
    assert attributes[sc.LLMCOST_USAGE_CACHE_WRITE_1H_TOKENS] == 1000
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(FULL_COST)
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == SONNET
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert span.status.status_code is StatusCode.UNSET
    assert len(telemetry.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK)) == 1


def test_message_delta_counts_are_cumulative_and_win(anthropic_instrumented, anthropic_api):
    # A server-tool loop: message_start has the first turn's input, message_delta the whole call's.
    message = claude_message(SONNET, [text_block("Found it.")], claude_usage(1000, 300))
    delta_usage = {
        "input_tokens": 2500,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 4000,
        "output_tokens": 300,
        "server_tool_use": {"web_search_requests": 1},
    }
    api = anthropic_api(claude_stream(claude_events(message, delta_usage=delta_usage)))
    api.run(create_stream())

    attributes = dict(anthropic_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 6500
    assert attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 4000
    assert attributes[sc.LLMCOST_USAGE_WEB_SEARCH_REQUESTS] == 1
    expected = (D(2500) * 3 + D(4000) * D("0.3") + D(300) * 15) / M + D(10) / 1000
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(expected)


def test_streamed_tool_use_blocks_are_assembled(anthropic_instrumented, anthropic_api):
    content = [
        text_block("Checking."),
        tool_use_block("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "track_parcel", {"order": "12345"}),
    ]
    message = claude_message(SONNET, content, claude_usage(400, 90), stop_reason="tool_use")
    api = anthropic_api(claude_stream(claude_events(message)))
    api.run(create_stream())

    attributes = dict(anthropic_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("toolu_01T1x1fJ34qAmk2tNTrN7Up6",)
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("track_parcel",)
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)


@pytest.mark.parametrize("beta", [False, True], ids=["messages", "beta"])
def test_the_stream_helper(instrument_anthropic, telemetry, anthropic_api, beta):
    async def scenario(api):
        messages = api.client.beta.messages if beta else api.client.messages
        if api.asynchronous:
            async with messages.stream(**CALL) as stream:
                text = "".join([piece async for piece in stream.text_stream])
                return text, await stream.get_final_message()
        with messages.stream(**CALL) as stream:
            return "".join(stream.text_stream), stream.get_final_message()

    bare_text, bare_final = anthropic_api(claude_stream(claude_events(MESSAGE))).run(scenario)
    instrument_anthropic()
    text, final = anthropic_api(claude_stream(claude_events(MESSAGE))).run(scenario)

    assert text == bare_text == ANSWER
    assert final.to_dict() == bare_final.to_dict()
    assert final.usage.output_tokens == 800
    attributes = dict(telemetry.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 25500
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 800
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(FULL_COST)


def test_breaking_out_then_closing_keeps_the_input_and_estimates_the_output(anthropic_instrumented, anthropic_api):
    api = anthropic_api(claude_stream(claude_events(MESSAGE)))

    async def scenario(api):
        stream = await api(api.client.messages.create(**CALL, stream=True))
        events = await api.items(stream, limit=5)  # message_start, block start, three text deltas
        assert anthropic_instrumented.spans() == []  # still open: the user may read on
        await api.close(stream)
        await api.close(stream)
        return events

    seen = text_seen(api.run(scenario))
    gc.collect()
    span = anthropic_instrumented.span()
    attributes = dict(span.attributes)
    output = count_text(seen, SONNET)
    assert 0 < output < 800
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 25500  # message_start's input is real
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == output
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(INPUT_SIDE_COST + D(output) * 15 / M)
    assert span.status.status_code is StatusCode.UNSET


def test_a_stream_left_open_after_its_last_event_ends_its_call_at_that_event(anthropic_instrumented, anthropic_api):
    # The program breaks out on message_stop and keeps the stream, unclosed: the call ended at that event,
    # not when the garbage collector frees the stream (anthropic 0.x's stream and its iterator refer to
    # each other), with an open span until then.
    events = claude_events(MESSAGE)
    api = anthropic_api(claude_stream(events))

    async def scenario(api):
        stream = await api(api.client.messages.create(**CALL, stream=True))
        shown = [event for event in events if event["type"] != "ping"]  # the SDK passes no ping on
        read = await api.items(stream, limit=len(shown))  # out of the loop on message_stop, the last one
        assert read[-1].type == "message_stop"
        assert len(anthropic_instrumented.spans()) == 1  # ended at that event, the loop still running
        return stream  # still referenced, never closed

    kept = api.run(scenario)
    attributes = anthropic_instrumented.span().attributes
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 800
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(FULL_COST)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    del kept


def test_an_abandoned_stream_ends_its_span_when_collected(anthropic_instrumented, anthropic_api):
    api = anthropic_api(claude_stream(claude_events(MESSAGE)))

    async def scenario(api):
        stream = await api(api.client.messages.create(**CALL, stream=True))
        assert stream.response.status_code == 200
        # never read, never closed

    api.run(scenario)
    gc.collect()
    attributes = dict(anthropic_instrumented.span().attributes)
    # Nothing was read, not even message_start: the input is counted with tiktoken.
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_messages(MESSAGES, SONNET)
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 0


def test_a_stream_abandoned_midway_ends_once_with_what_was_seen(anthropic_instrumented, anthropic_api):
    api = anthropic_api(claude_stream(claude_events(MESSAGE)))

    async def scenario(api):
        stream = await api(api.client.messages.create(**CALL, stream=True))
        return await api.items(stream, limit=4)

    seen = text_seen(api.run(scenario))
    gc.collect()
    attributes = dict(anthropic_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 25500
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(seen, SONNET)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True


_http = http_module("anthropic")


class _ChunkedBody(_http.SyncByteStream, _http.AsyncByteStream):
    """A response body the transport sends in small pieces, and whether anyone closed it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.closed = data, False

    def __iter__(self):
        for start in range(0, len(self.data), 64):
            yield self.data[start : start + 64]

    async def __aiter__(self):
        for piece in self:
            yield piece

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def test_a_stream_dropped_midway_closes_its_http_body_when_it_would_without_us(instrument_anthropic, telemetry):
    # Dropping a half-read stream closes the HTTP body as soon as the SDK alone would (at once on
    # anthropic 2.x), not when the garbage collector finds a reference cycle through our hooks.
    # (An async stream's body waits for the event loop either way.)
    def drop_midway() -> tuple[bool, bool]:
        body = _ChunkedBody(sse(claude_events(MESSAGE), named=True, done=False))
        wire = Wire(_http, Reply(200, headers={"content-type": "text/event-stream"}, stream=body))
        client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0, http_client=http_client(_http, wire, False))
        gc.disable()
        try:
            events = iter(client.messages.create(**CALL, stream=True))
            for _ in range(3):
                next(events)
            del events
            closed = body.closed
        finally:
            gc.enable()
        gc.collect()
        return closed, body.closed

    bare = drop_midway()
    instrument_anthropic()
    traced = drop_midway()

    assert traced == bare
    assert traced[1] is True
    assert len(telemetry.spans()) == 1


@pytest.mark.parametrize("holder", ["stream", "helper", "with_streaming_response"])
def test_an_exception_in_the_users_with_block_ends_the_span_with_it(anthropic_instrumented, anthropic_api, holder):
    api = anthropic_api(claude_stream(claude_events(MESSAGE)))

    async def scenario(api):
        if holder == "with_streaming_response":
            manager = api.client.messages.with_streaming_response.create(**CALL, stream=True)
            await api.raise_while_reading(manager, Stop("user code failed"))
        if holder == "helper":
            if api.asynchronous:
                async with api.client.messages.stream(**CALL) as stream:
                    async for _ in stream.text_stream:
                        raise Stop("user code failed")
            with api.client.messages.stream(**CALL) as stream:
                for _ in stream.text_stream:
                    raise Stop("user code failed")
        stream = await api(api.client.messages.create(**CALL, stream=True))
        if api.asynchronous:
            async with stream:
                async for _ in stream:
                    raise Stop("user code failed")
        with stream:
            for _ in stream:
                raise Stop("user code failed")

    with pytest.raises(Stop, match="user code failed"):
        api.run(scenario)
    span = anthropic_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "Stop"
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 25500
    assert span.attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True


@pytest.mark.parametrize("holder", ["stream", "helper", "with_streaming_response"])
def test_an_exception_in_the_users_with_block_before_reading_still_bills_the_accepted_call(
    anthropic_instrumented, anthropic_api, holder
):
    # The request was accepted (HTTP 200) and billed, though the program failed before reading a chunk:
    # an estimate, as for a stream closed unread, not the nothing of a provider's error as the first event.
    api = anthropic_api(claude_stream(claude_events(MESSAGE)))

    async def scenario(api):
        if holder != "stream":
            if holder == "helper":
                manager = api.client.messages.stream(**CALL)
            else:
                manager = api.client.messages.with_streaming_response.create(**CALL, stream=True)
            if api.asynchronous:
                async with manager:
                    raise Stop("user code failed")
            with manager:
                raise Stop("user code failed")
        stream = await api(api.client.messages.create(**CALL, stream=True))
        if api.asynchronous:
            async with stream:
                raise Stop("user code failed")
        with stream:
            raise Stop("user code failed")

    with pytest.raises(Stop, match="user code failed"):
        api.run(scenario)
    attributes = anthropic_instrumented.span().attributes
    assert attributes[sc.ERROR_TYPE] == "Stop"
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0 and attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_stream_the_program_cuts_before_its_first_event_still_bills_the_accepted_call(
    anthropic_instrumented, asynchronous
):
    # A time-to-first-token timeout (the task cancelled) or Ctrl-C while the first event is awaited:
    # the request was accepted (HTTP 200) and billed, so the estimate of a stream closed unread.
    http = http_module("anthropic")
    replies = [Reply(200, headers={"content-type": "text/event-stream"}, stream=no_first_chunk(http))]
    replies.append(claude_stream(claude_events(MESSAGE)))  # the same call, closed unread
    wire = Wire(http, *replies)
    if asynchronous:
        client = anthropic.AsyncAnthropic(api_key="sk-ant-test", max_retries=0, http_client=http_client(http, wire, True))

        async def read() -> None:
            async for _ in await client.messages.create(**CALL, stream=True):
                pass

        async def close_unread() -> None:
            await (await client.messages.create(**CALL, stream=True)).close()

        with pytest.raises(asyncio.TimeoutError):
            asyncio.run(asyncio.wait_for(read(), 0.05))
        asyncio.run(close_unread())
    else:
        client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0, http_client=http_client(http, wire, False))
        with pytest.raises(KeyboardInterrupt):
            for _ in client.messages.create(**CALL, stream=True):
                pass
        client.messages.create(**CALL, stream=True).close()
    cut, closed = (span.attributes for span in anthropic_instrumented.spans())
    assert cut[sc.ERROR_TYPE] == ("CancelledError" if asynchronous else "KeyboardInterrupt")
    assert cut[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert cut[sc.GEN_AI_USAGE_INPUT_TOKENS] == closed[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert cut[sc.GEN_AI_USAGE_COST_AMOUNT] == closed[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_an_overloaded_error_event_mid_stream_ends_the_span_with_it(instrument_anthropic, telemetry, anthropic_api):
    events = claude_events(MESSAGE)[:5]  # message_start, ping, block start, two text deltas
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    body = sse(events, named=True, done=False) + f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    reply = Reply(200, body, {"content-type": "text/event-stream; charset=utf-8"})

    with pytest.raises(anthropic.APIStatusError) as bare:
        anthropic_api(reply).run(create_stream())
    instrument_anthropic()
    with pytest.raises(anthropic.APIStatusError) as traced:
        anthropic_api(reply).run(create_stream())

    assert type(traced.value) is type(bare.value)
    assert str(traced.value) == str(bare.value)
    assert traced.value.body == bare.value.body
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "APIStatusError: Overloaded"  # the stream opened with 200: no error code
    assert span.attributes[sc.ERROR_TYPE] == "overloaded_error"
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 25500
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("Your parcel left the depot this ", SONNET)


def test_the_output_of_a_stream_cut_by_an_error_event_finished_with_error(
    instrument_anthropic, telemetry, anthropic_api
):
    # No stop reason came: the captured output message's finish_reason was "", not the semconv's "error"
    instrument_anthropic(capture_content=True)
    events = claude_events(MESSAGE)[:5]  # message_start, ping, block start, two text deltas
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    body = sse(events, named=True, done=False) + f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    with pytest.raises(anthropic.APIStatusError):
        anthropic_api(Reply(200, body, {"content-type": "text/event-stream; charset=utf-8"})).run(create_stream())

    [message] = json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert message == {
        "role": "assistant",
        "parts": [{"type": "text", "content": "Your parcel left the depot this "}],
        "finish_reason": "error",
    }


def test_a_stream_whose_first_event_is_an_error_is_not_billed(anthropic_instrumented, telemetry, anthropic_api):
    # Overloaded before message_start: nothing was generated or billed, as with the same error as an HTTP 529.
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    body = f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    reply = Reply(200, body, {"content-type": "text/event-stream; charset=utf-8"})

    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        anthropic_api(reply).run(create_stream())
    span = anthropic_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "overloaded_error"
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert sc.GEN_AI_USAGE_COST_AMOUNT not in span.attributes
    assert telemetry.metric_points(sc.METRIC_COST) == []


def test_a_stream_the_server_cuts_before_message_delta_is_estimated(anthropic_instrumented, anthropic_api):
    events = [event for event in claude_events(MESSAGE) if event["type"] not in ("message_delta", "message_stop")]
    api = anthropic_api(claude_stream(events))
    assert text_seen(api.run(create_stream())) == ANSWER

    attributes = dict(anthropic_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 25500
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(ANSWER, SONNET)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in attributes


def test_the_time_spent_estimating_is_not_the_calls(anthropic_instrumented, anthropic_api, slow_estimates):
    # A stream cut before message_delta is estimated when it ends; the first estimate in a process loads
    # the encoding (~0.6 s). That is our time, not the call's: neither the span nor the duration has it.
    events = [event for event in claude_events(MESSAGE) if event["type"] not in ("message_delta", "message_stop")]
    api = anthropic_api(claude_stream(events))
    assert text_seen(api.run(create_stream())) == ANSWER

    assert_estimated_outside_the_call(anthropic_instrumented, slow_estimates)


def test_a_raw_stream_is_recorded_when_parsed_and_read(anthropic_instrumented, anthropic_api):
    api = anthropic_api(claude_stream(claude_events(MESSAGE)))

    async def scenario(api):
        raw = await api(api.client.messages.with_raw_response.create(**CALL, stream=True))
        assert anthropic_instrumented.spans() == []
        stream = await api(raw.parse())
        return await api.items(stream)

    assert text_seen(api.run(scenario)) == ANSWER
    attributes = dict(anthropic_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 800
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(FULL_COST)


def test_a_raw_response_is_recorded_when_parsed(anthropic_instrumented, anthropic_api):
    api = anthropic_api(json_reply(MESSAGE, headers={"request-id": "req_42"}))

    async def scenario(api):
        raw = await api(api.client.messages.with_raw_response.create(**CALL))
        assert raw.headers["request-id"] == "req_42"
        assert anthropic_instrumented.spans() == []  # the body is not parsed yet
        return await api(raw.parse())

    assert api.run(scenario).usage.output_tokens == 800
    attributes = dict(anthropic_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(FULL_COST)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes


def test_a_raw_response_ends_when_the_request_returned_not_when_it_is_parsed(anthropic_instrumented, anthropic_api):
    import time

    api = anthropic_api(json_reply(MESSAGE))
    returned = {}

    async def scenario(api):
        raw = await api(api.client.messages.with_raw_response.create(**CALL))
        returned["at"] = time.time_ns()
        time.sleep(0.02)  # the user's own work before parsing
        return await api(raw.parse())

    api.run(scenario)
    span = anthropic_instrumented.span()
    assert span.end_time <= returned["at"]
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 800


def test_a_raw_response_never_parsed_keeps_its_usage_when_dropped(anthropic_instrumented, anthropic_api):
    # The SDK read its body before returning it: the usage is there, not to be estimated.
    api = anthropic_api(json_reply(MESSAGE))

    async def scenario(api):
        raw = await api(api.client.messages.with_raw_response.create(**CALL))
        assert raw.status_code == 200

    api.run(scenario)
    gc.collect()
    attributes = dict(anthropic_instrumented.span().attributes)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(FULL_COST)


@pytest.mark.parametrize("leaving", ["raises", "reads nothing"])
def test_a_streaming_response_block_left_without_parse_ends_its_span(anthropic_instrumented, anthropic_api, leaving):
    # The block's exit closes the response: nothing ended the call while the user's variable held it.
    api = anthropic_api(json_reply(MESSAGE))

    async def scenario(api):
        manager = api.client.messages.with_streaming_response.create(**CALL)
        try:
            if api.asynchronous:
                async with manager as response:
                    if leaving == "raises":
                        raise Stop
            else:
                with manager as response:
                    if leaving == "raises":
                        raise Stop
        except Stop:
            pass
        return response  # still held: no garbage collection ends it

    api.run(scenario)
    span = anthropic_instrumented.span()
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0 and span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0
    assert (span.attributes.get(sc.ERROR_TYPE) or "").endswith("Stop") == (leaving == "raises")


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
def test_with_streaming_response(anthropic_instrumented, anthropic_api, stream):
    reply = claude_stream(claude_events(MESSAGE)) if stream else json_reply(MESSAGE)
    api = anthropic_api(reply)

    async def scenario(api):
        call = {**CALL, "stream": True} if stream else CALL
        if api.asynchronous:
            async with api.client.messages.with_streaming_response.create(**call) as response:
                parsed = await response.parse()
                return await api.items(parsed) if stream else parsed
        with api.client.messages.with_streaming_response.create(**call) as response:
            parsed = response.parse()
            return list(parsed) if stream else parsed

    api.run(scenario)
    attributes = dict(anthropic_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 800
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(FULL_COST)


def test_a_vertex_stream(anthropic_instrumented, anthropic_api):
    model = "claude-sonnet-4-5@20250929"
    api = anthropic_api(claude_stream(claude_events(MESSAGE)), platform="vertex")
    assert text_seen(api.run(create_stream(model=model))) == ANSWER

    attributes = dict(anthropic_instrumented.span().attributes)
    assert api.wire.requests[0].url.path.endswith(f"/models/{model}:streamRawPredict")
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "gcp.vertex_ai"
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == SONNET
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == "vertex_ai/claude-sonnet-4-5@20250929"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(FULL_COST)


def test_a_streamed_tool_call_without_arguments_is_captured_as_the_message_holds_it(
    instrument_anthropic, telemetry, anthropic_api
):
    # A tool without parameters streams one empty input_json_delta (the API's wire); the message, the SDK's
    # accumulated one and a non-streamed answer all hold input {}: so must the captured tool call.
    message = claude_message(SONNET, [tool_use_block("toolu_01", "get_time", {})], USAGE, stop_reason="tool_use")
    events = []
    for event in claude_events(message):
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "input_json_delta":
            if events[-1]["type"] == "content_block_delta":
                continue  # one delta for the whole (empty) input
            event = {**event, "delta": {"type": "input_json_delta", "partial_json": ""}}
        events.append(event)
    instrument_anthropic(capture_content=True)

    seen = anthropic_api(claude_stream(events)).run(create_stream())
    assert [event.delta.partial_json for event in seen if event.type == "content_block_delta"] == [""]
    [output] = json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["parts"] == [{"type": "tool_call", "id": "toolu_01", "name": "get_time", "arguments": {}}]


def test_a_stream_served_by_a_fallback_model_is_priced_as_the_message_the_sdk_returns(
    instrument_anthropic, telemetry, anthropic_api, caplog, monkeypatch
):
    from otel_llmcost.instrumentation import core

    monkeypatch.setattr(core, "_logged", set())  # the warning is logged once per process
    # Server-side fallback (beta): Opus declined, Haiku served the turn. message_start names the requested
    # model; the fallback block names the server, as the SDK's final message (and a non-streamed one) does.
    served = "claude-haiku-4-5-20251001"
    fallback = {"type": "fallback", "from": {"model": "claude-opus-4-6"}, "to": {"model": served}, "trigger": {"type": "refusal"}}
    usage = {
        **claude_usage(1000, 200),
        "iterations": [
            {"type": "message", "input_tokens": 1000, "output_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            {"type": "fallback_message", "model": served, "input_tokens": 1000, "output_tokens": 180, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        ],
    }
    events = claude_events(claude_message("claude-opus-4-6", [fallback, text_block(ANSWER)], usage))
    instrument_anthropic()
    anthropic_api(claude_stream(events)).run(create_stream(model="claude-opus-4-6"))

    attributes = telemetry.span().attributes
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == served
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == "claude-haiku-4-5-20251001"
    # claude-haiku-4-5: $1 input, $5 output per 1M tokens (Opus 4.6's $5 / $25 before: 5x)
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(1000) * 1 + D(200) * 5) / M)
    assert "declined are priced at the serving model's rates" in caplog.text


@pytest.mark.parametrize(("result", "billed"), [("results", 1), ("error", 0)])
def test_a_stream_cut_after_a_web_search_bills_the_search_that_ran(
    instrument_anthropic, telemetry, anthropic_api, result, billed
):
    # message_start counts no search yet; message_delta, which would, never comes. A search that failed is
    # not billed (Anthropic's web search pricing).
    content = (
        [{"type": "web_search_result", "url": "https://example.com", "title": "t", "encrypted_content": "e", "page_age": None}]
        if result == "results"
        else {"type": "web_search_tool_result_error", "error_code": "unavailable"}
    )
    blocks = [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "weather"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": content},
        text_block("It is sunny."),
    ]
    usage = {**claude_usage(100, 20), "server_tool_use": {"web_search_requests": 0}}
    events = [event for event in claude_events(claude_message(SONNET, blocks, usage)) if event["type"] != "message_delta"]
    instrument_anthropic()
    anthropic_api(claude_stream(events[:-1])).run(create_stream())  # cut before message_delta and message_stop

    attributes = telemetry.span().attributes
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes.get(sc.LLMCOST_USAGE_WEB_SEARCH_REQUESTS, 0) == billed
    assert attributes[sc.LLMCOST_COST_REQUEST_FEES] == billed * 0.01  # $10 per 1,000 searches


@pytest.mark.parametrize(("stream", "reading"), [(True, "iter_lines"), (True, "iter_bytes"), (False, "iter_bytes")])
def test_a_body_the_program_reads_itself_is_read_for_its_usage(anthropic_instrumented, anthropic_api, stream, reading):
    # .with_streaming_response read as bytes (a proxy passing it on): the SDK never parses it, httpx keeps no copy
    reply = claude_stream(claude_events(MESSAGE)) if stream else json_reply(MESSAGE)
    api = anthropic_api(in_pieces(http_module("anthropic"), reply))

    async def scenario(api):
        manager = api.client.messages.with_streaming_response.create(**{**CALL, "stream": stream})
        if api.asynchronous:
            async with manager as response:
                return await api.items(getattr(response, reading)())
        with manager as response:
            return await api.items(getattr(response, reading)())

    pieces = api.run(scenario)
    assert (b"" if reading == "iter_bytes" else "\n").join(pieces)  # the program got the body
    attributes = dict(anthropic_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 800
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(FULL_COST)
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == SONNET
    # a stream's first piece the program read was its first chunk's arrival; a JSON answer has none
    assert (sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attributes) is stream
    assert len(anthropic_instrumented.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK)) == int(stream)


@pytest.mark.parametrize("beta", [False, True], ids=["messages", "beta"])
def test_the_helpers_error_quoting_the_models_tool_input_keeps_the_quote_off_the_span(
    anthropic_instrumented, anthropic_api, beta
):
    # The helper cannot parse a tool input the model streamed malformed, and raises a ValueError quoting it:
    # the user gets it whole; the span, with content capture off, records the error without the model's text.
    message = claude_message(SONNET, [tool_use_block("toolu_01", "lookup", {"q": 1})], USAGE, stop_reason="tool_use")
    events = claude_events(message)
    for event in events:
        if event["type"] == "content_block_delta" and event["delta"]["partial_json"]:
            event["delta"]["partial_json"] = '{"note": "SSN 078-05-1120 of Jane Roe", "n": x'
            break

    async def scenario(api):
        messages = api.client.beta.messages if beta else api.client.messages
        try:
            if api.asynchronous:
                async with messages.stream(**CALL) as stream:
                    await stream.get_final_message()
            else:
                with messages.stream(**CALL) as stream:
                    stream.get_final_message()
        except ValueError as error:
            return str(error)
        return None

    raised = anthropic_api(claude_stream(events)).run(scenario)
    assert raised.startswith("Unable to parse tool parameter JSON from model") and "Jane Roe" in raised
    span = anthropic_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "ValueError"
    description = span.status.description
    assert description.startswith("ValueError: Unable to parse tool parameter JSON from model. Please retry")
    assert description.endswith("(the output it quoted is not recorded)")
    assert "Jane Roe" not in description and '"note"' not in description


@pytest.mark.parametrize("input_reported", [True, False], ids=["input reported", "no input_tokens"])
def test_a_stream_cut_short_records_the_reported_inputs_token_usage_point(
    anthropic_instrumented, anthropic_api, input_reported
):
    # message_start reported the input (25,500 with the cache); the output is counted from the text seen. The
    # input point was left out with the output's, though the cost counter took the input's cost. A compatible
    # server's message_start usage without input_tokens reports nothing: no point.
    events = claude_events(MESSAGE)
    if not input_reported:
        events[0] = {**events[0], "message": {**events[0]["message"], "usage": {"output_tokens": 1}}}
    api = anthropic_api(claude_stream(events))

    async def scenario(api):
        stream = await api(api.client.messages.create(**CALL, stream=True))
        await api.items(stream, limit=5)
        await api.close(stream)

    api.run(scenario)
    assert anthropic_instrumented.span().attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    points = anthropic_instrumented.metric_points(sc.METRIC_TOKEN_USAGE)
    assert {point.attributes[sc.GEN_AI_TOKEN_TYPE]: point.sum for point in points} == (
        {"input": 25500} if input_reported else {}
    )

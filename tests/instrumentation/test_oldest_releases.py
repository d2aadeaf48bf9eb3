"""What the oldest SDK releases the instrumentors accept (openai >= 1.40, anthropic >= 0.60) do
differently, on calls every release makes alike.

These run with the current SDKs here, and in test_older_major.py against openai 1.40 (its usage
models declare no token details: pydantic keeps the wire's as plain dicts), openai 1.66 (the
first Responses API, whose usage declares no input details either; like 1.40, its raw responses
keep the caller's own request options) and anthropic 0.60 (its stream error names the provider's
error type only in the event's body).
"""

from __future__ import annotations

import json
from decimal import Decimal as D

import anthropic
import pytest
from opentelemetry.trace import StatusCode
from wire import (
    Reply,
    chat_completion,
    chat_stream,
    chat_usage,
    claude_events,
    claude_message,
    claude_usage,
    completion,
    json_reply,
    message_item,
    response_object,
    responses_usage,
    sse,
    text_block,
)

from otel_llmcost import semconv as sc

M = D(1_000_000)
MESSAGES = [{"role": "user", "content": "Where is my parcel?"}]
COMPATIBLE = "http://localhost:8000/v1"  # a compatible server: no stream_options added for it
# gpt-4o-mini-2024-07-18: input 0.15, cache read 0.075, output 0.6 USD per 1M tokens
INPUT, CACHE_READ, OUTPUT = D("0.15"), D("0.075"), D("0.6")
# Usage as most compatible servers send it: the counts, no details
PLAIN_USAGE = {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}


def _chat(api, **kwargs):
    return api.client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **kwargs)


def test_token_details_are_read_whether_or_not_the_sdk_declares_them(openai_instrumented, openai_api):
    reply = chat_completion("gpt-4o-mini-2024-07-18", "It left.", chat_usage(1200, 300, cached=1024, reasoning=40))
    api = openai_api(json_reply(reply))

    async def scenario(api):
        return await api(_chat(api))

    api.run(scenario)
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1024
    assert attributes[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 40
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((176 * INPUT + 1024 * CACHE_READ + 300 * OUTPUT) / M)
    assert attributes[sc.LLMCOST_COST_REASONING] == float(40 * OUTPUT / M)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_usage_without_details_keeps_its_counts_and_cost(openai_instrumented, openai_api, stream):
    if stream:
        reply = chat_stream("gpt-4o-mini-2024-07-18", ["It ", "left."], PLAIN_USAGE)
    else:
        reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "It left.", PLAIN_USAGE))
    api = openai_api(reply, base_url=COMPATIBLE)

    async def scenario(api):
        if not stream:
            return await api(_chat(api))
        return await api.items(await api(_chat(api, stream=True, stream_options={"include_usage": True})))

    api.run(scenario)
    attributes = openai_instrumented.span().attributes
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (1200, 300)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS not in attributes
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((1200 * INPUT + 300 * OUTPUT) / M)


def test_a_legacy_completion_keeps_its_usage(openai_instrumented, openai_api):
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    api = openai_api(json_reply(completion("gpt-3.5-turbo-instruct", " Paris.", usage)))

    async def scenario(api):
        return await api(api.client.completions.create(model="gpt-3.5-turbo-instruct", prompt="France's capital is"))

    api.run(scenario)
    attributes = openai_instrumented.span().attributes
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (5, 2)
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "cmpl-CKv3Legacy"
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes


@pytest.mark.parametrize("how", ["with_raw_response", "with_streaming_response", "raw stream"])
def test_a_raw_response_is_recorded_with_its_usage_when_parsed(openai_instrumented, openai_api, how):
    if how == "raw stream":
        reply = chat_stream("gpt-4o-mini-2024-07-18", ["It ", "left."], chat_usage(1200, 300))
    else:
        reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "It left.", chat_usage(1200, 300)))
    api = openai_api(reply)
    completions = api.client.chat.completions

    async def scenario(api):
        if how == "with_streaming_response":
            manager = completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES)
            if api.asynchronous:
                async with manager as response:
                    return await response.parse()
            with manager as response:
                return response.parse()
        stream = {"stream": True, "stream_options": {"include_usage": True}} if how == "raw stream" else {}
        raw = await api(completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, **stream))
        assert openai_instrumented.spans() == []  # not parsed yet
        parsed = await api(raw.parse())
        return await api.items(parsed) if stream else parsed

    api.run(scenario)
    span = openai_instrumented.span()  # ended when parsed (or read), not when the response is collected
    attributes = span.attributes
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (1200, 300)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((1200 * INPUT + 300 * OUTPUT) / M)
    if how == "raw stream":
        assert attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


def test_responses_cached_input_is_read_whether_or_not_the_sdk_declares_it(openai_instrumented, openai_api):
    usage = responses_usage(1000, 100, cached=800)
    reply = response_object("gpt-4.1-mini-2025-04-14", [message_item("It left.")], usage)
    api = openai_api(json_reply(reply))
    if not hasattr(api.client, "responses"):
        pytest.skip("this openai release has no Responses API")

    async def scenario(api):
        return await api(api.client.responses.create(model="gpt-4.1-mini", input="Where is my parcel?"))

    api.run(scenario)
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 800
    # gpt-4.1-mini: input 0.4, cache read 0.1, output 1.6 USD per 1M tokens
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((200 * D("0.4") + 800 * D("0.1") + 100 * D("1.6")) / M)


@pytest.mark.parametrize("finish", ["length", "content_filter", "stop"])
def test_a_beta_parse_that_raises_after_its_request_ends_the_span_with_the_error(
    openai_instrumented, openai_api, finish
):
    # openai 1.40 to 1.49 parse after the request returned (later releases parse inside it): the span
    # ended as a success, without the LengthFinishReasonError / ContentFilterFinishReasonError the
    # program got. The answer was billed all the same.
    from pydantic import BaseModel

    class Parcel(BaseModel):
        status: str

    content = '{"status": "in transit"}' if finish == "stop" else '{"status": "in tr'
    reply = chat_completion("gpt-4o-mini-2024-07-18", content, chat_usage(150, 20), finish_reason=finish)
    api = openai_api(json_reply(reply))

    async def scenario(api):
        return await api(
            api.client.beta.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES, response_format=Parcel)
        )

    if finish == "stop":  # parsed: the span ends after parse(), as a success
        assert api.run(scenario).choices[0].message.parsed == Parcel(status="in transit")
        span = openai_instrumented.span()
        assert span.status.status_code is StatusCode.UNSET and sc.ERROR_TYPE not in span.attributes
    else:
        expected = "LengthFinishReasonError" if finish == "length" else "ContentFilterFinishReasonError"
        with pytest.raises(Exception) as raised:
            api.run(scenario)
        assert type(raised.value).__name__ == expected
        span = openai_instrumented.span()
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes[sc.ERROR_TYPE] == expected
    assert span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((150 * INPUT + 20 * OUTPUT) / M)


def test_an_error_event_mid_stream_names_the_providers_error_type(instrument_anthropic, telemetry, anthropic_api):
    text = [text_block("It left the depot today.")]
    message = claude_message("claude-sonnet-4-5-20250929", text, claude_usage(100, 50))
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    error_event = f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    body = sse(claude_events(message)[:5], named=True, done=False) + error_event
    reply = Reply(200, body, {"content-type": "text/event-stream; charset=utf-8"})
    instrument_anthropic()

    async def scenario(api):
        call = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": MESSAGES, "stream": True}
        return await api.items(await api(api.client.messages.create(**call)))

    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        anthropic_api(reply).run(scenario)
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "overloaded_error"
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100

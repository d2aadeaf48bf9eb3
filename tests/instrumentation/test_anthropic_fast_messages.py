"""fast_messages records the span the general path would, for every shape of a plain Messages call.

Each scenario runs twice through the real anthropic SDK: once as an application makes it (the
fast path takes it) and once with an observer of every call installed (the general path,
client._Tracker and core.LLMCall, takes it). The spans must be the same, attribute by attribute
and in the same order, and so must the metric points.
"""

from __future__ import annotations

import logging
from typing import Any

import anthropic
import pytest
from conftest import assert_estimated_outside_the_call
from opentelemetry.trace import StatusCode
from wire import (
    claude_error,
    claude_events,
    claude_message,
    claude_stream,
    claude_usage,
    json_reply,
    text_block,
    thinking_block,
    tool_use_block,
)

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import attributes as attribution
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.anthropic import fast_messages

# Tests name models the SDK warns about (claude-sonnet-4-5): they are the documented price cases.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

SONNET = "claude-sonnet-4-5-20250929"
SYSTEM = "You are the support agent for order 12345. Answer briefly."
USER = {"role": "user", "content": "Where is my parcel?"}
TRACK = {
    "name": "track_parcel",
    "description": "Where a parcel is",
    "input_schema": {"type": "object", "properties": {"order": {"type": "string"}}, "required": ["order"]},
}
NOTIFY = {"name": "notify", "input_schema": {"type": "object"}}
PARCEL_SCHEMA = {
    "type": "object",
    "properties": {"order": {"type": "string"}, "status": {"type": "string"}},
    "required": ["order", "status"],
    "additionalProperties": False,
}


def _call(**kwargs: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [USER], **kwargs}


def _message(content: list[dict[str, Any]] | None = None, usage: Any = "default", **kwargs: Any) -> Any:
    if usage == "default":
        usage = claude_usage(1500, 800, cache_read=1024)
    return json_reply(
        claude_message(kwargs.pop("model", SONNET), content or [text_block("It left the depot.")], usage, **kwargs)
    )


def _with_thinking_tokens(usage: dict[str, Any], thinking: int) -> dict[str, Any]:
    usage["output_tokens_details"] = {"thinking_tokens": thinking}
    return usage


# name -> (create() arguments, reply, client options). "via" in the options: "beta" calls
# client.beta.messages.create; "post" sends the body to client.post("/v1/messages") as it is:
# anthropic >= 1 dropped temperature, top_p and top_k from create() (they travel in extra_body
# there, the "sampling parameters in extra_body" scenario), older SDKs' create() and a client
# that posts a body carrying them send them in the body.
SCENARIOS: dict[str, tuple[dict[str, Any], Any, dict[str, Any]]] = {
    "system prompt": (_call(system=SYSTEM), _message(), {}),
    "cache read and 5m and 1h cache writes": (
        _call(
            system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
            messages=[{"role": "user", "content": [{"type": "text", "text": "Where is my parcel?"}]}],
        ),
        _message(usage=claude_usage(1500, 800, cache_read=20000, cache_5m=3000, cache_1h=1000)),
        {},
    ),
    "tools and tool_use blocks": (
        _call(system=SYSTEM, tools=[TRACK, NOTIFY]),
        _message(
            [
                text_block("Let me check."),
                tool_use_block("toolu_01A09q90qw90lq917835lq9", "track_parcel", {"order": "12345"}),
                tool_use_block("toolu_01B8zFtqLjVHHk3hKmA3D", "notify", {"channel": "email"}),
            ],
            claude_usage(400, 90),
            stop_reason="tool_use",
        ),
        {},
    ),
    "thinking and web search": (
        _call(
            max_tokens=4096,
            thinking={"type": "enabled", "budget_tokens": 2048},
            tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
        ),
        _message(
            [
                thinking_block("The user wants the parcel status; search the carrier site."),
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_01",
                    "name": "web_search",
                    "input": {"query": "parcel 12345"},
                },
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": []},
                text_block("It is out for delivery."),
            ],
            _with_thinking_tokens(claude_usage(3000, 1200, web_search=3), 700),
        ),
        {},
    ),
    "every request parameter": (
        _call(
            system=SYSTEM,
            max_tokens=256,
            temperature=0.2,
            top_p=0.9,
            top_k=40,
            stop_sequences=["\n\nHuman:", "END"],
            service_tier="auto",
            output_config={"format": {"type": "json_schema", "schema": PARCEL_SCHEMA}},
        ),
        _message(
            [text_block('{"order": "12345", "status": "at depot"}')],
            claude_usage(1000, 100, service_tier="priority"),
        ),
        {"via": "post"},
    ),
    "sampling parameters in extra_body": (
        _call(system=SYSTEM, extra_body={"temperature": 0.2, "top_k": 40, "top_p": 0.9}),
        _message(),
        {},
    ),
    "beta": (
        _call(system=SYSTEM, betas=["context-1m-2025-08-07"]),
        _message(usage=claude_usage(800, 60, cache_read=1000)),
        {"via": "beta"},
    ),
    "no usage reported (estimated)": (_call(system=SYSTEM, tools=[TRACK]), _message(usage=None), {}),
    "unknown model (unpriced)": (
        _call(model="claude-fable-5-2"),
        _message(model="claude-fable-5-2", usage=claude_usage(100, 20)),
        {},
    ),
    "Bedrock cross-region profile": (
        _call(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", system=SYSTEM),
        _message(usage=claude_usage(1000, 200, cache_read=4000)),
        {"platform": "bedrock"},
    ),
    "Bedrock with a guardrail": (
        _call(
            model="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            extra_headers={
                "X-Amzn-Bedrock-GuardrailIdentifier": "sgi5gkybzqak",
                "X-Amzn-Bedrock-GuardrailVersion": "1",
            },
        ),
        _message(usage=claude_usage(1000, 200)),
        {"platform": "bedrock"},
    ),
    "Bedrock application inference profile": (
        _call(model="arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"),
        _message(usage=claude_usage(1000, 200)),
        {"platform": "bedrock"},
    ),
    "Vertex": (
        _call(model="claude-sonnet-4-5@20250929", system=SYSTEM),
        _message(usage=claude_usage(1000, 200, cache_read=3000, cache_5m=500)),
        {"platform": "vertex"},
    ),
    "overloaded": (_call(system=SYSTEM), claude_error(529, "overloaded_error", "Overloaded"), {}),
    "rate limited": (
        _call(),
        claude_error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
        {},
    ),
}


@pytest.fixture
def fast_calls(fast_path_calls: Any) -> list[Any]:
    """The calls fast_messages ended."""
    return fast_path_calls(fast_messages)


def _record(anthropic_api: Any, telemetry: Any, body: dict[str, Any], reply: Any, options: dict[str, Any]) -> Any:
    telemetry.exporter.clear()
    options = dict(options)
    via = options.pop("via", None)

    async def scenario(api: Any) -> Any:
        with attribution(team="support", feature="order-status", customer="c-042"):
            try:
                if via == "post":
                    return await api(api.client.post("/v1/messages", body=body, cast_to=anthropic.types.Message))
                messages = api.client.beta.messages if via == "beta" else api.client.messages
                return await api(messages.create(**body))
            except anthropic.APIStatusError as error:  # the error scenarios: the SDK's error
                return error

    anthropic_api(reply, **options).run(scenario)
    [span] = telemetry.spans()
    return span


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_fast_path_records_the_general_paths_span(name, instrument_anthropic, telemetry, anthropic_api, both_ways):
    body, reply, options = SCENARIOS[name]
    instrument_anthropic()
    both_ways(fast_messages, lambda: _record(anthropic_api, telemetry, body, reply, options))


def test_the_scenarios_cover_what_the_fast_path_reads(instrument_anthropic, telemetry, anthropic_api):
    """The comparison above is only as good as its scenarios: each attribute the fast path writes
    appears in at least one, with the values the catalog and the wire say."""
    instrument_anthropic()
    seen: dict[str, Any] = {}
    for name, (body, reply, options) in SCENARIOS.items():
        span = _record(anthropic_api, telemetry, body, reply, options)
        seen.update({f"{name}: {key}": value for key, value in span.attributes.items()})
        if name in ("overloaded", "rate limited"):
            assert span.status.status_code is StatusCode.ERROR
            assert span.attributes[sc.ERROR_TYPE] == ("529" if name == "overloaded" else "429")
            assert sc.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    cache = "cache read and 5m and 1h cache writes"
    assert seen[f"{cache}: {sc.GEN_AI_USAGE_INPUT_TOKENS}"] == 1500 + 20000 + 3000 + 1000
    assert seen[f"{cache}: {sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS}"] == 20000
    assert seen[f"{cache}: {sc.LLMCOST_USAGE_CACHE_WRITE_5M_TOKENS}"] == 3000
    assert seen[f"{cache}: {sc.LLMCOST_USAGE_CACHE_WRITE_1H_TOKENS}"] == 1000
    # claude-sonnet-4-5: input 3, cache read 0.3, 5m write 3.75, 1h write 6, output 15 USD per 1M tokens
    assert seen[f"{cache}: {sc.GEN_AI_USAGE_COST_AMOUNT}"] == pytest.approx(0.03975, abs=1e-15)
    assert seen[f"system prompt: {sc.LLMCOST_TEAM}"] == "support"
    assert seen[f"system prompt: {sc.LLMCOST_CUSTOMER}"] == "c-042"
    assert seen[f"system prompt: {sc.SERVER_ADDRESS}"] == "api.anthropic.com"
    assert seen[f"system prompt: {sc.ANTHROPIC_SDK_RESPONSE_SERVICE_TIER}"] == "standard"
    assert seen[f"tools and tool_use blocks: {sc.LLMCOST_TOOL_CALLS_NAMES}"] == ("track_parcel", "notify")
    assert seen[f"tools and tool_use blocks: {sc.GEN_AI_RESPONSE_FINISH_REASONS}"] == ("tool_use",)
    assert seen[f"thinking and web search: {sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS}"] == 700
    assert seen[f"thinking and web search: {sc.LLMCOST_USAGE_WEB_SEARCH_REQUESTS}"] == 3
    parameters = {
        sc.GEN_AI_REQUEST_MAX_TOKENS: 256,
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.2,
        sc.GEN_AI_REQUEST_TOP_K: 40,
        sc.GEN_AI_REQUEST_TOP_P: 0.9,
        sc.GEN_AI_REQUEST_STOP_SEQUENCES: ("\n\nHuman:", "END"),
        sc.ANTHROPIC_SDK_REQUEST_SERVICE_TIER: "auto",
        sc.GEN_AI_OUTPUT_TYPE: "json",
        sc.ANTHROPIC_SDK_RESPONSE_SERVICE_TIER: "priority",
    }
    assert {key: seen[f"every request parameter: {key}"] for key in parameters} == parameters
    extra = "sampling parameters in extra_body"
    assert [seen[f"{extra}: {key}"] for key in (sc.GEN_AI_REQUEST_TEMPERATURE, sc.GEN_AI_REQUEST_TOP_K)] == [0.2, 40]
    assert seen["no usage reported (estimated): llmcost.tokens.estimated"] is True
    assert seen["unknown model (unpriced): llmcost.cost.unpriced"] is True
    bedrock = "Bedrock cross-region profile"
    assert seen[f"{bedrock}: {sc.GEN_AI_PROVIDER_NAME}"] == "aws.bedrock"
    assert seen[f"{bedrock}: {sc.GEN_AI_RESPONSE_MODEL}"] == SONNET
    assert seen[f"{bedrock}: {sc.LLMCOST_PRICING_ENTRY}"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert seen[f"Bedrock with a guardrail: {sc.AWS_BEDROCK_GUARDRAIL_ID}"] == "sgi5gkybzqak"
    assert not any(key.endswith(sc.AWS_BEDROCK_GUARDRAIL_ID) for key in seen if not key.startswith("Bedrock with"))
    # An ARN names no price: the model the response names prices the call.
    arn = "Bedrock application inference profile"
    assert seen[f"{arn}: {sc.GEN_AI_RESPONSE_MODEL}"] == SONNET
    assert seen[f"{arn}: {sc.LLMCOST_PRICING_ENTRY}"] == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert seen[f"beta: {sc.GEN_AI_USAGE_INPUT_TOKENS}"] == 1800
    assert seen[f"Vertex: {sc.GEN_AI_PROVIDER_NAME}"] == "gcp.vertex_ai"
    assert seen[f"Vertex: {sc.LLMCOST_PRICING_ENTRY}"] == "vertex_ai/claude-sonnet-4-5@20250929"


def test_the_general_path_takes_every_other_call(instrument_anthropic, telemetry, anthropic_api, fast_calls):
    reply = _message()
    streamed = claude_stream(
        claude_events(
            claude_message(SONNET, [text_block("It left the depot.")], claude_usage(1500, 800, cache_read=1024))
        )
    )
    instrument_anthropic()

    async def variants(api: Any) -> None:
        messages = api.client.messages
        raw = await api(messages.with_raw_response.create(**_call()))
        await api(raw.parse())
        await api.items(await api(messages.create(**_call(), stream=True)))
        await api(messages.parse(**_call()))
        if api.asynchronous:
            async with messages.stream(**_call()) as stream:
                await stream.get_final_message()
        else:
            with messages.stream(**_call()) as stream:
                stream.get_final_message()

    anthropic_api(reply, streamed, reply, streamed).run(variants)
    assert fast_calls == []
    spans = telemetry.spans()
    assert len(spans) == 4
    assert all(span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1500 + 1024 for span in spans)


def test_a_bug_in_the_fast_paths_end_never_reaches_the_user(
    instrument_anthropic, telemetry, anthropic_api, monkeypatch, caplog
):
    monkeypatch.setattr(core, "_logged", set())

    def broken(fields: Any) -> Any:
        raise RuntimeError("usage reader bug")

    monkeypatch.setattr(fast_messages.messages, "usage_of_fields", broken)
    instrument_anthropic()
    reply = _message()

    async def twice(api: Any) -> list[Any]:
        return [await api(api.client.messages.create(**_call(system=SYSTEM))) for _ in range(2)]

    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        results = anthropic_api(reply, reply).run(twice)

    assert [result.usage.input_tokens for result in results] == [1500, 1500]
    assert [result.content[0].text for result in results] == ["It left the depot."] * 2
    ours = [record for record in caplog.records if record.name.startswith("otel_llmcost")]
    assert len(ours) == 1 and "usage reader bug" in ours[0].exc_text
    spans = telemetry.spans()
    assert len(spans) == 2 and all(span.end_time for span in spans)  # ended, without the usage
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in spans[0].attributes


def test_a_bug_in_the_fast_paths_start_leaves_the_call_to_the_general_path(
    instrument_anthropic, telemetry, anthropic_api, monkeypatch, caplog, fast_calls
):
    monkeypatch.setattr(core, "_logged", set())

    def broken(*args: Any) -> Any:
        raise KeyError("attribution bug")

    monkeypatch.setattr(fast_messages, "current_attributes", broken)
    instrument_anthropic()
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        result = anthropic_api(_message()).run(lambda api: api(api.client.messages.create(**_call())))

    assert result.content[0].text == "It left the depot."
    assert fast_calls == []
    assert telemetry.span().attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1500 + 1024
    ours = [record for record in caplog.records if record.name.startswith("otel_llmcost")]
    assert len(ours) == 1 and "attribution bug" in ours[0].exc_text


def test_the_time_spent_estimating_is_not_the_calls(
    instrument_anthropic, telemetry, anthropic_api, slow_estimates, fast_calls
):
    # A message without usage (a proxy that strips it): the fast path estimates it, and the first estimate
    # in a process loads the encoding (~0.4 s). That is our time, not the call's: neither the span nor
    # the duration has it, as on the general path.
    instrument_anthropic()

    async def scenario(api: Any) -> Any:
        return await api(api.client.messages.create(**_call(system=SYSTEM)))

    anthropic_api(_message(usage=None)).run(scenario)

    assert len(fast_calls) == 1
    assert_estimated_outside_the_call(telemetry, slow_estimates)

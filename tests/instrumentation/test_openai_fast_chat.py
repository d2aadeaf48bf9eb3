"""fast_chat records the span the general path would, for every shape of a plain chat call.

Each scenario runs twice through the real openai SDK: once as an application makes it (the
fast path takes it) and once with an observer of every call installed (the general path,
client._Tracker and core.LLMCall, takes it). The spans must be the same, attribute by attribute
and in the same order, and so must the metric points.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from conftest import assert_estimated_outside_the_call
from opentelemetry.trace import StatusCode
from wire import chat_completion, chat_stream, chat_usage, error_reply, json_reply, tool_call

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import attributes as attribution
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.openai import fast_chat

SYSTEM = {"role": "system", "content": "You are the support agent for order 12345."}
USER = {"role": "user", "content": "Where is my parcel?"}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _completion(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("usage", chat_usage(1200, 300, cached=1024))
    return chat_completion(
        kwargs.pop("model", "gpt-4o-mini-2024-07-18"), kwargs.pop("content", "On its way."), **kwargs
    )


# name -> (request body, reply, client options)
SCENARIOS: dict[str, tuple[dict[str, Any], Any, dict[str, Any]]] = {
    "cached input": ({"model": "gpt-4o-mini", "messages": [SYSTEM, USER]}, json_reply(_completion()), {}),
    "every request parameter": (
        {
            "model": "gpt-4o-mini",
            "messages": [SYSTEM, USER],
            "temperature": 0.2,
            "top_p": 0.9,
            "frequency_penalty": 0.5,
            "presence_penalty": -0.5,
            "seed": 7,
            "n": 1,
            "stop": ["\n\n", "END"],
            "max_tokens": 64,
            "max_completion_tokens": 256,
            "response_format": {"type": "json_object"},
        },
        json_reply(_completion(content='{"status": "shipped"}')),
        {},
    ),
    "flex tier and reasoning": (
        {"model": "o4-mini", "messages": [USER], "service_tier": "flex", "reasoning_effort": "high"},
        json_reply(
            _completion(model="o4-mini-2025-04-16", usage=chat_usage(900, 2400, reasoning=2048), service_tier="flex")
        ),
        {},
    ),
    "extra_body": (
        {"model": "gpt-4o-mini", "messages": [USER], "extra_body": {"temperature": 0.3, "service_tier": "priority"}},
        json_reply(_completion(service_tier=None)),
        {},
    ),
    "priority tier asked, none reported": (
        {"model": "gpt-4o-mini", "messages": [USER], "service_tier": "priority"},
        json_reply(_completion(service_tier=None)),
        {},
    ),
    "tools, parts and tool calls": (
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "developer", "content": [{"type": "text", "text": "Use tools for weather."}]},
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Oslo?"}]},
            ],
            "tools": [WEATHER_TOOL],
        },
        json_reply(
            _completion(
                content=None,
                finish_reason="tool_calls",
                tool_calls=[
                    tool_call("call_a1", "get_weather", {"city": "Paris"}),
                    tool_call("call_b2", "get_weather", {"city": "Oslo"}),
                ],
            )
        ),
        {},
    ),
    "no usage reported (estimated)": (
        {"model": "gpt-4o-mini", "messages": [SYSTEM, USER]},
        json_reply(_completion(usage=None)),
        {},
    ),
    "unknown model (unpriced)": (
        {"model": "acme-llm-7", "messages": [USER]},
        json_reply(_completion(model="acme-llm-7")),
        {},
    ),
    "Azure deployment": (
        {"model": "support-4o-mini", "messages": [SYSTEM, USER]},
        json_reply(_completion()),
        {"azure": True, "azure_endpoint": "https://contoso-eastus.openai.azure.com"},
    ),
    "compatible server": (
        {"model": "deepseek-chat", "messages": [USER]},
        json_reply(_completion(model="deepseek-chat", service_tier=None)),
        {"base_url": "https://api.deepseek.com/v1"},
    ),
    "details sent as [] (a compatible server)": (
        {"model": "gpt-4o-mini", "messages": [USER]},
        json_reply(
            _completion(
                usage={**chat_usage(1200, 300), "prompt_tokens_details": [], "completion_tokens_details": []}
            )
        ),
        {"base_url": "http://localhost:8000/v1"},
    ),
    "usage without counts (a compatible server's nulls)": (
        {"model": "gpt-4o-mini", "messages": [USER]},
        json_reply(_completion(usage={"prompt_tokens": None, "completion_tokens": None, "total_tokens": None})),
        {"base_url": "http://localhost:8000/v1"},
    ),
    "rate limited": (
        {"model": "gpt-4o-mini", "messages": [USER]},
        error_reply(429, "Rate limit reached for gpt-4o-mini.", "rate_limit_exceeded", code="rate_limit_exceeded"),
        {},
    ),
}


@pytest.fixture
def fast_calls(fast_path_calls: Any) -> list[Any]:
    """The calls fast_chat ended."""
    return fast_path_calls(fast_chat)


def _record(openai_api: Any, telemetry: Any, body: dict[str, Any], reply: Any, options: dict[str, Any]) -> Any:
    telemetry.exporter.clear()

    async def scenario(api: Any) -> Any:
        with attribution(team="support", feature="order-status", customer="c-042"):
            try:
                return await api(api.client.chat.completions.create(**body))
            except Exception as error:  # the rate-limited scenario: the SDK's error
                return error

    openai_api(reply, **options).run(scenario)
    [span] = telemetry.spans()
    return span


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_fast_path_records_the_general_paths_span(name, instrument_openai, telemetry, openai_api, both_ways):
    body, reply, options = SCENARIOS[name]
    instrument_openai()
    both_ways(fast_chat, lambda: _record(openai_api, telemetry, body, reply, options))


def test_the_scenarios_cover_what_the_fast_path_reads(instrument_openai, telemetry, openai_api):
    """The comparison above is only as good as its scenarios: each attribute the fast path writes
    appears in at least one, with the values the catalog and the wire say."""
    instrument_openai()
    seen: dict[str, Any] = {}
    for name, (body, reply, options) in SCENARIOS.items():
        span = _record(openai_api, telemetry, body, reply, options)
        seen.update({f"{name}: {key}": value for key, value in span.attributes.items()})
        if name == "rate limited":
            assert span.status.status_code is StatusCode.ERROR
            assert span.attributes[sc.ERROR_TYPE] == "429"
    assert seen["flex tier and reasoning: gen_ai.usage.reasoning.output_tokens"] == 2048
    assert seen["flex tier and reasoning: llmcost.pricing.tier"] == "flex"
    assert seen["priority tier asked, none reported: llmcost.pricing.tier"] == "priority"
    assert seen[f"extra_body: {sc.GEN_AI_REQUEST_TEMPERATURE}"] == 0.3
    assert seen[f"extra_body: {sc.LLMCOST_PRICING_TIER}"] == "priority"
    assert seen["tools, parts and tool calls: llmcost.tool_calls.names"] == ("get_weather", "get_weather")
    assert seen["no usage reported (estimated): llmcost.tokens.estimated"] is True
    assert seen["unknown model (unpriced): llmcost.cost.unpriced"] is True
    assert seen["Azure deployment: gen_ai.provider.name"] == "azure.ai.openai"
    # details a compatible server sent as [] are read as none: the usage and its cost stay exact
    assert seen["details sent as [] (a compatible server): gen_ai.usage.input_tokens"] == 1200
    assert seen[f"details sent as [] (a compatible server): {sc.GEN_AI_USAGE_COST_AMOUNT}"] == pytest.approx(
        0.00036, abs=1e-15
    )
    assert seen["compatible server: gen_ai.provider.name"] == "deepseek"
    assert seen["every request parameter: gen_ai.request.max_tokens"] == 256
    assert seen["every request parameter: gen_ai.output.type"] == "json"
    assert seen[f"cached input: {sc.LLMCOST_TEAM}"] == "support"
    assert seen[f"cached input: {sc.LLMCOST_CUSTOMER}"] == "c-042"
    # gpt-4o-mini: 176 uncached input at 0.15, 1,024 cached at 0.075 and 300 output at 0.60 USD per 1M tokens
    assert seen[f"cached input: {sc.GEN_AI_USAGE_COST_AMOUNT}"] == pytest.approx(0.0002832, abs=1e-15)


def test_the_general_path_takes_every_other_call(instrument_openai, telemetry, openai_api, fast_calls):
    body = {"model": "gpt-4o-mini", "messages": [USER]}
    reply = json_reply(_completion())
    instrument_openai()

    async def variants(api: Any) -> None:
        completions = api.client.chat.completions
        raw = await api(completions.with_raw_response.create(**body))
        raw.parse()
        await api(completions.parse(**body))
        await api.items(await api(completions.create(**body, stream=True)))

    streamed = chat_stream("gpt-4o-mini-2024-07-18", ["On", " its way."], chat_usage(1200, 300, cached=1024))
    openai_api(reply, reply, streamed).run(variants)
    assert fast_calls == []
    assert len(telemetry.spans()) == 3
    assert all(span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1200 for span in telemetry.spans())


def test_a_bug_in_the_fast_paths_end_never_reaches_the_user(
    instrument_openai, telemetry, openai_api, monkeypatch, caplog
):
    monkeypatch.setattr(core, "_logged", set())

    def broken(usage: Any) -> Any:
        raise RuntimeError("usage reader bug")

    monkeypatch.setattr(fast_chat.chat, "usage_of", broken)
    instrument_openai()
    reply = json_reply(_completion())
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        results = openai_api(reply, reply).run(
            lambda api: _twice(api, {"model": "gpt-4o-mini", "messages": [SYSTEM, USER]})
        )

    assert [result.usage.prompt_tokens for result in results] == [1200, 1200]
    ours = [record for record in caplog.records if record.name.startswith("otel_llmcost")]
    assert len(ours) == 1 and "usage reader bug" in ours[0].exc_text
    spans = telemetry.spans()
    assert len(spans) == 2 and all(span.end_time for span in spans)  # ended, without the usage
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in spans[0].attributes


def test_a_bug_in_the_fast_paths_start_leaves_the_call_to_the_general_path(
    instrument_openai, telemetry, openai_api, monkeypatch, caplog, fast_calls
):
    monkeypatch.setattr(core, "_logged", set())

    def broken(*args: Any) -> Any:
        raise KeyError("attribution bug")

    monkeypatch.setattr(fast_chat, "current_attributes", broken)
    instrument_openai()
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        result = openai_api(json_reply(_completion())).run(
            lambda api: api(api.client.chat.completions.create(model="gpt-4o-mini", messages=[USER]))
        )

    assert result.choices[0].message.content == "On its way."
    assert fast_calls == []
    assert telemetry.span().attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1200
    ours = [record for record in caplog.records if record.name.startswith("otel_llmcost")]
    assert len(ours) == 1 and "attribution bug" in ours[0].exc_text


async def _twice(api: Any, body: dict[str, Any]) -> list[Any]:
    return [await api(api.client.chat.completions.create(**body)) for _ in range(2)]


def test_the_time_spent_estimating_is_not_the_calls(
    instrument_openai, telemetry, openai_api, slow_estimates, fast_calls
):
    # A compatible server that sends no usage: the fast path estimates it, and the first estimate in a
    # process loads the encoding (~0.4 s). That is our time, not the call's: neither the span nor the
    # duration has it, as on the general path.
    instrument_openai()
    reply = json_reply(chat_completion("llama-3.1-8b", "It left the depot.", None))
    api = openai_api(reply, base_url="http://localhost:8000/v1")

    async def scenario(api: Any) -> Any:
        return await api(api.client.chat.completions.create(model="llama-3.1-8b", messages=[SYSTEM, USER]))

    api.run(scenario)

    assert len(fast_calls) == 1
    assert_estimated_outside_the_call(telemetry, slow_estimates)

"""Messages calls through the real anthropic SDK (Anthropic, Bedrock and Vertex clients, beta
included): span attributes, usage normalisation and exact costs hand-computed from the
catalog's per-1M prices."""

from __future__ import annotations

import json
import logging
from decimal import Decimal as D

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from wire import (
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
from otel_llmcost.pricing import cost as pricing_cost

# Tests name models the SDK warns about (claude-3-5-haiku, claude-sonnet-4-5): they are the documented price cases.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

M = D(1_000_000)
SONNET = "claude-sonnet-4-5-20250929"
SYSTEM = "You are the support agent for order 12345. Answer briefly."
MESSAGES = [{"role": "user", "content": "Where is my parcel?"}]
TRACK = {
    "name": "track_parcel",
    "description": "Where a parcel is",
    "input_schema": {"type": "object", "properties": {"order": {"type": "string"}}, "required": ["order"]},
}


def create(**kwargs):
    async def scenario(api):
        call = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": MESSAGES, **kwargs}
        return await api(api.client.messages.create(**call))

    return scenario


def attributes_of(telemetry):
    return dict(telemetry.span().attributes)


def cost_of(attributes):
    return {
        key: value
        for key, value in attributes.items()
        if key.startswith(("gen_ai.usage.cost", "llmcost.cost", "llmcost.pricing"))
    }


def test_cache_reads_and_5m_and_1h_cache_writes_are_priced_apart(anthropic_instrumented, anthropic_api):
    usage = claude_usage(1500, 800, cache_read=20000, cache_5m=3000, cache_1h=1000)
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("It left the depot.")], usage)))
    # anthropic 2.x dropped the sampling parameters from create(); older models still take them as extra body.
    api.run(create(system=SYSTEM, stop_sequences=["\n\nHuman:"], extra_body={"temperature": 0.2, "top_k": 40}))

    span = anthropic_instrumented.span()
    assert span.name == "chat claude-sonnet-4-5"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes)
    # claude-sonnet-4-5: input 3, cache read 0.3, 5m write 3.75, 1h write 6, output 15 USD per 1M tokens
    uncached, cached = D(1500) * 3 / M, D(20000) * D("0.3") / M
    writes, output = (D(3000) * D("3.75") + D(1000) * 6) / M, D(800) * 15 / M
    assert cost_of(attributes) == {
        sc.GEN_AI_USAGE_COST_AMOUNT: float(uncached + cached + writes + output),
        sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
        sc.GEN_AI_USAGE_COST_SOURCE: "local",
        sc.LLMCOST_COST_INPUT: float(uncached),
        sc.LLMCOST_COST_CACHE_READ: float(cached),
        sc.LLMCOST_COST_CACHE_WRITE: float(writes),
        sc.LLMCOST_COST_OUTPUT: float(output),
        sc.LLMCOST_COST_REASONING: 0.0,
        sc.LLMCOST_COST_REQUEST_FEES: 0.0,
        sc.LLMCOST_PRICING_ENTRY: SONNET,
        sc.LLMCOST_PRICING_DATE: attributes[sc.LLMCOST_PRICING_DATE],
        sc.LLMCOST_PRICING_TIER: "standard",
        sc.LLMCOST_PRICING_LONG_CONTEXT: False,
    }
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D("0.03975"))
    # Anthropic's input_tokens excludes the cache; the semconv input is the sum.
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1500 + 20000 + 3000 + 1000
    assert attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 20000
    assert attributes[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 4000
    assert attributes[sc.LLMCOST_USAGE_CACHE_WRITE_5M_TOKENS] == 3000
    assert attributes[sc.LLMCOST_USAGE_CACHE_WRITE_1H_TOKENS] == 1000
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 800
    assert attributes[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "claude-sonnet-4-5"
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == SONNET
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 1024
    assert attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    # top_k is a whole number in Anthropic's API and a double in the semconv
    assert (attributes[sc.GEN_AI_REQUEST_TOP_K], type(attributes[sc.GEN_AI_REQUEST_TOP_K])) == (40.0, float)
    assert type(attributes[sc.GEN_AI_REQUEST_MAX_TOKENS]) is int
    assert attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("\n\nHuman:",)
    assert attributes[sc.ANTHROPIC_SDK_RESPONSE_SERVICE_TIER] == "standard"
    assert attributes[sc.SERVER_ADDRESS] == "api.anthropic.com"
    assert attributes[sc.SERVER_PORT] == 443
    assert len(attributes[sc.LLMCOST_PROMPT_FINGERPRINT]) == 16
    assert sc.GEN_AI_REQUEST_STREAM not in attributes
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert sc.LLMCOST_TOOL_CALLS_COUNT not in attributes
    assert span.status.status_code is StatusCode.UNSET


def test_a_cache_write_total_without_the_ttl_split_is_a_5m_write(anthropic_instrumented, anthropic_api):
    usage = claude_usage(200, 100, cache_5m=5000, split=False)
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("Done.")], usage)))
    api.run(create())

    attributes = attributes_of(anthropic_instrumented)
    assert attributes[sc.LLMCOST_USAGE_CACHE_WRITE_5M_TOKENS] == 5000
    assert sc.LLMCOST_USAGE_CACHE_WRITE_1H_TOKENS not in attributes
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5200
    assert attributes[sc.LLMCOST_COST_CACHE_WRITE] == float(D(5000) * D("3.75") / M)
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(200) * 3 + D(5000) * D("3.75") + D(100) * 15) / M)


def test_past_200k_input_tokens_the_whole_call_is_billed_at_long_context_rates(anthropic_instrumented, anthropic_api):
    # 150,000 uncached + 55,000 cache read + 1,000 1h write = 206,000 input tokens, over the 200k threshold
    usage = claude_usage(150_000, 2_000, cache_read=55_000, cache_1h=1_000)
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("Summary: ...")], usage)))
    api.run(create())

    attributes = attributes_of(anthropic_instrumented)
    # claude-sonnet-4-5 above 200k: input 6, cache read 0.6, 1h write 12, output 22.5 USD per 1M tokens
    expected = (D(150_000) * 6 + D(55_000) * D("0.6") + D(1_000) * 12 + D(2_000) * D("22.5")) / M
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 206_000
    assert attributes[sc.LLMCOST_PRICING_LONG_CONTEXT] is True
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(expected)
    assert attributes[sc.LLMCOST_COST_OUTPUT] == float(D(2_000) * D("22.5") / M)


def test_web_searches_are_billed_per_request_and_thinking_is_reasoning_output(anthropic_instrumented, anthropic_api):
    usage = claude_usage(3000, 1200, web_search=3)
    usage["output_tokens_details"] = {"thinking_tokens": 700}
    content = [
        thinking_block("The user wants the parcel status; search the carrier site."),
        {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "parcel 12345"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": []},
        text_block("It is out for delivery."),
    ]
    api = anthropic_api(json_reply(claude_message(SONNET, content, usage)))
    api.run(create(tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]))

    attributes = attributes_of(anthropic_instrumented)
    # web search: 10 USD per 1,000 requests; thinking is billed as output
    assert attributes[sc.LLMCOST_USAGE_WEB_SEARCH_REQUESTS] == 3
    assert attributes[sc.LLMCOST_COST_REQUEST_FEES] == float(D(3) * 10 / 1000)
    assert attributes[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 700
    assert attributes[sc.LLMCOST_COST_REASONING] == float(D(700) * 15 / M)
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(3000) * 3 + D(1200) * 15) / M + D(3) * 10 / 1000)
    assert sc.LLMCOST_TOOL_CALLS_COUNT not in attributes  # web search runs at Anthropic, not in the app


def test_tool_use_blocks_are_the_calls_the_app_must_run(anthropic_instrumented, anthropic_api):
    content = [
        text_block("Let me check."),
        tool_use_block("toolu_01A09q90qw90lq917835lq9", "track_parcel", {"order": "12345"}),
        tool_use_block("toolu_01B8zFtqLjVHHk3hKmA3D", "notify", {"channel": "email"}),
    ]
    reply = claude_message(SONNET, content, claude_usage(400, 90), stop_reason="tool_use")
    api = anthropic_api(json_reply(reply))
    api.run(create(tools=[TRACK, {"name": "notify", "input_schema": {"type": "object"}}]))

    attributes = attributes_of(anthropic_instrumented)
    assert attributes[sc.LLMCOST_TOOL_CALLS_COUNT] == 2
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("track_parcel", "notify")
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("toolu_01A09q90qw90lq917835lq9", "toolu_01B8zFtqLjVHHk3hKmA3D")
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)


def test_a_dated_model_id_is_priced(anthropic_instrumented, anthropic_api):
    model = "claude-3-5-haiku-20241022"
    api = anthropic_api(json_reply(claude_message(model, [text_block("Hi")], claude_usage(1000, 100, cache_read=2000))))
    api.run(create(model=model))

    attributes = attributes_of(anthropic_instrumented)
    # claude-3-5-haiku-20241022: input 0.8, cache read 0.08, output 4 USD per 1M tokens
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == model
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(1000) * D("0.8") + D(2000) * D("0.08") + D(100) * 4) / M)


def test_the_priority_tier_the_usage_reports_is_recorded(anthropic_instrumented, anthropic_api):
    usage = claude_usage(1000, 100, service_tier="priority")
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("Hi")], usage)))
    api.run(create(service_tier="auto"))

    attributes = attributes_of(anthropic_instrumented)
    assert attributes[sc.ANTHROPIC_SDK_REQUEST_SERVICE_TIER] == "auto"
    assert attributes[sc.ANTHROPIC_SDK_RESPONSE_SERVICE_TIER] == "priority"
    # The catalog lists no priority price for this model: the standard one applies (with a warning).
    assert attributes[sc.LLMCOST_PRICING_TIER] == "standard"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(1000) * 3 + D(100) * 15) / M)


def test_bedrock_is_priced_by_the_model_id_the_request_named(anthropic_instrumented, anthropic_api):
    model = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    reply = claude_message("claude-3-5-sonnet-20241022", [text_block("Hi")], claude_usage(1000, 200, cache_read=4000))
    api = anthropic_api(json_reply(reply), platform="bedrock")
    api.run(create(model=model))

    attributes = attributes_of(anthropic_instrumented)
    assert api.wire.requests[0].url.path == f"/model/{model}/invoke"
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert attributes[sc.SERVER_ADDRESS] == "bedrock-runtime.us-east-1.amazonaws.com"
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == model
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "claude-3-5-sonnet-20241022"
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == model
    # Bedrock anthropic.claude-3-5-sonnet-20241022-v2:0: input 3, cache read 0.3, output 15 USD per 1M tokens
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(1000) * 3 + D(4000) * D("0.3") + D(200) * 15) / M)
    # the metrics name the model that answered too, as the span does (not the id that priced the call)
    names = (sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE, sc.METRIC_COST)
    points = [point for name in names for point in anthropic_instrumented.metric_points(name)]
    assert len(points) == 4
    assert {point.attributes[sc.GEN_AI_RESPONSE_MODEL] for point in points} == {"claude-3-5-sonnet-20241022"}
    assert {point.attributes[sc.GEN_AI_REQUEST_MODEL] for point in points} == {model}


PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.mark.parametrize(
    "model",
    [PROFILE, f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{PROFILE}"],
    ids=["profile id", "profile ARN"],
)
def test_a_bedrock_cross_region_profile_costs_what_the_profile_costs(anthropic_instrumented, anthropic_api, model):
    api = anthropic_api(
        json_reply(claude_message(SONNET, [text_block("Hi")], claude_usage(1000, 200))), platform="bedrock"
    )
    api.run(create(model=model))

    attributes = attributes_of(anthropic_instrumented)
    # The US profile: input 3.3, output 16.5 USD per 1M tokens (the bare model the response names: 3 and 15)
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == model
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == PROFILE
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(1000) * D("3.3") + D(200) * D("16.5")) / M)


def test_vertex(anthropic_instrumented, anthropic_api):
    model = "claude-sonnet-4-5@20250929"
    usage = claude_usage(1000, 200, cache_read=3000, cache_5m=500)
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("Hi")], usage)), platform="vertex")
    api.run(create(model=model))

    attributes = attributes_of(anthropic_instrumented)
    assert api.wire.requests[0].url.path.endswith(f"/publishers/anthropic/models/{model}:rawPredict")
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "gcp.vertex_ai"
    assert attributes[sc.SERVER_ADDRESS] == "us-east5-aiplatform.googleapis.com"
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == "vertex_ai/claude-sonnet-4-5@20250929"
    # Vertex claude-sonnet-4-5: input 3, cache read 0.3, 5m write 3.75, output 15 USD per 1M tokens
    expected = (D(1000) * 3 + D(3000) * D("0.3") + D(500) * D("3.75") + D(200) * 15) / M
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(expected)


@pytest.mark.parametrize("raw", [False, True], ids=["fast path", "general path"])
def test_a_regional_vertex_endpoints_premium_is_said_once_per_model(
    anthropic_instrumented, anthropic_api, caplog, monkeypatch, raw
):
    # From Claude Sonnet 4.5 on, a regional Vertex endpoint bills 10% over the global one, which the sources do
    # not list: priced at the global rates, said once per model. Older models, and the global endpoint, say nothing.
    from otel_llmcost.instrumentation import core

    monkeypatch.setattr(core, "_logged", set())
    reply = json_reply(claude_message(SONNET, [text_block("Hi")], claude_usage(1000, 200)))

    def call(model):
        async def scenario(api):
            request = {"model": model, "max_tokens": 1024, "messages": MESSAGES}
            if raw:
                return await api((await api(api.client.messages.with_raw_response.create(**request))).parse())
            return await api(api.client.messages.create(**request))

        return scenario

    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        regional = anthropic_api(reply, reply, reply, platform="vertex")  # us-east5
        regional.run(call("claude-sonnet-4-5@20250929"))
        regional.run(call("claude-sonnet-4-5@20250929"))
        regional.run(call("claude-sonnet-4@20250514"))
        anthropic_api(reply, platform="vertex", region="global").run(call("claude-haiku-4-5@20251001"))

    said = [record.getMessage() for record in caplog.records if "regional endpoint" in record.getMessage()]
    assert said == [
        "otel-llmcost: Claude calls to claude-sonnet-4-5@20250929 on Vertex AI's regional endpoint "
        "(us-east5-aiplatform.googleapis.com) cost 10% more than on the global endpoint, a premium the catalog's "
        "sources do not list: their spans are priced at the global rates, understated by it"
    ]
    spans = anthropic_instrumented.spans()
    assert spans[-1].attributes[sc.SERVER_ADDRESS] == "aiplatform.googleapis.com"
    assert spans[0].attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(1000) * 3 + D(200) * 15) / M)


def test_claude_on_microsoft_foundry_is_azures_call_at_anthropics_price(anthropic_instrumented, anthropic_api):
    # Billed by Azure at Anthropic's list price: an Azure discount holds for it, an Anthropic one does not
    # (the SDK names its provider anthropic). The request's model may be a deployment's name.
    import anthropic

    if not hasattr(anthropic, "AnthropicFoundry"):
        pytest.skip("this anthropic release has no AnthropicFoundry")
    from otel_llmcost.pricing import clear_overrides, set_price

    set_price(None, provider="azure", discount=10)
    set_price(None, provider="anthropic", discount=50)
    try:
        reply = claude_message(SONNET, [text_block("Hi")], claude_usage(100_000, 1000))
        api = anthropic_api(json_reply(reply), platform="foundry")
        api.run(create(model="claude-sonnet-4-5-acme"))
    finally:
        clear_overrides()

    attributes = attributes_of(anthropic_instrumented)
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "azure.ai.inference"
    assert attributes[sc.SERVER_ADDRESS] == "acme.services.ai.azure.com"
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == SONNET
    # claude-sonnet-4-5: $3 input, $15 output per 1M, less Azure's 10%
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((100_000 * D(3) + 1000 * D(15)) * D("0.9") / M)


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        ("https://api.deepseek.com/anthropic", "deepseek"),  # DeepSeek's Anthropic-compatible API
        ("https://llm-proxy.internal", "anthropic"),  # a proxy in front of Anthropic's API
        ("https://acme.services.ai.azure.com/anthropic", "azure.ai.inference"),  # Claude on Foundry
    ],
)
def test_the_plain_client_on_another_host_is_named_by_it(anthropic_instrumented, anthropic_api, base_url, provider):
    # It was anthropic whatever the host: a DeepSeek call got Anthropic's discounts and not DeepSeek's
    from otel_llmcost.pricing import clear_overrides, set_price

    set_price(None, provider=provider, discount=50)
    try:
        reply = claude_message("deepseek-chat", [text_block("Hi")], claude_usage(1_000_000, 0))
        anthropic_api(json_reply(reply), base_url=base_url).run(create(model="deepseek-chat"))
    finally:
        clear_overrides()

    attributes = attributes_of(anthropic_instrumented)
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == provider
    if provider == "deepseek":  # DeepSeek's $0.28 per 1M input, halved
        assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == 0.14


def test_clients_sharing_a_url_object_keep_their_own_provider(anthropic_instrumented, anthropic_api):
    # The client's class names the provider: one given a Foundry client's URL object (the base_url setter
    # keeps the object; here a gateway's, whose host names no provider) is still Anthropic's.
    import anthropic

    if not hasattr(anthropic, "AnthropicFoundry"):
        pytest.skip("this anthropic release has no AnthropicFoundry")
    reply = json_reply(claude_message(SONNET, [text_block("Hi")], claude_usage(1000, 100)))
    foundry = anthropic_api(reply, reply, platform="foundry", base_url="https://llm-gateway.example.com/anthropic")
    direct = anthropic_api(reply)
    direct.client.base_url = foundry.client.base_url
    assert direct.client._base_url is foundry.client._base_url
    for api in (foundry, direct, foundry):
        api.run(create(model=SONNET))

    providers = [span.attributes[sc.GEN_AI_PROVIDER_NAME] for span in anthropic_instrumented.spans()]
    assert providers == ["azure.ai.inference", "anthropic", "azure.ai.inference"]


def test_an_unknown_model_is_flagged_unpriced_with_one_warning(
    anthropic_instrumented, anthropic_api, monkeypatch, caplog
):
    monkeypatch.setattr(pricing_cost, "_warned", set())
    model = "claude-fable-5-2"
    reply = json_reply(claude_message(model, [text_block("Once upon a time")], claude_usage(100, 20)))
    api = anthropic_api(reply, reply)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        api.run(create(model=model))
        api.run(create(model=model))

    spans = anthropic_instrumented.spans()
    assert len(spans) == 2
    for span in spans:
        attributes = dict(span.attributes)
        assert attributes[sc.LLMCOST_COST_UNPRICED] is True
        assert not cost_of(attributes).keys() - {sc.LLMCOST_COST_UNPRICED}
        assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100
    warnings = [record for record in caplog.records if model in record.getMessage()]
    assert len(warnings) == 1
    assert "No price for model 'claude-fable-5-2'" in warnings[0].getMessage()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_fast_mode_and_us_only_inference_are_said_to_be_priced_at_standard_rates(
    anthropic_instrumented, anthropic_api, monkeypatch, caplog, stream
):
    # Both bill a premium over the standard rates (a per-model multiple for fast mode, 1.1x for US-only
    # inference on the newer models) that the catalog's sources do not list: a silent 6x undercount before.
    from otel_llmcost.instrumentation import core

    monkeypatch.setattr(core, "_logged", set())
    usage = {**claude_usage(1000, 200), "speed": "fast", "inference_geo": "us"}
    message = claude_message("claude-opus-4-6", [text_block("Done.")], usage)
    reply = claude_stream(claude_events(message)) if stream else json_reply(message)
    api = anthropic_api(reply, reply)
    async def scenario(api):
        call = {"model": "claude-opus-4-6", "max_tokens": 1024, "messages": MESSAGES, "stream": stream}
        result = await api(api.client.messages.create(**call))
        return await api.items(result) if stream else result

    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        for _ in range(2):
            api.run(scenario)

    warnings = [record.getMessage() for record in caplog.records if record.name.startswith("otel_llmcost")]
    assert len(warnings) == 2  # once each, not once per call
    assert "usage.speed='fast'" in warnings[0] and "understated" in warnings[0]
    assert "usage.inference_geo='us'" in warnings[1] and "1.1x" in warnings[1]
    for span in anthropic_instrumented.spans():  # the standard-rate cost is still recorded
        assert span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_advisor_tokens_the_span_cannot_price_are_said_to_be_left_out(
    anthropic_instrumented, anthropic_api, monkeypatch, caplog
):
    # The advisor tool's run (another model) is reported only in usage.iterations: a silent undercount before.
    from otel_llmcost.instrumentation import core

    monkeypatch.setattr(core, "_logged", set())
    advisor = {"type": "advisor_message", "model": "claude-opus-4-6", "input_tokens": 5000, "output_tokens": 1500}
    usage = {**claude_usage(2000, 300), "iterations": [{"type": "message", "input_tokens": 2000, "output_tokens": 300}, advisor]}
    api = anthropic_api(json_reply(claude_message("claude-sonnet-4-6", [text_block("Done.")], usage)))
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        api.run(lambda api: api(api.client.messages.create(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES)))

    [warning] = [record.getMessage() for record in caplog.records if record.name.startswith("otel_llmcost")]
    assert "advisor_message" in warning and "understated" in warning
    assert anthropic_instrumented.span().attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 2000


def test_beta_messages(anthropic_instrumented, anthropic_api):
    usage = claude_usage(800, 60, cache_read=1000)
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("Hi")], usage)))

    async def scenario(api):
        return await api(
            api.client.beta.messages.create(
                model="claude-sonnet-4-5", max_tokens=256, messages=MESSAGES, betas=["context-1m-2025-08-07"]
            )
        )

    message = api.run(scenario)
    assert message.usage.input_tokens == 800
    attributes = attributes_of(anthropic_instrumented)
    assert api.wire.requests[0].headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1800
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(800) * 3 + D(1000) * D("0.3") + D(60) * 15) / M)


def test_compaction_iterations_are_billed_on_top_of_the_top_level_usage(anthropic_instrumented, anthropic_api):
    usage = claude_usage(5000, 400, cache_read=10000)
    usage["iterations"] = [
        {
            "type": "compaction",
            "input_tokens": 150000,
            "output_tokens": 3000,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
        {
            "type": "message",
            "input_tokens": 5000,
            "output_tokens": 400,
            "cache_read_input_tokens": 10000,
            "cache_creation_input_tokens": 0,
        },
    ]
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("Hi")], usage)))

    async def scenario(api):
        return await api(api.client.beta.messages.create(model="claude-sonnet-4-5", max_tokens=256, messages=MESSAGES))

    api.run(scenario)
    attributes = attributes_of(anthropic_instrumented)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5000 + 10000 + 150000
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 400 + 3000


def test_the_fingerprint_follows_the_template_not_the_users_text(anthropic_instrumented, anthropic_api):
    reply = json_reply(claude_message(SONNET, [text_block("Hi")], claude_usage(10, 5)))
    api = anthropic_api(*[reply] * 6)
    blocks = [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
    other_order = SYSTEM.replace("12345", "67890")
    other_tool = {**TRACK, "input_schema": {"type": "object", "properties": {"order": {"type": "integer"}}}}
    api.run(create(system=SYSTEM, tools=[TRACK]))
    api.run(create(system=blocks, tools=[TRACK], messages=[{"role": "user", "content": "Refund please"}]))
    api.run(create(system=other_order, tools=[TRACK]))
    api.run(create(system=SYSTEM, tools=[other_tool]))
    api.run(
        create(
            system=SYSTEM,
            tools=[TRACK],
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "x"},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/p.png"}},
                    ],
                }
            ],
        )
    )

    api.run(create(system=SYSTEM, tools=[{**TRACK, "description": "Where a parcel is. Call it first."}]))

    prints = [span.attributes[sc.LLMCOST_PROMPT_FINGERPRINT] for span in anthropic_instrumented.spans()]
    # system as a string or as blocks, another user text, another order number: one template
    assert prints[0] == prints[1] == prints[2]
    assert prints[3] != prints[0]  # another tool schema
    assert prints[4] != prints[0]  # another message shape (text + image)
    assert prints[5] != prints[0]  # another tool description


def test_count_tokens_gets_no_span_of_ours(anthropic_instrumented, anthropic_api):
    api = anthropic_api(json_reply({"input_tokens": 2095}))

    async def scenario(api):
        return await api(api.client.messages.count_tokens(model="claude-sonnet-4-5", messages=MESSAGES))

    assert api.run(scenario).input_tokens == 2095
    assert anthropic_instrumented.spans() == []


def test_structured_output_is_recorded_even_when_the_answer_fails_validation(anthropic_instrumented, anthropic_api):
    from pydantic import BaseModel, ValidationError

    class Parcel(BaseModel):
        order: str
        status: str

    good = claude_message(SONNET, [text_block('{"order": "12345", "status": "at depot"}')], claude_usage(300, 20))
    bad = claude_message(SONNET, [text_block('{"order": 12345}')], claude_usage(300, 9))
    api = anthropic_api(json_reply(good), json_reply(bad))

    async def scenario(api):
        return await api(
            api.client.messages.parse(
                model="claude-sonnet-4-5", max_tokens=256, messages=MESSAGES, output_format=Parcel
            )
        )

    assert api.run(scenario).parsed_output == Parcel(order="12345", status="at depot")
    with pytest.raises(ValidationError):
        api.run(scenario)

    first, second = (dict(span.attributes) for span in anthropic_instrumented.spans())
    assert first[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert first[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 20
    # The SDK's parser raised, yet the call was billed: the usage is there, and the error.
    assert second[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 9
    assert second[sc.GEN_AI_USAGE_COST_AMOUNT] == float((D(300) * 3 + D(9) * 15) / M)
    assert second[sc.ERROR_TYPE] == "ValidationError"


def test_a_one_shot_iterable_of_messages_is_left_for_the_sdk(anthropic_instrumented, anthropic_api):
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("Hi")], claude_usage(10, 5))))
    api.run(create(messages=(message for message in MESSAGES), system=(block for block in [text_block(SYSTEM)])))

    assert api.wire.bodies[0]["messages"] == MESSAGES
    assert api.wire.bodies[0]["system"] == [text_block(SYSTEM)]
    assert anthropic_instrumented.span().attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10


def test_the_tools_offered_are_recorded_by_type_and_name(instrument_anthropic, telemetry, anthropic_api):
    # The user's tools have no type (a function, to the semconv); Anthropic's own are typed and named
    instrument_anthropic(capture_content=True)
    web_search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("Hi")], claude_usage(10, 5))))
    api.run(create(tools=[TRACK, web_search]))

    assert json.loads(telemetry.span().attributes[sc.GEN_AI_TOOL_DEFINITIONS]) == [
        {"type": "function", "name": TRACK["name"]},
        {"type": "web_search_20250305", "name": "web_search"},
    ]


def test_media_sent_by_file_id_is_captured_as_a_file_part(instrument_anthropic, telemetry, anthropic_api):
    # The Files API: a block's source names a file_id, which the semconv's FilePart records (it was a part
    # of the block's type without the id)
    instrument_anthropic(capture_content=True)
    content = [
        {"type": "image", "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}},
        {"type": "document", "source": {"type": "file", "file_id": "file_011CPMxVD3fHLUhvTqtsQA5w"}},
        {"type": "text", "text": "Which parcel is this?"},
    ]
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("Hi")], claude_usage(10, 5))))
    api.run(create(messages=[{"role": "user", "content": content}]))

    [message] = json.loads(telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert message["parts"][:2] == [
        {"type": "file", "modality": "image", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"},
        {"type": "file", "modality": "file", "file_id": "file_011CPMxVD3fHLUhvTqtsQA5w"},
    ]


def test_content_blocks_sent_back_as_sdk_objects_read_like_dicts(instrument_anthropic, telemetry, anthropic_api):
    instrument_anthropic(capture_content=True)
    answer = claude_message(
        SONNET, [tool_use_block("toolu_01", "track_parcel", {"order": "12345"})], claude_usage(10, 5)
    )
    reply = json_reply(answer)
    api = anthropic_api(reply, reply, reply)

    def follow_up(content):
        result = {"type": "tool_result", "tool_use_id": "toolu_01", "content": "At the depot."}
        return [*MESSAGES, {"role": "assistant", "content": content}, {"role": "user", "content": [result]}]

    first = api.run(create(tools=[TRACK]))
    api.run(create(tools=[TRACK], messages=follow_up(first.content)))  # the SDK's ToolUseBlock objects
    api.run(create(tools=[TRACK], messages=follow_up(answer["content"])))  # the same blocks as dicts

    _, as_objects, as_dicts = (json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES]) for span in telemetry.spans())
    assert as_objects == as_dicts
    assert as_objects[1] == {
        "role": "assistant",
        "parts": [{"type": "tool_call", "id": "toolu_01", "name": "track_parcel", "arguments": {"order": "12345"}}],
    }


def test_tool_definitions_count_as_input_when_the_usage_is_missing(anthropic_instrumented, anthropic_api):
    # A proxy that strips the usage: the estimate counts each tool's name, description and input schema
    from otel_llmcost.tokens import count_messages, count_text

    schema = {"type": "object", "properties": {"order": {"type": "string", "description": "The order number"}}}
    tool = {"name": "track_parcel", "description": "Where a parcel is, by its carrier's latest scan. " * 5}
    api = anthropic_api(json_reply(claude_message(SONNET, [text_block("At the depot.")], None)))
    api.run(create(tools=[{**tool, "input_schema": schema}]))

    attributes = attributes_of(anthropic_instrumented)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    tool_text = f"track_parcel:{tool['description']}:" + json.dumps(schema, separators=(",", ":"))
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_messages(MESSAGES, SONNET) + count_text(tool_text, SONNET)


@pytest.mark.parametrize(
    ("base", "provider"),
    [("BaseBedrockClient", "aws.bedrock"), ("BaseMantleClient", "aws.bedrock"), ("BaseVertexClient", "gcp.vertex_ai")],
)
def test_older_sdks_cloud_clients_are_told_by_their_base_class(base, provider):
    # anthropic 0.x names no provider on its clients: AnthropicBedrockMantle's base (BaseMantleClient) was
    # not known, and its calls were anthropic's, at Anthropic's list price (10% under a us. profile's).
    from otel_llmcost.instrumentation.anthropic.providers import provider_of

    client_class = type("Client", (type(base, (), {}),), {})
    assert provider_of(client_class) == provider

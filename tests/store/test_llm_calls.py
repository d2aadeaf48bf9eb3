"""Spans from the real OTel SDK → OTLP bytes → insert_otlp → llm_calls rows and rollups, with exact Decimal costs."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from opentelemetry.trace import SpanKind
from store_helpers import local_call, make_spans, payload, rows

from otel_llmcost import semconv as sc
from otel_llmcost.pricing import Usage, price_call
from otel_llmcost.store.exporter import encode
from otel_llmcost.store.ingest import insert_otlp

CALLS = "SELECT * FROM llm_calls ORDER BY Timestamp"


def test_local_costs_and_tokens_add_up_exactly(store):
    costs = [D("0.0002334"), D("0.00123"), D("0.00000015")]  # the last renders as 1.5e-7 in otel_traces
    calls = [
        local_call(
            "gpt-4o-mini-2024-07-18",
            cost,
            input_tokens=1200 + i,
            output_tokens=300 * (i + 1),
            **{sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1024, sc.LLMCOST_COST_INPUT: float(cost / 4)},
        )
        for i, cost in enumerate(costs)
    ]

    assert insert_otlp(store, payload(calls), dedup_token="batch-1") == 3

    [totals] = rows(
        store,
        "SELECT sum(CostUSD) AS cost, sum(InputCostUSD) AS input_cost, sum(InputTokens) AS input, "
        "sum(OutputTokens) AS output, sum(CacheReadTokens) AS cached, groupUniqArray(CostSource) AS sources, "
        "sum(Unpriced) AS unpriced FROM llm_calls",
    )
    assert totals["cost"] == D("0.00146355")
    assert totals["input_cost"] == sum(cost / 4 for cost in costs)
    assert (totals["input"], totals["output"], totals["cached"]) == (3603, 1800, 3072)
    assert totals["sources"] == [sc.COST_SOURCE_LOCAL]
    assert totals["unpriced"] == 0


def test_a_call_row_carries_attribution_and_call_details(store):
    call = local_call(
        "gpt-4o",
        D("0.01"),
        input_tokens=10,
        output_tokens=5,
        **{
            sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06",
            sc.LLMCOST_TEAM: "search",
            sc.LLMCOST_FEATURE: "autocomplete",
            sc.LLMCOST_CUSTOMER: "acme",
            sc.LLMCOST_USER: "u-7",
            sc.GEN_AI_PROMPT_NAME: "suggest-v2",
            sc.LLMCOST_PROMPT_FINGERPRINT: "fp-1234",
            sc.GEN_AI_AGENT_NAME: "planner",
            sc.LLMCOST_TOOL_CALLS_COUNT: 2,
            sc.LLMCOST_TOOL_CALLS_NAMES: ("lookup", "search"),
            sc.GEN_AI_RESPONSE_FINISH_REASONS: ("tool_calls",),
            sc.GEN_AI_REQUEST_STREAM: True,
            sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: 0.25,
            sc.LLMCOST_TOKENS_ESTIMATED: True,
            sc.OPENAI_RESPONSE_SERVICE_TIER: "default",
            sc.LLMCOST_PRICING_ENTRY: "gpt-4o-2024-08-06",
            sc.ERROR_TYPE: "RateLimitError",
        },
    )
    spans = make_spans([call], {sc.SERVICE_NAME: "api", sc.DEPLOYMENT_ENVIRONMENT: "staging"}, error=True)
    insert_otlp(store, encode(spans), dedup_token="one")

    [row] = rows(store, CALLS)
    span = spans[0]
    assert row["TraceId"] == f"{span.context.trace_id:032x}" and row["SpanId"] == f"{span.context.span_id:016x}"
    assert (row["ServiceName"], row["Environment"], row["Provider"], row["Operation"]) == (
        "api",
        "staging",
        "openai",
        "chat",
    )
    assert (row["RequestModel"], row["Model"], row["ServiceTier"]) == ("gpt-4o", "gpt-4o-2024-08-06", "default")
    assert (row["Team"], row["Feature"], row["Customer"], row["User"]) == ("search", "autocomplete", "acme", "u-7")
    assert (row["PromptName"], row["PromptFingerprint"], row["AgentName"]) == ("suggest-v2", "fp-1234", "planner")
    assert (row["ToolCallCount"], row["ToolCallNames"], row["FinishReasons"]) == (
        2,
        ["lookup", "search"],
        ["tool_calls"],
    )
    assert (row["Stream"], row["TokensEstimated"], row["TimeToFirstChunkMs"]) == (1, 1, 250.0)
    assert (row["IsError"], row["ErrorType"], row["PricingEntry"]) == (1, "RateLimitError", "gpt-4o-2024-08-06")
    assert row["DurationMs"] == (span.end_time - span.start_time) / 1e6


def test_anthropic_sdk_spans_without_cost_are_priced_by_the_store(store):
    # anthropic 2.x's own tracing: input includes cache writes, which it names cache_write, split 5m/1h.
    span = {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "anthropic",
        sc.GEN_AI_REQUEST_MODEL: "claude-sonnet-4-5",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 3000,
        sc.ANTHROPIC_SDK_USAGE_CACHE_WRITE_INPUT_TOKENS: 2000,
        sc.ANTHROPIC_SDK_USAGE_CACHE_WRITE_1H_TOKENS: 500,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
    }
    insert_otlp(store, payload([span]), dedup_token="anthropic")

    [row] = rows(store, CALLS)
    # claude-sonnet-4-5, USD per 1M: input 3, cache write 5m 3.75, 1h 6, output 15
    assert row["InputCostUSD"] == D(1000 * 3) / 10**6
    assert row["CacheWriteCostUSD"] == (D(1500) * D("3.75") + D(500) * 6) / 10**6
    assert row["OutputCostUSD"] == D(100 * 15) / 10**6
    assert row["CostUSD"] == D("0.013125")
    assert (row["CostSource"], row["Unpriced"], row["PricingEntry"]) == ("store", 0, "claude-sonnet-4-5")
    assert (row["CacheWriteTokens"], row["CacheWrite1hTokens"]) == (2000, 500)
    oracle = price_call(
        "claude-sonnet-4-5",
        Usage(input_tokens=3000, output_tokens=100, cache_write_5m_tokens=1500, cache_write_1h_tokens=500),
        provider="anthropic",
    )
    assert row["CostUSD"] == oracle.total


def test_store_pricing_applies_long_context_and_flex_rates(store):
    long_call = {
        sc.GEN_AI_PROVIDER_NAME: "anthropic",
        sc.GEN_AI_REQUEST_MODEL: "claude-sonnet-4-5-20250929",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 250_000,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 50_000,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 1000,
    }
    flex_call = {
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-5-mini",
        sc.GEN_AI_RESPONSE_MODEL: "gpt-5-mini-2025-08-07",
        sc.OPENAI_RESPONSE_SERVICE_TIER: "flex",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 10_000,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 4000,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 2000,
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 1500,
    }
    insert_otlp(store, payload([long_call, flex_call]), dedup_token="tiers")

    by_model = {row["RequestModel"]: row for row in rows(store, CALLS)}
    long_row, flex_row = by_model["claude-sonnet-4-5-20250929"], by_model["gpt-5-mini"]
    # Past 200k input tokens the whole request is billed at 6 / 0.6 (cache read) / 22.5 per 1M.
    assert long_row["CostUSD"] == (D(200_000) * 6 + D(50_000) * D("0.6") + D(1000) * D("22.5")) / 10**6
    assert long_row["CostUSD"] == D("1.2525")
    # flex: input 0.125, cache read 0.0125, output 1 per 1M; reasoning is the share of output.
    assert flex_row["CostUSD"] == D("0.0028")
    assert flex_row["ReasoningCostUSD"] == D("0.0015")
    assert flex_row["ServiceTier"] == "flex"
    for row, usage, tier in (
        (long_row, Usage(input_tokens=250_000, cache_read_tokens=50_000, output_tokens=1000), None),
        (
            flex_row,
            Usage(input_tokens=10_000, cache_read_tokens=4000, output_tokens=2000, reasoning_tokens=1500),
            "flex",
        ),
    ):
        oracle = price_call(row["Model"], usage, provider=row["Provider"], service_tier=tier)
        assert row["CostUSD"] == oracle.total


def test_openlit_cost_is_taken_as_reported(store):
    span = {
        sc.GEN_AI_SYSTEM: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 100,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 50,
        sc.OPENLIT_USAGE_COST: 0.00075,
    }
    insert_otlp(store, payload([span]), dedup_token="openlit")

    [row] = rows(store, CALLS)
    assert (row["CostUSD"], row["CostSource"], row["Provider"], row["Unpriced"]) == (
        D("0.00075"),
        "openlit",
        "openai",
        0,
    )
    # OpenLIT reports a total only: no parts, rather than the store's parts of its own price
    parts = "InputCostUSD + CacheReadCostUSD + CacheWriteCostUSD + OutputCostUSD"
    assert rows(store, f"SELECT {parts} AS parts FROM llm_calls") == [{"parts": D(0)}]


def test_unknown_models_are_unpriced_not_free(store):
    span = {
        sc.GEN_AI_REQUEST_MODEL: "gpt-6-turbo-preview",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 10,
        sc.LLMCOST_COST_UNPRICED: True,
    }
    other = {sc.GEN_AI_OPERATION_NAME: "execute_tool", sc.GEN_AI_TOOL_NAME: "search"}  # not an LLM call
    insert_otlp(store, payload([span, other]), dedup_token="unpriced")

    [row] = rows(store, CALLS)
    assert (row["Unpriced"], row["CostSource"], row["CostUSD"], row["PricingEntry"]) == (1, "", D(0), "")
    assert rows(store, "SELECT count() AS spans FROM otel_traces") == [{"spans": 2}]


def test_a_retried_insert_with_the_same_token_is_stored_once(store):
    batch = payload([local_call("gpt-4o-mini", D("0.5"), input_tokens=100, output_tokens=10)] * 3)

    for _ in range(3):
        assert insert_otlp(store, batch, dedup_token="spool-file-1") == 3

    counts = (
        "SELECT (SELECT count() FROM otel_traces) AS spans, (SELECT count() FROM llm_calls) AS calls, "
        "(SELECT sum(Calls) FROM llm_cost_1m) AS minute_calls, (SELECT sum(CostUSD) FROM llm_cost_1h) AS hour_cost, "
        "(SELECT count() FROM otel_traces_trace_id_ts) AS traces"
    )
    assert rows(store, counts) == [{"spans": 3, "calls": 3, "minute_calls": 3, "hour_cost": D("1.5"), "traces": 3}]
    insert_otlp(store, batch, dedup_token="spool-file-2")  # another token is another batch
    assert rows(store, counts)[0]["calls"] == 6


def test_rollups_equal_the_sum_of_their_calls(store):
    models = ["gpt-4o-mini", "claude-sonnet-4-5", "gpt-5-mini", "mystery-model"]
    calls = [
        {
            **local_call(models[i % 4], D(i) / 1000, input_tokens=100 + i, output_tokens=7 * i),
            sc.LLMCOST_TEAM: f"team-{i % 3}",
            sc.LLMCOST_CUSTOMER: f"c-{i % 5}",
            sc.LLMCOST_TOKENS_ESTIMATED: i % 7 == 0,
        }
        for i in range(60)
    ]
    for call in calls[::3]:  # some calls arrive without a cost: the store prices them, or cannot
        del call[sc.GEN_AI_USAGE_COST_AMOUNT]
    start = 1_780_000_000 * 10**9
    spans = make_spans(calls, start_times=[start + i * 37 * 10**9 for i in range(60)])  # across ~37 minutes
    insert_otlp(store, encode(spans[:30]), dedup_token="a")
    insert_otlp(store, encode(spans[30:]), dedup_token="b")

    measures = "sum(CostUSD) AS cost, sum(InputTokens) AS input, sum(OutputTokens) AS output, sum(Unpriced) AS unpriced"
    raw = rows(
        store,
        f"SELECT Model, Team, count() AS calls, {measures}, sum(TokensEstimated) AS estimated FROM llm_calls GROUP BY Model, Team ORDER BY Model, Team",
    )
    for rollup in ("llm_cost_1m", "llm_cost_1h"):
        rolled = rows(
            store,
            f"SELECT Model, Team, sum(Calls) AS calls, sum(CostUSD) AS cost, sum(InputTokens) AS input, "
            f"sum(OutputTokens) AS output, sum(UnpricedCalls) AS unpriced, sum(EstimatedCalls) AS estimated "
            f"FROM {rollup} GROUP BY Model, Team ORDER BY Model, Team",
        )
        assert rolled == raw
    assert len(rows(store, "SELECT DISTINCT Bucket FROM llm_cost_1m")) > 30
    assert sum(row["unpriced"] for row in raw) == 5  # mystery-model calls without a cost


def _failed_openai_call(resource: dict[str, str]) -> list:
    """The span otel-llmcost's OpenAI instrumentation writes for a call the API answered with 429."""
    import importlib

    import openai
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otel_llmcost.instrumentation.openai import OpenAIInstrumentor

    base = importlib.import_module("openai._base_client")
    http = getattr(base, "httpx2", None) or base.httpx  # the httpx flavour this SDK major uses
    refusal = {"error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit"}}
    transport = http.MockTransport(lambda request: http.Response(429, json=refusal, headers={"retry-after": "0"}))
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(api_key="sk-test", max_retries=0, http_client=http.Client(transport=transport))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    finally:
        instrumentor.uninstrument()
    return list(memory.get_finished_spans())


def test_a_failed_instrumented_call_lands_as_one_error_row(store):
    [span] = _failed_openai_call({sc.SERVICE_NAME: "api", sc.DEPLOYMENT_ENVIRONMENT_NAME: "prod"})
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes  # nothing came back to count

    insert_otlp(store, encode([span]), dedup_token="429")

    [row] = rows(store, CALLS)
    assert row["SpanId"] == f"{span.context.span_id:016x}"
    assert (row["ServiceName"], row["Provider"], row["Operation"], row["Model"]) == (
        "api",
        "openai",
        "chat",
        "gpt-4o-mini",
    )
    assert (row["IsError"], row["ErrorType"]) == (1, "429")
    assert (row["InputTokens"], row["OutputTokens"], row["CacheReadTokens"], row["ReasoningTokens"]) == (0, 0, 0, 0)
    assert (row["CostUSD"], row["InputCostUSD"], row["OutputCostUSD"]) == (D(0), D(0), D(0))
    assert (row["CostSource"], row["Unpriced"], row["PricingEntry"]) == ("", 0, "")
    for rollup in ("llm_cost_1m", "llm_cost_1h"):
        assert rows(
            store,
            f"SELECT sum(Calls) AS calls, sum(Errors) AS errors, sum(NoUsageCalls) AS no_usage, "
            f"sum(UnpricedCalls) AS unpriced, sum(CostUSD) AS cost FROM {rollup}",
        ) == [{"calls": 1, "errors": 1, "no_usage": 1, "unpriced": 0, "cost": D(0)}]


def test_an_agent_span_carrying_its_calls_usage_is_not_another_call(store):
    # The semconv recommends gen_ai.usage.* on invoke_agent spans (the run's sum): frameworks that set it
    # would have every call of the run counted twice.
    calls = [
        {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini", sc.GEN_AI_USAGE_INPUT_TOKENS: 100,
         sc.GEN_AI_USAGE_OUTPUT_TOKENS: 20},
        {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini", sc.GEN_AI_USAGE_INPUT_TOKENS: 200,
         sc.GEN_AI_USAGE_OUTPUT_TOKENS: 30},
    ]
    run = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT,
        sc.GEN_AI_AGENT_NAME: "helper",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 300,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 50,
    }
    insert_otlp(store, payload(calls), dedup_token="calls")
    insert_otlp(store, encode(make_spans([run], kind=SpanKind.INTERNAL)), dedup_token="run")

    assert rows(store, "SELECT count() AS calls, sum(InputTokens) AS input FROM llm_calls") == [
        {"calls": 2, "input": 300}
    ]
    assert rows(store, "SELECT sum(Calls) AS calls FROM llm_cost_1h") == [{"calls": 2}]


def test_only_failed_calls_to_models_join_the_calls(store):
    failed = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "gpt-6-preview", sc.ERROR_TYPE: "500"}
    not_calls = [
        {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "search", sc.ERROR_TYPE: "TimeoutError"},
        {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: "remote", sc.ERROR_TYPE: "500"},
        {"http.request.method": "POST", sc.ERROR_TYPE: "500"},  # an HTTP client span, not a GenAI one
        {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "gpt-4o"},  # no usage, no error: nothing to count
    ]
    insert_otlp(store, payload([failed, *not_calls], error=True), dedup_token="mixed")
    # a framework's own step span around the call, not the call to the provider
    internal = make_spans([{**failed, sc.GEN_AI_REQUEST_MODEL: "internal-step"}], kind=SpanKind.INTERNAL)
    insert_otlp(store, encode(internal), dedup_token="internal")

    [row] = rows(store, CALLS)
    # A model the store cannot price is not an unpriced call when nothing came back to price.
    assert (row["Model"], row["IsError"], row["ErrorType"], row["Unpriced"], row["CostSource"]) == (
        "gpt-6-preview",
        1,
        "500",
        0,
        "",
    )
    assert rows(store, "SELECT count() AS spans FROM otel_traces") == [{"spans": 6}]

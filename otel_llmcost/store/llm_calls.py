"""``llm_calls``: one row per LLM call span, derived from ``otel_traces`` by a materialized view.

A span is an LLM call when it has ``gen_ai.usage.input_tokens`` or ``output_tokens``, or when it
is a GenAI client span that failed before any usage came back: kind Client, a
``gen_ai.operation.name`` that is not an agent or tool operation, and ``error.type`` set (a 429,
a 500, a timeout). Its cost, first hit wins: ``gen_ai.usage.cost.amount`` (otel-llmcost and the
cost semconv proposal; breakdown from ``llmcost.cost.*``), OpenLIT's ``gen_ai.usage.cost`` (total
only), the store's price table (``CostSource = 'store'``), else ``Unpriced = 1`` with no cost.
A failed call without usage has nothing to price: zero tokens and cost, ``CostSource = ''`` and
``Unpriced = 0`` (the only rows with both), ``IsError = 1`` and its ``ErrorType``.

The view reads attributes as the clickhouseexporter writes them (strings; arrays as JSON).
Store pricing is an SQL expression over llm_calls columns, so ``reprice`` recomputes past
rows with the same expression the view used. One column beyond the documented contract,
``CacheWrite1hTokens``, keeps the 1-hour share of cache writes that repricing needs.
"""

from __future__ import annotations

from otel_llmcost import semconv as sc
from otel_llmcost.store import prices
from otel_llmcost.store.ddl import Target
from otel_llmcost.store.traces import TRACES, dedup_setting

LLM_CALLS = "llm_calls"
LLM_CALLS_MV = "llm_calls_mv"
MONEY = "Decimal(18, 12)"
COST_COLUMNS = ("CostUSD", "InputCostUSD", "CacheReadCostUSD", "CacheWriteCostUSD", "OutputCostUSD", "ReasoningCostUSD")
# The columns store pricing sets; reprice rewrites exactly these.
PRICED_COLUMNS = (*COST_COLUMNS, "CostSource", "Unpriced", "PricingEntry")
# Rows the store priced, or could not price: what reprice recomputes (never a failed call without usage).
REPRICED_ROWS = f"(CostSource = '{sc.COST_SOURCE_STORE}' OR Unpriced = 1)"
# Rows of failed calls that came back without usage (no tokens, no cost, nothing to price).
NO_USAGE_ROWS = "(CostSource = '' AND Unpriced = 0)"
OPENLIT = "openlit"
# gen_ai.operation.name values of spans that are not a call to a model.
NOT_MODEL_CALLS = (sc.OP_INVOKE_AGENT, sc.OP_EXECUTE_TOOL, "create_agent")

TABLE_COLUMNS = f"""    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String),
    Environment LowCardinality(String),
    Provider LowCardinality(String),
    Operation LowCardinality(String),
    RequestModel LowCardinality(String),
    Model LowCardinality(String),
    ServiceTier LowCardinality(String),
    Team LowCardinality(String),
    Feature LowCardinality(String),
    Customer String,
    User String,
    PromptName LowCardinality(String),
    PromptFingerprint String,
    AgentName LowCardinality(String),
    ToolCallCount UInt32,
    ToolCallNames Array(LowCardinality(String)),
    InputTokens UInt64,
    CacheReadTokens UInt64,
    CacheWriteTokens UInt64,
    OutputTokens UInt64,
    ReasoningTokens UInt64,
    CostUSD {MONEY},
    InputCostUSD {MONEY},
    CacheReadCostUSD {MONEY},
    CacheWriteCostUSD {MONEY},
    OutputCostUSD {MONEY},
    ReasoningCostUSD {MONEY},
    CostSource LowCardinality(String),
    Unpriced UInt8,
    TokensEstimated UInt8,
    Stream UInt8,
    DurationMs Float64,
    TimeToFirstChunkMs Nullable(Float64),
    IsError UInt8,
    ErrorType LowCardinality(String),
    FinishReasons Array(LowCardinality(String)),
    PricingEntry LowCardinality(String),
    CacheWrite1hTokens UInt64"""


def statements(target: Target) -> list[str]:
    return [table(target), *target.distributed(LLM_CALLS), view(target)]


def table(target: Target) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {target.local(LLM_CALLS)}{target.on_cluster} (
{TABLE_COLUMNS},
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = {target.engine("MergeTree", LLM_CALLS)}
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, Model, Timestamp)
{target.ttl("toDateTime(Timestamp)")}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1{dedup_setting(target)}"""


def _attr(name: str) -> str:
    return f"SpanAttributes['{name}']"


def _first_nonempty(*expressions: str) -> str:
    # multiIf(a != '', a, b != '', b, ..., last)
    *head, last = expressions
    return f"multiIf({', '.join(f'{e} != {chr(39) * 2}, {e}' for e in head)}, {last})" if head else last


def _tokens(name: str) -> str:
    return f"toUInt64OrZero({_attr(name)})"


def _flag(name: str) -> str:
    return f"toUInt8({_attr(name)} = 'true')"


def _json_strings(name: str) -> str:
    return f"JSONExtract({_attr(name)}, 'Array(String)')"


def _money(name: str) -> str:
    """A USD attribute (rendered like a JSON number) as Decimal, NULL when absent or not a number."""
    return f"toDecimal128OrNull({_attr(name)}, 12)"


def _cache_write_tokens() -> str:
    parts = f"{_tokens(sc.LLMCOST_USAGE_CACHE_WRITE_5M_TOKENS)} + {_tokens(sc.LLMCOST_USAGE_CACHE_WRITE_1H_TOKENS)}"
    return (
        f"multiIf({_attr(sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS)} != '', {_tokens(sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS)}, "
        f"{_attr(sc.ANTHROPIC_SDK_USAGE_CACHE_WRITE_INPUT_TOKENS)} != '', {_tokens(sc.ANTHROPIC_SDK_USAGE_CACHE_WRITE_INPUT_TOKENS)}, "
        f"{parts})"
    )


def _cache_write_1h_tokens() -> str:
    return (
        f"if({_attr(sc.LLMCOST_USAGE_CACHE_WRITE_1H_TOKENS)} != '', {_tokens(sc.LLMCOST_USAGE_CACHE_WRITE_1H_TOKENS)}, "
        f"{_tokens(sc.ANTHROPIC_SDK_USAGE_CACHE_WRITE_1H_TOKENS)})"
    )


def span_columns() -> str:
    """The inner SELECT: llm_calls columns read from a span, plus the span's own cost attributes."""
    resource_env = _first_nonempty(
        f"ResourceAttributes['{sc.DEPLOYMENT_ENVIRONMENT_NAME}']", f"ResourceAttributes['{sc.DEPLOYMENT_ENVIRONMENT}']"
    )
    return f"""
        Timestamp, TraceId, SpanId, ParentSpanId, ServiceName,
        {resource_env} AS Environment,
        lower({_first_nonempty(_attr(sc.GEN_AI_PROVIDER_NAME), _attr(sc.GEN_AI_SYSTEM))}) AS Provider,
        {_attr(sc.GEN_AI_OPERATION_NAME)} AS Operation,
        {_attr(sc.GEN_AI_REQUEST_MODEL)} AS RequestModel,
        {_first_nonempty(_attr(sc.GEN_AI_RESPONSE_MODEL), _attr(sc.GEN_AI_REQUEST_MODEL))} AS Model,
        {
        _first_nonempty(
            _attr(sc.OPENAI_RESPONSE_SERVICE_TIER),
            _attr(sc.ANTHROPIC_SDK_RESPONSE_SERVICE_TIER),
            _attr(sc.OPENAI_REQUEST_SERVICE_TIER),
            _attr(sc.ANTHROPIC_SDK_REQUEST_SERVICE_TIER),
            _attr(sc.LLMCOST_PRICING_TIER),
        )
    } AS ServiceTier,
        {_attr(sc.LLMCOST_TEAM)} AS Team,
        {_attr(sc.LLMCOST_FEATURE)} AS Feature,
        {_attr(sc.LLMCOST_CUSTOMER)} AS Customer,
        {_attr(sc.LLMCOST_USER)} AS User,
        {_attr(sc.LLMCOST_PROMPT_NAME)} AS PromptName,
        {_attr(sc.LLMCOST_PROMPT_FINGERPRINT)} AS PromptFingerprint,
        {_attr(sc.GEN_AI_AGENT_NAME)} AS AgentName,
        toUInt32OrZero({_attr(sc.LLMCOST_TOOL_CALLS_COUNT)}) AS ToolCallCount,
        {_json_strings(sc.LLMCOST_TOOL_CALLS_NAMES)} AS ToolCallNames,
        {_tokens(sc.GEN_AI_USAGE_INPUT_TOKENS)} AS InputTokens,
        {_tokens(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)} AS CacheReadTokens,
        {_cache_write_tokens()} AS CacheWriteTokens,
        {_cache_write_1h_tokens()} AS CacheWrite1hTokens,
        {_tokens(sc.GEN_AI_USAGE_OUTPUT_TOKENS)} AS OutputTokens,
        {_tokens(sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS)} AS ReasoningTokens,
        {_flag(sc.LLMCOST_TOKENS_ESTIMATED)} AS TokensEstimated,
        {_flag(sc.GEN_AI_REQUEST_STREAM)} AS Stream,
        Duration / 1e6 AS DurationMs,
        toFloat64OrNull({_attr(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)}) * 1000 AS TimeToFirstChunkMs,
        toUInt8(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR {_attr(sc.ERROR_TYPE)} != '') AS IsError,
        {_attr(sc.ERROR_TYPE)} AS ErrorType,
        {_json_strings(sc.GEN_AI_RESPONSE_FINISH_REASONS)} AS FinishReasons,
        {_money(sc.GEN_AI_USAGE_COST_AMOUNT)} AS SpanCost,
        {_attr(sc.GEN_AI_USAGE_COST_SOURCE)} AS SpanCostSource,
        {_money(sc.LLMCOST_COST_INPUT)} AS SpanInputCost,
        {_money(sc.LLMCOST_COST_CACHE_READ)} AS SpanCacheReadCost,
        {_money(sc.LLMCOST_COST_CACHE_WRITE)} AS SpanCacheWriteCost,
        {_money(sc.LLMCOST_COST_OUTPUT)} AS SpanOutputCost,
        {_money(sc.LLMCOST_COST_REASONING)} AS SpanReasoningCost,
        {_money(sc.OPENLIT_USAGE_COST)} AS OpenlitCost,
        {_attr(sc.LLMCOST_PRICING_ENTRY)} AS SpanPricingEntry,
        ({has_usage()}) AS HasUsage"""


def has_usage() -> str:
    return (
        f"mapContains(SpanAttributes, '{sc.GEN_AI_USAGE_INPUT_TOKENS}') "
        f"OR mapContains(SpanAttributes, '{sc.GEN_AI_USAGE_OUTPUT_TOKENS}')"
    )


def is_failed_call() -> str:
    """A GenAI client span with ``error.type``: a call to a model that failed (with or without usage)."""
    others = ", ".join(f"'{name}'" for name in ("", *NOT_MODEL_CALLS))
    return (
        "SpanKind IN ('Client', 'SPAN_KIND_CLIENT') "
        f"AND {_attr(sc.ERROR_TYPE)} != '' AND {_attr(sc.GEN_AI_OPERATION_NAME)} NOT IN ({others})"
    )


def is_model_operation() -> str:
    """Not an agent or tool span: the semconv recommends gen_ai.usage.* on invoke_agent spans too (the
    sum of their calls'), which would count every call of the run twice."""
    others = ", ".join(f"'{name}'" for name in NOT_MODEL_CALLS)
    return f"{_attr(sc.GEN_AI_OPERATION_NAME)} NOT IN ({others})"


def is_llm_call() -> str:
    return f"(({has_usage()}) AND {is_model_operation()}) OR ({is_failed_call()})"


class StorePricing:
    """SQL for pricing a row of llm_calls from the price table, in terms of its columns.

    The lookup mirrors ``find_price`` + ``billing_tier``: the response model if the table
    knows it, else the request model; the row of the call's provider if there is one, else
    the provider-less alias; the call's tier if the entry offers it, else standard.
    """

    def __init__(self, target: Target) -> None:
        self.target = target

    def _get(self, column: str, key: str) -> str:
        return prices.lookup_sql(self.target, column, key)

    def _known(self, name: str, provider: str) -> str:
        return f"{self._get('Found', prices.key_sql(name, provider, repr('standard')))} = 1"

    @property
    def key(self) -> str:
        model, request_model = "lower(trimBoth(Model))", "lower(trimBoth(RequestModel))"
        name = f"if({self._known(model, 'Provider')} OR {self._known(model, chr(39) * 2)}, {model}, {request_model})"
        provider = f"if({self._known(name, 'Provider')}, Provider, '')"
        tier = "lower(trimBoth(ServiceTier))"
        tier = f"if({self._get('Found', prices.key_sql(name, provider, tier))} = 1, {tier}, 'standard')"
        return prices.key_sql(name, provider, tier)

    def columns(self, key: str) -> dict[str, str]:
        """Column -> SQL, given ``key`` (an expression or alias for ``self.key``)."""
        long = f"({self._get('LongThreshold', key)} > 0 AND InputTokens > {self._get('LongThreshold', key)})"

        def rate(name: str) -> str:
            return f"if({long}, {self._get('Long' + name, key)}, {self._get(name, key)})"

        uncached = (
            "if(InputTokens > CacheReadTokens + CacheWriteTokens, InputTokens - CacheReadTokens - CacheWriteTokens, 0)"
        )
        write_1h = "least(CacheWrite1hTokens, CacheWriteTokens)"
        parts = {
            "InputCostUSD": f"{uncached} * {rate('Input')}",
            "CacheReadCostUSD": f"CacheReadTokens * {rate('CacheRead')}",
            "CacheWriteCostUSD": f"(CacheWriteTokens - {write_1h}) * {rate('CacheWrite5m')} + {write_1h} * {rate('CacheWrite1h')}",
            "OutputCostUSD": f"OutputTokens * {rate('Output')}",
            "ReasoningCostUSD": f"ReasoningTokens * {rate('Output')}",
        }
        parts["CostUSD"] = " + ".join(
            f"({parts[name]})" for name in ("InputCostUSD", "CacheReadCostUSD", "CacheWriteCostUSD", "OutputCostUSD")
        )
        return {
            "priced": f"{self._get('Found', key)} = 1",
            "entry": self._get("Entry", key),
            **{name: _to_money(sql) for name, sql in parts.items()},
        }


def _to_money(sql: str) -> str:
    # A garbage token count must not fail the whole insert: out of range means no cost.
    return f"ifNull(accurateCastOrNull({sql}, '{MONEY}'), toDecimal64(0, 12))"


def view(target: Target) -> str:
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {target.database}.{LLM_CALLS_MV}{target.on_cluster}\n"
        f"TO {target.local(LLM_CALLS)}\nAS {select(target)}"
    )


def modify_view(target: Target) -> str:
    """Bring an existing ``llm_calls_mv`` to the current query (a no-op on one created with it)."""
    return f"ALTER TABLE {target.database}.{LLM_CALLS_MV}{target.on_cluster} MODIFY QUERY\n{select(target)}"


def select(target: Target) -> str:
    """The view's query: llm_calls rows of the LLM call spans among the inserted otel_traces rows."""
    store = StorePricing(target).columns("PriceKey")
    local = "isNotNull(SpanCost)"
    openlit = "isNotNull(OpenlitCost)"
    zero = "toDecimal64(0, 12)"

    def cost(column: str, span_part: str) -> str:
        # OpenLIT reports a total only: its rows have no parts, rather than the store's parts of another total.
        return (
            f"multiIf(NOT HasUsage, {zero}, {local}, {_to_money(f'ifNull({span_part}, 0)')}, {openlit}, {zero}, "
            f"{store['priced']}, {store[column]}, {zero})"
        )

    total = (
        f"multiIf(NOT HasUsage, {zero}, {local}, {_to_money('SpanCost')}, {openlit}, {_to_money('OpenlitCost')}, "
        f"{store['priced']}, {store['CostUSD']}, {zero})"
    )
    source = (
        f"multiIf(NOT HasUsage, '', {local}, if(SpanCostSource != '', SpanCostSource, '{sc.COST_SOURCE_LOCAL}'), "
        f"{openlit}, '{OPENLIT}', {store['priced']}, '{sc.COST_SOURCE_STORE}', '')"
    )
    return f"""SELECT
    Timestamp, TraceId, SpanId, ParentSpanId, ServiceName, Environment, Provider, Operation, RequestModel, Model,
    ServiceTier, Team, Feature, Customer, User, PromptName, PromptFingerprint, AgentName, ToolCallCount, ToolCallNames,
    InputTokens, CacheReadTokens, CacheWriteTokens, OutputTokens, ReasoningTokens,
    {total} AS CostUSD,
    {cost("InputCostUSD", "SpanInputCost")} AS InputCostUSD,
    {cost("CacheReadCostUSD", "SpanCacheReadCost")} AS CacheReadCostUSD,
    {cost("CacheWriteCostUSD", "SpanCacheWriteCost")} AS CacheWriteCostUSD,
    {cost("OutputCostUSD", "SpanOutputCost")} AS OutputCostUSD,
    {cost("ReasoningCostUSD", "SpanReasoningCost")} AS ReasoningCostUSD,
    {source} AS CostSource,
    toUInt8(HasUsage AND CostSource = '') AS Unpriced,
    TokensEstimated, Stream, DurationMs, TimeToFirstChunkMs, IsError, ErrorType, FinishReasons,
    multiIf(NOT HasUsage, '', {local}, SpanPricingEntry, {openlit}, '', {store["priced"]}, {store["entry"]}, '') AS PricingEntry,
    CacheWrite1hTokens
FROM (
    SELECT *, {StorePricing(target).key} AS PriceKey
    FROM (
        SELECT {span_columns()}
        FROM {target.local(TRACES)}
        WHERE {is_llm_call()}
    )
)"""

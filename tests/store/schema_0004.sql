-- The DDL of a store at migration 0004 (`otel-llmcost schema show` at commit 927da63), before failed
-- calls joined llm_calls: test_schema.py builds an existing store from it to check the upgrade.
CREATE DATABASE IF NOT EXISTS otel;

CREATE TABLE IF NOT EXISTS otel.schema_migrations (Name String, AppliedAt DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree() ORDER BY Name;

CREATE TABLE IF NOT EXISTS otel.otel_traces (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)

SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS otel.otel_traces_trace_id_ts (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = AggregatingMergeTree()
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)

SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS otel.otel_traces_trace_id_ts_mv
TO otel.otel_traces_trace_id_ts
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM otel.otel_traces
WHERE TraceId != ''
GROUP BY TraceId;

CREATE TABLE IF NOT EXISTS otel.llm_pricing (
    Key String,
    Name String,
    Provider String,
    Tier String,
    Found UInt8,
    Entry String,
    EntryProvider String,
    EffectiveDate String,
    Origin String,
    Input Decimal(38, 12),
    CacheRead Decimal(38, 12),
    CacheWrite5m Decimal(38, 12),
    CacheWrite1h Decimal(38, 12),
    Output Decimal(38, 12),
    LongThreshold UInt64,
    LongInput Decimal(38, 12),
    LongCacheRead Decimal(38, 12),
    LongCacheWrite5m Decimal(38, 12),
    LongCacheWrite1h Decimal(38, 12),
    LongOutput Decimal(38, 12),
    LoadId UInt64
)
ENGINE = Join(ANY, LEFT, Key)
SETTINGS join_any_take_last_row = 1;

CREATE TABLE IF NOT EXISTS otel.llm_calls (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
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
    CostUSD Decimal(18, 12),
    InputCostUSD Decimal(18, 12),
    CacheReadCostUSD Decimal(18, 12),
    CacheWriteCostUSD Decimal(18, 12),
    OutputCostUSD Decimal(18, 12),
    ReasoningCostUSD Decimal(18, 12),
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
    CacheWrite1hTokens UInt64,
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, Model, Timestamp)

SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS otel.llm_calls_mv
TO otel.llm_calls
AS SELECT
    Timestamp, TraceId, SpanId, ParentSpanId, ServiceName, Environment, Provider, Operation, RequestModel, Model,
    ServiceTier, Team, Feature, Customer, User, PromptName, PromptFingerprint, AgentName, ToolCallCount, ToolCallNames,
    InputTokens, CacheReadTokens, CacheWriteTokens, OutputTokens, ReasoningTokens,
    multiIf(isNotNull(SpanCost), ifNull(accurateCastOrNull(SpanCost, 'Decimal(18, 12)'), toDecimal64(0, 12)), isNotNull(OpenlitCost), ifNull(accurateCastOrNull(OpenlitCost, 'Decimal(18, 12)'), toDecimal64(0, 12)), joinGet('otel.llm_pricing', 'Found', PriceKey) = 1, ifNull(accurateCastOrNull((if(InputTokens > CacheReadTokens + CacheWriteTokens, InputTokens - CacheReadTokens - CacheWriteTokens, 0) * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongInput', PriceKey), joinGet('otel.llm_pricing', 'Input', PriceKey))) + (CacheReadTokens * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongCacheRead', PriceKey), joinGet('otel.llm_pricing', 'CacheRead', PriceKey))) + ((CacheWriteTokens - least(CacheWrite1hTokens, CacheWriteTokens)) * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongCacheWrite5m', PriceKey), joinGet('otel.llm_pricing', 'CacheWrite5m', PriceKey)) + least(CacheWrite1hTokens, CacheWriteTokens) * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongCacheWrite1h', PriceKey), joinGet('otel.llm_pricing', 'CacheWrite1h', PriceKey))) + (OutputTokens * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongOutput', PriceKey), joinGet('otel.llm_pricing', 'Output', PriceKey))), 'Decimal(18, 12)'), toDecimal64(0, 12)), toDecimal64(0, 12)) AS CostUSD,
    multiIf(isNotNull(SpanCost), ifNull(accurateCastOrNull(ifNull(SpanInputCost, 0), 'Decimal(18, 12)'), toDecimal64(0, 12)), joinGet('otel.llm_pricing', 'Found', PriceKey) = 1, ifNull(accurateCastOrNull(if(InputTokens > CacheReadTokens + CacheWriteTokens, InputTokens - CacheReadTokens - CacheWriteTokens, 0) * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongInput', PriceKey), joinGet('otel.llm_pricing', 'Input', PriceKey)), 'Decimal(18, 12)'), toDecimal64(0, 12)), toDecimal64(0, 12)) AS InputCostUSD,
    multiIf(isNotNull(SpanCost), ifNull(accurateCastOrNull(ifNull(SpanCacheReadCost, 0), 'Decimal(18, 12)'), toDecimal64(0, 12)), joinGet('otel.llm_pricing', 'Found', PriceKey) = 1, ifNull(accurateCastOrNull(CacheReadTokens * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongCacheRead', PriceKey), joinGet('otel.llm_pricing', 'CacheRead', PriceKey)), 'Decimal(18, 12)'), toDecimal64(0, 12)), toDecimal64(0, 12)) AS CacheReadCostUSD,
    multiIf(isNotNull(SpanCost), ifNull(accurateCastOrNull(ifNull(SpanCacheWriteCost, 0), 'Decimal(18, 12)'), toDecimal64(0, 12)), joinGet('otel.llm_pricing', 'Found', PriceKey) = 1, ifNull(accurateCastOrNull((CacheWriteTokens - least(CacheWrite1hTokens, CacheWriteTokens)) * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongCacheWrite5m', PriceKey), joinGet('otel.llm_pricing', 'CacheWrite5m', PriceKey)) + least(CacheWrite1hTokens, CacheWriteTokens) * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongCacheWrite1h', PriceKey), joinGet('otel.llm_pricing', 'CacheWrite1h', PriceKey)), 'Decimal(18, 12)'), toDecimal64(0, 12)), toDecimal64(0, 12)) AS CacheWriteCostUSD,
    multiIf(isNotNull(SpanCost), ifNull(accurateCastOrNull(ifNull(SpanOutputCost, 0), 'Decimal(18, 12)'), toDecimal64(0, 12)), joinGet('otel.llm_pricing', 'Found', PriceKey) = 1, ifNull(accurateCastOrNull(OutputTokens * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongOutput', PriceKey), joinGet('otel.llm_pricing', 'Output', PriceKey)), 'Decimal(18, 12)'), toDecimal64(0, 12)), toDecimal64(0, 12)) AS OutputCostUSD,
    multiIf(isNotNull(SpanCost), ifNull(accurateCastOrNull(ifNull(SpanReasoningCost, 0), 'Decimal(18, 12)'), toDecimal64(0, 12)), joinGet('otel.llm_pricing', 'Found', PriceKey) = 1, ifNull(accurateCastOrNull(ReasoningTokens * if((joinGet('otel.llm_pricing', 'LongThreshold', PriceKey) > 0 AND InputTokens > joinGet('otel.llm_pricing', 'LongThreshold', PriceKey)), joinGet('otel.llm_pricing', 'LongOutput', PriceKey), joinGet('otel.llm_pricing', 'Output', PriceKey)), 'Decimal(18, 12)'), toDecimal64(0, 12)), toDecimal64(0, 12)) AS ReasoningCostUSD,
    multiIf(isNotNull(SpanCost), if(SpanCostSource != '', SpanCostSource, 'local'), isNotNull(OpenlitCost), 'openlit', joinGet('otel.llm_pricing', 'Found', PriceKey) = 1, 'store', '') AS CostSource,
    toUInt8(CostSource = '') AS Unpriced,
    TokensEstimated, Stream, DurationMs, TimeToFirstChunkMs, IsError, ErrorType, FinishReasons,
    multiIf(isNotNull(SpanCost), SpanPricingEntry, isNotNull(OpenlitCost), '', joinGet('otel.llm_pricing', 'Found', PriceKey) = 1, joinGet('otel.llm_pricing', 'Entry', PriceKey), '') AS PricingEntry,
    CacheWrite1hTokens
FROM (
    SELECT *, concat(if(joinGet('otel.llm_pricing', 'Found', concat(lower(trimBoth(Model)), '\x1f', Provider, '\x1f', 'standard')) = 1 OR joinGet('otel.llm_pricing', 'Found', concat(lower(trimBoth(Model)), '\x1f', '', '\x1f', 'standard')) = 1, lower(trimBoth(Model)), lower(trimBoth(RequestModel))), '\x1f', if(joinGet('otel.llm_pricing', 'Found', concat(if(joinGet('otel.llm_pricing', 'Found', concat(lower(trimBoth(Model)), '\x1f', Provider, '\x1f', 'standard')) = 1 OR joinGet('otel.llm_pricing', 'Found', concat(lower(trimBoth(Model)), '\x1f', '', '\x1f', 'standard')) = 1, lower(trimBoth(Model)), lower(trimBoth(RequestModel))), '\x1f', Provider, '\x1f', 'standard')) = 1, Provider, ''), '\x1f', if(joinGet('otel.llm_pricing', 'Found', concat(if(joinGet('otel.llm_pricing', 'Found', concat(lower(trimBoth(Model)), '\x1f', Provider, '\x1f', 'standard')) = 1 OR joinGet('otel.llm_pricing', 'Found', concat(lower(trimBoth(Model)), '\x1f', '', '\x1f', 'standard')) = 1, lower(trimBoth(Model)), lower(trimBoth(RequestModel))), '\x1f', if(joinGet('otel.llm_pricing', 'Found', concat(if(joinGet('otel.llm_pricing', 'Found', concat(lower(trimBoth(Model)), '\x1f', Provider, '\x1f', 'standard')) = 1 OR joinGet('otel.llm_pricing', 'Found', concat(lower(trimBoth(Model)), '\x1f', '', '\x1f', 'standard')) = 1, lower(trimBoth(Model)), lower(trimBoth(RequestModel))), '\x1f', Provider, '\x1f', 'standard')) = 1, Provider, ''), '\x1f', lower(trimBoth(ServiceTier)))) = 1, lower(trimBoth(ServiceTier)), 'standard')) AS PriceKey
    FROM (
        SELECT 
        Timestamp, TraceId, SpanId, ParentSpanId, ServiceName,
        multiIf(ResourceAttributes['deployment.environment.name'] != '', ResourceAttributes['deployment.environment.name'], ResourceAttributes['deployment.environment']) AS Environment,
        lower(multiIf(SpanAttributes['gen_ai.provider.name'] != '', SpanAttributes['gen_ai.provider.name'], SpanAttributes['gen_ai.system'])) AS Provider,
        SpanAttributes['gen_ai.operation.name'] AS Operation,
        SpanAttributes['gen_ai.request.model'] AS RequestModel,
        multiIf(SpanAttributes['gen_ai.response.model'] != '', SpanAttributes['gen_ai.response.model'], SpanAttributes['gen_ai.request.model']) AS Model,
        multiIf(SpanAttributes['openai.response.service_tier'] != '', SpanAttributes['openai.response.service_tier'], SpanAttributes['anthropic.response.service_tier'] != '', SpanAttributes['anthropic.response.service_tier'], SpanAttributes['openai.request.service_tier'] != '', SpanAttributes['openai.request.service_tier'], SpanAttributes['anthropic.request.service_tier'] != '', SpanAttributes['anthropic.request.service_tier'], SpanAttributes['llmcost.pricing.tier']) AS ServiceTier,
        SpanAttributes['llmcost.team'] AS Team,
        SpanAttributes['llmcost.feature'] AS Feature,
        SpanAttributes['llmcost.customer'] AS Customer,
        SpanAttributes['llmcost.user'] AS User,
        SpanAttributes['gen_ai.prompt.name'] AS PromptName,
        SpanAttributes['llmcost.prompt.fingerprint'] AS PromptFingerprint,
        SpanAttributes['gen_ai.agent.name'] AS AgentName,
        toUInt32OrZero(SpanAttributes['llmcost.tool_calls.count']) AS ToolCallCount,
        JSONExtract(SpanAttributes['llmcost.tool_calls.names'], 'Array(String)') AS ToolCallNames,
        toUInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens']) AS InputTokens,
        toUInt64OrZero(SpanAttributes['gen_ai.usage.cache_read.input_tokens']) AS CacheReadTokens,
        multiIf(SpanAttributes['gen_ai.usage.cache_creation.input_tokens'] != '', toUInt64OrZero(SpanAttributes['gen_ai.usage.cache_creation.input_tokens']), SpanAttributes['gen_ai.usage.cache_write.input_tokens'] != '', toUInt64OrZero(SpanAttributes['gen_ai.usage.cache_write.input_tokens']), toUInt64OrZero(SpanAttributes['llmcost.usage.cache_write_5m.input_tokens']) + toUInt64OrZero(SpanAttributes['llmcost.usage.cache_write_1h.input_tokens'])) AS CacheWriteTokens,
        if(SpanAttributes['llmcost.usage.cache_write_1h.input_tokens'] != '', toUInt64OrZero(SpanAttributes['llmcost.usage.cache_write_1h.input_tokens']), toUInt64OrZero(SpanAttributes['anthropic.usage.cache_creation.ephemeral_1h_input_tokens'])) AS CacheWrite1hTokens,
        toUInt64OrZero(SpanAttributes['gen_ai.usage.output_tokens']) AS OutputTokens,
        toUInt64OrZero(SpanAttributes['gen_ai.usage.reasoning.output_tokens']) AS ReasoningTokens,
        toUInt8(SpanAttributes['llmcost.tokens.estimated'] = 'true') AS TokensEstimated,
        toUInt8(SpanAttributes['gen_ai.request.stream'] = 'true') AS Stream,
        Duration / 1e6 AS DurationMs,
        toFloat64OrNull(SpanAttributes['gen_ai.response.time_to_first_chunk']) * 1000 AS TimeToFirstChunkMs,
        toUInt8(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR SpanAttributes['error.type'] != '') AS IsError,
        SpanAttributes['error.type'] AS ErrorType,
        JSONExtract(SpanAttributes['gen_ai.response.finish_reasons'], 'Array(String)') AS FinishReasons,
        toDecimal128OrNull(SpanAttributes['gen_ai.usage.cost.amount'], 12) AS SpanCost,
        SpanAttributes['gen_ai.usage.cost.source'] AS SpanCostSource,
        toDecimal128OrNull(SpanAttributes['llmcost.cost.input'], 12) AS SpanInputCost,
        toDecimal128OrNull(SpanAttributes['llmcost.cost.cache_read'], 12) AS SpanCacheReadCost,
        toDecimal128OrNull(SpanAttributes['llmcost.cost.cache_write'], 12) AS SpanCacheWriteCost,
        toDecimal128OrNull(SpanAttributes['llmcost.cost.output'], 12) AS SpanOutputCost,
        toDecimal128OrNull(SpanAttributes['llmcost.cost.reasoning'], 12) AS SpanReasoningCost,
        toDecimal128OrNull(SpanAttributes['gen_ai.usage.cost'], 12) AS OpenlitCost,
        SpanAttributes['llmcost.pricing.entry'] AS SpanPricingEntry
        FROM otel.otel_traces
        WHERE mapContains(SpanAttributes, 'gen_ai.usage.input_tokens') OR mapContains(SpanAttributes, 'gen_ai.usage.output_tokens')
    )
);

CREATE TABLE IF NOT EXISTS otel.llm_cost_1m (
    Bucket DateTime,
    ServiceName LowCardinality(String),
    Environment LowCardinality(String),
    Provider LowCardinality(String),
    Model LowCardinality(String),
    Team LowCardinality(String),
    Feature LowCardinality(String),
    Customer String,
    PromptFingerprint String,
    Calls SimpleAggregateFunction(sum, UInt64),
    CostUSD SimpleAggregateFunction(sum, Decimal(38, 12)),
    InputTokens SimpleAggregateFunction(sum, UInt64),
    CacheReadTokens SimpleAggregateFunction(sum, UInt64),
    CacheWriteTokens SimpleAggregateFunction(sum, UInt64),
    OutputTokens SimpleAggregateFunction(sum, UInt64),
    ReasoningTokens SimpleAggregateFunction(sum, UInt64),
    Errors SimpleAggregateFunction(sum, UInt64),
    UnpricedCalls SimpleAggregateFunction(sum, Int64),
    EstimatedCalls SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toDate(Bucket)
ORDER BY (Bucket, ServiceName, Environment, Provider, Model, Team, Feature, Customer, PromptFingerprint)

SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS otel.llm_cost_1m_mv
TO otel.llm_cost_1m
AS SELECT toStartOfMinute(Timestamp) AS Bucket, ServiceName, Environment, Provider, Model, Team, Feature, Customer, PromptFingerprint, count() AS Calls, sum(CostUSD) AS CostUSD, sum(InputTokens) AS InputTokens, sum(CacheReadTokens) AS CacheReadTokens, sum(CacheWriteTokens) AS CacheWriteTokens, sum(OutputTokens) AS OutputTokens, sum(ReasoningTokens) AS ReasoningTokens, sum(IsError) AS Errors, sum(toInt64(Unpriced)) AS UnpricedCalls, sum(TokensEstimated) AS EstimatedCalls
FROM otel.llm_calls
GROUP BY Bucket, ServiceName, Environment, Provider, Model, Team, Feature, Customer, PromptFingerprint;

CREATE TABLE IF NOT EXISTS otel.llm_cost_1h (
    Bucket DateTime,
    ServiceName LowCardinality(String),
    Environment LowCardinality(String),
    Provider LowCardinality(String),
    Model LowCardinality(String),
    Team LowCardinality(String),
    Feature LowCardinality(String),
    Customer String,
    PromptFingerprint String,
    Calls SimpleAggregateFunction(sum, UInt64),
    CostUSD SimpleAggregateFunction(sum, Decimal(38, 12)),
    InputTokens SimpleAggregateFunction(sum, UInt64),
    CacheReadTokens SimpleAggregateFunction(sum, UInt64),
    CacheWriteTokens SimpleAggregateFunction(sum, UInt64),
    OutputTokens SimpleAggregateFunction(sum, UInt64),
    ReasoningTokens SimpleAggregateFunction(sum, UInt64),
    Errors SimpleAggregateFunction(sum, UInt64),
    UnpricedCalls SimpleAggregateFunction(sum, Int64),
    EstimatedCalls SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(Bucket)
ORDER BY (Bucket, ServiceName, Environment, Provider, Model, Team, Feature, Customer, PromptFingerprint)

SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS otel.llm_cost_1h_mv
TO otel.llm_cost_1h
AS SELECT toStartOfHour(Timestamp) AS Bucket, ServiceName, Environment, Provider, Model, Team, Feature, Customer, PromptFingerprint, count() AS Calls, sum(CostUSD) AS CostUSD, sum(InputTokens) AS InputTokens, sum(CacheReadTokens) AS CacheReadTokens, sum(CacheWriteTokens) AS CacheWriteTokens, sum(OutputTokens) AS OutputTokens, sum(ReasoningTokens) AS ReasoningTokens, sum(IsError) AS Errors, sum(toInt64(Unpriced)) AS UnpricedCalls, sum(TokensEstimated) AS EstimatedCalls
FROM otel.llm_calls
GROUP BY Bucket, ServiceName, Environment, Provider, Model, Team, Feature, Customer, PromptFingerprint;

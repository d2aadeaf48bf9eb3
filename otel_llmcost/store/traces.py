"""``otel_traces`` and its trace-id lookup, as the Collector's clickhouseexporter (v0.15x) creates them.

Same columns, codecs, bloom-filter indexes, partitioning, sort key and TTL, so an
otelcol-contrib ``clickhouse`` exporter and otel-llmcost can write the same table and every
tool built for that schema (Grafana's ClickHouse plugin) reads ours. One addition: the
``non_replicated_deduplication_window`` setting, which makes a retried insert with the same
``insert_deduplication_token`` a no-op (see ingest.py); it changes nothing for other writers.
"""

from __future__ import annotations

from otel_llmcost.store.ddl import Target

TRACES = "otel_traces"
TRACE_ID_TS = "otel_traces_trace_id_ts"
TRACE_ID_TS_MV = "otel_traces_trace_id_ts_mv"
DEDUP_WINDOW = 10_000  # inserts remembered per table; a retry must come within this many inserts


def dedup_setting(target: Target) -> str:
    # Replicated tables deduplicate by default (replicated_deduplication_window).
    return "" if target.cluster else f", non_replicated_deduplication_window = {DEDUP_WINDOW}"


def statements(target: Target) -> list[str]:
    return [
        traces_table(target),
        *target.distributed(TRACES, "cityHash64(TraceId)"),
        trace_id_ts_table(target),
        *target.distributed(TRACE_ID_TS, "cityHash64(TraceId)"),
        trace_id_ts_view(target),
    ]


def traces_table(target: Target) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {target.local(TRACES)}{target.on_cluster} (
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
) ENGINE = {target.engine("MergeTree", TRACES)}
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
{target.ttl("toDateTime(Timestamp)")}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1{dedup_setting(target)}"""


def trace_id_ts_table(target: Target) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {target.local(TRACE_ID_TS)}{target.on_cluster} (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = {target.engine("AggregatingMergeTree", TRACE_ID_TS)}
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
{target.ttl("toDateTime(Start)")}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1{dedup_setting(target)}"""


def trace_id_ts_view(target: Target) -> str:
    return f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {target.database}.{TRACE_ID_TS_MV}{target.on_cluster}
TO {target.local(TRACE_ID_TS)}
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM {target.local(TRACES)}
WHERE TraceId != ''
GROUP BY TraceId"""

"""Schema: migrations applied once, otel_traces exactly as the clickhouseexporter makes it, cluster DDL, CLI."""

from __future__ import annotations

import re
from decimal import Decimal as D
from pathlib import Path

from click.testing import CliRunner
from store_helpers import payload, rows

from otel_llmcost import semconv as sc
from otel_llmcost.cli.schema import schema
from otel_llmcost.store.connection import connect
from otel_llmcost.store.ingest import insert_otlp
from otel_llmcost.store.prices import load_pricing
from otel_llmcost.store.schema import MIGRATIONS, apply_schema, schema_statements

# otelcol-contrib clickhouseexporter (v0.15x) sqltemplates/traces_table.sql, bloom-filter variant
EXPORTER_TRACES_COLUMNS = [
    ("Timestamp", "DateTime64(9)", "CODEC(Delta(8), ZSTD(1))"),
    ("TraceId", "String", "CODEC(ZSTD(1))"),
    ("SpanId", "String", "CODEC(ZSTD(1))"),
    ("ParentSpanId", "String", "CODEC(ZSTD(1))"),
    ("TraceState", "String", "CODEC(ZSTD(1))"),
    ("SpanName", "LowCardinality(String)", "CODEC(ZSTD(1))"),
    ("SpanKind", "LowCardinality(String)", "CODEC(ZSTD(1))"),
    ("ServiceName", "LowCardinality(String)", "CODEC(ZSTD(1))"),
    ("ResourceAttributes", "Map(LowCardinality(String), String)", "CODEC(ZSTD(1))"),
    ("ScopeName", "String", "CODEC(ZSTD(1))"),
    ("ScopeVersion", "String", "CODEC(ZSTD(1))"),
    ("SpanAttributes", "Map(LowCardinality(String), String)", "CODEC(ZSTD(1))"),
    ("Duration", "UInt64", "CODEC(T64, ZSTD(1))"),
    ("StatusCode", "LowCardinality(String)", "CODEC(ZSTD(1))"),
    ("StatusMessage", "String", "CODEC(ZSTD(1))"),
    ("Events.Timestamp", "Array(DateTime64(9))", "CODEC(ZSTD(1))"),
    ("Events.Name", "Array(LowCardinality(String))", "CODEC(ZSTD(1))"),
    ("Events.Attributes", "Array(Map(LowCardinality(String), String))", "CODEC(ZSTD(1))"),
    ("Links.TraceId", "Array(String)", "CODEC(ZSTD(1))"),
    ("Links.SpanId", "Array(String)", "CODEC(ZSTD(1))"),
    ("Links.TraceState", "Array(String)", "CODEC(ZSTD(1))"),
    ("Links.Attributes", "Array(Map(LowCardinality(String), String))", "CODEC(ZSTD(1))"),
    ("ResourceAttributeItems", "Array(String)", ""),
    ("SpanAttributeItems", "Array(String)", ""),
]
EXPORTER_INDEXES = [
    ("idx_trace_id", "bloom_filter(0.001)", 1),
    ("idx_res_attr_key", "bloom_filter(0.01)", 1),
    ("idx_res_attr_value", "bloom_filter(0.01)", 1),
    ("idx_span_attr_key", "bloom_filter(0.01)", 1),
    ("idx_span_attr_value", "bloom_filter(0.01)", 1),
    ("idx_duration", "minmax", 1),
    ("idx_lower_span_name", "tokenbf_v1(32768, 3, 0)", 8),
]
LLM_CALLS_CONTRACT = (
    "Timestamp DateTime64(9), TraceId String, SpanId String, ParentSpanId String, ServiceName LowCardinality(String), "
    "Environment LowCardinality(String), Provider LowCardinality(String), Operation LowCardinality(String), "
    "RequestModel LowCardinality(String), Model LowCardinality(String), ServiceTier LowCardinality(String), "
    "Team LowCardinality(String), Feature LowCardinality(String), Customer String, User String, "
    "PromptName LowCardinality(String), PromptFingerprint String, AgentName LowCardinality(String), ToolCallCount UInt32, "
    "ToolCallNames Array(LowCardinality(String)), InputTokens UInt64, CacheReadTokens UInt64, CacheWriteTokens UInt64, "
    "OutputTokens UInt64, ReasoningTokens UInt64, CostUSD Decimal(18, 12), InputCostUSD Decimal(18, 12), "
    "CacheReadCostUSD Decimal(18, 12), CacheWriteCostUSD Decimal(18, 12), OutputCostUSD Decimal(18, 12), "
    "ReasoningCostUSD Decimal(18, 12), CostSource LowCardinality(String), Unpriced UInt8, TokensEstimated UInt8, "
    "Stream UInt8, DurationMs Float64, TimeToFirstChunkMs Nullable(Float64), IsError UInt8, "
    "ErrorType LowCardinality(String), FinishReasons Array(LowCardinality(String)), PricingEntry LowCardinality(String)"
)


def test_applying_twice_is_a_no_op(data_dir):
    client = connect()
    try:
        assert apply_schema(client) == [migration.name for migration in MIGRATIONS]
        tables = rows(client, "SELECT name, engine FROM system.tables WHERE database = 'otel' ORDER BY name")
        assert apply_schema(client) == []
        assert rows(client, "SELECT name, engine FROM system.tables WHERE database = 'otel' ORDER BY name") == tables
        assert rows(client, "SELECT count() AS n FROM otel.schema_migrations") == [{"n": len(MIGRATIONS)}]
    finally:
        client.close()
    assert {row["name"] for row in tables} >= {
        "otel_traces", "otel_traces_trace_id_ts", "otel_traces_trace_id_ts_mv", "llm_calls", "llm_calls_mv",
        "llm_cost_1m", "llm_cost_1m_mv", "llm_cost_1h", "llm_cost_1h_mv", "llm_pricing", "schema_migrations",
    }  # fmt: skip


def test_otel_traces_is_the_exporters_table(store):
    columns = rows(
        store,
        "SELECT name, type, compression_codec FROM system.columns WHERE database = 'otel' AND table = 'otel_traces' ORDER BY position",
    )
    assert [(c["name"], c["type"], c["compression_codec"]) for c in columns] == EXPORTER_TRACES_COLUMNS
    indexes = rows(
        store, "SELECT name, type_full, granularity FROM system.data_skipping_indices WHERE table = 'otel_traces'"
    )
    assert sorted((i["name"], i["type_full"], i["granularity"]) for i in indexes) == sorted(EXPORTER_INDEXES)
    [table] = rows(
        store, "SELECT engine, partition_key, sorting_key, primary_key FROM system.tables WHERE name = 'otel_traces'"
    )
    assert table == {
        "engine": "MergeTree",
        "partition_key": "toDate(Timestamp)",
        "sorting_key": "ServiceName, SpanName, toDateTime(Timestamp), Timestamp",
        "primary_key": "ServiceName, SpanName, toDateTime(Timestamp)",
    }
    [lookup] = rows(
        store, "SELECT engine, sorting_key, partition_key FROM system.tables WHERE name = 'otel_traces_trace_id_ts'"
    )
    assert lookup == {
        "engine": "AggregatingMergeTree",
        "sorting_key": "(TraceId)",
        "partition_key": "toStartOfWeek(Start)",
    }


def test_llm_calls_has_the_contract_columns_in_order(store):
    columns = rows(
        store, "SELECT name, type FROM system.columns WHERE database = 'otel' AND table = 'llm_calls' ORDER BY position"
    )
    described = ", ".join(f"{c['name']} {c['type']}" for c in columns)
    assert described == LLM_CALLS_CONTRACT + ", CacheWrite1hTokens UInt64"


def test_rollups_are_simple_sums_by_the_contract_keys(store):
    [table] = rows(store, "SELECT engine, sorting_key FROM system.tables WHERE name = 'llm_cost_1h'")
    assert table == {
        "engine": "AggregatingMergeTree",
        "sorting_key": "Bucket, ServiceName, Environment, Provider, Model, Team, Feature, Customer, PromptFingerprint",
    }
    measures = rows(
        store,
        "SELECT name, type FROM system.columns WHERE table = 'llm_cost_1m' AND type LIKE 'SimpleAggregate%' ORDER BY position",
    )
    assert [m["name"] for m in measures] == [
        "Calls", "CostUSD", "InputTokens", "CacheReadTokens", "CacheWriteTokens", "OutputTokens", "ReasoningTokens",
        "Errors", "NoUsageCalls", "UnpricedCalls", "EstimatedCalls",
    ]  # fmt: skip
    assert all(m["type"].startswith("SimpleAggregateFunction(sum, ") for m in measures)


def test_ttl_applies_to_new_and_existing_tables(data_dir):
    client = connect()
    try:
        apply_schema(client)
        assert apply_schema(client, ttl_days=30) == []
        [traces] = rows(client, "SELECT create_table_query AS ddl FROM system.tables WHERE name = 'otel_traces'")
        [hourly] = rows(client, "SELECT create_table_query AS ddl FROM system.tables WHERE name = 'llm_cost_1h'")
    finally:
        client.close()
    assert "TTL toDateTime(Timestamp) + toIntervalDay(30)" in traces["ddl"]
    assert "TTL" not in hourly["ddl"]  # the hourly rollup keeps the long-term history
    assert "TTL toDateTime(Timestamp) + toIntervalDay(7)" in "\n".join(schema_statements(ttl_days=7))


def test_cluster_ddl_is_replicated_distributed_and_on_cluster():
    statements = schema_statements("llm", cluster="prod", ttl_days=14)

    assert all(" ON CLUSTER prod" in sql for sql in statements)
    engines = re.findall(r"ENGINE = (\w+)\('/clickhouse/tables/([^']+)'", "\n".join(statements))
    assert ("ReplicatedMergeTree", "{shard}/llm/otel_traces_local") in engines
    assert ("ReplicatedAggregatingMergeTree", "{shard}/llm/otel_traces_trace_id_ts_local") in engines
    assert ("ReplicatedMergeTree", "{shard}/llm/llm_calls_local") in engines
    assert ("ReplicatedAggregatingMergeTree", "{shard}/llm/llm_cost_1h_local") in engines
    assert ("ReplicatedReplacingMergeTree", "llm/llm_pricing") in engines  # every node holds every price
    assert not re.search(r"ENGINE = (Aggregating|Replacing)?MergeTree\(", "\n".join(statements))
    text = "\n".join(statements)
    for table, key in (("otel_traces", "cityHash64(TraceId)"), ("llm_calls", "rand()"), ("llm_cost_1m", "rand()")):
        assert f"CREATE TABLE IF NOT EXISTS llm.{table} ON CLUSTER prod AS llm.{table}_local" in text
        assert f"ENGINE = Distributed(prod, llm, {table}_local, {key})" in text
    # the views run shard-locally, local table to local table
    assert "TO llm.llm_calls_local\nAS SELECT" in text and "FROM llm.otel_traces_local\n" in text
    assert "TO llm.llm_cost_1h_local\nAS SELECT" in text and "FROM llm.llm_calls_local\n" in text
    assert "dictGet('llm.llm_pricing_dict'" in text and "joinGet" not in text
    assert "SOURCE(CLICKHOUSE(NAME otel_llmcost QUERY 'SELECT" in text
    assert "non_replicated_deduplication_window" not in text  # replicated tables deduplicate by default


def test_cli_applies_and_shows_the_schema(data_dir):
    runner = CliRunner()

    first = runner.invoke(schema, ["apply"])
    again = runner.invoke(schema, ["apply", "--ttl-days", "10"])
    shown = runner.invoke(schema, ["show", "--database", "costs"])

    assert first.exit_code == 0, first.output
    assert "Applied 6 migration(s): 0001_otel_traces" in first.output
    assert again.output.strip() == "The schema is up to date. Retention set to 10 days."
    assert shown.output.count("CREATE MATERIALIZED VIEW IF NOT EXISTS costs.") == 4
    assert shown.output.startswith("CREATE DATABASE IF NOT EXISTS costs;")


def test_cli_names_a_bad_url_and_the_accepted_forms(data_dir):
    result = CliRunner().invoke(schema, ["apply", "--clickhouse-url", "ftp://host/otel"])

    assert result.exit_code == 1
    assert "Unsupported ClickHouse URL scheme 'ftp'" in result.output
    assert (
        "chdb:///absolute/path/to/dir" in result.output
        and "http(s)://user:password@host:8123/database" in result.output
    )


def _store_at_0004(client) -> None:
    """An existing store made by the schema before 0005, with its prices, as an older release left it."""
    text = (Path(__file__).parent / "schema_0004.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    for sql in body.split(";\n\n"):
        if sql.strip():
            client.command(sql.strip().rstrip(";"))
    for name in ("0001_otel_traces", "0002_llm_pricing", "0003_llm_calls", "0004_llm_cost_rollups"):
        client.insert("otel.schema_migrations", [[name]], column_names=["Name"])
    load_pricing(client, database="otel")


def test_an_existing_store_upgrades_to_take_failed_calls(data_dir):
    failed = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "gpt-4o", sc.ERROR_TYPE: "429"}
    priced = {sc.GEN_AI_REQUEST_MODEL: "gpt-4o", sc.GEN_AI_USAGE_INPUT_TOKENS: 1000, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 10}
    client = connect()
    try:
        _store_at_0004(client)
        client.database = "otel"
        insert_otlp(client, payload([failed, priced]), dedup_token="before")
        assert rows(client, "SELECT count() AS n FROM llm_calls") == [{"n": 1}]  # 0004 drops the failed call

        assert apply_schema(client) == ["0005_llm_calls_failed_calls", "0006_llm_calls_model_calls_only"]
        assert apply_schema(client) == []
        insert_otlp(client, payload([failed, priced]), dedup_token="after")

        calls = rows(client, "SELECT IsError, ErrorType, CostUSD, CostSource, Unpriced FROM llm_calls ORDER BY IsError")
        rollup = rows(
            client,
            "SELECT sum(Calls) AS calls, sum(Errors) AS errors, sum(NoUsageCalls) AS no_usage, "
            "sum(UnpricedCalls) AS unpriced FROM llm_cost_1h",
        )
        upgraded = _definitions(client)
    finally:
        client.close()
    price = D(1000 * 2.5 + 10 * 10) / 10**6  # gpt-4o: 2.5 / 10 USD per 1M tokens
    assert calls == [
        {"IsError": 0, "ErrorType": "", "CostUSD": price, "CostSource": "store", "Unpriced": 0},
        {"IsError": 0, "ErrorType": "", "CostUSD": price, "CostSource": "store", "Unpriced": 0},
        {"IsError": 1, "ErrorType": "429", "CostUSD": D(0), "CostSource": "", "Unpriced": 0},
    ]
    assert rollup == [{"calls": 3, "errors": 1, "no_usage": 1, "unpriced": 0}]
    client = connect(f"chdb://{data_dir.parent / 'fresh'}")  # the same process may open one store at a time
    try:
        apply_schema(client)
        fresh = _definitions(client)
    finally:
        client.close()
    assert upgraded == fresh  # the same tables, columns and view queries as a store made by the current schema


def _definitions(client) -> dict:
    columns = rows(
        client,
        "SELECT table, groupArray((name, type)) AS columns FROM (SELECT * FROM system.columns "
        "WHERE database = 'otel' ORDER BY table, position) GROUP BY table ORDER BY table",
    )
    views = rows(
        client,
        "SELECT name, as_select FROM system.tables WHERE database = 'otel' AND engine = 'MaterializedView' ORDER BY name",
    )
    return {"columns": columns, "views": views}

"""The store's schema as ordered, named migrations, applied at most once each.

Applied names are recorded in ``schema_migrations``; every statement is also idempotent
(``IF NOT EXISTS``, ``MODIFY QUERY`` to the current query), so two processes applying at once,
or a crash half-way, end the same. The modules that own the tables always describe the current
schema, which a new store gets from the first migrations; a change to a table or view that
stores already have is a new migration appended to ``MIGRATIONS`` that brings those stores to
the same state (and does nothing on a store created after it). Never remove or reorder one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_llmcost.store import llm_calls, prices, rollups, traces
from otel_llmcost.store.connection import DEFAULT_DATABASE
from otel_llmcost.store.ddl import Target

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

MIGRATIONS_TABLE = "schema_migrations"


@dataclass(frozen=True)
class Migration:
    name: str
    statements: Callable[[Target], list[str]]


def failed_calls_statements(target: Target) -> list[str]:
    """0005: llm_calls also takes GenAI client spans that failed without usage (zero tokens and cost,
    IsError), and the rollups count them (``NoUsageCalls``). Rollups first, so their views count
    the first failed call the llm_calls view lets through."""
    return [*rollups.upgrade_statements(target, ("NoUsageCalls",)), llm_calls.modify_view(target)]


def model_calls_only_statements(target: Target) -> list[str]:
    """0006: agent and tool spans carrying gen_ai.usage.* (other libraries' invoke_agent spans, as the
    semconv recommends) are not llm_calls rows, which counted every call of their run twice; an OpenLIT
    row's cost is its total only, without the store's price parts."""
    return [llm_calls.modify_view(target)]


MIGRATIONS = (
    Migration("0001_otel_traces", traces.statements),
    Migration("0002_llm_pricing", prices.statements),
    Migration("0003_llm_calls", llm_calls.statements),
    Migration("0004_llm_cost_rollups", rollups.statements),
    Migration("0005_llm_calls_failed_calls", failed_calls_statements),
    Migration("0006_llm_calls_model_calls_only", model_calls_only_statements),
)
# Tables whose rows expire with ttl_days (llm_cost_1h keeps the long-term history).
TTL_TABLES = {
    traces.TRACES: "toDateTime(Timestamp)",
    traces.TRACE_ID_TS: "toDateTime(Start)",
    llm_calls.LLM_CALLS: "toDateTime(Timestamp)",
    "llm_cost_1m": "Bucket",
}


def bootstrap_statements(target: Target) -> list[str]:
    engine = target.engine("MergeTree", MIGRATIONS_TABLE, sharded=False)
    return [
        f"CREATE DATABASE IF NOT EXISTS {target.database}{target.on_cluster}",
        (
            f"CREATE TABLE IF NOT EXISTS {target.name(MIGRATIONS_TABLE)}{target.on_cluster} "
            f"(Name String, AppliedAt DateTime64(3) DEFAULT now64(3)) ENGINE = {engine} ORDER BY Name"
        ),
    ]


def schema_statements(
    database: str = DEFAULT_DATABASE, cluster: str | None = None, ttl_days: int | None = None
) -> list[str]:
    """Every DDL statement of the schema, in order (what ``otel-llmcost schema show`` prints)."""
    target = Target(database, cluster, ttl_days)
    return [*bootstrap_statements(target), *(sql for migration in MIGRATIONS for sql in migration.statements(target))]


def applied_migrations(client: Client, database: str) -> set[str]:
    exists = client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {name:String}",
        parameters={"db": database, "name": MIGRATIONS_TABLE},
    ).result_rows[0][0]
    if not exists:
        return set()
    return {row[0] for row in client.query(f"SELECT DISTINCT Name FROM {database}.{MIGRATIONS_TABLE}").result_rows}


def apply_schema(
    client: Client,
    *,
    database: str = DEFAULT_DATABASE,
    cluster: str | None = None,
    ttl_days: int | None = None,
) -> list[str]:
    """Create or upgrade the store's tables; returns the names of the migrations applied now.

    Applying again is a no-op (returns []). ``ttl_days`` sets the retention of the raw
    tables and the minute rollup, also on tables that already exist.
    """
    target = Target(database, cluster, ttl_days)
    done = applied_migrations(client, database)
    applied = []
    if len(done) < len(MIGRATIONS):
        for sql in bootstrap_statements(target):
            client.command(sql)
    for migration in MIGRATIONS:
        if migration.name in done:
            continue
        for sql in migration.statements(target):
            client.command(sql)
        client.insert(f"{database}.{MIGRATIONS_TABLE}", [[migration.name]], column_names=["Name"])
        applied.append(migration.name)
    if ttl_days is not None and not applied:
        _modify_ttl(client, target)
    client.database = database
    if prices.is_empty(client, database):
        prices.load_pricing(client, database=database)
    return applied


def _modify_ttl(client: Client, target: Target) -> None:
    for table, time_expression in TTL_TABLES.items():
        client.command(
            f"ALTER TABLE {target.local(table)}{target.on_cluster} MODIFY {target.ttl(time_expression)}",
            # Parts expire whole (ttl_only_drop_parts); rewriting every part now would only cost time.
            settings={"materialize_ttl_after_modify": 0},
        )

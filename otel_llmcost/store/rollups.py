"""``llm_cost_1m`` and ``llm_cost_1h``: cost and tokens per minute / hour, fed from ``llm_calls``.

AggregatingMergeTree with ``SimpleAggregateFunction(sum, ...)`` columns: rows of one key
merge into one eventually, so a reader always re-aggregates with plain ``sum()`` and
``GROUP BY``. ``UnpricedCalls`` is signed because ``reprice`` corrects the rollups by
inserting differences (a call that became priced is -1 unpriced call, +its cost).
``Calls`` and ``Errors`` include failed calls that came back without usage; ``NoUsageCalls``
counts those, so a per-request average divides by ``Calls - NoUsageCalls`` (tokens) or
``Calls - UnpricedCalls - NoUsageCalls`` (cost: the calls that have one).
"""

from __future__ import annotations

from otel_llmcost.store.ddl import Target
from otel_llmcost.store.llm_calls import LLM_CALLS, NO_USAGE_ROWS
from otel_llmcost.store.traces import dedup_setting

DIMENSIONS = ("ServiceName", "Environment", "Provider", "Model", "Team", "Feature", "Customer", "PromptFingerprint")
# measure -> (type, SQL over llm_calls rows)
MEASURES = {
    "Calls": ("UInt64", "count()"),
    "CostUSD": ("Decimal(38, 12)", "sum(CostUSD)"),
    "InputTokens": ("UInt64", "sum(InputTokens)"),
    "CacheReadTokens": ("UInt64", "sum(CacheReadTokens)"),
    "CacheWriteTokens": ("UInt64", "sum(CacheWriteTokens)"),
    "OutputTokens": ("UInt64", "sum(OutputTokens)"),
    "ReasoningTokens": ("UInt64", "sum(ReasoningTokens)"),
    "Errors": ("UInt64", "sum(IsError)"),
    "NoUsageCalls": ("UInt64", f"countIf({NO_USAGE_ROWS})"),
    "UnpricedCalls": ("Int64", "sum(toInt64(Unpriced))"),
    "EstimatedCalls": ("UInt64", "sum(TokensEstimated)"),
}
# rollup table -> (bucket function, partition expression, TTL applies)
ROLLUPS = {
    "llm_cost_1m": ("toStartOfMinute", "toDate(Bucket)", True),
    "llm_cost_1h": ("toStartOfHour", "toYYYYMM(Bucket)", False),  # long-term history: small, kept
}


def statements(target: Target) -> list[str]:
    result = []
    for name in ROLLUPS:
        result += [table(target, name), *target.distributed(name), view(target, name)]
    return result


def table(target: Target, name: str) -> str:
    _, partition, has_ttl = ROLLUPS[name]
    dimensions = "".join(
        f"    {column} {'String' if column in ('Customer', 'PromptFingerprint') else 'LowCardinality(String)'},\n"
        for column in DIMENSIONS
    )
    measures = ",\n".join(
        f"    {column} SimpleAggregateFunction(sum, {kind})" for column, (kind, _) in MEASURES.items()
    )
    return f"""CREATE TABLE IF NOT EXISTS {target.local(name)}{target.on_cluster} (
    Bucket DateTime,
{dimensions}{measures}
) ENGINE = {target.engine("AggregatingMergeTree", name)}
PARTITION BY {partition}
ORDER BY (Bucket, {", ".join(DIMENSIONS)})
{target.ttl("Bucket") if has_ttl else ""}
SETTINGS index_granularity = 8192{dedup_setting(target)}"""


def aggregate_select(name: str, source: str, where: str = "") -> str:
    """SELECT that turns llm_calls rows of ``source`` into rows of rollup ``name``."""
    bucket, _, _ = ROLLUPS[name]
    measures = ", ".join(f"{sql} AS {column}" for column, (_, sql) in MEASURES.items())
    return (
        f"SELECT {bucket}(Timestamp) AS Bucket, {', '.join(DIMENSIONS)}, {measures}\nFROM {source}"
        f"{f' WHERE {where}' if where else ''}\nGROUP BY Bucket, {', '.join(DIMENSIONS)}"
    )


def view(target: Target, name: str) -> str:
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {target.database}.{name}_mv{target.on_cluster}\n"
        f"TO {target.local(name)}\nAS {aggregate_select(name, target.local(LLM_CALLS))}"
    )


def upgrade_statements(target: Target, added: tuple[str, ...]) -> list[str]:
    """Bring rollups made before the measures ``added`` existed to the current columns and views;
    a no-op on current ones. The rows before come in with zeros: a measure added later counts
    something the store did not hold before its migration."""
    measures = list(MEASURES)
    result = []
    for name in ROLLUPS:
        columns = ", ".join(
            f"ADD COLUMN IF NOT EXISTS {column} SimpleAggregateFunction(sum, {MEASURES[column][0]}) "
            f"AFTER {measures[measures.index(column) - 1]}"
            for column in added
        )
        tables = dict.fromkeys((target.local(name), target.name(name)))  # and the Distributed table on a cluster
        result += [f"ALTER TABLE {table}{target.on_cluster} {columns}" for table in tables]
        result.append(
            f"ALTER TABLE {target.database}.{name}_mv{target.on_cluster} MODIFY QUERY\n"
            f"{aggregate_select(name, target.local(LLM_CALLS))}"
        )
    return result

"""Recompute the cost of stored calls that the store priced (or could not price) after prices changed.

Only rows the store priced (``CostSource = 'store'``) or could not price (``Unpriced = 1``) change:
a span's own cost is what was billed, and a failed call without usage has nothing to price.
The rollups are corrected by inserting the difference, so calls arriving meanwhile are
neither lost nor counted twice. The work is staged in a ``Join`` table holding each row's
old and new values, and made crash-safe by that table: the rollup correction is inserted
with a dedup token named after it, so a reprice interrupted half-way is finished, not
repeated, by the next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from otel_llmcost.store import prices
from otel_llmcost.store.connection import store_database
from otel_llmcost.store.ddl import Target
from otel_llmcost.store.errors import StoreError
from otel_llmcost.store.ingest import DEDUP_SETTINGS
from otel_llmcost.store.llm_calls import LLM_CALLS, PRICED_COLUMNS, REPRICED_ROWS, StorePricing
from otel_llmcost.store.rollups import DIMENSIONS, ROLLUPS

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

logger = logging.getLogger("otel_llmcost.store")

STAGE_PREFIX = "llm_reprice_"
ROW_KEY = "concat(TraceId, ':', SpanId)"


def reprice(
    client: Client,
    since: datetime,
    until: datetime | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Reprice store-priced and unpriced calls with ``since <= Timestamp < until`` (until: now).

    Returns the number of calls whose cost changed. Call ``load_pricing`` first to pick up
    new prices. Times without a time zone are UTC.
    """
    database = store_database(client)
    if prices.is_cluster_table(client, database):
        raise StoreError(
            "reprice runs on a single ClickHouse server or the embedded store; on a cluster, run it per shard "
            "against each shard's llm_calls_local (not automated yet)."
        )
    say = progress or (lambda _message: None)
    for stage in _leftover_stages(client, database):
        say(f"finishing an interrupted reprice ({stage})")
        _finish(client, database, stage)
    stage = f"{STAGE_PREFIX}{time.time_ns()}"
    where = _window(since, until or datetime.now(timezone.utc))
    say("computing new costs")
    changed = _stage(client, database, stage, where)
    say(f"{changed} calls change; correcting rollups and calls")
    _finish(client, database, stage)
    return changed


def _window(since: datetime, until: datetime) -> str:
    return (
        f"Timestamp >= toDateTime64('{_utc(since)}', 9, 'UTC') AND Timestamp < toDateTime64('{_utc(until)}', 9, 'UTC') "
        f"AND {REPRICED_ROWS}"
    )


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _stage(client: Client, database: str, stage: str, where: str) -> int:
    """Create the stage table: old and new priced columns of every row in the window that changes."""
    pricing = StorePricing(Target(database))
    store = pricing.columns("PriceKey")
    new = {
        **{column: f"if({store['priced']}, {store[column]}, toDecimal64(0, 12))" for column in PRICED_COLUMNS[:6]},
        "CostSource": f"if({store['priced']}, 'store', '')",
        "Unpriced": f"toUInt8(NOT ({store['priced']}))",
        "PricingEntry": f"if({store['priced']}, {store['entry']}, '')",
    }
    selected = ", ".join(
        [f"{ROW_KEY} AS RowKey", *(f"{sql} AS New{column}" for column, sql in new.items())]
        + [f"{column} AS Old{column}" for column in PRICED_COLUMNS]
        + ["toStartOfMinute(Timestamp) AS Minute", *DIMENSIONS]
    )
    changed_any = " OR ".join(f"New{column} != Old{column}" for column in PRICED_COLUMNS)
    client.command(
        f"CREATE TABLE {database}.{stage} ENGINE = Join(ANY, LEFT, RowKey) AS "
        f"SELECT * FROM (SELECT {selected} FROM (SELECT *, {pricing.key} AS PriceKey FROM {database}.{LLM_CALLS} "
        f"WHERE {where})) WHERE {changed_any}"
    )
    return int(client.query(f"SELECT count() FROM {database}.{stage}").result_rows[0][0])


def _finish(client: Client, database: str, stage: str) -> None:
    """Correct the rollups by the difference (once, by dedup token), update the calls, drop the stage."""
    for rollup, (bucket, _, _) in ROLLUPS.items():
        client.command(
            f"INSERT INTO {database}.{rollup} (Bucket, {', '.join(DIMENSIONS)}, CostUSD, UnpricedCalls) "
            f"SELECT {bucket}(Minute) AS Bucket, {', '.join(DIMENSIONS)}, "
            "sum(NewCostUSD) - sum(OldCostUSD), sum(toInt64(NewUnpriced)) - sum(toInt64(OldUnpriced)) "
            f"FROM {database}.{stage} GROUP BY Bucket, {', '.join(DIMENSIONS)}",
            settings={**DEDUP_SETTINGS, "insert_deduplication_token": f"{stage}-{rollup}"},
        )
    assignments = ", ".join(
        f"{column} = joinGet('{database}.{stage}', 'New{column}', {ROW_KEY})" for column in PRICED_COLUMNS
    )
    client.command(
        f"ALTER TABLE {database}.{LLM_CALLS} UPDATE {assignments} "
        f"WHERE {ROW_KEY} IN (SELECT RowKey FROM {database}.{stage})",
        settings={"mutations_sync": 2, "allow_nondeterministic_mutations": 1},
    )
    client.command(f"DROP TABLE IF EXISTS {database}.{stage}")


def _leftover_stages(client: Client, database: str) -> list[str]:
    rows = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String} AND startsWith(name, {prefix:String}) ORDER BY name",
        parameters={"db": database, "prefix": STAGE_PREFIX},
    ).result_rows
    return [row[0] for row in rows]


def price_new_models(client: Client) -> int:
    """Price calls whose model the store could not price at ingestion but the catalog resolves
    (gateway prefixes, Bedrock/Vertex ids, new user prices); returns the calls repriced."""
    database = store_database(client)
    pending = client.query(
        f"SELECT Model, RequestModel, Provider, toUnixTimestamp64Nano(min(Timestamp)), "
        f"toUnixTimestamp64Nano(max(Timestamp)) FROM {database}.{LLM_CALLS} "
        "WHERE Unpriced = 1 AND CostSource = '' GROUP BY Model, RequestModel, Provider"
    ).result_rows
    if not pending:
        return 0
    known = set(prices.observed_names(client, database))
    names = {
        (prices.normalize(name), provider) for model, request, provider, _, _ in pending for name in (model, request)
    }
    rows = prices.observed_rows(sorted(name for name in names - known if name[0]))
    if not rows:
        return 0
    prices.write_rows(client, database, rows, time.time_ns())
    prices.reload(client, database)
    since = _from_nanos(min(row[3] for row in pending))
    until = _from_nanos(max(row[4] for row in pending)) + timedelta(microseconds=1)
    return reprice(client, since, until)


def _from_nanos(nanos: int) -> datetime:
    """A UTC datetime at or before ``nanos`` (datetime holds microseconds)."""
    return datetime.fromtimestamp(nanos // 1000 / 1e6, tz=timezone.utc)

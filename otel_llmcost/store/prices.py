"""The store's price table: what prices spans that arrive without a cost.

Spans from otel-llmcost carry their cost; spans from other instrumentations (anthropic's
own tracing, OpenLLMetry, an otelcol-contrib pipeline) often carry only tokens. The
``llm_calls`` view prices those at ingestion from ``llm_pricing``, whose rows come from the
package catalog (``otel_llmcost.pricing``, with the user's overrides): one row per
(lookup name, provider, billing tier) with the rate card already resolved by the pricing
module, as exact USD per token. Lookup names are the catalog's aliases (exact id, family
name) plus every model name seen in the data that the catalog resolves (gateway prefixes,
Bedrock and Vertex ids...): ``price_new_models`` adds those after an ingest.

On one server (and chDB) the table is a ``Join`` engine read with ``joinGet``: no
dictionary, so no credentials in DDL. On a cluster it is a replicated table read through a
dictionary (``llm_pricing_dict``) whose source uses the named collection ``otel_llmcost``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

from otel_llmcost.pricing import PRICE_FIELDS, PriceEntry, catalog_entries, find_price
from otel_llmcost.pricing.cost import rates_for
from otel_llmcost.pricing.entry import PER_MILLION, TIERS
from otel_llmcost.pricing.names import CATALOG_PROVIDERS, OPEN_MODEL_HOSTS, OTHER_LIST, bare_id, base_name
from otel_llmcost.pricing.types import EXACT
from otel_llmcost.store.ddl import Target

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

PRICING = "llm_pricing"
PRICING_DICT = "llm_pricing_dict"
NAMED_COLLECTION = "otel_llmcost"  # cluster mode: the dictionary source's credentials
KEY_SEPARATOR = "\x1f"  # never part of a model, provider or tier name
PER_TOKEN = Decimal("1e-12")  # the store's precision: Decimal(38, 12) USD per token
RATES = ("Input", "CacheRead", "CacheWrite5m", "CacheWrite1h", "Output")
CATALOG, OBSERVED = "catalog", "observed"

COLUMNS = (
    ("Key", "String"),
    ("Name", "String"),
    ("Provider", "String"),
    ("Tier", "String"),
    ("Found", "UInt8"),
    ("Entry", "String"),
    ("EntryProvider", "String"),
    ("EffectiveDate", "String"),
    ("Origin", "String"),
    *((rate, "Decimal(38, 12)") for rate in RATES),
    ("LongThreshold", "UInt64"),
    *((f"Long{rate}", "Decimal(38, 12)") for rate in RATES),
    ("LoadId", "UInt64"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)


def statements(target: Target) -> list[str]:
    columns = ",\n    ".join(f"{name} {kind}" for name, kind in COLUMNS)
    if not target.cluster:
        return [
            (
                f"CREATE TABLE IF NOT EXISTS {target.name(PRICING)} (\n    {columns}\n)\n"
                "ENGINE = Join(ANY, LEFT, Key)\nSETTINGS join_any_take_last_row = 1"
            )
        ]
    # Every node prices the spans of its own shard, so every node holds all prices.
    engine = target.engine("ReplacingMergeTree", PRICING, "LoadId", sharded=False)
    attributes = ",\n    ".join(f"{name} {kind} DEFAULT {_default(kind)}" for name, kind in COLUMNS[1:])
    query = f"SELECT {', '.join(COLUMN_NAMES)} FROM {target.name(PRICING)} FINAL"
    return [
        (
            f"CREATE TABLE IF NOT EXISTS {target.name(PRICING)}{target.on_cluster} (\n    {columns}\n)\n"
            f"ENGINE = {engine}\nORDER BY Key"
        ),
        (
            f"CREATE DICTIONARY IF NOT EXISTS {target.name(PRICING_DICT)}{target.on_cluster} (\n"
            f"    Key String,\n    {attributes}\n)\nPRIMARY KEY Key\n"
            f"SOURCE(CLICKHOUSE(NAME {NAMED_COLLECTION} QUERY '{query}'))\n"
            "LAYOUT(COMPLEX_KEY_HASHED())\nLIFETIME(MIN 300 MAX 600)"
        ),
    ]


def _default(kind: str) -> str:
    return "''" if kind == "String" else "0"


def key_sql(name: str, provider: str, tier: str) -> str:
    return f"concat({name}, '\\x1f', {provider}, '\\x1f', {tier})"


def lookup_sql(target: Target, column: str, key: str) -> str:
    """SQL for one column of the price row under ``key`` (0 / '' when there is none)."""
    if target.cluster:
        return f"dictGet('{target.name(PRICING_DICT)}', '{column}', tuple({key}))"
    return f"joinGet('{target.name(PRICING)}', '{column}', {key})"


@dataclass(frozen=True)
class PriceRow:
    name: str
    provider: str
    entry: PriceEntry
    origin: str


def catalog_rows() -> list[PriceRow]:
    """Every catalog alias for any provider, and each name of an entry for the providers that resolve it there.

    ``gpt-4o-mini`` has a provider-less row (OpenAI's list price) and an ``azure.ai.openai``
    row with Azure's price, because ``find_price`` answers so.
    """
    rows = []
    providers_of: dict[str, list[str]] = {}
    for provider, catalog_name in CATALOG_PROVIDERS.items():
        providers_of.setdefault(catalog_name, []).append(provider)
        if catalog_name in OTHER_LIST:  # Azure's other list prices the names its own lacks
            providers_of.setdefault(OTHER_LIST[catalog_name], []).append(provider)
    for item in catalog_entries():
        entry = _entry(item)
        if entry.provider not in OPEN_MODEL_HOSTS:  # Groq's qwen/qwen3-32b is no self-hosted Qwen's price
            rows += [PriceRow(alias, "", entry, CATALOG) for alias in item["aliases"]]
        name = bare_id(entry.key)[0]
        for candidate in dict.fromkeys((*item["aliases"], entry.key.lower(), name, base_name(name))):
            for provider in providers_of.get(entry.provider, ()):
                found = find_price(candidate, provider)
                if found is not None and (found.key, found.provider) == (entry.key, entry.provider):
                    # found: with the discount of the provider serving the call (a Foundry discount on
                    # an Azure OpenAI price), as the span's cost has it
                    rows.append(PriceRow(candidate, provider, found, CATALOG))
    return rows


def observed_rows(names: Iterable[tuple[str, str]]) -> list[PriceRow]:
    """Rows for (model name, provider) pairs seen in the data that the catalog can price."""
    rows = []
    for name, provider in names:
        entry = find_price(name, provider or None)
        if entry is not None:
            rows.append(PriceRow(normalize(name), provider, entry, OBSERVED))
    return rows


def normalize(name: str) -> str:
    """A model name the way the views look it up (lower(trimBoth(...)))."""
    return name.strip().lower()


def _entry(item: dict[str, Any]) -> PriceEntry:
    return PriceEntry(
        key=item["key"],
        provider=item["provider"],
        mode=item["mode"],
        prices={name: item[name] for name in PRICE_FIELDS if item.get(name) is not None},
        long_context_threshold=item["long_context_threshold"],
        web_search_per_1k=item["web_search_per_1k"],
        source=item["source"],
        effective_date=item["effective_date"],
    )


def table_columns(rows: Iterable[PriceRow], load_id: int) -> list[list[Any]]:
    """Column-oriented data for ``llm_pricing``: one row per tier the entry offers."""
    data: list[list[Any]] = [[] for _ in COLUMNS]
    for row in rows:
        entry = row.entry
        threshold = entry.long_context_threshold or 0
        long_threshold = threshold if threshold and entry.is_long_context(threshold + 1) else 0
        for tier in TIERS:
            if not entry.offers(tier):
                continue
            values = (
                f"{row.name}{KEY_SEPARATOR}{row.provider}{KEY_SEPARATOR}{tier}",
                row.name,
                row.provider,
                tier,
                1,
                entry.key,
                entry.provider,
                entry.effective_date,
                row.origin,
                *_per_token(rates_for(entry, tier, False)),
                long_threshold,
                *_per_token(rates_for(entry, tier, True)),
                load_id,
            )
            for column, value in zip(data, values, strict=True):
                column.append(value)
    return data


def _per_token(rates: Iterable[Decimal]) -> list[Decimal]:
    with localcontext(EXACT):  # not the application's Decimal context (a narrow one cannot even quantize)
        return [(rate / PER_MILLION).quantize(PER_TOKEN) for rate in rates]


def is_cluster_table(client: Client, database: str) -> bool:
    engine = client.query(
        "SELECT engine FROM system.tables WHERE database = {db:String} AND name = {name:String}",
        parameters={"db": database, "name": PRICING},
    ).result_rows
    return bool(engine) and engine[0][0] != "Join"


def observed_names(client: Client, database: str) -> list[tuple[str, str]]:
    return [
        (name, provider)
        for name, provider in client.query(
            f"SELECT DISTINCT Name, Provider FROM {database}.{PRICING} WHERE Origin = '{OBSERVED}'"
        ).result_rows
    ]


def write_rows(client: Client, database: str, rows: list[PriceRow], load_id: int) -> None:
    if rows:
        client.insert(
            f"{database}.{PRICING}", table_columns(rows, load_id), column_names=list(COLUMN_NAMES), column_oriented=True
        )


def reload(client: Client, database: str) -> None:
    if is_cluster_table(client, database):
        client.command(f"SYSTEM RELOAD DICTIONARY {database}.{PRICING_DICT}")


def load_pricing(client: Client, *, database: str | None = None) -> int:
    """Refresh ``llm_pricing`` from the package catalog (and the user's overrides); returns the rows written.

    New rows replace old ones key by key and the old load is deleted afterwards, so the
    views never see an empty table. Names seen in the data are resolved again, so a price
    added to the catalog reaches them. Call ``reprice`` afterwards for past rows.
    """
    from otel_llmcost.store.connection import store_database

    database = database or store_database(client)
    load_id = time.time_ns()
    rows = catalog_rows() + observed_rows(observed_names(client, database))
    write_rows(client, database, rows, load_id)
    client.command(f"ALTER TABLE {database}.{PRICING} DELETE WHERE LoadId < {load_id}", settings={"mutations_sync": 2})
    reload(client, database)
    return len(rows)


def is_empty(client: Client, database: str) -> bool:
    return not client.query(f"SELECT count() FROM {database}.{PRICING}").result_rows[0][0]

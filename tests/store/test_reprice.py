"""Repricing: calls the store priced or could not price get the new price; their rollups follow exactly."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_DOWN, localcontext
from decimal import Decimal as D

import pytest
from click.testing import CliRunner
from store_helpers import local_call, make_spans, rows

from otel_llmcost import semconv as sc
from otel_llmcost.cli.schema import reprice as reprice_command
from otel_llmcost.pricing import Usage, clear_overrides, find_price, price_call, set_price
from otel_llmcost.store.connection import open_store
from otel_llmcost.store.exporter import encode
from otel_llmcost.store.ingest import insert_otlp
from otel_llmcost.store.prices import COLUMN_NAMES, PriceRow, load_pricing, table_columns
from otel_llmcost.store.reprice import price_new_models, reprice

DAY = 86_400 * 10**9
JULY_1 = int(datetime(2026, 7, 1, tzinfo=timezone.utc).timestamp()) * 10**9


def _call(model: str, input_tokens: int, output_tokens: int, **extra) -> dict:
    return {
        sc.GEN_AI_REQUEST_MODEL: model,
        sc.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
        **extra,
    }


def _insert(client, calls, start_times, token):
    insert_otlp(client, encode(make_spans(calls, start_times=start_times)), dedup_token=token)


def _rollups_match_calls(client) -> None:
    calls = rows(
        client,
        "SELECT Model, count() AS calls, sum(CostUSD) AS cost, sum(Unpriced) AS unpriced FROM llm_calls GROUP BY Model ORDER BY Model",
    )
    for rollup in ("llm_cost_1m", "llm_cost_1h"):
        rolled = rows(
            client,
            f"SELECT Model, sum(Calls) AS calls, sum(CostUSD) AS cost, sum(UnpricedCalls) AS unpriced FROM {rollup} GROUP BY Model ORDER BY Model",
        )
        assert rolled == calls, rollup


def test_a_new_price_reaches_past_unpriced_calls_in_the_window_only(store):
    calls = [_call("acme-llm-1", 1_000_000, 500_000)] * 3 + [
        local_call("acme-llm-1", D(9), input_tokens=1, output_tokens=1)
    ]
    _insert(store, calls, [JULY_1, JULY_1 + DAY, JULY_1 + 5 * DAY, JULY_1 + DAY], "july")
    assert rows(store, "SELECT sum(Unpriced) AS unpriced FROM llm_calls") == [{"unpriced": 3}]

    set_price("acme-llm-1", input=2, output=8)
    load_pricing(store)
    changed = reprice(store, datetime(2026, 7, 1), datetime(2026, 7, 3))

    assert changed == 2
    by_source = rows(
        store,
        "SELECT CostSource, count() AS calls, sum(CostUSD) AS cost, any(PricingEntry) AS entry FROM llm_calls GROUP BY CostSource ORDER BY CostSource",
    )
    assert by_source == [
        {"CostSource": "", "calls": 1, "cost": D(0), "entry": ""},  # July 6: outside the window
        {"CostSource": "local", "calls": 1, "cost": D(9), "entry": ""},  # a span's own cost is what was billed
        {"CostSource": "store", "calls": 2, "cost": 2 * (D(2) + D(4)), "entry": "acme-llm-1"},
    ]
    _rollups_match_calls(store)
    assert reprice(store, datetime(2026, 7, 1), datetime(2026, 7, 3)) == 0  # nothing left to change


def test_a_price_change_reprices_store_priced_calls(store):
    _insert(store, [_call("acme-llm-2", 2_000_000, 0)] * 2, [JULY_1, JULY_1 + 3_600 * 10**9], "a")
    set_price("acme-llm-2", input=1, output=1)
    load_pricing(store)
    reprice(store, datetime(2026, 6, 1))
    assert rows(store, "SELECT sum(CostUSD) AS cost FROM llm_calls") == [{"cost": D(4)}]

    clear_overrides()
    set_price("acme-llm-2", input="0.45", output=1)
    load_pricing(store)
    assert reprice(store, datetime(2026, 6, 1)) == 2

    assert rows(store, "SELECT sum(CostUSD) AS cost FROM llm_calls") == [{"cost": D("1.8")}]
    _rollups_match_calls(store)


def test_failed_calls_without_usage_have_nothing_to_reprice(store):
    refused = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "acme-llm-5", sc.ERROR_TYPE: "429"}
    _insert(store, [refused, _call("acme-llm-5", 1_000_000, 0)], [JULY_1, JULY_1 + 60 * 10**9], "refused")
    assert price_new_models(store) == 0  # an unknown model, but only the call with usage is unpriced
    set_price("acme-llm-5", input=2, output=2)
    load_pricing(store)

    assert reprice(store, datetime(2026, 7, 1)) == 1

    assert rows(store, "SELECT IsError, CostUSD, CostSource, Unpriced FROM llm_calls ORDER BY IsError") == [
        {"IsError": 0, "CostUSD": D(2), "CostSource": "store", "Unpriced": 0},
        {"IsError": 1, "CostUSD": D(0), "CostSource": "", "Unpriced": 0},
    ]
    _rollups_match_calls(store)


def test_an_interrupted_reprice_is_finished_by_the_next_not_repeated(store):
    _insert(store, [_call("acme-llm-3", 1_000_000, 0)] * 4, [JULY_1 + i * 60 * 10**9 for i in range(4)], "a")
    set_price("acme-llm-3", input=3, output=3)
    load_pricing(store)

    class Crashes:
        """The store dies right after the rollups were corrected, before the calls are updated."""

        def __init__(self, client):
            self._client = client

        def command(self, sql, *args, **kwargs):
            if sql.startswith("ALTER TABLE otel.llm_calls UPDATE"):
                raise ConnectionError("store went away")
            return self._client.command(sql, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._client, name)

    with pytest.raises(ConnectionError):
        reprice(Crashes(store), datetime(2026, 7, 1))
    reprice(store, datetime(2026, 7, 1))

    assert rows(store, "SELECT sum(CostUSD) AS cost, sum(Unpriced) AS unpriced FROM llm_calls") == [
        {"cost": D(12), "unpriced": 0}
    ]
    _rollups_match_calls(store)
    assert rows(store, "SELECT count() AS stages FROM system.tables WHERE name LIKE 'llm_reprice_%'") == [{"stages": 0}]


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("openai/gpt-4o-mini-2024-07-18", "openai"),  # a gateway's prefixed id
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws.bedrock"),  # a Bedrock inference profile
        ("claude-sonnet-4-5@20250929", "gcp.vertex_ai"),  # a Vertex version suffix
        ("GPT-4o-Mini", "azure.ai.openai"),  # Azure's own price, whatever the case
        ("mistral-large-latest", "azure.ai.inference"),  # Microsoft Foundry's list price
        ("gpt-4o-mini", "azure.ai.inference"),  # Foundry's call of a name only Azure OpenAI's list has ($0.165)
    ],
)
def test_model_ids_as_sdks_and_gateways_spell_them_are_priced_like_the_catalog_does(data_dir, model, provider):
    usage = Usage(input_tokens=40_000, cache_read_tokens=10_000, output_tokens=2_000)
    call = _call(
        model, 40_000, 2_000, **{sc.GEN_AI_PROVIDER_NAME: provider, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 10_000}
    )
    client = open_store()
    try:
        _insert(client, [call], [JULY_1], "gateway")
    finally:
        client.close()

    client = open_store()  # the next command to open the store prices what ingestion could not
    try:
        [row] = rows(client, "SELECT CostUSD, CostSource, Unpriced FROM llm_calls")
        assert price_new_models(client) == 0  # nothing left
        _rollups_match_calls(client)
    finally:
        client.close()
    assert row == {"CostUSD": price_call(model, usage, provider=provider).total, "CostSource": "store", "Unpriced": 0}


def test_groqs_prices_are_its_own_calls_not_another_hosts_of_the_same_open_model(store):
    # Groq's list holds other makers' open models: a self-hosted Qwen (provider openai) or OpenRouter's took
    # Groq's price through the store's provider-less rows; only Groq's calls get it (the SDK leaves them unpriced).
    calls = [
        _call("Qwen/Qwen3-32B", 1_000_000, 1_000_000, **{sc.GEN_AI_PROVIDER_NAME: "openai"}),
        _call("qwen/qwen3-32b", 1_000_000, 1_000_000, **{sc.GEN_AI_PROVIDER_NAME: "openrouter"}),
        _call("qwen/qwen3-32b", 1_000_000, 1_000_000, **{sc.GEN_AI_PROVIDER_NAME: "groq"}),
    ]
    _insert(store, calls, [JULY_1] * 3, "groq")
    price_new_models(store)
    priced = rows(store, "SELECT Provider, CostUSD, Unpriced FROM llm_calls ORDER BY Provider")
    # qwen/qwen3-32b on Groq: 0.29 / 0.59 USD per 1M tokens
    assert priced == [
        {"Provider": "groq", "CostUSD": D("0.88"), "Unpriced": 0},
        {"Provider": "openai", "CostUSD": D(0), "Unpriced": 1},
        {"Provider": "openrouter", "CostUSD": D(0), "Unpriced": 1},
    ]
    assert find_price("Qwen/Qwen3-32B", "openai") is None and find_price("qwen/qwen3-32b", "openrouter") is None


def test_a_gateway_prefixed_model_is_unpriced_until_the_store_resolves_it(store):
    _insert(store, [_call("openai/gpt-4o-mini", 1_000_000, 0, **{sc.GEN_AI_PROVIDER_NAME: "openai"})], [JULY_1], "gw")
    assert rows(store, "SELECT Unpriced FROM llm_calls") == [{"Unpriced": 1}]

    assert price_new_models(store) == 1

    assert rows(store, "SELECT CostUSD, PricingEntry FROM llm_calls") == [
        {"CostUSD": D("0.15"), "PricingEntry": "gpt-4o-mini"}
    ]
    _rollups_match_calls(store)


def test_the_reprice_command_reloads_prices_first(data_dir):
    set_price("acme-llm-4", input=1, output=1)
    client = open_store()
    try:
        _insert(client, [_call("acme-llm-4", 1_000_000, 1_000_000)], [JULY_1], "cli")
        assert rows(client, "SELECT CostUSD FROM llm_calls") == [{"CostUSD": D(2)}]
    finally:
        client.close()
    clear_overrides()
    set_price("acme-llm-4", input=1, output=2)

    result = CliRunner().invoke(reprice_command, ["--since", "2026-06-30", "--until", "2026-07-02T00:00"])

    assert result.exit_code == 0, result.output
    assert "Repriced 1 call(s) between 2026-06-30T00:00:00+00:00 .. 2026-07-02T00:00:00+00:00." in result.output
    client = open_store()
    try:
        assert rows(client, "SELECT CostUSD FROM llm_calls") == [{"CostUSD": D(3)}]
    finally:
        client.close()


def test_the_reprice_command_checks_its_window(data_dir):
    result = CliRunner().invoke(reprice_command, ["--since", "2d", "--until", "3d"])

    assert result.exit_code == 2
    assert "--until" in result.output and "must be after --since" in result.output


def test_the_price_table_is_exact_whatever_the_applications_decimal_context():
    """A program that narrows Decimal's precision for its own money math, before the store writes
    its price table (which derives and caches the rate cards first), gets the same table and the
    same exact costs as with the default context (it used to raise InvalidOperation there)."""
    set_price(
        "acme-derived",
        input="0.3333333333333333333333333333",
        output="1.2345678901234567",
        cache_read="0.03333333333333333333",
        batch_input="0.1111111111111111111111",
        batch_output="0.5",
    )
    row = PriceRow("acme-derived", "", find_price("acme-derived"), "api")
    usage = Usage(input_tokens=3_000_000, output_tokens=0, cache_read_tokens=3_000_000)
    with localcontext() as context:
        context.prec = 4
        context.rounding = ROUND_DOWN
        narrow = dict(zip(COLUMN_NAMES, table_columns([row], 1), strict=True))
        cost = price_call("acme-derived", usage, service_tier="batch")
    assert narrow == dict(zip(COLUMN_NAMES, table_columns([row], 1), strict=True))
    assert narrow["Tier"] == ["standard", "batch"]
    # The batch cache read is derived: the standard one times batch input / standard input (1/3).
    assert narrow["CacheRead"] == [D("0.000000033333"), D("0.000000011111")]
    assert narrow["Input"] == [D("0.000000333333"), D("0.000000111111")]
    assert cost is not None
    assert (
        cost.cache_read
        == D("0.03333333333333333333") * D("0.1111111111111111111111") / D("0.3333333333333333333333333333") * 3
    )


def test_the_store_prices_a_call_as_its_span_does_where_azure_and_foundry_discounts_differ():
    # A Foundry call priced from Azure OpenAI's list (and the reverse) gets the discount of the provider that
    # served it; the store's row had the other list's discount (gpt-4o on Foundry: $2.25 there, $1.25 on the span).
    from otel_llmcost.store.prices import catalog_rows

    set_price(None, provider="azure", discount=10)
    set_price(None, provider="azure.ai.inference", discount=50)
    try:
        rows = {(row.name, row.provider): row.entry for row in catalog_rows()}
        for name, provider, input_price in (
            ("gpt-4o", "azure.ai.inference", D("1.25")),
            ("gpt-4o", "azure.ai.openai", D("2.25")),
            ("phi-4", "azure.ai.inference", D("0.0625")),
            ("phi-4", "azure.ai.openai", D("0.1125")),
        ):
            assert rows[name, provider].prices["input"] == find_price(name, provider).prices["input"] == input_price
    finally:
        clear_overrides()

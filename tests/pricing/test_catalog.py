import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from otel_llmcost.pricing import PRICE_FIELDS, catalog_entries, catalog_metadata, find_price
from otel_llmcost.pricing.build_catalog import CATALOG_PATH, build, per_million
from otel_llmcost.pricing.entry import PriceEntry, format_price

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "pricing"
LITELLM = REFERENCE / "litellm_model_prices_2026-07-24.json"
LANGFUSE = REFERENCE / "langfuse_default_model_prices.json"


def test_shipped_catalog_is_exactly_what_the_importer_builds_from_the_sources():
    shipped = json.loads(CATALOG_PATH.read_text())
    rebuilt, _ = build(json.loads(LITELLM.read_text()), json.loads(LANGFUSE.read_text()), "2026-07-24", shipped["generated"])
    assert rebuilt == shipped


def test_catalog_header_names_versions_and_sources():
    metadata = catalog_metadata()
    assert metadata["schema_version"] == 1
    assert metadata["catalog_version"].startswith("2026-07-24.")
    assert [source["name"] for source in metadata["sources"]] == [
        "litellm model_prices_and_context_window.json 2026-07-24",
        "langfuse default-model-prices (updated to 2026-08-20)",
    ]


def test_a_bedrock_geographic_profile_listed_at_global_prices_gets_the_regional_premium():
    # LiteLLM listed eu. Claude Opus 4.5 at the global profile's prices, while us. Opus 4.5 (and every
    # other geographic profile from the 4.5 models on) costs AWS's 10% more: EU calls were 9% low.
    from otel_llmcost.pricing import Usage, price_call

    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    costs = {
        geo: price_call(f"{geo}.anthropic.claude-opus-4-5-20251101-v1:0", usage, provider="aws.bedrock").total
        for geo in ("global", "us", "eu")
    }
    assert costs == {"global": D(30), "us": D("33"), "eu": D("33")}
    correction = {c["key"]: c for c in catalog_metadata()["corrections"]}["eu.anthropic.claude-opus-4-5-20251101-v1:0"]
    assert (correction["from"], correction["to"]) == ("5, 0.5, 6.25, 10, 25", "5.5, 0.55, 6.875, 11, 27.5")


def test_catalog_records_the_documented_corrections():
    corrections = {(c["key"], c["field"]): c for c in catalog_metadata()["corrections"]}
    opus_1h = corrections["claude-3-opus-20240229", "cache_write_1h"]
    assert (opus_1h["from"], opus_1h["to"]) == ("6", "30")  # 2 x $15 input
    batch = corrections["claude-opus-4-5", "batch_input, batch_output"]
    assert batch["to"] == "2.5, 12.5"  # 50% of $5 / $25
    openai_batch = corrections["gpt-5", "batch_input, batch_output"]
    assert openai_batch["to"] == "0.625, 5"  # 50% of $1.25 / $10
    assert openai_batch["reason"].startswith("OpenAI Batch API")
    # Listed by LiteLLM already (gpt-4o-mini), or not served by the Batch API: no correction.
    assert ("gpt-4o-mini", "batch_input, batch_output") not in corrections
    assert not [key for key, _ in corrections if "audio" in key or key.endswith(("-chat", "-chat-latest"))]


def test_cross_check_records_each_disagreement_and_the_choice():
    records = {(r["key"], r["field"]): r for r in catalog_metadata()["cross_check"]}
    # LiteLLM gives this EU profile of Claude 3.5 Haiku the prices of Claude 3 Haiku.
    haiku = records["eu.anthropic.claude-3-5-haiku-20241022-v1:0", "input"]
    assert (haiku["litellm"], haiku["langfuse"], haiku["chosen"]) == ("0.25", "0.8", "langfuse")
    # Langfuse rounds o4-mini's flex cached input (half of $0.275) to 0.138.
    flex = records["o4-mini", "flex_cache_read"]
    assert (flex["litellm"], flex["langfuse"], flex["chosen"]) == ("0.1375", "0.138", "litellm")
    # AWS's regional premium is real: Langfuse's pattern does not distinguish regional ids.
    regional = records["us.anthropic.claude-sonnet-4-5-20250929-v1:0", "input"]
    assert (regional["litellm"], regional["langfuse"], regional["chosen"]) == ("3.3", "3", "litellm")
    assert find_price("eu.anthropic.claude-3-5-haiku-20241022-v1:0").prices["input"] == D("0.8")


@pytest.mark.parametrize(
    ("per_token", "per_1m"),
    [(1.6500000000000002e-06, "1.65"), (7.5e-08, "0.075"), (1.375e-07, "0.1375"), (3e-05, "30"), (0.0, "0")],
)
def test_per_token_floats_become_exact_per_million_decimals(per_token, per_1m):
    assert format_price(per_million(per_token)) == per_1m


def litellm_entry(**prices):
    return {"litellm_provider": "openai", "mode": "chat", **prices}


def langfuse_model(name, updated, **prices):
    return {
        "modelName": name,
        "matchPattern": f"(?i)^(openai/)?({name})$",
        "updatedAt": f"{updated}T00:00:00.000Z",
        "pricingTiers": [{"name": "Standard", "isDefault": True, "conditions": [], "prices": prices}],
    }


def test_importer_prefers_the_later_source_and_keeps_tiers_in_proportion():
    litellm = {
        "m-newer": litellm_entry(
            input_cost_per_token=2.5e-06,
            output_cost_per_token=1.5e-05,
            input_cost_per_token_batches=1.25e-06,
            output_cost_per_token_batches=7.5e-06,
        ),
        "m-older": litellm_entry(input_cost_per_token=3e-06, output_cost_per_token=4e-06),
    }
    langfuse = [
        langfuse_model("m-newer", "2026-08-20", input=2e-06, output=1.2e-05, input_cache_read=2e-07),
        langfuse_model("m-older", "2025-12-12", input=5e-07, output=1.5e-06),
    ]
    catalog, check = build(litellm, langfuse, "2026-07-24", "2026-11-22")
    entries = {entry["key"]: entry for entry in catalog["entries"]}

    # Langfuse updated m-newer after the LiteLLM snapshot: its $2 / $12 win, its cache price fills the
    # gap, and LiteLLM's batch prices follow the new level (still 50%).
    assert entries["m-newer"]["prices"] == {
        "input": "2",
        "cache_read": "0.2",
        "output": "12",
        "batch_input": "1",
        "batch_output": "6",
    }
    assert entries["m-newer"]["effective_date"] == "2026-08-20"
    # The LiteLLM snapshot is newer than Langfuse's m-older row. Neither lists a batch price for this
    # OpenAI text model: the documented Batch API correction gives it half of each.
    assert entries["m-older"]["prices"] == {"input": "3", "output": "4", "batch_input": "1.5", "batch_output": "2"}
    assert {(r["key"], r["field"], r["chosen"]) for r in check.records} == {
        ("m-newer", "input", "langfuse"),
        ("m-newer", "output", "langfuse"),
        ("m-older", "input", "litellm"),
        ("m-older", "output", "litellm"),
    }
    assert check.filled == 1


def test_catalog_entries_are_flat_rows_with_aliases():
    rows = {(row["key"], row["provider"]): row for row in catalog_entries()}
    row = rows["gpt-4o-mini-2024-07-18", "openai"]
    assert set(PRICE_FIELDS) <= set(row)
    assert (row["input"], row["cache_read"], row["output"], row["flex_input"]) == (D("0.15"), D("0.075"), D("0.6"), None)
    assert row["aliases"] == ["gpt-4o-mini-2024-07-18"]
    assert rows["gpt-4o-mini", "openai"]["aliases"] == ["gpt-4o-mini"]
    assert rows["azure/gpt-4o-mini", "azure"]["aliases"] == ["azure/gpt-4o-mini"]
    assert "claude-3-7-sonnet" in rows["claude-3-7-sonnet-20250219", "anthropic"]["aliases"]


@pytest.mark.parametrize(
    ("model", "provider", "key"),
    [
        ("gpt-4o-mini", None, "gpt-4o-mini"),
        ("OpenAI/GPT-4o-mini", None, "gpt-4o-mini"),
        ("gpt-4o", "azure.ai.openai", "azure/gpt-4o"),
        ("azure/gpt-4o", None, "azure/gpt-4o"),
        ("claude-3-7-sonnet-latest", None, "claude-3.7-sonnet-latest"),
        ("claude-3.7-sonnet-20250219", None, "claude-3-7-sonnet-20250219"),
        ("claude-3-5-sonnet-v2@20241022", "gcp.vertex_ai", "vertex_ai/claude-3-5-sonnet"),
        ("bedrock/converse/us.anthropic.claude-sonnet-4-6", None, "us.anthropic.claude-sonnet-4-6"),
        ("claude-sonnet-4-5-20250929", "aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("ft:gpt-4.1-2025-04-14:acme::x1", None, "ft:gpt-4.1-2025-04-14"),
        ("ft:gpt-5-mini-2025-08-07:acme::x1", None, "gpt-5-mini-2025-08-07"),  # no fine-tune price: base model
        ("gpt-4o-mini-2099-01-01", None, "gpt-4o-mini"),
        # provider unknown: the model maker's own price, not a cloud's (Azure's $8 / $24, Vertex's without cache)
        ("mistral-large-latest", None, "mistral/mistral-large-latest"),
        ("claude-3-5-haiku", None, "claude-3-5-haiku-20241022"),
        ("mistral-large-latest", "azure.ai.openai", "azure/mistral-large-latest"),
        # a gateway (OpenRouter, a LiteLLM proxy: provider openai) serving another maker's model: that
        # maker's price, not the first cloud's that lists the id (Vertex's, without its cache rate)
        ("anthropic/claude-3.5-haiku", "openai", "claude-3-5-haiku-20241022"),
        ("claude-3-5-haiku", "openai", "claude-3-5-haiku-20241022"),
        # OpenRouter's dots from Claude 4 on, the version before the family, the official -4-0 aliases
        ("anthropic/claude-sonnet-4.5", "openrouter", "claude-sonnet-4-5"),
        ("anthropic/claude-opus-4.1", None, "claude-opus-4-1"),
        ("claude-haiku-4.5", None, "claude-haiku-4-5"),
        ("claude-4.5-sonnet", None, "claude-sonnet-4-5"),
        ("anthropic/claude-4.5-sonnet-20250929", None, "claude-sonnet-4-5-20250929"),
        ("claude-sonnet-4-0", "anthropic", "claude-4-sonnet-20250514"),
        ("claude-opus-4-0", "anthropic", "claude-4-opus-20250514"),
        # Vertex's OpenAI endpoint (google/...: Vertex's own entries, keyed without a prefix), OpenRouter's vendor names
        ("google/gemini-2.5-flash", "gcp.vertex_ai", "gemini-2.5-flash"),
        ("google/gemini-2.0-flash-001", "gcp.vertex_ai", "gemini-2.0-flash-001"),
        ("google/gemini-2.5-flash", None, "gemini/gemini-2.5-flash"),
        ("models/gemini-2.5-flash", "gcp.gemini", "gemini/gemini-2.5-flash"),  # the Gemini API's resource name
        ("x-ai/grok-4-fast-reasoning", None, "xai/grok-4-fast-reasoning"),
        ("mistralai/mistral-large-latest", None, "mistral/mistral-large-latest"),
        # Bedrock's OpenAI-compatible service (bedrock-mantle.<region>.api.aws) names models without -1:0
        ("openai.gpt-oss-120b", "aws.bedrock", "bedrock_mantle/openai.gpt-oss-120b"),
        ("xai.grok-4.3", "aws.bedrock", "bedrock_mantle/xai.grok-4.3"),
        ("openai.gpt-oss-120b-1:0", "aws.bedrock", "openai.gpt-oss-120b-1:0"),
        # Microsoft Foundry's models at Azure's own prices (DeepSeek-R1: $1.35 / $5.40, not DeepSeek's $0.55 / $2.19)
        ("DeepSeek-R1", "azure.ai.openai", "azure_ai/deepseek-r1"),
        ("Llama-3.3-70B-Instruct", "azure.ai.openai", "azure_ai/Llama-3.3-70B-Instruct"),
        ("gpt-5.5", "azure.ai.openai", "azure/gpt-5.5"),  # Azure OpenAI's entry where both list one
        # ... and Foundry's own calls at Foundry's list: Mistral Large at $2 / $6 (Azure OpenAI's list has $8 /
        # $24), gpt-5.4-mini with the priority and long-context tiers Azure OpenAI's entry lacks
        ("mistral-large-latest", "azure.ai.inference", "azure_ai/mistral-large-latest"),
        ("gpt-5.4-mini", "azure.ai.inference", "azure_ai/gpt-5.4-mini"),
        ("gpt-5.4-mini", "azure.ai.openai", "azure/gpt-5.4-mini"),
        ("gpt-4o", "azure.ai.inference", "azure/gpt-4o"),  # a name only Azure OpenAI's list has
        ("azure_ai/mistral-large-latest", None, "azure_ai/mistral-large-latest"),
        ("claude-sonnet-4-5", "azure.ai.openai", "claude-sonnet-4-5"),  # Anthropic's list price, tiers and fees
        # an OpenAI-compatible gateway in front of Bedrock or Azure (its calls are named openai): the cloud
        # the id names prices it
        ("us.amazon.nova-pro-v1:0", "openai", "us.amazon.nova-pro-v1:0"),
        ("bedrock/amazon.nova-pro-v1:0", "openai", "amazon.nova-pro-v1:0"),
        ("azure/gpt-35-turbo", "openai", "azure/gpt-35-turbo"),
        # ... even where the model's maker lists it too: the cloud bills the call, at its own rates (Bedrock's
        # regional premium, Azure's $2.75 for gpt-4o-2024-11-20, Vertex's $0.15 for Gemini 2.0 Flash)
        (
            "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "openai",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        ("azure/gpt-4o-2024-11-20", "openai", "azure/gpt-4o-2024-11-20"),
        ("vertex_ai/gemini-2.0-flash-001", "openai", "gemini-2.0-flash-001"),
        ("azure_ai/mistral-large-2407", "openai", "azure_ai/mistral-large-2407"),
    ],
)
def test_model_ids_match_the_catalog(model, provider, key):
    assert find_price(model, provider).key == key


@pytest.mark.parametrize(
    ("model", "key", "prices"),
    [
        ("openai/gpt-oss-120b", "groq/openai/gpt-oss-120b", (D("0.15"), D("0.6"))),  # Groq's own spelling
        ("gpt-oss-120b", "groq/openai/gpt-oss-120b", (D("0.15"), D("0.6"))),
        ("llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile", (D("0.59"), D("0.79"))),
        (
            "meta-llama/llama-4-scout-17b-16e-instruct",
            "groq/meta-llama/llama-4-scout-17b-16e-instruct",
            (D("0.11"), D("0.34")),
        ),
    ],
)
def test_groqs_calls_are_priced_from_groqs_list(model, key, prices):
    # The catalog had no Groq prices: every Groq call was unpriced (gpt-oss-120b on Groq is not Azure's, either)
    entry = find_price(model, "groq")
    assert (entry.key, entry.provider, entry.prices["input"], entry.prices["output"]) == (key, "groq", *prices)


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("openai/gpt-oss-120b", "openai"),  # a self-hosted vLLM: no per-token price at all
        ("openai/gpt-oss-120b", "openrouter"),  # OpenRouter charges its own ($0.18 / $0.80), not Azure's
        ("mistral-nemo", "openai"),  # Ollama's name for Mistral NeMo
        ("phi-4", "openai"),
    ],
)
def test_a_model_only_a_cloud_resells_is_unpriced_on_another_provider(model, provider):
    # The catalog lists these under a cloud only (Azure's gpt-oss-120b at $0.15 / $0.60): a call another
    # provider served got that cloud's price, with no unpriced flag, where neither it nor the maker lists one.
    assert find_price(model, provider) is None
    # the cloud's own calls keep its price (Foundry's list, these being Foundry models), on either endpoint
    assert find_price(model, "azure.ai.inference").provider == "azure_ai"
    assert find_price(model, "azure.ai.openai").provider == "azure_ai"
    assert find_price(model.rpartition("/")[2]) is not None  # no provider named (nor a prefix): the likeliest


@pytest.mark.parametrize("model", ["gpt-6-mini", "claude-fable-5-2", "", "totally-unknown"])
def test_unknown_ids_have_no_price(model):
    assert find_price(model) is None


@pytest.mark.parametrize("model", ["deepseek-v2", "deepseek-v4", "deepseek/deepseek-v4", "claude-v3"])
def test_a_model_generation_is_not_a_version_of_another(model):
    # Only cloud ids carry versions to strip (Bedrock's -v1:0, amazon.titan-text-express-v1, Vertex's
    # claude-3-5-sonnet-v2@20241022): deepseek-v4 is not deepseek-v3 (0.27 / 1.1), it is unknown.
    assert find_price(model) is None


def test_the_entries_no_call_finds_are_listed_with_the_entry_that_prices_their_calls():
    # LiteLLM lists some models twice at one provider (kimi-k2.5 on Bedrock at $3 and $3.03 output): which one
    # prices the calls is recorded, not left to whoever reads the lookup code
    catalog = json.loads(CATALOG_PATH.read_text())
    shadowed = {(record["key"], record["provider"]): record for record in catalog["shadowed"]}
    for item in catalog["entries"]:
        found = find_price(item["key"], item["provider"])
        record = shadowed.get((item["key"], item["provider"]))
        if (found.key, found.provider) == (item["key"], item["provider"]):
            assert record is None, record
        else:
            assert record is not None and record["priced_by"] == found.key, item["key"]
            assert (record["prices"] == "the same") is (found.prices == PriceEntry.from_json(item).prices)
    kimi = shadowed["bedrock/moonshotai.kimi-k2.5", "bedrock"]
    assert (kimi["priced_by"], kimi["prices"]) == ("moonshotai.kimi-k2.5", "differ")  # AWS's $3, not $3.03

import json
import logging
from decimal import Decimal as D

import pytest

from otel_llmcost import semconv as sc
from otel_llmcost.pricing import Usage, catalog_entries, clear_overrides, find_price, price_call, set_price

M = D(1_000_000)
ONE_M_EACH = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


def use_price_file(monkeypatch, path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    monkeypatch.setenv(sc.ENV_PRICING_FILE, str(path))
    clear_overrides()  # re-read the file on next use


def test_override_file_prices_a_new_model_and_discounts_catalog_ones(monkeypatch, tmp_path):
    use_price_file(
        monkeypatch,
        tmp_path / "prices.json",
        {
            "prices": [
                {"model": "acme-llm", "provider": "openai", "input": 0.2, "output": "0.6", "cache_read": "0.02"},
                {"model": "gpt-4o-mini", "discount": 20},
                {"provider": "anthropic", "discount": "10"},
            ]
        },
    )
    usage = Usage(input_tokens=10_000, cache_read_tokens=5_000, output_tokens=1_000)
    custom = price_call("acme-llm", usage, provider="openai")
    assert custom.total == 5_000 * D("0.2") / M + 5_000 * D("0.02") / M + 1_000 * D("0.6") / M == D("0.0017")
    assert custom.source == f"override file {tmp_path / 'prices.json'}"

    # 20% off gpt-4o-mini's $0.15 / $0.075 / $0.60 -- for its dated versions too.
    for model in ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"):
        cost = price_call(model, usage)
        assert cost.input == 5_000 * (D("0.15") * D("0.8")) / M
        assert cost.cache_read == 5_000 * (D("0.075") * D("0.8")) / M
        assert cost.output == 1_000 * (D("0.6") * D("0.8")) / M
        assert "20% discount" in cost.source
    # gpt-4o is another model: list price.
    assert price_call("gpt-4o", ONE_M_EACH).total == D("2.5") + D(10)
    # 10% off every Anthropic model: claude-sonnet-4-5 at $2.70 / $13.50 (100k input: under long context).
    cost = price_call("claude-sonnet-4-5", Usage(input_tokens=100_000, output_tokens=100_000), provider="anthropic")
    assert cost.total == 100_000 * D("2.7") / M + 100_000 * D("13.5") / M == D("1.62")


def test_a_price_with_a_provider_applies_to_that_provider_only():
    set_price("gpt-4o", provider="azure.ai.openai", input=1, output=4)
    assert price_call("gpt-4o", ONE_M_EACH, provider="azure.ai.openai").total == D(5)
    # Served by OpenAI: the catalog's $2.50 / $10.
    assert price_call("gpt-4o", ONE_M_EACH, provider="openai").total == D("12.5")


def test_set_price_and_clear_overrides():
    assert price_call("acme-embed", Usage(input_tokens=1_000)) is None
    set_price("acme-embed", input="0.05", output=0, mode="embedding")
    assert price_call("acme-embed", Usage(input_tokens=1_000)).total == 1_000 * D("0.05") / M
    set_price(None, provider="openai", discount=50)
    assert price_call("gpt-4.1", ONE_M_EACH).total == (D(2) + D(8)) / 2

    clear_overrides()
    assert find_price("acme-embed") is None
    assert price_call("gpt-4.1", ONE_M_EACH).total == D(10)


def test_set_price_overrides_the_catalog_for_that_model():
    set_price("gpt-4o", input=2, output=8, cache_read=1)
    cost = price_call("gpt-4o-2024-11-20", Usage(input_tokens=1_000_000, cache_read_tokens=500_000, output_tokens=0))
    assert cost.total == 500_000 * D(2) / M + 500_000 * D(1) / M == D("1.5")
    assert cost.entry == "gpt-4o"


def prices_of(entry):
    return (entry.prices["input"], entry.prices["output"])


def test_a_price_restricted_to_a_provider_leaves_calls_of_unknown_provider_at_the_catalog_price():
    set_price("gpt-4o", provider="azure", input=1, output=2)
    assert prices_of(find_price("gpt-4o", "azure.ai.openai")) == (D(1), D(2))
    # gpt-4o (OpenAI's list price $2.50 / $10) for a call whose provider is not known, and for OpenAI's
    for model, provider in (("gpt-4o", None), ("gpt-4o-2024-08-06", None), ("gpt-4o", "openai")):
        assert prices_of(find_price(model, provider)) == (D("2.5"), D(10)), (model, provider)
    rows = {(row["key"], row["provider"]): row for row in catalog_entries()}
    assert "gpt-4o" in rows["gpt-4o", "openai"]["aliases"]  # the store's provider-less gpt-4o row
    assert "gpt-4o" not in rows["gpt-4o", "azure"]["aliases"]


def test_an_azure_price_holds_for_foundry_calls_and_a_foundry_price_for_those_only():
    # Foundry (azure.ai.inference) is priced from its own list, yet it is Azure that bills it: a user's Azure price
    # holds for its calls; a Foundry price does not hold for Azure OpenAI's (azure.ai.openai) calls.
    set_price("mistral-large-latest", provider="azure", input=1, output=3)
    assert prices_of(find_price("mistral-large-latest", "azure.ai.inference")) == (D(1), D(3))
    assert prices_of(find_price("mistral-large-latest", "azure.ai.openai")) == (D(1), D(3))
    clear_overrides()
    set_price("mistral-large-latest", provider="azure.ai.inference", input=1, output=3)
    assert prices_of(find_price("mistral-large-latest", "azure.ai.inference")) == (D(1), D(3))
    assert prices_of(find_price("mistral-large-latest", "azure.ai.openai")) == (D(8), D(24))  # the catalog's
    clear_overrides()
    set_price(None, provider="azure.ai.inference", discount=50)
    assert prices_of(find_price("mistral-large-latest", "azure.ai.inference")) == (D(1), D(3))  # $2 / $6 halved
    assert prices_of(find_price("mistral-large-latest", "azure.ai.openai")) == (D(8), D(24))
    set_price("mistral-large-latest", provider="azure", discount=25)  # a model's discount before a provider's
    assert prices_of(find_price("mistral-large-latest", "azure.ai.inference")) == (D("1.5"), D("4.5"))


def test_a_price_for_a_clouds_model_id_holds_for_that_clouds_calls_only(monkeypatch, tmp_path):
    # `pricing list --provider azure` names Azure's entries azure/gpt-4o: a price file copying that id without a
    # provider priced OpenAI's own gpt-4o calls too. A gateway's spelling (Groq's openai/gpt-oss-120b) names no cloud.
    use_price_file(
        monkeypatch,
        tmp_path / "prices.json",
        {
            "prices": [
                {"model": "azure/gpt-4o", "input": 1, "output": 4},
                {"model": "bedrock/amazon.nova-pro-v1:0", "discount": 50},
                {"model": "openai/gpt-oss-120b", "input": "0.1", "output": "0.5"},
            ]
        },
    )
    assert prices_of(find_price("gpt-4o", "azure.ai.openai")) == (D(1), D(4))
    assert prices_of(find_price("gpt-4o", "azure.ai.inference")) == (D(1), D(4))  # Foundry's calls are Azure's
    assert prices_of(find_price("azure/gpt-4o", "openai")) == (D(1), D(4))  # a LiteLLM proxy's spelling
    assert prices_of(find_price("gpt-4o", "openai")) == (D("2.5"), D(10))  # OpenAI's list price
    assert prices_of(find_price("gpt-4o", None)) == (D("2.5"), D(10))
    assert prices_of(find_price("amazon.nova-pro-v1:0", "aws.bedrock")) == (D("0.4"), D("1.6"))  # $0.80 / $3.20 halved
    assert prices_of(find_price("bedrock/amazon.nova-pro-v1:0", "openai")) == (D("0.4"), D("1.6"))
    assert prices_of(find_price("gpt-oss-120b", "groq")) == (D("0.1"), D("0.5"))
    assert prices_of(find_price("openai/gpt-oss-120b", "groq")) == (D("0.1"), D("0.5"))


def test_a_price_for_one_provider_leaves_the_price_for_every_provider_to_the_others():
    # The Anthropic price was found for an OpenAI or Groq call (a model maker's first), then refused: the call
    # went unpriced, though the user priced the model for every provider too.
    set_price("acme-chat", input=1, output=2)
    set_price("acme-chat", provider="anthropic", input=5, output=6)
    set_price("acme-chat", provider="azure.ai.inference", input=3, output=4)
    for provider in ("openai", "groq", "azure.ai.openai", None):
        assert prices_of(find_price("acme-chat", provider)) == (D(1), D(2)), provider
    assert prices_of(find_price("acme-chat", "anthropic")) == (D(5), D(6))
    assert prices_of(find_price("acme-chat", "azure.ai.inference")) == (D(3), D(4))


def test_a_price_for_the_cloud_an_id_names_wins_over_the_users_other_prices_of_the_model():
    # Through a LiteLLM proxy (provider openai) the user's Bedrock or Azure price of the id was skipped as soon as
    # they priced the model elsewhere too (Anthropic's API, OpenAI's)
    bedrock = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    set_price(bedrock, input="2.4", output=12)
    set_price("claude-sonnet-4-5", provider="anthropic", input="2.7", output="13.5")
    set_price("gpt-4o", provider="openai", input=1, output=4)
    set_price("azure/gpt-4o", input=9, output=9)
    assert prices_of(find_price(bedrock, "openai")) == (D("2.4"), D(12))
    assert prices_of(find_price("azure/gpt-4o", "openai")) == (D(9), D(9))
    assert prices_of(find_price("gpt-4o", "openai")) == (D(1), D(4))
    clear_overrides()
    # a discount of the gateway's provider name is not the cloud's: Azure's list price, no OpenAI discount
    set_price(None, provider="openai", discount=50)
    assert prices_of(find_price("azure/gpt-4o-2024-11-20", "openai")) == (D("2.75"), D(11))


def test_a_price_for_one_dated_id_without_a_provider_holds_beside_a_family_price_for_one_provider():
    # The user's OpenAI price for gpt-4o does not price gpt-4o-2024-05-13 (the catalog prices it apart); their
    # provider-less price for that id does, on OpenAI's calls too (it was left for the catalog's $5)
    set_price("gpt-4o", provider="openai", input=2, output=8)
    set_price("gpt-4o-2024-05-13", input=4, output=12)
    for provider in ("openai", "groq"):
        assert prices_of(find_price("gpt-4o-2024-05-13", provider)) == (D(4), D(12)), provider


def test_a_price_for_one_dated_id_prices_that_id_not_its_listed_siblings():
    # gpt-4o-2024-05-13 is $5 / $15 in the catalog; a negotiated $4 / $12 for it leaves the other
    # snapshots, which the catalog lists at $2.50 / $10, alone. A discount on it likewise.
    set_price("gpt-4o-2024-05-13", input=4, output=12)
    assert prices_of(find_price("gpt-4o-2024-05-13")) == (D(4), D(12))
    for model in ("gpt-4o", "gpt-4o-2024-11-20", "gpt-4o-2024-08-06"):
        assert prices_of(find_price(model, "openai")) == (D("2.5"), D(10)), model
    clear_overrides()
    set_price("gpt-4o-2024-08-06", discount=50)
    assert prices_of(find_price("gpt-4o-2024-08-06")) == (D("1.25"), D(5))
    assert prices_of(find_price("gpt-4o-2024-11-20")) == (D("2.5"), D(10))


def test_a_price_for_a_family_leaves_a_snapshot_the_catalog_prices_apart_at_its_own_price():
    # A negotiated $1 / $2 for gpt-4o (the catalog's $2.50 / $10) prices the snapshots listed at the family's
    # price and the unknown ones; gpt-4o-2024-05-13, listed at $5 / $15, keeps its own (it became $1 / $2).
    set_price("gpt-4o", input=1, output=2)
    for model in ("gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o-2099-01-01"):
        assert prices_of(find_price(model, "openai")) == (D(1), D(2)), model
    for model, provider in (("gpt-4o-2024-05-13", "openai"), ("openai/gpt-4o-2024-05-13", None)):
        assert prices_of(find_price(model, provider)) == (D(5), D(15)), model
    # A snapshot at its family's standard prices that lists a tier the family's entry lacks (Azure's
    # gpt-5.1-2025-11-13 has priority prices) is not priced apart: the family's price holds for it.
    set_price("gpt-5.1", provider="azure", input="0.5", output=4)
    assert prices_of(find_price("gpt-5.1-2025-11-13", "azure")) == (D("0.5"), D(4))


def test_discounts_for_one_model_at_two_providers_both_hold():
    set_price("claude-sonnet-4-5", provider="anthropic", discount=15)
    set_price("claude-sonnet-4-5", provider="aws.bedrock", discount=5)
    # claude-sonnet-4-5: $3 input at Anthropic and on Bedrock
    assert find_price("claude-sonnet-4-5", "anthropic").prices["input"] == D("2.55")
    assert find_price("claude-sonnet-4-5", "aws.bedrock").prices["input"] == D("2.85")


def test_setting_a_price_again_replaces_it_for_every_spelling_of_the_model(monkeypatch, tmp_path):
    # The file prices my-model; set_price() twice over it: the latest call wins everywhere.
    item = {"model": "my-model", "provider": "openai", "input": 9, "output": 9}
    use_price_file(monkeypatch, tmp_path / "prices.json", {"prices": [item]})
    assert prices_of(find_price("my-model", "openai")) == (D(9), D(9))
    set_price("my-model", provider="openai", input=1, output=2)
    set_price("my-model", provider="openai", input=3, output=4)
    for model in ("my-model", "MY-MODEL", "openai/my-model", "my-model-2025-01-01", "my-model@latest"):
        assert prices_of(find_price(model, "openai")) == (D(3), D(4)), model
    assert prices_of(find_price("openai/my-model")) == (D(3), D(4))
    # The replaced price is no longer in force: one row for the store's pricing table, at the new price.
    rows = [row for row in catalog_entries() if row["key"] == "my-model"]
    assert [(row["input"], row["output"]) for row in rows] == [(D(3), D(4))]
    assert price_call("my-model", ONE_M_EACH, provider="openai").total == D(7)

    # A later spelling with a gateway prefix replaces it too.
    set_price("openai/my-model", provider="openai", input=5, output=6)
    assert prices_of(find_price("my-model", "openai")) == (D(5), D(6))
    assert prices_of(find_price("my-model-2025-01-01", "openai")) == (D(5), D(6))

    # After clear_overrides() the same holds from scratch (and the file is read again).
    clear_overrides()
    assert prices_of(find_price("my-model", "openai")) == (D(9), D(9))
    set_price("my-model", provider="openai", input=7, output=8)
    set_price("my-model", provider="openai", input=10, output=11)
    assert prices_of(find_price("my-model", "openai")) == (D(10), D(11))
    assert prices_of(find_price("my-model-2025-01-01", "openai")) == (D(10), D(11))


def test_a_later_item_of_the_price_file_wins(monkeypatch, tmp_path):
    items = [{"model": "acme-llm", "input": 1, "output": 1}, {"model": "acme-llm", "input": 2, "output": 2}]
    use_price_file(monkeypatch, tmp_path / "prices.json", {"prices": items})
    assert prices_of(find_price("acme-llm")) == (D(2), D(2))
    assert prices_of(find_price("acme-llm-20250101")) == (D(2), D(2))


def test_set_price_takes_any_provider_name_spans_may_carry_but_not_a_misspelt_known_one():
    # groq, together: no catalog prices, but calls (or another instrumentation's spans) may name them
    for provider in ("groq", "together", "aws.bedrock", "Azure"):
        set_price("acme-llm", provider=provider, input=1, output=2)
    with pytest.raises(ValueError, match="'aws.bedrok' is not a provider name: did you mean aws.bedrock?"):
        set_price("acme-llm", provider="aws.bedrok", input=1, output=2)


def test_a_company_named_as_the_provider_is_said_with_the_names_spans_carry(monkeypatch, tmp_path, caplog):
    # No span is named "google" or "aws": the discount held for no call, and nothing said so. It still holds for
    # a span that carries that name (another instrumentation's), so it is a warning, not an error.
    items = [
        {"provider": "google", "discount": 20},
        {"provider": "aws", "discount": 10},
        {"provider": "grok", "discount": 5},
    ]
    use_price_file(monkeypatch, tmp_path / "prices.json", {"prices": items})
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.pricing"):
        assert price_call("gemini-2.5-pro", Usage(input_tokens=100_000), provider="gcp.gemini").total == D("0.125")
        assert price_call("gemini-2.5-pro", Usage(input_tokens=100_000), provider="google").total == D("0.1")
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 3, said
    assert "prices[0].provider 'google' is no provider name" in said[0]
    assert "did you mean gcp.gemini (the Gemini API) or gcp.vertex_ai (Vertex AI)?" in said[0]
    assert "did you mean aws.bedrock?" in said[1]
    assert "did you mean x_ai?" in said[2]  # xAI's model, not Groq, the company its name is closest to


def test_a_discount_on_a_model_the_catalog_does_not_price_is_said_once(caplog):
    set_price("claude-sonet-4-5", discount=15)  # a typo: no call gets it
    set_price("gpt-4o-mini", discount=20)  # a family: its list price and its dated versions'
    set_price("acme-llm", input=1, output=2)
    set_price("acme-llm", discount=50)  # a discount takes off list prices, not the user's own
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.pricing"):
        # the list price ($3 / $15; 100k input: under long context)
        usage = Usage(input_tokens=100_000, output_tokens=100_000)
        assert price_call("claude-sonnet-4-5", usage, provider="anthropic").total == D("1.8")
        assert price_call("gpt-4o-mini-2024-07-18", ONE_M_EACH).total == (D("0.15") + D("0.6")) * D("0.8")
        assert price_call("acme-llm", ONE_M_EACH).total == D(3)
        set_price("gpt-4o", discount=10)  # the prices combined again: neither is said twice
        price_call("gpt-4o", ONE_M_EACH)
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2, said
    assert "The discount of set_price() on model 'claude-sonet-4-5' matches no catalog price" in said[0]
    assert said[0].endswith("Did you mean claude-sonnet-4-5 or claude-sonnet-4-6 or claude-sonnet-5?")
    assert "on model 'acme-llm' matches no catalog price" in said[1] and "the price you give it" in said[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input": "cheap", "output": 1}, "set_price().input must be a number"),
        ({"input": -1, "output": 1}, "must be a finite number >= 0"),
        ({"input": 1}, "needs output"),
        ({"input": 1, "output": 1, "inptu": 2}, "unknown field(s) inptu"),
        ({"discount": 120}, "percentage from 0 to 100"),
        ({"discount": 10, "input": 1}, "both a discount and prices"),
        # accepted before and never applied, or written onto every span's price date
        ({"input": 1, "output": 1, "long_input": 2}, "gives long_input but no long_context_threshold"),
        ({"input": 1, "output": 1, "effective_date": "yesterday"}, "effective_date must be a date as YYYY-MM-DD"),
        ({"input": 1, "output": 1, "effective_date": "2026-02-30"}, "effective_date must be a date as YYYY-MM-DD"),
        ({"input": 1, "output": 1, "mode": ["chat"]}, "mode must be a text"),
        # a tier's prices without its input price: the tier was not offered, so they were never used
        ({"input": 1, "output": 2, "batch_output": 1}, "gives batch_output but not batch_input"),
        ({"input": 1, "output": 2, "flex_cache_read": 1}, "gives flex_cache_read but not flex_input"),
        (
            {"input": 1, "output": 2, "long_context_threshold": 200_000, "long_output": 4},
            "gives long_output but not long_input",
        ),
        # a tier's long-context prices without long_input were accepted, shown, and never applied
        (
            {
                **{"input": 2, "output": 8, "flex_input": 1, "flex_output": 4, "flex_long_input": 2},
                "long_context_threshold": 100_000,
            },
            "gives flex_long_input but not long_input",
        ),
        # a typo's price: priced nothing (decimal.Overflow in the cost math), or hung building its exact rates
        ({"input": "1e999999", "output": 1}, "input is out of range: use 0 or a number from 1e-15 to 1,000,000"),
        ({"input": "1e-99999999", "output": 1}, "input is out of range"),
        # an integer past the 4300 digits Python writes out: the message itself failed, naming no field
        (
            {"input": 10**5000, "output": 1},
            "input is out of range: use 0 or a number from 1e-15 to 1,000,000, got an integer of about 5,000 digits",
        ),
        (
            {"input": 1, "output": 2, "long_input": 2, "long_context_threshold": 10**5000},
            (
                "long_context_threshold must be a whole number of input tokens from 1 to 1,000,000,000,000 "
                "(e.g. 200000), got an integer of about 5,000 digits"
            ),
        ),
    ],
)
def test_set_price_rejects_bad_input_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        set_price("acme-llm", **kwargs)


@pytest.mark.parametrize("zero", ["0e-99999999", "0E+99999999", "-0"])
def test_a_zero_price_written_with_any_exponent_is_zero(zero):
    # 0e-99999999 passed the range check, and building its exact integer rate hung the first call
    set_price("acme-llm", input=zero, output=1)
    cost = price_call("acme-llm", Usage(input_tokens=1_000_000, output_tokens=1_000_000))
    assert (cost.input, cost.total) == (D(0), D(1))
    assert str(cost.input) == "0"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"prices": [ {"model": "x", "input": 1, ', "it is not valid JSON"),
        ({"models": []}, 'expected an object {"prices": [ ... ]}'),
        ({"prices": [{"model": "acme-llm", "input": "1", "ouput": "2"}]}, "prices[0] has unknown field(s) ouput"),
        ({"prices": [{"model": "acme-llm", "input": "-1", "output": "2"}]}, "prices[0].input must be a finite number >= 0"),
        ({"prices": [{"model": "gpt-4o", "discount": "lots"}]}, "prices[0].discount must be a number"),
        # a misspelt provider never matches a call: the price or discount would silently not apply
        (
            {"prices": [{"model": "acme-llm", "provider": "openia", "input": 1, "output": 2}]},
            "prices[0].provider 'openia' is not a provider name: did you mean openai?",
        ),
        ({"prices": [{"provider": "azur", "discount": 10}]}, "did you mean azure?"),
        ({"prices": [], "version": 1}, "unknown top-level key(s) version"),
        ({"prices": [{"model": "acme-llm", "input": 1, "output": 2, "effective_date": "2026-13-45"}]}, "YYYY-MM-DD"),
        # broke every price lookup with a RecursionError, catalog models' too
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (b'{"prices": [{"model": "caf\xe9", "input": 1, "output": 2}]}', "not UTF-8 text (byte 0xe9 at offset 26)"),
        # json's ValueError for an integer of more than 4300 digits: every call's pricing failed, its usage lost
        ('{"prices": [{"model": "acme-llm", "input": ' + "1" * 5000 + ', "output": 1}]}', "a number in it cannot be read"),
        # the store keeps a threshold as UInt64: every command that opened it failed
        (
            {"prices": [{"model": "acme-llm", "input": 1, "output": 2, "long_input": 2, "long_context_threshold": 2**64}]},
            "long_context_threshold must be a whole number of input tokens from 1 to 1,000,000,000,000",
        ),
    ],
    ids=lambda value: value[:40] if isinstance(value, (str, bytes)) else None,
)
def test_bad_override_file_logs_one_clear_error_and_keeps_the_catalog(monkeypatch, tmp_path, caplog, content, problem):
    path = tmp_path / "prices.json"
    with caplog.at_level(logging.ERROR, logger="otel_llmcost.pricing"):
        use_price_file(monkeypatch, path, content)
        costs = [price_call("gpt-4o-mini", Usage(input_tokens=1_000_000)) for _ in range(2)]
        assert find_price("acme-llm") is None

    assert [cost.total for cost in costs] == [D("0.15"), D("0.15")]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert str(path) in errors[0] and sc.ENV_PRICING_FILE in errors[0] and problem in errors[0]


def test_a_price_file_path_of_an_unknown_users_home_is_reported(monkeypatch, caplog):
    # Path.expanduser() raised RuntimeError outside the error handling: every call lost its usage and cost
    monkeypatch.setenv(sc.ENV_PRICING_FILE, "~no-such-user-here/prices.json")
    clear_overrides()
    with caplog.at_level(logging.ERROR, logger="otel_llmcost.pricing"):
        assert price_call("gpt-4o-mini", Usage(input_tokens=1_000_000)).total == D("0.15")
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "~no-such-user-here/prices.json" in error and "write the full path" in error


def test_an_override_file_with_a_byte_order_mark_is_read(monkeypatch, tmp_path):
    content = json.dumps({"prices": [{"model": "acme-llm", "input": 1, "output": 2}]})
    use_price_file(monkeypatch, tmp_path / "prices.json", "\ufeff" + content)
    assert prices_of(find_price("acme-llm")) == (D(1), D(2))


def test_missing_override_file_is_reported(monkeypatch, tmp_path, caplog):
    missing = tmp_path / "nope.json"
    monkeypatch.setenv(sc.ENV_PRICING_FILE, str(missing))
    clear_overrides()
    with caplog.at_level(logging.ERROR, logger="otel_llmcost.pricing"):
        assert price_call("gpt-4o-mini", Usage(input_tokens=1_000_000)).total == D("0.15")
    assert any(str(missing) in r.getMessage() and "cannot read it" in r.getMessage() for r in caplog.records)


def test_a_provider_discount_follows_the_provider_that_serves_the_call():
    # Claude on Azure Foundry falls back to Anthropic's list price ($3 input for claude-sonnet-4-5), and
    # babbage-002 on Azure to OpenAI's ($0.40): an Azure discount holds for both, an Anthropic or OpenAI one
    # for neither (it holds for the calls Anthropic or OpenAI serve).
    set_price(None, provider="azure", discount=10)
    assert find_price("claude-sonnet-4-5", "azure.ai.inference").prices["input"] == D("2.7")
    assert find_price("babbage-002", "azure.ai.openai").prices["input"] == D("0.36")
    assert find_price("claude-sonnet-4-5", "anthropic").prices["input"] == D(3)
    clear_overrides()
    set_price(None, provider="anthropic", discount=20)
    set_price(None, provider="openai", discount=50)
    assert find_price("claude-sonnet-4-5", "anthropic").prices["input"] == D("2.4")
    assert find_price("babbage-002", "openai").prices["input"] == D("0.2")
    for model, provider in (("claude-sonnet-4-5", "openrouter"), ("claude-sonnet-4-5", "azure.ai.inference")):
        assert find_price(model, provider).prices["input"] == D(3), provider
    assert find_price("babbage-002", "azure.ai.openai").prices["input"] == D("0.4")


def test_a_model_discount_for_a_provider_holds_where_its_calls_fall_back_to_another_price():
    set_price("claude-sonnet-4-5", provider="azure", discount=25)
    assert find_price("claude-sonnet-4-5", "azure.ai.inference").prices["input"] == D("2.25")
    assert find_price("claude-sonnet-4-5", "anthropic").prices["input"] == D(3)


def test_a_price_for_a_groq_prefixed_id_is_groqs_alone():
    # LiteLLM's spelling names who serves the call, as a cloud's prefix does: the price and the discount held for
    # Azure's gpt-oss-120b (Foundry's $0.15) too, and for any host of the model
    set_price("groq/openai/gpt-oss-120b", input=9, output=9)
    assert prices_of(find_price("openai/gpt-oss-120b", "groq")) == (D(9), D(9))
    assert prices_of(find_price("groq/openai/gpt-oss-120b", "openai")) == (D(9), D(9))  # through a LiteLLM proxy
    assert prices_of(find_price("gpt-oss-120b", "azure.ai.inference")) == (D("0.15"), D("0.6"))
    assert find_price("openai/gpt-oss-120b", "openai") is None  # a self-hosted vLLM's
    clear_overrides()
    set_price("groq/openai/gpt-oss-120b", discount=50)
    assert prices_of(find_price("openai/gpt-oss-120b", "groq")) == (D("0.075"), D("0.3"))
    assert prices_of(find_price("gpt-oss-120b", "azure.ai.inference")) == (D("0.15"), D("0.6"))

"""Costs computed by hand from the published per-1M prices, compared exactly (Decimal ==)."""

import logging
import uuid
from decimal import Decimal as D
from decimal import localcontext

import pytest

from otel_llmcost.pricing import Usage, clear_overrides, price_call, set_price
from otel_llmcost.pricing.catalog import all_entries, find_price
from otel_llmcost.pricing.cost import price_floats, price_parts

M = D(1_000_000)


def test_openai_cached_input_is_a_subset_of_input():
    # gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per 1M.
    usage = Usage(input_tokens=12_000, cache_read_tokens=8_000, output_tokens=500)
    cost = price_call("gpt-4o-mini", usage, provider="openai")

    assert cost.input == 4_000 * D("0.15") / M == D("0.0006")
    assert cost.cache_read == 8_000 * D("0.075") / M == D("0.0006")
    assert cost.output == 500 * D("0.6") / M == D("0.0003")
    assert cost.cache_write == 0 and cost.request_fees == 0
    assert cost.total == D("0.0015")
    assert (cost.entry, cost.tier, cost.long_context, cost.price_date) == ("gpt-4o-mini", "standard", False, "2026-07-24")


def test_reasoning_tokens_are_output_and_reported_as_their_share():
    # o4-mini: $1.10 input, $4.40 output per 1M; 2,500 of the 3,000 output tokens are reasoning.
    usage = Usage(input_tokens=2_000, output_tokens=3_000, reasoning_tokens=2_500)
    cost = price_call("o4-mini", usage)

    assert cost.input == 2_000 * D("1.1") / M == D("0.0022")
    assert cost.output == 3_000 * D("4.4") / M == D("0.0132")
    assert cost.reasoning == 2_500 * D("4.4") / M == D("0.011")
    assert cost.total == D("0.0154")  # reasoning is inside output, not added again


def test_flex_tier_uses_flex_prices():
    # o3 flex: $1 input, $0.25 cached input, $4 output per 1M (standard is 2 / 0.5 / 8).
    usage = Usage(input_tokens=10_000, cache_read_tokens=2_000, output_tokens=1_000)
    cost = price_call("o3", usage, service_tier="flex")

    assert cost.input == 8_000 * D(1) / M
    assert cost.cache_read == 2_000 * D("0.25") / M
    assert cost.output == 1_000 * D(4) / M
    assert cost.total == D("0.0125")
    assert cost.tier == "flex"


def test_batch_tier_and_cached_input_at_the_batch_ratio():
    # gpt-4o-mini batch: $0.075 input, $0.30 output per 1M, i.e. 50% of standard. The sources list
    # no batch cached-input price, so cached input follows the same 50%: 0.075 * 0.5 = 0.0375.
    usage = Usage(input_tokens=10_000, cache_read_tokens=4_000, output_tokens=2_000)
    cost = price_call("gpt-4o-mini", usage, service_tier="batch")

    assert cost.input == 6_000 * D("0.075") / M == D("0.00045")
    assert cost.cache_read == 4_000 * D("0.0375") / M == D("0.00015")
    assert cost.output == 2_000 * D("0.3") / M == D("0.0006")
    assert cost.total == D("0.0012")
    assert cost.tier == "batch"


def test_anthropic_batch_is_half_price():
    # Anthropic's Message Batches API: 50% of claude-sonnet-4-5's $3 / $15.
    cost = price_call("claude-sonnet-4-5", Usage(input_tokens=100_000, output_tokens=10_000), service_tier="batch")
    assert cost.input == 100_000 * D("1.5") / M == D("0.15")
    assert cost.output == 10_000 * D("7.5") / M == D("0.075")
    assert cost.tier == "batch"


def test_openai_batch_is_half_price_where_the_sources_list_no_batch_price(caplog):
    # OpenAI's Batch API bills 50% of standard input and output. LiteLLM lists no batch price for
    # gpt-5 ($1.25 / $10), so the catalog derives it: $0.625 / $5, and cached input at the same
    # ratio, 50% of $0.125 = $0.0625. Reasoning is output. Before the catalog derived it, this call
    # was priced at the standard rate with a warning.
    usage = Usage(input_tokens=20_000, cache_read_tokens=8_000, output_tokens=3_000, reasoning_tokens=1_000)
    with caplog.at_level("WARNING", logger="otel_llmcost"):
        cost = price_call("gpt-5-2025-08-07", usage, service_tier="batch")
    assert cost.input == 12_000 * D("0.625") / M == D("0.0075")
    assert cost.cache_read == 8_000 * D("0.0625") / M == D("0.0005")
    assert cost.output == 3_000 * D(5) / M == D("0.015")
    assert cost.reasoning == 1_000 * D(5) / M
    assert cost.total == D("0.023")
    assert cost.tier == "batch"
    assert not [record for record in caplog.records if "No batch price" in record.getMessage()]
    # flex (listed by the source) is unchanged, and a model the Batch API does not serve gets no batch price
    assert price_call("o3", Usage(input_tokens=1_000_000), service_tier="flex").total == D(1)
    assert find_price("gpt-4o-audio-preview").offers("batch") is False


def test_priority_tier_and_openai_default_tiers():
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    # gpt-4.1 priority: $3.50 / $14 per 1M; "default", "auto" and "scale" are the standard $2 / $8.
    assert price_call("gpt-4.1", usage, service_tier="priority").total == D("3.5") + D(14)
    # OpenAI renamed priority processing "fast" (2026-07-30): the same tier, the same price
    fast = price_call("gpt-4.1", usage, service_tier="fast")
    assert (fast.total, fast.tier) == (D("3.5") + D(14), "priority")
    for tier in ("default", "auto", "scale", None):
        cost = price_call("gpt-4.1", usage, service_tier=tier)
        assert (cost.total, cost.tier) == (D(2) + D(8), "standard")


def test_tier_without_a_price_falls_back_to_standard_with_one_warning(caplog):
    model = f"acme-{uuid.uuid4().hex[:8]}"  # a fresh model: its warning cannot have been given already
    set_price(model, input="0.15", output="0.6")  # no flex prices
    usage = Usage(input_tokens=1_000, output_tokens=1_000)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.pricing"):
        costs = [price_call(model, usage, service_tier="flex") for _ in range(3)]
    assert all(cost.tier == "standard" for cost in costs)
    assert all(cost.total == 1_000 * D("0.15") / M + 1_000 * D("0.6") / M == D("0.00075") for cost in costs)
    warnings = [r for r in caplog.records if f"No flex price for {model}" in r.getMessage()]
    assert len(warnings) == 1


def test_a_tier_newer_than_the_catalog_is_priced_standard_with_one_warning_and_known_ones_without(caplog):
    # OpenAI's "ultrafast" (openai 3.x) was priced at the standard rate without a word: an understated cost
    model = f"acme-{uuid.uuid4().hex[:8]}"
    set_price(model, input=1, output=2)
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.pricing"):
        costs = [price_call(model, usage, service_tier="ultrafast") for _ in range(3)]
        for tier in ("default", "auto", "scale", "standard", "standard_only", "on_demand", None):
            assert price_call(model, usage, service_tier=tier).tier == "standard"
    assert all((cost.total, cost.tier) == (D(3), "standard") for cost in costs)
    [warning] = [r.getMessage() for r in caplog.records if model in r.getMessage()]
    assert "'ultrafast'" in warning and "may understate" in warning


def test_anthropic_long_context_prices_the_whole_request_at_the_higher_rates():
    # claude-sonnet-4-5 past 200k input tokens (cache included): $6 input, $0.60 cache read,
    # $7.50 5m cache write, $22.50 output per 1M, for every token of the request.
    usage = Usage(input_tokens=250_000, cache_read_tokens=100_000, cache_write_5m_tokens=20_000, output_tokens=1_000)
    cost = price_call("claude-sonnet-4-5", usage, provider="anthropic")

    assert cost.input == 130_000 * D(6) / M == D("0.78")
    assert cost.cache_read == 100_000 * D("0.6") / M == D("0.06")
    assert cost.cache_write == 20_000 * D("7.5") / M == D("0.15")
    assert cost.output == 1_000 * D("22.5") / M == D("0.0225")
    assert cost.total == D("1.0125")
    assert cost.long_context is True


def test_long_context_threshold_is_exclusive():
    # Exactly 200k input tokens is still the standard $3 / $15.
    cost = price_call("claude-sonnet-4-5", Usage(input_tokens=200_000, output_tokens=1_000))
    assert cost.long_context is False
    assert cost.total == 200_000 * D(3) / M + 1_000 * D(15) / M == D("0.615")


def test_openai_long_context_past_272k():
    # gpt-5.4 past 272k input tokens: $5 input, $0.50 cached input, $22.50 output per 1M.
    usage = Usage(input_tokens=300_000, cache_read_tokens=50_000, output_tokens=2_000)
    cost = price_call("gpt-5.4", usage)
    assert cost.input == 250_000 * D(5) / M == D("1.25")
    assert cost.cache_read == 50_000 * D("0.5") / M == D("0.025")
    assert cost.output == 2_000 * D("22.5") / M == D("0.045")
    assert cost.total == D("1.32")
    assert cost.long_context is True


def test_claude_cache_read_and_5m_and_1h_writes():
    # Anthropic reports input_tokens=1,000 uncached + 5,000 cache read + 2,000 5m writes + 1,000 1h
    # writes; the adapters normalise input_tokens to the sum, 9,000. claude-sonnet-4-5: $3 input,
    # $0.30 cache read, $3.75 5m write (1.25x), $6 1h write (2x), $15 output per 1M.
    usage = Usage(
        input_tokens=9_000,
        cache_read_tokens=5_000,
        cache_write_5m_tokens=2_000,
        cache_write_1h_tokens=1_000,
        output_tokens=400,
    )
    cost = price_call("claude-sonnet-4-5-20250929", usage, provider="anthropic")

    assert cost.input == 1_000 * D(3) / M == D("0.003")
    assert cost.cache_read == 5_000 * D("0.3") / M == D("0.0015")
    assert cost.cache_write == 2_000 * D("3.75") / M + 1_000 * D(6) / M == D("0.0135")
    assert cost.output == 400 * D(15) / M == D("0.006")
    assert cost.total == D("0.024")


def test_claude_3_haiku_1h_write_is_corrected_to_twice_input():
    # LiteLLM lists $6 per 1M for Claude 3 Haiku's 1h write; Anthropic's rule is 2x the $0.25 input.
    cost = price_call("claude-3-haiku-20240307", Usage(input_tokens=10_000, cache_write_1h_tokens=10_000))
    assert cost.cache_write == 10_000 * (2 * D("0.25")) / M == D("0.005")


def test_embedding():
    # text-embedding-3-small: $0.02 per 1M tokens.
    cost = price_call("text-embedding-3-small", Usage(input_tokens=12_345))
    assert cost.total == 12_345 * D("0.02") / M == D("0.0002469")


def test_dated_model_ids():
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    # A dated id the catalog lists is priced as itself...
    assert price_call("gpt-4o-2024-05-13", usage).total == D(5) + D(15)
    # ...and one it does not list as its family's current alias: gpt-4.1 at $2 / $8.
    cost = price_call("gpt-4.1-2030-01-01", usage)
    assert (cost.entry, cost.total) == ("gpt-4.1", D(10))


def test_bedrock_ids():
    usage = Usage(input_tokens=100_000, output_tokens=100_000)  # under the 200k long-context threshold
    # A US cross-region profile of Claude Sonnet 4.5 carries AWS's 10% regional premium: $3.30 / $16.50.
    cost = price_call("us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage, provider="aws.bedrock")
    assert cost.entry == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert cost.total == 100_000 * D("3.3") / M + 100_000 * D("16.5") / M == D("1.98")
    # The same profile named by its ARN (and a foundation model by its): priced as the id the ARN names.
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    cost = price_call(arn, usage, provider="aws.bedrock")
    assert (cost.entry, cost.total) == ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", D("1.98"))
    cost = price_call("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0", usage)
    assert (cost.entry, cost.total) == ("anthropic.claude-sonnet-4-20250514-v1:0", D("1.8"))
    # An application inference profile names only the account's own id: not priced by it.
    assert price_call("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", usage) is None
    # A Claude geography the catalog lacks is priced as the model's listed geographies: Claude Sonnet 4 at the
    # in-region $3 / $15 (no premium), Claude Sonnet 4.5 at the 10% premium (it was priced at the global $3 / $15)
    cost = price_call("ca.anthropic.claude-sonnet-4-20250514-v1:0", usage, provider="aws.bedrock")
    assert cost.entry == "us.anthropic.claude-sonnet-4-20250514-v1:0"
    assert cost.total == 100_000 * D(3) / M + 100_000 * D(15) / M == D("1.8")
    cost = price_call("apac.anthropic.claude-sonnet-4-5-20250929-v1:0", usage, provider="aws.bedrock")
    assert (cost.entry, cost.total) == ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", D("1.98"))
    # global and GovCloud profiles are not priced as the geographic ones
    assert price_call("global.anthropic.claude-sonnet-4-20250514-v1:0", usage, provider="aws.bedrock").total == D("1.8")
    cost = price_call("us-gov.anthropic.claude-haiku-4-5-20251001-v1:0", usage, provider="aws.bedrock")
    assert cost.entry == "anthropic.claude-haiku-4-5-20251001-v1:0"


def test_only_claudes_geographic_profiles_borrow_another_geographys_price():
    from otel_llmcost.pricing.names import model_names

    sonnet = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert f"us.{sonnet}" in model_names(f"apac.{sonnet}").siblings
    assert f"apac.{sonnet}" not in model_names(f"apac.{sonnet}").siblings  # its own id comes first anyway
    # global is the base price, GovCloud has its own; other vendors' prices differ by region (Nova's)
    for model in (f"global.{sonnet}", f"us-gov.{sonnet}", "ca.amazon.nova-pro-v1:0", sonnet):
        assert model_names(model).siblings == (), model


def test_a_users_price_for_one_geography_is_not_the_others():
    # The siblings stand in for the catalog's prices only: a price the user gives apac. is apac.'s
    sonnet = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    set_price(f"apac.{sonnet}", input=1, output=2)
    set_price(f"eu.{sonnet}", discount=50)
    try:
        assert find_price(f"apac.{sonnet}", "aws.bedrock").prices["input"] == 1
        assert find_price(f"us.{sonnet}", "aws.bedrock").prices["input"] == D("3.3")
        assert find_price(f"ca.{sonnet}", "aws.bedrock").prices["input"] == D("3.3")
        assert find_price(f"eu.{sonnet}", "aws.bedrock").prices["input"] == D("1.65")
    finally:
        clear_overrides()


def test_vertex_and_fine_tuned_ids():
    usage = Usage(input_tokens=100_000, output_tokens=100_000)
    cost = price_call("claude-sonnet-4@20250514", usage, provider="gcp.vertex_ai")
    assert (cost.entry, cost.total) == ("vertex_ai/claude-sonnet-4@20250514", D("1.8"))
    # OpenAI bills a fine-tuned gpt-4o-mini at $0.30 / $1.20, twice the base model.
    cost = price_call("ft:gpt-4o-mini-2024-07-18:acme:support:abc123", usage)
    assert cost.entry == "ft:gpt-4o-mini-2024-07-18"
    assert cost.total == 100_000 * D("0.3") / M + 100_000 * D("1.2") / M == D("0.15")


def test_web_search_requests_are_a_per_request_fee():
    # Anthropic web search: $10 per 1,000 searches.
    cost = price_call("claude-sonnet-4-5", Usage(input_tokens=1_000, output_tokens=100, web_search_requests=3))
    assert cost.request_fees == 3 * D(10) / 1000 == D("0.03")
    assert cost.total == 1_000 * D(3) / M + 100 * D(15) / M + D("0.03")


def test_deepseek_cache_hits_are_priced_from_deepseeks_own_key():
    # LiteLLM names DeepSeek's cache-hit price input_cost_per_token_cache_hit: deepseek-v3.2, $0.028 per 1M
    # cached ($0.28 uncached, $0.42 output); cache hits used to bill at the full input price.
    usage = Usage(input_tokens=100_000, cache_read_tokens=80_000, output_tokens=1_000)
    cost = price_call("deepseek-v3.2", usage, provider="deepseek")
    assert cost.cache_read == 80_000 * D("0.028") / M
    assert cost.total == 20_000 * D("0.28") / M + 80_000 * D("0.028") / M + 1_000 * D("0.4") / M


def test_a_zero_price_that_cannot_be_the_price_leaves_the_model_unpriced():
    # LiteLLM lists a Claude preview at $0 before its price is known, and a per-clip model with $0 tokens:
    # both are unpriced (flagged, with a warning), never a silent $0.
    usage = Usage(input_tokens=10_000, output_tokens=1_000)
    assert price_call("claude-mythos-preview", usage, provider="anthropic") is None
    assert price_call("us.anthropic.claude-mythos-preview", usage, provider="aws.bedrock") is None
    assert price_call("lyria-3-clip-preview", usage, provider="gcp.gemini") is None


def test_every_anthropic_claude_entry_prices_web_search():
    # LiteLLM lists the $10 per 1,000 fee for some Claude models only: the catalog's correction gives it the rest.
    usage = Usage(input_tokens=1_000, output_tokens=100, web_search_requests=5)
    for model in ("claude-haiku-4-5", "claude-3-5-haiku-20241022"):
        assert price_call(model, usage, provider="anthropic").request_fees == D("0.05")


def test_searches_on_a_price_without_a_search_fee_warn_once(caplog, monkeypatch):
    from otel_llmcost.pricing import cost as cost_module

    monkeypatch.setattr(cost_module, "_warned", set())
    usage = Usage(input_tokens=1_000, output_tokens=100, web_search_requests=5)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        # Vertex's claude-sonnet-4-5 entry lists no search fee: the tokens are priced, the searches cannot be.
        cost = price_call("claude-sonnet-4-5@20250929", usage, provider="gcp.vertex_ai")
        floats = price_floats("claude-sonnet-4-5@20250929", usage, "gcp.vertex_ai", None)
        price_call("claude-sonnet-4-5@20250929", usage, provider="gcp.vertex_ai")
    assert cost.request_fees == 0 and floats[6] == 0.0
    warnings = [record.getMessage() for record in caplog.records if "web search fee" in record.getMessage()]
    assert len(warnings) == 1
    assert "vertex_ai/claude-sonnet-4-5" in warnings[0] and "web_search_per_1k" in warnings[0]


def test_unknown_model_is_unpriced_with_exactly_one_warning(caplog):
    model = f"gpt-6-mini-{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.pricing"):
        results = [price_call(model, Usage(input_tokens=100, output_tokens=10)) for _ in range(3)]
    assert results == [None, None, None]
    warnings = [r for r in caplog.records if model in r.getMessage()]
    assert len(warnings) == 1
    assert "OTEL_LLMCOST_PRICING_FILE" in warnings[0].getMessage() and "set_price" in warnings[0].getMessage()


def _as_floats(model, usage, provider=None, tier=None):
    parts = price_parts(model, usage, provider, tier)
    if parts is None:
        return None
    numbers = (parts.total, parts.input, parts.cache_read, parts.cache_write, parts.output, parts.reasoning)
    return (*map(float, numbers), float(parts.request_fees), parts.entry, parts.tier, parts.long_context)


USAGES = [
    Usage(input_tokens=1_200, output_tokens=300, cache_read_tokens=1_024),
    Usage(
        input_tokens=300_000, output_tokens=77_777, cache_read_tokens=5, cache_write_5m_tokens=3, reasoning_tokens=100
    ),
    Usage(input_tokens=7, output_tokens=0, cache_write_1h_tokens=2, web_search_requests=2),
    Usage(),
    # Outside what the integer shortcut handles: more digits than the Decimal context keeps, a negative count.
    Usage(input_tokens=10**22, output_tokens=10**21, cache_read_tokens=3),
    Usage(input_tokens=100, output_tokens=10, cache_read_tokens=-3),
]


def test_the_span_floats_are_the_decimal_costs_rounded_once():
    """price_floats (span attributes, metrics) equals float() of every Decimal price_parts gives,
    for every catalog entry and tier, long context and the fallback cases included."""
    compared = 0
    for index, entry in enumerate(all_entries()):
        tier = (None, "flex", "priority", "batch")[index % 4]
        for usage in USAGES:
            expected = _as_floats(entry.key, usage, entry.provider, tier)
            assert price_floats(entry.key, usage, entry.provider, tier) == expected, (entry.key, tier, usage)
            compared += expected is not None
    assert compared > 4_000  # every entry of the catalog, six usages each


def test_the_span_floats_match_for_rates_with_many_digits_and_a_narrow_decimal_context():
    set_price("acme-thirds", input="0.3333333333333333333333333333", output="1.23456789012345678901", cache_read="1E-6")
    set_price("acme-search", input=3, output=15, web_search_per_1k="10.5")
    set_price("acme-search", discount=7)
    usage = Usage(input_tokens=123_457, output_tokens=4_321, cache_read_tokens=99, web_search_requests=3)
    for model in ("acme-thirds", "acme-search"):
        floats, cost = price_floats(model, usage, None, None), price_call(model, usage)
        assert floats == _as_floats(model, usage)
        with localcontext() as context:
            context.prec = 6  # an application's own Decimal settings: no cost follows them
            assert price_floats(model, usage, None, None) == floats == _as_floats(model, usage)
            assert price_call(model, usage) == cost


def test_costs_stay_exact_whatever_the_applications_decimal_context():
    """A program that lowers the Decimal precision or changes the rounding for its own money math
    (first, before any price is looked up) gets the same exact costs as with the default context."""
    from otel_llmcost.pricing.catalog import clear_overrides

    usage = Usage(input_tokens=123_457, output_tokens=4_321, cache_read_tokens=1_024, reasoning_tokens=77)
    # 122,433 uncached at 0.13125, 1,024 cached at 0.065625, 4,321 output at 0.525 (per 1M, 12.5% off)
    expected_total = D("122433") * D("0.13125") / 10**6 + D("1024") * D("0.065625") / 10**6 + D("4321") * D("0.525") / 10**6
    with localcontext() as context:
        context.prec = 4
        context.rounding = "ROUND_DOWN"
        clear_overrides()  # prices and rate cards are rebuilt under the application's context
        set_price("gpt-4o-mini", discount="12.5")  # catalog: 0.15 input, 0.075 cached, 0.6 output
        narrow = price_call("gpt-4o-mini", usage)
        floats = price_floats("gpt-4o-mini", usage, None, None)
    assert narrow is not None and floats is not None
    assert narrow.total == expected_total == D("0.01840505625")
    assert narrow.input == D("122433") * D("0.13125") / 10**6
    assert narrow.reasoning == D("77") * D("0.525") / 10**6
    assert floats[0] == float(expected_total)
    assert price_call("gpt-4o-mini", usage) == narrow


def test_a_discount_is_applied_and_named_exactly_under_a_trapping_decimal_context():
    # A money program that traps any rounding: the discount's label is formatted in the pricing's own
    # context too (it raised decimal.Inexact from deep inside, and was rounded to 33.3% at prec=3).
    import decimal

    set_price("gpt-4o", discount="33.3333")
    with localcontext() as context:
        context.prec = 3
        context.traps[decimal.Inexact] = True
        cost = price_call("gpt-4o", Usage(input_tokens=1_000, output_tokens=1_000))
    assert "33.3333% discount" in cost.source
    # gpt-4o $2.50 / $10 per 1M, 33.3333% off
    assert cost.total == (1_000 * D("2.5") + 1_000 * D(10)) * (100 - D("33.3333")) / 100 / M


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        (Usage(None, 5), "Usage.input_tokens must be a whole number of tokens, got None"),
        (Usage(10, "5"), "Usage.output_tokens must be a whole number of tokens, got '5'"),
        ({"input_tokens": 10}, "price_call() takes a Usage, got dict"),
    ],
)
def test_price_call_names_what_is_wrong_with_the_usage(usage, message):
    with pytest.raises(TypeError) as error:
        price_call("gpt-4o", usage)
    assert message in str(error.value)


def test_claude_3_on_vertex_bills_cache_reads_and_writes_at_the_cache_rates():
    # claude-3-5-sonnet-v2 on Vertex: $3 input, so $0.30 a cache read and $3.75 a 5-minute write (not $3 each)
    usage = Usage(input_tokens=100_000, cache_read_tokens=90_000, cache_write_5m_tokens=5_000, output_tokens=1_000)
    cost = price_call("claude-3-5-sonnet-v2@20241022", usage, provider="gcp.vertex_ai")
    assert cost.cache_read == 90_000 * D("0.3") / M == D("0.027")
    assert cost.cache_write == 5_000 * D("3.75") / M
    assert cost.total == D("0.027") + 5_000 * D(3) / M + 5_000 * D("3.75") / M + 1_000 * D(15) / M


def test_claude_3_haiku_on_vertex_bills_caching_at_anthropics_listed_prices_not_the_ratios():
    # Anthropic lists Claude 3 Haiku's cache prices apart from the ratios: $0.03 a read, $0.30 a 5-minute write
    # on $0.25 input (not 0.1x and 1.25x: $0.025 and $0.3125), as on Anthropic's own API
    usage = Usage(input_tokens=1_100_000, cache_read_tokens=1_000_000, cache_write_5m_tokens=100_000)
    for model, provider in (("claude-3-haiku@20240307", "gcp.vertex_ai"), ("claude-3-haiku-20240307", "anthropic")):
        cost = price_call(model, usage, provider=provider)
        assert (cost.cache_read, cost.cache_write, cost.total) == (D("0.03"), D("0.03"), D("0.06")), model


def test_gpt_5_4_flex_cached_input_is_half_the_standard_as_batch():
    # $0.25 cached input: flex, as batch, bills half of it, $0.125 (the sources list 0.13, rounded to the cent)
    usage = Usage(input_tokens=100_000, cache_read_tokens=100_000)  # under the 272k long-context threshold
    for tier in ("flex", "batch"):
        cost = price_call("gpt-5.4", usage, provider="openai", service_tier=tier)
        assert cost.cache_read == 100_000 * D("0.125") / M == D("0.0125"), tier


def test_fine_tuned_gpt_4o_bills_cached_input_at_its_cached_rate_not_as_a_cache_write():
    # ft:gpt-4o-2024-11-20: $3.75 input, $1.875 cached input (the sources list the latter as a cache write)
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=1_000_000, output_tokens=0)
    cost = price_call("ft:gpt-4o-2024-11-20:acme::x1", usage, provider="openai")
    assert (cost.entry, cost.cache_read, cost.input, cost.total) == ("ft:gpt-4o-2024-11-20", D("1.875"), 0, D("1.875"))


@pytest.mark.parametrize(("model", "rate"), [("ft:davinci-002:acme::x1", D(12)), ("ft:babbage-002:acme::x1", D("1.6"))])
def test_fine_tuned_completion_models_batch_at_half_their_own_price(model, rate):
    # $12 (davinci) and $1.60 (babbage) per 1M input and output tokens; the sources list the base models'
    # batch prices ($1, $0.20) for their fine-tunes too.
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    cost = price_call(model, usage, provider="openai", service_tier="batch")
    assert cost.total == (rate + rate) / 2


def test_gpt_5_nano_has_no_priority_price_of_another_model(caplog, monkeypatch):
    # LiteLLM lists gpt-5's $2.50 priority input for gpt-5-nano ($0.05): 50x, where priority is about 2x.
    # OpenAI publishes no priority price for gpt-5-nano: the call is priced at standard, with a warning
    # (once per process, as the entry's rate card is made: another test's card and warning are forgotten first).
    from otel_llmcost.pricing import cost as cost_module

    monkeypatch.setattr(cost_module, "_warned", set())
    cost_module._card.cache_clear()
    usage = Usage(input_tokens=10_000, cache_read_tokens=2_000, output_tokens=5_000)
    with caplog.at_level("WARNING", logger="otel_llmcost"):
        cost = price_call("gpt-5-nano", usage, provider="openai", service_tier="priority")
    assert (cost.tier, cost.total) == ("standard", (8_000 * D("0.05") + 2_000 * D("0.005") + 5_000 * D("0.4")) / M)
    assert any("No priority price for gpt-5-nano" in record.getMessage() for record in caplog.records)


def test_gemini_1_5_flash_output_is_billed():
    # LiteLLM lists it as an embedding model whose output costs 0; Google: $0.075 / $0.30 per 1M, doubled past 128k
    usage = Usage(input_tokens=1_000, output_tokens=1_000_000)
    cost = price_call("gemini-1.5-flash", usage, provider="gemini")
    assert (cost.entry, cost.output, cost.total) == ("gemini/gemini-1.5-flash", D("0.3"), D("0.3") + D("0.000075"))
    long = price_call("gemini-1.5-flash", Usage(input_tokens=200_000, output_tokens=1_000_000), provider="gemini")
    assert long.total == 200_000 * D("0.15") / M + D("0.6")


def test_a_dated_snapshots_flex_cache_read_is_its_aliass_exact_price():
    # o4-mini's flex cached input is half of $0.275: 0.1375, which Langfuse rounds to 0.138 for the dated id
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=1_000_000)
    for model in ("o4-mini", "o4-mini-2025-04-16"):
        assert price_call(model, usage, provider="openai", service_tier="flex").total == D("0.1375")


def test_a_music_model_at_zero_is_unpriced_not_free():
    # gemini/lyria-3-pro-preview: $0 per token in LiteLLM, billed per clip by Google
    assert find_price("gemini/lyria-3-pro-preview") is None

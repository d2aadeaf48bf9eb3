"""What one call cost, exactly, in Decimal USD.

The rules, as the providers document them:
- ``usage.input_tokens`` includes cache reads and cache writes (types.Usage); only the rest
  is billed at the input price. Cache reads are billed at the cache-read price; cache writes
  at the 5-minute or 1-hour write price (Anthropic: 1.25x / 2x input).
- Reasoning tokens are part of the output and billed as output; ``Cost.reasoning`` is their share.
- Service tiers: OpenAI sends ``service_tier`` ``flex`` / ``priority`` / ``default`` / ``auto`` /
  ``scale``, Anthropic ``standard`` / ``priority`` / ``batch``; ``batch`` is also what batch
  results are repriced with. Anything else is the standard tier.
- Long context: when the input (cache included) passes the entry's threshold, the WHOLE
  request is billed at the long-context prices.
- Per-request fees: web-search requests at the entry's price per 1,000.

A price the source does not list for a tier or for long context is derived the way the
providers build their price sheets: a tier scales every input-side price by its input ratio
(and output by its output ratio), long context scales input-side prices by the long/standard
input ratio and keeps the standard output price when no long-context output price is listed.
A model without a cache-read or cache-write price bills those tokens as plain input.
"""

from __future__ import annotations

import functools
import logging
from decimal import Decimal
from typing import NamedTuple

from otel_llmcost import semconv as sc
from otel_llmcost.pricing.catalog import find_price
from otel_llmcost.pricing.entry import INPUT_SIDE, PER_MILLION, STANDARD, TIERS, PriceEntry
from otel_llmcost.pricing.types import ZERO, Cost, Usage

logger = logging.getLogger("otel_llmcost.pricing")

THOUSAND = Decimal(1000)
_warned: set[tuple[str, ...]] = set()
_MAX_WARNED = 10_000  # bounds memory if an app invents model names without end


class Rates(NamedTuple):
    """USD per 1M tokens that one call is billed at."""

    input: Decimal
    cache_read: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    output: Decimal


def price_call(
    model: str,
    usage: Usage,
    *,
    provider: str | None = None,
    service_tier: str | None = None,
) -> Cost | None:
    """The exact cost of one call, or None (with one warning per model) if it has no price."""
    entry = find_price(model, provider)
    if entry is None:
        _warn_once(
            ("unpriced", model),
            "No price for model %r%s: its calls are recorded as unpriced (no cost). Add its price in the "
            "JSON file named by %s, or call otel_llmcost.pricing.set_price(%r, input=..., output=...) "
            "with USD per 1M tokens.",
            model,
            f" (provider {provider})" if provider else "",
            sc.ENV_PRICING_FILE,
            model,
        )
        return None
    tier = billing_tier(entry, service_tier, model)
    long_context = entry.is_long_context(usage.input_tokens)
    rates = rates_for(entry, tier, long_context)
    web_search = entry.web_search_per_1k or ZERO
    return Cost(
        input=usage.uncached_input_tokens * rates.input / PER_MILLION,
        cache_read=usage.cache_read_tokens * rates.cache_read / PER_MILLION,
        cache_write=(usage.cache_write_5m_tokens * rates.cache_write_5m + usage.cache_write_1h_tokens * rates.cache_write_1h)
        / PER_MILLION,
        output=usage.output_tokens * rates.output / PER_MILLION,
        request_fees=usage.web_search_requests * web_search / THOUSAND,
        reasoning=usage.reasoning_tokens * rates.output / PER_MILLION,
        entry=entry.key,
        price_date=entry.effective_date,
        source=entry.source,
        tier=tier,
        long_context=long_context,
    )


def billing_tier(entry: PriceEntry, service_tier: str | None, model: str) -> str:
    """Our tier for the provider's ``service_tier``; standard when the entry has no price for it."""
    tier = (service_tier or "").strip().lower()
    if tier not in TIERS:
        return STANDARD  # default, auto, scale, on_demand, none: standard prices
    if entry.offers(tier):
        return tier
    _warn_once(
        ("tier", entry.key, tier),
        "No %s price for %s (model %r): those calls are priced at the standard rate. "
        "Add %s_input/%s_output for it in the file named by %s.",
        tier,
        entry.key,
        model,
        tier,
        tier,
        sc.ENV_PRICING_FILE,
    )
    return STANDARD


@functools.lru_cache(maxsize=4096)
def rates_for(entry: PriceEntry, tier: str, long_context: bool) -> Rates:
    """The rate card of an entry for a tier, listed or derived (see the module doc)."""
    input_rate = rate(entry, tier, "input", long_context) or ZERO
    cache_read = rate(entry, tier, "cache_read", long_context)
    write_5m = rate(entry, tier, "cache_write_5m", long_context)
    write_1h = rate(entry, tier, "cache_write_1h", long_context)
    return Rates(
        input=input_rate,
        cache_read=input_rate if cache_read is None else cache_read,
        cache_write_5m=input_rate if write_5m is None else write_5m,
        cache_write_1h=write_1h if write_1h is not None else (input_rate if write_5m is None else write_5m),
        output=rate(entry, tier, "output", long_context) or ZERO,
    )


def rate(entry: PriceEntry, tier: str, component: str, long_context: bool) -> Decimal | None:
    """One price of the rate card, listed or derived; None when neither (cache tokens then bill as input)."""
    listed = entry.price(tier, component, long_context)
    if listed is not None:
        return listed
    if tier != STANDARD:
        standard = rate(entry, STANDARD, component, long_context)
        ratio = _tier_ratio(entry, tier, component)
        return None if standard is None or ratio is None else standard * ratio
    if long_context:
        short = entry.price(STANDARD, component)
        if component not in INPUT_SIDE:
            return short
        ratio = _ratio(entry.price(STANDARD, "input", True), entry.price(STANDARD, "input"))
        return None if short is None or ratio is None else short * ratio
    return None


def _tier_ratio(entry: PriceEntry, tier: str, component: str) -> Decimal | None:
    input_ratio = _ratio(entry.price(tier, "input"), entry.price(STANDARD, "input"))
    if component in INPUT_SIDE:
        return input_ratio
    output_ratio = _ratio(entry.price(tier, "output"), entry.price(STANDARD, "output"))
    return input_ratio if output_ratio is None else output_ratio


def _ratio(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _warn_once(key: tuple[str, ...], message: str, *args: object) -> None:
    if key in _warned or len(_warned) >= _MAX_WARNED:
        return
    _warned.add(key)
    logger.warning(message, *args)

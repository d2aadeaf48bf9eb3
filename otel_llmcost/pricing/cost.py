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

Every LLM call is priced on the instrumentation's hot path: the rate card of an entry and tier is
worked out once (``_card``), and ``price_floats`` gives the span's float attributes without building
Decimals, from the same exact values (see its docstring).
"""

from __future__ import annotations

import functools
import logging
from decimal import Decimal, localcontext
from typing import Any, NamedTuple

from otel_llmcost import semconv as sc
from otel_llmcost.pricing.catalog import find_price
from otel_llmcost.pricing.entry import COMPONENTS, INPUT_SIDE, PER_MILLION, STANDARD, TIERS, PriceEntry, price_field
from otel_llmcost.pricing.types import EXACT, ZERO, Cost, Usage

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


class _IntRates(NamedTuple):
    """A rate card as integers over one power of ten: a part costs ``count * rate / scale`` USD,
    ``count`` being tokens (web searches for ``web_search``). Exactly the Decimal prices."""

    scale: int
    input: int
    cache_read: int
    cache_write_5m: int
    cache_write_1h: int
    output: int
    web_search: int


class _Card(NamedTuple):
    """What pricing one entry at one requested service tier needs, worked out once."""

    tier: str
    rates: Rates
    long_rates: Rates | None  # None: the entry has no long-context prices
    long_context_threshold: int
    web_search: Decimal
    # ``0 * rate / PER_MILLION`` for the parts a call often does not use (same Decimal, not recomputed)
    no_cache_write: Decimal
    no_reasoning: Decimal
    no_fees: Decimal
    int_rates: _IntRates | None  # None: not representable (see _int_rates)
    long_int_rates: _IntRates | None


@functools.lru_cache(maxsize=4096)
def _card(entry: PriceEntry, service_tier: str | None, model: str) -> _Card:
    with localcontext(EXACT):
        return _new_card(entry, service_tier, model)


def _new_card(entry: PriceEntry, service_tier: str | None, model: str) -> _Card:
    tier = billing_tier(entry, service_tier, model)
    rates = rates_for(entry, tier, False)
    # As entry.is_long_context: past a threshold, when the entry lists a long-context input price.
    long_priced = entry.long_context_threshold is not None and price_field(STANDARD, "input", True) in entry.prices
    long_rates = rates_for(entry, tier, True) if long_priced else None
    web_search = entry.web_search_per_1k or ZERO
    return _Card(
        tier=tier,
        rates=rates,
        long_rates=long_rates,
        long_context_threshold=entry.long_context_threshold or 0,
        web_search=web_search,
        no_cache_write=(0 * rates.cache_write_5m + 0 * rates.cache_write_1h) / PER_MILLION,
        no_reasoning=0 * rates.output / PER_MILLION,
        no_fees=0 * web_search / THOUSAND,
        int_rates=_int_rates(rates, web_search),
        long_int_rates=None if long_rates is None else _int_rates(long_rates, web_search),
    )


def _int_rates(rates: Rates, web_search: Decimal) -> _IntRates | None:
    """``rates`` (per 1M tokens) and ``web_search`` (per 1,000 requests) as integers over one power of ten."""
    parts = [(rate, 6) for rate in rates] + [(web_search, 3)]
    exact = []
    for value, per_power in parts:
        sign, digits, exponent = value.as_tuple()
        if sign or not isinstance(exponent, int):
            return None  # negative, NaN or infinite: left to Decimal
        exact.append((int("".join(map(str, digits))), exponent - per_power))
    lowest = min(exponent for _, exponent in exact)
    if lowest > 0:
        return None
    return _IntRates(10**-lowest, *(coefficient * 10 ** (exponent - lowest) for coefficient, exponent in exact))


def price_call(
    model: str,
    usage: Usage,
    *,
    provider: str | None = None,
    service_tier: str | None = None,
) -> Cost | None:
    """The exact cost of one call, or None (with one warning per model) if it has no price.
    Raises TypeError, naming the field, for a ``usage`` that is not a ``Usage`` of whole numbers."""
    _check_usage(usage)
    parts = price_parts(model, usage, provider, service_tier)
    return None if parts is None else cost_of(parts)


def _check_usage(usage: Any) -> None:
    if not isinstance(usage, Usage):
        raise TypeError(
            f"price_call() takes a Usage, got {type(usage).__name__}: "
            "otel_llmcost.pricing.Usage(input_tokens=..., output_tokens=...)"
        )
    for name, value in zip(Usage._fields[:-1], usage[:-1]):
        if type(value) is not int:
            raise TypeError(f"Usage.{name} must be a whole number of tokens, got {value!r}")


class CostParts(NamedTuple):
    """``price_call``'s numbers before they become a ``Cost`` (``price_floats`` falls back on them)."""

    total: Decimal  # as Cost.total
    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal
    request_fees: Decimal
    reasoning: Decimal
    entry: PriceEntry
    tier: str
    long_context: bool


def cost_of(parts: CostParts) -> Cost:
    entry = parts.entry
    return Cost(
        input=parts.input,
        cache_read=parts.cache_read,
        cache_write=parts.cache_write,
        output=parts.output,
        request_fees=parts.request_fees,
        reasoning=parts.reasoning,
        entry=entry.key,
        price_date=entry.effective_date,
        source=entry.source,
        tier=parts.tier,
        long_context=parts.long_context,
    )


def _priced(model: str, provider: str | None, service_tier: str | None) -> tuple[PriceEntry, _Card] | None:
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
    # Cached per entry and requested tier (entries are rebuilt when prices change, so a stale card is never hit).
    return entry, _card(entry, service_tier, model)


def price_parts(model: str, usage: Usage, provider: str | None, service_tier: str | None) -> CostParts | None:
    """What ``price_call`` computes, as ``CostParts``; None (with one warning per model) if unpriced."""
    priced = _priced(model, provider, service_tier)
    if priced is None:
        return None
    with localcontext(EXACT):
        return _parts(usage, *priced)


def _parts(usage: Usage, entry: PriceEntry, card: _Card) -> CostParts:
    input_tokens, cache_read_tokens = usage.input_tokens, usage.cache_read_tokens
    write_5m, write_1h, reasoning = usage.cache_write_5m_tokens, usage.cache_write_1h_tokens, usage.reasoning_tokens
    long_context = card.long_rates is not None and input_tokens > card.long_context_threshold
    rates = card.long_rates if long_context else card.rates
    input_cost = usage.uncached_input_tokens * rates.input / PER_MILLION
    cache_read = cache_read_tokens * rates.cache_read / PER_MILLION
    cache_write = (
        (write_5m * rates.cache_write_5m + write_1h * rates.cache_write_1h) / PER_MILLION
        if write_5m or write_1h or long_context
        else card.no_cache_write
    )
    output = usage.output_tokens * rates.output / PER_MILLION
    searches = usage.web_search_requests
    if searches and not card.web_search:
        _warn_unpriced_searches(entry)
    fees = searches * card.web_search / THOUSAND if searches else card.no_fees
    return CostParts(
        input_cost + cache_read + cache_write + output + fees,
        input_cost,
        cache_read,
        cache_write,
        output,
        fees,
        reasoning * rates.output / PER_MILLION if reasoning or long_context else card.no_reasoning,
        entry,
        card.tier,
        long_context,
    )


# Below this the Decimal math of price_parts (in the EXACT context) is exact.
_EXACT = 10**EXACT.prec


def price_floats(
    model: str, usage: Usage, provider: str | None, service_tier: str | None
) -> tuple[float, float, float, float, float, float, float, PriceEntry, str, bool] | None:
    """``price_parts`` as floats, for span attributes and metrics: (total, input, cache_read,
    cache_write, output, reasoning, request_fees, entry, tier, long_context); None if unpriced.

    Each float is ``float()`` of the Decimal ``price_parts`` computes, got without the Decimals:
    the same exact value in integers (tokens times the rate's digits over a power of ten), then one
    correctly rounded division, as ``float(Decimal)`` rounds. Where the Decimal math would not be
    exact (more than the EXACT context's 28 digits, a rate with more digits than that) or the counts are
    unusual (negative), the Decimals are computed and converted instead.
    """
    entry = find_price(model, provider)  # as _priced, without its frame (cached lookups, warns when unpriced)
    if entry is None:
        return _priced(model, provider, service_tier)  # None, with the warning
    card = _card(entry, service_tier, model)
    input_tokens, output, read, write_5m, write_1h, reasoning, searches, _ = usage
    if searches and not card.web_search:
        _warn_unpriced_searches(entry)
    long_context = card.long_rates is not None and input_tokens > card.long_context_threshold
    rates = card.long_int_rates if long_context else card.int_rates
    counts_ok = min(read, write_5m, write_1h, output, reasoning, searches) >= 0
    if rates is not None and counts_ok:
        scale, input_rate, read_rate, write_5m_rate, write_1h_rate, output_rate, search_rate = rates
        uncached = input_tokens - read - write_5m - write_1h  # as Usage.uncached_input_tokens
        input_part = uncached * input_rate if uncached > 0 else 0
        read_part = read * read_rate
        write_part = write_5m * write_5m_rate + write_1h * write_1h_rate
        output_part = output * output_rate
        fees_part = searches * search_rate
        total = input_part + read_part + write_part + output_part + fees_part
        reasoning_part = reasoning * output_rate
        if total < _EXACT and reasoning_part < _EXACT:
            return (
                total / scale,
                input_part / scale,
                read_part / scale,
                write_part / scale,
                output_part / scale,
                reasoning_part / scale,
                fees_part / scale,
                entry,
                card.tier,
                long_context,
            )
    parts = price_parts(model, usage, provider, service_tier)
    assert parts is not None  # priced above
    return (
        float(parts.total),
        float(parts.input),
        float(parts.cache_read),
        float(parts.cache_write),
        float(parts.output),
        float(parts.reasoning),
        float(parts.request_fees),
        entry,
        parts.tier,
        parts.long_context,
    )


# Other names of our tiers: OpenAI renamed priority processing "fast" (2026-07-30; either name is taken
# in requests, https://openai.com/api-fast-mode/)
_TIER_NAMES = {"fast": "priority"}
# Service tiers billed at the standard rates (a choice among tiers, the standard one, prepaid capacity)
_STANDARD_NAMES = frozenset(("", "auto", "default", "standard", "standard_only", "scale", "on_demand", "none"))


def billing_tier(entry: PriceEntry, service_tier: str | None, model: str) -> str:
    """Our tier for the provider's ``service_tier``; standard when the entry has no price for it."""
    tier = (service_tier or "").strip().lower()
    tier = _TIER_NAMES.get(tier, tier)
    if tier not in TIERS:
        if tier not in _STANDARD_NAMES:  # a tier newer than the catalog (OpenAI's ultrafast): say so
            _warn_once(
                ("unknown tier", entry.key, tier),
                "Service tier %r has no prices in otel-llmcost (it prices standard, batch, flex and priority): "
                "%s calls (model %r) on it are priced at the standard rate, which may understate them.",
                service_tier,
                entry.key,
                model,
            )
        return STANDARD
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
    """The rate card of an entry for a tier, listed or derived (see the module doc). Derived in the
    EXACT context whoever asks first (the store's price table does, outside ``_card``): the card is
    cached, and the application's own Decimal settings must not reach it."""
    with localcontext(EXACT):
        return _rates(entry, tier, long_context)


def _rates(entry: PriceEntry, tier: str, long_context: bool) -> Rates:
    return Rates(*(billed_rate(entry, tier, component, long_context)[0] for component in COMPONENTS))


# What a cache price bills at when the entry lists none (nor can derive it): its fallbacks, in order.
_FALLBACKS = {"cache_read": ("input",), "cache_write_5m": ("input",), "cache_write_1h": ("cache_write_5m", "input")}


def billed_rate(entry: PriceEntry, tier: str, component: str, long_context: bool) -> tuple[Decimal, str]:
    """The rate ``component`` bills at, and whose price it is: its own, or a fallback's (a 1-hour cache
    write without a price bills as a 5-minute one, else as input; a cache read without one as input)."""
    for name in (component, *_FALLBACKS.get(component, ())):
        price = rate(entry, tier, name, long_context)
        if price is not None:
            return price, name
    return ZERO, component


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


def _warn_unpriced_searches(entry: PriceEntry) -> None:
    """Web searches on a model whose price lists no search fee: the tokens are priced, the searches are
    not, which must not pass for a cost of 0."""
    _warn_once(
        ("searches unpriced", entry.key),
        "The price of %r has no web search fee: its calls' web searches are not in their cost. Add "
        "web_search_per_1k (USD per 1,000 searches) for it in the JSON file named by %s.",
        entry.key,
        sc.ENV_PRICING_FILE,
    )


def _warn_once(key: tuple[str, ...], message: str, *args: object) -> None:
    if key in _warned or len(_warned) >= _MAX_WARNED:
        return
    _warned.add(key)
    logger.warning(message, *args)

"""One priced model as the catalog, the override file and the store see it.

Prices are USD per 1M tokens, held as exact ``Decimal``. A price is named by its
billing tier, whether it is the long-context rate, and the token component:
``input``, ``flex_cache_read``, ``priority_long_output``, ``long_cache_write_1h``...
Names without a tier prefix are the standard tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from otel_llmcost.pricing.types import EXACT

STANDARD = "standard"
TIERS = (STANDARD, "batch", "flex", "priority")
COMPONENTS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
INPUT_SIDE = ("input", "cache_read", "cache_write_5m", "cache_write_1h")
PER_MILLION = Decimal(1_000_000)
PRICE_DECIMALS = Decimal("0.000001")  # per 1M tokens = 1e-12 USD per token, the store's precision


def price_field(tier: str, component: str, long_context: bool = False) -> str:
    tier_prefix = "" if tier == STANDARD else f"{tier}_"
    return f"{tier_prefix}{'long_' if long_context else ''}{component}"


PRICE_FIELDS = tuple(price_field(t, c, long) for long in (False, True) for t in TIERS for c in COMPONENTS)


def shown(value: Any) -> str:
    """``repr(value)`` for a message, short: an integer past the digits Python writes out (4300) raises."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of about {round(value.bit_length() * 0.30103):,} digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_price(value: Any, what: str) -> Decimal:
    """A price from JSON (number or numeric string) as an exact Decimal, or a ValueError saying why not."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError(f"{what} must be a number or a numeric string, got {shown(value)}")
    if isinstance(value, int) and not -_HIGHEST_PRICE <= value <= _HIGHEST_PRICE:
        raise ValueError(
            f"{what} is out of range: use 0 or a number from 1e{_LOWEST_EXPONENT} to {_HIGHEST_PRICE:,},"
            f" got {shown(value)}"
        )
    try:
        # str() of a float is its shortest repr, so 0.15 stays 0.15 instead of 0.1499999...
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} must be a number or a numeric string, got {shown(value)}") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {shown(value)}")
    if not price:
        return Decimal(0)  # not 0E-99999999, whose exact integer rate would take unbounded memory
    # Past these, a price is a typo (1e999999), and exact integer rates of it would take unbounded memory
    if price > _HIGHEST_PRICE or price.adjusted() < _LOWEST_EXPONENT:
        raise ValueError(
            f"{what} is out of range: use 0 or a number from 1e{_LOWEST_EXPONENT} to {_HIGHEST_PRICE:,},"
            f" got {shown(value)}"
        )
    return price


_HIGHEST_PRICE = 1_000_000  # USD per 1M tokens (the catalog's highest is under 10,000)
_LOWEST_EXPONENT = -15


def format_price(price: Decimal) -> str:
    """Plain decimal notation without trailing zeros: Decimal('2.50') -> '2.5', never '1E+1'."""
    return f"{price.normalize():f}"


@dataclass(frozen=True, eq=False)  # identity hash: entries key the per-entry rate cache
class PriceEntry:
    key: str
    provider: str
    mode: str
    prices: Mapping[str, Decimal]  # price field -> USD per 1M tokens; absent = unknown
    long_context_threshold: int | None = None  # input tokens (cache included) past which long_* prices apply
    web_search_per_1k: Decimal | None = None  # USD per 1,000 web-search requests
    source: str = ""
    effective_date: str = ""  # ISO yyyy-mm-dd
    notes: tuple[str, ...] = field(default=())

    def price(self, tier: str, component: str, long_context: bool = False) -> Decimal | None:
        return self.prices.get(price_field(tier, component, long_context))

    def offers(self, tier: str) -> bool:
        return tier == STANDARD or price_field(tier, "input") in self.prices

    def is_long_context(self, input_tokens: int) -> bool:
        return (
            self.long_context_threshold is not None
            and input_tokens > self.long_context_threshold
            and price_field(STANDARD, "input", True) in self.prices
        )

    def discounted(self, percent: Decimal, why: str) -> PriceEntry:
        """The same entry at ``percent`` off every price (a negotiated rate)."""
        with localcontext(EXACT):
            factor = (100 - percent) / 100
            prices = {name: price * factor for name, price in self.prices.items()}
            web_search = None if self.web_search_per_1k is None else self.web_search_per_1k * factor
            source = f"{self.source}; {format_price(percent)}% discount ({why})"  # normalize(): the context's too
        return replace(self, prices=prices, web_search_per_1k=web_search, source=source)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "provider": self.provider,
            "mode": self.mode,
            "prices": {name: format_price(self.prices[name]) for name in PRICE_FIELDS if name in self.prices},
        }
        if self.long_context_threshold is not None:
            data["long_context_threshold"] = self.long_context_threshold
        if self.web_search_per_1k is not None:
            data["web_search_per_1k"] = format_price(self.web_search_per_1k)
        data["source"] = self.source
        data["effective_date"] = self.effective_date
        if self.notes:
            data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PriceEntry:
        web_search = data.get("web_search_per_1k")
        return cls(
            key=data["key"],
            provider=data["provider"],
            mode=data["mode"],
            prices={name: Decimal(value) for name, value in data["prices"].items()},
            long_context_threshold=data.get("long_context_threshold"),
            web_search_per_1k=None if web_search is None else Decimal(web_search),
            source=data.get("source", ""),
            effective_date=data.get("effective_date", ""),
            notes=tuple(data.get("notes", ())),
        )

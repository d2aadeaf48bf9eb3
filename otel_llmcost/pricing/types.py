"""The two values that cross the pricing boundary: what a call used, what it cost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one call, normalised to the GenAI semantic conventions.

    ``input_tokens`` INCLUDES cache reads and cache writes (for Anthropic the
    adapter adds them up); ``output_tokens`` INCLUDES reasoning tokens.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_requests: int = 0
    estimated: bool = False  # counted with tiktoken, not reported by the provider

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def uncached_input_tokens(self) -> int:
        return max(self.input_tokens - self.cache_read_tokens - self.cache_write_tokens, 0)

    def __init__(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_5m_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        reasoning_tokens: int = 0,
        web_search_requests: int = 0,
        estimated: bool = False,
    ) -> None:
        # One is built per LLM call: set through the slots (see _slot_setters), not object.__setattr__.
        _set_usage[0](self, input_tokens)
        _set_usage[1](self, output_tokens)
        _set_usage[2](self, cache_read_tokens)
        _set_usage[3](self, cache_write_5m_tokens)
        _set_usage[4](self, cache_write_1h_tokens)
        _set_usage[5](self, reasoning_tokens)
        _set_usage[6](self, web_search_requests)
        _set_usage[7](self, estimated)


@dataclass(frozen=True, slots=True)
class Cost:
    """Exact cost of one call in USD, with its parts (they add up to ``total``)."""

    input: Decimal  # uncached input
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal  # all output, reasoning included
    request_fees: Decimal  # per-request fees such as web search
    reasoning: Decimal  # the share of ``output`` billed for reasoning tokens (not added again)
    entry: str  # catalog key that priced it
    price_date: str  # effective date of that price, ISO yyyy-mm-dd
    source: str  # where the price came from (e.g. "openai.com/api/pricing via litellm")
    tier: str = "standard"  # standard | batch | flex | priority
    long_context: bool = False

    @property
    def total(self) -> Decimal:
        return self.input + self.cache_read + self.cache_write + self.output + self.request_fees

    def __init__(
        self,
        input: Decimal,  # noqa: A002 (the field's name)
        cache_read: Decimal,
        cache_write: Decimal,
        output: Decimal,
        request_fees: Decimal,
        reasoning: Decimal,
        entry: str,
        price_date: str,
        source: str,
        tier: str = "standard",
        long_context: bool = False,
    ) -> None:
        _set_cost[0](self, input)
        _set_cost[1](self, cache_read)
        _set_cost[2](self, cache_write)
        _set_cost[3](self, output)
        _set_cost[4](self, request_fees)
        _set_cost[5](self, reasoning)
        _set_cost[6](self, entry)
        _set_cost[7](self, price_date)
        _set_cost[8](self, source)
        _set_cost[9](self, tier)
        _set_cost[10](self, long_context)


def _slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The slots' own setters, in field order. Usage and Cost are frozen dataclasses built on
    every LLM call; the generated ``__init__`` goes through ``object.__setattr__`` per field,
    three times slower than setting the slots directly. (A dataclass keeps an ``__init__``
    its class defines; the ones above take the same arguments as the generated one would.)"""
    return tuple(cls.__dict__[field.name].__set__ for field in fields(cls))


_set_usage = _slot_setters(Usage)
_set_cost = _slot_setters(Cost)

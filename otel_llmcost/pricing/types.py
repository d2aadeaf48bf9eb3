"""The two values that cross the pricing boundary: what a call used, what it cost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import Any, NamedTuple

ZERO = Decimal(0)
# Every cost computation runs in this context, whatever the application's own Decimal settings: a
# program may lower the precision or change the rounding for its own money math, and a cost must
# not follow. 28 digits is Python's default precision, so the values are the ones a default
# context gives (exact for every catalog price and any realistic token count; price_floats checks).
EXACT = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])


class Usage(NamedTuple):
    """Token usage of one call, normalised to the GenAI semantic conventions.

    ``input_tokens`` INCLUDES cache reads and cache writes (for Anthropic the
    adapter adds them up); ``output_tokens`` INCLUDES reasoning tokens.

    Immutable; ``usage._replace(output_tokens=...)`` gives a changed copy. A named tuple because one
    is built per LLM call: built with ``new_usage`` it costs about a fifth of a frozen dataclass.
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


_tuple_new = tuple.__new__


def new_usage(
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_5m_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    reasoning_tokens: int = 0,
    web_search_requests: int = 0,
    estimated: bool = False,
) -> Usage:
    """``Usage(...)`` for the instrumentation's hot path: the tuple is built directly, without the
    class call (``Usage(...)`` with keywords costs about three times as much on CPython 3.11)."""
    return _tuple_new(
        Usage,
        (
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_5m_tokens,
            cache_write_1h_tokens,
            reasoning_tokens,
            web_search_requests,
            estimated,
        ),
    )


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
        with localcontext(EXACT):
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
    """The slots' own setters, in field order. Cost is a frozen dataclass built on
    every priced LLM call; the generated ``__init__`` goes through ``object.__setattr__`` per field,
    three times slower than setting the slots directly. (A dataclass keeps an ``__init__``
    its class defines; the ones above take the same arguments as the generated one would.)"""
    return tuple(cls.__dict__[field.name].__set__ for field in fields(cls))


_set_cost = _slot_setters(Cost)

"""The two values that cross the pricing boundary: what a call used, what it cost."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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

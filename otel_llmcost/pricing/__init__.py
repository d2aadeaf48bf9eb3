"""Pricing: the versioned catalog (``catalog.json``) and the cost math."""

from otel_llmcost.pricing.catalog import (
    catalog_entries,
    catalog_metadata,
    clear_overrides,
    find_price,
    set_price,
)
from otel_llmcost.pricing.cost import price_call
from otel_llmcost.pricing.entry import PRICE_FIELDS, PriceEntry
from otel_llmcost.pricing.types import Cost, Usage

__all__ = [
    "PRICE_FIELDS",
    "Cost",
    "PriceEntry",
    "Usage",
    "catalog_entries",
    "catalog_metadata",
    "clear_overrides",
    "find_price",
    "price_call",
    "set_price",
]

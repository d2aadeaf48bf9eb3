"""Pricing: the versioned catalog (``catalog.json``) and the cost math."""

from otel_llmcost.pricing.types import Cost, Usage

__all__ = ["Cost", "Usage"]

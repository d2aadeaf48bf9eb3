"""Embeddings (``/embeddings``): request description and response."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation import core
from otel_llmcost.pricing.types import new_usage

API_TYPE = "embeddings"


def describe(body: Mapping[str, Any], request: core.Request) -> None:
    attributes = request.attributes
    attributes[sc.OPENAI_API_TYPE] = API_TYPE
    encoding_format = body.get("encoding_format")
    if isinstance(encoding_format, str):
        attributes[sc.GEN_AI_REQUEST_ENCODING_FORMATS] = (encoding_format,)
    dimensions = body.get("dimensions")
    if isinstance(dimensions, int) and not isinstance(dimensions, bool):
        attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
    request.estimate_input_tokens = functools.partial(_count_input, body.get("input"), request.model or "")


def read(response: Any) -> core.Response:
    usage = response.usage
    counted = getattr(usage, "prompt_tokens", None) if usage is not None else None
    return core.new_response(
        model=response.model,
        # no count (a compatible server's null, or {}): estimated, as without usage, not an exact 0
        usage=new_usage(input_tokens=counted) if type(counted) is int else None,
    )


def _count_input(value: Any, model: str) -> int:
    from otel_llmcost.tokens import count_text

    if isinstance(value, str):
        return count_text(value, model)
    if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
        return len(value)  # one input given as token ids
    if isinstance(value, list):
        return sum(_count_input(item, model) if not isinstance(item, int) else 1 for item in value)
    return 0

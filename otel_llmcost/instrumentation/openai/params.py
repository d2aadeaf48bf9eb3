"""Request parameters as semconv attributes, shared by the OpenAI endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_llmcost import semconv as sc

# body key -> (attribute, accepts float): the sampling parameters every endpoint shares
_SAMPLING = {
    "temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, True),
    "top_p": (sc.GEN_AI_REQUEST_TOP_P, True),
    "frequency_penalty": (sc.GEN_AI_REQUEST_FREQUENCY_PENALTY, True),
    "presence_penalty": (sc.GEN_AI_REQUEST_PRESENCE_PENALTY, True),
    "seed": (sc.GEN_AI_REQUEST_SEED, False),
    "n": (sc.GEN_AI_REQUEST_CHOICE_COUNT, False),
}
# The output limit has had three names; the newest one present wins.
_MAX_TOKENS = {"max_output_tokens": 3, "max_completion_tokens": 2, "max_tokens": 1}


def sampling_attributes(body: Mapping[str, Any], attributes: dict[str, Any]) -> None:
    """temperature, top_p, penalties, seed, n, max tokens and stop sequences, when the request has them."""
    max_tokens_rank = 0
    for key, value in body.items():  # one pass over the few keys a request has
        sampling = _SAMPLING.get(key)
        if sampling is not None:
            name, accepts_float = sampling
            if _is_number(value, accepts_float):
                attributes[name] = value
        elif key in _MAX_TOKENS:
            if _is_number(value, False) and _MAX_TOKENS[key] > max_tokens_rank:
                max_tokens_rank = _MAX_TOKENS[key]
                attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] = value
        elif key == "stop":
            _stop_sequences(value, attributes)


def _is_number(value: Any, accepts_float: bool) -> bool:
    kind = type(value)
    return kind is int or (accepts_float and kind is float)


def _stop_sequences(stop: Any, attributes: dict[str, Any]) -> None:
    if isinstance(stop, str):
        attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, (list, tuple)) and stop and all(isinstance(item, str) for item in stop):
        attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)


def service_tier(body: Mapping[str, Any], attributes: dict[str, Any]) -> str | None:
    """The requested tier (flex, priority, ...), which prices the call when the response does not say."""
    tier = body.get("service_tier")
    if not isinstance(tier, str):
        return None
    attributes[sc.OPENAI_REQUEST_SERVICE_TIER] = tier
    return tier


def output_type(format_type: Any) -> str | None:
    """gen_ai.output.type for a response_format / text.format type."""
    if format_type in ("json_schema", "json_object"):
        return "json"
    if format_type == "text":
        return "text"
    return None

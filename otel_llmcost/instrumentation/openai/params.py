"""Request parameters as semconv attributes, shared by the OpenAI endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_llmcost import semconv as sc

# body key -> attribute, for plain numbers (each endpoint lists the keys it accepts)
NUMBERS = {
    "temperature": sc.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": sc.GEN_AI_REQUEST_TOP_P,
    "frequency_penalty": sc.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": sc.GEN_AI_REQUEST_PRESENCE_PENALTY,
}
INTEGERS = {
    "seed": sc.GEN_AI_REQUEST_SEED,
    "n": sc.GEN_AI_REQUEST_CHOICE_COUNT,
}
# The output limit has had three names; the newest one present wins.
MAX_TOKENS_KEYS = ("max_output_tokens", "max_completion_tokens", "max_tokens")


def sampling_attributes(body: Mapping[str, Any], attributes: dict[str, Any]) -> None:
    """temperature, top_p, penalties, seed, n, max tokens and stop sequences, when the request has them."""
    for key, name in NUMBERS.items():
        value = body.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[name] = value
    for key, name in INTEGERS.items():
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            attributes[name] = value
    for key in MAX_TOKENS_KEYS:
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] = value
            break
    stop = body.get("stop")
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

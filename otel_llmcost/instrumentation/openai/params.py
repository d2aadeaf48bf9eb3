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


_KEYS = frozenset((*_SAMPLING, *_MAX_TOKENS, "stop", "service_tier"))


def request_parameters(body: Mapping[str, Any], attributes: dict[str, Any]) -> str | None:
    """temperature, top_p, penalties, seed, n, max tokens, stop sequences and the service tier, when
    the request has them; returns the requested tier (flex, priority, ...), which prices the call when
    the response does not say."""
    present = _KEYS.intersection(body)  # the few of them a request has, without a pass over its other keys
    if not present:
        return None
    tier = None
    max_tokens_rank = 0
    for key in sorted(present):  # sorted: the same attribute order whatever the body's
        value = body[key]
        sampling = _SAMPLING.get(key)
        if sampling is not None:
            kind = type(value)
            if (kind is int or (kind is float and sampling[1])) and not (key == "n" and value == 1):
                # the semconv types temperature, top_p and the penalties double: temperature=0 is 0.0;
                # it records the choice count only when it is not 1
                attributes[sampling[0]] = float(value) if sampling[1] else value
        elif key == "service_tier":
            if isinstance(value, str):
                tier = value
                if value != "auto":  # the semconv records the requested tier unless it is "auto"
                    attributes[sc.OPENAI_REQUEST_SERVICE_TIER] = value
        elif key == "stop":
            _stop_sequences(value, attributes)
        elif type(value) is int and _MAX_TOKENS[key] > max_tokens_rank:  # the newest name wins
            max_tokens_rank = _MAX_TOKENS[key]
            attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] = value
    return tier


def _stop_sequences(stop: Any, attributes: dict[str, Any]) -> None:
    if isinstance(stop, str):
        attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, (list, tuple)) and stop and all(isinstance(item, str) for item in stop):
        attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)


def output_type(format_type: Any) -> str | None:
    """gen_ai.output.type for a response_format / text.format type."""
    if format_type in ("json_schema", "json_object"):
        return "json"
    if format_type == "text":
        return "text"
    return None

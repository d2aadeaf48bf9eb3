"""OpenAI's wire format for the fake server: Chat Completions, Embeddings and error bodies.

Shapes follow the openai SDK's types (openai/types/chat, create_embedding_response.py) and
the API's documented examples. Azure OpenAI answers in the same format, plus its content
filter results; its error bodies are Azure's own.
"""

from __future__ import annotations

import base64
import json
import random
import re
import struct
import time
from collections.abc import Iterable, Mapping
from typing import Any

from otel_llmcost.demo.answer import Answer, BadRequest, Prompt, pieces
from otel_llmcost.demo.scenario import Scenario
from otel_llmcost.pricing.types import Usage
from otel_llmcost.tokens import count_messages, count_text

SYSTEM_FINGERPRINT = "fp_fake0d3m0"
EMBEDDING_DIMENSIONS = {"text-embedding-3-large": 3072}  # others (3-small, ada-002) have 1536
DEFAULT_EMBEDDING_DIMENSIONS = 1536
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
_SAFE = {"filtered": False, "severity": "safe"}
_CONTENT_FILTER_RESULTS = {name: _SAFE for name in ("hate", "self_harm", "sexual", "violence")}


# --- requests -----------------------------------------------------------------


def require(body: Mapping[str, Any], name: str) -> Any:
    value = body.get(name)
    if value is None:
        raise BadRequest(f"Missing required parameter: '{name}'.", param=name)
    return value


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING_MODEL.match(model.rsplit("/", 1)[-1].lower()))


def tools_tokens(tools: Any, model: str) -> int:
    """Tool definitions count as prompt tokens; their JSON is a fair approximation."""
    return count_text(json.dumps(tools), model) if tools else 0


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return ""


def turns(flags: Iterable[bool]) -> int:
    """How many runs of consecutive True there are: turns of tool results in a conversation."""
    count, previous = 0, False
    for flag in flags:
        count += flag and not previous
        previous = flag
    return count


def chat_prompt(body: Mapping[str, Any], model: str) -> Prompt:
    messages = require(body, "messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("Invalid 'messages': expected a non-empty array of messages.", param="messages")
    tools = {
        tool["function"]["name"]: tool["function"].get("parameters") or {}
        for tool in body.get("tools") or ()
        if tool.get("type") == "function"
    }
    users = [message for message in messages if message.get("role") == "user"]
    return Prompt(
        model=model,
        tokens=count_messages(messages, model) + tools_tokens(body.get("tools"), model),
        text=text_of(users[-1].get("content")) if users else "",
        tools=tools,
        tool_rounds=turns(message.get("role") == "tool" for message in messages),
        max_output_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        reasoning=is_reasoning_model(model),
    )


def service_tier(body: Mapping[str, Any], scenario: Scenario) -> str:
    if scenario.service_tier:
        return scenario.service_tier
    requested = body.get("service_tier")
    return "default" if requested in (None, "auto") else requested


# --- chat completions -----------------------------------------------------------


def chat_usage(usage: Usage) -> dict[str, Any]:
    prompt_details: dict[str, Any] = {"cached_tokens": usage.cache_read_tokens, "audio_tokens": 0}
    if usage.cache_write_tokens:
        prompt_details["cache_write_tokens"] = usage.cache_write_tokens
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(answer: Answer, body: Mapping[str, Any], scenario: Scenario, azure: bool) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text if answer.text or not answer.tool_calls else None,
        "refusal": None,
        "annotations": [],
    }
    if answer.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{call.key}",
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in answer.tool_calls
        ]
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish}
    payload = _chat_envelope(answer, body, scenario, azure, "chat.completion")
    payload["choices"] = [choice]
    if azure:
        choice["content_filter_results"] = _CONTENT_FILTER_RESULTS
        payload["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": _CONTENT_FILTER_RESULTS}]
    if not scenario.omit_usage:
        payload["usage"] = chat_usage(answer.usage)
    return payload


def chat_chunks(answer: Answer, body: Mapping[str, Any], scenario: Scenario, azure: bool) -> list[dict[str, Any]]:
    """The stream of ``chat.completion.chunk`` objects, as the API sends them.

    With ``stream_options.include_usage`` every chunk carries ``"usage": null`` and one last
    chunk with no choices carries the usage. Tool calls stream as a first delta with id and
    name, then argument pieces. Azure first sends a chunk with only prompt filter results.
    """
    include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and not scenario.omit_usage
    envelope = _chat_envelope(answer, body, scenario, azure, "chat.completion.chunk")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**envelope, "choices": [choice], **({"usage": None} if include_usage else {})}

    chunks = []
    if azure:
        filter_results = [{"prompt_index": 0, "content_filter_results": _CONTENT_FILTER_RESULTS}]
        chunks.append(
            {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": filter_results}
        )
    chunks.append(chunk({"role": "assistant", "content": "", "refusal": None}))
    chunks += [chunk({"content": piece}) for piece in pieces(answer.text)]
    for index, call in enumerate(answer.tool_calls):
        name = {"name": call.name, "arguments": ""}
        chunks.append(
            chunk({"tool_calls": [{"index": index, "id": f"call_{call.key}", "type": "function", "function": name}]})
        )
        for piece in pieces(json.dumps(call.arguments), words_per_piece=2):
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, answer.finish))
    if include_usage:
        chunks.append({**envelope, "choices": [], "usage": chat_usage(answer.usage)})
    return chunks


def _chat_envelope(
    answer: Answer, body: Mapping[str, Any], scenario: Scenario, azure: bool, kind: str
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": answer.identifier("chatcmpl-", 29),
        "object": kind,
        "created": int(time.time()),
        "model": answer.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if not azure:
        payload["service_tier"] = service_tier(body, scenario)
    return payload


# --- embeddings ---------------------------------------------------------------


def embeddings(body: Mapping[str, Any], model: str, scenario: Scenario) -> dict[str, Any]:
    """Deterministic unit vectors (one per input), as floats or base64 little-endian float32."""
    inputs = require(body, "input")
    if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("'input' must be a non-empty string or array.", param="input")
    dimensions = body.get("dimensions") or EMBEDDING_DIMENSIONS.get(model, DEFAULT_EMBEDDING_DIMENSIONS)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise BadRequest(
            f"Invalid value for 'encoding_format': {encoding!r}; use 'float' or 'base64'.", "encoding_format"
        )
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        tokens += len(item) if isinstance(item, list) else count_text(item, model)
        vector = _unit_vector(json.dumps(item), dimensions)
        packed: Any = vector
        if encoding == "base64":
            packed = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": packed})
    payload: dict[str, Any] = {"object": "list", "data": data, "model": scenario.response_model or model}
    if not scenario.omit_usage:
        payload["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return payload


def _unit_vector(text: str, dimensions: int) -> list[float]:
    rng = random.Random(text)
    vector = [rng.random() - 0.5 for _ in range(dimensions)]
    norm = sum(value * value for value in vector) ** 0.5 or 1.0
    return [value / norm for value in vector]


# --- errors -------------------------------------------------------------------

_ERRORS = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: demo. You can find your API key at https://platform.openai.com/account/api-keys.",
    ),
    403: ("invalid_request_error", None, "You are not allowed to sample from this model"),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model `{model}` does not exist or you do not have access to it.",
    ),
    429: (
        "tokens",
        "rate_limit_exceeded",
        (
            "Rate limit reached for {model} in organization org-fakedemo on tokens per min (TPM): Limit 30000, "
            "Used 30000, Requested 1200. Please try again in 2.4s. "
            "Visit https://platform.openai.com/account/rate-limits to learn more."
        ),
    ),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_AZURE_ERRORS = {
    429: "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version {api_version} have "
    "exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 2 seconds.",
    500: "The service is temporarily unable to process your request. Please try again later.",
}


def error(
    status: int,
    *,
    model: str = "",
    message: str | None = None,
    param: str | None = None,
    azure: bool = False,
    api_version: str = "",
) -> tuple[dict[str, Any], dict[str, str]]:
    """An error body and its extra headers, as OpenAI (or Azure OpenAI) sends them."""
    kind, code, default = _ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None, ""))
    headers: dict[str, str] = {}
    if azure:
        text = message or _AZURE_ERRORS.get(status, default).format(model=model, api_version=api_version)
        if status == 429:
            headers = {"retry-after": "2", "retry-after-ms": "2000"}
        return {"error": {"code": str(status), "message": text}}, headers
    if status == 429:
        headers = {
            "x-ratelimit-limit-tokens": "30000",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": "2.4s",
        }
    text = message or default.format(model=model) or f"Request failed with status {status}."
    return {"error": {"message": text, "type": kind, "param": param, "code": code}}, headers


def unknown_path(method: str, path: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"Invalid URL ({method} {path})",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }

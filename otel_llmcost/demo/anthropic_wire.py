"""Anthropic's Messages API wire format for the fake server: messages, SSE events, errors.

Shapes follow the anthropic SDK's types (anthropic/types: Message, Usage, CacheCreation,
Raw*Event) and the documented streaming protocol: message_start, per content block
content_block_start / content_block_delta (text_delta, thinking_delta, signature_delta,
input_json_delta) / content_block_stop, message_delta with the stop reason and cumulative
usage, message_stop. Anthropic reports ``input_tokens`` WITHOUT cache reads and writes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from otel_llmcost.demo.answer import Answer, BadRequest, Prompt, pieces
from otel_llmcost.demo.openai_wire import text_of, tools_tokens
from otel_llmcost.demo.scenario import Scenario
from otel_llmcost.pricing.types import Usage
from otel_llmcost.tokens import count_messages


def messages_prompt(body: Mapping[str, Any], model: str) -> Prompt:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: Field required (a non-empty list of messages)")
    if body.get("max_tokens") is None:
        raise BadRequest("max_tokens: Field required")
    system = body.get("system")
    with_system = ([{"role": "system", "content": system}] if system else []) + messages
    users = [message for message in messages if message.get("role") == "user"]
    tools = {tool["name"]: tool.get("input_schema") or {} for tool in body.get("tools") or () if "input_schema" in tool}
    return Prompt(
        model=model,
        tokens=count_messages(with_system, model) + tools_tokens(body.get("tools"), model),
        text=text_of(users[-1].get("content")) if users else "",
        tools=tools,
        tool_rounds=sum(_has_tool_result(message) for message in messages),
        max_output_tokens=body["max_tokens"],
        reasoning=(body.get("thinking") or {}).get("type") in ("enabled", "adaptive"),
    )


def _has_tool_result(message: Mapping[str, Any]) -> bool:
    blocks = message.get("content")
    return isinstance(blocks, list) and any(isinstance(b, Mapping) and b.get("type") == "tool_result" for b in blocks)


def count_tokens(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The /v1/messages/count_tokens answer: the prompt's input tokens."""
    return {"input_tokens": messages_prompt({"max_tokens": 1, **body}, model).tokens}


def usage_fields(usage: Usage, scenario: Scenario) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "input_tokens": usage.uncached_input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_write_5m_tokens,
            "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
        },
        "output_tokens": usage.output_tokens,
        "service_tier": scenario.service_tier or "standard",
    }
    if usage.reasoning_tokens:
        fields["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return fields


def stop_reason(answer: Answer) -> str:
    return {"tool_calls": "tool_use", "length": "max_tokens"}.get(answer.finish, "end_turn")


def content_blocks(answer: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if answer.thinking:
        blocks.append({"type": "thinking", "thinking": answer.thinking, "signature": _signature(answer)})
    if answer.text or not answer.tool_calls:
        blocks.append({"type": "text", "text": answer.text})
    for call in answer.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": f"toolu_01{call.key[:22]}", "name": call.name, "input": call.arguments}
        )
    return blocks


def message(answer: Answer, scenario: Scenario) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": answer.identifier("msg_01", 22),
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content_blocks(answer),
        "stop_reason": stop_reason(answer),
        "stop_sequence": None,
    }
    if not scenario.omit_usage:
        payload["usage"] = usage_fields(answer.usage, scenario)
    return payload


def stream_events(answer: Answer, scenario: Scenario) -> list[dict[str, Any]]:
    """The SSE events of a streamed message; each event's ``type`` is its SSE event name."""
    final = message(answer, scenario)
    start = {**final, "content": [], "stop_reason": None}
    if "usage" in final:
        # message_start reports the input side; output tokens so far are a placeholder
        start["usage"] = {**final["usage"], "output_tokens": 1}
        start["usage"].pop("output_tokens_details", None)
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(final["content"]):
        events += _block_events(index, block)
    delta: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
    }
    if "usage" in final:
        cumulative = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
        delta["usage"] = {key: final["usage"][key] for key in cumulative}
        if "output_tokens_details" in final["usage"]:
            delta["usage"]["output_tokens_details"] = final["usage"]["output_tokens_details"]
    events += [delta, {"type": "message_stop"}]
    return events


def _block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    if block["type"] == "text":
        empty, deltas = (
            {"type": "text", "text": ""},
            [{"type": "text_delta", "text": piece} for piece in pieces(block["text"])],
        )
    elif block["type"] == "thinking":
        empty = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in pieces(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        empty = {**block, "input": {}}
        arguments = json.dumps(block["input"])
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces(arguments, words_per_piece=2)]
    return [
        {"type": "content_block_start", "index": index, "content_block": empty},
        *({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def _signature(answer: Answer) -> str:
    return answer.identifier("EqQBCkgIAxABGAIiQ", 64)


# --- errors -------------------------------------------------------------------

_ERRORS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "model: {model}"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: (
        "rate_limit_error",
        (
            "This request would exceed the rate limit for your organization of 30,000 input tokens per minute. "
            "For details, refer to: https://docs.claude.com/en/api/rate-limits."
        ),
    ),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def error(
    status: int, request_id: str, *, model: str = "", message: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """An error body and its extra headers, as Anthropic sends them."""
    kind, default = _ERRORS.get(status, ("api_error" if status >= 500 else "invalid_request_error", ""))
    text = message or default.format(model=model) or f"Request failed with status {status}."
    headers = {"retry-after": "2", "anthropic-ratelimit-input-tokens-remaining": "0"} if status == 429 else {}
    return {"type": "error", "error": {"type": kind, "message": text}, "request_id": request_id}, headers

"""OpenAI's Responses API wire format for the fake server: the response object and its events.

Shapes follow the openai SDK's types (openai/types/responses): a ``response`` object whose
``output`` holds reasoning, message and function_call items, and, when streamed, the event
sequence response.created, response.in_progress, per item output_item.added, content deltas
(output_text.delta / function_call_arguments.delta), output_item.done, then response.completed
(or response.incomplete). Events are SSE with the event type as the SSE event name.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import count
from typing import Any

from otel_llmcost.demo.answer import Answer, BadRequest, Prompt, pieces
from otel_llmcost.demo.openai_wire import is_reasoning_model, require, service_tier, text_of, tools_tokens, turns
from otel_llmcost.demo.scenario import Scenario
from otel_llmcost.pricing.types import Usage
from otel_llmcost.tokens import count_messages


@dataclass(frozen=True)
class Conversation:
    """What a stored response leaves for a request that continues it with previous_response_id."""

    tokens: int  # the context so far: its prompt and visible output (earlier reasoning is dropped)
    text: str  # the last user text
    tool_rounds: int


def responses_prompt(body: Mapping[str, Any], model: str, previous: Conversation | None = None) -> Prompt:
    """The prompt of a request; with ``previous``, its context counts as input, as the API bills it."""
    items = require(body, "input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise BadRequest("Invalid 'input': expected a string or a non-empty array of input items.", param="input")
    messages = ([{"role": "system", "content": body["instructions"]}] if body.get("instructions") else []) + items
    users = [item for item in items if item.get("role") == "user"]
    earlier = previous or Conversation(0, "", 0)
    tools = {
        tool["name"]: tool.get("parameters") or {} for tool in body.get("tools") or () if tool.get("type") == "function"
    }
    return Prompt(
        model=model,
        tokens=earlier.tokens + count_messages(messages, model) + tools_tokens(body.get("tools"), model),
        text=text_of(users[-1].get("content")) if users else earlier.text,
        tools=tools,
        tool_rounds=earlier.tool_rounds + turns(item.get("type") == "function_call_output" for item in items),
        max_output_tokens=body.get("max_output_tokens"),
        reasoning=is_reasoning_model(model),
    )


def continued(prompt: Prompt, answer: Answer) -> Conversation:
    """The conversation a response leaves behind, for the next request to continue."""
    visible = answer.usage.output_tokens - answer.usage.reasoning_tokens
    return Conversation(prompt.tokens + visible, prompt.text, prompt.tool_rounds)


def responses_usage(usage: Usage) -> dict[str, Any]:
    input_details: dict[str, Any] = {
        "cached_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
    }
    if usage.cache_write_tokens:
        input_details["cache_write_tokens_details"] = {
            "ttl_30m_tokens": usage.cache_write_5m_tokens,
            "ttl_12h_tokens": usage.cache_write_1h_tokens,
        }
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": input_details,
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def output_items(answer: Answer) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if answer.usage.reasoning_tokens:
        items.append({"id": answer.identifier("rs_", 40), "type": "reasoning", "summary": []})
    if answer.text or not answer.tool_calls:
        content = [{"type": "output_text", "annotations": [], "logprobs": [], "text": answer.text}]
        items.append(
            {
                "id": answer.identifier("msg_", 40),
                "type": "message",
                "status": "incomplete" if answer.truncated else "completed",
                "content": content,
                "role": "assistant",
            }
        )
    for call in answer.tool_calls:
        items.append(
            {
                "id": f"fc_{call.key}",
                "type": "function_call",
                "status": "completed",
                "arguments": json.dumps(call.arguments),
                "call_id": f"call_{call.key}",
                "name": call.name,
            }
        )
    return items


def response_object(answer: Answer, body: Mapping[str, Any], scenario: Scenario) -> dict[str, Any]:
    created = int(time.time())
    return {
        "id": answer.identifier("resp_", 40),
        "object": "response",
        "created_at": created,
        "status": "incomplete" if answer.truncated else "completed",
        "completed_at": created,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if answer.truncated else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": answer.model,
        "output": output_items(answer),
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": (body.get("reasoning") or {}).get("effort"), "summary": None},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": service_tier(body, scenario),
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [{"strict": True, **tool} for tool in body.get("tools") or ()],
        "top_logprobs": 0,
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": None if scenario.omit_usage else responses_usage(answer.usage),
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def response_events(final: dict[str, Any]) -> list[dict[str, Any]]:
    """The event stream that ends in ``final``; each event's ``type`` is its SSE event name."""
    sequence = count()
    pending = {**final, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    pending["completed_at"] = None
    events = [
        {"type": "response.created", "sequence_number": next(sequence), "response": pending},
        {"type": "response.in_progress", "sequence_number": next(sequence), "response": pending},
    ]
    for index, item in enumerate(final["output"]):
        events += _item_events(item, index, sequence)
    events.append({"type": f"response.{final['status']}", "sequence_number": next(sequence), "response": final})
    return events


def _item_events(item: dict[str, Any], index: int, sequence: Iterator[int]) -> list[dict[str, Any]]:
    placeholder = {**item, "status": "in_progress"}
    if item["type"] == "message":
        placeholder["content"] = []
    if item["type"] == "function_call":
        placeholder["arguments"] = ""
    events = [
        {
            "type": "response.output_item.added",
            "sequence_number": next(sequence),
            "output_index": index,
            "item": placeholder,
        }
    ]
    where = {"item_id": item["id"], "output_index": index}
    if item["type"] == "message":
        text = item["content"][0]["text"]
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        at = {**where, "content_index": 0}
        events.append({"type": "response.content_part.added", "sequence_number": next(sequence), **at, "part": part})
        for piece in pieces(text):
            delta = {"delta": piece, "logprobs": []}
            events.append({"type": "response.output_text.delta", "sequence_number": next(sequence), **at, **delta})
        done = {"text": text, "logprobs": []}
        events.append({"type": "response.output_text.done", "sequence_number": next(sequence), **at, **done})
        part_done = {**part, "text": text}
        events.append(
            {"type": "response.content_part.done", "sequence_number": next(sequence), **at, "part": part_done}
        )
    elif item["type"] == "function_call":
        for piece in pieces(item["arguments"], words_per_piece=2):
            events.append(
                {
                    "type": "response.function_call_arguments.delta",
                    "sequence_number": next(sequence),
                    **where,
                    "delta": piece,
                }
            )
        done = {"arguments": item["arguments"], "name": item["name"]}
        events.append(
            {"type": "response.function_call_arguments.done", "sequence_number": next(sequence), **where, **done}
        )
    events.append(
        {"type": "response.output_item.done", "sequence_number": next(sequence), "output_index": index, "item": item}
    )
    return events

"""What the fake model answers, before any provider's wire format: text, tool calls, usage.

Everything is a pure function of the request and the scenario, so the same request always
gets the same answer. Token counts come from ``otel_llmcost.tokens`` (tiktoken), so usage
matches the text the way a real provider's would (up to tokenizer differences for Claude).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from otel_llmcost.demo.scenario import Scenario
from otel_llmcost.pricing.types import Usage
from otel_llmcost.tokens import count_text

_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_SENTENCES = (
    "Thanks for reaching out, I can help with that.",
    "I checked the account and everything looks in order.",
    "The order left our warehouse yesterday and should arrive within three business days.",
    "You can change this setting under Billing in the dashboard.",
    "Here is a short summary of what happened and what we recommend next.",
    "The customer reported the issue twice and asked for a refund.",
    "Our records show the payment was received on time.",
    "I found three relevant sources that agree on the main point.",
    "The most likely cause is an expired card on file.",
    "Please let me know if there is anything else I can do.",
    "Based on the details provided, this request belongs to the shipping category.",
    "The plan includes priority support and a monthly usage report.",
)
_THOUGHTS = (
    "The user wants a direct answer, so I should check the facts first.",
    "Two readings are possible; the second one fits the context better.",
    "I should keep the reply short and mention the next step.",
)
DEFAULT_REASONING_UNIT = 64  # reasoning models think 64..512 tokens unless the scenario says otherwise


class BadRequest(ValueError):
    """The request is invalid (a provider would answer 400), or cannot be answered as scripted."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Prompt:
    """What the answer depends on, read from a request by the provider's wire module."""

    model: str
    tokens: int  # prompt tokens of the whole request (system, messages, tools)
    text: str  # the last user text: seeds the generated reply and tool arguments
    tools: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # declared tool -> argument schema
    tool_rounds: int = 0  # turns of tool results already in the conversation
    max_output_tokens: int | None = None
    reasoning: bool = False  # a reasoning model, or Claude with thinking enabled


@dataclass(frozen=True)
class ToolCall:
    key: str  # stable random part of the call id; each wire adds its provider's prefix
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    model: str  # the model id to report
    text: str
    thinking: str  # a readable summary of the reasoning (Claude thinking blocks), '' without reasoning
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    truncated: bool  # stopped at the request's output token limit
    seed: int  # stable per request: ids are derived from it

    def identifier(self, prefix: str, length: int = 24) -> str:
        """A stable id such as ``chatcmpl-...`` or ``msg_01...`` for this answer."""
        return prefix + _token(self.seed, prefix, length)

    @property
    def finish(self) -> str:
        """Why the answer ended, in OpenAI Chat's words (each wire maps it to its own)."""
        if self.tool_calls:
            return "tool_calls"
        return "length" if self.truncated else "stop"


def pieces(text: str, words_per_piece: int = 3) -> list[str]:
    """The text as streamed deltas of a few words each; they join back to exactly ``text``."""
    words = re.findall(r"\s*\S+|\s+$", text)
    return ["".join(words[start : start + words_per_piece]) for start in range(0, len(words), words_per_piece)]


def answer(prompt: Prompt, scenario: Scenario) -> Answer:
    """The model's answer to ``prompt`` as ``scenario`` scripts it; the same inputs, the same answer."""
    seed = int.from_bytes(hashlib.sha256(f"{prompt.model}\0{prompt.tokens}\0{prompt.text}".encode()).digest()[:8])
    tool_calls = _tool_calls(prompt, scenario, seed) if prompt.tool_rounds < scenario.tool_rounds else ()
    reasoning = _reasoning_tokens(prompt, scenario, seed)
    text = scenario.reply if scenario.reply is not None else _generated_text(prompt, scenario, seed, tool_calls)
    truncated = False
    if prompt.max_output_tokens is not None:
        budget = max(prompt.max_output_tokens - reasoning, 0)
        if count_text(text, prompt.model) > budget:
            text, truncated = _truncated(text, budget, prompt.model), True
    output = count_text(text, prompt.model) + reasoning
    output += sum(count_text(call.name, prompt.model) + _argument_tokens(call, prompt.model) for call in tool_calls)
    cached = math.floor(prompt.tokens * scenario.cached_share)
    written = math.floor(prompt.tokens * scenario.cache_write_share)
    long_ttl = scenario.cache_ttl == "long"
    usage = Usage(
        input_tokens=prompt.tokens,
        output_tokens=output,
        cache_read_tokens=cached,
        cache_write_5m_tokens=0 if long_ttl else written,
        cache_write_1h_tokens=written if long_ttl else 0,
        reasoning_tokens=reasoning,
    )
    thinking = " ".join(_THOUGHTS[: 1 + seed % len(_THOUGHTS)]) if reasoning else ""
    return Answer(scenario.response_model or prompt.model, text, thinking, tool_calls, usage, truncated, seed)


def _tool_calls(prompt: Prompt, scenario: Scenario, seed: int) -> tuple[ToolCall, ...]:
    calls = []
    for index, name in enumerate(scenario.tools):
        if name not in prompt.tools:
            declared = ", ".join(sorted(prompt.tools)) or "none"
            raise BadRequest(f"the scenario calls tool {name!r} but the request declares tools: {declared}")
        arguments = scenario.tool_args.get(name)
        if arguments is None:
            arguments = _arguments_from_schema(prompt.tools[name], prompt.text, seed + index)
        calls.append(ToolCall(_token(seed + index, "call", 24), name, dict(arguments)))
    return tuple(calls)


def _arguments_from_schema(schema: Mapping[str, Any], text: str, seed: int) -> dict[str, Any]:
    """Plausible arguments: strings from the user's text, ids from an id-looking word in it."""
    properties = schema.get("properties") or {}
    wanted = schema.get("required") or list(properties)
    found_id = re.search(r"\b[A-Z]{2,}-\d+\b", text)
    arguments: dict[str, Any] = {}
    for name in wanted:
        spec = properties.get(name) or {}
        kind = spec.get("type", "string")
        if spec.get("enum"):
            arguments[name] = spec["enum"][0]
        elif kind == "string":
            if name.endswith("id"):
                arguments[name] = found_id.group(0) if found_id else f"ORD-{seed % 100000:05d}"
            else:
                arguments[name] = " ".join(text.split()[:8]) or "latest updates"
        elif kind in ("integer", "number"):
            arguments[name] = 3
        elif kind == "boolean":
            arguments[name] = True
        elif kind == "array":
            arguments[name] = []
        else:
            arguments[name] = {}
    return arguments


def _reasoning_tokens(prompt: Prompt, scenario: Scenario, seed: int) -> int:
    if scenario.reasoning_tokens is not None:
        return scenario.reasoning_tokens
    return DEFAULT_REASONING_UNIT * (1 + seed % 8) if prompt.reasoning else 0


def _generated_text(prompt: Prompt, scenario: Scenario, seed: int, tool_calls: tuple[ToolCall, ...]) -> str:
    """Whole sentences until about ``output_tokens`` (default 40..159, from the request)."""
    if tool_calls and scenario.output_tokens is None:
        return ""  # models calling tools usually say nothing
    target = scenario.output_tokens if scenario.output_tokens is not None else 40 + seed % 120
    rng = random.Random(seed)
    sentences: list[str] = []
    tokens = 0
    while tokens < target:
        sentence = rng.choice(_SENTENCES)
        sentences.append(sentence)
        tokens += count_text(" " + sentence, prompt.model)
    return " ".join(sentences)


def _truncated(text: str, budget: int, model: str) -> str:
    """The longest prefix of whole words within ``budget`` tokens."""
    words = text.split(" ")
    low, high = 0, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        if count_text(" ".join(words[:middle]), model) <= budget:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low])


def _argument_tokens(call: ToolCall, model: str) -> int:
    return count_text(json.dumps(call.arguments), model)


def _token(seed: int, salt: str, length: int) -> str:
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return "".join(_ALPHANUMERIC[byte % len(_ALPHANUMERIC)] for byte in (digest * 2)[:length])

"""Anthropic messages and content blocks, read for the prompt fingerprint and (opt-in) content capture.

A request holds blocks as dicts, or as the SDK's models when the application sends a previous
response's ``content`` back; a response holds models. ``field`` reads either. Content capture
writes the semconv JSON shapes (``gen-ai-input-messages.json``, ``gen-ai-output-messages.json``)
with the part builders of ``instrumentation.content``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from otel_llmcost.instrumentation.content import reasoning_part, text_part, tool_call_part, tool_response_part
from otel_llmcost.instrumentation.fingerprint import tool_text

# stop_reason -> the semconv FinishReason of an output message
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}
# Calls of tools the API runs itself (web search, MCP servers): not the application's to answer
_SERVER_TOOL_CALLS = ("server_tool_use", "mcp_tool_use")
_MEDIA = {"image": "image", "document": "file", "container_upload": "file"}


# type -> whether it is a Mapping: an isinstance check against the ABC costs more than the read itself
_MAPPINGS: dict[type, bool] = {dict: True, type(None): False}


def is_mapping(value: Any) -> bool:
    kind = type(value)
    mapping = _MAPPINGS.get(kind)
    if mapping is None:
        mapping = _MAPPINGS[kind] = isinstance(value, Mapping)
    return mapping


def field(block: Any, name: str) -> Any:
    kind = type(block)
    if kind is dict:  # the common case, without the type lookup
        return block.get(name)
    mapping = _MAPPINGS.get(kind)  # is_mapping, inline for the types seen before (a response's models)
    if mapping is None:
        mapping = is_mapping(block)
    return block.get(name) if mapping else getattr(block, name, None)


def listed(value: Any) -> Sequence[Any]:
    """A list or tuple as it is; anything else as empty. The body anthropic 2.x hands its request
    method is not yet prepared: an iterable there may be one-shot, and reading it would empty it."""
    return value if isinstance(value, (list, tuple)) else ()


def system_text(system: Any) -> str:
    """The system prompt: a string, or the text of its blocks."""
    if isinstance(system, str):
        return system
    return "\n".join(text for block in listed(system) if isinstance(text := field(block, "text"), str))


def tool_signature(tool: Any) -> str:
    """A tool definition as the fingerprint hashes it: its name, description and input schema
    (server tools, such as web search, have a type and a name but no schema)."""
    name = field(tool, "name") or field(tool, "type")
    return tool_text(name, field(tool, "description"), field(tool, "input_schema"))


def head(messages: Sequence[Any]) -> tuple[str, ...]:
    """One ``role:block-types`` token per message up to the first user message, as the fingerprint
    reads a conversation (``fingerprint.head_fingerprint``)."""
    tokens = []
    for message in messages:
        if type(message) is dict:
            role, content = message.get("role"), message.get("content")
        else:
            role, content = field(message, "role"), field(message, "content")
        token = f"{role}:{'text' if type(content) is str else _block_types(content)}"
        tokens.append(token)
        if token.startswith("user"):
            break
    return tuple(tokens)


def _block_types(content: Any) -> str:
    if isinstance(content, str):
        return "text"
    return "+".join(str(field(block, "type")) for block in listed(content))


def system_instructions(system: Any) -> list[dict[str, Any]]:
    if isinstance(system, str):
        return [text_part(system)]
    return [part for block in listed(system) if (part := _part(block)) is not None]


def input_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"role": field(message, "role"), "parts": parts_of(field(message, "content"))} for message in messages]


def output_messages(blocks: Sequence[Any], stop_reason: str | None) -> list[dict[str, Any]]:
    parts = [part for block in blocks if (part := _part(block)) is not None]
    return [{"role": "assistant", "parts": parts, "finish_reason": _FINISH.get(stop_reason or "", stop_reason or "")}]


def parts_of(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [text_part(content)]
    return [part for block in listed(content) if (part := _part(block)) is not None]


def text_of_blocks(blocks: Sequence[Any]) -> str:
    """What a response said, for estimating its output tokens: text, thinking and tool input."""
    texts = []
    for block in blocks:
        kind = field(block, "type")
        if kind == "text":
            texts.append(field(block, "text") or "")
        elif kind == "thinking":
            texts.append(field(block, "thinking") or "")
        elif kind == "tool_use":
            texts.append(json.dumps(field(block, "input"), default=str))
    return "".join(texts)


def _part(block: Any) -> dict[str, Any] | None:
    kind = field(block, "type")
    if kind == "text":
        return text_part(field(block, "text") or "")
    if kind == "thinking":
        return reasoning_part(field(block, "thinking") or "")
    if kind == "tool_use":
        return tool_call_part(field(block, "id"), field(block, "name"), field(block, "input"))
    if kind == "tool_result":
        return tool_response_part(field(block, "tool_use_id"), _result_of(field(block, "content")))
    if kind in _SERVER_TOOL_CALLS:
        name = field(block, "name") or ""
        return {"type": "server_tool_call", "id": field(block, "id"), "name": name, "server_tool_call": {"type": name}}
    if isinstance(kind, str) and kind.endswith("_tool_result"):
        # web_search_tool_result, code_execution_tool_result, ...: the API ran the tool; its output is not copied.
        return {
            "type": "server_tool_call_response",
            "id": field(block, "tool_use_id"),
            "server_tool_call_response": {"type": kind},
        }
    modality = _MEDIA.get(str(kind))
    if modality is not None:
        return _media_part(str(kind), modality, field(block, "source"))
    return {"type": str(kind)} if kind else None


def _result_of(content: Any) -> Any:
    if isinstance(content, str) or content is None:
        return content
    return "".join(text for block in listed(content) if isinstance(text := field(block, "text"), str))


def _media_part(kind: str, modality: str, source: Any) -> dict[str, Any]:
    url = field(source, "url")
    if field(source, "type") == "url" and isinstance(url, str):
        return {"type": "uri", "modality": modality, "uri": url}
    file_id = field(source, "file_id")
    if field(source, "type") == "file" and isinstance(file_id, str) and file_id:  # the Files API (beta)
        return {"type": "file", "modality": modality, "file_id": file_id}
    # Inline media (base64) is not copied onto spans: it is large and rarely useful there.
    return {"type": kind, "modality": modality}

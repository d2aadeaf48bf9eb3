"""OpenAI message content, read for the prompt fingerprint and (opt-in) content capture.

Content capture writes the semconv JSON shapes (``gen-ai-input-messages.json``,
``gen-ai-output-messages.json``); this module turns OpenAI content parts into them, with the
part builders of ``instrumentation.content``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_llmcost.instrumentation.content import text_part
from otel_llmcost.instrumentation.fingerprint import tool_text

# OpenAI content part type -> semconv modality, for parts that carry media rather than text
_MEDIA = {
    "image_url": "image",
    "input_image": "image",
    "input_audio": "audio",
    "file": "file",
    "input_file": "file",
}
_TEXT_PARTS = ("text", "input_text", "output_text", "refusal")
# OpenAI's finish reasons as the semconv output messages' FinishReason names them; the span's
# gen_ai.response.finish_reasons keeps OpenAI's own.
_FINISH = {"tool_calls": "tool_call", "function_call": "tool_call"}


def finish_reason(reason: str | None) -> str:
    """An output message's ``finish_reason``: stop, length, content_filter, tool_call (or error)."""
    return _FINISH.get(reason or "", reason or "")


def text_of(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"] for part in content if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def part_types(content: Any) -> str:
    """``text`` for a string, else the part types of a list joined with ``+`` (for the prompt shape)."""
    if isinstance(content, str):
        return "text"
    if isinstance(content, list):
        return "+".join(str(part.get("type")) if isinstance(part, Mapping) else "text" for part in content)
    return ""


def tool_signature(tool: Any) -> str:
    """A tool definition as the fingerprint hashes it: its name, description and parameter schema.

    Chat Completions nests a function under ``function``; the Responses API keeps it flat;
    built-in tools (web search, file search) have only a type.
    """
    if not isinstance(tool, Mapping):
        return str(tool)
    definition = tool.get("function") or tool.get("custom") or tool
    if not isinstance(definition, Mapping):
        return str(tool.get("type"))
    name = definition.get("name") or tool.get("type")
    if name == "mcp":  # a remote MCP server's tools: the server tells them apart
        name = f"mcp:{tool.get('server_label') or tool.get('server_url') or ''}"
    return tool_text(name, definition.get("description"), definition.get("parameters"))


def count_tools(tools: Any, model: str) -> int:
    """Input tokens of a request's tool definitions (``tokens.count_tool``: name, description, schema)."""
    from otel_llmcost.tokens import count_tool

    return sum(count_tool(tool, model) for tool in tools) if isinstance(tools, list) else 0


def parts_of(content: Any) -> list[dict[str, Any]]:
    """semconv message parts for an OpenAI content value."""
    if content is None:
        return []
    if isinstance(content, str):
        return [text_part(content)]
    if not isinstance(content, list):
        return [text_part(str(content))]
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(text_part(part))
        elif isinstance(part, Mapping):
            parts.append(_part(part))
    return parts


def _part(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        text = part.get("text")
        if not isinstance(text, str):
            text = part.get("refusal")
        if isinstance(text, str):  # "" too: a text part without its content breaks the semconv's TextPart
            return text_part(text)
    modality = _MEDIA.get(str(kind))
    if modality is None:
        return {"type": str(kind)}
    # A file sent by id (the Files API): the Responses API's input_file / input_image carry file_id,
    # Chat Completions' file part nests it under "file". The semconv's FilePart, not a URI.
    nested = part.get("file")
    file_id = part.get("file_id") or (nested.get("file_id") if isinstance(nested, Mapping) else None)
    if isinstance(file_id, str) and file_id:
        return {"type": "file", "modality": modality, "file_id": file_id}
    source = part.get("image_url") or part.get("file_url")
    if isinstance(source, Mapping):
        source = source.get("url")
    if isinstance(source, str) and not source.startswith("data:"):
        return {"type": "uri", "modality": modality, "uri": source}
    # Inline media (data: URLs, base64 audio) is not copied onto spans: it is large and rarely useful there.
    # Without its bytes it is no semconv BlobPart, nor a FilePart (which names a file_id): a part of its own.
    kind = str(kind)
    return {"type": f"inline_{kind}" if kind in _SEMCONV_PART_TYPES else kind, "modality": modality}


# The part types the semconv's message schema defines (each with its required fields)
_SEMCONV_PART_TYPES = frozenset(
    ("text", "blob", "file", "uri", "reasoning", "tool_call", "tool_call_response", "server_tool_call",
     "server_tool_call_response")
)

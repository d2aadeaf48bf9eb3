"""OpenAI message content, read for the prompt fingerprint and (opt-in) content capture.

Content capture writes the semconv JSON shapes (``gen-ai-input-messages.json``,
``gen-ai-output-messages.json``); this module turns OpenAI content parts into them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from otel_llmcost.instrumentation.fingerprint import prompt_fingerprint

# OpenAI content part type -> semconv modality, for parts that carry media rather than text
_MEDIA = {
    "image_url": "image",
    "input_image": "image",
    "input_audio": "audio",
    "file": "file",
    "input_file": "file",
}
_TEXT_PARTS = ("text", "input_text", "output_text", "refusal")


@functools.lru_cache(maxsize=4096)
def _cached_fingerprint(system: str, tools: tuple[str, ...], shape: tuple[str, ...]) -> str:
    return prompt_fingerprint(system, tools, shape)


def fingerprint(system: str, tools: Iterable[str], shape: Iterable[str]) -> str:
    """``prompt_fingerprint``, cached: calls of one template repeat the same inputs, and
    masking and hashing the system text would otherwise cost more than the rest of the call.
    ``shape`` is read up to its first user message, as the fingerprint reads it."""
    head = []
    for token in shape:
        head.append(token)
        if token.startswith("user"):
            break
    return _cached_fingerprint(system, tuple(tools), tuple(head))


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
    """A tool definition as the fingerprint hashes it: its name and parameter schema.

    Chat Completions nests a function under ``function``; the Responses API keeps it flat;
    built-in tools (web search, file search) have only a type.
    """
    if not isinstance(tool, Mapping):
        return str(tool)
    definition = tool.get("function") or tool.get("custom") or tool
    if not isinstance(definition, Mapping):
        return str(tool.get("type"))
    name = definition.get("name") or tool.get("type")
    parameters = definition.get("parameters")
    if parameters is None:
        return str(name)
    return f"{name}:{json.dumps(parameters, sort_keys=True, default=str)}"


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


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def tool_call_part(call_id: str | None, name: str | None, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name or "", "arguments": json_or_text(arguments)}


def tool_response_part(call_id: str | None, response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def json_or_text(value: Any) -> Any:
    """Tool arguments arrive as a JSON string; keep them structured when they parse."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _part(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind in _TEXT_PARTS and isinstance(part.get("text") or part.get("refusal"), str):
        return text_part(part.get("text") or part.get("refusal"))
    modality = _MEDIA.get(str(kind))
    if modality is None:
        return {"type": str(kind)}
    source = part.get("image_url") or part.get("file_url") or part.get("file_id")
    if isinstance(source, Mapping):
        source = source.get("url")
    if isinstance(source, str) and not source.startswith("data:"):
        return {"type": "uri", "modality": modality, "uri": source}
    # Inline media (data: URLs, base64 audio) is not copied onto spans: it is large and rarely useful there.
    return {"type": str(kind), "modality": modality}

"""Message content in the semconv JSON shapes, the parts every adapter builds alike.

Content capture (opt-in) writes ``gen-ai-input-messages.json`` / ``gen-ai-output-messages.json``
shaped messages; each adapter turns its provider's content into these parts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def reasoning_part(text: str) -> dict[str, Any]:
    return {"type": "reasoning", "content": text}


def tool_call_part(call_id: str | None, name: str | None, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name or "", "arguments": json_or_text(arguments)}


def tool_response_part(call_id: str | None, response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def tool_definitions(tools: Any) -> list[dict[str, Any]]:
    """``gen-ai-tool-definitions.json``'s list for a request's ``tools``, in any SDK's shape: each tool's
    type and name only (the semconv advises against its description and parameters by default).
    Chat Completions nests a function's name (``{"type": "function", "function": {"name": ...}}``), the
    Responses API does not, Anthropic gives no type to its own tools; a built-in tool without a name
    (Responses ``web_search``) is named by its type, an MCP server by its label."""
    definitions = []
    for tool in tools if isinstance(tools, (list, tuple)) else ():
        if not isinstance(tool, Mapping):
            continue
        kind = tool.get("type")
        nested = tool.get(kind) if isinstance(kind, str) and kind in ("function", "custom") else None
        name = nested.get("name") if isinstance(nested, Mapping) else tool.get("name")
        if kind is None or (kind == "custom" and "input_schema" in tool):  # an Anthropic tool of the user's
            kind = "function"
        name = name or tool.get("server_label") or kind
        if isinstance(kind, str) and isinstance(name, str):
            definitions.append({"type": kind, "name": name})
    return definitions


def json_or_text(value: Any) -> Any:
    """Tool arguments arrive as a JSON string; keep them structured when they parse (as JSON: a model's
    ``NaN`` or ``Infinity`` is no JSON value, and would make the recorded messages invalid JSON)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value, parse_constant=_not_json)
    except ValueError:
        return value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def for_redaction(messages: Any) -> Any:
    """A copy of recorded content for the redaction hook to edit: plain JSON values, nothing the program
    holds. A tool call's arguments may be the program's own dict (an Anthropic ``tool_use`` input, a
    tool's return value), which a hook editing in place would change under the program."""
    return json.loads(json.dumps(messages, ensure_ascii=False, default=str))


def redacted_json(value: Any) -> str:
    """What a redaction hook returned, as recorded: strict JSON, no ``default=str`` (what JSON cannot hold,
    a set, an object, a NaN, raises, and the content is dropped, never written as its ``str()``)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False)

"""Message content in the semconv JSON shapes, the parts every adapter builds alike.

Content capture (opt-in) writes ``gen-ai-input-messages.json`` / ``gen-ai-output-messages.json``
shaped messages; each adapter turns its provider's content into these parts.
"""

from __future__ import annotations

import json
from typing import Any


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def reasoning_part(text: str) -> dict[str, Any]:
    return {"type": "reasoning", "content": text}


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

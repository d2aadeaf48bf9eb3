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

"""Tool results inside a request body, in the three wire formats that carry them.

An agent resends every earlier tool result with each later request, so a tool's output is paid
for again at every step. To charge it to the tool, we find the results and the tool names in
the JSON body the SDK sends:

- OpenAI Chat Completions: ``{"role": "tool", "tool_call_id", "content"}`` messages; names
  from the assistant messages' ``tool_calls``.
- OpenAI Responses: ``{"type": "function_call_output", "call_id", "output"}`` input items
  (also ``custom_tool_call_output``); names from ``function_call`` / ``custom_tool_call`` items.
- Anthropic Messages: ``{"type": "tool_result", "tool_use_id", "content"}`` blocks in user
  messages; names from the assistant's ``tool_use`` blocks.

Messages may be the SDKs' pydantic objects as well as dicts (an agent loop often appends the
response message as it came back).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

_OUTPUT_ITEMS = frozenset({"function_call_output", "custom_tool_call_output"})
_CALL_ITEMS = frozenset({"function_call", "custom_tool_call"})


class ToolResults(NamedTuple):
    results: list[tuple[str, str]]  # (call id, result text), in request order
    names: dict[str, str]  # call id -> tool name, as far as the body tells


def find_tool_results(body: Mapping[str, Any]) -> ToolResults:
    found = ToolResults([], {})
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            _read_message(_fields(message), found)
    items = body.get("input")
    if isinstance(items, list):
        for item in items:
            _read_input_item(_fields(item), found)
    return found


def _read_message(message: Mapping[str, Any], found: ToolResults) -> None:
    role = message.get("role")
    if role == "tool":  # OpenAI chat
        call_id = message.get("tool_call_id")
        if isinstance(call_id, str):
            found.results.append((call_id, text_of(message.get("content"))))
    elif role == "assistant":
        for call in _list(message.get("tool_calls")):  # OpenAI chat
            call = _fields(call)
            function = _fields(call.get("function"))
            _name(found, call.get("id"), function.get("name"))
        for block in _list(message.get("content")):  # Anthropic
            block = _fields(block)
            if block.get("type") == "tool_use":
                _name(found, block.get("id"), block.get("name"))
    elif role == "user":
        for block in _list(message.get("content")):  # Anthropic
            block = _fields(block)
            if block.get("type") == "tool_result" and isinstance(block.get("tool_use_id"), str):
                found.results.append((block["tool_use_id"], text_of(block.get("content"))))


def _read_input_item(item: Mapping[str, Any], found: ToolResults) -> None:
    kind = item.get("type")
    if kind in _OUTPUT_ITEMS and isinstance(item.get("call_id"), str):
        found.results.append((item["call_id"], text_of(item.get("output"))))
    elif kind in _CALL_ITEMS:
        _name(found, item.get("call_id"), item.get("name"))


def _name(found: ToolResults, call_id: Any, name: Any) -> None:
    if isinstance(call_id, str) and isinstance(name, str):
        found.names[call_id] = name


def text_of(content: Any) -> str:
    """The text a tool result puts in front of the model: a string, or the text parts of a list
    (images and files are not text; their tokens are not counted)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_part_text(_fields(part)) for part in content)
    return json.dumps(content, default=str, ensure_ascii=False)


def _part_text(part: Mapping[str, Any]) -> str:
    text = part.get("text")
    return text if isinstance(text, str) else ""


def _fields(value: Any) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):  # the exact-type test first: ABC checks are slow
        return value
    dump = getattr(value, "model_dump", None)  # the SDKs' pydantic message objects
    return dump(exclude_none=True) if callable(dump) else {}


def _list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else ()

"""Starting agent and tool spans, for the public API (``api.py``) and framework integrations.

Both span kinds are INTERNAL: the GenAI conventions' ``invoke_agent`` internal span is for an
agent that runs in this process (LangChain, CrewAI, the OpenAI Agents SDK, a hand-written loop);
the CLIENT kind is for remote agent services, which this package does not wrap.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.trace import SpanKind

from otel_llmcost import semconv as sc
from otel_llmcost.agents import observer
from otel_llmcost.agents.run import AgentRun, ToolCall
from otel_llmcost.agents.scopes import capture_content, innermost, lock, open_scopes, tracer
from otel_llmcost.instrumentation.content import for_redaction, redacted_json, tool_call_part, tool_response_part
from otel_llmcost.instrumentation.core import Telemetry, log_once


def start_run(
    name: str,
    *,
    agent_id: str | None = None,
    description: str | None = None,
    conversation_id: str | None = None,
    max_steps: int | None = None,
    max_context_tokens: int | None = None,
) -> AgentRun:
    """Start an ``invoke_agent`` span and make it current; ``run.exit()`` ends it."""
    observer.install()
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: name}
    if agent_id is not None:
        attributes[sc.GEN_AI_AGENT_ID] = agent_id
    if description is not None:
        attributes[sc.GEN_AI_AGENT_DESCRIPTION] = description
    if conversation_id is not None:
        attributes[sc.GEN_AI_CONVERSATION_ID] = conversation_id
    span = tracer().start_span(f"{sc.OP_INVOKE_AGENT} {name}", kind=SpanKind.INTERNAL, attributes=attributes)
    run = AgentRun(span, name, max_steps, max_context_tokens)
    run.conversation_id = conversation_id
    run.enter()
    return run


def start_tool(
    name: str,
    *,
    call_id: str | None = None,
    tool_type: str = sc.TOOL_TYPE_FUNCTION,
    description: str | None = None,
    arguments: Any = None,
) -> ToolCall:
    """Start an ``execute_tool`` span inside the current run (if any) and make it current; without a
    ``call_id``, the tool takes the id of the run's pending call of the same name, if the model asked."""
    observer.install()
    run: AgentRun | None = innermost(open_scopes(), AgentRun)
    attributes: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
        sc.GEN_AI_TOOL_NAME: name,
        sc.GEN_AI_TOOL_TYPE: tool_type,
    }
    if run is not None:
        attributes[sc.GEN_AI_AGENT_NAME] = run.name
        if call_id is None:
            with lock:
                call_id = run.claim_call_id(name)
    if call_id is not None:
        attributes[sc.GEN_AI_TOOL_CALL_ID] = call_id
    if description:
        attributes[sc.GEN_AI_TOOL_DESCRIPTION] = description
    if arguments is not None and capture_content():
        recorded = _content(arguments, tool_call_part(call_id, name, arguments), "arguments")
        if recorded is not None:
            attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = recorded
    span = tracer().start_span(f"{sc.OP_EXECUTE_TOOL} {name}", kind=SpanKind.INTERNAL, attributes=attributes)
    tool = ToolCall(span, name, call_id, run)
    if run is not None and call_id is not None:
        with lock:
            run.open_tools[call_id] = tool
            run.tool_names.setdefault(call_id, name)
    tool.enter()
    return tool


def record_result(tool: ToolCall, result: Any) -> None:
    """The tool's return value, on its span only with content capture on (it may hold private data)."""
    if capture_content():
        recorded = _content(result, tool_response_part(tool.call_id, result), "response")
        if recorded is not None:
            tool.span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, recorded)


def record_arguments(tool: ToolCall, arguments: Any) -> None:
    """The tool's arguments when they are known only after the span started (a framework's span)."""
    if capture_content():
        recorded = _content(arguments, tool_call_part(tool.call_id, tool.name, arguments), "arguments")
        if recorded is not None:
            tool.span.set_attribute(sc.GEN_AI_TOOL_CALL_ARGUMENTS, recorded)


def _content(value: Any, part: dict[str, Any], field: str) -> str | None:
    """A tool's arguments or result (``value``) as recorded. With a redaction hook (``instrument(redact=)``)
    the hook gets a one-message list holding ``part`` (value's semconv tool_call / tool_call_response
    part), and what it returns in the part's place is recorded: the field if it kept it, else the part.
    A hook that fails records nothing (privacy first)."""
    telemetry = Telemetry.latest
    redact = telemetry.redact if telemetry is not None else None
    if redact is None:
        return _as_json(value)
    role = "assistant" if part["type"] == "tool_call" else "tool"
    try:
        messages = redact(for_redaction([{"role": role, "parts": [part]}]))
        if messages is None or messages == []:
            return None  # the hook's way to record nothing, as for the call's messages: no warning
        returned = messages[0]["parts"][0]
        kept = returned.get(field, returned) if isinstance(returned, dict) else returned
        return kept if isinstance(kept, str) else redacted_json(kept)
    except Exception:
        log_once(
            "redact.tool",
            "otel-llmcost: the redaction hook raised or returned no part for a tool's content; it is dropped",
            exc_info=True,
        )
        return None


def _as_json(value: Any) -> str | None:
    """The value as recorded JSON; None (nothing recorded, the span kept) for what JSON cannot write
    even with ``default=str``: keys that are not text (a tuple), a cycle."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        log_once("agents.content", "otel-llmcost: a tool's arguments or result cannot be written as JSON; not recorded")
        return None

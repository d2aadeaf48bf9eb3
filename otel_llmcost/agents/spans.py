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
        attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = _as_json(arguments)
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
        tool.span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, _as_json(result))


def record_arguments(tool: ToolCall, arguments: Any) -> None:
    """The tool's arguments when they are known only after the span started (a framework's span)."""
    if capture_content():
        tool.span.set_attribute(sc.GEN_AI_TOOL_CALL_ARGUMENTS, _as_json(arguments))


def _as_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)

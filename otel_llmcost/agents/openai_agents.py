"""The OpenAI Agents SDK (``openai-agents``): its agent and function spans as OpenTelemetry
``invoke_agent`` / ``execute_tool`` spans with the same cost roll-up as ``otel_llmcost.agent``.

The SDK traces through its own processors. ``LLMCostProcessor`` receives each of its spans as
it starts and ends, in the context of the code that runs it, and opens and closes our scopes
there. The SDK's generation and response spans are ignored on purpose: the openai adapter
already records each LLM call the SDK makes (one span per call, with its cost), and those calls
land inside the agent and tool spans opened here. Tool call ids come from the model's answer, as
for ``otel_llmcost.tool`` (the SDK's function spans do not carry them).

    from otel_llmcost.agents.openai_agents import OpenAIAgentsInstrumentor
    OpenAIAgentsInstrumentor().instrument()   # or opentelemetry-instrument, via the entry point

The SDK skips its spans, so ours too, when its tracing is disabled (``OPENAI_AGENTS_DISABLE_TRACING``
or ``RunConfig(tracing_disabled=True)``). Its own exporter to the OpenAI dashboard is left as the
user configured it.
"""

from __future__ import annotations

import threading
from typing import Any

from agents.tracing import AgentSpanData, FunctionSpanData, Span, Trace, TracingProcessor, add_trace_processor
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from otel_llmcost import semconv as sc
from otel_llmcost.agents.run import ToolCall
from otel_llmcost.agents.scopes import Scope
from otel_llmcost.agents.spans import record_arguments, record_result, start_run, start_tool
from otel_llmcost.instrumentation.core import Telemetry, guarded, log_once
from otel_llmcost.instrumentation.instrumentor import LLMInstrumentor


class LLMCostProcessor(TracingProcessor):
    """Opens our scope when an SDK agent or function span starts, closes it when that span ends."""

    def __init__(self) -> None:
        self.enabled = True
        self._open: dict[str, Scope] = {}
        self._lock = threading.Lock()

    def on_trace_start(self, trace: Trace) -> None:
        pass

    def on_trace_end(self, trace: Trace) -> None:
        pass

    @guarded()
    def on_span_start(self, span: Span[Any]) -> None:
        if not self.enabled:
            return
        data = span.span_data
        scope: Scope
        if isinstance(data, AgentSpanData):
            scope = start_run(data.name)
        elif isinstance(data, FunctionSpanData):
            tool_type = sc.TOOL_TYPE_EXTENSION if data.mcp_data else sc.TOOL_TYPE_FUNCTION
            scope = start_tool(data.name, tool_type=tool_type)
        else:
            return
        with self._lock:
            self._open[span.span_id] = scope

    @guarded()
    def on_span_end(self, span: Span[Any]) -> None:
        with self._lock:
            scope = self._open.pop(span.span_id, None)
        if scope is None:
            return
        data = span.span_data
        if isinstance(scope, ToolCall) and isinstance(data, FunctionSpanData):
            # The SDK fills these in only with RunConfig(trace_include_sensitive_data=True), its default.
            if data.input:
                record_arguments(scope, data.input)
            if data.output is not None:
                record_result(scope, data.output)
        error = span.error
        if error:
            message = str(error.get("message") or "error")
            detail = error.get("data")
            # The SDK's messages are fixed texts ("Error running tool", "Max turns exceeded"): low cardinality.
            scope.fail(message, f"{message}: {detail}" if detail else message)
        scope.exit()

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


class OpenAIAgentsInstrumentor(LLMInstrumentor):
    """Adds ``LLMCostProcessor`` to the Agents SDK's trace processors (once per process)."""

    _instruments = ("openai-agents >= 0.1",)
    _processor: LLMCostProcessor | None = None

    def _patch(self, telemetry: Telemetry) -> None:
        # The agent and tool spans use Telemetry.latest, which creating ``telemetry`` just set.
        cls = type(self)
        if cls._processor is None:
            cls._processor = LLMCostProcessor()
            add_trace_processor(cls._processor)
        cls._processor.enabled = True
        # set_trace_processors([...]), the SDK's way to replace its own exporter, replaces ours too: under
        # opentelemetry-instrument we are added before the program runs, and would be gone without a word.
        try:
            wrap_function_wrapper(_PROVIDER_MODULE, "SynchronousMultiTracingProcessor.set_processors", _keep_ours)
        except (ImportError, AttributeError):  # another release's layout: only that replacement is not kept
            log_once("agents.set_processors", "otel-llmcost: set_trace_processors() will replace its processor too")

    def _unpatch(self) -> None:
        # The SDK has no call to remove one processor; ours stops opening spans instead.
        if type(self)._processor is not None:
            type(self)._processor.enabled = False  # type: ignore[union-attr]
        try:
            from agents.tracing import provider

            unwrap(provider.SynchronousMultiTracingProcessor, "set_processors")
        except (ImportError, AttributeError):
            pass


_PROVIDER_MODULE = "agents.tracing.provider"


def _keep_ours(wrapped: Any, multi: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = wrapped(*args, **kwargs)
    ours = OpenAIAgentsInstrumentor._processor
    try:
        if ours is not None and ours.enabled and ours not in multi._processors:
            multi.add_tracing_processor(ours)
    except Exception:  # noqa: BLE001 (the user's processors are set; ours is an addition)
        log_once("agents.set_processors", "otel-llmcost: could not keep its processor beside yours", exc_info=True)
    return result

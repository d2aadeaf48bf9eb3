"""One agent run and one tool call, as scopes: the state each keeps while it is open and the
attributes its span ends with."""

from __future__ import annotations

import os
from collections import deque
from decimal import Decimal
from typing import Any

from opentelemetry import trace

from otel_llmcost import semconv as sc
from otel_llmcost.agents.scopes import Scope, lock
from otel_llmcost.instrumentation.core import log_once
from otel_llmcost.pricing.types import EXACT, ZERO

DEFAULT_MAX_STEPS = 25
DEFAULT_MAX_CONTEXT_TOKENS = 100_000
UNKNOWN_TOOL = "unknown"  # a resent result whose call no span or request names


class AgentRun(Scope):
    """An open ``invoke_agent`` span: its LLM calls (steps), context growth, retries, the tool
    calls the model asked for, and what each tool's results cost when resent.

    ``with otel_llmcost.agent(...) as run`` hands it out: ``cost``, ``steps``, ``input_tokens``,
    ``output_tokens``, ``llm_calls`` and ``runaway`` read the run so far (a budget check, say).
    """

    __slots__ = (
        "attempts",
        "conversation_id",
        "last_input_tokens",
        "max_context_tokens",
        "max_input_tokens",
        "max_steps",
        "model",
        "name",
        "open_tools",
        "pending_calls",
        "provider",
        "resent",
        "result_charges",
        "retries",
        "retry_cost",
        "run_span_id",
        "runaway_reasons",
        "steps",
        "tool_names",
    )

    def __init__(self, span: trace.Span, name: str, max_steps: int | None, max_context_tokens: int | None) -> None:
        super().__init__(span)
        self.name = name
        self.run_span_id = format(span.get_span_context().span_id, "016x")
        self.max_steps = max_steps if max_steps is not None else _limit(sc.ENV_AGENT_MAX_STEPS, DEFAULT_MAX_STEPS)
        self.max_context_tokens = (
            max_context_tokens
            if max_context_tokens is not None
            else _limit(sc.ENV_AGENT_MAX_CONTEXT_TOKENS, DEFAULT_MAX_CONTEXT_TOKENS)
        )
        self.conversation_id: str | None = None  # the LLM calls inside carry it too
        self.steps = 0
        self.max_input_tokens = 0
        self.last_input_tokens = 0
        self.runaway_reasons: list[str] = []
        self.retries = 0
        self.retry_cost: Decimal = ZERO
        self.provider: str | None = None  # of the first step, for the span's gen_ai.provider.name
        self.model: str | None = None
        self.attempts: dict[tuple[str | None, int], Any] = {}  # request key -> observer.Attempt
        self.pending_calls: dict[str, deque[str]] = {}  # tool name -> call ids the last step asked for
        self.tool_names: dict[str, str] = {}  # call id -> tool name
        self.open_tools: dict[str, ToolCall] = {}  # call id -> open tool span
        self.resent: dict[str, list[Any]] = {}  # tool name -> [input tokens, cost] of its resent results
        # (call id, model, tier) -> tokens of that result and their input price
        self.result_charges: dict[tuple[str, str, str | None], tuple[int, Decimal]] = {}

    # -- read by the user while the run is open ----------------------------------------------
    @property
    def cost(self) -> Decimal:
        return self.rollup.cost

    @property
    def input_tokens(self) -> int:
        return self.rollup.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.rollup.output_tokens

    @property
    def llm_calls(self) -> int:
        return self.rollup.llm_calls

    @property
    def runaway(self) -> bool:
        return bool(self.runaway_reasons)

    # -- kept up to date by the LLM calls of the run (observer.py), with the lock held --------
    def flag_runaway(self, reason: str) -> None:
        if reason not in self.runaway_reasons:
            self.runaway_reasons.append(reason)

    def expect_tool_calls(self, calls: list[tuple[str, str]]) -> None:
        """The model's latest answer asked for these tools: the tool spans that follow take their ids."""
        pending: dict[str, deque[str]] = {}
        for call_id, name in calls:
            pending.setdefault(name, deque()).append(call_id)
            self.tool_names[call_id] = name
        self.pending_calls = pending

    def claim_call_id(self, tool_name: str) -> str | None:
        ids = self.pending_calls.get(tool_name)
        return ids.popleft() if ids else None

    def charge_resent(self, call_id: str, name: str, tokens: int, cost: Decimal) -> None:
        totals = self.resent.setdefault(name, [0, ZERO])
        totals[0] += tokens
        totals[1] = EXACT.add(totals[1], cost)  # exact, whatever the app's Decimal context
        tool = self.open_tools.get(call_id)
        if tool is not None:
            tool.resent_tokens += tokens
            tool.resent_cost = EXACT.add(tool.resent_cost, cost)

    def final_attributes(self) -> dict[str, Any]:
        with lock:
            attributes = self.rollup.attributes()
            attributes.update(
                {
                    sc.LLMCOST_AGENT_STEPS: self.steps,
                    sc.LLMCOST_AGENT_MAX_INPUT_TOKENS: self.max_input_tokens,
                    sc.LLMCOST_AGENT_LAST_INPUT_TOKENS: self.last_input_tokens,
                    sc.LLMCOST_AGENT_RUNAWAY: bool(self.runaway_reasons),
                    sc.LLMCOST_AGENT_RETRIES: self.retries,
                    sc.LLMCOST_AGENT_RETRY_COST: float(self.retry_cost),
                }
            )
            if self.runaway_reasons:
                attributes[sc.LLMCOST_AGENT_RUNAWAY_REASON] = ",".join(self.runaway_reasons)
            if self.rollup.llm_calls:  # the run's tokens as the semconv's invoke_agent span counts them
                attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] = self.rollup.input_tokens
                attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = self.rollup.output_tokens
            if self.provider:
                attributes[sc.GEN_AI_PROVIDER_NAME] = self.provider
            if self.model:
                attributes[sc.GEN_AI_REQUEST_MODEL] = self.model
            if self.resent:
                names = list(self.resent)
                attributes[sc.LLMCOST_AGENT_TOOL_NAMES] = names
                attributes[sc.LLMCOST_AGENT_TOOL_RESENT_INPUT_TOKENS] = [self.resent[name][0] for name in names]
                attributes[sc.LLMCOST_AGENT_TOOL_RESENT_COST] = [float(self.resent[name][1]) for name in names]
        return attributes


class ToolCall(Scope):
    """An open ``execute_tool`` span. ``call_id`` is the id the model gave the call, passed by the
    user or taken from the run's last LLM answer that asked for a tool of this name."""

    __slots__ = ("call_id", "name", "resent_cost", "resent_tokens", "run")

    def __init__(self, span: trace.Span, name: str, call_id: str | None, run: AgentRun | None) -> None:
        super().__init__(span)
        self.name = name
        self.call_id = call_id
        self.run = run
        self.resent_tokens = 0
        self.resent_cost: Decimal = ZERO

    def final_attributes(self) -> dict[str, Any]:
        attributes = super().final_attributes()
        with lock:
            if self.resent_tokens:
                attributes[sc.LLMCOST_TOOL_RESENT_INPUT_TOKENS] = self.resent_tokens
                attributes[sc.LLMCOST_TOOL_RESENT_COST] = float(self.resent_cost)
            if self.run is not None and self.call_id is not None:
                self.run.open_tools.pop(self.call_id, None)
        return attributes


def _limit(variable: str, default: int) -> int:
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:  # 0 or less would flag every run as a runaway (and page on-call through its alert)
        log_once(variable, "otel-llmcost: %s=%r is not a whole number above 0; using %d", variable, value, default)
        return default
    return limit

"""What every LLM call inside an agent run or tool call adds to them.

``observe`` is a ``core.call_observers`` entry, installed the first time a run or tool span
opens, so programs that never use agents do not pay for it. It runs when an LLM call starts, in
the caller's context, and returns None at once outside any run or tool. Inside one, the call
becomes a step of the innermost run: numbered, checked against the run's earlier requests for a
retry, and, when it ends (possibly in another context: a stream closed later), added to every
open scope's roll-up, with the tool results its request carried charged to their tools.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from opentelemetry import trace

from otel_llmcost import semconv as sc
from otel_llmcost.agents.run import UNKNOWN_TOOL, AgentRun
from otel_llmcost.agents.scopes import Scope, innermost, lock, open_scopes
from otel_llmcost.agents.tool_results import find_tool_results
from otel_llmcost.instrumentation import core
from otel_llmcost.pricing.types import EXACT, ZERO, Cost, Usage

RETRY_AFTER_ERROR = "error"
RETRY_AFTER_DISCARDED_OUTPUT = "discarded_output"


def install() -> None:
    core.add_call_observer(observe, wants=open_scopes)  # outside runs and tools, calls keep their fast path


def observe(request: core.Request, span: trace.Span) -> Step | None:
    scopes = open_scopes()
    if not scopes:
        return None
    return Step(scopes, request, span)


class Attempt:
    """The first time a run sent one request, and how its latest attempt went."""

    __slots__ = ("ended", "errored", "first_span_id")

    def __init__(self, first_span_id: str) -> None:
        self.first_span_id = first_span_id
        self.ended = False
        self.errored = False


class Step:
    """One LLM call inside open scopes, from its start to its end (the ``core.CallEnd``)."""

    __slots__ = ("attempt", "attributes", "in_tool", "request", "retry", "run", "scopes", "span")

    def __init__(self, scopes: tuple[Scope, ...], request: core.Request, span: trace.Span) -> None:
        self.scopes = scopes
        self.request = request
        self.span = span
        self.run: AgentRun | None = innermost(scopes, AgentRun)
        self.in_tool = scopes[-1] is not self.run  # a tool's own LLM call, not a step of the agent's loop
        self.attempt: Attempt | None = None
        self.retry = False
        # Set on the span when the call ends, with what the end adds: one set_attributes call, not two.
        self.attributes: dict[str, Any] = {}
        with lock:
            for scope in scopes:
                scope.rollup.begin()
        if self.run is not None:
            self._start()

    def _start(self) -> None:
        run, request = self.run, self.request
        assert run is not None
        key = _request_key(request)
        span_id = format(self.span.get_span_context().span_id, "016x")
        with lock:
            run.steps += 1
            index = run.steps
            if run.provider is None:
                run.provider, run.model = request.provider, request.model
            if index > run.max_steps:
                run.flag_runaway("steps")
            previous = run.attempts.get(key) if key is not None else None
            if previous is None:
                if key is not None:
                    self.attempt = run.attempts[key] = Attempt(span_id)
            elif previous.ended:
                # Sent again after an answer came back: that answer failed or was thrown away.
                # (A request still in flight is sent twice on purpose, not retried.)
                self.attempt, self.retry = previous, True
                reason = RETRY_AFTER_ERROR if previous.errored else RETRY_AFTER_DISCARDED_OUTPUT
                previous.ended = False
                run.retries += 1
        if request.model:
            # A step resends the tool results of the steps before it, charged to their tools by their token
            # counts: the tokenizer loads now, beside the call, not on the caller's thread when it ends.
            from otel_llmcost.tokens import warm

            warm(request.model)
        attributes = self.attributes
        attributes[sc.GEN_AI_AGENT_NAME] = run.name
        attributes[sc.LLMCOST_AGENT_STEP] = index
        attributes[sc.LLMCOST_AGENT_RUN_SPAN_ID] = run.run_span_id
        if run.conversation_id is not None and sc.GEN_AI_CONVERSATION_ID not in request.attributes:
            attributes[sc.GEN_AI_CONVERSATION_ID] = run.conversation_id  # the call's own (Responses') wins
        if self.retry:
            attributes[sc.LLMCOST_RETRY] = True
            attributes[sc.LLMCOST_RETRY_OF] = previous.first_span_id  # type: ignore[union-attr]
            attributes[sc.LLMCOST_RETRY_REASON] = reason

    def __call__(
        self, response: core.Response | None, usage: Usage | None, cost: Cost | None, error: BaseException | None
    ) -> None:
        billed_later = response is not None and response.deferred
        with lock:
            for scope in self.scopes:
                scope.rollup.add(usage, cost, billed_later)
        run = self.run
        if run is None:
            return
        with lock:
            if usage is not None:
                run.last_input_tokens = usage.input_tokens
                run.max_input_tokens = max(run.max_input_tokens, usage.input_tokens)
                if usage.input_tokens > run.max_context_tokens:
                    run.flag_runaway("context")
            if self.attempt is not None:
                self.attempt.ended, self.attempt.errored = True, error is not None
            if self.retry and cost is not None:
                run.retry_cost = EXACT.add(run.retry_cost, cost.total)  # exact, whatever the app's context
            if response is not None and not self.in_tool:
                run.expect_tool_calls(list(response.tool_calls))
        try:
            if error is None and usage is not None and self.request.body is not None:
                self._charge_tool_results(run, response, cost)
        finally:
            self.span.set_attributes(self.attributes)

    def _charge_tool_results(self, run: AgentRun, response: core.Response | None, cost: Cost | None) -> None:
        """Count the tool results this request resent and charge them, at its input rate, to their tools."""
        request = self.request
        found = find_tool_results(request.body)  # type: ignore[arg-type]
        if not found.results:
            return
        model = (response.model if response is not None else None) or request.model or ""
        call_ids: list[str] = []
        total_tokens, total_cost = 0, ZERO
        # An unpriced call prices nothing; otherwise at the tier the call was billed at.
        tier = cost.tier if cost is not None else None
        for call_id, text in found.results:
            tokens, amount = _result_charge(run, call_id, text, model, request.provider, tier)
            with lock:
                name = run.tool_names.get(call_id) or found.names.get(call_id) or UNKNOWN_TOOL
                run.charge_resent(call_id, name, tokens, amount)
            call_ids.append(call_id)
            total_tokens += tokens
            total_cost = EXACT.add(total_cost, amount)
        self.attributes[sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS] = total_tokens
        self.attributes[sc.LLMCOST_TOOL_RESULTS_COST] = float(total_cost)
        self.attributes[sc.LLMCOST_TOOL_RESULTS_CALL_IDS] = call_ids


def _request_key(request: core.Request) -> tuple[str | None, int] | None:
    """The prompt's fingerprint and a hash of the whole body: equal only for the same request sent again."""
    if request.body is None:
        return None
    # repr, not JSON: equal bodies have equal reprs and it is twice as fast. An object without a
    # value repr (an address) can only make two equal requests look different, never the reverse.
    return request.fingerprint, hash(repr(request.body))


def _result_charge(
    run: AgentRun, call_id: str, text: str, model: str, provider: str, tier: str | None
) -> tuple[int, Decimal]:
    """Tokens of one resent result and their price. A result is resent unchanged at every later
    step, so it is counted and priced once per (model, tier) in a run."""
    key = (call_id, model, tier)
    charge = run.result_charges.get(key)
    if charge is None:
        # Loaded only for runs that resend tool results: tiktoken, and the catalog (on first use, as for the core).
        from otel_llmcost.pricing import price_call
        from otel_llmcost.tokens import count_text

        tokens = count_text(text, model)
        priced = None
        if tier is not None:
            priced = price_call(model, Usage(input_tokens=tokens), provider=provider, service_tier=tier)
        charge = run.result_charges[key] = (tokens, priced.total if priced is not None else ZERO)
    return charge

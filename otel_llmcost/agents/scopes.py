"""The agent runs and tool calls open in the current context, and what each has spent.

The open scopes form a stack kept in a ``ContextVar``: a ``with`` block or a decorated
function pushes one, so the stack follows threads' and asyncio tasks' own contexts the way
OpenTelemetry's current span does. Every LLM call adds its usage and cost to each scope on
the stack when it ends (``observer.py``), so a scope's span ends carrying the total of
everything beneath it.
"""

from __future__ import annotations

import threading
import traceback
from contextvars import ContextVar, Token
from decimal import Decimal
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import Status, StatusCode

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation.core import SCHEMA_URL, SCOPE_NAME, Telemetry, capture_content_from_env, log_once
from otel_llmcost.pricing.types import EXACT, ZERO, Cost, Usage

# Scopes are shared by the tasks and threads a run fans out to; their counters take this lock.
# Reentrant: a call's end may run from a finalizer (a stream abandoned inside a run, collected by the
# garbage collector at any allocation, also one made while this thread holds the lock) and takes it again.
# Such an end, landing in the middle of a roll-up's update or read, may leave that one read a call short:
# a rare miscount, where a plain lock deadlocked the thread.
lock = threading.RLock()
_stack: ContextVar[tuple[Scope, ...]] = ContextVar("otel_llmcost.agents.scopes", default=())


def open_scopes() -> tuple[Scope, ...]:
    """The scopes open in this context, outermost first (empty outside any run or tool)."""
    return _stack.get()


def tracer() -> trace.Tracer:
    """The tracer of the last ``instrument()``, so agent, tool and LLM spans go to one provider."""
    telemetry = Telemetry.latest
    if telemetry is not None:
        return telemetry.tracer
    from otel_llmcost import __version__

    return trace.get_tracer(SCOPE_NAME, __version__, schema_url=SCHEMA_URL)


def capture_content() -> bool:
    telemetry = Telemetry.latest
    return telemetry.capture_content if telemetry is not None else capture_content_from_env()


class Rollup:
    """Usage and cost of the LLM calls beneath one scope."""

    __slots__ = ("cost", "input_tokens", "llm_calls", "output_tokens", "pending_calls", "unpriced_calls")

    def __init__(self) -> None:
        self.cost: Decimal = ZERO
        self.input_tokens = 0
        self.output_tokens = 0
        self.llm_calls = 0
        self.unpriced_calls = 0
        self.pending_calls = 0  # begun, not ended yet

    def begin(self) -> None:
        # Called with the lock held.
        self.pending_calls += 1

    def add(self, usage: Usage | None, cost: Cost | None, billed_later: bool = False) -> None:
        """A call beneath the scope ended. Called with the lock held."""
        self.pending_calls -= 1
        self.llm_calls += 1
        if usage is not None:
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens
        if cost is None:
            # A failed call that sent nothing billable is not "unpriced": only usage without a price is,
            # and a call billed after it returned (a background response), whose cost this roll-up lacks.
            self.unpriced_calls += usage is not None or billed_later
        else:
            self.cost = EXACT.add(self.cost, cost.total)  # exact, whatever the app's Decimal context

    def attributes(self) -> dict[str, Any]:
        attributes = {
            sc.LLMCOST_ROLLUP_COST: float(self.cost),
            sc.LLMCOST_ROLLUP_INPUT_TOKENS: self.input_tokens,
            sc.LLMCOST_ROLLUP_OUTPUT_TOKENS: self.output_tokens,
            sc.LLMCOST_ROLLUP_LLM_CALLS: self.llm_calls,
            sc.LLMCOST_ROLLUP_UNPRICED_CALLS: self.unpriced_calls,
        }
        if self.pending_calls > 0:  # still running as the scope ends: their cost comes after its roll-up
            attributes[sc.LLMCOST_ROLLUP_PENDING_CALLS] = self.pending_calls
        return attributes


class Scope:
    """An open agent run or tool call: its span, current while it is open, and its roll-up."""

    __slots__ = ("_error", "_tokens", "_left_early", "rollup", "span")

    def __init__(self, span: trace.Span) -> None:
        self.span = span
        self.rollup = Rollup()
        self._tokens: tuple[Token[tuple[Scope, ...]], object] | None = None
        self._error: tuple[str, str] | None = None
        self._left_early = False  # exited before a scope opened inside it: left when that one is

    def enter(self) -> None:
        """Make this scope (and its span) current in the caller's context."""
        stack_token = _stack.set((*_stack.get(), self))
        self._tokens = (stack_token, context.attach(trace.set_span_in_context(self.span)))

    def fail(self, error_type: str, message: str, exception: BaseException | None = None) -> None:
        """Mark the operation failed; the user's exception itself is never touched, only described.
        ``message`` (``core.error_description``'s) also stands for the exception's own text on the
        exception event where it left out text the exception quotes (a model's output, a prompt)."""
        self._error = (error_type, message)
        if exception is not None:
            self.span.record_exception(exception, attributes=_described_without_quotes(exception, message))

    def exit(self) -> None:
        """Record the span's final attributes, end it, and leave the scope (in the context that entered it)."""
        try:
            attributes = self.final_attributes()
            if self._error is not None:
                error_type, message = self._error
                attributes[sc.ERROR_TYPE] = error_type
                self.span.set_status(Status(StatusCode.ERROR, message[:500]))
            self.span.set_attributes(attributes)
        finally:
            self.span.end()
            self._leave()

    def final_attributes(self) -> dict[str, Any]:
        with lock:
            return self.rollup.attributes()

    def _leave(self) -> None:
        if self._tokens is None:
            return
        stack = _stack.get()
        if self in stack and stack[-1] is not self:
            # Exited before a scope opened inside it (blocks closed out of order): that scope's context holds
            # this one, so leaving now would bring this ended span back when it leaves. Left with it, in order.
            self._left_early = True
            return
        scope: Scope | None = self
        while scope is not None:
            scope._leave_now()
            stack = _stack.get()
            scope = stack[-1] if stack and stack[-1]._left_early else None

    def _leave_now(self) -> None:
        if self._tokens is None:
            return
        stack_token, context_token = self._tokens
        self._tokens = None
        try:
            _stack.reset(stack_token)
            context.detach(context_token)  # type: ignore[arg-type]
        except ValueError:
            # Ended from another context than the one that opened it (a framework callback):
            # that context is gone with its copy of the stack; nothing of the caller's is left behind.
            log_once("agents.leave", "otel-llmcost: an agent or tool span ended in another context than it began")


def innermost(scopes: tuple[Scope, ...], kind: type[Scope]) -> Any:
    """The innermost open scope of a kind (an agent run, a tool call), or None."""
    for scope in reversed(scopes):
        if isinstance(scope, kind):
            return scope
    return None


def _described_without_quotes(exception: BaseException, description: str) -> dict[str, str] | None:
    """The exception event's message and stacktrace from ``description`` where it differs from the
    exception's own text (which the stacktrace's last line would repeat); None: OpenTelemetry's own."""
    try:
        own = str(exception)
    except Exception:
        return None
    described = description.partition(": ")[2]
    if described == own:
        return None
    frames = "".join(traceback.format_tb(exception.__traceback__))
    return {
        "exception.message": described,
        "exception.stacktrace": f"Traceback (most recent call last):\n{frames}{description}",
    }

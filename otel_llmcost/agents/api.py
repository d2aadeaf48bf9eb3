"""``agent``, ``tool`` and ``tool_call``: agent and tool spans that carry what their LLM calls cost.

>>> @otel_llmcost.tool
... def search_orders(customer_id: str) -> list[dict]: ...
>>> with otel_llmcost.agent("support-bot") as run:
...     response = client.chat.completions.create(...)  # a step of the run
...     result = search_orders("c-42")  # execute_tool span, with the model's tool call id
...     if run.cost > 0.50: ...

Each works in sync and async code (the open spans live in contextvars, like OpenTelemetry's
current span). The user's exceptions pass through unchanged; the span records them. Our own
failures are logged once and never reach the program: the code in the block always runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, overload

from opentelemetry.trace import INVALID_SPAN

from otel_llmcost import semconv as sc
from otel_llmcost.agents.run import AgentRun, ToolCall
from otel_llmcost.agents.scopes import Scope, capture_content, open_scopes
from otel_llmcost.agents.spans import record_result, start_run, start_tool
from otel_llmcost.instrumentation.core import error_description, log_failure, log_once
from otel_llmcost.stepwise import async_generator_in, generator_in

_F = TypeVar("_F", bound=Callable[..., Any])
_FINISH_KEY = f"{__name__}._finish"


class _ScopeBlock:
    """A ``with`` block or a decorator that opens a fresh scope each time it is entered or called."""

    def __init__(self) -> None:
        # Scopes entered through this object and not exited yet. One object may be entered in several
        # threads or tasks at once (a module-level ``bot = agent("bot")``), and again inside itself.
        self._open: list[Scope] = []

    def _start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Scope:
        raise NotImplementedError

    def _inert(self) -> Scope:
        """What the block yields if starting its span failed: the user's code still gets an object."""
        raise NotImplementedError

    def __enter__(self) -> Any:
        scope = _open(self, (), {})
        self._open.append(scope)
        return scope

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        scope = self._take_current()
        if scope is not None:
            _finish(scope, exc)

    def _take_current(self) -> Scope | None:
        """The scope this ``with`` opened: the innermost of ours open in this context (an inert
        scope, never made current, is the last one entered); None if none is open."""
        ours = self._open
        for scope in reversed(open_scopes()):
            if scope in ours:  # identity: scopes do not define equality
                ours.remove(scope)
                return scope
        if not ours:  # exited twice, or never entered: a bug in the caller, not worth breaking it for
            log_once(
                f"agents.exit.{type(self).__name__}",
                "otel-llmcost: an agent or tool block was exited without being open (exited twice, or "
                "__exit__ called without __enter__); the exit is ignored",
            )
            return None
        return ours.pop()

    def __call__(self, function: _F) -> _F:
        """Use as a decorator: every call of ``function`` is one scope (of a generator function: from
        its first step to its end, each step inside the scope, the caller's code between them outside)."""
        if inspect.isgeneratorfunction(function):
            return generator_in(function, self._begin_steps, _finish)  # type: ignore[return-value]
        if inspect.isasyncgenfunction(function):
            return async_generator_in(function, self._begin_steps, _finish)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                scope = _open(self, args, kwargs)
                try:
                    result = await function(*args, **kwargs)
                except BaseException as error:
                    _finish(scope, error)
                    raise
                _finish(scope, None, result)
                return result

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            scope = _open(self, args, kwargs)
            try:
                result = function(*args, **kwargs)
            except BaseException as error:
                _finish(scope, error)
                raise
            _finish(scope, None, result)
            return result

        return run  # type: ignore[return-value]

    def _begin_steps(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Scope:
        return _open(self, args, kwargs)  # started, and current in the generator's own context (stepwise)


class AgentBlock(_ScopeBlock):
    def __init__(self, name: str, **options: Any) -> None:
        super().__init__()
        self._name = name
        self._options = options

    def _start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> AgentRun:
        return start_run(self._name, **self._options)

    def _inert(self) -> AgentRun:
        return AgentRun(INVALID_SPAN, self._name, None, None)

    def __enter__(self) -> AgentRun:
        return super().__enter__()  # type: ignore[no-any-return]


class ToolBlock(_ScopeBlock):
    def __init__(
        self,
        name: str,
        *,
        call_id: str | None = None,
        tool_type: str = sc.TOOL_TYPE_FUNCTION,
        description: str | None = None,
        call_id_arg: str | None = None,
        signature: inspect.Signature | None = None,
    ) -> None:
        super().__init__()
        self._name = name
        self._call_id = call_id
        self._tool_type = tool_type
        self._description = description
        self._call_id_arg = call_id_arg
        self._signature = signature

    def _start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ToolCall:
        call_id, arguments = self._call_id, None
        capture = capture_content()
        if self._signature is not None and (self._call_id_arg is not None or capture):
            bound = self._signature.bind_partial(*args, **kwargs)
            if self._call_id_arg is not None:
                value = bound.arguments.get(self._call_id_arg)
                call_id = value if isinstance(value, str) else call_id
            if capture:
                arguments = dict(bound.arguments)
        return start_tool(
            self._name,
            call_id=call_id,
            tool_type=self._tool_type,
            description=self._description,
            arguments=arguments,
        )

    def _inert(self) -> ToolCall:
        return ToolCall(INVALID_SPAN, self._name, self._call_id, None)

    def __enter__(self) -> ToolCall:
        return super().__enter__()  # type: ignore[no-any-return]


def agent(
    name: str,
    *,
    id: str | None = None,  # the semconv's gen_ai.agent.id
    description: str | None = None,
    conversation_id: str | None = None,
    max_steps: int | None = None,
    max_context_tokens: int | None = None,
) -> AgentBlock:
    """An ``invoke_agent {name}`` span around an agent run, as a ``with`` block or a decorator.

    When it ends it carries the run's LLM cost and tokens (``llmcost.rollup.*``), its steps and
    context growth, retries, the cost of each tool's results resent to the model, and
    ``llmcost.agent.runaway`` when the run took more than ``max_steps`` LLM calls or one call's
    input passed ``max_context_tokens`` (defaults 25 and 100,000; env OTEL_LLMCOST_AGENT_MAX_STEPS,
    OTEL_LLMCOST_AGENT_MAX_CONTEXT_TOKENS). ``with agent(...) as run`` gives the ``AgentRun``.
    Raises TypeError for a name that is not a text (``@agent`` without parentheses, say) and
    ValueError for a limit that is not a whole number above 0.
    """
    _check_name("agent", name)
    for limit, value in (("max_steps", max_steps), ("max_context_tokens", max_context_tokens)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"otel_llmcost.agent({limit}=...) takes a whole number above 0, got {value!r}")
    return AgentBlock(
        name,
        agent_id=id,
        description=description,
        conversation_id=conversation_id,
        max_steps=max_steps,
        max_context_tokens=max_context_tokens,
    )


@overload
def tool(function: _F) -> _F: ...
@overload
def tool(
    function: None = None,
    *,
    name: str | None = None,
    call_id_arg: str | None = None,
    tool_type: str = sc.TOOL_TYPE_FUNCTION,
    description: str | None = None,
) -> Callable[[_F], _F]: ...
def tool(
    function: _F | str | None = None,
    *,
    name: str | None = None,
    call_id_arg: str | None = None,
    tool_type: str = sc.TOOL_TYPE_FUNCTION,
    description: str | None = None,
) -> Any:
    """Decorate a tool function (sync or async): each call is an ``execute_tool {name}`` span.

    ``name`` defaults to the function's name (``@tool("search")`` names it too), ``description``
    to its docstring's first line. The call id is the argument named ``call_id_arg`` if given, else
    the id of the call the model asked for under this tool name in the run's last LLM answer.
    """
    if isinstance(function, str):  # @tool("search_orders"): the name, given positionally
        function, name = None, name or function
    if name is not None:
        _check_name("tool", name)

    def decorate(function: _F) -> _F:
        doc = inspect.getdoc(function)
        block = ToolBlock(
            name or function.__name__,
            tool_type=tool_type,
            description=description if description is not None else (doc.splitlines()[0] if doc else None),
            call_id_arg=call_id_arg,
            signature=inspect.signature(function),
        )
        return block(function)

    return decorate if function is None else decorate(function)


def tool_call(
    name: str, *, call_id: str | None = None, tool_type: str = sc.TOOL_TYPE_FUNCTION, description: str | None = None
) -> ToolBlock:
    """An ``execute_tool {name}`` span around a block that runs a tool. ``with tool_call(...) as call``
    gives the ``ToolCall``; ``call.call_id`` is the model's id for it (passed or matched by name)."""
    _check_name("tool_call", name)
    return ToolBlock(name, call_id=call_id, tool_type=tool_type, description=description)


def _check_name(api: str, name: Any) -> None:
    if callable(name):
        raise TypeError(
            f"otel_llmcost.{api}() takes the span's name first: write @otel_llmcost.{api}(\"name\"), "
            f"with parentheses, to decorate {getattr(name, '__name__', 'a function')}"
        )
    if not isinstance(name, str) or not name:
        raise TypeError(f"otel_llmcost.{api}() takes a name (a non-empty str), got {name!r}")


def _open(block: _ScopeBlock, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Scope:
    try:
        return block._start(args, kwargs)
    except Exception:
        log_once("agents.start", "otel-llmcost: could not start an agent or tool span", exc_info=True)
        return block._inert()


def _finish(scope: Scope, error: BaseException | None, result: Any = None) -> None:
    """Record how the block ended, then close its scope whatever recording did: a scope left open
    would stay current, and every later span of the run would hang from a span never exported."""
    try:
        if error is not None:
            scope.fail(type(error).__qualname__, error_description(error), error)
        elif isinstance(scope, ToolCall) and result is not None:
            record_result(scope, result)
    except Exception:
        log_failure(_FINISH_KEY)
    finally:
        try:
            scope.exit()
        except Exception:
            log_failure(_FINISH_KEY)

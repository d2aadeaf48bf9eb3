"""The Responses API's WebSocket mode (``client.responses.connect()``): one span per response.

These calls bypass the HTTP client, so ``client.request`` never sees them. A connection sends
``response.create`` events (the same parameters as ``responses.create``) and receives each response's
events, as a Responses stream does: ``response.created``, the deltas, then ``response.completed``
(or ``incomplete``, ``failed``) with the usage. The server may also start a response nobody sent a
``response.create`` for (a steered response's automatic successor).

So a call starts when its ``response.created`` arrives, described by the oldest ``response.create``
not answered yet (its parameters, the user's context when it was sent: attribution, parent span, and
the time: the call's start), else by the response object itself; its events go to a ``ResponseStream``
as a streamed call's do, and its final event ends it, billed by its usage. Events other than the start
and final ones name no response: they go to the response started last (on one lane, the one streaming).
A connection closed with responses in flight ends them as a stream cut short: estimated, or deferred
for a background response. An ``error`` event answers the oldest ``response.create`` not answered yet
(a response in flight that fails ends with ``response.failed``): a failed call that was not billed.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping
from typing import Any

from opentelemetry import context, trace

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.openai import responses
from otel_llmcost.instrumentation.openai.providers import provider_for_host

# A response object's fields that are request parameters, for a response nobody sent a create for
_REQUEST_FIELDS = (
    "model", "instructions", "tools", "temperature", "top_p", "max_output_tokens", "service_tier", "text"
)


class _Calls:
    """One connection's calls: the creates not answered yet, the responses in flight."""

    __slots__ = ("telemetry", "server", "pending", "active", "current", "last_context")

    def __init__(self, telemetry: core.Telemetry, server: tuple[str, str | None, int | None]) -> None:
        self.telemetry = telemetry
        self.server = server  # provider, host, port
        self.pending: deque[tuple[dict[str, Any], context.Context, tuple[int, float]]] = deque()
        self.active: dict[str, tuple[core.LLMCall, responses.ResponseStream]] = {}
        self.current: str | None = None
        self.last_context: context.Context | None = None


_connections: weakref.WeakKeyDictionary[Any, _Calls] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


@core.guarded()
def sending(telemetry: core.Telemetry, connection: Any, event: Any) -> Any:
    """The user is sending ``event`` on ``connection``: a ``response.create`` is recorded before it goes
    (another thread may read its ``response.created`` before the send returns). Returns what ``unsent``
    takes back if the send fails, or None."""
    if hasattr(event, "to_dict"):
        event = event.to_dict()
    if not isinstance(event, Mapping) or event.get("type") != "response.create":
        return None
    calls = _calls_of(telemetry, connection)
    body = {key: value for key, value in event.items() if key != "type"}
    calls.last_context = context.get_current()
    create = (body, calls.last_context, (time.time_ns(), time.perf_counter()))
    calls.pending.append(create)
    return create


@core.guarded()
def unsent(connection: Any, create: Any) -> None:
    """The send of ``create`` (from ``sending``) failed: no response will answer it."""
    calls = _connections.get(connection)
    if calls is not None and create in calls.pending:
        calls.pending.remove(create)


@core.guarded()
def received(telemetry: core.Telemetry, connection: Any, event: Any) -> None:
    """``event`` arrived on ``connection`` (parsed by the SDK, before the user sees it)."""
    kind = getattr(event, "type", None)
    calls = _connections.get(connection)
    if calls is None:
        if kind != "response.created":
            return
        calls = _calls_of(telemetry, connection)
    if kind == "response.created":
        _start(calls, event.response)
    elif kind == "error" and calls.pending:
        # An error event answers a request (a create refused: rate limited, a response already in flight);
        # a response in flight that fails ends with response.failed
        _refused(calls, event)
        return
    current = calls.active.get(getattr(getattr(event, "response", None), "id", None) or calls.current or "")
    if current is None:
        return
    call, state = current
    call.first_chunk()  # once: later calls are no-ops
    state.add(event)
    if kind in responses.FINAL_EVENTS:
        _end(calls, state.id or "", call, state)


@core.guarded()
def closed(connection: Any) -> None:
    """The connection closed: the responses still in flight end as streams cut short."""
    calls = _connections.pop(connection, None)
    if calls is not None:
        _abandoned(calls)


def _calls_of(telemetry: core.Telemetry, connection: Any) -> _Calls:
    calls = _connections.get(connection)
    if calls is None:
        with _lock:  # a connection's sender and receiver may be two threads
            calls = _connections.get(connection)
            if calls is None:
                calls = _connections[connection] = _Calls(telemetry, _server_of(connection))
                weakref.finalize(connection, _abandoned, calls)
    return calls


def _abandoned(calls: _Calls) -> None:
    """The connection closed or went away: its responses in flight end as streams cut short."""
    for response_id, (call, state) in list(calls.active.items()):
        _end(calls, response_id, call, state)


def _server_of(connection: Any) -> tuple[str, str | None, int | None]:
    """The provider, host and port the connection's handshake went to."""
    request = getattr(getattr(connection, "_connection", None), "request", None)
    host = (getattr(request, "headers", None) or {}).get("Host") or ""
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    address = name or None
    return provider_for_host(address or ""), address, int(port) if port.isdigit() else 443  # wss


def _start(calls: _Calls, response: Any) -> None:
    response_id = getattr(response, "id", None) or ""
    if response_id in calls.active:
        return
    if calls.pending:
        body, parent, started = calls.pending.popleft()
    else:  # started by the server (a steered response's successor): described by the response itself
        body = {name: value for name in _REQUEST_FIELDS if (value := _plain(getattr(response, name, None))) is not None}
        parent, started = calls.last_context, None
    request = _request(calls, body, getattr(response, "model", None))
    try:
        responses.describe(body, request)
    except Exception:  # the call is still recorded, with what the description got to
        core.log_failure(f"{__name__}.describe")
    call = core.LLMCall(calls.telemetry, request, parent, started)
    state = responses.ResponseStream()
    state.created_in = trace.set_span_in_context(call.span, parent)  # the call's context, its span current
    calls.active[response_id] = (call, state)
    calls.current = response_id


def _end(calls: _Calls, response_id: str, call: core.LLMCall, state: responses.ResponseStream) -> None:
    calls.active.pop(response_id, None)
    if calls.current == response_id:
        calls.current = next(reversed(calls.active), None) if calls.active else None
    ended = (time.time_ns(), time.perf_counter())  # before reading the state: it may count tokens
    call.end(state.response(), None, ended)


def _refused(calls: _Calls, event: Any) -> None:
    """An error answered the oldest create not answered yet (a rate limit): a failed call, not billed."""
    body, parent, started = calls.pending.popleft()
    request = _request(calls, body, None)
    request.attributes[sc.OPENAI_API_TYPE] = responses.API_TYPE
    call = core.LLMCall(calls.telemetry, request, parent, started)
    error = getattr(event, "error", None) or event
    call.end(core.new_response(failure=responses.failure_of(error), refused=True))


def _request(calls: _Calls, body: dict[str, Any], fallback_model: str | None) -> core.Request:
    """The call's request on this connection's server: the body's model, else ``fallback_model``."""
    provider, address, port = calls.server
    model = body.get("model") if isinstance(body.get("model"), str) else fallback_model
    return core.new_request(sc.OP_CHAT, provider, model, address, port, stream=True, body=body)


def _plain(value: Any) -> Any:
    """A response field as a request body holds it (tools as dicts)."""
    if isinstance(value, list):
        return [item.to_dict() if hasattr(item, "to_dict") else item for item in value]
    return value.to_dict() if hasattr(value, "to_dict") else value

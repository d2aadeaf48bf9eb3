"""The provider-independent half of instrumentation: one LLM call, recorded once.

An adapter (the ``openai`` and ``anthropic`` packages) turns the SDK's request into a
``Request`` and the SDK's response (or the stream's accumulated state) into a
``Response``; ``LLMCall`` does everything else: the span and its attributes,
attribution, the prompt fingerprint, token estimation when usage is missing, the
cost, the metrics, content capture. A call ends exactly once, whatever happens.

An adapter's fast path for its most common call (``openai.fast_chat``,
``anthropic.fast_messages``) builds the same span without ``Request``, ``LLMCall`` or
``Response``, and ends it through the steps ``LLMCall`` uses too: ``add_response``,
``add_usage_and_cost``, ``add_error``, ``record_metrics`` (with ``end_span`` around them).

Nothing here may raise into the user's program: every entry point an adapter
calls on the hot path catches and logs (``guarded``, or in place with ``log_failure``).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from opentelemetry import context, metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import current_attributes
from otel_llmcost.instrumentation.content import for_redaction, redacted_json, tool_definitions
from otel_llmcost.pricing.cost import price_call, price_floats
from otel_llmcost.pricing.types import Cost, Usage, new_usage

logger = logging.getLogger("otel_llmcost")

SCOPE_NAME = "otel_llmcost"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.41.0"

Redactor = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
_F = TypeVar("_F", bound=Callable[..., Any])
_logged: set[str] = set()


def log_once(key: str, message: str, *args: object, exc_info: bool = False) -> None:
    """Log a problem of ours once per key, so a broken hook cannot flood the app's logs."""
    if key in _logged:
        return
    _logged.add(key)
    logger.warning(message, *args, exc_info=exc_info)


def log_failure(key: str) -> None:
    """In an ``except`` block: log the step named ``key`` and its exception, once."""
    log_once(key, "otel-llmcost: %s failed; telemetry for this call may be incomplete", key, exc_info=True)


def guarded(default: Any = None) -> Callable[[_F], _F]:
    """Run an instrumentation step; on any error log once and return ``default``.

    Hot-path steps catch in place instead (``try: ... except Exception: log_failure(key)``):
    one frame less per step."""

    def decorate(function: _F) -> _F:
        key = f"{function.__module__}.{function.__qualname__}"

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception:
                log_failure(key)
                return default

        return wrapper  # type: ignore[return-value]

    return decorate


def capture_content_from_env() -> bool:
    return _is_true(os.environ.get(sc.ENV_CAPTURE_CONTENT, ""), sc.ENV_CAPTURE_CONTENT)


# The values that turn capture on and off. OpenTelemetry's GenAI instrumentations in their experimental mode
# also take SPAN_ONLY / SPAN_AND_EVENT / EVENT_ONLY / NO_CONTENT: content goes on spans here, never events.
_TRUE = frozenset(("true", "1", "yes", "on", "span_only", "span_and_event"))
_FALSE = frozenset(("", "false", "0", "no", "off", "no_content", "event_only"))


def _is_true(text: str, where: str = "capture_content") -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value not in _FALSE:
        log_once(
            f"capture_content.{where}",
            "otel-llmcost: %s=%r is not a value it knows; prompt and completion text are not captured. "
            "Use true to capture them (or false; SPAN_ONLY and NO_CONTENT are read as true and false too).",
            where,
            text,
        )
    return False


def capture_content_flag(value: object) -> bool:
    """``instrument(capture_content=...)``: a bool, or a text read as the environment variable is
    (``"false"`` from a config file must not turn capture on). Anything else: private, with a warning."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _is_true(value)
    log_once(
        "capture_content",
        "otel-llmcost: capture_content takes True or False, got %r; prompt and completion text are not captured",
        value,
    )
    return False


@dataclass(slots=True)
class Request:
    """What the adapter knows before the call is sent."""

    operation: str
    provider: str
    model: str | None
    server_address: str | None = None
    server_port: int | None = None
    stream: bool = False
    service_tier: str | None = None  # as requested (OpenAI service_tier, or "batch")
    attributes: dict[str, Any] = field(default_factory=dict)  # request parameters, semconv names
    fingerprint: str | None = None
    # Only read when content capture is on (messages in the semconv JSON shapes).
    input_messages: Callable[[], list[dict[str, Any]]] | None = None
    system_instructions: Callable[[], list[dict[str, Any]]] | None = None
    # Only called when the provider reports no usage.
    estimate_input_tokens: Callable[[], int] | None = None
    # The JSON body the SDK sends (adapters MUST set it; not copied). Read only by
    # consumers that need the request beyond the attributes, such as agent/tool
    # cost attribution (tool results resent in later requests), and only when active.
    body: Mapping[str, Any] | None = None


@dataclass(slots=True)
class Response:
    """What the adapter read from the response or the finished stream."""

    model: str | None = None
    id: str | None = None
    finish_reasons: Sequence[str] = ()
    usage: Usage | None = None
    service_tier: str | None = None  # as billed (from the response)
    tool_calls: Sequence[tuple[str, str]] = ()  # (call id, tool name)
    output_text: str = ""  # only used to estimate output tokens when usage is missing
    output_messages: Callable[[], list[dict[str, Any]]] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    # The provider said the call failed without the SDK raising (a Responses stream's error or
    # response.failed event): (error.type, the span status's description).
    failure: tuple[str, str] | None = None
    # Billed later, not by this call (a background response still queued): nothing is estimated.
    deferred: bool = False
    # Server-side web searches known to have run when the usage is not (a stream that ended early):
    # an estimate of the tokens still bills them.
    web_search_requests: int = 0
    # Refused before it ran (a Responses stream whose first event is an error): not billed, nothing estimated.
    refused: bool = False
    # The usage's input side as the provider reported it, its output counted (an Anthropic stream cut after
    # message_start): the input's token usage point is recorded, the output's is not.
    input_reported: bool = False


# Calling a class with keywords costs more on CPython 3.11 than a function taking them and calling the
# class positionally (about 1.4x here); the adapters build a Request and a Response per call with these.


def new_request(
    operation: str,
    provider: str,
    model: str | None,
    server_address: str | None = None,
    server_port: int | None = None,
    stream: bool = False,
    body: Mapping[str, Any] | None = None,
) -> Request:
    """``Request(...)`` with what an adapter knows at first; the rest it sets while describing."""
    return Request(
        operation, provider, model, server_address, server_port, stream, None, {}, None, None, None, None, body
    )


def new_response(
    model: str | None = None,
    id: str | None = None,  # noqa: A002 (the field's name)
    finish_reasons: Sequence[str] = (),
    usage: Usage | None = None,
    service_tier: str | None = None,
    tool_calls: Sequence[tuple[str, str]] = (),
    output_text: str = "",
    output_messages: Callable[[], list[dict[str, Any]]] | None = None,
    attributes: dict[str, Any] | None = None,
    failure: tuple[str, str] | None = None,
    deferred: bool = False,
    web_search_requests: int = 0,
    refused: bool = False,
    input_reported: bool = False,
) -> Response:
    """``Response(...)``, the same arguments."""
    return Response(
        model,
        id,
        finish_reasons,
        usage,
        service_tier,
        tool_calls,
        output_text,
        output_messages,
        {} if attributes is None else attributes,
        failure,
        deferred,
        web_search_requests,
        refused,
        input_reported,
    )


# Called when a call ends: (response, usage, cost, error). Runs before the span ends, so it may add attributes.
CallEnd = Callable[[Response | None, Usage | None, Cost | None, BaseException | None], None]
# Observers of every LLM call, such as agent and tool cost roll-ups (otel_llmcost.agents). Each is called
# in the caller's context when a call starts, with its request and span, and returns what to call when the
# call ends (a stream may end in another context), or None when it has no interest in this call.
CallObserver = Callable[[Request, trace.Span], CallEnd | None]
call_observers: list[CallObserver] = []
# An observer's cheap test of whether it may want a call starting now, in the caller's context (the agents'
# observer: is a run or tool open?). The fast paths ask it on every call; an observer without one wants all.
_observer_gates: dict[CallObserver, Callable[[], bool]] = {}


def add_call_observer(observer: CallObserver, wants: Callable[[], bool] | None = None) -> None:
    """Install ``observer`` (once); ``wants`` lets the fast paths keep the calls it will not want."""
    if wants is not None:
        _observer_gates[observer] = wants
    if observer not in call_observers:
        call_observers.append(observer)


def observed() -> bool:
    """Whether an installed observer may want a call starting now: the adapters' fast paths, which
    call no observer, then leave the call to the general path. Ask only when ``call_observers``."""
    for observer in call_observers:
        wants = _observer_gates.get(observer)
        if wants is None or wants():
            return True
    return False


class Telemetry:
    """The tracer, the metric instruments and the settings shared by every call."""

    # The most recently configured telemetry: agent and tool spans use its tracer and settings.
    latest: ClassVar[Telemetry | None] = None

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        capture_content: bool | None = None,
        redact: Redactor | None = None,
    ) -> None:
        from otel_llmcost import __version__

        self.tracer = trace.get_tracer(SCOPE_NAME, __version__, tracer_provider, schema_url=SCHEMA_URL)
        meter = metrics.get_meter(SCOPE_NAME, __version__, meter_provider, schema_url=SCHEMA_URL)
        self.token_usage = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(sc.TOKEN_USAGE_BUCKETS),
        )
        self.duration = meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.time_to_first_chunk = meter.create_histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.cost = meter.create_counter(sc.METRIC_COST, unit="USD", description="Cost of GenAI operations")
        self.capture_content = (
            capture_content_from_env() if capture_content is None else capture_content_flag(capture_content)
        )
        self.redact = redact
        # No meter provider anywhere (the zero-code default) or a no-op one: the instruments drop
        # every point, so the metric attributes are not even built.
        self._proxy: Any = None
        self._metrics_on = not isinstance(self.duration, metrics.NoOpHistogram)
        if self._metrics_on and hasattr(self.duration, "_real_instrument"):
            # The API's proxy, which records only once a global meter provider is set (maybe later).
            self._proxy = self.duration
        Telemetry.latest = self

    @property
    def records_metrics(self) -> bool:
        proxy = self._proxy
        return self._metrics_on if proxy is None else _records(proxy)


def _records(proxy: Any) -> bool:
    """Whether the API's proxy instrument records by now (a global meter provider was set since)."""
    real = proxy._real_instrument
    return real is not None and not isinstance(real, metrics.NoOpHistogram)


_END_KEY = "otel_llmcost.instrumentation.core.LLMCall.end"


class LLMCall:
    """One LLM call's span, from request to the end of the response or stream."""

    __slots__ = (
        "span",
        "_telemetry",
        "_request",
        "_started",
        "_first_chunk",
        "_ended",
        "_on_end",
        "_attribution",
        "_billing",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        request: Request,
        parent: context.Context | None = None,
        started: tuple[int, float] | None = None,
        billing: bool = False,
    ) -> None:
        """``parent``: the context the call belongs to (default: the current one); ``started``: when it
        started, ``(time.time_ns(), time.perf_counter())``, for a call recorded after it returned;
        ``billing``: the span only bills a call recorded before (a background response found finished):
        no call observer sees it as a new call, and no operation duration is recorded for it."""
        self._telemetry = telemetry
        self._billing = billing
        self._request = request
        self._first_chunk: float | None = None
        self._ended = False
        if parent is None:
            parent = context.get_current()  # read once for the attribution and the span's parent
        # Read once: the span gets it now and the cost metric the same (a stream may end in another context).
        self._attribution = attribution = current_attributes(parent)
        # The attributes a sampler may use, then the request's own (the hot path runs cold: one function here)
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: request.operation,
            sc.GEN_AI_PROVIDER_NAME: request.provider,
        }
        model = request.model
        if model:
            attributes[sc.GEN_AI_REQUEST_MODEL] = model
        if request.server_address:
            attributes[sc.SERVER_ADDRESS] = request.server_address
        if request.server_port:
            attributes[sc.SERVER_PORT] = request.server_port
        if request.stream:
            attributes[sc.GEN_AI_REQUEST_STREAM] = True
        if request.fingerprint:
            attributes[sc.LLMCOST_PROMPT_FINGERPRINT] = request.fingerprint
        attributes.update(request.attributes)
        if request.provider not in sc.OPENAI_PROVIDERS and sc.OPENAI_API_TYPE in attributes:
            drop_openai_attributes(attributes)  # a compatible server's call through the openai SDK
        if attribution:
            attributes.update(attribution)
        self.span = telemetry.tracer.start_span(
            f"{request.operation} {model}" if model else request.operation,
            context=parent,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=None if started is None else started[0],
        )
        self._on_end = _observe(request, self.span) if call_observers and not billing else None
        self._started = time.perf_counter() if started is None else started[1]

    def first_chunk(self) -> None:
        if self._first_chunk is None:
            self._first_chunk = time.perf_counter()

    def end(
        self,
        response: Response | None = None,
        error: BaseException | None = None,
        ended: tuple[int, float] | None = None,
        by_user: bool = False,
    ) -> None:
        """Finish the call; later calls are no-ops, so a stream may call it from every exit path. Never raises.
        ``ended``: when the call ended, ``(time.time_ns(), time.perf_counter())``, if reading its response
        took time of ours (a stream's token estimate); default now. Our work after it is not the call's.
        ``by_user``: ``error`` is the program's own (raised in its ``with`` block), not the provider's."""
        if self._ended:
            return
        self._ended = True
        if ended is None:
            ended = (time.time_ns(), time.perf_counter())
        try:
            try:
                self._record(response, error, ended[1], by_user)
            finally:
                self.span.end(end_time=ended[0])
        except Exception:
            log_failure(_END_KEY)

    @property
    def ended(self) -> bool:
        return self._ended

    def _record(self, response: Response | None, error: BaseException | None, ended: float, by_user: bool) -> None:
        # One function for the whole end of a call: the hot path runs with cold caches, where every
        # function it enters costs microseconds (see BENCHMARKS.md, Instrumentation).
        telemetry, request, span = self._telemetry, self._request, self.span
        duration = ended - self._started
        attributes: dict[str, Any] = {}  # everything the span ends with, set in one call
        model = request.model
        usage: Usage | None = None
        if response is not None:
            if response.model:
                model = response.model
            add_response(attributes, response.model, response.id, response.finish_reasons, response.tool_calls)
            if response.attributes:
                attributes.update(response.attributes)
                if request.provider not in sc.OPENAI_PROVIDERS and sc.OPENAI_API_TYPE in request.attributes:
                    drop_openai_attributes(attributes)
            usage = response.usage
        # A stream that failed before its first chunk (its first event an error: the provider was
        # overloaded) generated nothing and was not billed, as a request that fails is not: no estimate.
        # One the program left with an error of its own before reading it (its own exception, a
        # time-to-first-token timeout, Ctrl-C) was accepted, and billed.
        failed_before_streaming = error is not None and request.stream and self._first_chunk is None and not by_user
        not_billed_here = response is not None and (response.deferred or response.refused)
        if (
            usage is None
            and (response is not None or self._first_chunk is not None)
            and not failed_before_streaming
            and not not_billed_here
        ):
            usage = estimate_usage(
                request.estimate_input_tokens, response.output_text if response is not None else "", request.model
            )
            if usage is not None and response is not None and response.web_search_requests:
                usage = usage._replace(web_search_requests=response.web_search_requests)
        priced = None
        service_tier = None
        if usage is not None:
            if model:
                service_tier = (response.service_tier if response else None) or request.service_tier
            priced = add_usage_and_cost(attributes, usage, model, request.provider, service_tier)
            if request.operation == sc.OP_EMBEDDINGS:  # no output: the semconv's embeddings span counts input only
                del attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]
        first_chunk = self._first_chunk
        if first_chunk is not None:
            first_chunk -= self._started
            attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = first_chunk
        if error is not None:
            error_type: str | None = add_error(span, attributes, error)
        elif response is not None and response.failure is not None:
            error_type = add_failure(span, attributes, *response.failure)
        else:
            error_type = None
        if telemetry.capture_content:
            attributes.update(_content_attributes(telemetry, request, response, error_type is not None))
        span.set_attributes(attributes)
        proxy = telemetry._proxy  # records_metrics, inline
        if telemetry._metrics_on if proxy is None else _records(proxy):
            record_metrics(
                telemetry,
                request.operation,
                request.provider,
                request.model,
                # no response, no model that answered; a cloud's call priced by the requested profile
                # (Bedrock's us.anthropic...) still names the model that answered
                (attributes.get(sc.GEN_AI_RESPONSE_MODEL) or model) if response is not None else None,
                request.server_address,
                request.server_port,
                usage,
                None if priced is None else priced[0],
                None if self._billing else duration,
                error_type,
                first_chunk,
                self._attribution,
                attributes,
                response is not None and response.input_reported,
            )
        if self._on_end:
            cost = None
            if priced is not None and model and usage is not None:  # the agent roll-ups add exact Decimal costs up
                cost = price_call(model, usage, provider=request.provider, service_tier=service_tier)
            _notify(self._on_end, response, usage, cost, error)


# The steps of a call's end that every way of recording one shares: LLMCall._record, and the
# adapters' paths specialized for their most common call (openai.fast_chat).


def drop_openai_attributes(attributes: dict[str, Any]) -> None:
    """Take the ``openai.*`` attributes out of a call to another provider than OpenAI's (the openai SDK
    reaching Groq, Bedrock or Gemini): the semconv keeps provider-specific attributes to their provider."""
    for key in sc.OPENAI_ATTRIBUTES:
        attributes.pop(key, None)


def add_response(
    attributes: dict[str, Any],
    model: str | None,
    response_id: str | None,
    finish_reasons: Sequence[str],
    tool_calls: Sequence[tuple[str, str]],
) -> None:
    """The response's model, id, finish reasons and tool calls (call id, tool name), as span attributes."""
    if model:
        attributes[sc.GEN_AI_RESPONSE_MODEL] = model
    if response_id:
        attributes[sc.GEN_AI_RESPONSE_ID] = response_id
    if finish_reasons:
        attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = tuple(finish_reasons)
    if tool_calls:
        attributes[sc.LLMCOST_TOOL_CALLS_COUNT] = len(tool_calls)
        attributes[sc.LLMCOST_TOOL_CALLS_IDS] = tuple(call_id for call_id, _ in tool_calls)
        attributes[sc.LLMCOST_TOOL_CALLS_NAMES] = tuple(name for _, name in tool_calls)


def add_usage_and_cost(
    attributes: dict[str, Any], usage: Usage, model: str | None, provider: str, service_tier: str | None
) -> tuple[Any, ...] | None:
    """The usage and its cost as span attributes; returns ``price_floats``' answer (None: unpriced)."""
    input_tokens, output_tokens, cache_read, write_5m, write_1h, reasoning, web_searches, estimated = usage
    attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
    if cache_read:
        attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cache_read
    if write_5m or write_1h:
        attributes[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = write_5m + write_1h
        if write_5m:
            attributes[sc.LLMCOST_USAGE_CACHE_WRITE_5M_TOKENS] = write_5m
        if write_1h:
            attributes[sc.LLMCOST_USAGE_CACHE_WRITE_1H_TOKENS] = write_1h
    if reasoning:
        attributes[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = reasoning
    if web_searches:
        attributes[sc.LLMCOST_USAGE_WEB_SEARCH_REQUESTS] = web_searches
    if estimated:
        attributes[sc.LLMCOST_TOKENS_ESTIMATED] = True
    priced = price_floats(model, usage, provider, service_tier) if model else None
    if priced is None:
        attributes[sc.LLMCOST_COST_UNPRICED] = True
    else:
        # priced: total, input, cache read, cache write, output, reasoning, fees, entry, tier, long context
        entry = priced[7]
        attributes.update(
            zip(
                _COST_KEYS,
                (
                    priced[0],
                    sc.COST_CURRENCY_USD,
                    sc.COST_SOURCE_LOCAL,
                    *priced[1:7],
                    entry.key,
                    entry.effective_date,
                    priced[8],
                    priced[9],
                ),
            )
        )
    return priced


def add_error(span: trace.Span, attributes: dict[str, Any], error: BaseException) -> str:
    """A failed call: ``error.type`` and the span's error status; returns the error type."""
    return add_failure(span, attributes, _error_type(error), error_description(error))


def error_description(error: BaseException) -> str:
    """A status description: the exception's type and message. Prompt and output text reach a span
    through content capture and its redaction hook only, never through a status, so three kinds of
    exception are described without the text they quote:
    - pydantic's validation error (of the model's output, from ``.parse()``): where and why
      validation failed;
    - an SDK's error for an API response (``APIStatusError``), whose text holds the whole response
      body (openai 1.x / 2.x, anthropic), which may quote the prompt or hold the output (Groq's
      ``failed_generation``): its status and the provider's own message;
    - an SDK stream helper's error that quotes the output it could not read (``_QUOTING_OUTPUT``):
      its text up to the quote."""
    name = type(error).__name__
    try:
        if name == "ValidationError" and type(error).__module__.startswith("pydantic"):
            try:
                reasons = error.errors(include_input=False, include_url=False)  # type: ignore[attr-defined]
            except TypeError:  # pydantic 1's, whose text quotes no input
                return f"{name}: {error}"
            where = "; ".join(f"{'.'.join(map(str, reason['loc'])) or '(root)'}: {reason['msg']}" for reason in reasons)
            title = error.title  # type: ignore[attr-defined]
            return f"{name}: {len(reasons)} validation error(s) for {title}: {where}"
        if _is_api_status_error(error):
            message = _provider_message(getattr(error, "body", None))
            status = getattr(error, "status_code", None)
            if not (isinstance(status, int) and status >= 400):  # an error event in a stream that opened with 200
                return f"{name}: {message}" if message else f"{name}: {error}"
            return f"{name}: Error code: {status} - {message or '(the response body is not recorded)'}"
        text = str(error)
        for start, quote in _QUOTING_OUTPUT:
            if text.startswith(start) and quote in text:
                return f"{name}: {text.partition(quote)[0]} (the output it quoted is not recorded)"
        return f"{name}: {text}"
    except Exception:  # an exception whose text cannot be read
        return name


# The SDKs' stream helpers' errors that quote the model's output, by how their text starts, and the words
# after which the quote follows: the anthropic helper's tool input it cannot parse (a model's malformed
# JSON), the openai helper's chunk delta it cannot merge.
_QUOTING_OUTPUT = (
    ("Unable to parse tool parameter JSON from model", ". JSON: "),
    ("Expected list delta entry to have an `index` key", "; "),
)


def _is_api_status_error(error: BaseException) -> bool:
    """An openai or anthropic ``APIStatusError`` (any major): the SDK's error for an API response."""
    return type(error).__module__.partition(".")[0] in _SDK_PACKAGES and any(
        cls.__name__ == "APIStatusError" for cls in type(error).__mro__
    )


def _provider_message(body: Any) -> str | None:
    """The message in an API error's body: ``{"error": {"message": ...}}``, ``{"message": ...}``, an
    OAuth error's ``{"error_description": ...}``, ``{"detail": ...}`` or ``{"error": "..."}``."""
    if isinstance(body, Mapping):
        inner = body.get("error")
        holder = inner if isinstance(inner, Mapping) else body
        for key in ("message", "error_description", "detail", "error"):  # the last two: compatible servers'
            message = holder.get(key)
            if isinstance(message, str) and message:
                return message
    return None


def add_failure(span: trace.Span, attributes: dict[str, Any], error_type: str, description: str) -> str:
    """``add_error`` for a failure the provider reported without an exception."""
    attributes[sc.ERROR_TYPE] = error_type
    span.set_status(Status(StatusCode.ERROR, description[:500]))
    return error_type


def end_span(
    telemetry: Telemetry,
    span: trace.Span,
    attributes: dict[str, Any],
    error: BaseException | None,
    operation: str,
    provider: str,
    request_model: str | None,
    model: str | None,
    server_address: str | None,
    server_port: int | None,
    usage: Usage | None,
    priced: tuple[Any, ...] | None,
    duration: float,
    attribution: Mapping[str, str],
    key: str,
    end_time: int | None = None,
) -> None:
    """The end of a call recorded without an ``LLMCall`` (the adapters' fast paths): the error, the
    span's attributes and the metrics, then the span's end whatever happened before, at ``end_time``
    (ns since the epoch; default: now). Never raises: a failure is logged once under ``key``."""
    try:
        error_type = None if error is None else add_error(span, attributes, error)
        span.set_attributes(attributes)
        if telemetry.records_metrics:
            record_metrics(
                telemetry,
                operation,
                provider,
                request_model,
                # no response, no model that answered; the one that did, not the profile that priced it
                None if error is not None else (attributes.get(sc.GEN_AI_RESPONSE_MODEL) or model),
                server_address,
                server_port,
                usage,
                None if priced is None else priced[0],
                duration,
                error_type,
                None,
                attribution,
                attributes,
                False,  # the fast paths' usage is the response's, or all estimated
            )
    except Exception:
        log_failure(key)
    finally:
        try:
            span.end(end_time)
        except Exception:
            log_failure(key)


def record_metrics(
    telemetry: Telemetry,
    operation: str,
    provider: str,
    request_model: str | None,
    model: str | None,
    server_address: str | None,
    server_port: int | None,
    usage: Usage | None,
    total: float | None,
    duration: float | None,
    error_type: str | None,
    time_to_first_chunk: float | None,
    attribution: Mapping[str, str],
    span_attributes: Mapping[str, Any],
    input_reported: bool = False,
) -> None:
    """The semconv metric points of one call, and its cost (by team and feature). Estimated token
    counts get no token usage points: the semconv allows reporting usage the provider did not send
    only when the user turned offline counting on (the span still carries the estimate, flagged).
    ``input_reported``: the estimated usage's input side is the provider's (``Response.input_reported``).
    ``span_attributes``: what the call's end set on its span, for the OpenAI attributes the semconv
    recommends on the duration and token usage points (the tier and fingerprint that served it)."""
    metric_attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation, sc.GEN_AI_PROVIDER_NAME: provider}
    if request_model:
        metric_attributes[sc.GEN_AI_REQUEST_MODEL] = request_model
    if model:
        metric_attributes[sc.GEN_AI_RESPONSE_MODEL] = model
    if server_address:
        metric_attributes[sc.SERVER_ADDRESS] = server_address
        if server_port:  # conditionally required with server.address on every client metric
            metric_attributes[sc.SERVER_PORT] = server_port
    if error_type:
        metric_attributes[sc.ERROR_TYPE] = error_type
    served = metric_attributes
    for key in _OPENAI_METRIC_ATTRIBUTES:
        value = span_attributes.get(key)
        if value is not None:
            if served is metric_attributes:
                served = dict(metric_attributes)
            served[key] = value
    if duration is not None:
        telemetry.duration.record(duration, served)
    if time_to_first_chunk is not None:
        telemetry.time_to_first_chunk.record(time_to_first_chunk, metric_attributes)
    if usage is not None and (not usage.estimated or input_reported):
        telemetry.token_usage.record(usage.input_tokens, {**served, sc.GEN_AI_TOKEN_TYPE: "input"})
        if operation != sc.OP_EMBEDDINGS and not usage.estimated:
            telemetry.token_usage.record(usage.output_tokens, {**served, sc.GEN_AI_TOKEN_TYPE: "output"})
    if total is not None:
        for key in (sc.LLMCOST_TEAM, sc.LLMCOST_FEATURE):
            if key in attribution:
                metric_attributes[key] = attribution[key]
        telemetry.cost.add(total, metric_attributes)


# Recommended by the semconv (openai.md, Metrics) on gen_ai.client.token.usage and gen_ai.client.operation.duration
_OPENAI_METRIC_ATTRIBUTES = (sc.OPENAI_RESPONSE_SERVICE_TIER, sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT)

_GUARDRAIL_HEADER = "x-amzn-bedrock-guardrailidentifier"


def bedrock_guardrail_of(headers: Any) -> str | None:
    """The Bedrock guardrail a request names (``extra_headers={"X-Amzn-Bedrock-GuardrailIdentifier": ...}``):
    ``aws.bedrock.guardrail.id``, which the semconv requires on Bedrock spans, from either SDK."""
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if type(name) is str and name.lower() == _GUARDRAIL_HEADER and type(value) is str and value:
            return value
    return None


def end_unparsed(
    call: LLMCall,
    http_response: Any,
    read: Callable[[Any], Response | None],
    error: BaseException | None,
    ended: tuple[int, float] | None,
    key: str,
    read_kept: Callable[[], Response | None] | None = None,
) -> None:
    """End the call of a raw response closed (its ``with`` block left) or dropped without ``.parse()``.
    It was billed: its usage is ``read`` from the JSON body if that was read (``.json()``, ``.read()``,
    or by the SDK), else by ``read_kept`` from what the user read of it themselves (``raw_bodies``),
    else estimated. ``error``: the program's own, raised in the block it left.
    Never raises; a failure is logged once under ``key``."""
    response = None
    try:
        body = read_body(http_response)
        if body is not None:
            response = read(body)
        elif read_kept is not None:
            response = read_kept()
    except Exception:
        log_failure(key)
    call.end(response or new_response(), error=error, ended=ended, by_user=True)


def read_body(http_response: Any) -> Any:
    """A raw response's JSON body (its ``http_response``) if it was read (by the SDK, or the user's
    ``.json()``, ``.read()``), else None: reading it here would consume a body the user may still read."""
    if http_response is None or "_content" not in getattr(http_response, "__dict__", {}):
        return None
    try:
        return http_response.json()
    except ValueError:  # not JSON (a stream's server-sent events)
        return None


def json_body(result: Any) -> Mapping[str, Any] | None:
    """The JSON object of a result the user asked for as plain JSON (``client.post(..., cast_to=object)``
    gives a dict, ``cast_to=httpx.Response`` the HTTP response, whose body is read only if it was), or None."""
    body = result if isinstance(result, Mapping) else read_body(result)
    return body if isinstance(body, Mapping) else None


def read_whole_at(raw_response: Any) -> tuple[int, float] | None:
    """Now, as an end time for ``LLMCall.end``, if the SDK returned ``raw_response`` with its body read
    whole (``.with_raw_response``): the call is over, however long the user takes to ``.parse()`` it.
    None for a body still streaming (``.with_streaming_response``), which ends when it is read."""
    if getattr(getattr(raw_response, "http_response", None), "is_closed", False) is True:
        return (time.time_ns(), time.perf_counter())
    return None


def estimate_usage(count_input: Callable[[], int] | None, output_text: str, model: str | None) -> Usage | None:
    """Count tokens with tiktoken when the provider sent no usage (for example a stream without
    ``include_usage``, or one the user abandoned); None when the input cannot be counted."""
    from otel_llmcost.tokens import count_text

    if count_input is None:
        return None
    input_tokens = count_input()
    output_tokens = count_text(output_text, model or "") if output_text else 0
    return new_usage(input_tokens, output_tokens, estimated=True)


@guarded()
def _observe(request: Request, span: trace.Span) -> list[CallEnd] | None:
    ends = [end for observer in call_observers if (end := observer(request, span)) is not None]
    return ends or None


@guarded()
def _notify(
    ends: list[CallEnd], response: Response | None, usage: Usage | None, cost: Cost | None, error: BaseException | None
) -> None:
    for end in ends:
        end(response, usage, cost, error)


_COST_KEYS = (
    sc.GEN_AI_USAGE_COST_AMOUNT,
    sc.GEN_AI_USAGE_COST_CURRENCY,
    sc.GEN_AI_USAGE_COST_SOURCE,
    sc.LLMCOST_COST_INPUT,
    sc.LLMCOST_COST_CACHE_READ,
    sc.LLMCOST_COST_CACHE_WRITE,
    sc.LLMCOST_COST_OUTPUT,
    sc.LLMCOST_COST_REASONING,
    sc.LLMCOST_COST_REQUEST_FEES,
    sc.LLMCOST_PRICING_ENTRY,
    sc.LLMCOST_PRICING_DATE,
    sc.LLMCOST_PRICING_TIER,
    sc.LLMCOST_PRICING_LONG_CONTEXT,
)


def _error_type(error: BaseException) -> str:
    # HTTP errors from the SDKs carry the status; the semconv asks for the most specific low-cardinality value.
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        if status >= 400:
            return str(status)
        # An error event inside a stream that opened with 200 (Anthropic's overloaded_error): the
        # status names no error, the provider's error type does.
        provider_type = getattr(error, "type", None)
        if provider_type is None:  # older anthropic 0.x releases (0.60) keep it only in the event's body
            body = getattr(error, "body", None)
            detail = body.get("error") if isinstance(body, Mapping) else None
            provider_type = detail.get("type") if isinstance(detail, Mapping) else None
        if isinstance(provider_type, str) and provider_type:
            return provider_type
    elif status is None and type(error).__module__.partition(".")[0] in _SDK_PACKAGES:
        # An error inside a stream that the SDK raises as a plain APIError, with no status (OpenAI's
        # {"error": {...}} chunk or a Responses "error" event): the provider's code, else its type. Only
        # a name: a compatible server's numeric code ("400", which openai 3.x keeps as text) would pass
        # for an HTTP status, and anything else could be long or unbounded.
        for name in ("code", "type"):
            reported = getattr(error, name, None)
            if isinstance(reported, str) and _ERROR_NAME.fullmatch(reported):
                return reported
    return type(error).__qualname__


_SDK_PACKAGES = frozenset(("openai", "anthropic"))
_ERROR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def _redacted(redact: Callable[[Any], Any], key: str, messages: list[Any]) -> Any:
    """What the hook lets through. It always gets a message list: the system instructions (a list of
    parts in the semconv) go to it as one ``system`` message, and their parts come back from it."""
    if key != sc.GEN_AI_SYSTEM_INSTRUCTIONS:
        returned = redact(for_redaction(messages))
        _check_redacted(returned, key == sc.GEN_AI_OUTPUT_MESSAGES)
        return returned
    returned = redact(for_redaction([{"role": "system", "parts": messages}]))
    _check_redacted(returned, False)
    return [part for message in returned for part in message["parts"]] if returned else returned


def _check_redacted(returned: Any, output: bool) -> None:
    problem = None if returned is None else _not_messages(returned, output)
    if problem is not None:
        raise TypeError(
            "the redaction hook must return the message list (or None): each message an object with a role and "
            f"its parts (a list of objects with a type){', and a finish_reason' if output else ''}; got {problem}"
        )


def _not_messages(returned: Any, output: bool) -> str | None:
    """What makes ``returned`` no message list of the semconv's schema, or None. A dict, "REDACTED" or ["a"]
    is none (messages are objects with a role and parts), and neither is a message whose parts are
    "[redacted]" or missing, or a part without its type: recorded, they broke the schema (and the system
    instructions came out as one part per character). ``output``: output messages, which need their
    finish_reason too."""
    if not isinstance(returned, list):
        return type(returned).__name__
    for item in returned:
        if not isinstance(item, Mapping):
            return f"a list holding a {type(item).__name__}"
        if not isinstance(item.get("role"), str) or not item["role"]:
            return "a message without a role"
        if output and not isinstance(item.get("finish_reason"), str):
            return "an output message without a finish_reason"
        parts = item.get("parts")
        if not isinstance(parts, (list, tuple)):
            return f"a message whose parts are a {type(parts).__name__}"
        for part in parts:
            if not isinstance(part, Mapping):
                return f"a message whose parts hold a {type(part).__name__}"
            if not isinstance(part.get("type"), str) or not part["type"]:
                return "a part without a type"
    return None


def _finished_with_error(output_messages: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    messages = output_messages()
    for message in messages:
        if isinstance(message, dict) and not message.get("finish_reason"):
            message["finish_reason"] = "error"
    return messages


def _content_attributes(
    telemetry: Telemetry, request: Request, response: Response | None, failed: bool
) -> dict[str, str]:
    """Prompt and completion text, only with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true.
    ``failed``: the call ended with an error, so an output message the provider gave no finish reason
    (a stream cut by an error event) finished with the semconv's ``error``."""
    attributes: dict[str, str] = {}
    output = None if response is None or response.deferred else response.output_messages  # deferred: none yet
    if output is not None and failed:
        output = functools.partial(_finished_with_error, output)
    sources = (
        (sc.GEN_AI_SYSTEM_INSTRUCTIONS, request.system_instructions),
        (sc.GEN_AI_INPUT_MESSAGES, request.input_messages),
        (sc.GEN_AI_OUTPUT_MESSAGES, output),
    )
    # The tools offered, by type and name only: no text of the prompt's, so not the redaction hook's to see
    tools = request.body.get("tools") if request.body is not None else None
    if tools:
        try:
            definitions = tool_definitions(tools)
            if definitions:
                attributes[sc.GEN_AI_TOOL_DEFINITIONS] = json.dumps(definitions, ensure_ascii=False)
        except Exception:
            log_failure(f"{__name__}.content.{sc.GEN_AI_TOOL_DEFINITIONS}")
    # Each source alone: content that cannot be read or written is dropped, never the call's other telemetry.
    for key, source in sources:
        if source is None:
            continue
        try:
            messages = source()
        except Exception:
            log_failure(f"{__name__}.content.{key}")
            continue
        if not messages:
            continue
        if telemetry.redact is None:
            try:
                attributes[key] = json.dumps(messages, ensure_ascii=False, default=str)
            except Exception:
                log_failure(f"{__name__}.content.{key}")
            continue
        try:
            recorded = _redacted(telemetry.redact, key, messages)
            if recorded:  # the hook may drop it all (None, [])
                attributes[key] = redacted_json(recorded)
        except Exception:
            # Privacy first: a broken redaction hook means no content, not unredacted content.
            log_once(
                "redact",
                "otel-llmcost: the redaction hook raised, or returned no message list or what cannot be "
                "written as JSON; message content is dropped",
                exc_info=True,
            )
    return attributes

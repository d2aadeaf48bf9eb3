"""The common call, specialized: a plain, non-streaming Messages call.

Most calls an application makes are ``client.messages.create(...)`` without a stream, a raw response
or a ``.parse()``. For those, when content capture is off and no call observer wants the call (the
agents module's wants the calls inside an agent run or tool), this path records the span the
general one would (``client._Tracker`` and ``core.LLMCall``), built without the general path's
per-call objects: no ``Request``, tracker or ``Response``, no chained post_parser (the SDK returns
the parsed message itself), no description closures. Both paths share the steps that decide what a
span says: the request's fingerprint and parameters, the usage reader (``messages``), the billed
model id (``providers``), the response, usage, cost, error and metric steps (``core``). A test
records every Messages shape both ways and compares the spans. The openai adapter's twin is
``openai.fast_chat``.

Why a second path: on the real SDK our code runs with cold caches, where each object built and
function entered costs microseconds (BENCHMARKS.md, Instrumentation).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import anthropic
from anthropic._constants import RAW_RESPONSE_HEADER
from anthropic._models import construct_type
from opentelemetry import context, trace
from opentelemetry.trace import SpanKind

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import current_attributes, for_provider
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.anthropic import messages, sdk_tracing
from otel_llmcost.instrumentation.anthropic.content import text_of_blocks
from otel_llmcost.instrumentation.anthropic.providers import (
    CLOUDS,
    Server,
    bills_by_request_model,
    regional_premium_not_priced,
    server_of,
)

# The Messages path, and its beta twin before anthropic 2.x (which sends ?beta=true as a query parameter)
PATHS = frozenset(("/v1/messages", "/v1/messages?beta=true"))
_FINISH_KEY = f"{__name__}.finish"
_BaseModel = anthropic.BaseModel

# (span, the context the SDK's request runs in, started, requested model, provider, server,
#  whether the request model is billed, system prompt, messages, tools, attribution)
Call = tuple[trace.Span, context.Context, float, str, str, Server, bool, Any, Any, Any, dict]


def start(telemetry: core.Telemetry, client: Any, options: Any, stream: Any) -> Call | None:
    """Start the span of a plain Messages call, or None: the general path takes the call.
    ``stream`` is the SDK request's own ``stream`` argument. May raise: the wrappers catch."""
    if stream is True or options.url not in PATHS or telemetry.capture_content:
        return None
    if core.call_observers and core.observed():  # an agent run or tool is open, for example
        return None
    body = options.json_data
    if type(body) is not dict or options.method != "post" or callable(options.post_parser):
        return None
    extra = options.extra_json
    if extra and isinstance(extra, Mapping):  # extra_body, merged as the SDK sends it (and as client._start reads it)
        body = {**body, **extra}
    headers = options.headers
    if body.get("stream") is True or (headers and RAW_RESPONSE_HEADER in headers):
        return None
    model = body.get("model")
    if type(model) is not str or not model:
        return None
    server = server_of(client)
    provider = server.provider
    by_request_model = provider in CLOUDS and bills_by_request_model(provider, model)
    if by_request_model:
        regional_premium_not_priced(provider, server.address, model)
    parent = context.get_current()
    attribution = current_attributes(parent)
    # In LLMCall's order: what a sampler may use, the fingerprint, the request's own, the attribution.
    attributes: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_PROVIDER_NAME: provider,
        sc.GEN_AI_REQUEST_MODEL: model,
    }
    address = server.address
    if address:
        attributes[sc.SERVER_ADDRESS] = address
    if server.port:
        attributes[sc.SERVER_PORT] = server.port
    attributes[sc.LLMCOST_PROMPT_FINGERPRINT], system, prompt, tools = messages.prompt_of(body)
    messages.parameters(body, attributes)
    if provider == sc.PROVIDER_AWS_BEDROCK and headers and (guardrail := core.bedrock_guardrail_of(headers)):
        attributes[sc.AWS_BEDROCK_GUARDRAIL_ID] = guardrail
    if attribution:
        attributes.update(attribution)
    span = telemetry.tracer.start_span(f"chat {model}", context=parent, kind=SpanKind.CLIENT, attributes=attributes)
    # our span current, the SDK's own replaced, the attribution (sent on by the SDK) left out
    running = sdk_tracing.call_context(span, for_provider(parent) if attribution else parent)
    return (
        span,
        running,
        time.perf_counter(),
        model,
        provider,
        server,
        by_request_model,
        system,
        prompt,
        tools,
        attribution,
    )


def finish(telemetry: core.Telemetry, call: Call, message: Any, error: BaseException | None = None) -> None:
    """End the call with the SDK's result (or its exception). Never raises."""
    span, _, started, requested_model, provider, server, by_request_model, system, prompt, tools, attribution = call
    duration = time.perf_counter() - started
    attributes: dict[str, Any] = {}
    model = requested_model
    usage = priced = ended = None
    try:
        if error is None and not isinstance(message, _BaseModel):
            message = _plain_message(message)
        if message is not None and getattr(message, "type", None) == "message":
            # messages.read's fields, then providers.bill_by_request_model's choice, straight into attributes
            content = message.content
            blocks = content if isinstance(content, (list, tuple)) else ()
            reported = message.usage
            fields = messages.fields_of(reported) if reported is not None else {}
            tier = fields.get("service_tier")  # anthropic >= 0.5x declares it; older ones keep it as an extra
            stop_reason = message.stop_reason
            response_model = message.model
            billed_by_request = by_request_model and response_model
            if response_model and not billed_by_request:
                model = response_model
            core.add_response(
                attributes,
                None if billed_by_request else response_model,
                message.id,
                (stop_reason,) if stop_reason else (),
                messages.tool_calls(blocks),
            )
            if type(tier) is str:
                attributes[sc.ANTHROPIC_SDK_RESPONSE_SERVICE_TIER] = tier
            if billed_by_request:  # the response model stays on the span; the request's id is priced
                attributes[sc.GEN_AI_RESPONSE_MODEL] = response_model
            if reported is not None:
                usage = messages.usage_of_fields(fields)
            else:
                ended = time.time_ns()  # the call's end: counting tokens is our work, not the call's
                usage = core.estimate_usage(
                    lambda: messages.count_input(system, prompt, tools, requested_model),
                    text_of_blocks(blocks),
                    requested_model,
                )
            if usage is not None:
                priced = core.add_usage_and_cost(attributes, usage, model, provider, tier or None)
    except Exception:  # the span still ends, with what was read
        core.log_failure(_FINISH_KEY)
    core.end_span(
        telemetry,
        span,
        attributes,
        error,
        sc.OP_CHAT,
        provider,
        requested_model,
        model,
        server.address,
        server.port,
        usage,
        priced,
        duration,
        attribution,
        _FINISH_KEY,
        ended,
    )


def _plain_message(result: Any) -> Any:
    """The message in a result the user asked for as plain JSON (``core.json_body``), or None."""
    body = core.json_body(result)
    if body is None or body.get("type") != "message":
        return None
    return construct_type(type_=anthropic.types.Message, value=body)

"""The common call, specialized: a plain, non-streaming chat completion.

Most calls an application makes are ``client.chat.completions.create(...)`` without a stream, a raw
response or a ``.parse()``. For those, when content capture is off and no call observer wants the
call (the agents module's wants the calls inside an agent run or tool), this path records the span
the general one would (``client._Tracker`` and ``core.LLMCall``), built without the general path's
per-call objects: no ``Request``, tracker or ``Response``, no chained post_parser (the SDK returns
the parsed completion itself), no description closures. Both paths share the steps that decide what
a span says: the chat request's fingerprint and parameters (``chat``), the response, usage, cost,
error and metric steps (``core``). A test records every chat shape both ways and compares the spans.

Why a second path: on the real SDK our code runs with cold caches, where each object built and
function entered costs microseconds; this one is measured in BENCHMARKS.md (Instrumentation).
"""

from __future__ import annotations

import time
from typing import Any

from openai._constants import RAW_RESPONSE_HEADER
from openai._models import construct_type
from openai.types.chat import ChatCompletion
from opentelemetry import context, trace
from opentelemetry.trace import SpanKind

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import current_attributes, for_provider
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.openai import chat
from otel_llmcost.instrumentation.openai.providers import Server, server_of

PATH = "/chat/completions"
_FINISH_KEY = f"{__name__}.finish"

# (span, the context the SDK's request runs in, started, requested model, provider, server,
#  requested tier, the request body (read only to estimate usage), attribution)
Call = tuple[trace.Span, context.Context, float, str, str, Server, "str | None", dict, dict]


def start(telemetry: core.Telemetry, client: Any, options: Any, stream: Any) -> Call | None:
    """Start the span of a plain chat completion, or None: the general path takes the call.
    ``stream`` is the SDK request's own ``stream`` argument. May raise: the wrappers catch."""
    if stream is True or options.url != PATH or telemetry.capture_content:
        return None
    if core.call_observers and core.observed():  # an agent run or tool is open, for example
        return None
    body = options.json_data
    if type(body) is not dict or options.method != "post" or callable(options.post_parser):
        return None
    if options.extra_json:  # extra_body, merged as the SDK sends it (and as client._start reads it)
        body = {**body, **options.extra_json}
    headers = options.headers
    if body.get("stream") is True or (headers and RAW_RESPONSE_HEADER in headers):
        return None
    model = body.get("model")
    if type(model) is not str or not model:
        return None
    messages = body.get("messages")
    if type(messages) is not list:
        messages = []
    server = server_of(client)
    parent = context.get_current()
    attribution = current_attributes(parent)
    # In LLMCall's order: what a sampler may use, the fingerprint, the request's own, the attribution.
    attributes: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_PROVIDER_NAME: server.provider,
        sc.GEN_AI_REQUEST_MODEL: model,
    }
    address = server.address
    if address:
        attributes[sc.SERVER_ADDRESS] = address
    if server.port:
        attributes[sc.SERVER_PORT] = server.port
    attributes[sc.LLMCOST_PROMPT_FINGERPRINT] = chat.fingerprint_of(messages, body.get("tools"))
    tier = chat.parameters(body, attributes)
    if server.provider not in sc.OPENAI_PROVIDERS:
        core.drop_openai_attributes(attributes)  # a compatible server's (Groq's, Bedrock's)
    if server.provider == sc.PROVIDER_AWS_BEDROCK and headers and (guardrail := core.bedrock_guardrail_of(headers)):
        attributes[sc.AWS_BEDROCK_GUARDRAIL_ID] = guardrail
    if attribution:
        attributes.update(attribution)
    span = telemetry.tracer.start_span(f"chat {model}", context=parent, kind=SpanKind.CLIENT, attributes=attributes)
    # The span current while the SDK sends the request (from the context read above: one read per call),
    # without the attribution, which is no business of the provider's.
    running = trace.set_span_in_context(span, for_provider(parent) if attribution else parent)
    return span, running, time.perf_counter(), model, server.provider, server, tier, body, attribution


def finish(telemetry: core.Telemetry, call: Call, completion: Any, error: BaseException | None = None) -> None:
    """End the call with the SDK's result (or its exception). Never raises."""
    span, _, started, requested_model, provider, server, tier, body, attribution = call
    duration = time.perf_counter() - started
    attributes: dict[str, Any] = {}
    model = requested_model
    usage = priced = ended = None
    try:
        if error is None and not isinstance(completion, ChatCompletion):
            completion = _plain_completion(completion)
        if completion is not None:
            # chat.read's fields, straight into attributes
            choices = completion.choices or ()
            finish_reasons, tool_calls = chat.outcome(choices)
            if completion.model:
                model = completion.model
            core.add_response(attributes, completion.model, completion.id, finish_reasons, tool_calls)
            if completion.system_fingerprint:
                attributes[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = completion.system_fingerprint
            billed_tier = completion.service_tier
            if billed_tier:
                attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier = billed_tier
            if provider not in sc.OPENAI_PROVIDERS:
                core.drop_openai_attributes(attributes)
            reported = completion.usage
            usage = chat.usage_of(reported) if reported is not None else None
            if usage is None:  # none reported, or none counted
                ended = time.time_ns()  # the call's end: counting tokens is our work, not the call's
                usage = core.estimate_usage(
                    lambda: chat.count_input(_listed(body.get("messages")), requested_model, body.get("tools")),
                    "".join(chat.generated_texts(choices)),
                    requested_model,
                )
            if usage is not None:
                priced = core.add_usage_and_cost(attributes, usage, model, provider, tier)
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


def _plain_completion(result: Any) -> ChatCompletion | None:
    """The completion in a result the user asked for as plain JSON (``core.json_body``), or None."""
    body = core.json_body(result)
    return None if body is None else construct_type(type_=ChatCompletion, value=body)


def _listed(messages: Any) -> list[Any]:
    return messages if type(messages) is list else []

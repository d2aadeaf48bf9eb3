"""Spans made with the real OpenTelemetry SDK, and the OTLP bytes every path into the store carries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_llmcost import semconv as sc
from otel_llmcost.store.exporter import encode

RESOURCE = {sc.SERVICE_NAME: "checkout", sc.DEPLOYMENT_ENVIRONMENT_NAME: "prod"}


def make_spans(
    calls: Sequence[Mapping[str, Any]],
    resource: Mapping[str, Any] = RESOURCE,
    *,
    error: bool = False,
    start_times: Sequence[int] | None = None,
    kind: SpanKind = SpanKind.CLIENT,
) -> list[ReadableSpan]:
    """One finished span (CLIENT unless ``kind``) per attribute mapping, named as the span contract says.

    ``start_times`` (ns since the epoch) place the spans in time; each lasts 1.5 s then.
    """
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(dict(resource)))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("otel_llmcost.tests", "1.0")
    for i, attributes in enumerate(calls):
        name = f"{attributes.get(sc.GEN_AI_OPERATION_NAME, 'chat')} {attributes.get(sc.GEN_AI_REQUEST_MODEL, '')}"
        start = start_times[i] if start_times else None
        span = tracer.start_span(name, kind=kind, attributes=dict(attributes), start_time=start)
        if error:
            span.set_status(Status(StatusCode.ERROR, "boom"))
        span.end(end_time=start + 1_500_000_000 if start else None)
    provider.shutdown()
    return list(memory.get_finished_spans())


def payload(calls: Sequence[Mapping[str, Any]], **options: Any) -> bytes:
    return encode(make_spans(calls, **options))


def local_call(model: str, cost: Decimal, *, input_tokens: int, output_tokens: int, **extra: Any) -> dict[str, Any]:
    """An LLM call span as otel-llmcost writes it: priced in-process."""
    return {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_OPENAI,
        sc.GEN_AI_REQUEST_MODEL: model,
        sc.GEN_AI_RESPONSE_MODEL: model,
        sc.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
        sc.GEN_AI_USAGE_COST_AMOUNT: float(cost),
        sc.GEN_AI_USAGE_COST_CURRENCY: sc.COST_CURRENCY_USD,
        sc.GEN_AI_USAGE_COST_SOURCE: sc.COST_SOURCE_LOCAL,
        **extra,
    }


def rows(client: Any, sql: str, **parameters: Any) -> list[dict[str, Any]]:
    return list(client.query(sql, parameters=parameters).named_results())

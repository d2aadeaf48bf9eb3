"""Spans sent the way real clients send them end up in otel_traces and llm_calls, with their tokens and cost."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

from collector_harness import export_request, llm_span, query, request_of
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from otel_llmcost import semconv as sc
from otel_llmcost.store import spool


def _send_llm_spans(exporter, service: str, calls: list[tuple[int, int, float]]) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for input_tokens, output_tokens, cost in calls:
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attributes(
                {
                    sc.GEN_AI_OPERATION_NAME: "chat",
                    sc.GEN_AI_PROVIDER_NAME: "openai",
                    sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                    sc.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
                    sc.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
                    sc.GEN_AI_USAGE_COST_AMOUNT: cost,
                    sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
                    sc.GEN_AI_USAGE_COST_SOURCE: "local",
                }
            )
    assert provider.force_flush()
    provider.shutdown()


def test_the_official_exporters_over_http_and_grpc(start_collector, store_url):
    collector = start_collector()
    http_calls = [(100 + i, 10 + i, 0.125) for i in range(30)]
    grpc_calls = [(1000 + i, 50, 0.25) for i in range(20)]

    _send_llm_spans(HttpExporter(endpoint=collector.traces_url, compression=Compression.Gzip), "web", http_calls)
    _send_llm_spans(GrpcExporter(endpoint=collector.grpc_endpoint, insecure=True), "worker", grpc_calls)

    assert collector.stop() == 0
    by_service = query(
        store_url,
        "SELECT ServiceName, count(), sum(InputTokens), sum(OutputTokens), sum(CostUSD) "
        "FROM otel.llm_calls GROUP BY ServiceName ORDER BY ServiceName",
    )
    assert by_service == [
        ("web", 30, sum(c[0] for c in http_calls), sum(c[1] for c in http_calls), Decimal("3.75")),
        ("worker", 20, sum(c[0] for c in grpc_calls), 20 * 50, Decimal("5")),
    ]
    assert query(store_url, "SELECT count(), uniqExact(SpanId) FROM otel.otel_traces") == [(50, 50)]


def test_otlp_json_and_gzip_posted_raw(start_collector, store_url):
    collector = start_collector()
    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    document = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-app"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "manual"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "name": "chat claude-sonnet-4",
                                "kind": 3,
                                "startTimeUnixNano": "1767225600000000000",
                                "endTimeUnixNano": "1767225601500000000",
                                "attributes": [
                                    {"key": sc.GEN_AI_REQUEST_MODEL, "value": {"stringValue": "claude-sonnet-4"}},
                                    {"key": sc.GEN_AI_USAGE_INPUT_TOKENS, "value": {"intValue": "1200"}},
                                    {"key": sc.GEN_AI_USAGE_OUTPUT_TOKENS, "value": {"intValue": 300}},
                                    {"key": sc.GEN_AI_USAGE_COST_AMOUNT, "value": {"doubleValue": 0.0081}},
                                ],
                                "status": {"code": 1},
                            }
                        ],
                    }
                ],
            }
        ]
    }

    plain = collector.post(json.dumps(document).encode(), "application/json")
    zipped = collector.post(
        gzip.compress(request_of(3, cost=0.5)), "application/x-protobuf", **{"Content-Encoding": "gzip"}
    )

    assert (plain.status_code, plain.headers["Content-Type"], plain.json()) == (200, "application/json", {})
    assert (zipped.status_code, zipped.headers["Content-Type"], zipped.content) == (200, "application/x-protobuf", b"")
    assert collector.stop() == 0
    assert query(
        store_url,
        "SELECT TraceId, SpanId, SpanKind, Duration, StatusCode FROM otel.otel_traces WHERE ServiceName = 'json-app'",
    ) == [(trace_id, span_id, "Client", 1_500_000_000, "Ok")]
    assert query(
        store_url, "SELECT ServiceName, InputTokens, OutputTokens, CostUSD FROM otel.llm_calls ORDER BY ServiceName"
    ) == [("checkout", 100, 20, Decimal("0.5"))] * 3 + [("json-app", 1200, 300, Decimal("0.0081"))]


def test_spooled_batches_of_instrumented_apps_land_too(start_collector, store_url, tmp_path):
    collector = start_collector()
    spool_dir = tmp_path / "store" / "spool"  # the spool of the collector's store, beside its data directory
    # another store's: the default embedded store of the data dir start_collector gives the collector
    other_spool = tmp_path / "data" / "spool"

    spool.write_batch(
        export_request([llm_span(input_tokens=7, output_tokens=3, cost=0.5)]).SerializeToString(), spool_dir
    )
    other = spool.write_batch(
        export_request([llm_span(input_tokens=1, output_tokens=1, cost=0.1)]).SerializeToString(), other_spool
    )

    collector.wait_for(lambda health: not spool.pending(spool_dir), "the spool drained")
    assert collector.stop() == 0
    assert query(store_url, "SELECT InputTokens, OutputTokens, CostUSD FROM otel.llm_calls") == [(7, 3, Decimal("0.5"))]
    assert spool.pending(other_spool) == [other]

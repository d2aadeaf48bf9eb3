"""OTLP → otel_traces rows exactly as the Collector's clickhouseexporter writes them."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from store_helpers import payload, rows

from otel_llmcost.store.errors import BadPayload
from otel_llmcost.store.exporter import encode
from otel_llmcost.store.ingest import attribute_string, insert_otlp, rows_from_otlp


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        (AnyValue(string_value="plain <text>"), "plain <text>"),
        (AnyValue(int_value=-42), "-42"),
        (AnyValue(bool_value=True), "true"),
        (AnyValue(double_value=0.1), "0.1"),
        (AnyValue(double_value=3.0), "3"),
        (AnyValue(double_value=-0.0), "-0"),
        (AnyValue(double_value=0.00001), "0.00001"),  # Go's JSON number format: no exponent down to 1e-6
        (AnyValue(double_value=1.5e-7), "1.5e-7"),
        (AnyValue(double_value=1e20), "100000000000000000000"),
        (AnyValue(double_value=1.5e21), "1.5e+21"),
        (AnyValue(double_value=123456.789), "123456.789"),
        (AnyValue(bytes_value=b"\x00\xffid"), "AP9pZA=="),
        (AnyValue(), ""),
        (
            AnyValue(array_value=ArrayValue(values=[AnyValue(string_value='a<b>&"c"\n'), AnyValue(double_value=2.0)])),
            '["a\\u003cb\\u003e\\u0026\\"c\\"\\n",2]',
        ),
        (
            AnyValue(
                kvlist_value=KeyValueList(
                    values=[
                        KeyValue(key="z", value=AnyValue(int_value=1)),
                        KeyValue(key="a", value=AnyValue(array_value=ArrayValue(values=[AnyValue(bool_value=False)]))),
                        KeyValue(key="é", value=AnyValue(string_value="ü")),
                    ]
                )
            ),
            '{"a":[false],"z":1,"é":"ü"}',
        ),
    ],
)
def test_attribute_values_render_like_pdata_as_string(value, rendered):
    assert attribute_string(value) == rendered


def test_span_fields_follow_the_exporter():
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "billing", "host.cpus": 8}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("scope.name", "2.1")
    with tracer.start_as_current_span("root", kind=SpanKind.SERVER) as root:
        root.set_status(Status(StatusCode.OK))
    link = Link(root.get_span_context(), {"why": "retry"})
    parent = tracer.start_span("parent")
    with tracer.start_as_current_span("child", context=_context_of(parent), links=[link]) as child:
        child.add_event("first token", {"n": 1}, timestamp=child.start_time + 5)
        child.set_status(Status(StatusCode.ERROR, "rate limited"))
        child.set_attribute("ratio", 0.25)
    parent.end()
    spans = {span.name: span for span in memory.get_finished_spans()}

    columns = rows_from_otlp(encode(list(spans.values())))

    at = {name: i for i, name in enumerate(columns["SpanName"])}
    child_span, i = spans["child"], at["child"]
    assert columns["TraceId"][i] == f"{child_span.context.trace_id:032x}"
    assert columns["SpanId"][i] == f"{child_span.context.span_id:016x}"
    assert columns["ParentSpanId"][i] == f"{spans['parent'].context.span_id:016x}"
    assert columns["ParentSpanId"][at["root"]] == ""
    assert columns["SpanKind"][i] == "Internal" and columns["SpanKind"][at["root"]] == "Server"
    assert (columns["StatusCode"][i], columns["StatusMessage"][i]) == ("Error", "rate limited")
    assert (columns["StatusCode"][at["root"]], columns["StatusCode"][at["parent"]]) == ("Ok", "Unset")
    assert columns["Timestamp"][i] == child_span.start_time
    assert columns["Duration"][i] == child_span.end_time - child_span.start_time
    assert (columns["ServiceName"][i], columns["ResourceAttributes"][i]["host.cpus"]) == ("billing", "8")
    assert (columns["ScopeName"][i], columns["ScopeVersion"][i]) == ("scope.name", "2.1")
    assert columns["SpanAttributes"][i] == {"ratio": "0.25"}
    assert columns["Events.Timestamp"][i] == [child_span.start_time + 5]
    assert (columns["Events.Name"][i], columns["Events.Attributes"][i]) == (["first token"], [{"n": "1"}])
    assert columns["Links.SpanId"][i] == [f"{spans['root'].context.span_id:016x}"]
    assert columns["Links.Attributes"][i] == [{"why": "retry"}]


def _context_of(span):
    from opentelemetry.trace import set_span_in_context

    return set_span_in_context(span)


def test_rows_land_in_otel_traces_unchanged(store):
    spans = payload([{"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 3, "flag": False}])
    columns = rows_from_otlp(spans)

    insert_otlp(store, spans, dedup_token="t")

    [row] = rows(
        store,
        "SELECT SpanId, SpanKind, SpanAttributes, Duration, toUnixTimestamp64Nano(Timestamp) AS ns FROM otel_traces",
    )
    assert row == {
        "SpanId": columns["SpanId"][0],
        "SpanKind": "Client",
        "SpanAttributes": {"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": "3", "flag": "false"},
        "Duration": columns["Duration"][0],
        "ns": columns["Timestamp"][0],
    }


@pytest.mark.parametrize(
    "garbage",
    [b"\xff\xff\xff\xff", b'{"resourceSpans": []}', b"hello, world", "not bytes"],
    ids=["bad-wire", "otlp-json", "text", "str"],
)
def test_bad_payloads_say_what_they_are_not(garbage):
    with pytest.raises(BadPayload, match="not a serialized OTLP ExportTraceServiceRequest|must be bytes"):
        rows_from_otlp(garbage)


def test_a_truncated_batch_is_a_bad_payload():
    whole = payload([{"gen_ai.usage.input_tokens": 1, "text": "x" * 200}])
    with pytest.raises(BadPayload):
        rows_from_otlp(whole[:-50])
    assert ExportTraceServiceRequest.FromString(whole).resource_spans


def test_an_empty_request_inserts_nothing(store):
    assert insert_otlp(store, b"", dedup_token="empty") == 0
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 0}]

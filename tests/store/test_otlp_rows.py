"""OTLP → otel_traces rows exactly as the Collector's clickhouseexporter writes them."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1 import trace_pb2
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
        (AnyValue(double_value=0.0001), "0.0001"),
        (AnyValue(double_value=-2.5e-5), "-0.000025"),  # repr says 2.5e-05; Go writes it out down to 1e-6
        (AnyValue(double_value=1e-6), "0.000001"),
        (AnyValue(double_value=1e16), "10000000000000000"),  # repr says 1e+16; Go writes it out up to 1e21
        (AnyValue(double_value=1.2345e17), "123450000000000000"),
        (AnyValue(double_value=float("nan")), "json: unsupported value: NaN"),
        (AnyValue(double_value=float("-inf")), "json: unsupported value: -Inf"),
        (AnyValue(string_value=""), ""),  # set, but empty
        (AnyValue(int_value=0), "0"),
        (AnyValue(bool_value=False), "false"),
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
    assert columns["Events.Timestamp"][i] == (child_span.start_time + 5,)
    assert (columns["Events.Name"][i], columns["Events.Attributes"][i]) == (("first token",), ({"n": "1"},))
    assert columns["Links.SpanId"][i] == (f"{spans['root'].context.span_id:016x}",)
    assert columns["Links.Attributes"][i] == ({"why": "retry"},)


def test_a_hand_built_request_renders_every_field_like_pdata():
    span = trace_pb2.Span(
        trace_id=bytes(16),  # all zero: written as ''
        span_id=bytes.fromhex("00000000000000ff"),
        kind=99,  # unknown to pdata: ''
        start_time_unix_nano=2_000,
        end_time_unix_nano=1_000,  # ends before it starts: duration 0
        attributes=[
            KeyValue(key="empty", value=AnyValue(string_value="")),
            KeyValue(key="zero", value=AnyValue(int_value=0)),
            KeyValue(key="no", value=AnyValue(bool_value=False)),
            KeyValue(key="small", value=AnyValue(double_value=7.68e-05)),
            KeyValue(key="unset", value=AnyValue()),
            KeyValue(key="dup", value=AnyValue(int_value=1)),
            KeyValue(key="dup", value=AnyValue(int_value=2)),  # the last one wins, as in a Go map
            KeyValue(
                key="reasons",
                value=AnyValue(
                    array_value=ArrayValue(values=[AnyValue(string_value="stop"), AnyValue(string_value="")])
                ),
            ),
        ],
        status=trace_pb2.Status(code=-1, message="?"),
    )
    span.events.add(time_unix_nano=1_500, name="e", attributes=[KeyValue(key="n", value=AnyValue(int_value=-7))])
    span.links.add(trace_id=bytes(16), span_id=bytes.fromhex("0102030405060708"))
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name", value=AnyValue(string_value="svc"))
    resource_spans.scope_spans.add()  # a scope without spans adds no row
    resource_spans.scope_spans.add(spans=[span])

    columns = rows_from_otlp(request.SerializeToString())

    assert columns == {
        "Timestamp": [2_000],
        "TraceId": [""],
        "SpanId": ["00000000000000ff"],
        "ParentSpanId": [""],
        "TraceState": [""],
        "SpanName": [""],
        "SpanKind": [""],
        "ServiceName": ["svc"],
        "ResourceAttributes": [{"service.name": "svc"}],
        "ScopeName": [""],
        "ScopeVersion": [""],
        "SpanAttributes": [
            {
                "empty": "",
                "zero": "0",
                "no": "false",
                "small": "0.0000768",
                "unset": "",
                "dup": "2",
                "reasons": '["stop",""]',
            }
        ],
        "Duration": [0],
        "StatusCode": [""],
        "StatusMessage": ["?"],
        "Events.Timestamp": [(1_500,)],
        "Events.Name": [("e",)],
        "Events.Attributes": [({"n": "-7"},)],
        "Links.TraceId": [("",)],
        "Links.SpanId": [("0102030405060708",)],
        "Links.TraceState": [("",)],
        "Links.Attributes": [({},)],
    }


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


def test_events_and_links_land_in_their_nested_columns(store):
    span = trace_pb2.Span(span_id=b"\x01" * 8, trace_id=b"\x02" * 16, start_time_unix_nano=10**18)
    span.events.add(
        time_unix_nano=10**18 + 5, name="gen_ai.choice", attributes=[KeyValue(key="index", value=AnyValue(int_value=0))]
    )
    span.links.add(trace_id=b"\x03" * 16, span_id=b"\x04" * 8, trace_state="k=v")
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add(spans=[span, trace_pb2.Span(span_id=b"\x05" * 8)])

    assert insert_otlp(store, request.SerializeToString(), dedup_token="nested") == 2

    assert rows(
        store,
        "SELECT SpanId, arrayMap(t -> toUnixTimestamp64Nano(t), Events.Timestamp) AS times, Events.Name AS names, "
        "Events.Attributes AS attributes, Links.TraceId AS link_traces, Links.SpanId AS link_spans, "
        "Links.TraceState AS states, Links.Attributes AS link_attributes FROM otel_traces ORDER BY SpanId",
    ) == [
        {
            "SpanId": "0101010101010101",
            "times": [10**18 + 5],
            "names": ["gen_ai.choice"],
            "attributes": [{"index": "0"}],
            "link_traces": ["03" * 16],
            "link_spans": ["04" * 8],
            "states": ["k=v"],
            "link_attributes": [{}],
        },
        {
            "SpanId": "0505050505050505",
            "times": [],
            "names": [],
            "attributes": [],
            "link_traces": [],
            "link_spans": [],
            "states": [],
            "link_attributes": [],
        },
    ]


def test_native_rows_of_requests_joined_land_as_insert_otlp_writes_them(store):
    from otel_llmcost.store.ingest import concat_rows, insert_native, insert_types, native_rows

    first = payload([{"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 3, "flag": False}])
    span = trace_pb2.Span(trace_id=bytes(range(16)), span_id=bytes(range(8)), name="s", start_time_unix_nano=5)
    span.events.add(time_unix_nano=7, name="e", attributes=[KeyValue(key="n", value=AnyValue(int_value=-7))])
    span.links.add(trace_id=bytes(16), span_id=bytes.fromhex("0102030405060708"))
    second = ExportTraceServiceRequest()
    second.resource_spans.add(scope_spans=[trace_pb2.ScopeSpans(spans=[span])])
    second = second.SerializeToString()
    dump = "SELECT * FROM otel_traces ORDER BY SpanId FORMAT TSVWithNamesAndTypes"

    insert_otlp(store, first + second, dedup_token="joined")
    expected = store.raw_query(dump)
    store.command("TRUNCATE TABLE otel_traces")
    rows_ = native_rows(store, concat_rows([rows_from_otlp(first), rows_from_otlp(second)]), insert_types(store))
    assert insert_native(store, rows_, dedup_token="encoded") == 2

    assert store.raw_query(dump) == expected

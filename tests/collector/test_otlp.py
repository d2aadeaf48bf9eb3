"""OTLP request decoding: OTLP/JSON's hex ids and enums, and errors that name the problem."""

from __future__ import annotations

import json

import pytest
from google.rpc import status_pb2

from otel_llmcost.collector.otlp import JSON, PROTOBUF, BadRequest, decode, parse_protobuf, status_body

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def _json_request(span: dict) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


def test_json_ids_are_hex_and_become_the_same_bytes():
    body = _json_request(
        {
            "traceId": TRACE_ID,
            "spanId": SPAN_ID,
            "parentSpanId": "",
            "name": "chat gpt-4o",
            "kind": 3,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": 1700000001000000000,
            "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}}],
            "links": [{"traceId": TRACE_ID, "spanId": SPAN_ID}],
            "status": {"code": 2},
            "someFutureField": True,
        }
    )

    payload, spans = decode(body, JSON)

    span = parse_protobuf(payload).resource_spans[0].scope_spans[0].spans[0]
    assert spans == 1
    assert span.trace_id.hex() == TRACE_ID
    assert span.span_id.hex() == SPAN_ID
    assert span.parent_span_id == b""
    assert span.links[0].span_id.hex() == SPAN_ID
    assert span.kind == 3
    assert span.status.code == 2
    assert span.start_time_unix_nano == 1700000000000000000
    assert span.attributes[0].value.int_value == 12


def test_proto_field_names_are_accepted_too():
    body = json.dumps({"resource_spans": [{"scope_spans": [{"spans": [{"trace_id": TRACE_ID, "span_id": SPAN_ID}]}]}]})

    payload, _ = decode(body.encode(), JSON)

    assert parse_protobuf(payload).resource_spans[0].scope_spans[0].spans[0].trace_id.hex() == TRACE_ID


def test_protobuf_bodies_are_queued_unchanged():
    payload, _ = decode(_json_request({"traceId": TRACE_ID, "spanId": SPAN_ID}), JSON)

    assert decode(payload, PROTOBUF) == (payload, 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"resourceSpans": {"a": 1}}', "resourceSpans must be a list of objects"),
        (_json_request({"traceId": "abc"}), "spans[0].traceId must be 32 hex characters, got 'abc'"),
        (_json_request({"spanId": TRACE_ID}), "spans[0].spanId must be 16 hex characters"),
        (_json_request({"name": 5}), "not an OTLP/JSON ExportTraceServiceRequest"),
    ],
)
def test_bad_json_is_refused_with_the_reason(body, message):
    with pytest.raises(BadRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode(body, JSON)


def test_bad_protobuf_is_refused_with_a_hint():
    with pytest.raises(BadRequest, match="not a protobuf ExportTraceServiceRequest.*application/json"):
        decode(b"\xff\xff\xff", PROTOBUF)


def test_error_bodies_are_google_rpc_status_in_the_request_encoding():
    assert json.loads(status_body(JSON, 3, "bad")) == {"code": 3, "message": "bad"}
    assert status_pb2.Status.FromString(status_body(PROTOBUF, 8, "full")) == status_pb2.Status(code=8, message="full")

"""OTLP trace requests on the wire: decoding both encodings, and the bodies we answer with.

Everything queued is protobuf: a JSON request is converted here, before it is acknowledged,
so the queue and the store only ever see serialized ``ExportTraceServiceRequest`` bytes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

# OTLP/JSON writes these ids as hex, where the proto3 JSON mapping expects base64: (field, byte length).
_SPAN_IDS = (("traceId", 16), ("spanId", 8), ("parentSpanId", 8))
_LINK_IDS = (("traceId", 16), ("spanId", 8))


class BadRequest(ValueError):
    """The request body is not a valid OTLP trace export; the message says what is wrong."""


def decode(body: bytes, content_type: str) -> tuple[bytes, int]:
    """A request body as (serialized ExportTraceServiceRequest, number of spans)."""
    if content_type == JSON:
        request = parse_json(body)
        return request.SerializeToString(), count_spans(request)
    request = parse_protobuf(body)
    # The client's bytes are queued as they came: re-serializing would only cost time.
    return body, count_spans(request)


def parse_protobuf(body: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BadRequest(
            f"body is not a protobuf ExportTraceServiceRequest ({exc}); "
            "send Content-Type: application/json for OTLP/JSON"
        ) from None
    return request


def parse_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise BadRequest('body must be a JSON object like {"resourceSpans": [...]}')
    _hex_ids_to_base64(document)
    try:
        # The OTLP spec has receivers ignore fields they do not know.
        return json_format.ParseDict(document, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise BadRequest(f"body is not an OTLP/JSON ExportTraceServiceRequest ({exc})") from None


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    for resource_index, resource_spans in enumerate(_objects(document, "resourceSpans", "resource_spans")):
        for scope_index, scope_spans in enumerate(_objects(resource_spans, "scopeSpans", "scope_spans")):
            for span_index, span in enumerate(_objects(scope_spans, "spans")):
                where = f"resourceSpans[{resource_index}].scopeSpans[{scope_index}].spans[{span_index}]"
                _convert_ids(span, _SPAN_IDS, where)
                for link_index, link in enumerate(_objects(span, "links")):
                    _convert_ids(link, _LINK_IDS, f"{where}.links[{link_index}]")


def _objects(parent: dict[str, Any], *keys: str) -> list[dict[str, Any]]:
    """The list of objects under the first key present (camelCase or the proto field name)."""
    for key in keys:
        value = parent.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise BadRequest(f"{key} must be a list of objects")
        return value
    return []


def _convert_ids(node: dict[str, Any], fields: tuple[tuple[str, int], ...], where: str) -> None:
    for camel, size in fields:
        key = camel if camel in node else _snake(camel)
        value = node.get(key)
        if value is None or value == "":
            continue
        try:
            raw = bytes.fromhex(value) if isinstance(value, str) else None
        except ValueError:
            raw = None
        if raw is None or len(raw) != size:
            raise BadRequest(f"{where}.{camel} must be {size * 2} hex characters, got {value!r}")
        node[key] = base64.b64encode(raw).decode("ascii")


def _snake(camel: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in camel)


def count_spans(request: ExportTraceServiceRequest) -> int:
    return sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)


def success_body(content_type: str) -> bytes:
    """An ExportTraceServiceResponse with nothing rejected, in the request's encoding."""
    if content_type == JSON:
        return b"{}"
    return ExportTraceServiceResponse().SerializeToString()


def status_body(content_type: str, grpc_code: int, message: str) -> bytes:
    """The google.rpc.Status body OTLP/HTTP answers every 4xx/5xx with, in the request's encoding."""
    status = status_pb2.Status(code=grpc_code, message=message)
    if content_type == PROTOBUF:
        return status.SerializeToString()
    return json_format.MessageToJson(status, indent=None).encode()

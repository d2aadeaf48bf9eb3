"""OTLP trace requests → ``otel_traces`` rows, written the way the Collector's clickhouseexporter writes them.

The same rows come from every path into the store (spool, collector, direct exporter) and
from an otelcol-contrib ``clickhouse`` exporter, so the views downstream see one shape:
ids as lowercase hex ('' when all zero), ``Timestamp`` the start time, ``Duration`` in ns,
``SpanKind`` / ``StatusCode`` as pdata names (``Client``, ``Ok``), and every attribute
value as a string the way pdata's ``Value.AsString`` renders it (see ``attribute_string``).
"""

from __future__ import annotations

import base64
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from otel_llmcost import semconv as sc
from otel_llmcost.store.connection import store_database
from otel_llmcost.store.errors import BadPayload

if TYPE_CHECKING:
    from collections.abc import Iterable

    from clickhouse_connect.driver.client import Client

TRACES_TABLE = "otel_traces"
COLUMNS = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
)
# pdata's SpanKind.String() and StatusCode.String(), indexed by the OTLP enum value.
SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")
# What a retried insert needs to be dropped as a duplicate, in the table and in every view it feeds.
DEDUP_SETTINGS = {"insert_deduplicate": 1, "deduplicate_blocks_in_dependent_materialized_views": 1}


def parse_request(payload: bytes) -> ExportTraceServiceRequest:
    """The request in ``payload``, or BadPayload saying why it is not one."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise BadPayload(f"An OTLP payload must be bytes, got {type(payload).__name__}.")
    try:
        request = ExportTraceServiceRequest.FromString(bytes(payload))
    except (DecodeError, ValueError) as exc:
        raise _not_otlp(len(payload), str(exc)) from None
    if payload and not request.ListFields():
        # protobuf skips fields it does not know, so random bytes can parse as an empty request
        raise _not_otlp(len(payload), "no field of an ExportTraceServiceRequest in it")
    return request


def _not_otlp(size: int, why: str) -> BadPayload:
    return BadPayload(
        f"{size} bytes that are not a serialized OTLP ExportTraceServiceRequest (protobuf): {why}. "
        "OTLP/JSON must be converted to protobuf first."
    )


def rows_from_otlp(payload: bytes) -> dict[str, list[Any]]:
    """Column name -> values, one per span, for ``otel_traces``."""
    return rows_from_request(parse_request(payload))


def rows_from_request(request: ExportTraceServiceRequest) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    append = [columns[name].append for name in COLUMNS]
    for resource_spans in request.resource_spans:
        resource = attribute_map(resource_spans.resource.attributes)
        service = resource.get(sc.SERVICE_NAME, "")
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                row = (
                    span.start_time_unix_nano,
                    _hex(span.trace_id),
                    _hex(span.span_id),
                    _hex(span.parent_span_id),
                    span.trace_state,
                    span.name,
                    _enum_name(SPAN_KINDS, span.kind),
                    service,
                    resource,
                    scope.name,
                    scope.version,
                    attribute_map(span.attributes),
                    max(span.end_time_unix_nano - span.start_time_unix_nano, 0),
                    _enum_name(STATUS_CODES, span.status.code),
                    span.status.message,
                    [event.time_unix_nano for event in span.events],
                    [event.name for event in span.events],
                    [attribute_map(event.attributes) for event in span.events],
                    [_hex(link.trace_id) for link in span.links],
                    [_hex(link.span_id) for link in span.links],
                    [link.trace_state for link in span.links],
                    [attribute_map(link.attributes) for link in span.links],
                )
                for add, value in zip(append, row, strict=True):
                    add(value)
    return columns


def insert_otlp(client: Client, payload: bytes, *, dedup_token: str) -> int:
    """Insert the spans of ``payload``; returns how many. A retry with the same ``dedup_token``
    is dropped by ClickHouse (in ``otel_traces`` and every view it feeds), so retrying is safe."""
    if not dedup_token:
        raise ValueError("insert_otlp needs a dedup_token: the same token on a retry is what makes it idempotent")
    columns = rows_from_otlp(payload)
    spans = len(columns["Timestamp"])
    if spans:
        client.insert(
            f"{store_database(client)}.{TRACES_TABLE}",
            [columns[name] for name in COLUMNS],
            column_names=list(COLUMNS),
            column_oriented=True,
            settings={**DEDUP_SETTINGS, "insert_deduplication_token": dedup_token},
        )
    return spans


def attribute_map(attributes: Iterable[KeyValue]) -> dict[str, str]:
    return {item.key: attribute_string(item.value) for item in attributes}


def attribute_string(value: AnyValue) -> str:
    """pdata ``Value.AsString``: strings as is, ints in decimal, bools ``true``/``false``, doubles
    like a JavaScript number, arrays and maps as JSON, bytes as base64."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind is None:
        return ""
    if kind == "array_value" or kind == "kvlist_value":
        return _json(_raw(value))
    return _scalar_string(_raw(value))


def _raw(value: AnyValue) -> Any:
    """pdata ``Value.AsRaw``: the plain Python value (None for empty)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_raw(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: _raw(item.value) for item in value.kvlist_value.values}
    return None if kind is None else getattr(value, kind)


def _scalar_string(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return float_string(raw)
    if isinstance(raw, bytes):
        return base64.b64encode(raw).decode("ascii")
    return str(raw)


def float_string(number: float) -> str:
    """Go's encoding/json float format (ES6 number to string), which pdata uses for doubles."""
    if math.isinf(number) or math.isnan(number):
        go_name = "NaN" if math.isnan(number) else ("+Inf" if number > 0 else "-Inf")
        return f"json: unsupported value: {go_name}"
    magnitude = abs(number)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = repr(number).partition("e")
        power = int(exponent)
        return f"{mantissa}e{'-' if power < 0 else '+'}{abs(power) if power < 0 else f'{power:02d}'}"
    text = format(Decimal(repr(number)), "f")  # repr has the shortest round-trip digits
    return text.rstrip("0").rstrip(".") if "." in text else text


# Go's json.Marshal escapes these inside strings (HTML safety and JavaScript line separators).
_GO_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _json(raw: Any) -> str:
    """Go's json.Marshal of an AsRaw value: compact, map keys sorted, non-ASCII kept, <>& escaped."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return float_string(raw) if math.isfinite(raw) else "null"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, bytes):
        return f'"{base64.b64encode(raw).decode("ascii")}"'
    if isinstance(raw, str):
        return _json_string(raw)
    if isinstance(raw, dict):
        return "{" + ",".join(f"{_json_string(key)}:{_json(raw[key])}" for key in sorted(raw)) + "}"
    return "[" + ",".join(_json(item) for item in raw) + "]"


def _json_string(text: str) -> str:
    return '"' + "".join(_go_escape(char) for char in text) + '"'


def _go_escape(char: str) -> str:
    if char in _GO_JSON_ESCAPES:
        return _GO_JSON_ESCAPES[char]
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    return f"\\u{ord(char):04x}" if ord(char) < 0x20 else char


def _hex(identifier: bytes) -> str:
    return identifier.hex() if any(identifier) else ""


def _enum_name(names: tuple[str, ...], value: int) -> str:
    return names[value] if 0 <= value < len(names) else ""

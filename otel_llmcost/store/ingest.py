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
import re
from dataclasses import dataclass
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
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

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
    """Column name -> values, one per span, built column by column.

    This is the hot path of every ingestion (collector, spool, exporter): attribute values
    are rendered inline for the common kinds (string, int, double, bool), resource and scope
    columns are shared by all spans of their ScopeSpans, and times stay epoch-ns ints
    (clickhouse-connect writes an int into DateTime64(9) as is). The Events/Links arrays are
    tuples, ``()`` when empty: a span then adds no object the cyclic GC tracks (str-only dicts
    are untracked too), which in a process holding batches halved the conversion's time.
    """
    timestamps: list[int] = []
    trace_ids: list[str] = []
    span_ids: list[str] = []
    parent_ids: list[str] = []
    trace_states: list[str] = []
    names: list[str] = []
    kinds: list[str] = []
    services: list[str] = []
    resources: list[dict[str, str]] = []
    scope_names: list[str] = []
    scope_versions: list[str] = []
    span_attributes: list[dict[str, str]] = []
    durations: list[int] = []
    status_codes: list[str] = []
    status_messages: list[str] = []
    event_times: list[tuple[int, ...]] = []
    event_names: list[tuple[str, ...]] = []
    event_attributes: list[tuple[dict[str, str], ...]] = []
    link_trace_ids: list[tuple[str, ...]] = []
    link_span_ids: list[tuple[str, ...]] = []
    link_states: list[tuple[str, ...]] = []
    link_attributes: list[tuple[dict[str, str], ...]] = []
    zero_ids, kind_names, status_names = _ZERO_IDS, _SPAN_KIND_NAMES, _STATUS_CODE_NAMES
    for resource_spans in request.resource_spans:
        resource = attribute_map(resource_spans.resource.attributes)
        service = resource.get(sc.SERVICE_NAME, "")
        for scope_spans in resource_spans.scope_spans:
            spans = scope_spans.spans
            count = len(spans)
            if not count:
                continue
            scope = scope_spans.scope
            services += [service] * count
            resources += [resource] * count  # one dict shared by the rows of a resource, as before
            scope_names += [scope.name] * count
            scope_versions += [scope.version] * count
            for span in spans:
                start = span.start_time_unix_nano
                timestamps.append(start)
                identifier = span.trace_id
                trace_ids.append("" if identifier in zero_ids else identifier.hex())
                identifier = span.span_id
                span_ids.append("" if identifier in zero_ids else identifier.hex())
                identifier = span.parent_span_id
                parent_ids.append("" if identifier in zero_ids else identifier.hex())
                trace_states.append(span.trace_state)
                names.append(span.name)
                kinds.append(kind_names.get(span.kind, ""))
                attributes = {}
                for item in span.attributes:
                    # A non-empty string, a non-zero double or int can only be that kind of value, so
                    # the common cases need no WhichOneof; empty, zero, bool, array... go the long way.
                    value = item.value
                    text = value.string_value
                    if text:
                        attributes[item.key] = text
                        continue
                    number = value.double_value
                    if number:
                        if 1e-4 <= abs(number) < 1e16:
                            text = repr(number)
                            attributes[item.key] = text[:-2] if text[-2:] == ".0" else text
                        else:
                            attributes[item.key] = float_string(number)
                        continue
                    integer = value.int_value
                    if integer:
                        attributes[item.key] = str(integer)
                    else:
                        attributes[item.key] = _other_string(value, value.WhichOneof("value"))
                span_attributes.append(attributes)
                duration = span.end_time_unix_nano - start
                durations.append(duration if duration > 0 else 0)  # noqa: FURB136 - no call on the hot path
                status = span.status
                status_codes.append(status_names.get(status.code, ""))
                status_messages.append(status.message)
                events = span.events
                if events:
                    times, event_name, event_map = _events(events)
                    event_times.append(times)
                    event_names.append(event_name)
                    event_attributes.append(event_map)
                else:
                    event_times.append(())
                    event_names.append(())
                    event_attributes.append(())
                links = span.links
                if links:
                    link_trace, link_span, link_state, link_map = _links(links)
                    link_trace_ids.append(link_trace)
                    link_span_ids.append(link_span)
                    link_states.append(link_state)
                    link_attributes.append(link_map)
                else:
                    link_trace_ids.append(())
                    link_span_ids.append(())
                    link_states.append(())
                    link_attributes.append(())
    values = (
        timestamps, trace_ids, span_ids, parent_ids, trace_states, names, kinds, services, resources, scope_names,
        scope_versions, span_attributes, durations, status_codes, status_messages, event_times, event_names,
        event_attributes, link_trace_ids, link_span_ids, link_states, link_attributes,
    )  # fmt: skip
    return dict(zip(COLUMNS, values, strict=True))


def concat_rows(parts: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """The columns of several ``rows_from_otlp`` results, in order: the same as converting their
    payloads joined (protobuf concatenation appends the requests' ResourceSpans in order)."""
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for part in parts:
        for name, values in merged.items():
            values += part[name]
    return merged


def _events(events: Iterable[Span.Event]) -> tuple[tuple[int, ...], tuple[str, ...], tuple[dict[str, str], ...]]:
    """Events.Timestamp, Events.Name, Events.Attributes of one span, in one pass over its events."""
    times, names, maps = [], [], []
    for event in events:
        times.append(event.time_unix_nano)
        names.append(event.name)
        maps.append(attribute_map(event.attributes))
    return tuple(times), tuple(names), tuple(maps)


def _links(links: Iterable[Span.Link]) -> tuple[tuple[str, ...], ...]:
    """Links.TraceId, Links.SpanId, Links.TraceState, Links.Attributes of one span, in one pass."""
    trace_ids, span_ids, states, maps = [], [], [], []
    for link in links:
        trace_ids.append(_hex(link.trace_id))
        span_ids.append(_hex(link.span_id))
        states.append(link.trace_state)
        maps.append(attribute_map(link.attributes))
    return tuple(trace_ids), tuple(span_ids), tuple(states), tuple(maps)


def insert_otlp(client: Client, payload: bytes, *, dedup_token: str) -> int:
    """Insert the spans of ``payload``; returns how many. A retry with the same ``dedup_token``
    is dropped by ClickHouse (in ``otel_traces`` and every view it feeds), so retrying is safe."""
    if not dedup_token:
        raise ValueError("insert_otlp needs a dedup_token: the same token on a retry is what makes it idempotent")
    return insert_rows(client, rows_from_otlp(payload), dedup_token=dedup_token)


def insert_rows(client: Client, columns: dict[str, list[Any]], *, dedup_token: str) -> int:
    """Insert columns from ``rows_from_otlp`` (the second half of ``insert_otlp``); returns the span count.

    Split out so a caller can convert one batch while the previous one is inserted (chDB and
    clickhouse-connect's HTTP transport release the GIL while ClickHouse works)."""
    if not dedup_token:
        raise ValueError("insert_rows needs a dedup_token: the same token on a retry is what makes it idempotent")
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


@dataclass(frozen=True)
class NativeRows:
    """Converted rows serialized in ClickHouse's Native format, as ``client.insert`` sends them."""

    body: bytes
    spans: int


def insert_types(client: Client) -> list[Any]:
    """The clickhouse-connect types of ``COLUMNS`` in the store's ``otel_traces`` (one DESCRIBE)."""
    table = f"{store_database(client)}.{TRACES_TABLE}"
    return list(client.create_insert_context(table, column_names=list(COLUMNS)).column_types)


def native_rows(client: Client, columns: dict[str, list[Any]], column_types: list[Any]) -> NativeRows:
    """Serialize converted columns the way ``insert_rows`` does, without talking to the store (the types
    come from ``insert_types``), so it can run in one thread while another thread inserts."""
    from clickhouse_connect.driver.transform import NativeTransform

    spans = len(columns["Timestamp"])
    if not spans:
        return NativeRows(b"", 0)
    context = client.create_insert_context(
        f"{store_database(client)}.{TRACES_TABLE}",
        column_names=list(COLUMNS),
        column_types=column_types,
        column_oriented=True,
        data=[columns[name] for name in COLUMNS],
    )
    chunks = list(NativeTransform.build_insert(context))
    if context.insert_exception is not None:
        raise context.insert_exception
    # The first chunk starts with the INSERT statement an HTTP body carries; raw_insert sends its own.
    statement = chunks[0].index(b"\n") + 1
    if not chunks[0].startswith(b"INSERT INTO "):
        raise ValueError("unexpected Native insert body from clickhouse-connect")
    chunks[0] = chunks[0][statement:]
    return NativeRows(b"".join(chunks), spans)


def insert_native(client: Client, rows: NativeRows, *, dedup_token: str) -> int:
    """Insert ``native_rows`` output under ``dedup_token`` (the same settings as ``insert_rows``)."""
    if not dedup_token:
        raise ValueError("insert_native needs a dedup_token: the same token on a retry is what makes it idempotent")
    if rows.spans:
        client.raw_insert(
            f"{store_database(client)}.{TRACES_TABLE}",
            list(COLUMNS),
            insert_block=rows.body,
            settings={**DEDUP_SETTINGS, "insert_deduplication_token": dedup_token},
            fmt="Native",
        )
    return rows.spans


def attribute_map(attributes: Iterable[KeyValue]) -> dict[str, str]:
    result = {}
    for item in attributes:
        value = item.value
        text = value.string_value
        result[item.key] = text if text else _other_string(value, value.WhichOneof("value"))
    return result


def attribute_string(value: AnyValue) -> str:
    """pdata ``Value.AsString``: strings as is, ints in decimal, bools ``true``/``false``, doubles
    like a JavaScript number, arrays and maps as JSON, bytes as base64."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return str(value.int_value)
    return _other_string(value, kind)


def _other_string(value: AnyValue, kind: str | None) -> str:
    """``attribute_string`` of a value that is not a non-empty string, given its kind."""
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return float_string(value.double_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind is None or kind == "string_value":  # unset, or the empty string
        return ""
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if kind == "array_value":
        return _array_string(value)
    return _json(_raw(value))  # kvlist_value


def _array_string(value: AnyValue) -> str:
    """JSON of an array value; an array of plain non-empty strings (finish reasons, tool names) in one piece."""
    texts = []
    for item in value.array_value.values:
        text = item.string_value
        if not text:
            return _json(_raw(value))
        texts.append(text)
    joined = '","'.join(texts)
    if not texts or _NEEDS_ESCAPE.search(joined) is not None:
        return _json(_raw(value))
    return '["' + joined + '"]'


def _raw(value: AnyValue) -> Any:
    """pdata ``Value.AsRaw``: the plain Python value (None for empty)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_raw(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: _raw(item.value) for item in value.kvlist_value.values}
    return None if kind is None else getattr(value, kind)


def float_string(number: float) -> str:
    """Go's encoding/json float format (ES6 number to string), which pdata uses for doubles:
    the shortest round-trip digits, positional for 1e-6 <= |x| < 1e21, else an exponent like ``1.5e-7``."""
    text = repr(number)  # the same shortest round-trip digits as Go's strconv
    magnitude = abs(number)
    if 1e-4 <= magnitude < 1e16:  # where repr has no exponent either: "0.00123", "3.0"
        return text[:-2] if text[-2:] == ".0" else text
    if 1e-6 <= magnitude < 1e-4:  # repr "-7.68e-05" (no trailing zeros) -> "-0.0000768"
        mantissa, _, exponent = text.partition("e")
        sign = "-" if number < 0 else ""
        return f"{sign}0.{'0' * (-int(exponent) - 1)}{mantissa.lstrip('-').replace('.', '')}"
    if magnitude == 0:
        return text[:-2]  # "0", "-0"
    if math.isnan(number) or math.isinf(number):
        go_name = "NaN" if math.isnan(number) else ("+Inf" if number > 0 else "-Inf")
        return f"json: unsupported value: {go_name}"
    mantissa, _, exponent = text.partition("e")
    power = int(exponent)
    if magnitude < 1e-6 or magnitude >= 1e21:  # Go writes e-7 (no zero padding), e+21
        return f"{mantissa}e{'-' if power < 0 else '+'}{abs(power) if power < 0 else f'{power:02d}'}"
    # repr's exponent form of a number Go writes positionally: move the point
    sign = "-" if mantissa[0] == "-" else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    if power < 0:
        return f"{sign}0.{'0' * (-power - 1)}{digits}"
    point = power + 1
    if len(digits) <= point:
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


# Go's json.Marshal escapes these inside strings (HTML safety and JavaScript line separators).
_GO_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\<>&\u2028\u2029]')


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
    if _NEEDS_ESCAPE.search(text) is None:
        return f'"{text}"'
    return '"' + "".join(_go_escape(char) for char in text) + '"'


def _go_escape(char: str) -> str:
    if char in _GO_JSON_ESCAPES:
        return _GO_JSON_ESCAPES[char]
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    return f"\\u{ord(char):04x}" if ord(char) < 0x20 else char


def _hex(identifier: bytes) -> str:
    return "" if identifier in _ZERO_IDS else identifier.hex()


# All-zero ids are written as '' (pdata's TraceID/SpanID IsEmpty). OTLP's are 16 and 8 bytes (pdata refuses
# other lengths); a set lookup is cheaper than scanning the bytes.
_ZERO_IDS = frozenset(bytes(size) for size in range(65))
# pdata's SpanKind.String() and StatusCode.String(); '' for a value it does not know.
_SPAN_KIND_NAMES = dict(enumerate(SPAN_KINDS))
_STATUS_CODE_NAMES = dict(enumerate(STATUS_CODES))

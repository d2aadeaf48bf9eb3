"""Bad requests get the OTLP status with a message naming the problem, and nothing else is affected."""

from __future__ import annotations

import gzip

import grpc
import pytest
from collector_harness import CollectorProcess, query, request_of
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MIB = 2**20


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """One collector (token, 1 MiB limit) takes every bad request, then good ones."""
    root = tmp_path_factory.mktemp("refusals")
    store_url = f"chdb://{root / 'store'}"
    collector = CollectorProcess(
        store_url=store_url,
        queue_dir=root / "queue",
        log_path=root / "collector.log",
        args=("--token", TOKEN, "--max-request-mb", "1"),
    ).start()
    yield collector, store_url
    if collector.process.poll() is None:
        collector.kill()


def _status(response) -> status_pb2.Status:
    if response.headers["Content-Type"] == "application/x-protobuf":
        return status_pb2.Status.FromString(response.content)
    body = response.json()
    return status_pb2.Status(code=body["code"], message=body["message"])


@pytest.mark.parametrize(
    ("headers", "body", "content_type", "status", "message"),
    [
        ({}, request_of(1), "application/x-protobuf", 401, "Authorization: Bearer"),
        ({"Authorization": "Bearer wrong"}, request_of(1), "application/x-protobuf", 401, "wrong bearer token"),
        (AUTH, b"\xff\xff\xff", "application/x-protobuf", 400, "not a protobuf ExportTraceServiceRequest"),
        (
            AUTH,
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "xyz"}]}]}]}',
            "application/json",
            400,
            "spans[0].spanId must be 16 hex characters",
        ),
        (AUTH, b"{oops", "application/json", 400, "not valid JSON"),
        (AUTH, request_of(1), "text/plain", 415, "Content-Type must be application/x-protobuf or application/json"),
        ({**AUTH, "Content-Encoding": "br"}, request_of(1), "application/x-protobuf", 415, "use gzip"),
        (
            {**AUTH, "Content-Encoding": "gzip"},
            gzip.compress(request_of(5))[:-12],
            "application/x-protobuf",
            400,
            "gzip body is truncated",
        ),
        ({**AUTH, "Content-Encoding": "gzip"}, b"not gzip", "application/x-protobuf", 400, "not valid gzip"),
        (AUTH, b"\x00" * (MIB + 1), "application/x-protobuf", 413, "exceeds the 1048576 byte limit"),
        # A small body that inflates past the limit: refused while decompressing, not after.
        (
            {**AUTH, "Content-Encoding": "gzip"},
            gzip.compress(b"\x00" * 4 * MIB),
            "application/json",
            413,
            "after decompression",
        ),
    ],
)
def test_http_refusals(refusals, headers, body, content_type, status, message):
    collector, _ = refusals

    response = collector.post(body, content_type, **headers)

    assert response.status_code == status
    assert message in _status(response).message


def test_unauthenticated_grpc(refusals):
    collector, _ = refusals
    stub = TraceServiceStub(grpc.insecure_channel(collector.grpc_endpoint))
    request = ExportTraceServiceRequest.FromString(request_of(1))

    with pytest.raises(grpc.RpcError) as refused:
        stub.Export(request, metadata=(("authorization", "Bearer nope"),), timeout=30)

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "Authorization: Bearer" in refused.value.details()


def test_good_requests_are_unaffected_by_the_bad_ones(refusals):
    """Runs last in this module: the refusals stored nothing, the good requests all landed."""
    collector, store_url = refusals
    stub = TraceServiceStub(grpc.insecure_channel(collector.grpc_endpoint))

    assert collector.post(request_of(1)).status_code == 401
    assert collector.post(request_of(4), **AUTH).status_code == 200
    stub.Export(ExportTraceServiceRequest.FromString(request_of(1)), metadata=(("authorization", f"Bearer {TOKEN}"),))

    assert collector.health()["rejected"]["UNAUTHENTICATED"] >= 1
    assert collector.stop() == 0
    assert query(store_url, "SELECT count() FROM otel.otel_traces") == [(5,)]

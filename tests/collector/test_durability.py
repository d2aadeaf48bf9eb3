"""Nothing acknowledged is lost and nothing is doubled: ClickHouse outages, a full queue, kill -9, SIGTERM."""

from __future__ import annotations

import threading

import grpc
import httpx
import pytest
from collector_harness import free_port, query, request_of, span_ids
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub


def _unreachable_clickhouse() -> str:
    return f"http://default:pw@127.0.0.1:{free_port()}/otel"  # nothing listens there


def test_store_down_queue_fills_to_429_then_everything_acknowledged_lands_once(start_collector, store_url):
    down = start_collector("--queue-max-mb", "1", "--shutdown-timeout", "0.5", url=_unreachable_clickhouse())
    acknowledged: list[str] = []
    while True:
        body = request_of(400)  # ~75 KB
        response = down.post(body)
        if response.status_code != 200:
            break
        acknowledged += span_ids(body)
    stub = TraceServiceStub(grpc.insecure_channel(down.grpc_endpoint))
    with pytest.raises(grpc.RpcError) as grpc_refusal:
        stub.Export(ExportTraceServiceRequest.FromString(request_of(400)), timeout=30)
    refused = grpc_refusal.value

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "queue is full" in status_pb2.Status.FromString(response.content).message
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry_info = error_details_pb2.RetryInfo.FromString(dict(refused.trailing_metadata())["google.rpc.retryinfo-bin"])
    assert retry_info.retry_delay.seconds >= 1
    health = down.health()
    assert health["status"] == "degraded"
    assert health["clickhouse"]["reachable"] is False
    assert health["queue"]["spans"] == len(acknowledged) > 0
    assert down.stop() == 0
    assert "still queued" in down.log()

    back = start_collector()
    back.wait_for(lambda health: health["queue"]["requests"] == 0, "the queue drained into the store")
    assert back.stop() == 0
    assert query(store_url, "SELECT count(), uniqExact(SpanId) FROM otel.otel_traces") == [
        (len(acknowledged), len(acknowledged))
    ]


def test_sigterm_flushes_the_queue_and_exits_0(start_collector, store_url):
    # No batch is due on its own for a minute: only the shutdown flush can insert these.
    collector = start_collector("--flush-interval", "60", "--batch-spans", "100000")
    for _ in range(5):
        assert collector.post(request_of(20)).status_code == 200
    assert collector.health()["inserted"]["spans"] == 0

    assert collector.stop() == 0

    assert query(store_url, "SELECT count() FROM otel.otel_traces") == [(100,)]
    assert "queue empty" in collector.log()


def test_kill_9_mid_stream_then_restart_inserts_every_acknowledged_span_once(start_collector, store_url):
    collector = start_collector("--batch-spans", "150", "--flush-interval", "0.01")
    acknowledged: list[str] = []
    stop_sending = threading.Event()

    def send() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop_sending.is_set():
                body = request_of(50)
                try:
                    response = client.post(
                        collector.traces_url, content=body, headers={"Content-Type": "application/x-protobuf"}
                    )
                except httpx.TransportError:
                    return  # the collector is gone
                if response.status_code == 200:
                    acknowledged.extend(span_ids(body))

    senders = [threading.Thread(target=send) for _ in range(2)]
    for sender in senders:
        sender.start()
    # Kill while requests are arriving and batches are being inserted.
    collector.wait_for(
        lambda health: health["inserted"]["batches"] >= 3 and health["queue"]["requests"] > 0,
        "inserting while requests queue up",
    )
    collector.kill()
    stop_sending.set()
    for sender in senders:
        sender.join()

    restarted = start_collector()
    restarted.wait_for(lambda health: health["queue"]["requests"] == 0, "the queue drained after the restart")
    assert restarted.stop() == 0

    stored = dict(query(store_url, "SELECT SpanId, count() FROM otel.otel_traces GROUP BY SpanId"))
    assert len(acknowledged) >= 300
    assert {span: stored.get(span) for span in acknowledged} == dict.fromkeys(acknowledged, 1)
    assert set(stored.values()) == {1}  # not even an unacknowledged span twice

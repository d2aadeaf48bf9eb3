"""OTLP/gRPC: the opentelemetry-proto TraceService, on grpcio's threaded server."""

from __future__ import annotations

from concurrent import futures

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from otel_llmcost.collector.intake import Intake, Refusal
from otel_llmcost.collector.otlp import count_spans


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def Export(self, request: ExportTraceServiceRequest, context: grpc.ServicerContext) -> ExportTraceServiceResponse:  # noqa: N802 - the generated servicer's name
        try:
            self._intake.check_auth(dict(context.invocation_metadata()).get("authorization"))
            payload = request.SerializeToString()
            reservation = self._intake.hold(len(payload))
            try:
                self._intake.enqueue(payload, count_spans(request))
            finally:
                reservation.release()
        except Refusal as refusal:
            _abort(context, refusal)
        return ExportTraceServiceResponse()


def _abort(context: grpc.ServicerContext, refusal: Refusal) -> None:
    code = _CODES[refusal.reason.grpc_code]
    if refusal.retry_after is not None:
        retry_info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=refusal.retry_after))
        detail = any_pb2.Any()
        detail.Pack(retry_info)
        status = status_pb2.Status(code=refusal.reason.grpc_code, message=refusal.message, details=[detail])
        context.set_trailing_metadata(
            (
                # The standard place (google.rpc.Status details), and the key the Python exporter reads.
                ("grpc-status-details-bin", status.SerializeToString()),
                ("google.rpc.retryinfo-bin", retry_info.SerializeToString()),
            )
        )
    context.abort(code, refusal.message)


_CODES = {code.value[0]: code for code in grpc.StatusCode}


def start_server(
    intake: Intake, host: str, port: int, *, max_request_bytes: int, workers: int
) -> tuple[grpc.Server, int]:
    """Start serving; returns the server and the bound port. Raises OSError when the port is taken."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otlp-grpc"),
        # Requests beyond the workers wait in a short line, then get RESOURCE_EXHAUSTED: memory stays bounded.
        maximum_concurrent_rpcs=workers * 4,
        options=[("grpc.max_receive_message_length", max_request_bytes), ("grpc.so_reuseport", 0)],
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(intake), server)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise OSError(f"cannot listen for OTLP/gRPC on {address}: {exc}") from None
    if not bound:
        raise OSError(f"cannot listen for OTLP/gRPC on {address}")
    server.start()
    return server, bound

"""Running `otel-llmcost collector` in a subprocess on free loopback ports, and building OTLP requests."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from otel_llmcost import semconv as sc
from otel_llmcost.store.connection import connect

STARTUP_SECONDS = 60  # generous: the machine is shared; tests never assert on time
_span_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class CollectorProcess:
    store_url: str
    queue_dir: Path
    log_path: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def traces_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/v1/traces"

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self) -> CollectorProcess:
        command = [
            sys.executable,
            "-c",
            "from otel_llmcost.cli.main import main; main()",
            "collector",
            "--clickhouse-url",
            self.store_url,
            "--queue-dir",
            str(self.queue_dir),
            "--http-port",
            str(self.http_port),
            "--grpc-port",
            str(self.grpc_port),
            "--flush-interval",
            "0.2",
            *self.args,
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it for its lifetime
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env})
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"collector exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.http_port}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"collector did not start:\n{self.log()}")

    def health(self) -> dict[str, Any]:
        return httpx.get(f"http://127.0.0.1:{self.http_port}/health", timeout=5).json()

    def wait_for(self, predicate, what: str, timeout: float = 60) -> dict[str, Any]:
        """Poll /health until ``predicate(health)`` holds (a bound against hanging, not a timing check)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.health()
            if predicate(health):
                return health
            time.sleep(0.05)
        raise AssertionError(f"collector never reached: {what}; last health {health}\n{self.log()}")

    def post(self, body: bytes, content_type: str = "application/x-protobuf", **headers: str) -> httpx.Response:
        return httpx.post(self.traces_url, content=body, headers={"Content-Type": content_type, **headers}, timeout=30)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def llm_span(*, input_tokens: int, output_tokens: int, cost: float, model: str = "gpt-4o-mini") -> Span:
    """One LLM call span as the instrumentation writes it (GenAI attributes, tokens, cost)."""
    span_number = next(_span_ids)
    attributes = {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: model,
        sc.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
        sc.GEN_AI_USAGE_COST_AMOUNT: cost,
        sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
        sc.GEN_AI_USAGE_COST_SOURCE: "local",
        sc.LLMCOST_TEAM: "search",
    }
    now = time.time_ns()
    return Span(
        trace_id=(os.getpid().to_bytes(4, "big") + span_number.to_bytes(12, "big")),
        span_id=span_number.to_bytes(8, "big"),
        name=f"chat {model}",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=now - 1_000_000,
        end_time_unix_nano=now,
        attributes=[key_value(key, value) for key, value in attributes.items()],
    )


def key_value(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def export_request(spans: list[Span], service: str = "checkout") -> ExportTraceServiceRequest:
    resource_spans = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    resource_spans.resource.attributes.append(key_value("service.name", service))
    return ExportTraceServiceRequest(resource_spans=[resource_spans])


def request_of(count: int, *, input_tokens: int = 100, output_tokens: int = 20, cost: float = 0.125) -> bytes:
    spans = [llm_span(input_tokens=input_tokens, output_tokens=output_tokens, cost=cost) for _ in range(count)]
    return export_request(spans).SerializeToString()


def span_ids(payload: bytes) -> list[str]:
    request = ExportTraceServiceRequest.FromString(payload)
    return [span.span_id.hex() for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]


def query(store_url: str, sql: str) -> list[tuple]:
    """Rows of ``sql`` against the store (the collector must have stopped: chDB is one process at a time)."""
    client = connect(store_url)
    try:
        return client.query(sql).result_rows
    finally:
        client.close()

"""Span exporters into the store: the spool exporter, the ClickHouse exporter and its fallback, the default export."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SpanExportResult
from store_helpers import local_call, make_spans, rows

from otel_llmcost import semconv as sc
from otel_llmcost.store import exporter as exporter_module
from otel_llmcost.store import spool
from otel_llmcost.store.connection import parse_url
from otel_llmcost.store.exporter import ClickHouseSpanExporter, SpoolSpanExporter


def _span_names(path: Path) -> list[str]:
    request = ExportTraceServiceRequest.FromString(path.read_bytes())
    return [span.name for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]


def test_spool_exporter_writes_each_batch_as_an_otlp_request(data_dir):
    spans = make_spans([{sc.GEN_AI_REQUEST_MODEL: "a"}, {sc.GEN_AI_REQUEST_MODEL: "b"}])

    assert SpoolSpanExporter().export(spans) == SpanExportResult.SUCCESS

    [batch] = spool.pending()
    assert _span_names(batch) == ["chat a", "chat b"]


@pytest.mark.parametrize("server", [False, True], ids=["spool", "server-down"])
def test_an_unwritable_data_dir_is_reported_once_with_the_fix_not_per_batch(tmp_path, monkeypatch, caplog, server):
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("a file where the data directory should be")
    monkeypatch.setenv(sc.ENV_DATA_DIR, str(not_a_dir))
    exporter = (
        ClickHouseSpanExporter(f"http://127.0.0.1:{_closed_port()}/otel") if server else SpoolSpanExporter()
    )

    with caplog.at_level("WARNING"):
        results = [exporter.export(make_spans([{sc.GEN_AI_REQUEST_MODEL: str(i)}])) for i in range(3)]

    assert results == [SpanExportResult.FAILURE] * 3
    [warning] = [record for record in caplog.records if "cannot write spans" in record.getMessage()]
    assert f"set {sc.ENV_DATA_DIR} to a writable directory" in warning.getMessage()
    assert str(not_a_dir / "spool") in warning.getMessage() and not warning.exc_info  # a message, no traceback


def test_the_exporter_side_imports_no_clickhouse_code(data_dir):
    script = textwrap.dedent(
        """
        import sys
        from otel_llmcost.store.exporter import SpoolSpanExporter, configure_default_export
        from opentelemetry import trace
        print(configure_default_export())
        with trace.get_tracer("t").start_as_current_span("x"):
            pass
        trace.get_tracer_provider().force_flush()
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("chdb", "clickhouse_connect")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env=_clean_env(data_dir),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"installed: SpoolSpanExporter -> {data_dir / 'spool'}", "[]"]
    assert len(spool.pending()) == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _counting_opens(exporter: ClickHouseSpanExporter, clock: FakeClock | None = None) -> list[float]:
    """Records when the exporter tries to reach its server (clock time of each connection)."""
    opens: list[float] = []
    real_open = exporter._open

    def counted(timeout: float):
        opens.append(clock.now if clock else 0.0)
        return real_open(timeout)

    exporter._open = counted  # type: ignore[method-assign]
    return opens


def _spooled_span_count(spool_dir: Path | None = None) -> int:
    return sum(len(_span_names(path)) for path in spool.pending(spool_dir))


def test_an_unreachable_server_gets_the_batches_spooled_at_once_and_is_tried_again_after_a_pause(
    data_dir, monkeypatch
):
    clock = FakeClock()
    monkeypatch.setattr(exporter_module.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(exporter_module.time, "sleep", clock.sleep)
    exporter = ClickHouseSpanExporter(f"http://127.0.0.1:{_closed_port()}/otel", timeout=5.0)
    opens = _counting_opens(exporter, clock)

    for model in ("a", "b", "c"):
        assert exporter.export(make_spans([{sc.GEN_AI_REQUEST_MODEL: model}])) == SpanExportResult.SUCCESS

    assert len(opens) == 1  # one refused connection says the server is down: no retries, no waiting
    assert clock.slept == []
    assert [_span_names(path) for path in spool.pending(exporter.spool_dir)] == [["chat a"], ["chat b"], ["chat c"]]
    assert spool.pending() == []  # the server's own spool: the embedded store's never gets its batches

    clock.now += exporter_module.DOWN_PAUSE
    exporter.export(make_spans([{sc.GEN_AI_REQUEST_MODEL: "d"}]))
    assert len(opens) == 2  # after the pause the server is tried again
    assert _spooled_span_count(exporter.spool_dir) == 4


def test_a_servers_spooled_batches_wait_for_that_server_and_stay_out_of_the_embedded_store(data_dir):
    from otel_llmcost.store.connection import open_store

    exporter = ClickHouseSpanExporter(f"http://127.0.0.1:{_closed_port()}/otel", timeout=1.0)
    spans = make_spans([local_call("gpt-4o-mini", D("0.01"), input_tokens=1, output_tokens=1)])
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    [batch] = spool.pending(exporter.spool_dir)

    client = open_store()  # the embedded store, as `otel-llmcost report` run without the server's URL opens it
    try:
        # it took the server's batch into the local store, where the server never got it
        assert rows(client, "SELECT count() AS calls FROM llm_calls") == [{"calls": 0}]
    finally:
        client.close()
    assert spool.pending(exporter.spool_dir) == [batch]  # still waiting for its server


def test_a_passing_failure_is_retried_with_backoff_within_the_timeout_under_one_token(data_dir, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(exporter_module.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(exporter_module.time, "sleep", clock.sleep)
    exporter = ClickHouseSpanExporter("http://127.0.0.1:8123/otel", timeout=5.0)
    attempts: list[tuple[float, str]] = []

    def dropped_mid_request(payload: bytes, token: str, deadline: float) -> Exception:
        attempts.append((clock.now, token))
        return ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(exporter, "_try_insert", dropped_mid_request)
    spans = make_spans([local_call("gpt-4o-mini", D("0.01"), input_tokens=1, output_tokens=1)])

    assert exporter.export(spans) == SpanExportResult.SUCCESS

    gaps = [later[0] - earlier[0] for earlier, later in zip(attempts, attempts[1:])]
    assert len(gaps) >= 3 and gaps[2] > gaps[0]  # backing off: 0.25 s then 1 s, each ±50% jitter
    assert attempts[-1][0] - attempts[0][0] == pytest.approx(5.0)  # and stopping at its timeout, not later
    [batch] = spool.pending(exporter.spool_dir)
    assert _span_names(batch) == ["chat gpt-4o-mini"]
    # every try and the spool file share one dedup token: a try the server took is not doubled by the drain
    assert {token for _, token in attempts} == {batch.name}


class _FailingClickHouse(BaseHTTPRequestHandler):
    """Answers every request with one error status; ``requests`` counts the requests."""

    status = 401
    code = "516"  # AUTHENTICATION_FAILED, what ClickHouse says to a wrong password
    requests: list[str] = []

    def _answer(self) -> None:
        self.requests.append(self.path)
        self.rfile.read(int(self.headers.get("content-length", 0) or 0))
        body = b"Code: 516. DB::Exception: u: Authentication failed. (AUTHENTICATION_FAILED)\n"
        self.send_response(self.status)
        if self.code:
            self.send_header("X-ClickHouse-Exception-Code", self.code)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_clickhouse() -> Iterator:
    servers = []

    def start(status: int, code: str | None) -> tuple[int, list[str]]:
        requests: list[str] = []
        handler = type("Handler", (_FailingClickHouse,), {"status": status, "code": code, "requests": requests})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_port, requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_server_that_refuses_the_batch_is_not_asked_again_and_says_why_once(data_dir, failing_clickhouse, caplog):
    port, requests = failing_clickhouse(401, "516")
    exporter = ClickHouseSpanExporter(f"http://u:hunter2@127.0.0.1:{port}/otel", timeout=3.0)

    with caplog.at_level("WARNING", logger="otel_llmcost.store"):
        for model in ("a", "b"):
            assert exporter.export(make_spans([{sc.GEN_AI_REQUEST_MODEL: model}])) == SpanExportResult.SUCCESS

    assert len(requests) == 1  # a wrong password stays wrong: not retried, and not per batch
    assert _spooled_span_count(exporter.spool_dir) == 2
    [warning] = [record.getMessage() for record in caplog.records if record.name == "otel_llmcost.store"]
    assert "refused a batch" in warning and sc.ENV_CLICKHOUSE_URL in warning and "516" in warning
    assert "hunter2" not in warning


def test_shutdown_does_not_wait_for_an_export_that_is_retrying(data_dir, monkeypatch):
    exporter = ClickHouseSpanExporter("http://127.0.0.1:8123/otel", timeout=60.0)
    monkeypatch.setattr(exporter, "_try_insert", lambda *args: ConnectionResetError("connection reset by peer"))
    retrying = threading.Thread(target=exporter.export, args=(make_spans([{sc.GEN_AI_REQUEST_MODEL: "m"}]),))
    retrying.start()
    while not exporter._lock.locked():
        time.sleep(0.01)

    started = time.monotonic()
    exporter.shutdown()
    retrying.join(timeout=10)  # the retries would last 60 s

    assert time.monotonic() - started < 10
    assert not retrying.is_alive()
    assert _spooled_span_count(exporter.spool_dir) == 1  # the batch it was retrying is spooled, not lost


def test_a_server_that_never_answers_does_not_hold_the_export(data_dir):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    try:
        exporter = ClickHouseSpanExporter(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=1.0)
        result = exporter.export(make_spans([{sc.GEN_AI_REQUEST_MODEL: "m"}]))
    finally:
        listener.close()
    assert result == SpanExportResult.SUCCESS
    assert len(spool.pending(exporter.spool_dir)) == 1
    assert accepted  # it did reach the (silent) server


def test_a_bad_url_fails_at_setup_not_in_the_export_thread():
    with pytest.raises(ValueError, match="Unsupported ClickHouse URL scheme 'tcp'"):
        ClickHouseSpanExporter("tcp://clickhouse:9000")


def _clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update({sc.ENV_DATA_DIR: str(data_dir), "PYTHONPATH": str(Path(__file__).parent)}, **extra)
    return env


DEFAULT_EXPORT = textwrap.dedent(
    """
    from opentelemetry import trace
    from otel_llmcost.store.exporter import configure_default_export
    print(configure_default_export())
    print(configure_default_export())
    """
)


@pytest.mark.parametrize(
    ("env", "first"),
    [
        ({}, "installed: SpoolSpanExporter -> {spool}"),
        (
            {sc.ENV_CLICKHOUSE_URL: "https://u:secret@ch.example:8443/llm"},
            "installed: ClickHouseSpanExporter -> https://u@ch.example:8443/llm",
        ),
        # an embedded store's spool sits beside its data directory, as its lock does
        ({sc.ENV_CLICKHOUSE_URL: "chdb:///somewhere/else"}, "installed: SpoolSpanExporter -> /somewhere/else.spool"),
        ({sc.ENV_OTEL_TRACES_EXPORTER: "console"}, "configured: OpenTelemetry's SDK export from OTEL_TRACES_EXPORTER"),
        (
            {sc.ENV_OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318"},
            "configured: OpenTelemetry's SDK export from OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
    ],
    ids=["nothing-configured", "server-url", "embedded-url", "traces-exporter", "otlp-endpoint"],
)
def test_default_export_steps_aside_for_the_users_own(data_dir, env, first):
    result = subprocess.run(
        [sys.executable, "-c", DEFAULT_EXPORT],
        check=False,
        capture_output=True,
        text=True,
        env=_clean_env(data_dir, **env),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == first.format(spool=data_dir / "spool")
    assert lines[1] == "skipped: a tracer provider is already set"  # calling it again changes nothing


def _one_span_with_the_default_export(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A program that sets up the default export, then makes one span ("chat gpt-4o")."""
    script = DEFAULT_EXPORT + textwrap.dedent(
        """
        with trace.get_tracer("app").start_as_current_span("chat gpt-4o"):
            pass
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env=_clean_env(data_dir, **env),
        timeout=120,
    )


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("http://127.0.0.1:notaport/otel", "Port could not be cast to integer value as 'notaport'"),
        ("clickhouse://ch:9000/llm", "not the native protocol (port 9000). Use http://ch:8123/llm"),
        ("chdb://relative/path", "needs an absolute path after three slashes"),
    ],
    ids=["bad-port", "native-protocol", "relative-chdb-path"],
)
def test_an_unusable_store_url_gets_one_clear_warning_and_the_spans_are_spooled(data_dir, url, hint):
    result = _one_span_with_the_default_export(data_dir, **{sc.ENV_CLICKHOUSE_URL: url})

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"installed: SpoolSpanExporter -> {data_dir / 'spool'}"
    [warning] = result.stderr.splitlines()
    assert warning.startswith(f"otel-llmcost: {sc.ENV_CLICKHOUSE_URL} cannot be used: ")
    assert hint in warning and f"spans are spooled to {data_dir / 'spool'}" in warning
    assert [_span_names(path) for path in spool.pending()] == [["chat gpt-4o"]]


def test_the_store_is_an_opentelemetry_exporter_by_name(data_dir):
    # OTEL_TRACES_EXPORTER=otel_llmcost: how spans reach the store where opentelemetry-distro, whose
    # default is OTLP, applies the settings (here the SDK's configurator applies them, as it would).
    result = _one_span_with_the_default_export(data_dir, **{sc.ENV_OTEL_TRACES_EXPORTER: "otel_llmcost"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "configured: OpenTelemetry's SDK export from OTEL_TRACES_EXPORTER"
    assert [_span_names(path) for path in spool.pending()] == [["chat gpt-4o"]]


def test_a_server_url_without_clickhouse_connect_says_to_install_the_store_extra(data_dir):
    # A core install (no store extra) with a server URL: the batches could never be inserted.
    script = "import sys; sys.modules['clickhouse_connect'] = None\n" + DEFAULT_EXPORT
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env=_clean_env(data_dir, **{sc.ENV_CLICKHOUSE_URL: "http://default:pw@127.0.0.1:18123/otel"}),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    # spooled for that server: the next command run with its URL ingests them, and no other store does
    server_spool = data_dir / "spool" / "servers" / "http-127.0.0.1-18123-otel"
    assert result.stdout.splitlines()[0] == f"installed: SpoolSpanExporter -> {server_spool}"
    [warning] = result.stderr.splitlines()
    assert "clickhouse-connect is not installed: pip install 'otel-llmcost[store]'" in warning
    assert "pw" not in warning


def test_export_settings_that_cannot_be_applied_are_named_once_with_the_fix(data_dir):
    env = _clean_env(data_dir, OTEL_TRACES_EXPORTER="bogus")
    result = subprocess.run(
        [sys.executable, "-c", DEFAULT_EXPORT], check=False, capture_output=True, text=True, env=env, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["skipped", "skipped"]
    [warning] = result.stderr.splitlines()  # once, though asked twice (once per instrumented SDK)
    assert "OTEL_TRACES_EXPORTER takes one of:" in warning and "console" in warning
    assert "spans are not exported" in warning


def test_a_missing_otlp_exporter_package_is_named_by_the_protocol(monkeypatch):
    from otel_llmcost.store.exporter import _export_fix

    missing = Exception("Requested component 'otlp_proto_http' not found in entry point opentelemetry_traces_exporter")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    assert "pip install opentelemetry-exporter-otlp-proto-http" in _export_fix(missing)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL")
    assert "pip install opentelemetry-exporter-otlp-proto-grpc" in _export_fix(missing)


def test_the_users_otel_exporter_setting_is_applied_when_no_distro_did(data_dir):
    script = DEFAULT_EXPORT + textwrap.dedent(
        """
        with trace.get_tracer("app").start_as_current_span("chat gpt-4o") as span:
            span.set_attribute("gen_ai.usage.input_tokens", 12)
        """
    )
    env = _clean_env(data_dir, OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="billing")
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, env=env, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert '"name": "chat gpt-4o"' in result.stdout and '"service.name": "billing"' in result.stdout
    assert spool.pending() == []  # the user's exporter, not ours


class _OTLPReceiver(BaseHTTPRequestHandler):
    """Takes OTLP/HTTP exports; ``paths`` records where each went (/v1/traces, /v1/metrics)."""

    paths: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0) or 0))
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("metrics_exporter", "expected"),
    [(None, {"/v1/traces", "/v1/metrics"}), ("none", {"/v1/traces"})],
    ids=["metrics-default-to-otlp", "metrics-exporter-none"],
)
def test_an_otlp_endpoint_alone_exports_the_metrics_too_as_the_distro_does(data_dir, metrics_exporter, expected):
    handler = type("Receiver", (_OTLPReceiver,), {"paths": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = DEFAULT_EXPORT + textwrap.dedent(
        """
        from opentelemetry import metrics
        metrics.get_meter("app").create_counter("gen_ai.client.token.usage").add(12)
        with trace.get_tracer("app").start_as_current_span("chat gpt-4o"):
            pass
        """
    )
    env = _clean_env(
        data_dir,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        **({"OTEL_METRICS_EXPORTER": metrics_exporter} if metrics_exporter else {}),
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", script], check=False, capture_output=True, text=True, env=env, timeout=120
        )
    finally:
        server.shutdown()
        server.server_close()

    assert result.returncode == 0, result.stderr
    assert set(handler.paths) == expected
    assert spool.pending() == []


def test_default_export_flushes_at_exit_with_the_resource_from_the_environment(data_dir):
    script = DEFAULT_EXPORT + textwrap.dedent(
        """
        with trace.get_tracer("app").start_as_current_span("chat gpt-4o") as span:
            span.set_attribute("gen_ai.usage.input_tokens", 12)
        """
    )
    env = _clean_env(data_dir, OTEL_SERVICE_NAME="billing", OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=prod")
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr

    [batch] = spool.pending()
    request = ExportTraceServiceRequest.FromString(batch.read_bytes())
    resource = {item.key: item.value.string_value for item in request.resource_spans[0].resource.attributes}
    assert (resource["service.name"], resource["deployment.environment.name"]) == ("billing", "prod")
    assert _span_names(batch) == ["chat gpt-4o"]


SPANS_THEN_EXIT = textwrap.dedent(
    """
    import sys
    from opentelemetry import trace
    from otel_llmcost.store.exporter import configure_default_export
    print(configure_default_export())
    tracer = trace.get_tracer("app")
    for i in range(int(sys.argv[1])):
        with tracer.start_as_current_span(f"span {i}"):
            pass
    """
)


def _run_then_exit(data_dir: Path, spans: int, url: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", SPANS_THEN_EXIT, str(spans)],
        check=False,
        capture_output=True,
        text=True,
        env=_clean_env(data_dir, **{sc.ENV_CLICKHOUSE_URL: url}),
        timeout=120,
    )
    return result, time.monotonic() - started


def test_a_program_exporting_to_a_down_server_spools_every_span_and_exits_promptly(data_dir):
    # 2000 spans fit the span processor's queue (2048): any span missing was lost by the exporter
    url = f"http://127.0.0.1:{_closed_port()}/otel"
    result, elapsed = _run_then_exit(data_dir, 2000, url)

    assert result.returncode == 0, result.stderr
    assert _spooled_span_count(spool.dir_for(parse_url(url))) == 2000
    assert "Queue full" not in result.stderr
    assert elapsed < 10  # it took 40 s: each batch retried 10 s, and exit gave up after 30 s with spans unsent
    assert result.stderr.count("cannot be reached") == 1  # said once, not once per batch


def test_at_exit_a_failing_server_gets_one_try_and_the_batch_is_spooled(data_dir, failing_clickhouse):
    port, requests = failing_clickhouse(503, None)  # a passing failure, retried while the program runs

    url = f"http://127.0.0.1:{port}/otel"
    result, elapsed = _run_then_exit(data_dir, 3, url)

    assert result.returncode == 0, result.stderr
    assert len(requests) == 1  # the batch exported at exit is not retried for 10 s
    assert _spooled_span_count(spool.dir_for(parse_url(url))) == 3
    assert elapsed < 10


FORK_WHILE_EXPORTING = textwrap.dedent(
    """
    import os, sys, threading, time
    from opentelemetry.sdk.trace.export import SpanExportResult
    from store_helpers import make_spans
    from otel_llmcost.store.exporter import ClickHouseSpanExporter

    exporter = ClickHouseSpanExporter(sys.argv[1], timeout=1.0)
    exporter._lock.acquire()  # an export in flight on the parent's export thread when the program forks
    pid = os.fork()
    if pid == 0:
        result = exporter.export(make_spans([{"gen_ai.request.model": "child"}]))
        os._exit(0 if result == SpanExportResult.SUCCESS else 1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            print("child exit", os.waitstatus_to_exitcode(status))
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        print("child stuck")
    """
)


def test_a_child_forked_while_an_export_holds_the_lock_exports_its_own_spans(data_dir):
    # The thread holding the lock does not exist in the child: the child waited for it forever (its
    # exit then waited out the span processor's 30 s), and its spans were lost.
    url = f"http://127.0.0.1:{_closed_port()}/otel"
    result = subprocess.run(
        [sys.executable, "-c", FORK_WHILE_EXPORTING, url],
        check=False,
        capture_output=True,
        text=True,
        env=_clean_env(data_dir),
        timeout=120,
    )

    assert result.stdout.splitlines() == ["child exit 0"], result.stderr
    assert [_span_names(path) for path in spool.pending(spool.dir_for(parse_url(url)))] == [["chat child"]]


MULTIPROCESSING_CHILDREN = textwrap.dedent(
    """
    import multiprocessing, os, sys
    from opentelemetry import trace
    if os.environ.get("SET_UP_IN_THE_PROGRAM"):  # at import, so a forkserver's child sets it up too
        from otel_llmcost.store.exporter import configure_default_export
        configure_default_export()

    def work(name):
        with trace.get_tracer("app").start_as_current_span(name):
            pass

    if __name__ == "__main__":
        work("parent")  # makes the provider's export thread run in the parent before the children fork
        context = multiprocessing.get_context(sys.argv[1])
        children = [context.Process(target=work, args=(f"child {i}",)) for i in range(2)]
        for child in children:
            child.start()
        for child in children:
            child.join()
        with context.Pool(2) as pool:  # closed and joined: its workers leave as the children above do
            pool.map(work, ["pool 0", "pool 1"])
            pool.close()
            pool.join()
    """
)


@pytest.mark.parametrize("method", ["fork", "forkserver"])
@pytest.mark.parametrize("setup", ["at interpreter start", "in the program", "by exporter name"])
def test_the_spans_of_multiprocessing_children_are_flushed_as_they_exit(data_dir, tmp_path, method, setup):
    # They leave through os._exit, which runs no atexit hook: the provider's flush never ran in them.
    # The export set up as opentelemetry-instrument does it, at interpreter start (the forkserver's too),
    # by the program as it starts, or from OTEL_TRACES_EXPORTER=otel_llmcost by the SDK's configurator.
    script = tmp_path / "children.py"
    script.write_text(MULTIPROCESSING_CHILDREN)
    (tmp_path / "sitecustomize.py").write_text(
        "from otel_llmcost.store.exporter import configure_default_export\nconfigure_default_export()\n"
    )
    env = _clean_env(data_dir)
    if setup == "in the program":
        env["SET_UP_IN_THE_PROGRAM"] = "1"
    else:
        env["PYTHONPATH"] = os.pathsep.join((str(tmp_path), env["PYTHONPATH"]))
    if setup == "by exporter name":
        env[sc.ENV_OTEL_TRACES_EXPORTER] = "otel_llmcost"
    result = subprocess.run(
        [sys.executable, str(script), method], check=False, capture_output=True, text=True, env=env, timeout=120
    )

    assert result.returncode == 0, result.stderr
    names = sorted(name for path in spool.pending() for name in _span_names(path))
    assert names == ["child 0", "child 1", "parent", "pool 0", "pool 1"]


CHILD_EXPORTS_TO_A_SILENT_SERVER = textwrap.dedent(
    """
    import multiprocessing, time
    from opentelemetry import trace
    from otel_llmcost.store.exporter import configure_default_export

    def work():
        with trace.get_tracer("app").start_as_current_span("child"):
            pass

    if __name__ == "__main__":
        configure_default_export()
        child = multiprocessing.get_context("fork").Process(target=work)
        started = time.monotonic()
        child.start()
        child.join()
        print(f"{time.monotonic() - started:.1f}")
    """
)


def test_a_childs_exit_flush_tries_a_silent_server_once_and_briefly(data_dir, tmp_path):
    # Every worker of a pool flushes as it exits: against a server that never answers, a flush that
    # retried for its whole timeout (10 s) held each worker's exit that long. The batch is spooled.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/otel"
    script = tmp_path / "child.py"
    script.write_text(CHILD_EXPORTS_TO_A_SILENT_SERVER)
    try:
        result = subprocess.run(
            [sys.executable, str(script)],
            check=False,
            capture_output=True,
            text=True,
            env=_clean_env(data_dir, **{sc.ENV_CLICKHOUSE_URL: url}),
            timeout=120,
        )
    finally:
        listener.close()

    assert result.returncode == 0, result.stderr
    assert float(result.stdout.splitlines()[-1]) < 8  # one try of at most EXIT_TIMEOUT (2 s), then the spool
    assert [_span_names(path) for path in spool.pending(spool.dir_for(parse_url(url)))] == [["child"]]


SERVER_URL = os.environ.get(sc.ENV_CLICKHOUSE_URL, "")


@pytest.mark.skipif(
    not SERVER_URL.startswith(("http://", "https://")),
    reason="server mode needs a ClickHouse server: set OTEL_LLMCOST_CLICKHOUSE_URL=http://user:password@host:8123",
)
def test_server_mode_inserts_idempotently_into_a_clickhouse_server(tmp_path, monkeypatch):
    from otel_llmcost.store.connection import open_store, parse_url

    database = f"otel_llmcost_test_{uuid.uuid4().hex[:8]}"
    target = parse_url(SERVER_URL)
    url = f"{target.scheme}://{target.username}:{target.password}@{target.host}:{target.port}/{database}"
    monkeypatch.setenv(sc.ENV_DATA_DIR, str(tmp_path))
    exporter = ClickHouseSpanExporter(url, timeout=30)
    spans = make_spans([local_call("gpt-4o-mini", D("0.25"), input_tokens=10, output_tokens=2)] * 4)

    assert exporter.export(spans) == SpanExportResult.SUCCESS
    exporter.shutdown()

    client = open_store(url)
    try:
        assert spool.pending(exporter.spool_dir) == []
        assert rows(client, "SELECT count() AS calls, sum(CostUSD) AS cost FROM llm_calls") == [
            {"calls": 4, "cost": D(1)}
        ]
        assert rows(client, "SELECT sum(Calls) AS calls FROM llm_cost_1h") == [{"calls": 4}]
    finally:
        client.command(f"DROP DATABASE IF EXISTS {database}")
        client.close()

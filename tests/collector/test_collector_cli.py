"""`otel-llmcost collector` refuses to start with a message saying what to change, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

from collector_harness import free_port

from otel_llmcost.collector.queue import DiskQueue


def _collector(*args: str, tmp_path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from otel_llmcost.cli.main import main; main()", "collector"]
    defaults = ["--queue-dir", str(tmp_path / "queue"), "--clickhouse-url", f"chdb://{tmp_path / 'store'}"]
    return subprocess.run([*command, *defaults, *args], capture_output=True, text=True, timeout=120)


def test_a_taken_port_is_named(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = _collector("--http-port", str(port), "--grpc-port", str(free_port()), tmp_path=tmp_path)

    assert result.returncode == 1
    assert f"cannot listen for OTLP/HTTP on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_queue_in_use_is_named(tmp_path):
    running = DiskQueue(tmp_path / "queue", 2**20)
    try:
        result = _collector(tmp_path=tmp_path)
    finally:
        running.close()

    assert result.returncode == 1
    assert "is in use by another collector" in result.stderr
    assert "--queue-dir" in result.stderr


def test_a_bad_clickhouse_url_is_explained(tmp_path):
    result = _collector("--clickhouse-url", "mysql://db:3306/x", tmp_path=tmp_path)

    assert result.returncode == 1
    assert "Unsupported ClickHouse URL scheme 'mysql'" in result.stderr
    assert "Traceback" not in result.stderr


def test_both_receivers_off_is_a_usage_error(tmp_path):
    result = _collector("--http-port", "0", "--grpc-port", "0", tmp_path=tmp_path)

    assert result.returncode == 2
    assert "nothing would listen" in result.stderr

"""Zero-code: ``opentelemetry-instrument python app.py`` with nothing configured but the data
directory records every OpenAI call, with its cost, in the embedded store's spool."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from wire import chat_completion, chat_usage

from otel_llmcost import semconv as sc

APP = Path(__file__).parent / "apps" / "openai_chat_app.py"
REPO = Path(__file__).resolve().parents[2]
REPLY = chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", chat_usage(1200, 300, cached=1024))
# gpt-4o-mini-2024-07-18: input 0.15, cache read 0.075, output 0.6 USD per 1M tokens
COST = float(D(176) * D("0.15") / 10**6 + D(1024) * D("0.075") / 10**6 + D(300) * D("0.6") / 10**6)


def _requires_the_installed_package() -> None:
    names = {entry.name for entry in entry_points(group="opentelemetry_instrumentor")}
    if "openai_llmcost" not in names:
        pytest.skip(
            "otel-llmcost is not installed (pip install -e .): opentelemetry-instrument finds adapters by entry point"
        )
    try:
        from otel_llmcost.store.exporter import configure_default_export  # noqa: F401
    except ImportError:
        pytest.skip("waits on otel_llmcost.store.exporter.configure_default_export (the store's spool exporter)")


class _FakeOpenAI(BaseHTTPRequestHandler):
    """The chat completions API, and an OTLP/HTTP metrics receiver that keeps what it is sent."""

    metrics: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        content = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/v1/metrics":
            _FakeOpenAI.metrics.append(content)
        known = self.path.endswith("/chat/completions") or self.path == "/v1/metrics"
        body = json.dumps(REPLY).encode() if self.path.endswith("/chat/completions") else b"{}"
        self.send_response(200 if known else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_openai() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def _run_instrumented(fake_url: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "OPENAI_"))}
    clean.update(OTEL_LLMCOST_DATA_DIR=str(data_dir), OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake_url, **env)
    # the package of this checkout, not whichever one the environment installed in editable mode
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), clean.get("PYTHONPATH")]))
    instrument = (
        shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent)) or "opentelemetry-instrument"
    )
    return subprocess.run(
        [instrument, sys.executable, str(APP)], env=clean, capture_output=True, text=True, timeout=120
    )


def _spooled_spans(spool: Path) -> list[dict]:
    spans = []
    for path in sorted(spool.iterdir()):
        if path.name.startswith(".") or path.suffix == ".tmp":
            continue  # a batch still being written
        request = ExportTraceServiceRequest.FromString(path.read_bytes())
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {item.key: _value(item.value) for item in span.attributes}
                    spans.append({"name": span.name, "attributes": attributes})
    return spans


def _spooled_call(data_dir: Path) -> dict:
    """The app's one chat call, as spooled."""
    [call] = [span for span in _spooled_spans(data_dir / "spool") if span["name"] == "chat gpt-4o-mini"]
    return call


def _our_warning(result: subprocess.CompletedProcess[str]) -> str:
    """The one line otel-llmcost logged."""
    [warning] = [line for line in result.stderr.splitlines() if "otel-llmcost" in line]
    return warning


def _value(value) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def test_spans_land_in_the_spool_with_their_cost(fake_openai, tmp_path):
    _requires_the_installed_package()
    result = _run_instrumented(fake_openai, tmp_path)

    assert result.returncode == 0, result.stderr
    assert "answer: It left the depot." in result.stdout
    spans = _spooled_spans(tmp_path / "spool")
    [call] = [span for span in spans if span["name"] == "chat gpt-4o-mini"]
    assert call["attributes"][sc.GEN_AI_USAGE_COST_AMOUNT] == COST
    assert call["attributes"][sc.GEN_AI_USAGE_INPUT_TOKENS] == 1200
    assert call["attributes"][sc.GEN_AI_PROVIDER_NAME] == "openai"


def test_a_configured_console_exporter_prints_the_cost(fake_openai, tmp_path):
    _requires_the_installed_package()
    result = _run_instrumented(fake_openai, tmp_path, OTEL_TRACES_EXPORTER="console")

    assert result.returncode == 0, result.stderr
    assert f'"{sc.GEN_AI_USAGE_COST_AMOUNT}": {COST}' in result.stdout


def _another_openai_instrumentation(root: Path) -> Path:
    """An installed distribution with an ``openai`` instrumentor where openai-v2 has its own (a stand-in
    that patches nothing): opentelemetry-instrument enables both it and ours."""
    package = root / "opentelemetry" / "instrumentation" / "openai_v2"  # both namespace packages
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from opentelemetry.instrumentation.instrumentor import BaseInstrumentor\n\n\n"
        "class OpenAIInstrumentor(BaseInstrumentor):\n"
        "    def instrumentation_dependencies(self):\n        return ()\n\n"
        "    def _instrument(self, **kwargs):\n        pass\n\n"
        "    def _uninstrument(self, **kwargs):\n        pass\n"
    )
    info = root / "opentelemetry_instrumentation_openai_v2-2.4b0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: opentelemetry-instrumentation-openai-v2\nVersion: 2.4b0\n"
    )
    (info / "entry_points.txt").write_text(
        "[opentelemetry_instrumentor]\nopenai = opentelemetry.instrumentation.openai_v2:OpenAIInstrumentor\n"
    )
    return root


def test_another_instrumentation_of_the_same_sdk_is_named_with_how_to_turn_it_off(fake_openai, tmp_path):
    # OpenTelemetry's openai-v2 records its own span with each call's token usage: beside ours, the store
    # and the token metrics counted every call twice, and nothing said so.
    _requires_the_installed_package()
    other = str(_another_openai_instrumentation(tmp_path / "site"))
    result = _run_instrumented(fake_openai, tmp_path / "both", PYTHONPATH=other)

    assert result.returncode == 0, result.stderr
    warning = _our_warning(result)
    assert "opentelemetry-instrumentation-openai-v2 is enabled too" in warning
    assert "each call twice" in warning and "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai " in warning
    assert _spooled_call(tmp_path / "both")["attributes"][sc.GEN_AI_USAGE_COST_AMOUNT] == COST

    turned_off = _run_instrumented(
        fake_openai, tmp_path / "ours", PYTHONPATH=other, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai"
    )
    assert turned_off.returncode == 0, turned_off.stderr
    assert "otel-llmcost" not in turned_off.stderr


def test_a_malformed_store_url_costs_a_warning_not_the_runs_spans(fake_openai, tmp_path):
    _requires_the_installed_package()
    result = _run_instrumented(fake_openai, tmp_path, OTEL_LLMCOST_CLICKHOUSE_URL="http://u:s3cret@127.0.0.1:notaport/otel")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    warning = _our_warning(result)
    assert f"{sc.ENV_CLICKHOUSE_URL} cannot be used" in warning and "'notaport'" in warning
    assert _spooled_call(tmp_path)["attributes"][sc.GEN_AI_USAGE_COST_AMOUNT] == COST


def test_metrics_export_settings_alone_export_the_metrics_and_keep_the_spans_in_the_store(fake_openai, tmp_path):
    # Only OTEL_METRICS_EXPORTER: the traces were configured nowhere, so they go to the store; the metrics
    # where the setting says (they went nowhere, silently).
    _requires_the_installed_package()
    result = _run_instrumented(fake_openai, tmp_path, OTEL_METRICS_EXPORTER="console")

    assert result.returncode == 0, result.stderr
    assert '"name": "gen_ai.client.token.usage"' in result.stdout
    assert f'"name": "{sc.METRIC_COST}"' in result.stdout
    assert _spooled_call(tmp_path)["attributes"][sc.GEN_AI_USAGE_COST_AMOUNT] == COST


def test_an_unknown_metrics_exporter_is_named_in_one_warning(fake_openai, tmp_path):
    _requires_the_installed_package()
    result = _run_instrumented(fake_openai, tmp_path, OTEL_METRICS_EXPORTER="consol")

    assert result.returncode == 0, result.stderr
    warning = _our_warning(result)
    assert "no metrics exporter 'consol'" in warning and "console" in warning
    assert _spooled_call(tmp_path)["attributes"][sc.GEN_AI_USAGE_COST_AMOUNT] == COST


def test_otlp_metrics_settings_alone_send_the_metrics_over_otlp(fake_openai, tmp_path):
    # OTEL_METRICS_EXPORTER=otlp names no exporter entry point: the SDK picks otlp_proto_grpc or
    # otlp_proto_http by the protocol. Looked up as "otlp", it was refused with a wrong install hint.
    _requires_the_installed_package()
    _FakeOpenAI.metrics.clear()
    endpoint = fake_openai.removesuffix("/v1") + "/v1/metrics"
    result = _run_instrumented(
        fake_openai,
        tmp_path,
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=endpoint,
    )

    assert result.returncode == 0, result.stderr
    assert "otel-llmcost" not in result.stderr, result.stderr
    assert any(b"gen_ai.client.token.usage" in batch for batch in _FakeOpenAI.metrics)
    assert _spooled_call(tmp_path)["attributes"][sc.GEN_AI_USAGE_COST_AMOUNT] == COST

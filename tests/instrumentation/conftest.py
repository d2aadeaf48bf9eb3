"""Fixtures for the SDK adapter tests: in-memory telemetry, SDK clients on a mock wire,
and older SDK majors installed on the side for test_older_major.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wire import Api, Reply, Wire, http_client, http_module

from otel_llmcost import semconv as sc
from otel_llmcost.pricing import clear_overrides

REPO = Path(__file__).resolve().parents[2]
SDK_CACHE = REPO / ".cache"


@dataclass
class Telemetry:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self) -> ReadableSpan:
        """The one span recorded (fails if there are more or none)."""
        spans = self.spans()
        assert len(spans) == 1, [span.name for span in spans]
        return spans[0]

    def metric_points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        points = []
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


@pytest.fixture(autouse=True)
def catalog_prices_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Costs in these tests are the shipped catalog's, whatever the machine's environment."""
    monkeypatch.delenv(sc.ENV_PRICING_FILE, raising=False)
    monkeypatch.delenv(sc.ENV_CAPTURE_CONTENT, raising=False)
    clear_overrides()
    yield
    clear_overrides()


@pytest.fixture(autouse=True)
def no_call_observers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no call observer installed, as a program does before its first agent
    or tool span: the agents tests install theirs for the rest of the process, and which path a
    call takes must not depend on the tests that ran before."""
    from otel_llmcost.instrumentation import core

    monkeypatch.setattr(core, "call_observers", [])


def assert_estimated_outside_the_call(telemetry: Any, seconds: float) -> None:
    """The call's one span was estimated, and neither it nor its duration point holds the ``seconds``
    the estimate took (``slow_estimates``): not a timing target, a property of the clocks."""
    span = telemetry.span()
    assert span.attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert (span.end_time - span.start_time) / 1e9 < seconds
    [duration] = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.sum < seconds


@pytest.fixture
def slow_estimates(monkeypatch: pytest.MonkeyPatch) -> float:
    """Counting tokens takes this many seconds (``tokens.count_text`` sleeps first), as the first estimate
    in a process does while it loads the encoding: time that must not become the call's."""
    import time

    from otel_llmcost import tokens

    seconds = 0.5
    real_count = tokens.count_text

    def slow_count(text: str, model: str) -> int:
        time.sleep(seconds)
        return real_count(text, model)

    monkeypatch.setattr(tokens, "count_text", slow_count)
    return seconds


@pytest.fixture
def telemetry() -> Telemetry:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    return Telemetry(exporter, reader, tracer_provider, MeterProvider(metric_readers=[reader]))


def _instrumenting(instrumentor: Any, telemetry: Any) -> Iterator[Callable[..., Any]]:
    """A fixture's body: a function instrumenting the SDK into ``telemetry`` (keyword arguments go
    to ``instrument``), and the SDK uninstrumented after the test."""

    def instrument(**kwargs: Any) -> Any:
        instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, **kwargs
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


@pytest.fixture
def instrument_openai(telemetry: Telemetry) -> Iterator[Callable[..., Any]]:
    """Instrument the openai SDK into ``telemetry`` (keyword arguments go to ``instrument``)."""
    from otel_llmcost.instrumentation.openai import OpenAIInstrumentor

    yield from _instrumenting(OpenAIInstrumentor(), telemetry)


@pytest.fixture
def openai_instrumented(instrument_openai: Callable[..., Any], telemetry: Telemetry) -> Telemetry:
    instrument_openai()
    return telemetry


def _uninterested(request: Any, span: Any) -> None:
    """An observer of every LLM call that takes no interest in any: the span stays as it is, but the
    adapters' fast paths (openai.fast_chat, anthropic.fast_messages) leave the call to the general path."""
    return None


@contextmanager
def _on_the_general_path() -> Iterator[None]:
    from otel_llmcost.instrumentation import core

    core.call_observers.append(_uninterested)
    try:
        yield
    finally:
        core.call_observers.remove(_uninterested)


@pytest.fixture
def general_path() -> Iterator[None]:
    """Every call in the test takes the general path (the adapters' ``client._Tracker``)."""
    with _on_the_general_path():
        yield


@pytest.fixture
def fast_path_calls(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], list[Any]]:
    """``fast_path_calls(module)``: the calls a fast path (``openai.fast_chat``,
    ``anthropic.fast_messages``) ends from then on; it must end every call it starts, once."""

    def counting(module: Any) -> list[Any]:
        ended: list[Any] = []
        finish = module.finish

        def counted(telemetry: Any, call: Any, result: Any, error: BaseException | None = None) -> None:
            ended.append(call)
            finish(telemetry, call, result, error)

        monkeypatch.setattr(module, "finish", counted)
        return ended

    return counting


@pytest.fixture
def both_ways(fast_path_calls: Callable[[Any], list[Any]], metric_calls: list[tuple[Any, ...]]) -> Callable[..., Any]:
    """``both_ways(module, record)``: ``record()`` (which makes one call and returns its span) on the
    fast path ``module``, then on the general path; asserts each took the call and that both recorded
    the same span (name, kind, attributes in order, status) and the same metric calls."""

    def compare(module: Any, record: Callable[[], ReadableSpan]) -> None:
        ended = fast_path_calls(module)
        fast = record()
        assert len(ended) == 1, "a plain call takes the fast path"
        with _on_the_general_path():
            general = record()
        assert len(ended) == 1, "with an observer installed the general path takes the call"
        assert (fast.name, fast.kind) == (general.name, general.kind)
        assert list(fast.attributes.items()) == list(general.attributes.items())
        assert (fast.status.status_code, fast.status.description) == (
            general.status.status_code,
            general.status.description,
        )
        assert len(metric_calls) == 2 and metric_calls[0] == metric_calls[1]

    return compare


@pytest.fixture
def metric_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """core.record_metrics' arguments per call, the duration left out (it is a clock reading)."""
    from otel_llmcost.instrumentation import core

    calls: list[tuple[Any, ...]] = []
    record = core.record_metrics

    def spy(telemetry: Any, *args: Any) -> None:
        calls.append(args[:8] + args[9:])
        record(telemetry, *args)

    monkeypatch.setattr(core, "record_metrics", spy)
    return calls


@pytest.fixture(params=["sync", "async"])
def asynchronous(request: pytest.FixtureRequest) -> bool:
    return request.param == "async"


@pytest.fixture
def openai_api(asynchronous: bool) -> Callable[..., Api]:
    """``openai_api(*replies, azure=False, **client_kwargs)``: a real OpenAI (or AzureOpenAI)
    client, sync or async, whose HTTP goes to a ``Wire`` answering ``replies`` in order."""
    import openai

    def connect(*replies: Reply | Callable[[Any], Reply], azure: bool = False, **kwargs: Any) -> Api:
        http = http_module("openai")
        wire = Wire(http, *replies)
        if azure:
            cls = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
            kwargs.setdefault("api_version", "2024-10-21")
        else:
            cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
        kwargs.setdefault("api_key", "sk-test")
        kwargs.setdefault("max_retries", 0)
        client = cls(http_client=http_client(http, wire, asynchronous), **kwargs)
        return Api(client, wire, asynchronous)

    return connect


# --- Older SDK majors -----------------------------------------------------------


@pytest.fixture
def older_sdk() -> Callable[..., Path]:
    return install_older_sdk


@pytest.fixture
def tests_with_sdk() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_tests_with


def install_older_sdk(name: str, major: int | str, extra: tuple[str, ...] = ()) -> Path:
    """``pip install --target .cache/sdk-<name>-<major>`` once (the SDK without its
    dependencies, plus ``extra`` ones the newer major no longer needs); skips the test
    with the reason when the package index cannot be reached. ``major`` is a major (its
    latest release) or an exact release such as ``"1.40.0"``."""
    target = SDK_CACHE / f"sdk-{name}-{major}"
    marker = target / ".installed"
    if marker.exists():
        return target
    release = f"{major}.*" if isinstance(major, int) else major
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    command += ["--target", str(target), f"{name}=={release}", *extra]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.skip(f"cannot install {name} {release} from the package index: {result.stderr.strip()[-400:]}")
    marker.write_text(" ".join(command[4:]))
    return target


def run_tests_with(sdk_dir: Path, *test_files: str) -> subprocess.CompletedProcess[str]:
    """Run test modules in a subprocess that imports the SDK from ``sdk_dir`` first."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(sdk_dir), str(REPO)])}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *test_files]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture
def instrument_anthropic(telemetry: Any) -> Iterator[Callable[..., Any]]:
    """Instrument the anthropic SDK into ``telemetry`` (keyword arguments go to ``instrument``)."""
    from otel_llmcost.instrumentation.anthropic import AnthropicInstrumentor

    yield from _instrumenting(AnthropicInstrumentor(), telemetry)


@pytest.fixture
def anthropic_instrumented(instrument_anthropic: Callable[..., Any], telemetry: Any) -> Any:
    instrument_anthropic()
    return telemetry


@pytest.fixture
def failing_stream_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our stream hook (``streams.instrument``) raises on every stream; its failure is logged anew."""
    from otel_llmcost.instrumentation import core, streams

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("instrumenting failed")

    monkeypatch.setattr(core, "_logged", set())
    monkeypatch.setattr(streams, "instrument", broken)


@pytest.fixture
def anthropic_api(asynchronous: bool) -> Callable[..., Api]:
    """``anthropic_api(*replies, platform="anthropic" | "bedrock" | "vertex", **client_kwargs)``: a
    real Anthropic (or AnthropicBedrock / AnthropicVertex) client, sync or async, whose HTTP goes
    to a ``Wire`` answering ``replies`` in order."""
    import anthropic

    platforms: dict[str, tuple[Any, Any, dict[str, Any]]] = {
        "anthropic": (anthropic.Anthropic, anthropic.AsyncAnthropic, {"api_key": "sk-ant-api03-test"}),
        "bedrock": (
            anthropic.AnthropicBedrock,
            anthropic.AsyncAnthropicBedrock,
            {"api_key": "bedrock-api-key-test", "aws_region": "us-east-1"},
        ),
        "vertex": (
            anthropic.AnthropicVertex,
            anthropic.AsyncAnthropicVertex,
            {"region": "us-east5", "project_id": "acme-prod", "access_token": "ya29.test"},
        ),
    }
    if hasattr(anthropic, "AnthropicFoundry"):  # Claude on Microsoft Foundry, in recent releases
        platforms["foundry"] = (
            anthropic.AnthropicFoundry,
            anthropic.AsyncAnthropicFoundry,
            {"api_key": "foundry-key-test", "base_url": "https://acme.services.ai.azure.com/anthropic"},
        )

    def connect(*replies: Reply | Callable[[Any], Reply], platform: str = "anthropic", **kwargs: Any) -> Api:
        http = http_module("anthropic")
        wire = Wire(http, *replies)
        sync_cls, async_cls, defaults = platforms[platform]
        kwargs = {**defaults, "max_retries": 0, **kwargs}
        client = (async_cls if asynchronous else sync_cls)(http_client=http_client(http, wire, asynchronous), **kwargs)
        return Api(client, wire, asynchronous)

    return connect

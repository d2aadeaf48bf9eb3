"""Fixtures for the agent tests: in-memory telemetry, the real SDK clients on a mock wire
(tests/instrumentation/wire.py), and helpers to read a recorded span tree."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tiktoken
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "instrumentation"))

from wire import Wire, http_client, http_module

from otel_llmcost import semconv as sc
from otel_llmcost.pricing import clear_overrides

M = Decimal(1_000_000)


class Spans:
    """The finished spans of one test, with lookups by name and by parent."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self._exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self._exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.all() if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, [span.name for span in self.all()]
        return found[0]

    def llm_calls(self) -> list[ReadableSpan]:
        """LLM call spans in start order (an invoke_agent span carries its run's gen_ai.usage.* too)."""
        calls = [
            span
            for span in self.all()
            if sc.GEN_AI_USAGE_INPUT_TOKENS in (span.attributes or {})
            and (span.attributes or {}).get(sc.GEN_AI_OPERATION_NAME) != sc.OP_INVOKE_AGENT
        ]
        return sorted(calls, key=lambda span: span.start_time or 0)

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        parent_id = parent.context.span_id
        found = [span for span in self.all() if span.parent is not None and span.parent.span_id == parent_id]
        return sorted(found, key=lambda span: span.start_time or 0)


def span_id(span: ReadableSpan) -> str:
    return format(span.context.span_id, "016x")


def tokens(text: str, encoding: str = "o200k_base") -> int:
    return len(tiktoken.get_encoding(encoding).encode_ordinary(text))


@pytest.fixture(autouse=True)
def catalog_prices_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Costs here are the shipped catalog's, whatever the machine's environment."""
    for variable in (
        sc.ENV_PRICING_FILE,
        sc.ENV_CAPTURE_CONTENT,
        sc.ENV_AGENT_MAX_STEPS,
        sc.ENV_AGENT_MAX_CONTEXT_TOKENS,
    ):
        monkeypatch.delenv(variable, raising=False)
    clear_overrides()
    yield
    clear_overrides()


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Spans:
    return Spans(exporter)


@pytest.fixture
def openai_instrumented(tracer_provider: TracerProvider) -> Iterator[None]:
    from otel_llmcost.instrumentation.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    yield
    instrumentor.uninstrument()


@pytest.fixture
def openai_client(openai_instrumented: None) -> Callable[..., tuple[Any, Wire]]:
    """``openai_client(*replies, asynchronous=False)``: a real OpenAI client on a scripted wire."""
    import openai

    def connect(*replies: Any, asynchronous: bool = False) -> tuple[Any, Wire]:
        http = http_module("openai")
        wire = Wire(http, *replies)
        cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
        client = cls(api_key="sk-test", max_retries=0, http_client=http_client(http, wire, asynchronous))
        return client, wire

    return connect

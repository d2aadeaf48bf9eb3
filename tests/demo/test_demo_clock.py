"""Simulated time: spans started inside ``simulated(at)`` are exported at ``at``, durations kept."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llmcost.demo.clock import SimulatedClockProcessor, simulated, simulated_now

AT = datetime(2026, 3, 1, 14, 30, tzinfo=timezone.utc)
AT_NS = int(AT.timestamp() * 1e9)


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimulatedClockProcessor(SimpleSpanProcessor(exporter)))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


def test_span_inside_simulated_block_lands_at_the_simulated_time(spans):
    tracer, exporter = spans
    before = time.time_ns()
    with simulated(AT):
        with tracer.start_as_current_span("call") as live:
            live.add_event("first chunk")
        elapsed = time.time_ns() - before
    (span,) = exporter.get_finished_spans()
    assert AT_NS <= span.start_time <= span.end_time <= AT_NS + elapsed
    assert span.start_time <= span.events[0].timestamp <= span.end_time
    assert span.name == "call" and span.context == live.get_span_context()


def test_duration_is_kept(spans):
    tracer, exporter = spans
    with simulated(AT):
        live = tracer.start_span("call")
        live.end()
    (span,) = exporter.get_finished_spans()
    assert span.end_time - span.start_time == live.end_time - live.start_time


def test_span_started_outside_is_untouched(spans):
    tracer, exporter = spans
    live = tracer.start_span("call")
    with simulated(AT):
        live.end()  # ended inside, started outside: keeps its real times
    (span,) = exporter.get_finished_spans()
    assert (span.start_time, span.end_time) == (live.start_time, live.end_time)


def test_span_ended_in_another_thread_keeps_its_start_offset(spans):
    tracer, exporter = spans
    before = time.time_ns()
    with simulated(AT):
        live = tracer.start_span("stream")
    thread = threading.Thread(target=live.end)
    thread.start()
    thread.join()
    (span,) = exporter.get_finished_spans()
    # the simulated start is AT plus the real time from entering the block to the span's start: not more
    # than the time since then (the bound was the time since the span's start, which a loaded VM could beat)
    assert AT_NS <= span.start_time <= AT_NS + (time.time_ns() - before)
    assert span.end_time - span.start_time == live.end_time - live.start_time


def test_simulated_now():
    assert simulated_now() is None
    with simulated(AT):
        now = simulated_now()
        assert now is not None and now >= AT_NS
    assert simulated_now() is None

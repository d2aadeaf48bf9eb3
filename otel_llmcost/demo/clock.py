"""Simulated time for the demo: a day of traffic replayed in about a minute.

The demo runs each simulated request inside ``simulated(at)``. Spans started there are
recorded as if they happened at ``at``: ``SimulatedClockProcessor`` wraps the processor that
exports spans and shifts each span's start, end and event times by the simulated offset that
was current when the span started. Durations stay real, only the wall-clock position moves,
so dashboards show a day while the demo takes a minute.

Code that stamps times itself can ask ``simulated_now()`` (``None`` outside the demo).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor

# Nanoseconds to add to the real clock; None when no simulated time is in effect.
_offset_ns: ContextVar[int | None] = ContextVar("otel_llmcost_demo_clock_offset", default=None)


@contextmanager
def simulated(at: datetime) -> Iterator[None]:
    """Make ``at`` (timezone-aware) the current time for spans started inside the block."""
    token = _offset_ns.set(int(at.timestamp() * 1e9) - time.time_ns())
    try:
        yield
    finally:
        _offset_ns.reset(token)


def simulated_now() -> int | None:
    """The simulated time in nanoseconds since the epoch, or None outside ``simulated()``."""
    offset = _offset_ns.get()
    return None if offset is None else time.time_ns() + offset


class SimulatedClockProcessor(SpanProcessor):
    """Hands ``inner`` (e.g. a BatchSpanProcessor) spans moved to their simulated time.

    The offset is taken when the span starts, in the starting thread's context, so a stream
    consumed later or a span ended elsewhere still lands at its simulated start.
    """

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner
        self._offsets: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        offset = _offset_ns.get()
        if offset is not None:
            with self._lock:
                self._offsets[_key(span)] = offset
        self._inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            offset = self._offsets.pop(_key(span), None)
        self._inner.on_end(span if offset is None else _shifted(span, offset))

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _key(span: ReadableSpan) -> tuple[int, int]:
    context = span.get_span_context()
    return (context.trace_id, context.span_id)


def _shifted(span: ReadableSpan, offset: int) -> ReadableSpan:
    def moved(value: int | None) -> int | None:
        return None if value is None else value + offset

    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=[Event(event.name, event.attributes, moved(event.timestamp)) for event in span.events],
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=moved(span.start_time),
        end_time=moved(span.end_time),
        instrumentation_scope=span.instrumentation_scope,
    )

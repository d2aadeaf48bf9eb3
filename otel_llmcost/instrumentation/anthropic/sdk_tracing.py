"""anthropic 2.x traces its own API calls; for the calls we record, our span replaces its span.

The SDK starts a ``CLIENT`` span per API call (``anthropic.messages.create``) whenever a tracer
provider can be had: the ``open_telemetry`` client option's, else the global one, unless
``open_telemetry=False`` or ``ANTHROPIC_OPEN_TELEMETRY=false``. That span carries
``gen_ai.usage.input_tokens`` / ``output_tokens`` (and names cache writes
``gen_ai.usage.cache_write.input_tokens``). Next to ours it would count every call twice in
``llm_calls``, whose rows are the spans with usage.

Replace, not enrich. Enriching the SDK's span would tie the cost to a span we do not start or
end: it is named ``anthropic.messages.create`` rather than ``chat {model}``, goes to the SDK's
tracer provider rather than the one given to ``instrument()``, ends when the response body ends
(possibly before our stream state has seen ``message_delta``), does not exist on anthropic 0.x
or with the SDK's tracing off, and is an internal contract that changes between releases.
Our span is the same in every case, so exactly one span per call carries usage and cost.

How: while our wrapper of ``request`` runs, the client's ``_tracer`` (the property the SDK reads
once, at the start of ``request``) gives a stand-in tracer whose "span" is a non-recording copy
of our span's context. The SDK then records nothing and ends nothing, yet still sends our span's
trace context with the request (its ``propagation`` setting still applies). A client whose own
tracing is off keeps its ``None`` tracer. Calls we do not record (``count_tokens``, batches,
models) keep the SDK's span, which has no ``gen_ai.usage.*``. The SDK's tool-runner spans are
started outside ``request`` and are untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context, trace

_RECORDING = context.create_key("otel_llmcost.anthropic.recording")
_original: property | None = None


def call_context(span: trace.Span, parent: context.Context | None = None) -> context.Context:
    """The context our wrapper runs the SDK's ``request`` in: ``parent`` (default: the current
    context) with our span current, and the SDK's own span replaced."""
    return context.set_value(_RECORDING, True, trace.set_span_in_context(span, parent))


class _StandInTracer(trace.Tracer):
    """Hands the SDK the current span (ours) as a non-recording span: same trace context, no record."""

    def start_span(self, name: str, context: context.Context | None = None, *args: Any, **kwargs: Any) -> trace.Span:
        return trace.NonRecordingSpan(trace.get_current_span(context).get_span_context())

    @contextmanager
    def start_as_current_span(
        self, name: str, context: context.Context | None = None, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context)
        with trace.use_span(span, end_on_exit=False):
            yield span


_STAND_IN = _StandInTracer()


def patch() -> None:
    """Swap ``BaseClient._tracer`` (anthropic >= 2; older SDKs have no spans of their own)."""
    global _original
    owner = _base_client()
    current = vars(owner).get("_tracer")
    if not isinstance(current, property) or current.fget is None or _original is not None:
        return
    getter = current.fget

    def _tracer(client: Any) -> Any:
        tracer = getter(client)
        if tracer is None or not context.get_value(_RECORDING):
            return tracer
        return _STAND_IN

    _original = current
    owner._tracer = property(_tracer, doc=current.__doc__)


def unpatch() -> None:
    global _original
    if _original is not None:
        _base_client()._tracer = _original
        _original = None


def _base_client() -> Any:
    from anthropic._base_client import BaseClient

    return BaseClient

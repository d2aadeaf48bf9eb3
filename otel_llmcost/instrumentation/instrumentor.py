"""The ``BaseInstrumentor`` shape every provider adapter shares.

``opentelemetry-instrument`` finds the adapters through the
``opentelemetry_instrumentor`` entry point and calls ``instrument()`` on each whose
library is installed; ``otel_llmcost.instrument()`` does the same from code.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_llmcost.instrumentation.core import Telemetry, guarded

# BaseInstrumentor checks "already instrumented?" and patches without a lock: two threads instrumenting
# at once would both patch, recording every call twice. One lock for every adapter (instrument() of
# one may run inside another's, as otel_llmcost.instrument() runs them all).
_switching = threading.RLock()


class LLMInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Subclasses name their library in ``_instruments`` and patch it in ``_patch``.

    ``instrument()`` accepts ``tracer_provider``, ``meter_provider``,
    ``capture_content`` (overrides OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
    and ``redact`` (a function that receives the message list and returns it redacted).
    """

    _instruments: tuple[str, ...] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return self._instruments

    def instrument(self, **kwargs: Any) -> Any:
        with _switching:
            return super().instrument(**kwargs)

    def uninstrument(self, **kwargs: Any) -> Any:
        with _switching:
            return super().uninstrument(**kwargs)

    def _instrument(self, **kwargs: Any) -> None:
        if kwargs.get("tracer_provider") is None:
            _configure_default_export()
        telemetry = Telemetry(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            capture_content=kwargs.get("capture_content"),
            redact=kwargs.get("redact"),
        )
        self._patch(telemetry)

    def _uninstrument(self, **kwargs: Any) -> None:
        self._unpatch()

    def _patch(self, telemetry: Telemetry) -> None:
        raise NotImplementedError

    def _unpatch(self) -> None:
        raise NotImplementedError


@guarded()
def _configure_default_export() -> None:
    """With no tracer provider and no exporter configured, spans go to the embedded store."""
    from otel_llmcost.store.exporter import configure_default_export

    configure_default_export()

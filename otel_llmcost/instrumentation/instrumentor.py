"""The ``BaseInstrumentor`` shape every provider adapter shares.

``opentelemetry-instrument`` finds the adapters through the
``opentelemetry_instrumentor`` entry point and calls ``instrument()`` on each whose
library is installed; ``otel_llmcost.instrument()`` does the same from code.
"""

from __future__ import annotations

import logging
import os
import sys
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
    _sdk: str | None = None  # the SDK's import name, for the check on other instrumentations of it

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
        if self._sdk is not None:
            _warn_of_other_instrumentations(self._sdk)

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


logger = logging.getLogger(__name__)

# Other instrumentations of the same SDKs, each recording a span with the call's token usage (entry
# point module -> SDK): beside ours, every call would be counted twice in the store's spend and in the
# token metrics. OpenTelemetry's openai-v2, and OpenLLMetry's (traceloop) for each SDK.
_OTHER_INSTRUMENTATIONS = {
    "opentelemetry.instrumentation.openai_v2": "openai",
    "opentelemetry.instrumentation.openai": "openai",
    "opentelemetry.instrumentation.anthropic": "anthropic",
}
_AUTO_INSTRUMENTATION = "opentelemetry.instrumentation.auto_instrumentation"
_warned: set[str] = set()


@guarded()
def _warn_of_other_instrumentations(sdk: str) -> None:
    """Warn once per instrumentation of ``sdk`` that ``opentelemetry-instrument`` will also enable
    (installed, and not in OTEL_PYTHON_DISABLED_INSTRUMENTATIONS), naming how to turn it off."""
    if _AUTO_INSTRUMENTATION not in sys.modules:  # instrument() from code: the program chose what runs
        return
    from importlib.metadata import entry_points

    disabled = {name.strip() for name in os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    if "*" in disabled:  # every instrumentation off (the program instruments in code)
        return
    for point in entry_points(group="opentelemetry_instrumentor"):
        module = point.value.partition(":")[0].strip()
        if _OTHER_INSTRUMENTATIONS.get(module) != sdk or point.name in disabled or module in _warned:
            continue
        _warned.add(module)
        distribution = getattr(getattr(point, "dist", None), "name", None) or module
        logger.warning(
            "otel-llmcost: %s is enabled too: it records its own span with the token usage of every %s call, "
            "so spend and token metrics would count each call twice. Turn it off with "
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=%s (otel-llmcost's own entry points end in _llmcost).",
            distribution,
            sdk,
            ",".join(sorted(disabled - {""} | {point.name})),
        )

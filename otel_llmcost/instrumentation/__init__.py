"""Auto-instrumentation of LLM SDKs: a generic core and one thin adapter per provider."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import Any

from otel_llmcost.instrumentation.instrumentor import LLMInstrumentor

logger = logging.getLogger("otel_llmcost")

# adapter module:class, and the SDK module it needs
ADAPTERS = (
    ("otel_llmcost.instrumentation.openai:OpenAIInstrumentor", "openai"),
    ("otel_llmcost.instrumentation.anthropic:AnthropicInstrumentor", "anthropic"),
)


def _instrumentors() -> list[LLMInstrumentor]:
    found = []
    for target, sdk in ADAPTERS:
        if importlib.util.find_spec(sdk) is None:
            continue
        module_name, class_name = target.split(":")
        found.append(getattr(importlib.import_module(module_name), class_name)())
    return found


def instrument(**kwargs: Any) -> list[str]:
    """Instrument every supported LLM SDK that is installed; returns their names.

    Keyword arguments go to each instrumentor: ``tracer_provider``, ``meter_provider``,
    ``capture_content``, ``redact``. Calling it twice is harmless.
    """
    names = []
    for instrumentor in _instrumentors():
        try:
            instrumentor.instrument(**kwargs)
        except Exception:
            logger.warning("otel-llmcost: could not instrument %s", type(instrumentor).__name__, exc_info=True)
            continue
        names.append(type(instrumentor).__name__)
    return names


def uninstrument() -> None:
    """Restore every patched SDK method."""
    for instrumentor in _instrumentors():
        instrumentor.uninstrument()

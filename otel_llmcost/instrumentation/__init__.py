"""Auto-instrumentation of LLM SDKs: a generic core and one thin adapter per provider.

The core, which every adapter may use: ``core`` (one call's span, cost and metrics),
``streams`` (an SDK stream reporting as it is read), ``content`` (semconv message parts),
``fingerprint`` (the prompt fingerprint) and ``instrumentor``. An adapter package
(``openai``, ``anthropic``) depends on the core only, never on another adapter.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
from typing import Any

from otel_llmcost.instrumentation.instrumentor import LLMInstrumentor

logger = logging.getLogger("otel_llmcost")

# adapter module:class, the module it patches and the distribution that provides that module
# (``agents`` is a common name for a project's own package: only openai-agents' counts)
ADAPTERS = (
    ("otel_llmcost.instrumentation.openai:OpenAIInstrumentor", "openai", "openai"),
    ("otel_llmcost.instrumentation.anthropic:AnthropicInstrumentor", "anthropic", "anthropic"),
    ("otel_llmcost.agents.openai_agents:OpenAIAgentsInstrumentor", "agents", "openai-agents"),
)


def _installed(module: str, distribution: str) -> bool:
    try:
        if importlib.util.find_spec(module) is None:
            return False
        importlib.metadata.distribution(distribution)
    except (ImportError, ValueError):  # PackageNotFoundError is an ImportError
        return False
    return True


def _instrumentors() -> list[LLMInstrumentor]:
    """One instrumentor per installed SDK; an adapter that fails to load is skipped with a warning."""
    found = []
    for target, module, distribution in ADAPTERS:
        if not _installed(module, distribution):
            continue
        module_name, class_name = target.split(":")
        try:
            found.append(getattr(importlib.import_module(module_name), class_name)())
        except Exception as exc:  # an SDK version the adapter cannot import, a broken install...
            logger.warning(
                "otel-llmcost: skipping the %s adapter (%s), it failed to load: %s: %s",
                module,
                target,
                type(exc).__name__,
                exc,
                exc_info=True,
            )
    return found


def instrument(**kwargs: Any) -> list[str]:
    """Instrument every supported LLM SDK that is installed; returns their names.

    Covers the openai and anthropic SDKs and the OpenAI Agents SDK (``openai-agents``).
    Keyword arguments go to each instrumentor: ``tracer_provider``, ``meter_provider``,
    ``capture_content``, ``redact``. Calling it twice is harmless; an adapter that fails
    to load or to instrument is logged and skipped, the others go on.
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
        try:
            instrumentor.uninstrument()
        except Exception:
            logger.warning("otel-llmcost: could not uninstrument %s", type(instrumentor).__name__, exc_info=True)

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


def instrument(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    capture_content: bool | None = None,
    redact: Any = None,
) -> list[str]:
    """Instrument every supported LLM SDK that is installed; returns the names of the instrumentors
    now enabled.

    Covers the openai and anthropic SDKs and the OpenAI Agents SDK (``openai-agents``). The
    settings go to each instrumentor: an OpenTelemetry ``tracer_provider`` and ``meter_provider``
    (default: the global ones), ``capture_content`` (default: the
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT variable) and ``redact`` (a function that
    gets the message list and returns what may be recorded). A setting of the wrong kind raises
    TypeError, naming it. Calling it again is harmless: an SDK already instrumented keeps the
    settings it was instrumented with (``uninstrument()`` first to change them). An adapter that
    fails to load or to instrument, or an SDK version outside an adapter's supported range, is
    logged and left out; the others go on.
    """
    providers = (
        ("tracer_provider", tracer_provider, "TracerProvider", "get_tracer"),
        ("meter_provider", meter_provider, "MeterProvider", "get_meter"),
    )
    for name, value, kind, method in providers:
        if value is not None and (isinstance(value, type) or not callable(getattr(value, method, None))):
            got = type(value).__name__
            if isinstance(value, type):
                got = f"the class {value.__name__}: pass {value.__name__}()"
            raise TypeError(f"instrument({name}=...) takes an OpenTelemetry {kind}, got {got}")
    if redact is not None and not callable(redact):
        raise TypeError(f"instrument(redact=...) takes a function of the message list, got {type(redact).__name__}")
    kwargs = {
        "tracer_provider": tracer_provider,
        "meter_provider": meter_provider,
        "capture_content": capture_content,
        "redact": redact,
    }
    names = []
    for instrumentor in _instrumentors():
        name = type(instrumentor).__name__
        if not instrumentor.is_instrumented_by_opentelemetry:
            try:
                instrumentor.instrument(**kwargs)
            except Exception:
                logger.warning("otel-llmcost: could not instrument %s", name, exc_info=True)
                continue
            if not instrumentor.is_instrumented_by_opentelemetry:
                _log_declined(instrumentor)
                continue
        names.append(name)
    return names


def _log_declined(instrumentor: LLMInstrumentor) -> None:
    """OpenTelemetry's ``instrument()`` declined without raising: the installed SDK is a version the
    adapter does not support (OpenTelemetry logs the conflict too, in its own words)."""
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

    conflict = get_dependency_conflicts(list(instrumentor.instrumentation_dependencies()))
    logger.warning(
        "otel-llmcost: %s is not enabled: %s. Its calls are not recorded; install a supported version "
        "(pip install '%s').",
        type(instrumentor).__name__,
        str(conflict).rstrip(".") if conflict else "OpenTelemetry declined to instrument it",
        getattr(conflict, "required", None) or ", ".join(instrumentor.instrumentation_dependencies()),
    )


def uninstrument() -> None:
    """Restore every patched SDK method (the SDKs ``instrument()`` did not enable are left alone)."""
    for instrumentor in _instrumentors():
        if not instrumentor.is_instrumented_by_opentelemetry:
            continue
        try:
            instrumentor.uninstrument()
        except Exception:
            logger.warning("otel-llmcost: could not uninstrument %s", type(instrumentor).__name__, exc_info=True)

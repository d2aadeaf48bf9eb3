"""``OpenAIInstrumentor``: patches the openai SDK's request choke point and stream exits."""

from __future__ import annotations

import importlib
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from otel_llmcost.instrumentation.core import Telemetry
from otel_llmcost.instrumentation.instrumentor import LLMInstrumentor

_BASE_CLIENT = "openai._base_client"
_STREAMING = "openai._streaming"
# The managers of a ``with`` block around a stream: (module, sync manager, async manager). The stream
# helpers' (the Responses ones came in openai 1.66), and .with_streaming_response's.
_HELPERS = (
    ("openai._response", "ResponseContextManager", "AsyncResponseContextManager"),
    ("openai.lib.streaming.chat._completions", "ChatCompletionStreamManager", "AsyncChatCompletionStreamManager"),
    ("openai.lib.streaming.responses._responses", "ResponseStreamManager", "AsyncResponseStreamManager"),
)


class OpenAIInstrumentor(LLMInstrumentor):
    """Records every Chat Completions, Responses, Embeddings and Completions call of the
    openai SDK (1.x to 3.x, sync and async, OpenAI, Azure and OpenAI-compatible servers)."""

    _instruments = ("openai >= 1.40",)

    def _patch(self, telemetry: Telemetry) -> None:
        # Imported here: the SDK is loaded only when instrumentation is asked for.
        from otel_llmcost.instrumentation.openai import client

        wrap_function_wrapper(_BASE_CLIENT, "SyncAPIClient.request", client.wrap_request(telemetry))
        wrap_function_wrapper(_BASE_CLIENT, "AsyncAPIClient.request", client.wrap_async_request(telemetry))
        wrap_function_wrapper(_STREAMING, "Stream.__exit__", client.stream_exit)
        wrap_function_wrapper(_STREAMING, "AsyncStream.__aexit__", client.async_stream_exit)
        for module, sync_manager, async_manager in _helper_modules():
            wrap_function_wrapper(module, f"{sync_manager}.__exit__", client.stream_exit)
            wrap_function_wrapper(module, f"{async_manager}.__aexit__", client.async_stream_exit)

    def _unpatch(self, **kwargs: Any) -> None:
        import openai._base_client
        import openai._streaming

        unwrap(openai._base_client.SyncAPIClient, "request")
        unwrap(openai._base_client.AsyncAPIClient, "request")
        unwrap(openai._streaming.Stream, "__exit__")
        unwrap(openai._streaming.AsyncStream, "__aexit__")
        for module, sync_manager, async_manager in _helper_modules():
            unwrap(getattr(module, sync_manager), "__exit__")
            unwrap(getattr(module, async_manager), "__aexit__")


def _helper_modules() -> list[tuple[Any, str, str]]:
    """The stream helper modules this openai version has, imported."""
    found = []
    for name, sync_manager, async_manager in _HELPERS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, sync_manager) and hasattr(module, async_manager):
            found.append((module, sync_manager, async_manager))
    return found

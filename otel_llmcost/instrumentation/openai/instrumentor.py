"""``OpenAIInstrumentor``: patches the openai SDK's request choke point and stream exits."""

from __future__ import annotations

from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from otel_llmcost.instrumentation.core import Telemetry
from otel_llmcost.instrumentation.instrumentor import LLMInstrumentor

_BASE_CLIENT = "openai._base_client"
_STREAMING = "openai._streaming"


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

    def _unpatch(self, **kwargs: Any) -> None:
        import openai._base_client
        import openai._streaming

        unwrap(openai._base_client.SyncAPIClient, "request")
        unwrap(openai._base_client.AsyncAPIClient, "request")
        unwrap(openai._streaming.Stream, "__exit__")
        unwrap(openai._streaming.AsyncStream, "__aexit__")

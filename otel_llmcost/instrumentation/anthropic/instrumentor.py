"""``AnthropicInstrumentor``: patches the anthropic SDK's request choke point, the exits of its
streams and stream helpers, and (anthropic 2.x) the tracer its own spans come from."""

from __future__ import annotations

import importlib
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from otel_llmcost.instrumentation.core import Telemetry
from otel_llmcost.instrumentation.instrumentor import LLMInstrumentor

_BASE_CLIENT = "anthropic._base_client"
# (module, class, exit method): every object a user may hold in a ``with`` block around a stream
_STREAM_EXITS = (
    ("anthropic._streaming", "Stream", "__exit__"),
    ("anthropic._streaming", "AsyncStream", "__aexit__"),
    ("anthropic._response", "ResponseContextManager", "__exit__"),  # .with_streaming_response
    ("anthropic._response", "AsyncResponseContextManager", "__aexit__"),
    ("anthropic.lib.streaming._messages", "MessageStream", "__exit__"),
    ("anthropic.lib.streaming._messages", "MessageStreamManager", "__exit__"),
    ("anthropic.lib.streaming._messages", "AsyncMessageStream", "__aexit__"),
    ("anthropic.lib.streaming._messages", "AsyncMessageStreamManager", "__aexit__"),
    ("anthropic.lib.streaming._beta_messages", "BetaMessageStream", "__exit__"),
    ("anthropic.lib.streaming._beta_messages", "BetaMessageStreamManager", "__exit__"),
    ("anthropic.lib.streaming._beta_messages", "BetaAsyncMessageStream", "__aexit__"),
    ("anthropic.lib.streaming._beta_messages", "BetaAsyncMessageStreamManager", "__aexit__"),
)


class AnthropicInstrumentor(LLMInstrumentor):
    """Records every Messages call of the anthropic SDK (0.x to 2.x, sync and async, beta included,
    on Anthropic, AWS Bedrock and Google Vertex AI clients). ``count_tokens`` is not a billed call
    and gets no span of ours."""

    _instruments = ("anthropic >= 0.60",)  # the oldest release its tests were run against
    _sdk = "anthropic"

    def _patch(self, telemetry: Telemetry) -> None:
        # Imported here: the SDK is loaded only when instrumentation is asked for.
        from otel_llmcost.instrumentation.anthropic import client, sdk_tracing

        wrap_function_wrapper(_BASE_CLIENT, "SyncAPIClient.request", client.wrap_request(telemetry))
        wrap_function_wrapper(_BASE_CLIENT, "AsyncAPIClient.request", client.wrap_async_request(telemetry))
        for owner, method in _stream_exits():
            wrapper = client.async_stream_exit if method == "__aexit__" else client.stream_exit
            wrap_function_wrapper(owner, method, wrapper)
        sdk_tracing.patch()

    def _unpatch(self, **kwargs: Any) -> None:
        import anthropic._base_client

        from otel_llmcost.instrumentation.anthropic import sdk_tracing

        unwrap(anthropic._base_client.SyncAPIClient, "request")
        unwrap(anthropic._base_client.AsyncAPIClient, "request")
        for owner, method in _stream_exits():
            unwrap(owner, method)
        sdk_tracing.unpatch()


def _stream_exits() -> list[tuple[type, str]]:
    """The stream classes this SDK version has (older ones lack some helpers)."""
    found = []
    for module_name, class_name, method in _STREAM_EXITS:
        try:
            owner = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        if method in vars(owner):
            found.append((owner, method))
    return found

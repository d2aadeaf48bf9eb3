"""``OpenAIInstrumentor``: patches the openai SDK's request choke point and stream exits."""

from __future__ import annotations

import importlib
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from otel_llmcost.instrumentation.core import Telemetry
from otel_llmcost.instrumentation.instrumentor import LLMInstrumentor

_BASE_CLIENT = "openai._base_client"
_BETA_CHAT = "openai.resources.beta.chat.completions"
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
    _sdk = "openai"

    def _patch(self, telemetry: Telemetry) -> None:
        # Imported here: the SDK is loaded only when instrumentation is asked for.
        from otel_llmcost.instrumentation.openai import client

        parse_after = _parses_after_request()
        wrap_function_wrapper(_BASE_CLIENT, "SyncAPIClient.request", client.wrap_request(telemetry, parse_after))
        wrap_function_wrapper(_BASE_CLIENT, "AsyncAPIClient.request", client.wrap_async_request(telemetry, parse_after))
        if parse_after:
            wrap_function_wrapper(_BETA_CHAT, "Completions.parse", client.parse_after_request)
            wrap_function_wrapper(_BETA_CHAT, "AsyncCompletions.parse", client.async_parse_after_request)
        wrap_function_wrapper(_STREAMING, "Stream.__exit__", client.stream_exit)
        wrap_function_wrapper(_STREAMING, "AsyncStream.__aexit__", client.async_stream_exit)
        for module, sync_manager, async_manager in _helper_modules():
            wrap_function_wrapper(module, f"{sync_manager}.__exit__", client.stream_exit)
            wrap_function_wrapper(module, f"{async_manager}.__aexit__", client.async_stream_exit)
        for connection_class, asynchronous in _websocket_connections():
            _patch_websocket(connection_class, asynchronous, telemetry)

    def _unpatch(self, **kwargs: Any) -> None:
        import openai._base_client
        import openai._streaming

        unwrap(openai._base_client.SyncAPIClient, "request")
        unwrap(openai._base_client.AsyncAPIClient, "request")
        if _parses_after_request():
            beta_chat = importlib.import_module(_BETA_CHAT)
            unwrap(beta_chat.Completions, "parse")
            unwrap(beta_chat.AsyncCompletions, "parse")
        unwrap(openai._streaming.Stream, "__exit__")
        unwrap(openai._streaming.AsyncStream, "__aexit__")
        for module, sync_manager, async_manager in _helper_modules():
            unwrap(getattr(module, sync_manager), "__exit__")
            unwrap(getattr(module, async_manager), "__aexit__")
        for connection_class, _ in _websocket_connections():
            for name in _WEBSOCKET_METHODS:
                wrapper = vars(connection_class).get(name)
                if wrapper is not None and hasattr(wrapper, "__wrapped__"):
                    if getattr(wrapper, "_self_inherited", False):
                        delattr(connection_class, name)  # the base class's method again
                    else:
                        setattr(connection_class, name, wrapper.__wrapped__)


# The Responses API's WebSocket mode (openai 3.x): what it sends, receives (every event is parsed by
# parse_event, whether read with recv(), by iterating, or with recv_bytes()), and its close.
_WEBSOCKET_METHODS = ("send", "parse_event", "close")


def _websocket_connections() -> list[tuple[type, bool]]:
    try:
        from openai.resources.responses import responses as module
    except ImportError:
        return []
    found = [(getattr(module, name, None), asynchronous) for name, asynchronous in _WEBSOCKET_CLASSES]
    return [(cls, asynchronous) for cls, asynchronous in found if isinstance(cls, type)]


_WEBSOCKET_CLASSES = (("ResponsesConnection", False), ("AsyncResponsesConnection", True))


def _patch_websocket(connection_class: type, asynchronous: bool, telemetry: Telemetry) -> None:
    from wrapt import FunctionWrapper

    from otel_llmcost.instrumentation.openai import websocket

    def parse_event(wrapped: Any, connection: Any, args: Any, kwargs: Any) -> Any:
        event = wrapped(*args, **kwargs)
        websocket.received(telemetry, connection, event)  # guarded: never raises
        return event

    def send(wrapped: Any, connection: Any, args: Any, kwargs: Any) -> Any:
        create = websocket.sending(telemetry, connection, args[0] if args else kwargs.get("event"))
        try:
            return wrapped(*args, **kwargs)
        except BaseException:
            websocket.unsent(connection, create)
            raise

    async def async_send(wrapped: Any, connection: Any, args: Any, kwargs: Any) -> Any:
        create = websocket.sending(telemetry, connection, args[0] if args else kwargs.get("event"))
        try:
            return await wrapped(*args, **kwargs)
        except BaseException:
            websocket.unsent(connection, create)
            raise

    def close(wrapped: Any, connection: Any, args: Any, kwargs: Any) -> Any:
        try:
            return wrapped(*args, **kwargs)
        finally:
            websocket.closed(connection)

    async def async_close(wrapped: Any, connection: Any, args: Any, kwargs: Any) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        finally:
            websocket.closed(connection)

    wrappers = {
        "send": async_send if asynchronous else send,
        "parse_event": parse_event,
        "close": async_close if asynchronous else close,
    }
    for name in _WEBSOCKET_METHODS:
        inherited = name not in vars(connection_class)
        wrapper = FunctionWrapper(getattr(connection_class, name), wrappers[name])
        wrapper._self_inherited = inherited  # wrapt keeps _self_ names on the wrapper itself
        setattr(connection_class, name, wrapper)


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


def _parses_after_request() -> bool:
    """openai 1.40 to 1.49, whose ``beta.chat.completions.parse()`` parses after its request returned
    (``client.parse_after_request``)."""
    import openai

    try:
        major, minor = (int(part) for part in openai.__version__.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) < (1, 50)

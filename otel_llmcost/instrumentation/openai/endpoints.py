"""The OpenAI API paths we record, and what reads each one."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.openai import chat, completions, embeddings, responses
from otel_llmcost.instrumentation.streams import StreamState


@dataclass(frozen=True, slots=True)
class Endpoint:
    operation: str
    describe: Callable[[Mapping[str, Any], core.Request], None]  # fills the request's attributes from the body
    read: Callable[[Any], core.Response]  # the parsed response object
    # called with "usage was injected" and the request's body
    stream_state: Callable[[bool, Mapping[str, Any] | None], StreamState] | None = None
    # The endpoint accepts stream_options.include_usage, so a stream's usage can be asked for.
    usage_option: bool = False
    # Where the SDK's model of the response is ("module:Name"): a body the user asked for as plain JSON
    # (``client.post(..., cast_to=object)``, ``cast_to=httpx.Response``) is read as that model.
    model: str = ""
    # The SDK's model of a streamed chunk or event: a stream the user read as bytes is read as those.
    chunk_model: str = ""

    def response_model(self) -> type | None:
        """The SDK's response model, or None where this SDK release has none."""
        return _sdk_type(self.model)

    def chunk_type(self) -> Any:
        """The SDK's type of a streamed chunk or event (a union of events), or None."""
        return _sdk_type(self.chunk_model)


def _sdk_type(where: str) -> Any:
    module, _, name = where.partition(":")
    if not name:
        return None
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


ENDPOINTS = {
    "/chat/completions": Endpoint(
        sc.OP_CHAT,
        chat.describe,
        chat.read,
        chat.ChatStream,
        True,
        "openai.types.chat:ChatCompletion",
        "openai.types.chat:ChatCompletionChunk",
    ),
    "/responses": Endpoint(
        sc.OP_CHAT,
        responses.describe,
        responses.read,
        lambda injected_usage, body: responses.ResponseStream(injected_usage),
        model="openai.types.responses:Response",
        chunk_model="openai.types.responses:ResponseStreamEvent",
    ),
    "/responses/compact": Endpoint(
        sc.OP_CHAT, responses.describe, responses.read_compaction, model="openai.types.responses:CompactedResponse"
    ),
    "/embeddings": Endpoint(
        sc.OP_EMBEDDINGS, embeddings.describe, embeddings.read, model="openai.types:CreateEmbeddingResponse"
    ),
    "/completions": Endpoint(
        sc.OP_TEXT_COMPLETION,
        completions.describe,
        completions.read,
        lambda injected_usage, body: completions.CompletionStream(injected_usage),
        True,
        "openai.types:Completion",
        "openai.types:Completion",
    ),
}

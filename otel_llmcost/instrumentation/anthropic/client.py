"""The one choke point: the SDK client's internal ``request`` method.

``messages.create`` (streamed or not), ``messages.stream()``, ``messages.parse()``, their beta
twins, ``.with_raw_response`` / ``.with_streaming_response`` and the Bedrock and Vertex clients
all end in ``SyncAPIClient.request`` or ``AsyncAPIClient.request`` with the request options, the
URL still ``/v1/messages`` (the cloud clients rewrite it later, per attempt). We start the call's
span there and chain a ``post_parser`` into the options: the SDK hands it every parsed result,
a message or a stream, whether it parses at once or when the user calls ``.parse()`` on a raw
response later, so the body is never read twice. The most common call, a plain non-streaming
``messages.create``, takes ``fast_messages`` instead: the same span, built without the tracker.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import anthropic
from anthropic._models import construct_type
from anthropic._response import BaseAPIResponse
from opentelemetry import context

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import attach_for_provider, for_provider
from otel_llmcost.instrumentation import core, raw_bodies, streams
from otel_llmcost.instrumentation.anthropic import fast_messages, messages, sdk_tracing
from otel_llmcost.instrumentation.anthropic.providers import (
    bill_by_request_model,
    regional_premium_not_priced,
    server_of,
)

_STREAMS = (anthropic.Stream, anthropic.AsyncStream)
_MESSAGES_PATH = "/v1/messages"  # count_tokens and batches have paths of their own: no usage to price
# log_once keys of the steps that catch in place (no guarded frame on the hot path)
_START_KEY = f"{__name__}._start"
_FAST_START_KEY = f"{fast_messages.__name__}.start"
_DESCRIBE_KEY = f"{__name__}._describe"
_PARSED_KEY = f"{__name__}._Tracker.parse"
_FINISHED_KEY = f"{__name__}._Tracker.finished"


def _raw_response_types() -> tuple[type, ...]:
    try:  # anthropic < 2 returns these from .with_raw_response
        from anthropic._legacy_response import LegacyAPIResponse
    except ImportError:
        return (BaseAPIResponse,)
    return (BaseAPIResponse, LegacyAPIResponse)


_RAW_RESPONSES = _raw_response_types()


class _Tracker(core.LLMCall):
    """One request's call, from the request to the parsed result (or the stream's end): the
    ``LLMCall`` plus what the SDK's request needs (one object per call, not two)."""

    __slots__ = (
        "request",
        "response",
        "streaming",
        "returned",
        "returned_at",
        "kept",
        "options",
        "saved",
        "post_parser",
    )

    def __init__(self, telemetry: core.Telemetry, request: core.Request, options: Any) -> None:
        core.LLMCall.__init__(self, telemetry, request)
        self.request = request
        self.response: core.Response | None = None
        self.streaming = False
        self.returned = False
        self.returned_at: tuple[int, float] | None = None  # a raw response's body read: the call's end
        self.kept: raw_bodies.Kept | None = None  # a raw response's body as the user reads it themselves
        self.options = options
        self.saved = post_parser = options.post_parser
        self.post_parser: Callable[[Any], Any] | None = post_parser if callable(post_parser) else None
        options.__dict__["post_parser"] = self.parse  # chained: the SDK hands us every parsed result

    def __deepcopy__(self, memo: dict[int, Any]) -> _Tracker:
        # The Bedrock and Vertex clients deep-copy the request options, our post_parser among
        # them, on every attempt: the copy must still be this call (and its span's locks cannot be copied).
        return self

    def parse(self, result: Any) -> Any:
        """The post_parser the SDK hands every parsed result to. We look first, so a user's
        post_parser that raises (``messages.parse()`` of an answer that fails validation)
        cannot hide the usage."""
        try:
            if self.kept is not None:  # a raw response parsed: the SDK read its body
                raw_bodies.drop(self.kept)
                self.kept = None
            if isinstance(result, Mapping):  # asked for as plain JSON (client.post(..., cast_to=object))
                if not self._ended and (response := self._read_body(result)) is not None:
                    self.response = response
                    if self.returned:
                        self.end(self.response, ended=self.returned_at)
            elif isinstance(result, anthropic.BaseModel) and getattr(result, "type", None) == "message":
                if not self._ended:
                    self.response = bill_by_request_model(messages.read(result), self.request)
                    if self.returned:  # a raw response parsed after the request returned
                        self.end(self.response, ended=self.returned_at)
            elif isinstance(result, _STREAMS) and not self.streaming:
                self.streaming = True
                streams.instrument(result, self, _StreamState(self.request), isinstance(result, anthropic.AsyncStream))
        except Exception:
            core.log_failure(_PARSED_KEY)
            if isinstance(result, _STREAMS) and not streams.instrumented(result):
                streams.not_instrumented(self)
        post_parser = self.post_parser
        return result if post_parser is None else post_parser(result)

    def failed(self, error: BaseException) -> None:
        self.end(self.response, error=error)  # never raises

    def finished(self, result: Any) -> None:
        """The SDK's request returned ``result`` (the wrappers end a parsed response's call themselves)."""
        if self.streaming:
            return  # the stream ends the call
        if self.response is None and isinstance(result, _RAW_RESPONSES):
            # with_raw_response / with_streaming_response: the body is parsed when the user asks.
            self.returned = True
            self.returned_at = core.read_whole_at(result)
            try:
                _raw_calls[result] = self
                # the HTTP response outlives the raw one for the callback: its body, if read, has the usage
                weakref.finalize(result, self.abandoned, getattr(result, "http_response", None))
                if self.returned_at is None:  # its body unread: the user may read it themselves
                    self.kept = raw_bodies.tee(getattr(result, "http_response", None), self.first_chunk)
            except Exception:
                core.log_failure(_FINISHED_KEY)
            return
        if self.response is None:
            # client.post(..., cast_to=httpx.Response): the user got the HTTP response, its body read
            # by the SDK unless streamed (never read here: the user may still read it)
            try:
                body = core.json_body(result)
                if body is not None:
                    self.response = self._read_body(body)
            except Exception:
                core.log_failure(_FINISHED_KEY)
        self.end(self.response)  # never raises

    def abandoned(self, http_response: Any = None, error: BaseException | None = None) -> None:
        """A raw response was closed or dropped without ``.parse()`` (``core.end_unparsed``)."""
        if not self.streaming and not self._ended:
            core.end_unparsed(
                self, http_response, self._read_body, error, self.returned_at, _FINISHED_KEY, self._read_kept
            )
        raw_bodies.drop(self.kept)
        self.kept = None

    def _read_body(self, body: Any) -> core.Response | None:
        if not (isinstance(body, Mapping) and body.get("type") == "message"):
            return None
        message = construct_type(type_=anthropic.types.Message, value=body)
        return bill_by_request_model(messages.read(message), self.request)

    def _read_kept(self) -> core.Response | None:
        from anthropic._streaming import SSEDecoder

        return raw_bodies.read_kept(self.kept, self._read_body, self._read_events, SSEDecoder)

    def _read_events(self, events: Iterator[dict[str, Any]]) -> core.Response | None:
        """A stream the user read as bytes, read event by event as the SDK's stream would have been."""
        event_type = getattr(anthropic.types, "RawMessageStreamEvent", None)
        if event_type is None:
            return None
        return raw_bodies.replay(_StreamState(self.request), events, event_type, construct_type)


class _StreamState(messages.MessageStream):
    """The Messages stream state, priced by the model id the cloud clients bill by."""

    __slots__ = ("request",)

    def __init__(self, request: core.Request) -> None:
        super().__init__()
        self.request = request

    def response(self) -> core.Response:
        return bill_by_request_model(super().response(), self.request)


def _start(telemetry: core.Telemetry, client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Tracker | None:
    """The call's tracker, or None for a request we do not record. May raise: the wrappers catch."""
    options = args[1] if len(args) > 1 else kwargs["options"]
    if options.method != "post" or options.url.partition("?")[0] != _MESSAGES_PATH:
        return None
    body = options.json_data
    if type(body) is not dict and not isinstance(body, Mapping):
        return None
    extra = options.extra_json
    if extra and isinstance(extra, Mapping):
        body = {**body, **extra}
    server = server_of(client)
    model = body.get("model")
    request = core.new_request(
        operation=sc.OP_CHAT,
        provider=server.provider,
        model=model if isinstance(model, str) else None,
        server_address=server.address,
        server_port=server.port,
        stream=body.get("stream") is True or kwargs.get("stream") is True,
        body=body,
    )
    try:
        messages.describe(body, request)
        if server.provider == sc.PROVIDER_AWS_BEDROCK and (guardrail := core.bedrock_guardrail_of(options.headers)):
            request.attributes[sc.AWS_BEDROCK_GUARDRAIL_ID] = guardrail
        regional_premium_not_priced(server.provider, server.address, request.model)
    except Exception:  # the call is still recorded, with what the request description got to
        core.log_failure(_DESCRIBE_KEY)
    return _Tracker(telemetry, request, options)


def wrap_request(telemetry: core.Telemetry) -> Callable[..., Any]:
    """The wrapt wrapper of ``SyncAPIClient.request``."""

    def request(wrapped: Callable[..., Any], client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            call = fast_messages.start(
                telemetry, client, args[1] if len(args) > 1 else kwargs["options"], kwargs.get("stream")
            )
        except Exception:  # the general path records the call
            core.log_failure(_FAST_START_KEY)
            call = None
        if call is not None:  # the common Messages call: the general path's span, built with less
            token = context.attach(call[1])
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as error:
                fast_messages.finish(telemetry, call, None, error)  # never raises
                raise
            finally:
                context.detach(token)
            fast_messages.finish(telemetry, call, result)
            return result
        try:
            tracker = _start(telemetry, client, args, kwargs)
        except Exception:
            core.log_failure(_START_KEY)
            tracker = None
        if tracker is None:  # count_tokens, batches, models: the SDK's own span, if any, and no attribution
            token = attach_for_provider()
            try:
                return wrapped(*args, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)
        token = context.attach(sdk_tracing.call_context(tracker.span, for_provider()))
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            tracker.failed(error)
            raise
        finally:
            context.detach(token)
            # The SDK sent a copy of the options: the caller's object goes back as it was.
            tracker.options.__dict__["post_parser"] = tracker.saved
        if tracker.response is not None and not tracker.streaming:
            tracker.end(tracker.response)  # the common case of finished(), inline; never raises
        else:
            tracker.finished(result)
        return result

    return request


def wrap_async_request(telemetry: core.Telemetry) -> Callable[..., Any]:
    """The wrapt wrapper of ``AsyncAPIClient.request``."""

    async def request(wrapped: Callable[..., Any], client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            call = fast_messages.start(
                telemetry, client, args[1] if len(args) > 1 else kwargs["options"], kwargs.get("stream")
            )
        except Exception:  # the general path records the call
            core.log_failure(_FAST_START_KEY)
            call = None
        if call is not None:  # the common Messages call: the general path's span, built with less
            token = context.attach(call[1])
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as error:
                fast_messages.finish(telemetry, call, None, error)  # never raises
                raise
            finally:
                context.detach(token)
            fast_messages.finish(telemetry, call, result)
            return result
        try:
            tracker = _start(telemetry, client, args, kwargs)
        except Exception:
            core.log_failure(_START_KEY)
            tracker = None
        if tracker is None:  # count_tokens, batches, models: the SDK's own span, if any, and no attribution
            token = attach_for_provider()
            try:
                return await wrapped(*args, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)
        token = context.attach(sdk_tracing.call_context(tracker.span, for_provider()))
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            tracker.failed(error)
            raise
        finally:
            context.detach(token)
            # The SDK sent a copy of the options: the caller's object goes back as it was.
            tracker.options.__dict__["post_parser"] = tracker.saved
        if tracker.response is not None and not tracker.streaming:
            tracker.end(tracker.response)  # the common case of finished(), inline; never raises
        else:
            tracker.finished(result)
        return result

    return request


def stream_exit(wrapped: Callable[..., Any], owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``__exit__`` of a stream, a stream helper or its manager: an exception leaving the user's
    ``with`` block ends the call with it (the exit would close the stream, ending it without)."""
    _record_exit(owner, args)
    return wrapped(*args, **kwargs)


async def async_stream_exit(
    wrapped: Callable[..., Any], owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    _record_exit(owner, args)
    return await wrapped(*args, **kwargs)


@core.guarded()
def _record_exit(owner: Any, args: tuple[Any, ...]) -> None:
    streams.exit_owner_with_error(owner, args, _STREAMS)
    # A .with_streaming_response block left without .parse(): the response closes with the block, and
    # nothing else would end the call until the garbage collector took the response
    for value in vars(owner).values():
        call = _raw_calls.get(value) if isinstance(value, _RAW_RESPONSES) else None
        if call is not None:
            call.abandoned(getattr(value, "http_response", None), args[1] if len(args) > 1 else None)


# A raw response -> its call, until it is parsed, closed or dropped
_raw_calls: weakref.WeakKeyDictionary[Any, _Tracker] = weakref.WeakKeyDictionary()

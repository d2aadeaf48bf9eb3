"""The one choke point: the SDK client's internal ``request`` method.

Every resource method (``create``, ``parse``, ``stream``, ``with_raw_response``,
``with_streaming_response``, the Azure client) ends in ``SyncAPIClient.request`` or
``AsyncAPIClient.request`` with the final request options. We look the URL path up in
``ENDPOINTS``, start the call's span, and chain a ``post_parser`` into the options: the
SDK hands every parsed result to it, whether it parses at once or when the user calls
``.parse()`` on a raw response later, so the body is never read twice.
"""

from __future__ import annotations

import contextlib
import functools
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import openai
from openai._constants import RAW_RESPONSE_HEADER
from openai._legacy_response import LegacyAPIResponse
from openai._models import construct_type
from openai._response import BaseAPIResponse
from opentelemetry import context, trace

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import attach_for_provider, for_provider
from otel_llmcost.instrumentation import core, raw_bodies, streams
from otel_llmcost.instrumentation.openai import chat, fast_chat, responses
from otel_llmcost.instrumentation.openai.endpoints import ENDPOINTS, Endpoint
from otel_llmcost.instrumentation.openai.providers import Server, is_openai_api, server_of

_RAW_RESPONSES = (BaseAPIResponse, LegacyAPIResponse)
_STREAMS = (openai.Stream, openai.AsyncStream)
_INCLUDE_USAGE = {"include_usage": True}
# log_once keys of the steps that catch in place (no guarded frame on the hot path)
_START_KEY = f"{__name__}._start"
_FAST_START_KEY = f"{fast_chat.__name__}.start"
_DESCRIBE_KEY = f"{__name__}._describe"
_PARSED_KEY = f"{__name__}._Tracker.parse"
_FINISHED_KEY = f"{__name__}._Tracker.finished"
_RESTORE_KEY = f"{__name__}._Tracker.restore_options"
_RETRIEVAL_KEY = f"{__name__}._watch_retrieval"


class _Tracker(core.LLMCall):
    """One request's call, from the request to the parsed result (or the stream's end): the
    ``LLMCall`` plus what the SDK's request needs (one object per call, not two)."""

    __slots__ = (
        "endpoint",
        "injected_usage",
        "response",
        "streaming",
        "returned",
        "returned_at",
        "options",
        "saved",
        "post_parser",
        "cast_to",
        "kept",
        "running",
    )

    def __init__(
        self,
        telemetry: core.Telemetry,
        request: core.Request,
        endpoint: Endpoint,
        injected_usage: bool,
        options: Any,
        cast_to: Any,
    ) -> None:
        core.LLMCall.__init__(self, telemetry, request)
        self.cast_to = cast_to  # the SDK's model of the response, such as ChatCompletion
        self.endpoint = endpoint
        self.injected_usage = injected_usage
        self.response: core.Response | None = None
        self.streaming = False
        self.returned = False
        # When the request returned a raw response whose body the SDK had read: the call's end, however
        # long the user takes to parse it (None: a streamed body, read when parsed)
        self.returned_at: tuple[int, float] | None = None
        self.kept: raw_bodies.Kept | None = None  # a raw response's body as the user reads it themselves
        self.running: context.Context | None = None  # the context the SDK's request runs in: our span current
        self.options = options
        post_parser = options.post_parser
        self.saved: dict[str, Any] = {"post_parser": post_parser}
        self.post_parser: Callable[[Any], Any] | None = post_parser if callable(post_parser) else None
        # Chain our post_parser into the request options (and ask for a stream's usage).
        options.__dict__["post_parser"] = self.parse
        if injected_usage:
            self.saved["json_data"] = options.json_data
            options.__dict__["json_data"] = {**options.json_data, "stream_options": _INCLUDE_USAGE}

    def parse(self, result: Any) -> Any:
        """The post_parser the SDK hands every parsed result to. We look first, so a
        post_parser that raises (``.parse()`` of a truncated answer) cannot hide the usage. A raw response
        parsed after the request returned is read in the request's context, as one parsed inside it is
        (the Responses API remembers the call's span: its fingerprint, a background response's parent)."""
        running = self.running if self.returned else None
        token = None if running is None else context.attach(running)
        try:
            if self.kept is not None:  # a raw response parsed: the SDK read its body
                raw_bodies.drop(self.kept)
                self.kept = None
            if isinstance(result, (openai.BaseModel, Mapping)):
                if not self._ended:
                    # A raw response parsed with .parse(to=dict) gives the body as a dict: read as the model
                    model = result if isinstance(result, openai.BaseModel) else self._as_model(result)
                    self.response = self.endpoint.read(model)
                    if self.returned:  # a raw response parsed after the request returned
                        self.end(self.response, ended=self.returned_at)
            elif isinstance(result, _STREAMS) and not self.streaming:
                stream_state = self.endpoint.stream_state
                if stream_state is not None:
                    self.streaming = True
                    state = stream_state(self.injected_usage, self._request.body)
                    streams.instrument(result, self, state, isinstance(result, openai.AsyncStream))
        except Exception:
            core.log_failure(_PARSED_KEY)
            if isinstance(result, _STREAMS) and not streams.instrumented(result):
                if self.injected_usage:
                    _hide_injected_usage(result, isinstance(result, openai.AsyncStream))
                streams.not_instrumented(self)
        finally:
            if token is not None:
                context.detach(token)
        post_parser = self.post_parser
        return result if post_parser is None else post_parser(result)

    def _as_model(self, body: Mapping[str, Any]) -> Any:
        cast_to = self.cast_to
        if not (isinstance(cast_to, type) and issubclass(cast_to, openai.BaseModel)):
            cast_to = self.endpoint.response_model()  # asked for as plain JSON (client.post(..., cast_to=object))
            if cast_to is None:
                raise TypeError(f"no model to read a {type(body).__name__} response as (cast_to={self.cast_to!r})")
        return construct_type(type_=cast_to, value=body)

    def restore_options(self, result: Any) -> None:
        """The caller's request options back as they were, once the SDK sent the request (it sent a
        copy). Never raises. Older openai 1.x releases (1.70 among them) send the caller's object
        itself, and their raw responses hand its post_parser the body only when the user calls
        ``.parse()``: there ours stays until then."""
        try:
            saved = self.saved
            if self.response is None and not self.streaming and isinstance(result, _RAW_RESPONSES):
                saved = {name: value for name, value in saved.items() if name != "post_parser"}
            self.options.__dict__.update(saved)
        except Exception:
            core.log_failure(_RESTORE_KEY)

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
                    self.response = self.endpoint.read(self._as_model(body))
            except Exception:
                core.log_failure(_FINISHED_KEY)
        self.end(self.response)  # never raises

    def abandoned(self, http_response: Any = None, error: BaseException | None = None) -> None:
        """A raw response was closed or dropped without ``.parse()`` (``core.end_unparsed``), its body read in
        the request's context, as ``parse`` reads one."""
        if not self.streaming and not self._ended:
            running = self.running
            token = None if running is None else context.attach(running)
            try:
                core.end_unparsed(
                    self, http_response, self._read_body, error, self.returned_at, _FINISHED_KEY, self._read_kept
                )
            finally:
                if token is not None:
                    context.detach(token)
        raw_bodies.drop(self.kept)
        self.kept = None

    def _read_body(self, body: Any) -> core.Response:
        return self.endpoint.read(self._as_model(body))

    def _read_kept(self) -> core.Response | None:
        from openai._streaming import SSEDecoder

        return raw_bodies.read_kept(self.kept, self._read_body, self._read_events, SSEDecoder)

    def _read_events(self, events: Iterator[dict[str, Any]]) -> core.Response | None:
        """A stream the user read as bytes, read chunk by chunk as the SDK's stream would have been."""
        stream_state, chunk_type = self.endpoint.stream_state, self.endpoint.chunk_type()
        if stream_state is None or chunk_type is None:
            return None
        return raw_bodies.replay(stream_state(False, self._request.body), events, chunk_type, construct_type)


def _hide_injected_usage(stream: Any, asynchronous: bool) -> None:
    """A stream we asked for its usage but could not instrument: the user still gets the chunks they
    would have had, without the usage-only one."""
    stream._iterator = (_shown_async if asynchronous else _shown)(stream._iterator)


def _shown(chunks: Iterator[Any]) -> Iterator[Any]:
    for chunk in chunks:
        if _is_shown(chunk):
            yield chunk


async def _shown_async(chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for chunk in chunks:
        if _is_shown(chunk):
            yield chunk


def _is_shown(chunk: Any) -> bool:
    try:
        return chat.shown_with_injected_usage(chunk)
    except Exception:
        return True  # our failure never hides a chunk


def _start(telemetry: core.Telemetry, client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Tracker | None:
    """The call's tracker, or None for a request we do not record. May raise: the wrappers catch."""
    options = args[1] if len(args) > 1 else kwargs["options"]
    endpoint = ENDPOINTS.get(options.url)
    if endpoint is None or options.method != "post":
        return None
    body = options.json_data
    if type(body) is not dict and not isinstance(body, Mapping):
        return None
    if options.extra_json:
        body = {**body, **options.extra_json}
    server = server_of(client)
    model = body.get("model")
    stream = body.get("stream") is True or kwargs.get("stream") is True
    request = core.new_request(
        operation=endpoint.operation,
        provider=server.provider,
        model=model if type(model) is str else None,
        server_address=server.address,
        server_port=server.port,
        stream=stream,
        body=body,
    )
    try:
        endpoint.describe(body, request)
    except Exception:  # the call is still recorded, with what the request description got to
        core.log_failure(_DESCRIBE_KEY)
    if server.provider == sc.PROVIDER_AWS_BEDROCK and (guardrail := core.bedrock_guardrail_of(options.headers)):
        request.attributes[sc.AWS_BEDROCK_GUARDRAIL_ID] = guardrail
    # Only into a stream the SDK reads as one: a stream asked for in the body alone (extra_body, client.post)
    # reaches the user as raw text or an HTTP response, where an injected usage chunk would show.
    injected_usage = (
        stream and kwargs.get("stream") is True and endpoint.usage_option and _may_inject_usage(options, body, server)
    )
    if stream and endpoint.usage_option and not injected_usage and not _asks_for_usage(body):
        # No usage will come (a compatible server, Azure): the end estimates, and the tokenizer loads now,
        # beside the stream, not on the caller's thread after its last chunk (~0.6 s the first time).
        from otel_llmcost.tokens import warm

        warm(request.model or "")
    return _Tracker(telemetry, request, endpoint, injected_usage, options, args[0] if args else kwargs.get("cast_to"))


@core.guarded()
def _record_retrieval(telemetry: core.Telemetry, client: Any, result: Any, started: tuple[int, float]) -> None:
    """A retrieve (or cancel) of a stored response: a background one found finished is billed, now or,
    streamed (``retrieve(id, stream=True)``), when its final event arrives."""
    if isinstance(result, _STREAMS):
        responses.watch_retrieved_stream(telemetry, client, result, started, isinstance(result, openai.AsyncStream))
    else:
        responses.record_retrieved(telemetry, client, result, started)


def _watch_retrieval(
    telemetry: core.Telemetry, client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, Any, Callable[[Any], None]] | None:
    """For a request that reads back a stored response (a background one is billed when it finishes):
    our post_parser chained into its options, so the response is read where the SDK parses it, at once
    or at a raw response's ``.parse()``. Returns (options, the caller's post_parser, the reader), or None."""
    try:
        options = args[1] if len(args) > 1 else kwargs["options"]
        if not responses.is_retrieval(options):
            return None
        started = (time.time_ns(), time.perf_counter())
        post_parser = options.post_parser

        def record(result: Any) -> None:
            if isinstance(result, Mapping):  # a raw response parsed with .parse(to=dict), or read whole
                result = construct_type(type_=openai.types.responses.Response, value=result)
            _record_retrieval(telemetry, client, result, started)  # never raises

        def parsed(result: Any) -> Any:
            try:
                record(result)
            except Exception:
                core.log_failure(_RETRIEVAL_KEY)
            return post_parser(result) if callable(post_parser) else result

        options.__dict__["post_parser"] = parsed
        return options, post_parser, record
    except Exception:
        core.log_failure(_RETRIEVAL_KEY)
        return None


def _after_retrieval(retrieval: tuple[Any, Any, Callable[[Any], None]], result: Any) -> None:
    """The caller's post_parser back once the SDK sent the request (it sent a copy); not on a raw response
    of the older openai 1.x releases that send the caller's object and parse with it later. A raw response
    read whole (``.with_raw_response``) is read now, whether or not the program parses it. Never raises."""
    try:
        options, post_parser, record = retrieval
        if not isinstance(result, _RAW_RESPONSES):
            options.__dict__["post_parser"] = post_parser
        elif core.read_whole_at(result) is not None:
            body = core.read_body(result.http_response)
            if isinstance(body, Mapping) and body.get("object") == "response":
                record(body)
    except Exception:
        core.log_failure(_RETRIEVAL_KEY)


def _asks_for_usage(body: Mapping[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True


def _may_inject_usage(options: Any, body: Mapping[str, Any], server: Server) -> bool:
    """Ask for the stream's usage only where the user cannot tell: not when they chose
    stream_options, not on a raw response, whose bytes they may read themselves, and only
    from the OpenAI API itself (Azure api-versions before 2024-09 and some compatible
    servers reject the option; there a stream's usage is estimated)."""
    if "stream_options" in body or not is_openai_api(server):
        return False
    headers = options.headers
    return not (isinstance(headers, Mapping) and RAW_RESPONSE_HEADER in headers) and _fields_set_per_instance()


@functools.cache
def _fields_set_per_instance() -> bool:
    # Hiding the injected option unmarks ``usage`` in each chunk's pydantic 2 fields-set.
    import pydantic

    return not pydantic.VERSION.startswith("1.")


def wrap_request(telemetry: core.Telemetry, parse_after_request: bool = False) -> Callable[..., Any]:
    """The wrapt wrapper of ``SyncAPIClient.request``; ``parse_after_request``: this openai release's
    ``beta.chat.completions.parse()`` parses its result after the request returned (``_parse_waiting``)."""

    def request(wrapped: Callable[..., Any], client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            call = (
                None  # parse() ends the call: the general path's
                if parse_after_request and _parse_waiting.get() is not None
                else fast_chat.start(
                    telemetry, client, args[1] if len(args) > 1 else kwargs["options"], kwargs.get("stream")
                )
            )
        except Exception:  # the general path records the call
            core.log_failure(_FAST_START_KEY)
            call = None
        if call is not None:  # the common chat call: the general path's span, built with less
            token = context.attach(call[1])
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as error:
                fast_chat.finish(telemetry, call, None, error)  # never raises
                raise
            finally:
                context.detach(token)
            fast_chat.finish(telemetry, call, result)
            return result
        try:
            tracker = _start(telemetry, client, args, kwargs)
        except Exception:
            core.log_failure(_START_KEY)
            tracker = None
        if tracker is None:
            retrieval = _watch_retrieval(telemetry, client, args, kwargs)
            token = attach_for_provider()
            result = None
            try:
                result = wrapped(*args, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)
                if retrieval is not None:
                    _after_retrieval(retrieval, result)  # never raises
            return result
        tracker.running = running = trace.set_span_in_context(tracker.span, for_provider())
        token = context.attach(running)
        result = None
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            tracker.failed(error)
            raise
        finally:
            context.detach(token)
            tracker.restore_options(result)
        if tracker.response is not None and not tracker.streaming:
            if parse_after_request and (waiting := _parse_waiting.get()) is not None:
                waiting.append(tracker)  # parse() ends it, with its error if it raises
            else:
                tracker.end(tracker.response)  # the common case of finished(), inline; never raises
        else:
            tracker.finished(result)
        return result

    return request


def wrap_async_request(telemetry: core.Telemetry, parse_after_request: bool = False) -> Callable[..., Any]:
    """The wrapt wrapper of ``AsyncAPIClient.request`` (``wrap_request``'s twin)."""

    async def request(wrapped: Callable[..., Any], client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            call = (
                None  # parse() ends the call: the general path's
                if parse_after_request and _parse_waiting.get() is not None
                else fast_chat.start(
                    telemetry, client, args[1] if len(args) > 1 else kwargs["options"], kwargs.get("stream")
                )
            )
        except Exception:  # the general path records the call
            core.log_failure(_FAST_START_KEY)
            call = None
        if call is not None:  # the common chat call: the general path's span, built with less
            token = context.attach(call[1])
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as error:
                fast_chat.finish(telemetry, call, None, error)  # never raises
                raise
            finally:
                context.detach(token)
            fast_chat.finish(telemetry, call, result)
            return result
        try:
            tracker = _start(telemetry, client, args, kwargs)
        except Exception:
            core.log_failure(_START_KEY)
            tracker = None
        if tracker is None:
            retrieval = _watch_retrieval(telemetry, client, args, kwargs)
            token = attach_for_provider()
            result = None
            try:
                result = await wrapped(*args, **kwargs)
            finally:
                if token is not None:
                    context.detach(token)
                if retrieval is not None:
                    _after_retrieval(retrieval, result)  # never raises
            return result
        tracker.running = running = trace.set_span_in_context(tracker.span, for_provider())
        token = context.attach(running)
        result = None
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            tracker.failed(error)
            raise
        finally:
            context.detach(token)
            tracker.restore_options(result)
        if tracker.response is not None and not tracker.streaming:
            if parse_after_request and (waiting := _parse_waiting.get()) is not None:
                waiting.append(tracker)  # parse() ends it, with its error if it raises
            else:
                tracker.end(tracker.response)  # the common case of finished(), inline; never raises
        else:
            tracker.finished(result)
        return result

    return request


# openai 1.40 to 1.49: beta.chat.completions.parse() parses the completion after its request returned
# (later releases hand the request their parser, whose error ends the call). There parse() is wrapped,
# and the call of its request, done, waits here for parse() to end it: with parse()'s error (a length
# or content filter finish, the output failing validation) if it raised, as on later releases.
_parse_waiting: ContextVar[list[_Tracker] | None] = ContextVar("otel_llmcost_parse_waiting", default=None)


def parse_after_request(wrapped: Callable[..., Any], owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``beta.chat.completions.parse`` of openai 1.40 to 1.49 (``_parse_waiting``)."""
    with _parse_ends_its_call():
        return wrapped(*args, **kwargs)


async def async_parse_after_request(
    wrapped: Callable[..., Any], owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    with _parse_ends_its_call():
        return await wrapped(*args, **kwargs)


@contextlib.contextmanager
def _parse_ends_its_call() -> Iterator[None]:
    waiting: list[_Tracker] = []
    token = _parse_waiting.set(waiting)
    try:
        yield
    except BaseException as error:
        _end_waiting(waiting, error)
        raise
    finally:
        _parse_waiting.reset(token)
    _end_waiting(waiting, None)


def _end_waiting(waiting: list[_Tracker], error: BaseException | None) -> None:
    for tracker in waiting:  # each never raises
        if error is None:
            tracker.end(tracker.response)
        else:
            tracker.failed(error)


def stream_exit(wrapped: Callable[..., Any], owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``__exit__`` of a stream or of a manager around one (``chat.completions.stream()``,
    ``responses.stream()``, ``.with_streaming_response``): an exception leaving the user's ``with``
    block ends the call with it (a manager's exit closes the stream without passing the exception on)."""
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

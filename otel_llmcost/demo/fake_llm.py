"""A local fake LLM server speaking OpenAI's and Anthropic's real wire formats.

    with FakeLLMServer() as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="demo")
        client.chat.completions.create(model="gpt-4o-mini", messages=[...],
                                       extra_headers=Scenario(cached_share=0.5).headers())

Endpoints (also under /openai/deployments/{deployment}/... and /openai/v1/... for Azure):
POST /v1/chat/completions, /v1/responses, /v1/embeddings (OpenAI) and /v1/messages,
/v1/messages/count_tokens (Anthropic; ``?beta=true`` too). Streams are SSE with chunked
transfer encoding, like the real APIs. Any other path answers 404 in the caller's format.
Responses are a pure function of the request and its ``Scenario`` (see scenario.py).

It is a test and demo double: a stdlib threading HTTP server on 127.0.0.1, one thread per
connection, no TLS, no auth.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import socket
import sys
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from otel_llmcost.demo import anthropic_wire, openai_responses, openai_wire
from otel_llmcost.demo.answer import BadRequest, answer
from otel_llmcost.demo.scenario import SCENARIO_HEADER, Scenario, ScenarioError

logger = logging.getLogger(__name__)

_AZURE_DEPLOYMENT = re.compile(r"^/openai/deployments/([^/]+)(/.*)$")
_ANTHROPIC_ENDPOINTS = {"/messages", "/messages/count_tokens"}
_OPENAI_ENDPOINTS = {"/chat/completions", "/responses", "/embeddings"}
STORED_RESPONSES = 10_000  # responses kept for previous_response_id, oldest dropped first


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server received it, for tests that check what a client sent."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None


@dataclass(frozen=True)
class _Call:
    endpoint: str  # e.g. /chat/completions, without /v1 or Azure's prefix
    provider: str  # "openai" | "anthropic": which format errors are written in
    azure: bool
    deployment: str
    api_version: str
    body: Any  # the parsed JSON body (checked to be an object before use)
    scenario: Scenario
    request_id: str

    @property
    def model(self) -> str:
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return str(model or self.deployment)

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


class _HTTPError(Exception):
    def __init__(self, status: int, message: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


class _UnknownPath(_HTTPError):
    def __init__(self, method: str, path: str) -> None:
        super().__init__(404, "Not Found")
        self.method, self.path = method, path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients dropping keep-alive connections is normal; anything else is our bug: log it.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        logger.exception("fake-llm: error while serving %s", client_address)


class FakeLLMServer:
    """The fake server on 127.0.0.1 and a free port, served from a background thread."""

    def __init__(self, scenario: Scenario | None = None, *, host: str = "127.0.0.1", port: int = 0, history: int = 256):
        self.scenario = scenario or Scenario()  # used by requests without a scenario header
        self.requests: deque[RecordedRequest] = deque(maxlen=history)  # the most recent requests
        self._responses: OrderedDict[str, openai_responses.Conversation] = OrderedDict()  # stored responses
        self._responses_lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    def conversation(self, response_id: str) -> openai_responses.Conversation:
        """A stored response, for ``previous_response_id``; a 400 if unknown, as the API answers."""
        with self._responses_lock:
            found = self._responses.get(response_id)
        if found is None:
            raise BadRequest(f"Previous response with id '{response_id}' not found.", param="previous_response_id")
        return found

    def store(self, response_id: str, conversation: openai_responses.Conversation) -> None:
        with self._responses_lock:
            self._responses[response_id] = conversation
            self._responses.move_to_end(response_id)
            if len(self._responses) > STORED_RESPONSES:
                self._responses.popitem(last=False)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url  # the anthropic SDK adds /v1/messages itself

    @property
    def azure_endpoint(self) -> str:
        return self.base_url  # AzureOpenAI(azure_endpoint=...) adds /openai/deployments/...

    def start(self) -> FakeLLMServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-llm", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as SDK connection pools expect
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    timeout = 60  # idle keep-alive connections are closed, so threads don't linger

    server: _Server

    def do_POST(self) -> None:
        fake = self.server.fake
        call = self._read_call(fake)
        try:
            self._serve(self._checked(call, fake))
        except _HTTPError as exc:
            self._send_error(exc, call)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-response
        except Exception as exc:  # a bug of ours: answer it as the provider's 500, with the cause
            logger.exception("fake-llm: failed to answer %s %s", self.command, self.path)
            self._send_error(_HTTPError(500, f"fake-llm failed: {type(exc).__name__}: {exc}"), call)

    def do_GET(self) -> None:
        self._not_found()

    do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake-llm %s - " + format, self.address_string(), *args)

    # --- reading ---------------------------------------------------------------

    def _read_call(self, fake: FakeLLMServer) -> _Call:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake.requests.append(RecordedRequest("POST", url.path, query, headers, body))
        endpoint, azure, deployment = _route(url.path)
        anthropic = endpoint in _ANTHROPIC_ENDPOINTS or "anthropic-version" in headers
        request_id = ("req_011C" if anthropic else "req_") + uuid.uuid4().hex[:24]
        api_version = query.get("api-version", [""])[0]
        return _Call(
            endpoint,
            "anthropic" if anthropic else "openai",
            azure,
            deployment,
            api_version,
            body,
            fake.scenario,
            request_id,
        )

    def _checked(self, call: _Call, fake: FakeLLMServer) -> _Call:
        """The call with its scenario, or the error a real API would answer."""
        if call.endpoint not in _ANTHROPIC_ENDPOINTS | _OPENAI_ENDPOINTS:
            raise _UnknownPath(self.command, urlsplit(self.path).path)
        if not isinstance(call.body, dict):
            raise _HTTPError(400, "We could not parse the JSON body of your request. Send a JSON object.")
        if not call.model:
            raise _HTTPError(400, "you must provide a model parameter", "model")
        if SCENARIO_HEADER not in self.headers:
            return call
        try:
            scenario = Scenario.from_json(self.headers[SCENARIO_HEADER])
        except (ScenarioError, TypeError) as exc:
            raise _HTTPError(400, f"fake-llm: {exc}") from None
        return dataclasses.replace(call, scenario=scenario)

    # --- answering -------------------------------------------------------------

    def _serve(self, call: _Call) -> None:
        scenario = call.scenario
        if scenario.delay and not call.stream:
            time.sleep(scenario.delay)
        if scenario.error is not None:
            raise _HTTPError(scenario.error)
        try:
            payload, events = _respond(call, self.server.fake)
        except BadRequest as exc:
            raise _HTTPError(400, str(exc), exc.param) from None
        if events is None:
            self._send_json(200, payload, call)
        else:
            self._send_stream(events, call)

    def _send_json(self, status: int, payload: Any, call: _Call, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self._send_common_headers(call, headers or {})
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, events: list[tuple[str | None, str]], call: _Call) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        self._send_common_headers(call, {})
        self.end_headers()
        if call.scenario.delay:
            time.sleep(call.scenario.delay)  # a slow first chunk, after the headers as real APIs do
        limit = call.scenario.abort_after
        for sent, (name, data) in enumerate(events):
            if limit is not None and sent >= limit:
                self._abort()
                return
            event = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
            self._write_chunk(event.encode())
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _abort(self) -> None:
        """Drop the connection mid-body, as a failing network or a crashed upstream would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send_common_headers(self, call: _Call, headers: Mapping[str, str]) -> None:
        self.send_header("request-id" if call.provider == "anthropic" else "x-request-id", call.request_id)
        for name, value in headers.items():
            self.send_header(name, value)

    def _send_error(self, exc: _HTTPError, call: _Call) -> None:
        if isinstance(exc, _UnknownPath) and call.provider == "openai":
            body, headers = openai_wire.unknown_path(exc.method, exc.path), {}
        elif call.provider == "anthropic":
            body, headers = anthropic_wire.error(exc.status, call.request_id, model=call.model, message=exc.message)
        else:
            body, headers = openai_wire.error(
                exc.status,
                model=call.model,
                message=exc.message,
                param=exc.param,
                azure=call.azure,
                api_version=call.api_version,
            )
        self._send_json(exc.status, body, call, headers)

    def _not_found(self) -> None:
        url = urlsplit(self.path)
        provider = "anthropic" if "anthropic-version" in self.headers else "openai"
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        del body  # drained, so the connection can carry the next request
        call = _Call("", provider, False, "", "", {}, Scenario(), "req_" + uuid.uuid4().hex[:24])
        self._send_error(_UnknownPath(self.command, url.path), call)


def _route(path: str) -> tuple[str, bool, str]:
    """(endpoint, azure, deployment) of a request path."""
    deployment = ""
    azure = path.startswith("/openai/")
    match = _AZURE_DEPLOYMENT.match(path)
    if match:
        deployment, path = match.group(1), match.group(2)
    elif azure:
        path = path[len("/openai") :]
    if path.startswith("/v1/"):
        path = path[len("/v1") :]
    return path.rstrip("/"), azure, deployment


def _respond(call: _Call, fake: FakeLLMServer) -> tuple[Any, list[tuple[str | None, str]] | None]:
    """The JSON payload, or the SSE events (name, data) of a stream."""
    body, scenario, model = call.body, call.scenario, call.model
    if call.endpoint == "/chat/completions":
        reply = answer(openai_wire.chat_prompt(body, model), scenario)
        if call.stream:
            chunks = openai_wire.chat_chunks(reply, body, scenario, call.azure)
            return None, [(None, _json(chunk)) for chunk in chunks] + [(None, "[DONE]")]
        return openai_wire.chat_completion(reply, body, scenario, call.azure), None
    if call.endpoint == "/responses":
        previous = body.get("previous_response_id")
        prompt = openai_responses.responses_prompt(body, model, fake.conversation(previous) if previous else None)
        reply = answer(prompt, scenario)
        final = openai_responses.response_object(reply, body, scenario)
        if body.get("store", True):
            fake.store(final["id"], openai_responses.continued(prompt, reply))
        if call.stream:
            return None, [(event["type"], _json(event)) for event in openai_responses.response_events(final)]
        return final, None
    if call.endpoint == "/embeddings":
        return openai_wire.embeddings(body, model, scenario), None
    if call.endpoint == "/messages/count_tokens":
        return anthropic_wire.count_tokens(body, model), None
    reply = answer(anthropic_wire.messages_prompt(body, model), scenario)
    if call.stream:
        return None, [(event["type"], _json(event)) for event in anthropic_wire.stream_events(reply, scenario)]
    return anthropic_wire.message(reply, scenario), None


def _json(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))

"""The Responses API's WebSocket mode (``client.responses.connect()``, openai 3.x) through the real SDK,
against a local WebSocket server that sends the API's events: one span per response, priced by the
final event's usage, with the attribution and parent of the ``response.create`` it answers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode
from wire import message_item, response_events, response_object, responses_usage

import otel_llmcost
from otel_llmcost import semconv as sc

responses_module = pytest.importorskip("openai.resources.responses.responses")
if not hasattr(responses_module, "ResponsesConnection"):
    pytest.skip(f"openai {openai.__version__} has no Responses WebSocket mode", allow_module_level=True)
sync_server = pytest.importorskip("websockets.sync.server")

M = D(1_000_000)
MODEL = "gpt-4.1-mini-2025-04-14"


def events_of(text: str, usage: dict[str, Any], response_id: str) -> list[dict[str, Any]]:
    final = response_object(MODEL, [message_item(text)], usage, response_id=response_id)
    return response_events(final, [text])


Script = Callable[[dict[str, Any], Any], None]  # (the client's event, the server's connection)


@pytest.fixture
def server() -> Iterator[Callable[[Script], str]]:
    """A WebSocket server answering each client event with ``script``; returns its base URL."""
    servers = []

    def start(script: Script) -> str:
        def handler(connection: Any) -> None:
            for message in connection:
                script(json.loads(message), connection)

        instance = sync_server.serve(handler, "127.0.0.1", 0)
        threading.Thread(target=instance.serve_forever, daemon=True).start()
        servers.append(instance)
        return f"http://127.0.0.1:{instance.socket.getsockname()[1]}/v1"

    yield start
    for instance in servers:
        instance.shutdown()


def answering(*replies: list[dict[str, Any]]) -> Script:
    """Each response.create gets the next reply's events."""
    queue = list(replies)

    def script(event: dict[str, Any], connection: Any) -> None:
        if event.get("type") == "response.create" and queue:
            for reply in queue.pop(0):
                connection.send(json.dumps(reply))

    return script


def read_until_done(connection: Any, responses: int = 1) -> list[Any]:
    seen = []
    for event in connection:
        seen.append(event)
        if event.type in ("response.completed", "response.failed", "response.incomplete", "error"):
            responses -= 1
            if responses == 0:
                return seen
    return seen


def test_each_response_on_a_connection_is_a_priced_call(openai_instrumented, server):
    url = server(
        answering(
            events_of("Hi!", responses_usage(1000, 500), "resp_1"),
            events_of("Bye.", responses_usage(1200, 40, cached=1024), "resp_2"),
        )
    )
    client = openai.OpenAI(api_key="sk-test", base_url=url)
    tracer = openai_instrumented.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handler") as parent, otel_llmcost.attributes(team="voice"):
        with client.responses.connect() as connection:
            connection.response.create(model="gpt-4.1-mini", input="hi", temperature=0.5)
            first = read_until_done(connection)
            connection.response.create(model="gpt-4.1-mini", input="bye", previous_response_id="resp_1")
            second = read_until_done(connection)

    assert [event.type for event in first][-1] == "response.completed"  # the user's events, as sent
    assert first[-1].response.usage.input_tokens == 1000 and second[-1].response.output_text == "Bye."
    one, two = [span for span in openai_instrumented.spans() if span.name == "chat gpt-4.1-mini"]
    assert one.parent.span_id == parent.get_span_context().span_id
    assert one.attributes[sc.LLMCOST_TEAM] == "voice"
    assert one.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    assert one.attributes[sc.GEN_AI_RESPONSE_ID] == "resp_1"
    assert one.attributes[sc.OPENAI_API_TYPE] == "responses"
    assert one.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    # gpt-4.1-mini: input 0.4, cache read 0.1, output 1.6 USD per 1M tokens
    assert one.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(1000) * D("0.4") / M + D(500) * D("1.6") / M)
    assert two.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(
        D(176) * D("0.4") / M + D(1024) * D("0.1") / M + D(40) * D("1.6") / M
    )
    # the continuation keeps the prompt's fingerprint
    assert two.attributes[sc.LLMCOST_PROMPT_FINGERPRINT] == one.attributes[sc.LLMCOST_PROMPT_FINGERPRINT]
    [cost] = openai_instrumented.metric_points(sc.METRIC_COST)
    assert cost.value == pytest.approx(one.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] + two.attributes[sc.GEN_AI_USAGE_COST_AMOUNT])


def test_an_async_connection_is_recorded_the_same(openai_instrumented, server):
    url = server(answering(events_of("Hi!", responses_usage(1000, 500), "resp_1")))
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=url)

    async def scenario() -> None:
        async with client.responses.connect() as connection:
            await connection.response.create(model="gpt-4.1-mini", input="hi")
            async for event in connection:
                if event.type == "response.completed":
                    return

    asyncio.run(scenario())
    [span] = openai_instrumented.spans()
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1000
    assert span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(1000) * D("0.4") / M + D(500) * D("1.6") / M)


def test_a_connection_closed_mid_response_ends_its_span_estimated(openai_instrumented, server):
    events = events_of("It left the depot this morning.", responses_usage(1000, 500), "resp_1")
    url = server(answering(events[:-1]))  # no response.completed
    client = openai.OpenAI(api_key="sk-test", base_url=url)
    with client.responses.connect() as connection:
        connection.response.create(model="gpt-4.1-mini", input="Where is my parcel?")
        for event in connection:
            if event.type == "response.output_text.done":
                break

    [span] = openai_instrumented.spans()
    assert span.attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_an_error_answering_a_create_is_a_failed_call_not_billed(openai_instrumented, server):
    error = {"type": "error", "error": {"type": "invalid_request_error", "code": "rate_limit_exceeded", "message": "Slow down"}}
    url = server(answering([error]))
    client = openai.OpenAI(api_key="sk-test", base_url=url)
    with client.responses.connect() as connection:
        connection.response.create(model="gpt-4.1-mini", input="hi")
        read_until_done(connection)

    [span] = openai_instrumented.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "rate_limit_exceeded"
    assert sc.GEN_AI_USAGE_COST_AMOUNT not in span.attributes and sc.LLMCOST_TOKENS_ESTIMATED not in span.attributes


def test_a_response_the_server_starts_itself_is_described_by_the_response(openai_instrumented, server):
    # A steered response's automatic successor: no response.create was sent for it.
    successor = events_of("More.", responses_usage(300, 20), "resp_2")
    url = server(answering(events_of("Hi!", responses_usage(1000, 500), "resp_1") + successor))
    client = openai.OpenAI(api_key="sk-test", base_url=url)
    with client.responses.connect() as connection:
        connection.response.create(model="gpt-4.1-mini", input="hi")
        read_until_done(connection, responses=2)

    one, two = openai_instrumented.spans()
    assert two.attributes[sc.GEN_AI_RESPONSE_ID] == "resp_2"
    assert two.attributes[sc.GEN_AI_REQUEST_MODEL] == MODEL  # the response's, no request named one
    assert two.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 300


def test_uninstrument_restores_the_connection_classes(instrument_openai):
    classes = (responses_module.ResponsesConnection, responses_module.AsyncResponsesConnection)
    before = [dict(vars(cls)) for cls in classes]
    instrument_openai().uninstrument()
    assert [dict(vars(cls)) for cls in classes] == before
    instrument_openai()  # the fixture uninstruments again


def test_an_error_refusing_a_create_while_a_response_streams_is_that_creates_call(openai_instrumented, server):
    # Create 1 streams; create 2 is refused (a response is in flight); then 1 ends and create 3 is answered.
    # The error failed response 1, and create 2 stayed waiting: it described response 3 (its model, its team).
    first = events_of("Hi!", responses_usage(1000, 500), "resp_1")
    third = events_of("Three.", responses_usage(200, 10), "resp_3")
    refusal = {"type": "error", "error": {"type": "invalid_request_error", "code": "response_in_progress", "message": "busy"}}
    replies = [first[:3], [refusal, *first[3:]], third]

    def script(event, connection):
        if event.get("type") == "response.create" and replies:
            for reply in replies.pop(0):
                connection.send(json.dumps(reply))

    client = openai.OpenAI(api_key="sk-test", base_url=server(script))
    with client.responses.connect() as connection:
        for team, model in (("A", "gpt-4.1-mini"), ("B", "gpt-4o")):
            with otel_llmcost.attributes(team=team):
                connection.response.create(model=model, input="hi")
        read_until_done(connection, responses=2)  # the refusal, then response 1's end
        with otel_llmcost.attributes(team="C"):
            connection.response.create(model="gpt-4.1-nano", input="three")
        read_until_done(connection)

    calls = {span.attributes[sc.LLMCOST_TEAM]: span for span in openai_instrumented.spans()}
    assert calls["A"].attributes[sc.GEN_AI_RESPONSE_ID] == "resp_1" and calls["A"].status.status_code is StatusCode.UNSET
    assert calls["B"].attributes[sc.ERROR_TYPE] == "response_in_progress"
    assert sc.GEN_AI_USAGE_COST_AMOUNT not in calls["B"].attributes
    assert calls["C"].attributes[sc.GEN_AI_RESPONSE_ID] == "resp_3"
    assert calls["C"].attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4.1-nano"

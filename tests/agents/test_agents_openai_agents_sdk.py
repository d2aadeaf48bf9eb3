"""The OpenAI Agents SDK (real ``Runner`` and ``Agent``, the real openai client on a mock wire):
its agent and function spans become invoke_agent / execute_tool spans with our roll-up, and each
LLM call is recorded once, by the openai adapter."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from conftest import M, span_id, tokens
from opentelemetry.trace import SpanKind, StatusCode
from wire import Wire, function_call_item, http_client, http_module, json_reply, message_item, response_object
from wire import responses_usage as usage

from otel_llmcost import semconv as sc

agents = pytest.importorskip("agents", reason="openai-agents is not installed (pip install openai-agents)")
from agents.tracing import set_trace_processors

from otel_llmcost.agents.openai_agents import OpenAIAgentsInstrumentor

SERVED = "gpt-4.1-mini-2025-04-14"
# gpt-4.1-mini in the catalog: input 0.4, output 1.6 USD per 1M tokens
INPUT, OUTPUT = D("0.4"), D("1.6")
FORECAST = {"city": "Lyon", "forecast": "sunny", "high_c": 31, "low_c": 18, "wind_kmh": 12, "uv_index": 8}


@pytest.fixture
def agents_instrumented(openai_instrumented, tracer_provider) -> Iterator[None]:
    # Only our processor: the SDK's default one would try to export to the OpenAI dashboard.
    set_trace_processors([])
    OpenAIAgentsInstrumentor._processor = None
    instrumentor = OpenAIAgentsInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    yield
    instrumentor.uninstrument()
    set_trace_processors([])
    OpenAIAgentsInstrumentor._processor = None


def weather_agent(wire: Wire, tool_error: bool = False):
    import openai
    from agents import Agent, OpenAIResponsesModel, function_tool

    http = http_module("openai")
    client = openai.AsyncOpenAI(api_key="sk-test", max_retries=0, http_client=http_client(http, wire, True))

    @function_tool
    def get_weather(city: str) -> str:
        """The forecast for a city."""
        if tool_error:
            raise ConnectionError("weather service unreachable")
        return json.dumps(FORECAST)

    return Agent(
        name="weather-bot",
        instructions="Answer with the forecast.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model="gpt-4.1-mini", openai_client=client),
    )


def replies():
    return [
        json_reply(
            response_object(
                SERVED,
                [function_call_item("call_lyon", "get_weather", {"city": "Lyon"})],
                usage(310, 22),
                response_id="resp_1",
            )
        ),
        json_reply(
            response_object(SERVED, [message_item("Sunny in Lyon, 31°C.")], usage(402, 11), response_id="resp_2")
        ),
    ]


def test_runner_spans_carry_the_roll_up_and_llm_calls_are_recorded_once(agents_instrumented, spans):
    from agents import Runner

    wire = Wire(http_module("openai"), *replies())
    result = asyncio.run(Runner.run(weather_agent(wire), "Weather in Lyon?"))

    assert result.final_output == "Sunny in Lyon, 31°C."
    run = spans.one("invoke_agent weather-bot")
    tool = spans.one("execute_tool get_weather")
    calls = spans.llm_calls()
    # Two requests on the wire, two LLM spans: the SDK's generation/response spans add none.
    assert len(wire.requests) == 2
    assert [span.name for span in calls] == ["chat gpt-4.1-mini", "chat gpt-4.1-mini"]
    assert len(spans.all()) == 4
    assert run.kind is SpanKind.INTERNAL and tool.kind is SpanKind.INTERNAL
    for span in (tool, *calls):
        assert span.parent.span_id == run.context.span_id

    assert tool.attributes[sc.GEN_AI_TOOL_CALL_ID] == "call_lyon"
    assert tool.attributes[sc.GEN_AI_TOOL_TYPE] == "function"
    assert tool.attributes[sc.GEN_AI_AGENT_NAME] == "weather-bot"
    assert [span.attributes[sc.LLMCOST_AGENT_STEP] for span in calls] == [1, 2]
    assert calls[1].attributes[sc.LLMCOST_AGENT_RUN_SPAN_ID] == span_id(run)

    # The SDK resends the tool's output as a function_call_output item of the second request.
    resent = tokens(json.dumps(FORECAST))
    assert calls[1].attributes[sc.LLMCOST_TOOL_RESULTS_CALL_IDS] == ("call_lyon",)
    assert calls[1].attributes[sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS] == resent
    attributes = run.attributes
    assert attributes[sc.LLMCOST_ROLLUP_COST] == float((310 * INPUT + 22 * OUTPUT + 402 * INPUT + 11 * OUTPUT) / M)
    assert attributes[sc.LLMCOST_ROLLUP_LLM_CALLS] == 2
    assert attributes[sc.LLMCOST_AGENT_STEPS] == 2
    assert attributes[sc.LLMCOST_AGENT_MAX_INPUT_TOKENS] == 402
    assert attributes[sc.LLMCOST_AGENT_TOOL_NAMES] == ("get_weather",)
    assert attributes[sc.LLMCOST_AGENT_TOOL_RESENT_INPUT_TOKENS] == (resent,)
    assert attributes[sc.LLMCOST_AGENT_TOOL_RESENT_COST] == (float(resent * INPUT / M),)
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"


def test_a_failing_tool_marks_its_span_and_the_run_goes_on(agents_instrumented, spans):
    from agents import Runner

    wire = Wire(http_module("openai"), *replies())
    result = asyncio.run(Runner.run(weather_agent(wire, tool_error=True), "Weather in Lyon?"))

    # The SDK hands the error text to the model as the tool's output and the run continues.
    assert result.final_output == "Sunny in Lyon, 31°C."
    tool = spans.one("execute_tool get_weather")
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.attributes[sc.ERROR_TYPE] == "Error running tool (non-fatal)"
    assert "get_weather" in tool.status.description  # the SDK redacts the exception text itself
    assert spans.one("invoke_agent weather-bot").status.status_code is StatusCode.UNSET


def test_uninstrument_stops_our_spans(agents_instrumented, spans):
    from agents import Runner

    OpenAIAgentsInstrumentor().uninstrument()
    wire = Wire(http_module("openai"), *replies())
    asyncio.run(Runner.run(weather_agent(wire), "Weather in Lyon?"))

    assert [span.name for span in spans.all()] == ["chat gpt-4.1-mini", "chat gpt-4.1-mini"]


def test_replacing_the_sdks_processors_keeps_ours(agents_instrumented, spans):
    # set_trace_processors([...]) is the SDK's way to replace its OpenAI-dashboard exporter; under
    # opentelemetry-instrument ours was added first, and was removed without a word.
    from agents import Runner

    set_trace_processors([])
    wire = Wire(http_module("openai"), *replies())
    asyncio.run(Runner.run(weather_agent(wire), "Weather in Lyon?"))

    assert "invoke_agent weather-bot" in [span.name for span in spans.all()]

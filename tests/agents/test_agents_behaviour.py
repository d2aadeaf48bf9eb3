"""Agent and tool spans beyond the happy loop: retries, runaway runs, exceptions, call ids,
nesting, streams, the Responses API, content capture, and our own failures contained."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
from decimal import Decimal as D

import openai
import pytest
from conftest import M, span_id, tokens
from opentelemetry.trace import StatusCode
from wire import (
    chat_completion,
    chat_stream,
    chat_usage,
    error_reply,
    function_call_item,
    json_reply,
    message_item,
    response_object,
    responses_usage,
    tool_call,
)

import otel_llmcost
from otel_llmcost import semconv as sc
from otel_llmcost.agents import api, observer
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.core import Telemetry

MODEL = "gpt-4o-mini"
SERVED = "gpt-4o-mini-2024-07-18"
# gpt-4o-mini-2024-07-18 in the catalog: input 0.15, output 0.6 USD per 1M tokens
INPUT, OUTPUT = D("0.15"), D("0.6")
MESSAGES = [
    {"role": "system", "content": "Extract the order as JSON."},
    {"role": "user", "content": "Two parcels to Lyon"},
]


def answer(text, prompt, completion, completion_id="chatcmpl-a", **kwargs):
    return json_reply(
        chat_completion(SERVED, text, chat_usage(prompt, completion), completion_id=completion_id, **kwargs)
    )


def cost(prompt, completion):
    return (prompt * INPUT + completion * OUTPUT) / M


# --- retries ---------------------------------------------------------------------


def test_a_request_sent_again_after_an_error_is_a_retry(openai_client, spans):
    client, _ = openai_client(error_reply(500, "The server had an error", "server_error"), answer('{"n": 2}', 90, 12))

    with otel_llmcost.agent("extractor"):
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
        client.chat.completions.create(model=MODEL, messages=MESSAGES)

    failed, retried = sorted(spans.named("chat gpt-4o-mini"), key=lambda span: span.start_time)
    assert failed.status.status_code is StatusCode.ERROR
    assert sc.LLMCOST_RETRY not in failed.attributes
    assert failed.attributes[sc.LLMCOST_AGENT_STEP] == 1
    assert retried.attributes[sc.LLMCOST_AGENT_STEP] == 2
    assert retried.attributes[sc.LLMCOST_RETRY] is True
    assert retried.attributes[sc.LLMCOST_RETRY_OF] == span_id(failed)
    assert retried.attributes[sc.LLMCOST_RETRY_REASON] == "error"
    run = spans.one("invoke_agent extractor").attributes
    assert run[sc.LLMCOST_AGENT_RETRIES] == 1
    assert run[sc.LLMCOST_AGENT_RETRY_COST] == float(cost(90, 12))
    assert run[sc.LLMCOST_ROLLUP_COST] == float(cost(90, 12))
    assert run[sc.LLMCOST_ROLLUP_LLM_CALLS] == 2  # the failed call counts, with no usage and no price
    assert run[sc.LLMCOST_ROLLUP_UNPRICED_CALLS] == 0
    assert run[sc.LLMCOST_AGENT_STEPS] == 2


def test_a_request_sent_again_after_a_rejected_answer_is_a_retry(openai_client, spans):
    client, _ = openai_client(
        answer("not json", 90, 10, "chatcmpl-1"),
        answer("still not json", 90, 11, "chatcmpl-2"),
        answer('{"parcels": 2}', 90, 12, "chatcmpl-3"),
    )

    with otel_llmcost.agent("extractor"):
        for _ in range(3):
            text = client.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message.content
            try:
                json.loads(text)
                break
            except ValueError:
                continue  # the app throws the answer away and asks the same again

    first, second, third = spans.llm_calls()
    assert sc.LLMCOST_RETRY not in first.attributes
    for retry in (second, third):
        assert retry.attributes[sc.LLMCOST_RETRY] is True
        assert retry.attributes[sc.LLMCOST_RETRY_OF] == span_id(first)  # always the first attempt
        assert retry.attributes[sc.LLMCOST_RETRY_REASON] == "discarded_output"
    run = spans.one("invoke_agent extractor").attributes
    assert run[sc.LLMCOST_AGENT_RETRIES] == 2
    assert run[sc.LLMCOST_AGENT_RETRY_COST] == float(cost(90, 11) + cost(90, 12))
    assert run[sc.LLMCOST_ROLLUP_COST] == float(cost(90, 10) + cost(90, 11) + cost(90, 12))


def test_a_different_request_or_another_run_is_not_a_retry(openai_client, spans):
    client, _ = openai_client(answer("a", 90, 10), answer("b", 95, 10), answer("c", 90, 10))

    with otel_llmcost.agent("first"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0.5)
    with otel_llmcost.agent("second"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert all(sc.LLMCOST_RETRY not in span.attributes for span in spans.llm_calls())
    assert spans.one("invoke_agent first").attributes[sc.LLMCOST_AGENT_RETRIES] == 0


# --- runaway ---------------------------------------------------------------------


def test_more_steps_than_the_limit_flags_a_runaway(openai_client, spans):
    client, _ = openai_client(answer("a", 100, 5), answer("b", 200, 5), answer("c", 300, 5))

    with otel_llmcost.agent("looper", max_steps=2) as run:
        for turn in range(3):
            client.chat.completions.create(model=MODEL, messages=[*MESSAGES, {"role": "user", "content": str(turn)}])
            assert run.runaway is (turn == 2)

    attributes = spans.one("invoke_agent looper").attributes
    assert attributes[sc.LLMCOST_AGENT_RUNAWAY] is True
    assert attributes[sc.LLMCOST_AGENT_RUNAWAY_REASON] == "steps"
    assert attributes[sc.LLMCOST_AGENT_STEPS] == 3
    assert attributes[sc.LLMCOST_AGENT_MAX_INPUT_TOKENS] == 300
    assert attributes[sc.LLMCOST_AGENT_LAST_INPUT_TOKENS] == 300


def test_a_step_input_over_the_context_limit_flags_a_runaway(openai_client, spans):
    client, _ = openai_client(answer("a", 399, 5), answer("b", 401, 5), answer("c", 120, 5))

    with otel_llmcost.agent("reader", max_context_tokens=400):
        for turn in range(3):
            client.chat.completions.create(model=MODEL, messages=[*MESSAGES, {"role": "user", "content": str(turn)}])

    attributes = spans.one("invoke_agent reader").attributes
    assert attributes[sc.LLMCOST_AGENT_RUNAWAY] is True
    assert attributes[sc.LLMCOST_AGENT_RUNAWAY_REASON] == "context"
    assert attributes[sc.LLMCOST_AGENT_MAX_INPUT_TOKENS] == 401
    assert attributes[sc.LLMCOST_AGENT_LAST_INPUT_TOKENS] == 120


def test_runaway_limits_default_from_the_environment(openai_client, spans, monkeypatch):
    monkeypatch.setenv(sc.ENV_AGENT_MAX_STEPS, "1")
    client, _ = openai_client(answer("a", 100, 5), answer("b", 100, 5))

    with otel_llmcost.agent("looper"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        client.chat.completions.create(model=MODEL, messages=MESSAGES[:1])

    assert spans.one("invoke_agent looper").attributes[sc.LLMCOST_AGENT_RUNAWAY_REASON] == "steps"


@pytest.mark.parametrize("value", ["0", "-1", "ten"])
def test_a_limit_from_the_environment_that_is_not_above_zero_is_ignored_with_a_warning(
    openai_client, spans, monkeypatch, caplog, value
):
    monkeypatch.setattr(core, "_logged", set())
    monkeypatch.setenv(sc.ENV_AGENT_MAX_STEPS, value)
    client, _ = openai_client(answer("a", 100, 5))

    with caplog.at_level(logging.WARNING, logger="otel_llmcost"), otel_llmcost.agent("calm"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert spans.one("invoke_agent calm").attributes[sc.LLMCOST_AGENT_RUNAWAY] is False  # the default 25 applies
    assert [r.getMessage() for r in caplog.records if sc.ENV_AGENT_MAX_STEPS in r.getMessage()] == [
        f"otel-llmcost: {sc.ENV_AGENT_MAX_STEPS}={value!r} is not a whole number above 0; using 25"
    ]


def test_a_run_within_limits_is_not_a_runaway(openai_client, spans):
    client, _ = openai_client(answer("a", 100, 5))

    with otel_llmcost.agent("calm", max_steps=1, max_context_tokens=100):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)

    attributes = spans.one("invoke_agent calm").attributes
    assert attributes[sc.LLMCOST_AGENT_RUNAWAY] is False
    assert sc.LLMCOST_AGENT_RUNAWAY_REASON not in attributes


# --- exceptions ------------------------------------------------------------------


class OrderNotFound(LookupError):
    pass


def test_a_validation_error_leaving_an_agent_run_keeps_the_output_it_quotes_off_its_span(tracer_provider, spans):
    # A .parse() whose output fails validation raises pydantic's error, whose text quotes that output. The
    # call's span said only where and why; the agent span around it had the whole text, in its status and
    # its exception event, with content capture off.
    from pydantic import BaseModel, ValidationError

    class Answer(BaseModel):
        score: int

    Telemetry(tracer_provider=tracer_provider)
    output = json.dumps({"score": "the customer lives at 12 Rue X"})  # the model's, as .parse() reads it
    with pytest.raises(ValidationError, match="12 Rue X"), otel_llmcost.agent("support-bot"):
        Answer.model_validate_json(output)

    run = spans.one("invoke_agent support-bot")
    assert run.status.description == (
        "ValidationError: 1 validation error(s) for Answer: score: Input should be a valid integer, "
        "unable to parse string as an integer"
    )
    [event] = run.events
    assert event.attributes["exception.type"].endswith("ValidationError")
    assert "score: Input should be a valid integer" in event.attributes["exception.stacktrace"]
    assert not [value for value in event.attributes.values() if "Rue X" in str(value)]


def test_a_pydantic_error_that_is_no_validation_error_keeps_its_message(tracer_provider, spans):
    # Only a validation error quotes the value it checked: a serialization error's message stays whole
    # (it was described by its class name alone, and its exception event lost its message)
    from pydantic import BaseModel, ConfigDict

    class Reply(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        handle: object

    @otel_llmcost.tool
    def render():
        return Reply(handle=object()).model_dump_json()

    Telemetry(tracer_provider=tracer_provider)
    with pytest.raises(Exception, match="Unable to serialize unknown type"):
        render()
    tool = spans.one("execute_tool render")
    assert tool.status.description.startswith("PydanticSerializationError: Unable to serialize unknown type")
    [event] = tool.events
    assert event.attributes["exception.message"].startswith("Unable to serialize unknown type")


def test_a_tool_error_propagates_unchanged_and_marks_the_spans(tracer_provider, spans):
    Telemetry(tracer_provider=tracer_provider)
    raised = OrderNotFound("no order 999")

    @otel_llmcost.tool
    def lookup_order(order_id):
        raise raised

    with pytest.raises(OrderNotFound) as caught, otel_llmcost.agent("support-bot"):
        lookup_order("999")

    assert caught.value is raised
    assert caught.value.__traceback__.tb_next is not None  # the user's frames are still there
    tool = spans.one("execute_tool lookup_order")
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.status.description == "OrderNotFound: no order 999"
    assert tool.attributes[sc.ERROR_TYPE] == "OrderNotFound"
    assert [event.name for event in tool.events] == ["exception"]
    run = spans.one("invoke_agent support-bot")
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes[sc.ERROR_TYPE] == "OrderNotFound"


def test_an_async_tool_error_propagates_unchanged(tracer_provider, spans):
    Telemetry(tracer_provider=tracer_provider)
    raised = TimeoutError("carrier API timed out")

    @otel_llmcost.tool(name="track_parcel")
    async def track(parcel_id):
        await asyncio.sleep(0)
        raise raised

    @otel_llmcost.agent("tracker")
    async def run():
        return await track("P-1")

    with pytest.raises(TimeoutError) as caught:
        asyncio.run(run())

    assert caught.value is raised
    assert spans.one("execute_tool track_parcel").attributes[sc.ERROR_TYPE] == "TimeoutError"
    assert spans.one("invoke_agent tracker").attributes[sc.ERROR_TYPE] == "TimeoutError"


def test_decorated_functions_return_their_values_and_keep_their_names(tracer_provider, spans):
    Telemetry(tracer_provider=tracer_provider)

    @otel_llmcost.tool
    def add(a, b):
        """Add two numbers."""
        return a + b

    @otel_llmcost.agent("calculator")
    def solve():
        return add(2, b=3)

    assert solve() == 5
    assert (add.__name__, add.__doc__, solve.__name__) == ("add", "Add two numbers.", "solve")
    assert spans.one("execute_tool add").attributes[sc.GEN_AI_TOOL_DESCRIPTION] == "Add two numbers."
    assert spans.one("invoke_agent calculator").attributes[sc.LLMCOST_ROLLUP_LLM_CALLS] == 0


# --- call ids and nesting --------------------------------------------------------


def test_call_ids_passed_by_argument_or_matched_by_name(openai_client, spans):
    step = answer(
        None,
        100,
        20,
        finish_reason="tool_calls",
        tool_calls=[tool_call("call_w", "get_weather", {"city": "Lyon"}), tool_call("call_t", "get_time", {})],
    )
    client, _ = openai_client(step)

    @otel_llmcost.tool(call_id_arg="tool_call_id")
    def get_weather(city, tool_call_id):
        return "sunny"

    with otel_llmcost.agent("assistant"):
        response = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        calls = {call.function.name: call.id for call in response.choices[0].message.tool_calls}
        get_weather("Lyon", tool_call_id="explicit-id")
        with otel_llmcost.tool_call("get_time") as call:
            matched = call.call_id
        with otel_llmcost.tool_call("get_time") as call:  # the model asked once: nothing left to match
            unmatched = call.call_id

    assert calls == {"get_weather": "call_w", "get_time": "call_t"}
    assert spans.one("execute_tool get_weather").attributes[sc.GEN_AI_TOOL_CALL_ID] == "explicit-id"
    assert (matched, unmatched) == ("call_t", None)
    untracked = [span for span in spans.named("execute_tool get_time") if sc.GEN_AI_TOOL_CALL_ID not in span.attributes]
    assert len(untracked) == 1


def test_a_sub_agent_inside_a_tool_rolls_up_into_the_outer_run(openai_client, spans):
    client, _ = openai_client(answer("plan", 100, 10), answer("research", 50, 30), answer("done", 200, 20))

    with otel_llmcost.agent("planner"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        with otel_llmcost.tool_call("research"), otel_llmcost.agent("researcher"):
            client.chat.completions.create(model=MODEL, messages=MESSAGES[1:])
        client.chat.completions.create(model=MODEL, messages=MESSAGES[:1])

    planner = spans.one("invoke_agent planner").attributes
    researcher = spans.one("invoke_agent researcher").attributes
    assert researcher[sc.LLMCOST_ROLLUP_COST] == float(cost(50, 30))
    assert researcher[sc.LLMCOST_AGENT_STEPS] == 1
    assert spans.one("execute_tool research").attributes[sc.LLMCOST_ROLLUP_COST] == float(cost(50, 30))
    assert planner[sc.LLMCOST_ROLLUP_COST] == float(cost(100, 10) + cost(50, 30) + cost(200, 20))
    assert planner[sc.LLMCOST_ROLLUP_LLM_CALLS] == 3
    assert planner[sc.LLMCOST_AGENT_STEPS] == 2  # the researcher's call is its own run's step
    inner = spans.llm_calls()[1]
    assert inner.attributes[sc.GEN_AI_AGENT_NAME] == "researcher"
    assert inner.attributes[sc.LLMCOST_AGENT_STEP] == 1


def test_a_tool_outside_any_agent_rolls_up_its_calls(openai_client, spans):
    client, _ = openai_client(answer("summary", 40, 8))

    with otel_llmcost.tool_call("summarise", call_id="call_s"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)

    tool = spans.one("execute_tool summarise").attributes
    assert tool[sc.GEN_AI_TOOL_CALL_ID] == "call_s"
    assert tool[sc.LLMCOST_ROLLUP_COST] == float(cost(40, 8))
    assert sc.GEN_AI_AGENT_NAME not in tool
    assert sc.LLMCOST_AGENT_STEP not in spans.llm_calls()[0].attributes


def test_calls_outside_agents_carry_no_agent_attributes(openai_client, spans):
    client, _ = openai_client(answer("hi", 40, 8), answer("hi", 40, 8))
    with otel_llmcost.agent("warm-up"):  # installs the observer
        pass

    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    client.chat.completions.create(model=MODEL, messages=MESSAGES)

    for span in spans.llm_calls():
        assert not [
            key for key in span.attributes if key.startswith(("llmcost.agent", "llmcost.retry", "llmcost.tool_"))
        ]


def test_calls_outside_runs_keep_the_fast_path_once_the_observer_is_installed(openai_client, spans, monkeypatch):
    """The agents' observer wants only the calls inside a run or tool: those take the general path,
    which calls it; every other call keeps the adapter's fast path, which calls no observer."""
    from otel_llmcost.instrumentation import core
    from otel_llmcost.instrumentation.openai import fast_chat

    client, _ = openai_client(answer("hi", 40, 8), answer("hi", 40, 8), answer("hi", 40, 8))
    finish, fast = fast_chat.finish, []
    monkeypatch.setattr(
        fast_chat, "finish", lambda telemetry, call, *rest: fast.append(call[0]) or finish(telemetry, call, *rest)
    )

    with otel_llmcost.agent("planner"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        with otel_llmcost.tool_call("lookup"):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert observer.observe in core.call_observers
    step, in_tool, outside = spans.llm_calls()
    assert step.attributes[sc.LLMCOST_AGENT_STEP] == 1
    assert spans.one("execute_tool lookup").attributes[sc.LLMCOST_ROLLUP_COST] == float(cost(40, 8))
    assert [span.context.span_id for span in fast] == [outside.context.span_id]
    assert sc.LLMCOST_AGENT_STEP not in outside.attributes
    assert outside.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(cost(40, 8))


# --- streams and the Responses API -----------------------------------------------


def test_a_streamed_step_rolls_up_when_the_stream_ends(openai_client, spans):
    client, _ = openai_client(chat_stream(SERVED, ["It ", "left."], chat_usage(70, 9)))

    with otel_llmcost.agent("streamer") as run:
        stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        before = run.llm_calls
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert (before, text) == (0, "It left.")
    attributes = spans.one("invoke_agent streamer").attributes
    assert attributes[sc.LLMCOST_ROLLUP_COST] == float(cost(70, 9))
    assert sc.LLMCOST_ROLLUP_PENDING_CALLS not in attributes
    assert spans.llm_calls()[0].attributes[sc.LLMCOST_AGENT_STEP] == 1


def test_a_stream_read_after_the_run_ended_is_counted_as_pending_not_dropped(openai_client, spans):
    # The run's span ends with its block; a stream read afterwards ends later. Its cost cannot be in
    # the exported roll-up, which says so instead of passing for a run that cost nothing.
    client, _ = openai_client(chat_stream(SERVED, ["It ", "left."], chat_usage(70, 9)))

    with otel_llmcost.agent("streamer") as run:
        stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert text == "It left."
    attributes = spans.one("invoke_agent streamer").attributes
    assert attributes[sc.LLMCOST_ROLLUP_PENDING_CALLS] == 1
    assert attributes[sc.LLMCOST_ROLLUP_LLM_CALLS] == 0
    assert run.cost == cost(70, 9)  # the run object still adds it up
    assert spans.llm_calls()[0].parent.span_id == spans.one("invoke_agent streamer").context.span_id


def test_a_stream_abandoned_in_a_run_and_ended_inside_the_roll_up_lock_does_not_hang(openai_client, spans):
    # The garbage collector runs an abandoned stream's finalizer at any allocation, also one made while its
    # thread holds the lock on the runs' counters: the call's end, which adds to the run, must not wait for it.
    from otel_llmcost.agents import scopes

    client, _ = openai_client(chat_stream(SERVED, ["It ", "left."], chat_usage(70, 9)))
    left: list = []
    done = threading.Event()

    def drop_inside_the_lock():
        with scopes.lock:
            left.clear()  # the stream's last reference: its finalizer runs here, as a collection would
            gc.collect()
        done.set()

    with otel_llmcost.agent("streamer") as run:
        stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        next(iter(stream))
        left.append(stream)
        del stream
        threading.Thread(target=drop_inside_the_lock, daemon=True).start()
        if not done.wait(10):
            try:
                scopes.lock.release()  # a plain Lock, as it was, is freed from here: the failure hangs nothing else
            except RuntimeError:  # a lock only its owner may release
                pass
            pytest.fail("the call's end waited for a lock its own thread held")

    assert run.llm_calls == 1
    assert spans.llm_calls()[0].attributes[sc.LLMCOST_AGENT_STEP] == 1


def test_responses_api_function_call_outputs_are_charged_to_their_tool(openai_client, spans):
    weather = json.dumps({"city": "Lyon", "forecast": "sunny", "high_c": 31, "low_c": 18, "wind_kmh": 12})
    client, _ = openai_client(
        json_reply(
            response_object(
                "gpt-4.1-mini-2025-04-14",
                [function_call_item("call_lyon", "get_weather", {"city": "Lyon"})],
                responses_usage(120, 20),
            )
        ),
        json_reply(response_object("gpt-4.1-mini-2025-04-14", [message_item("Sunny, 31°C.")], responses_usage(190, 9))),
    )

    with otel_llmcost.agent("weather-bot"):
        first = client.responses.create(model="gpt-4.1-mini", input="Weather in Lyon?")
        call = first.output[0]
        with otel_llmcost.tool_call("get_weather") as tool:
            result = weather
        client.responses.create(
            model="gpt-4.1-mini",
            input=[
                {"role": "user", "content": "Weather in Lyon?"},
                {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
                {"type": "function_call_output", "call_id": call.call_id, "output": result},
            ],
        )

    # gpt-4.1-mini: input 0.4, output 1.6 USD per 1M tokens
    resent = tokens(weather)
    assert tool.call_id == "call_lyon"
    second = spans.llm_calls()[1].attributes
    assert second[sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS] == resent
    assert second[sc.LLMCOST_TOOL_RESULTS_CALL_IDS] == ("call_lyon",)
    assert second[sc.LLMCOST_TOOL_RESULTS_COST] == float(resent * D("0.4") / M)
    run = spans.one("invoke_agent weather-bot").attributes
    assert run[sc.LLMCOST_AGENT_TOOL_NAMES] == ("get_weather",)
    assert run[sc.LLMCOST_AGENT_TOOL_RESENT_INPUT_TOKENS] == (resent,)
    assert run[sc.LLMCOST_ROLLUP_COST] == float((120 * D("0.4") + 20 * D("1.6") + 190 * D("0.4") + 9 * D("1.6")) / M)


def test_a_result_resent_while_its_tool_span_is_open_lands_on_the_tool(openai_client, spans):
    client, _ = openai_client(
        answer(None, 80, 10, finish_reason="tool_calls", tool_calls=[tool_call("call_q", "query_db", {})]),
        answer("42 rows", 150, 10),
    )
    rows = "id,name\n" + "\n".join(f"{n},customer-{n}" for n in range(20))

    with otel_llmcost.agent("analyst"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        with otel_llmcost.tool_call("query_db") as tool:
            # The tool hands its result to the model itself before it returns.
            client.chat.completions.create(
                model=MODEL,
                messages=[
                    *MESSAGES,
                    {"role": "assistant", "tool_calls": [tool_call("call_q", "query_db", {})]},
                    {"role": "tool", "tool_call_id": tool.call_id, "content": rows},
                ],
            )

    attributes = spans.one("execute_tool query_db").attributes
    assert attributes[sc.LLMCOST_TOOL_RESENT_INPUT_TOKENS] == tokens(rows)
    assert attributes[sc.LLMCOST_TOOL_RESENT_COST] == float(tokens(rows) * INPUT / M)
    assert attributes[sc.LLMCOST_ROLLUP_COST] == float(cost(150, 10))


# --- content capture and our own failures ------------------------------------------


def test_tool_arguments_and_results_only_with_content_capture(tracer_provider, spans):
    @otel_llmcost.tool
    def lookup(order_id, verbose=False):
        return {"status": "shipped"}

    Telemetry(tracer_provider=tracer_provider, capture_content=False)
    lookup("12345")
    Telemetry(tracer_provider=tracer_provider, capture_content=True)
    lookup("12345", verbose=True)

    private, captured = sorted(spans.named("execute_tool lookup"), key=lambda span: span.start_time)
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in private.attributes
    assert sc.GEN_AI_TOOL_CALL_RESULT not in private.attributes
    assert json.loads(captured.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"order_id": "12345", "verbose": True}
    assert json.loads(captured.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == {"status": "shipped"}


def test_tool_arguments_and_results_go_through_the_redaction_hook(tracer_provider, spans):
    seen = []

    def redact(messages):
        seen.append(messages)
        [message] = messages
        [part] = message["parts"]
        if part["type"] == "tool_call":  # keep the call, mask its arguments
            return [{**message, "parts": [{**part, "arguments": {"order_id": "[redacted]"}}]}]
        return [{**message, "parts": [{"type": "text", "content": "[redacted]"}]}]  # replace the result

    @otel_llmcost.tool
    def lookup(order_id):
        return {"email": "jane@example.com"}

    Telemetry(tracer_provider=tracer_provider, capture_content=True, redact=redact)
    lookup("12345")

    attributes = spans.one("execute_tool lookup").attributes
    assert json.loads(attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"order_id": "[redacted]"}
    assert json.loads(attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == {"type": "text", "content": "[redacted]"}
    assert "jane@example.com" not in str(dict(attributes))
    assert "12345" not in attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]
    assert [message[0]["role"] for message in seen] == ["assistant", "tool"]
    response_part = {"type": "tool_call_response", "id": None, "response": {"email": "jane@example.com"}}
    assert seen[1][0]["parts"][0] == response_part


def test_a_hook_that_edits_a_tool_result_in_place_leaves_the_programs_result_alone(tracer_provider, spans):
    def redact(messages):
        for part in messages[0]["parts"]:
            for value in (part.get("arguments"), part.get("response")):
                if isinstance(value, dict) and "email" in value:
                    value["email"] = "[redacted]"
        return messages

    @otel_llmcost.tool
    def lookup(order_id):
        return {"email": "jane@example.com"}

    Telemetry(tracer_provider=tracer_provider, capture_content=True, redact=redact)
    assert lookup("12345") == {"email": "jane@example.com"}  # {"email": "[redacted]"} before
    attributes = spans.one("execute_tool lookup").attributes
    assert json.loads(attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == {"email": "[redacted]"}


@pytest.mark.parametrize(
    "redact",
    [
        pytest.param(lambda messages: 1 / 0, id="raises"),
        # written as its str(), the set would put the unredacted values on the span
        pytest.param(
            lambda messages: [{"parts": [{"arguments": {str(messages)}, "response": {str(messages)}}]}],
            id="returns what JSON cannot hold",
        ),
    ],
)
def test_a_failing_redaction_hook_records_no_tool_content(tracer_provider, spans, redact):
    @otel_llmcost.tool
    def lookup(order_id):
        return {"email": "jane@example.com"}

    Telemetry(tracer_provider=tracer_provider, capture_content=True, redact=redact)
    assert lookup("12345") == {"email": "jane@example.com"}
    attributes = spans.one("execute_tool lookup").attributes
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in attributes
    assert sc.GEN_AI_TOOL_CALL_RESULT not in attributes


@pytest.mark.parametrize("nothing", [None, []])
def test_a_redaction_hook_returning_nothing_records_no_tool_content_and_no_warning(
    tracer_provider, spans, caplog, nothing
):
    # None (or no message) is the hook's way to record nothing, as for a call's messages: it was logged as a
    # failing hook on tool spans
    @otel_llmcost.tool
    def lookup(order_id):
        return {"email": "jane@example.com"}

    Telemetry(tracer_provider=tracer_provider, capture_content=True, redact=lambda messages: nothing)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        assert lookup("12345") == {"email": "jane@example.com"}
    attributes = spans.one("execute_tool lookup").attributes
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in attributes
    assert sc.GEN_AI_TOOL_CALL_RESULT not in attributes
    assert "redaction hook" not in caplog.text


def test_our_failure_in_a_step_never_reaches_the_program(openai_client, spans, monkeypatch, caplog):
    def broken(body):
        raise RuntimeError("bug in otel-llmcost")

    monkeypatch.setattr(observer, "find_tool_results", broken)
    client, _ = openai_client(answer("fine", 60, 6))

    with caplog.at_level(logging.WARNING, logger="otel_llmcost"), otel_llmcost.agent("robust") as run:
        response = client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert response.choices[0].message.content == "fine"
    assert run.cost == cost(60, 6)  # the roll-up before the failing part still happened
    assert spans.llm_calls()[0].attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(cost(60, 6))
    assert spans.one("invoke_agent robust").attributes[sc.LLMCOST_ROLLUP_LLM_CALLS] == 1
    assert "telemetry for this call may be incomplete" in caplog.text


def test_a_span_that_cannot_start_still_runs_the_block(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("bug in otel-llmcost")

    monkeypatch.setattr(api, "start_run", broken)
    monkeypatch.setattr(api, "start_tool", broken)

    @otel_llmcost.tool
    def double(x):
        return 2 * x

    with caplog.at_level(logging.WARNING, logger="otel_llmcost"), otel_llmcost.agent("inert") as run:
        value = double(21)

    assert value == 42
    assert (run.name, run.cost, run.steps) == ("inert", 0, 0)
    assert "could not start an agent or tool span" in caplog.text


def test_one_agent_object_shared_by_concurrent_tasks(openai_client, spans, caplog):
    def by_question(request):
        question = json.loads(request.content)["messages"][-1]["content"]
        prompt = 100 if question == "first" else 200
        return chat_completion(SERVED, question, chat_usage(prompt, 10), completion_id=f"chatcmpl-{question}")

    client, _ = openai_client(
        lambda request: json_reply(by_question(request)),
        lambda request: json_reply(by_question(request)),
        asynchronous=True,
    )
    bot = otel_llmcost.agent("bot")  # one object, entered by two tasks that overlap

    async def both():
        first_in, second_in, first_out = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def first():  # enters first and exits first, while the second is still inside
            with bot as run:
                first_in.set()
                await second_in.wait()
                await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "first"}])
            first_out.set()
            return run

        async def second():
            await first_in.wait()
            with bot as run:
                second_in.set()
                await first_out.wait()
                await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "second"}])
            return run

        return await asyncio.gather(first(), second())

    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        first, second = asyncio.run(both())

    assert (first.cost, second.cost) == (cost(100, 10), cost(200, 10))
    by_id = {span_id(span): span for span in spans.named("invoke_agent bot")}
    assert by_id[first.run_span_id].attributes[sc.LLMCOST_ROLLUP_COST] == float(cost(100, 10))
    assert by_id[second.run_span_id].attributes[sc.LLMCOST_ROLLUP_COST] == float(cost(200, 10))
    assert by_id[first.run_span_id].end_time < by_id[second.run_span_id].end_time
    assert "another context" not in caplog.text


def test_a_background_response_is_one_step_whose_cost_the_run_says_it_lacks(openai_client, spans, monkeypatch):
    # create(background=True) is the step; the span that bills it when a retrieve finds it finished is
    # not another one. The run cannot price it (it is billed on its own span): unpriced, not a silent 0.
    from collections import OrderedDict

    from wire import json_reply, message_item, response_object, responses_usage

    from otel_llmcost.instrumentation.openai import responses

    monkeypatch.setattr(responses, "_waiting", OrderedDict())
    monkeypatch.setattr(responses, "_billed", OrderedDict())

    def background(status, usage=None):
        output = [message_item("Rome rose, ruled, fell.")] if usage else []
        response = response_object("gpt-4.1-2025-04-14", output, usage, status=status)
        return json_reply({**response, "background": True})

    client, _ = openai_client(background("queued"), background("completed", responses_usage(1200, 300)))
    with otel_llmcost.agent("historian"):
        created = client.responses.create(model="gpt-4.1", input="Rome in 3 words", background=True)
        client.responses.retrieve(created.id)

    run = spans.one("invoke_agent historian").attributes
    assert run[sc.LLMCOST_AGENT_STEPS] == 1
    assert run[sc.LLMCOST_ROLLUP_LLM_CALLS] == 1
    assert run[sc.LLMCOST_ROLLUP_UNPRICED_CALLS] == 1
    chat_spans = spans.named("chat gpt-4.1") + spans.named("chat gpt-4.1-2025-04-14")
    create, billed = sorted(chat_spans, key=lambda span: span.start_time)
    assert create.attributes[sc.LLMCOST_COST_DEFERRED] is True
    assert create.attributes[sc.LLMCOST_AGENT_STEP] == 1
    assert sc.LLMCOST_AGENT_STEP not in billed.attributes
    assert billed.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1200


# --- misuse and our own failures ------------------------------------------------------


def test_a_tool_whose_result_cannot_be_recorded_still_ends_and_leaves_the_run_current(
    openai_instrumented, spans, monkeypatch
):
    # A failure while recording the result (or an exception whose __str__ fails) used to skip the
    # exit: the tool span was never exported and stayed the parent of everything after it.
    def broken(scope, result):
        raise RuntimeError("cannot record")

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("no text")

    monkeypatch.setattr(api, "record_result", broken)

    @otel_llmcost.tool
    def get_tree() -> dict:
        return {"a": 1}

    @otel_llmcost.tool
    def explode() -> None:
        raise Unprintable()

    with otel_llmcost.agent("A"):
        get_tree()
        with pytest.raises(Unprintable):
            explode()
        with otel_llmcost.tool_call("after") as after:
            pass

    run = spans.one("invoke_agent A")
    for name in ("execute_tool get_tree", "execute_tool explode"):
        assert spans.one(name).parent.span_id == run.context.span_id
    assert spans.one("execute_tool explode").status.description == "Unprintable"
    assert spans.one("execute_tool after").parent.span_id == run.context.span_id
    assert after.call_id is None
    assert observer.open_scopes() == ()


def test_decorators_used_without_their_name_say_so(openai_instrumented, spans):
    with pytest.raises(TypeError, match=r'write @otel_llmcost.agent\("name"\), with parentheses, to decorate handle'):

        @otel_llmcost.agent
        def handle(question: str) -> str:
            return question

    with pytest.raises(TypeError, match=r"otel_llmcost.tool_call\(\) takes a name"):
        otel_llmcost.tool_call(None)

    @otel_llmcost.tool("search_orders")  # the name given positionally
    def search(customer: str) -> list[str]:
        return [customer]

    with otel_llmcost.agent("A"):
        assert search("c-1") == ["c-1"]
    assert spans.one("execute_tool search_orders")


@pytest.mark.parametrize(("limit", "value"), [("max_steps", "3"), ("max_steps", 0), ("max_context_tokens", -1)])
def test_limits_that_are_not_whole_numbers_above_zero_are_refused(limit, value):
    with pytest.raises(ValueError, match=f"otel_llmcost.agent\\({limit}=...\\) takes a whole number above 0"):
        otel_llmcost.agent("A", **{limit: value})


def test_a_block_exited_twice_is_ignored_with_a_warning(openai_instrumented, spans, caplog, monkeypatch):
    monkeypatch.setattr(core, "_logged", set())
    block = otel_llmcost.tool_call("lookup")
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        with block:
            pass
        block.__exit__(None, None, None)
        otel_llmcost.agent("never-entered").__exit__(None, None, None)

    assert spans.one("execute_tool lookup")
    assert len([r for r in caplog.records if "exited without being open" in r.getMessage()]) == 2


def test_generator_tools_and_agents_span_their_iteration_and_own_only_their_steps(openai_client, spans):
    # A streaming agent (async def ... yield) and a generator tool: each span lasts from the first step to
    # the end, the LLM calls made in their steps are theirs, and the caller's code between steps is not.
    import inspect

    client, _ = openai_client(answer("a", 100, 5), answer("b", 50, 5), answer("c", 20, 2), asynchronous=True)

    @otel_llmcost.tool
    def pages(count: int):
        for page in range(count):
            yield page

    @otel_llmcost.agent("streamer")
    async def stream_answer(question: str):
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        for page in pages(2):
            yield page
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)

    async def consume() -> list[int]:
        seen = []
        async for page in stream_answer("q"):
            seen.append(page)
            if page == 0:  # the caller's own call between two steps: not the agent's
                await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        return seen

    assert inspect.isasyncgenfunction(stream_answer) and inspect.isgeneratorfunction(pages)
    assert asyncio.run(consume()) == [0, 1]
    run = spans.one("invoke_agent streamer")
    assert run.attributes[sc.LLMCOST_ROLLUP_LLM_CALLS] == 2
    assert run.attributes[sc.LLMCOST_ROLLUP_COST] == float(cost(100, 5) + cost(20, 2))
    tool = spans.one("execute_tool pages")
    assert tool.parent.span_id == run.context.span_id
    assert run.start_time < tool.start_time < tool.end_time < run.end_time
    outside = [span for span in spans.llm_calls() if span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 50]
    assert outside[0].parent is None


def test_a_block_an_agent_generator_opens_across_a_yield_holds_for_its_later_calls(openai_client, spans):
    # The agent's own code opens an attribution block around its yields: its calls after a yield are
    # still inside it and inside the run; the caller's call between steps is in neither.
    client, _ = openai_client(answer("a", 100, 5), answer("b", 50, 5), answer("c", 20, 2))

    @otel_llmcost.agent("streamer")
    def stream_answer():
        with otel_llmcost.attributes(feature="answer"):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
            yield 1
            client.chat.completions.create(model=MODEL, messages=MESSAGES)

    for _ in stream_answer():
        client.chat.completions.create(model=MODEL, messages=MESSAGES)  # the caller's own

    run = spans.one("invoke_agent streamer")
    assert run.attributes[sc.LLMCOST_ROLLUP_LLM_CALLS] == 2
    calls = {span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS]: span for span in spans.llm_calls()}
    for mine in (calls[100], calls[20]):
        assert mine.attributes[sc.LLMCOST_FEATURE] == "answer"
        assert mine.parent.span_id == run.context.span_id
    assert sc.LLMCOST_FEATURE not in calls[50].attributes and calls[50].parent is None


def test_a_runs_conversation_id_lands_on_the_llm_calls_inside_it(openai_client, spans):
    # gen_ai.conversation.id is conditionally required on a call span "when available": the run has it.
    client, _ = openai_client(answer("a", 100, 5), answer("b", 50, 5))

    with otel_llmcost.agent("support-bot", conversation_id="conv_9"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    client.chat.completions.create(model=MODEL, messages=MESSAGES)  # outside any run

    calls = {span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS]: span for span in spans.llm_calls()}
    assert calls[100].attributes[sc.GEN_AI_CONVERSATION_ID] == "conv_9"
    assert sc.GEN_AI_CONVERSATION_ID not in calls[50].attributes
    assert spans.one("invoke_agent support-bot").attributes[sc.GEN_AI_CONVERSATION_ID] == "conv_9"


def test_the_invoke_agent_span_counts_its_calls_tokens_as_the_semconv_does(openai_client, spans):
    # gen_ai.usage.* on invoke_agent (recommended): the tokens of every LLM call of the run
    client, _ = openai_client(answer("a", 100, 5), answer("b", 50, 7))
    with otel_llmcost.agent("two-steps"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    with otel_llmcost.agent("no-calls"):
        pass

    run = spans.one("invoke_agent two-steps").attributes
    assert (run[sc.GEN_AI_USAGE_INPUT_TOKENS], run[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (150, 12)
    assert (run[sc.LLMCOST_ROLLUP_INPUT_TOKENS], run[sc.LLMCOST_ROLLUP_OUTPUT_TOKENS]) == (150, 12)
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in spans.one("invoke_agent no-calls").attributes
    assert len(spans.llm_calls()) == 2  # the agent span is no LLM call of its own


def test_agent_blocks_closed_out_of_order_leave_no_scope_or_span_behind(tracer_provider, spans):
    # Two runs interleaved (generators each in a with block, consumed in turns): an ended span stayed current
    # for good, and every later LLM call became its child.
    from opentelemetry import trace

    from otel_llmcost.agents.scopes import open_scopes

    Telemetry(tracer_provider=tracer_provider)
    outer, inner = otel_llmcost.agent("a"), otel_llmcost.agent("b")
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)
    assert [scope.span.name for scope in open_scopes()] == ["invoke_agent a", "invoke_agent b"]  # until b ends
    inner.__exit__(None, None, None)
    assert open_scopes() == ()
    assert not trace.get_current_span().get_span_context().is_valid
    assert {span.name for span in spans.all()} == {"invoke_agent a", "invoke_agent b"}


def test_a_step_loads_the_tokenizer_beside_its_call_not_after_it(openai_client, spans, unloaded_tokenizer):
    # A step resending a tool result counts its tokens when the call ends: the first count of the process
    # loaded tiktoken's encoding (~0.6 s) there, on the caller's thread, after the provider had answered.
    loaded_while_answering = []

    def provider_answers(request):
        loaded_while_answering.append(unloaded_tokenizer(30))  # the provider takes its time
        return json_reply(chat_completion("gpt-4o-mini-2024-07-18", "It is sunny.", chat_usage(40, 5)))

    client, _ = openai_client(provider_answers)
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [tool_call("call_1", "weather", {"city": "Paris"})]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
    ]
    with otel_llmcost.agent("bot"):
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert loaded_while_answering == [True]  # loaded while the provider worked, not after
    assert spans.one("chat gpt-4o-mini").attributes[sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS] == 5


def test_tool_arguments_json_cannot_write_cost_the_content_not_the_span(tracer_provider, spans):
    # A dict with tuple keys: json.dumps raised, and the tool's span was not started at all.
    @otel_llmcost.tool
    def lookup(table, key):
        return table.get(key)

    Telemetry(tracer_provider=tracer_provider, capture_content=True)
    assert lookup({(1, 2): "cell"}, (1, 2)) == "cell"
    span = spans.one("execute_tool lookup")
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in span.attributes
    assert span.attributes[sc.GEN_AI_TOOL_CALL_RESULT] == "cell"  # text is recorded as it is

"""The Responses API through the real openai SDK: usage, reasoning, tool calls, web search."""

from __future__ import annotations

import gc
import json
import logging
import threading
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from wire import (
    function_call_item,
    json_reply,
    message_item,
    reasoning_item,
    response_events,
    response_object,
    responses_usage,
    sse_reply,
    web_search_item,
)

import otel_llmcost
from otel_llmcost import semconv as sc
from otel_llmcost.tokens import count_text

M = D(1_000_000)
TOOLS = [
    {
        "type": "function",
        "name": "get_order",
        "description": "Look an order up",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    }
]


def create_response(**kwargs):
    async def scenario(api):
        return await api(
            api.client.responses.create(**{"model": "gpt-5-mini", "input": "Where is my parcel?", **kwargs})
        )

    return scenario


def test_reasoning_and_cached_input(openai_instrumented, openai_api):
    reply = response_object(
        "gpt-5-mini-2025-08-07",
        [reasoning_item(), message_item("It left the depot.")],
        responses_usage(5000, 800, cached=4096, reasoning=512),
    )
    api = openai_api(json_reply(reply))
    result = api.run(
        create_response(instructions="You are the support agent.", max_output_tokens=2000, temperature=1.0)
    )

    assert result.output_text == "It left the depot."
    span = openai_instrumented.span()
    attributes = dict(span.attributes)
    assert span.name == "chat gpt-5-mini"
    # gpt-5-mini: input 0.25, cache read 0.025, output 2 USD per 1M tokens
    uncached, cached, output = D(904) * D("0.25") / M, D(4096) * D("0.025") / M, D(800) * D(2) / M
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(uncached + cached + output)
    assert attributes[sc.LLMCOST_COST_CACHE_READ] == float(cached)
    assert attributes[sc.LLMCOST_COST_REASONING] == float(D(512) * D(2) / M)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5000
    assert attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 4096
    assert attributes[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 512
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 2000
    assert attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 1.0
    assert attributes[sc.OPENAI_API_TYPE] == "responses"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-5-mini-2025-08-07"
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "resp_68af4d1c"


def test_a_compaction_is_a_billed_call(openai_instrumented, openai_api):
    # responses.compact() (POST /responses/compact) runs the model over the conversation and reports usage:
    # it was not recorded at all.
    compacted = {
        "id": "resp_cmp_1",
        "object": "response.compaction",
        "created_at": 1764000000,
        "output": [{"id": "cmp_1", "type": "compaction", "encrypted_content": "xyz"}],
        "usage": responses_usage(50000, 2000, cached=40000, reasoning=1500),
    }
    api = openai_api(json_reply(compacted))
    if not hasattr(api.client.responses, "compact"):
        pytest.skip("this openai release has no responses.compact()")
    history = [{"role": "user", "content": "Where is my parcel?"}, {"role": "assistant", "content": "At the depot."}]
    api.run(lambda api: api(api.client.responses.compact(model="gpt-5", input=history)))

    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-5"
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "resp_cmp_1"
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 50000
    # gpt-5: input 1.25, cache read 0.125, output 10 USD per 1M tokens
    expected = D(10000) * D("1.25") / M + D(40000) * D("0.125") / M + D(2000) * 10 / M
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(expected)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes


async def _created(api, way, **request):
    """``responses.create(**request)`` made the given way, its result read through (a stream to its end)."""
    client = api.client
    if way == "with_raw_response":
        parsed = await api((await api(client.responses.with_raw_response.create(**request))).parse())
        if request.get("stream"):
            await api.items(parsed)
        return parsed
    if way == "with_streaming_response, read as JSON":  # not parsed: the user reads the body themselves
        manager = client.responses.with_streaming_response.create(**request)
        if api.asynchronous:
            async with manager as response:
                return SimpleNamespace(**await response.json())
        with manager as response:
            return SimpleNamespace(**response.json())
    if way == "with_streaming_response":
        manager = client.responses.with_streaming_response.create(**request)
        if api.asynchronous:
            async with manager as response:
                parsed = await response.parse()
                if request.get("stream"):
                    await api.items(parsed)
                return parsed
        with manager as response:
            parsed = response.parse()
            if request.get("stream"):
                list(parsed)
            return parsed
    created = await api(client.responses.create(**request))
    if request.get("stream"):
        await api.items(created)
    return created


@pytest.mark.parametrize("way", ["create", "with_raw_response", "with_streaming_response"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_call_continuing_a_response_keeps_its_prompt_fingerprint(openai_instrumented, openai_api, stream, way):
    # With previous_response_id the next step sends only the tool's output: it is the same agent's prompt.
    # A raw response is parsed after the request returned, in the caller's context: its fingerprint was
    # looked for on the caller's span, and a continuation of it got a fingerprint of its own (openai-agents
    # streams through with_streaming_response).
    first = response_object(
        "gpt-4.1-2025-04-14", [function_call_item("call_Z9", "get_order", {"order_id": "12345"})], responses_usage(300, 20)
    )
    second = response_object("gpt-4.1-2025-04-14", [message_item("It left the depot.")], responses_usage(350, 10), response_id="resp_2")
    reply = sse_reply(response_events(first, []), named=True, done=False) if stream else json_reply(first)
    api = openai_api(reply, json_reply(second))

    async def scenario(api):
        await _created(api, way, model="gpt-4.1", instructions="You track parcels.", tools=TOOLS, input="Where is order 12345?", stream=stream)
        output = {"type": "function_call_output", "call_id": "call_Z9", "output": '{"status": "shipped"}'}
        # without the instructions, which the stored response keeps: only the first call's fingerprint can match
        return await api(api.client.responses.create(model="gpt-4.1", tools=TOOLS, previous_response_id="resp_68af4d1c", input=[output]))

    api.run(scenario)
    one, two = openai_instrumented.spans()
    assert two.attributes[sc.GEN_AI_RESPONSE_ID] == "resp_2"
    assert one.attributes[sc.LLMCOST_PROMPT_FINGERPRINT] == two.attributes[sc.LLMCOST_PROMPT_FINGERPRINT]


@pytest.mark.parametrize("asynchronous", [False], ids=["sync"])  # an async one ends as its event loop closes
def test_an_abandoned_streams_end_run_inside_our_lock_does_not_hang(openai_instrumented, openai_api):
    # The garbage collector runs an abandoned stream's finalizer at any allocation, also one its thread makes
    # while it holds the lock on the responses' ids: the stream's end, which remembers its response's
    # fingerprint, must not wait for that lock (it waited forever: the app's thread or event loop froze).
    from otel_llmcost.instrumentation.openai import responses

    final = response_object("gpt-4.1-mini", [message_item("It left the depot.")], responses_usage(30, 9))
    api = openai_api(sse_reply(response_events(final, ["It left ", "the depot."]), named=True, done=False))
    left: list = []

    async def scenario(api):
        stream = await api(api.client.responses.create(model="gpt-4.1-mini", input="Where is it?", stream=True))
        await api.items(stream, limit=1)
        left.append(stream)  # abandoned after its first event

    api.run(scenario)
    done = threading.Event()

    def drop_inside_the_lock():
        with responses._background_lock:
            left.clear()  # its last reference: the finalizer runs here, as a collection would
            gc.collect()
        done.set()

    threading.Thread(target=drop_inside_the_lock, daemon=True).start()
    if not done.wait(10):
        responses._background_lock.release()  # freed from here, so the failure hangs no later test
        pytest.fail("the stream's end waited for a lock its own thread held")
    [span] = openai_instrumented.spans()
    assert span.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4.1-mini"


def test_function_calls_the_model_asked_for(openai_instrumented, openai_api):
    reply = response_object(
        "gpt-5-mini-2025-08-07",
        [
            reasoning_item(),
            function_call_item("call_Z9", "get_order", {"order_id": "12345"}),
            function_call_item("call_Y8", "get_order", {"order_id": "67890"}, item_id="fc_2"),
        ],
        responses_usage(900, 120, reasoning=64),
    )
    api = openai_api(json_reply(reply))
    api.run(create_response(tools=TOOLS))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOOL_CALLS_COUNT] == 2
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("get_order", "get_order")
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("call_Z9", "call_Y8")
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)


def test_function_call_arguments_count_when_the_usage_is_missing(openai_instrumented, openai_api):
    arguments = {"order_id": "12345", "include_history": True, "locale": "en-US"}
    reply = response_object("gpt-5-mini", [function_call_item("call_Z9", "get_order", arguments)], None)
    api = openai_api(json_reply(reply), base_url="http://localhost:8000/v1")
    api.run(create_response())

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(json.dumps(arguments), "gpt-5-mini") > 10


def test_usage_details_sent_as_empty_lists_are_read_as_none(openai_instrumented, openai_api):
    # A compatible server that serializes an empty map as []: the usage and its cost stay exact.
    usage = {**responses_usage(900, 120), "input_tokens_details": [], "output_tokens_details": []}
    reply = response_object("gpt-5-mini-2025-08-07", [message_item("It left the depot.")], usage)
    openai_api(json_reply(reply), base_url="http://localhost:8000/v1").run(create_response())

    attributes = dict(openai_instrumented.span().attributes)
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (900, 120)
    # gpt-5-mini: input 0.25, output 2 USD per 1M tokens
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(900) * D("0.25") / M + D(120) * D(2) / M)


def test_tool_definitions_count_as_input_when_the_usage_is_missing(openai_instrumented, openai_api):
    from otel_llmcost.tokens import count_messages

    reply = response_object("gpt-5-mini", [message_item("Order 12345 shipped.")], None)
    openai_api(json_reply(reply), base_url="http://localhost:8000/v1").run(create_response(tools=TOOLS))

    attributes = dict(openai_instrumented.span().attributes)
    prompt = count_messages([{"role": "user", "content": "Where is my parcel?"}], "gpt-5-mini")
    # name, description, then the parameters, as OpenAI's token-counting guide reads a function
    tool_text = "get_order:Look an order up:" + json.dumps(TOOLS[0]["parameters"], separators=(",", ":"))
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == prompt + count_text(tool_text, "gpt-5-mini")


def test_web_search_calls_are_billed_per_request(openai_instrumented, openai_api):
    reply = response_object(
        "gpt-4o-mini-2024-07-18",
        [web_search_item(), message_item("OpenTelemetry GenAI conventions are at v1.41.")],
        responses_usage(300, 100),
    )
    api = openai_api(json_reply(reply))
    api.run(create_response(model="gpt-4o-mini", tools=[{"type": "web_search"}]))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_USAGE_WEB_SEARCH_REQUESTS] == 1
    # gpt-4o-mini-2024-07-18: input 0.15, output 0.6 USD per 1M tokens, web search 27.5 USD per 1,000 calls
    fees = D("27.5") / D(1000)
    assert attributes[sc.LLMCOST_COST_REQUEST_FEES] == float(fees)
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(300) * D("0.15") / M + D(100) * D("0.6") / M + fees)


@pytest.mark.parametrize("reported", [False, True], ids=["counted", "tool_usage"])
def test_only_searches_are_billed_not_pages_opened_or_failed_calls(openai_instrumented, openai_api, reported):
    # The web search tool also opens pages and finds in them; those actions, and a failed call, are not
    # billed searches (openai's ToolUsage: "actions such as opening a page are excluded").
    opened = {**web_search_item("ws_2"), "action": {"type": "open_page", "url": "https://opentelemetry.io"}}
    found = {**web_search_item("ws_3"), "action": {"type": "find_in_page", "pattern": "v1.41"}}
    failed = {**web_search_item("ws_4"), "status": "failed"}
    reply = response_object(
        "gpt-4o-mini-2024-07-18",
        [web_search_item(), opened, found, failed, message_item("They are at v1.41.")],
        responses_usage(300, 100),
    )
    if reported:  # the response's own count wins (here: the search, and one the items do not show)
        reply["tool_usage"] = {"web_search": {"num_requests": 2}}
    api = openai_api(json_reply(reply))
    api.run(create_response(model="gpt-4o-mini", tools=[{"type": "web_search"}]))

    attributes = dict(openai_instrumented.span().attributes)
    searches = 2 if reported else 1
    assert attributes[sc.LLMCOST_USAGE_WEB_SEARCH_REQUESTS] == searches
    # gpt-4o-mini-2024-07-18: web search 27.5 USD per 1,000 calls
    assert attributes[sc.LLMCOST_COST_REQUEST_FEES] == float(searches * D("27.5") / D(1000))


def test_an_incomplete_response_reports_why(openai_instrumented, openai_api):
    reply = response_object(
        "gpt-5-mini-2025-08-07",
        [reasoning_item()],
        responses_usage(100, 2000, reasoning=2000),
        status="incomplete",
        incomplete_reason="max_output_tokens",
    )
    api = openai_api(json_reply(reply))
    api.run(create_response(max_output_tokens=2000))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("length",)
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(100) * D("0.25") / M + D(2000) * D(2) / M)


def test_flex_tier_from_the_response(openai_instrumented, openai_api):
    reply = response_object(
        "gpt-5-mini-2025-08-07", [message_item("ok")], responses_usage(1000, 100), service_tier="flex"
    )
    api = openai_api(json_reply(reply))
    api.run(create_response(service_tier="flex"))

    attributes = dict(openai_instrumented.span().attributes)
    # gpt-5-mini flex: input 0.125, output 1 USD per 1M tokens
    assert attributes[sc.LLMCOST_PRICING_TIER] == "flex"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(1000) * D("0.125") / M + D(100) / M)


def test_instructions_and_tools_make_the_fingerprint(openai_instrumented, openai_api):
    replies = [
        json_reply(response_object("gpt-5-mini", [message_item("ok")], responses_usage(10, 2))) for _ in range(5)
    ]
    api = openai_api(*replies)
    api.run(create_response(instructions="You are agent 7.", input="first question", tools=TOOLS))
    api.run(
        create_response(
            instructions="You are agent 9.", input=[{"role": "user", "content": "second question"}], tools=TOOLS
        )
    )
    api.run(create_response(instructions="You are agent 7.", input="first question"))
    api.run(create_response(instructions="You translate.", input="first question", tools=TOOLS))
    # a tool's description is prompt text too: another wording is another version of the template
    reworded = [{**TOOLS[0], "description": "Look an order up. ALWAYS call this before answering."}]
    api.run(create_response(instructions="You are agent 7.", input="first question", tools=reworded))

    first, second, no_tools, other, other_description = (
        span.attributes[sc.LLMCOST_PROMPT_FINGERPRINT] for span in openai_instrumented.spans()
    )
    assert first == second
    assert len({first, no_tools, other, other_description}) == 4


def test_stored_prompts_and_mcp_servers_tell_templates_apart(openai_instrumented, openai_api):
    # A prompt stored with OpenAI, or an MCP server's tools: no text or schema in the request to hash,
    # so their ids do it; otherwise every such template shared one fingerprint.
    reply = json_reply(response_object("gpt-5-mini", [message_item("ok")], responses_usage(10, 2)))
    api = openai_api(*[reply] * 5)
    refunds = {"id": "pmpt_68b0f5e3c2a88190a1b6d2a0c4f2b5f5", "version": "2"}
    for request in (
        {"prompt": refunds, "input": "first"},
        {"prompt": {**refunds, "version": "3"}, "input": "second"},
        {"prompt": {"id": "pmpt_77c1a6f4d3b99201b2c7e3b1d5a3c6a6"}, "input": "first"},
        {"tools": [{"type": "mcp", "server_label": "stripe", "server_url": "https://mcp.stripe.com"}], "input": "x"},
        {"tools": [{"type": "mcp", "server_label": "github", "server_url": "https://api.githubcopilot.com"}]},
    ):
        api.run(create_response(**request))

    refunds_v2, refunds_v3, sales, stripe, github = (
        span.attributes[sc.LLMCOST_PROMPT_FINGERPRINT] for span in openai_instrumented.spans()
    )
    assert refunds_v2 == refunds_v3  # one stored template, two of its versions
    assert len({refunds_v2, sales, stripe, github}) == 4


def test_conversation_and_output_type(openai_instrumented, openai_api):
    reply = response_object("gpt-5-mini", [message_item('{"ok": true}')], responses_usage(10, 2))
    api = openai_api(json_reply(reply))
    text_format = {
        "format": {
            "type": "json_schema",
            "name": "ok",
            "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
        }
    }
    api.run(create_response(conversation="conv_689667905b048191b4740501625afd940c7533ace33a2dab", text=text_format))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_CONVERSATION_ID] == "conv_689667905b048191b4740501625afd940c7533ace33a2dab"
    assert attributes[sc.GEN_AI_OUTPUT_TYPE] == "json"


def test_responses_parse_returns_the_same_parsed_object(instrument_openai, telemetry, openai_api):
    from pydantic import BaseModel

    class Parcel(BaseModel):
        status: str

    async def scenario(api):
        return await api(
            api.client.responses.parse(model="gpt-5-mini", input="Where is my parcel?", text_format=Parcel)
        )

    reply = json_reply(
        response_object("gpt-5-mini-2025-08-07", [message_item('{"status": "in transit"}')], responses_usage(50, 10))
    )
    bare = openai_api(reply).run(scenario)
    instrument_openai()
    traced = openai_api(reply).run(scenario)

    assert type(traced) is type(bare)
    assert traced.output_parsed == bare.output_parsed == Parcel(status="in transit")
    assert dict(telemetry.span().attributes)[sc.GEN_AI_USAGE_COST_AMOUNT] == float(
        D(50) * D("0.25") / M + D(10) * D(2) / M
    )


def test_the_tools_offered_to_a_response_are_recorded_by_type_and_name(instrument_openai, telemetry, openai_api):
    # The Responses API's own tools have no name: their type names them; an MCP server, its label
    instrument_openai(capture_content=True)
    tools = [
        {"type": "function", "name": "get_order", "parameters": {"type": "object", "properties": {}}},
        {"type": "web_search"},
        {"type": "mcp", "server_label": "deepwiki", "server_url": "https://mcp.deepwiki.com/mcp"},
    ]
    reply = response_object("gpt-4.1-2025-04-14", [message_item("Hi")], responses_usage(30, 10))
    openai_api(json_reply(reply)).run(create_response(model="gpt-4.1", tools=tools))

    assert json.loads(telemetry.span().attributes[sc.GEN_AI_TOOL_DEFINITIONS]) == [
        {"type": "function", "name": "get_order"},
        {"type": "web_search", "name": "web_search"},
        {"type": "mcp", "name": "deepwiki"},
    ]


def test_a_reasoning_summary_and_a_refusal_are_captured(instrument_openai, telemetry, openai_api):
    # A refused answer is not empty: its message holds a refusal part; reasoning items carry a summary.
    instrument_openai(capture_content=True)
    reasoning = {**reasoning_item(), "summary": [{"type": "summary_text", "text": "The request asks for a weapon."}]}
    refusal = {**message_item(""), "content": [{"type": "refusal", "refusal": "I can't help with that."}]}
    reply = response_object("gpt-5-mini-2025-08-07", [reasoning, refusal], responses_usage(50, 30))
    api = openai_api(json_reply(reply))
    api.run(create_response(model="gpt-5-mini", input="How do I build one?"))

    assert json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "reasoning", "content": "The request asks for a weapon."},
                {"type": "text", "content": "I can't help with that."},
            ],
            "finish_reason": "stop",
        }
    ]


def test_a_server_side_tool_call_is_captured_as_a_server_tool_call_part(instrument_openai, telemetry, openai_api):
    # A web search OpenAI ran: billed as a search, and in the output messages as the semconv's
    # ServerToolCallPart (it was left out, so the captured answer showed no search before it).
    instrument_openai(capture_content=True)
    output = [web_search_item(), message_item("Rome.")]
    reply = response_object("gpt-5-mini-2025-08-07", output, responses_usage(50, 30))
    api = openai_api(json_reply(reply))
    api.run(create_response(model="gpt-5-mini", input="Capital of Italy?", tools=[{"type": "web_search"}]))

    assert json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "server_tool_call",
                    "id": "ws_68af4d1f",
                    "name": "web_search",
                    "server_tool_call": {"type": "web_search"},
                },
                {"type": "text", "content": "Rome."},
            ],
            "finish_reason": "stop",
        }
    ]


@pytest.fixture(autouse=True)
def fresh_response_registries(monkeypatch):
    # Which responses this process created, billed and fingerprinted: each test starts with none (the
    # tests reuse response ids).
    from collections import OrderedDict

    from otel_llmcost.instrumentation.openai import responses

    monkeypatch.setattr(responses, "_waiting", OrderedDict())
    monkeypatch.setattr(responses, "_billed", OrderedDict())
    monkeypatch.setattr(responses, "_fingerprints", OrderedDict())


def _background(status, usage=None, response_id="resp_bg_1"):
    output = [message_item("Rome rose, ruled, fell.")] if usage else []
    response = response_object("gpt-4.1-2025-04-14", output, usage, status=status, response_id=response_id)
    return {**response, "background": True}


@pytest.mark.parametrize(
    "way", ["create", "with_raw_response", "with_streaming_response", "with_streaming_response, read as JSON"]
)
def test_a_background_response_is_billed_once_when_a_retrieve_finds_it_finished(openai_instrumented, openai_api, way):
    # create(background=True) returns "queued": nothing is billed yet, so nothing is estimated. The
    # retrieve that finds it completed records its usage and cost, once, under the create call's span
    # (also when the create call's raw response was parsed after its request returned).
    usage = responses_usage(1200, 300)
    api = openai_api(
        json_reply(_background("queued")),
        json_reply(_background("in_progress")),
        json_reply(_background("completed", usage)),
        json_reply(_background("completed", usage)),
    )

    async def scenario(api):
        created = await _created(api, way, model="gpt-4.1", input="Rome in 3 words", background=True)
        for _ in range(3):  # polled until done, then once more
            await api(api.client.responses.retrieve(created.id))

    with otel_llmcost.attributes(team="research"):
        api.run(scenario)

    create, billed = openai_instrumented.spans()
    assert create.attributes[sc.LLMCOST_COST_DEFERRED] is True
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in create.attributes
    assert sc.GEN_AI_USAGE_COST_AMOUNT not in create.attributes
    assert billed.parent.span_id == create.context.span_id
    assert billed.attributes[sc.GEN_AI_RESPONSE_ID] == "resp_bg_1"
    assert billed.attributes[sc.LLMCOST_TEAM] == "research"
    assert billed.attributes[sc.LLMCOST_PROMPT_FINGERPRINT] == create.attributes[sc.LLMCOST_PROMPT_FINGERPRINT]
    assert billed.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1200
    assert billed.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 300
    # gpt-4.1: input 2, output 8 USD per 1M tokens
    assert billed.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(1200) * 2 / M + D(300) * 8 / M)
    assert billed.start_time >= create.end_time
    # one operation: the create call's duration; the billing span adds the tokens and the cost, under
    # the model the create call asked for
    assert billed.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4.1"
    [duration] = openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.count == 1
    tokens = openai_instrumented.metric_points(sc.METRIC_TOKEN_USAGE)
    assert {point.attributes[sc.GEN_AI_TOKEN_TYPE]: point.sum for point in tokens} == {"input": 1200, "output": 300}
    assert {point.attributes[sc.GEN_AI_REQUEST_MODEL] for point in tokens} == {"gpt-4.1"}


@pytest.mark.parametrize(
    "way",
    [
        "with_raw_response",
        "with_raw_response, parse(to=dict)",
        "with_raw_response, never parsed",
        "with_streaming_response",
        "with_streaming_response, streamed",
    ],
)
def test_a_background_response_polled_through_a_raw_response_is_billed(openai_instrumented, openai_api, way):
    # The poll's raw response hands the SDK's post_parser its body only at .parse(): it used to be left unread,
    # so the response was never billed. A raw response read whole is billed when the request returns.
    if way.endswith("(to=dict)"):
        import openai
        from openai._models import construct_type

        try:
            construct_type(type_=dict, value={"status": "completed"})  # what .parse(to=dict) does
        except ValueError:
            pytest.skip(f"openai {openai.__version__} cannot parse a raw response to a bare dict")
    usage = responses_usage(1200, 300)
    events = response_events(_background("completed", usage), ["Rome ", "rose."])
    for event in events:
        if "response" in event:
            event["response"] = {**event["response"], "background": True}
    streamed = way.endswith("streamed")
    polled = sse_reply(events, named=True, done=False) if streamed else json_reply(_background("completed", usage))
    api = openai_api(json_reply(_background("queued")), polled)

    async def scenario(api):
        client = api.client
        created = await api(client.responses.create(model="gpt-4.1", input="Rome in 3 words", background=True))
        if way.startswith("with_raw_response"):
            raw = await api(client.responses.with_raw_response.retrieve(created.id))
            assert len(openai_instrumented.spans()) == 2  # billed at once
            if way.endswith("never parsed"):
                return json.loads(raw.text)["status"]
            if way.endswith("(to=dict)"):
                return (await api(raw.parse(to=dict)))["status"]
            return (await api(raw.parse())).status
        manager = client.responses.with_streaming_response.retrieve(created.id, stream=streamed)
        if api.asynchronous:
            async with manager as response:
                parsed = await response.parse()
                return [event.type for event in await api.items(parsed)] if streamed else parsed.status
        with manager as response:
            parsed = response.parse()
            return [event.type for event in parsed] if streamed else parsed.status

    got = api.run(scenario)
    assert got == ([event["type"] for event in events] if streamed else "completed")
    create, billed = openai_instrumented.spans()
    assert create.attributes[sc.LLMCOST_COST_DEFERRED] is True
    assert billed.parent.span_id == create.context.span_id
    assert billed.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1200
    assert billed.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 300
    assert billed.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(1200) * 2 / M + D(300) * 8 / M)


def test_a_queued_background_response_captures_no_output_yet(instrument_openai, telemetry, openai_api):
    # Nothing was generated when create(background=True) returned: no empty assistant message with finish_reason ""
    instrument_openai(capture_content=True)
    api = openai_api(json_reply(_background("queued")))
    api.run(lambda api: api(api.client.responses.create(model="gpt-4.1", input="Rome in 3 words", background=True)))

    attributes = telemetry.span().attributes
    assert attributes[sc.LLMCOST_COST_DEFERRED] is True
    [asked] = json.loads(attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert asked["parts"] == [{"type": "text", "content": "Rome in 3 words"}]
    assert sc.GEN_AI_OUTPUT_MESSAGES not in attributes


@pytest.mark.parametrize("followed", ["resumed stream", "polled"])
def test_a_background_stream_cut_short_is_billed_once_when_it_finishes(openai_instrumented, openai_api, followed):
    # create(background=True, stream=True), the stream cut after a few events: the response runs on, so
    # the create call is not billed an estimate of what streamed (it was, and then billed again by a retrieve,
    # or the resumed stream billed nothing). The resumed stream's final event, or a retrieve that finds it
    # finished, bills it once, under the create call's span.
    usage = responses_usage(1000, 500)
    events = response_events(_background("completed", usage), ["Rome ", "rose, ", "ruled, ", "fell."])
    for event in events:
        if "response" in event:
            event["response"] = {**event["response"], "background": True}
    follow = (
        sse_reply(events[3:], named=True, done=False)
        if followed == "resumed stream"
        else json_reply(_background("completed", usage))
    )
    api = openai_api(sse_reply(events[:3], named=True, done=False), follow)

    async def scenario(api):
        stream = await api(api.client.responses.create(model="gpt-4.1", input="Rome in 3 words", background=True, stream=True))
        await api.items(stream)  # the connection dropped after three events
        if followed == "polled":
            return await api(api.client.responses.retrieve("resp_bg_1"))
        resumed = await api(api.client.responses.retrieve("resp_bg_1", stream=True, starting_after=2))
        return await api.items(resumed)

    with otel_llmcost.attributes(team="research"):
        api.run(scenario)

    create, billed = openai_instrumented.spans()
    assert create.attributes[sc.LLMCOST_COST_DEFERRED] is True
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in create.attributes and sc.LLMCOST_TOKENS_ESTIMATED not in create.attributes
    assert billed.parent.span_id == create.context.span_id
    assert billed.attributes[sc.LLMCOST_TEAM] == "research"
    assert (billed.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], billed.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (1000, 500)
    assert billed.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(1000) * 2 / M + D(500) * 8 / M)


def test_a_queued_background_response_followed_by_a_stream_is_billed_by_its_final_event(openai_instrumented, openai_api):
    usage = responses_usage(1200, 300)
    events = response_events(_background("completed", usage), ["Rome ", "rose."])
    for event in events:
        if "response" in event:
            event["response"] = {**event["response"], "background": True}
    api = openai_api(json_reply(_background("queued")), sse_reply(events, named=True, done=False))

    async def scenario(api):
        created = await api(api.client.responses.create(model="gpt-4.1", input="Rome in 3 words", background=True))
        return await api.items(await api(api.client.responses.retrieve(created.id, stream=True)))

    seen = api.run(scenario)
    assert [event.type for event in seen] == [event["type"] for event in events]  # the user's events, unchanged
    create, billed = openai_instrumented.spans()
    assert create.attributes[sc.LLMCOST_COST_DEFERRED] is True
    assert billed.parent.span_id == create.context.span_id
    assert billed.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(1200) * 2 / M + D(300) * 8 / M)


def test_only_a_finished_background_response_read_back_is_a_billed_call(openai_instrumented, openai_api):
    # Created by another process: its first retrieve here bills it. A response that is not a
    # background one (billed by its own create call) or is still running is not a call to record.
    usage = responses_usage(500, 50)
    plain = response_object("gpt-4.1-2025-04-14", [message_item("Hi")], usage, response_id="resp_plain")
    api = openai_api(
        json_reply(plain),
        json_reply(_background("in_progress", response_id="resp_bg_2")),
        json_reply(_background("completed", usage, response_id="resp_bg_2")),
    )

    async def scenario(api):
        for response_id in ("resp_plain", "resp_bg_2", "resp_bg_2"):
            await api(api.client.responses.retrieve(response_id))

    api.run(scenario)

    [billed] = openai_instrumented.spans()
    assert billed.attributes[sc.GEN_AI_RESPONSE_ID] == "resp_bg_2"
    assert billed.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 500
    assert billed.parent is None


def test_input_tokens_written_to_the_cache_are_priced_at_the_cache_write_rate(openai_instrumented, openai_api):
    usage = responses_usage(100_000, 1_000, cached=10_000)
    usage["input_tokens_details"]["cache_write_tokens"] = 80_000
    api = openai_api(json_reply(response_object("gpt-5.6", [message_item("Done.")], usage)))
    api.run(create_response(model="gpt-5.6"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 80_000
    # gpt-5.6: input 5, cache read 0.5, cache write 6.25, output 30 USD per 1M tokens
    expected = (D(10_000) * 5 + D(10_000) * D("0.5") + D(80_000) * D("6.25") + D(1_000) * 30) / M
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(expected)


def test_a_computer_call_is_a_tool_call_the_application_runs(instrument_openai, telemetry, openai_api):
    # computer, shell and apply_patch calls are answered by the application, like function calls
    computer = {
        "type": "computer_call",
        "id": "cu_1",
        "call_id": "call_cu1",
        "status": "completed",
        "action": {"type": "click", "button": "left", "x": 100, "y": 200},
        "pending_safety_checks": [],
    }
    reply = response_object("computer-use-preview-2025-03-11", [reasoning_item(), computer], responses_usage(1000, 100))
    screen = {"type": "computer_use_preview", "display_width": 1024, "display_height": 768, "environment": "browser"}
    instrument_openai(capture_content=True)
    openai_api(json_reply(reply)).run(create_response(model="computer-use-preview", truncation="auto", tools=[screen]))

    attributes = telemetry.span().attributes
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("call_cu1",)
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("computer",)
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    [output] = json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["parts"] == [
        {
            "type": "tool_call",
            "id": "call_cu1",
            "name": "computer",
            "arguments": {"type": "click", "button": "left", "x": 100, "y": 200},
        }
    ]
    assert output["finish_reason"] == "tool_call"


def test_built_in_tools_whose_fee_is_not_priced_are_said_to_be(openai_instrumented, openai_api, monkeypatch, caplog):
    from otel_llmcost.instrumentation import core

    monkeypatch.setattr(core, "_logged", set())
    searched = {"type": "file_search_call", "id": "fs_1", "status": "completed", "queries": ["refunds"]}
    reply = response_object("gpt-4.1-mini-2025-04-14", [searched, message_item("30 days.")], responses_usage(900, 20))
    api = openai_api(json_reply(reply), json_reply(reply))
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        for _ in range(2):
            api.run(create_response(model="gpt-4.1-mini", tools=[{"type": "file_search", "vector_store_ids": ["v1"]}]))

    warnings = [record.getMessage() for record in caplog.records if record.name.startswith("otel_llmcost")]
    assert len(warnings) == 1 and "file_search tool" in warnings[0] and "per 1,000 calls" in warnings[0]
    for span in openai_instrumented.spans():  # the tokens' cost is still recorded
        assert span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


@pytest.mark.parametrize("reported", [{"input_tokens": None, "output_tokens": None, "total_tokens": None}, {}])
def test_a_responses_usage_without_counts_is_estimated_not_zero(openai_instrumented, openai_api, reported):
    # A compatible server's nulls (or {}): recorded as an exact 0 tokens and $0 before.
    reply = response_object("gpt-4.1-mini-2025-04-14", [message_item("It left the depot.")], responses_usage(1, 1))
    reply["usage"] = reported
    openai_api(json_reply(reply), base_url="http://localhost:8000/v1").run(create_response(model="gpt-4.1-mini"))

    attributes = openai_instrumented.span().attributes
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0 and attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_an_embeddings_usage_without_counts_is_estimated_not_zero(openai_instrumented, openai_api):
    reply = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
             "model": "text-embedding-3-small", "usage": {"prompt_tokens": None, "total_tokens": None}}
    api = openai_api(json_reply(reply), base_url="http://localhost:8000/v1")
    api.run(lambda api: api(api.client.embeddings.create(model="text-embedding-3-small", input="Where is my parcel?", encoding_format="float")))

    attributes = openai_instrumented.span().attributes
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_text("Where is my parcel?", "text-embedding-3-small")


def test_a_tool_outputs_screenshot_is_not_copied_onto_the_span(instrument_openai, telemetry, openai_api):
    # A computer-use loop resends its screenshots at every step: megabytes of base64 on each span before.
    screenshot = "data:image/png;base64," + "iVBORw0KGgo" * 10_000
    inputs = [
        {"type": "computer_call_output", "call_id": "call_1", "output": {"type": "computer_screenshot", "image_url": screenshot}},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_image", "image_url": screenshot}]},
        {"type": "function_call_output", "call_id": "call_3", "output": '{"status": "shipped"}'},
    ]
    instrument_openai(capture_content=True)
    reply = response_object("gpt-4.1-mini-2025-04-14", [message_item("Done.")], responses_usage(900, 5))
    openai_api(json_reply(reply)).run(create_response(model="gpt-4.1-mini", input=inputs))

    recorded = telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "iVBORw0KGgo" not in recorded and len(recorded) < 2_000
    assert '{\\"status\\": \\"shipped\\"}' in recorded or '{"status": "shipped"}' in recorded


def test_a_reasoning_items_ciphertext_is_not_counted_in_an_estimate(openai_instrumented, openai_api):
    # A stateless agent resends its reasoning items (include=["reasoning.encrypted_content"]): the blob is no
    # text the model reads, yet an estimate counted about a token per character of it.
    reply = response_object("gpt-5-mini-2025-08-07", [message_item("Done.")], None)
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAB" + "x" * 12_000}
    openai_api(json_reply(reply), base_url="http://localhost:8000/v1").run(
        create_response(model="gpt-5-mini", input=[{"role": "user", "content": "Hi"}, reasoning])
    )
    assert openai_instrumented.span().attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] < 100

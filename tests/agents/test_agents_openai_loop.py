"""A hand-written agent loop on the real openai client (Chat Completions on a mock wire) calling two
tools over four LLM calls: per-run and per-tool costs, resent tool results, context growth, span
tree. Expected costs are computed here by hand from the catalog's per-1M prices."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D
from typing import Any

from conftest import M, Spans, span_id, tokens
from opentelemetry.trace import SpanKind
from wire import chat_completion, chat_usage, json_reply, tool_call

import otel_llmcost
from otel_llmcost import semconv as sc

MODEL = "gpt-4o-mini"
SERVED = "gpt-4o-mini-2024-07-18"
# gpt-4o-mini-2024-07-18 in the catalog: input 0.15, cache read 0.075, output 0.6 USD per 1M tokens
INPUT, CACHE_READ, OUTPUT = D("0.15"), D("0.075"), D("0.6")

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look an order up by id",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_docs",
            "description": "Search the help center",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        },
    },
]
ORDERS = {
    "12345": {"order_id": "12345", "status": "shipped", "carrier": "DHL", "eta": "2026-08-03", "items": 3},
    "67890": {"order_id": "67890", "status": "delayed", "carrier": "UPS", "eta": "2026-08-09", "items": 1},
}
SUMMARY = "Delayed parcels are refunded in full when they arrive more than five business days late."
ANSWER = "Order 12345 arrives on 3 August; order 67890 is delayed, and the delay is refunded."

# The wire's answers, in the order the loop asks: step 1 asks for one tool, step 2 for two (the
# second tool calls the model itself to summarise), the last step answers.
STEP_1 = chat_completion(
    SERVED,
    None,
    chat_usage(150, 18),
    finish_reason="tool_calls",
    tool_calls=[tool_call("call_1", "lookup_order", {"order_id": "12345"})],
    completion_id="chatcmpl-step1",
)
STEP_2 = chat_completion(
    SERVED,
    None,
    chat_usage(240, 40),
    finish_reason="tool_calls",
    tool_calls=[
        tool_call("call_2", "search_docs", {"query": "delayed parcel refund"}),
        tool_call("call_3", "lookup_order", {"order_id": "67890"}),
    ],
    completion_id="chatcmpl-step2",
)
SUMMARISER = chat_completion(SERVED, SUMMARY, chat_usage(30, 45), completion_id="chatcmpl-summary")
FINAL = chat_completion(SERVED, ANSWER, chat_usage(420, 60, cached=128), completion_id="chatcmpl-final")
REPLIES = [json_reply(STEP_1), json_reply(STEP_2), json_reply(SUMMARISER), json_reply(FINAL)]

COST_1 = (150 * INPUT + 18 * OUTPUT) / M
COST_2 = (240 * INPUT + 40 * OUTPUT) / M
COST_SUMMARY = (30 * INPUT + 45 * OUTPUT) / M
COST_FINAL = ((420 - 128) * INPUT + 128 * CACHE_READ + 60 * OUTPUT) / M
RESULT_1 = json.dumps(ORDERS["12345"])
RESULT_3 = json.dumps(ORDERS["67890"])


def question() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are the support agent. Use the tools."},
        {"role": "user", "content": "Where are my orders 12345 and 67890, and do I get a refund?"},
    ]


def run_agent(client: Any) -> str:
    @otel_llmcost.tool
    def lookup_order(order_id: str) -> str:
        """Look an order up by id."""
        return json.dumps(ORDERS[order_id])

    @otel_llmcost.tool
    def search_docs(query: str) -> str:
        summary = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"Summarise the help center on: {query}"}]
        )
        return summary.choices[0].message.content

    tools = {"lookup_order": lookup_order, "search_docs": search_docs}
    messages = question()
    with otel_llmcost.agent("support-bot", id="asst_support_1"):
        while True:
            response = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
            message = response.choices[0].message
            messages.append(message)  # the SDK's pydantic message, as agent loops often append it
            if not message.tool_calls:
                return message.content
            for call in message.tool_calls:
                result = tools[call.function.name](**json.loads(call.function.arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})


async def run_agent_async(client: Any) -> str:
    @otel_llmcost.tool
    async def lookup_order(order_id: str) -> str:
        await asyncio.sleep(0)
        return json.dumps(ORDERS[order_id])

    @otel_llmcost.tool
    async def search_docs(query: str) -> str:
        summary = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"Summarise the help center on: {query}"}]
        )
        return summary.choices[0].message.content

    tools = {"lookup_order": lookup_order, "search_docs": search_docs}
    messages = question()
    with otel_llmcost.agent("support-bot", id="asst_support_1"):
        while True:
            response = await client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
            message = response.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            if not message.tool_calls:
                return message.content
            # The tools of one step run concurrently, each in its own task.
            calls = message.tool_calls
            results = await asyncio.gather(
                *(tools[call.function.name](**json.loads(call.function.arguments)) for call in calls)
            )
            for call, result in zip(calls, results, strict=True):
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})


def check_run(spans: Spans, description: str | None) -> None:
    run = spans.one("invoke_agent support-bot")
    steps = spans.llm_calls()
    assert [span.attributes[sc.GEN_AI_RESPONSE_ID] for span in steps] == [
        "chatcmpl-step1",
        "chatcmpl-step2",
        "chatcmpl-summary",
        "chatcmpl-final",
    ]
    step_1, step_2, summary, final = steps
    tools = [span for span in spans.all() if span.name.startswith("execute_tool")]
    tools.sort(key=lambda span: span.attributes[sc.GEN_AI_TOOL_CALL_ID])
    lookup_1, search, lookup_3 = tools

    # The span tree: steps and tools under the run, the summariser's call under its tool.
    assert run.kind is SpanKind.INTERNAL
    assert run.parent is None
    for span in (step_1, step_2, final, lookup_1, search, lookup_3):
        assert span.parent.span_id == run.context.span_id, span.name
    assert summary.parent.span_id == search.context.span_id

    # Tools: the model's call ids, matched by tool name (the summariser's own answer in between
    # did not disturb the match of the second lookup).
    assert [(span.name, span.attributes[sc.GEN_AI_TOOL_CALL_ID]) for span in tools] == [
        ("execute_tool lookup_order", "call_1"),
        ("execute_tool search_docs", "call_2"),
        ("execute_tool lookup_order", "call_3"),
    ]
    assert dict(lookup_1.attributes) == {
        sc.GEN_AI_OPERATION_NAME: "execute_tool",
        sc.GEN_AI_TOOL_NAME: "lookup_order",
        sc.GEN_AI_TOOL_TYPE: "function",
        sc.GEN_AI_TOOL_CALL_ID: "call_1",
        sc.GEN_AI_AGENT_NAME: "support-bot",
        sc.LLMCOST_ROLLUP_COST: 0.0,
        sc.LLMCOST_ROLLUP_INPUT_TOKENS: 0,
        sc.LLMCOST_ROLLUP_OUTPUT_TOKENS: 0,
        sc.LLMCOST_ROLLUP_LLM_CALLS: 0,
        sc.LLMCOST_ROLLUP_UNPRICED_CALLS: 0,
        **({sc.GEN_AI_TOOL_DESCRIPTION: description} if description else {}),
    }
    # The tool that called the model carries that call's cost.
    assert search.attributes[sc.LLMCOST_ROLLUP_COST] == float(COST_SUMMARY)
    assert search.attributes[sc.LLMCOST_ROLLUP_LLM_CALLS] == 1
    assert search.attributes[sc.LLMCOST_ROLLUP_INPUT_TOKENS] == 30
    assert search.attributes[sc.LLMCOST_ROLLUP_OUTPUT_TOKENS] == 45

    # Steps: numbered in the run, each with the run's name and span id.
    assert [span.attributes[sc.LLMCOST_AGENT_STEP] for span in steps] == [1, 2, 3, 4]
    for span in steps:
        assert span.attributes[sc.GEN_AI_AGENT_NAME] == "support-bot"
        assert span.attributes[sc.LLMCOST_AGENT_RUN_SPAN_ID] == span_id(run)
        assert sc.LLMCOST_RETRY not in span.attributes

    # Tool results resent with each later request, counted with tiktoken (o200k_base for gpt-4o-mini)
    # and priced at that request's input rate.
    t1, t2, t3 = tokens(RESULT_1), tokens(SUMMARY), tokens(RESULT_3)
    assert sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS not in step_1.attributes
    assert sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS not in summary.attributes
    assert step_2.attributes[sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS] == t1
    assert step_2.attributes[sc.LLMCOST_TOOL_RESULTS_CALL_IDS] == ("call_1",)
    assert step_2.attributes[sc.LLMCOST_TOOL_RESULTS_COST] == float(t1 * INPUT / M)
    assert final.attributes[sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS] == t1 + t2 + t3
    assert final.attributes[sc.LLMCOST_TOOL_RESULTS_CALL_IDS] == ("call_1", "call_2", "call_3")
    assert final.attributes[sc.LLMCOST_TOOL_RESULTS_COST] == float((t1 + t2 + t3) * INPUT / M)

    # The run: the sum of its four calls, its context growth, and what each tool's results cost
    # when resent (lookup_order: its first result twice, its second once).
    attributes = dict(run.attributes)
    assert attributes[sc.LLMCOST_ROLLUP_COST] == float(COST_1 + COST_2 + COST_SUMMARY + COST_FINAL)
    assert attributes[sc.LLMCOST_ROLLUP_INPUT_TOKENS] == 150 + 240 + 30 + 420
    assert attributes[sc.LLMCOST_ROLLUP_OUTPUT_TOKENS] == 18 + 40 + 45 + 60
    assert attributes[sc.LLMCOST_ROLLUP_LLM_CALLS] == 4
    assert attributes[sc.LLMCOST_ROLLUP_UNPRICED_CALLS] == 0
    assert attributes[sc.LLMCOST_AGENT_STEPS] == 4
    assert attributes[sc.LLMCOST_AGENT_MAX_INPUT_TOKENS] == 420
    assert attributes[sc.LLMCOST_AGENT_LAST_INPUT_TOKENS] == 420
    assert attributes[sc.LLMCOST_AGENT_RUNAWAY] is False
    assert sc.LLMCOST_AGENT_RUNAWAY_REASON not in attributes
    assert attributes[sc.LLMCOST_AGENT_RETRIES] == 0
    assert attributes[sc.LLMCOST_AGENT_RETRY_COST] == 0.0
    assert attributes[sc.LLMCOST_AGENT_TOOL_NAMES] == ("lookup_order", "search_docs")
    assert attributes[sc.LLMCOST_AGENT_TOOL_RESENT_INPUT_TOKENS] == (2 * t1 + t3, t2)
    assert attributes[sc.LLMCOST_AGENT_TOOL_RESENT_COST] == (float((2 * t1 + t3) * INPUT / M), float(t2 * INPUT / M))
    assert attributes[sc.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert attributes[sc.GEN_AI_AGENT_NAME] == "support-bot"
    assert attributes[sc.GEN_AI_AGENT_ID] == "asst_support_1"
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == MODEL


def test_sync_agent_loop_costs_per_run_and_per_tool(openai_client, spans):
    client, wire = openai_client(*REPLIES)

    assert run_agent(client) == ANSWER

    assert len(wire.requests) == 4
    check_run(spans, description="Look an order up by id.")  # the docstring's first line


def test_async_agent_with_concurrent_tools(openai_client, spans):
    client, wire = openai_client(*REPLIES, asynchronous=True)

    assert asyncio.run(run_agent_async(client)) == ANSWER

    assert len(wire.requests) == 4
    check_run(spans, description=None)


def test_the_run_reads_its_cost_so_far(openai_client):
    client, _ = openai_client(json_reply(STEP_1), json_reply(FINAL))

    with otel_llmcost.agent("budgeted") as run:
        client.chat.completions.create(model=MODEL, messages=question())
        after_one = (run.cost, run.steps, run.input_tokens, run.output_tokens, run.llm_calls)
        client.chat.completions.create(model=MODEL, messages=question())

    assert after_one == (COST_1, 1, 150, 18, 1)
    assert (run.cost, run.steps, run.llm_calls) == (COST_1 + COST_FINAL, 2, 2)
    assert run.runaway is False


def test_run_and_tool_costs_stay_exact_under_the_programs_own_decimal_context(openai_client, spans):
    from decimal import localcontext

    client, _ = openai_client(*REPLIES)
    with localcontext() as context:
        context.prec = 3  # the program's own money math; the roll-ups must not round to it
        assert run_agent(client) == ANSWER
    check_run(spans, description="Look an order up by id.")

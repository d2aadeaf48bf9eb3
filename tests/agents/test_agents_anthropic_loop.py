"""A Claude agent loop on the real anthropic client (Messages API on a mock wire) calling two tools
over three steps, with prompt caching: per-run and per-tool cost, and the tool_result blocks
resent at later steps charged to their tools. Expected costs by hand from the catalog's prices."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from conftest import M, tokens
from wire import Wire, http_client, http_module, json_reply

import otel_llmcost
from otel_llmcost import semconv as sc

pytest.importorskip("otel_llmcost.instrumentation.anthropic", reason="the anthropic adapter is not there yet")

SERVED = "claude-sonnet-4-6"
# claude-sonnet-4-6 in the catalog: input 3, cache read 0.3, 5-minute cache write 3.75,
# output 15 USD per 1M tokens
INPUT, CACHE_READ, CACHE_WRITE_5M, OUTPUT = D(3), D("0.3"), D("3.75"), D(15)
ORDER = {"order_id": "A-1001", "status": "shipped", "carrier": "DHL", "tracking": "JD014600003SE"}
SHIPMENT = {"tracking": "JD014600003SE", "last_scan": "Lyon hub", "eta": "2026-08-03", "signed": False}
ANSWER = "Your order left the Lyon hub and arrives on 3 August."
TOOLS = [
    {"name": "get_order", "description": "An order", "input_schema": {"type": "object", "properties": {}}},
    {"name": "track_shipment", "description": "A shipment", "input_schema": {"type": "object", "properties": {}}},
]


def usage(uncached: int, output: int, cache_read: int = 0, cache_write: int = 0) -> dict[str, Any]:
    """A Messages ``usage`` as the API sends it: ``input_tokens`` excludes cache reads and writes."""
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": cache_write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output,
        "service_tier": "standard",
    }


def message(content: list[dict[str, Any]], usage: dict[str, Any], stop_reason: str, message_id: str) -> Any:
    return json_reply(
        {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": SERVED,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
    )


def tool_use(block_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": arguments}


REPLIES = [
    message(
        [tool_use("toolu_01", "get_order", {"order_id": "A-1001"})],
        usage(100, 30, cache_write=300),
        "tool_use",
        "msg_1",
    ),
    message(
        [{"type": "text", "text": "Let me track it."}, tool_use("toolu_02", "track_shipment", {"tracking": "JD01"})],
        usage(120, 25, cache_read=300),
        "tool_use",
        "msg_2",
    ),
    message([{"type": "text", "text": ANSWER}], usage(200, 50, cache_read=300), "end_turn", "msg_3"),
]
COSTS = [
    (100 * INPUT + 300 * CACHE_WRITE_5M + 30 * OUTPUT) / M,
    (120 * INPUT + 300 * CACHE_READ + 25 * OUTPUT) / M,
    (200 * INPUT + 300 * CACHE_READ + 50 * OUTPUT) / M,
]


@pytest.fixture
def anthropic_client(tracer_provider) -> Iterator[Any]:
    import anthropic

    from otel_llmcost.instrumentation.anthropic import AnthropicInstrumentor

    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)

    def connect(asynchronous: bool = False) -> tuple[Any, Wire]:
        http = http_module("anthropic")
        wire = Wire(http, *REPLIES)
        cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
        return cls(api_key="sk-ant-test", max_retries=0, http_client=http_client(http, wire, asynchronous)), wire

    yield connect
    instrumentor.uninstrument()


@otel_llmcost.tool
def get_order(order_id: str) -> str:
    return json.dumps(ORDER)


@otel_llmcost.tool
async def track_shipment(tracking: str) -> str:
    await asyncio.sleep(0)
    return json.dumps(SHIPMENT)


async def run_claude_agent(client: Any, asynchronous: bool) -> str:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Where is my order A-1001?"}]
    with otel_llmcost.agent("claude-support"):
        while True:
            response = client.messages.create(
                model="claude-sonnet-4-6", max_tokens=1024, tools=TOOLS, messages=messages
            )
            if asynchronous:
                response = await response
            messages.append({"role": "assistant", "content": response.content})  # the SDK's block objects
            if response.stop_reason != "tool_use":
                return response.content[0].text
            results = []
            for block in response.content:
                if block.type == "tool_use":
                    output = (
                        get_order(**block.input) if block.name == "get_order" else await track_shipment(**block.input)
                    )
                    results.append(
                        {"type": "tool_result", "tool_use_id": block.id, "content": [{"type": "text", "text": output}]}
                    )
            messages.append({"role": "user", "content": results})


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_claude_agent_loop_costs_per_run_and_per_tool(anthropic_client, spans, asynchronous):
    client, wire = anthropic_client(asynchronous)

    assert asyncio.run(run_claude_agent(client, asynchronous)) == ANSWER

    assert len(wire.requests) == 3
    run = spans.one("invoke_agent claude-support")
    steps = spans.llm_calls()
    assert [span.attributes[sc.GEN_AI_RESPONSE_ID] for span in steps] == ["msg_1", "msg_2", "msg_3"]
    assert [span.attributes[sc.LLMCOST_AGENT_STEP] for span in steps] == [1, 2, 3]
    assert [span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] for span in steps] == [float(cost) for cost in COSTS]
    order, shipment = spans.one("execute_tool get_order"), spans.one("execute_tool track_shipment")
    assert order.attributes[sc.GEN_AI_TOOL_CALL_ID] == "toolu_01"
    assert shipment.attributes[sc.GEN_AI_TOOL_CALL_ID] == "toolu_02"

    # tool_result blocks resent: Claude's tokenizer is not public, so they are counted with cl100k_base.
    t_order, t_shipment = tokens(json.dumps(ORDER), "cl100k_base"), tokens(json.dumps(SHIPMENT), "cl100k_base")
    assert sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS not in steps[0].attributes
    assert steps[1].attributes[sc.LLMCOST_TOOL_RESULTS_CALL_IDS] == ("toolu_01",)
    assert steps[1].attributes[sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS] == t_order
    assert steps[2].attributes[sc.LLMCOST_TOOL_RESULTS_CALL_IDS] == ("toolu_01", "toolu_02")
    assert steps[2].attributes[sc.LLMCOST_TOOL_RESULTS_COST] == float((t_order + t_shipment) * INPUT / M)

    attributes = run.attributes
    assert attributes[sc.LLMCOST_ROLLUP_COST] == float(sum(COSTS))
    assert attributes[sc.LLMCOST_ROLLUP_INPUT_TOKENS] == 400 + 420 + 500  # cache reads and writes included
    assert attributes[sc.LLMCOST_ROLLUP_OUTPUT_TOKENS] == 30 + 25 + 50
    assert attributes[sc.LLMCOST_AGENT_MAX_INPUT_TOKENS] == 500
    assert attributes[sc.LLMCOST_AGENT_TOOL_NAMES] == ("get_order", "track_shipment")
    assert attributes[sc.LLMCOST_AGENT_TOOL_RESENT_INPUT_TOKENS] == (2 * t_order, t_shipment)
    assert attributes[sc.LLMCOST_AGENT_TOOL_RESENT_COST] == (
        float(2 * t_order * INPUT / M),
        float(t_shipment * INPUT / M),
    )
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "anthropic"

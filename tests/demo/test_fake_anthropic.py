"""The fake server speaks Anthropic's wire format: the real anthropic SDK parses what it sends
into exactly the scripted content, tool use and usage (messages, SSE streams, beta, errors)."""

from __future__ import annotations

import anthropic
import httpx2
import pytest

from otel_llmcost.demo import Scenario

MODEL = "claude-sonnet-4-6"
SYSTEM = "You are a support agent for ACME. Answer in one sentence."
QUESTION = [{"role": "user", "content": "Where is my order ORD-7?"}]
REPLY = "Your order ORD-7 ships today."
LOOKUP_ORDER = {
    "name": "lookup_order",
    "description": "Look up an order by id",
    "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
}


@pytest.fixture(scope="module")
def prompt_tokens(cl100k) -> int:
    """SYSTEM + QUESTION counted the way the fake counts Claude prompts (cl100k_base, OpenAI's
    message framing): 3 + (3 + "system" + SYSTEM) + (3 + "user" + question)."""
    return 3 + 3 + 1 + len(cl100k.encode(SYSTEM)) + 3 + 1 + len(cl100k.encode(QUESTION[0]["content"]))


def test_message_usage_splits_cache_reads_and_writes(anthropic_client, prompt_tokens, cl100k):
    scenario = Scenario(reply=REPLY, cached_share=0.5, cache_write_share=0.25, cache_ttl="long")
    message = anthropic_client.messages.create(
        model=MODEL, max_tokens=256, system=SYSTEM, messages=QUESTION, extra_headers=scenario.headers()
    )
    assert prompt_tokens == 33
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == REPLY
    assert message.stop_reason == "end_turn"
    assert message.id.startswith("msg_01")
    usage = message.usage
    assert usage.cache_read_input_tokens == 16  # floor(33 * 0.5)
    assert usage.cache_creation_input_tokens == 8  # floor(33 * 0.25)
    assert usage.cache_creation.ephemeral_1h_input_tokens == 8
    assert usage.cache_creation.ephemeral_5m_input_tokens == 0
    assert usage.input_tokens == 33 - 16 - 8  # Anthropic's input_tokens exclude cache reads and writes
    assert usage.output_tokens == len(cl100k.encode(REPLY))
    assert usage.service_tier == "standard"


def test_short_cache_ttl_writes_5m(anthropic_client):
    message = anthropic_client.messages.create(
        model=MODEL,
        max_tokens=256,
        system=SYSTEM,
        messages=QUESTION,
        extra_headers=Scenario(cache_write_share=1).headers(),
    )
    assert message.usage.cache_creation.ephemeral_5m_input_tokens == message.usage.cache_creation_input_tokens == 33
    assert message.usage.input_tokens == 0


def test_dated_response_model(anthropic_client):
    scenario = Scenario(response_model="claude-sonnet-4-6-20260217")
    message = anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=QUESTION, extra_headers=scenario.headers()
    )
    assert message.model == "claude-sonnet-4-6-20260217"


def test_max_tokens_stop_reason(anthropic_client, cl100k):
    message = anthropic_client.messages.create(
        model=MODEL, max_tokens=10, messages=QUESTION, extra_headers=Scenario(output_tokens=200).headers()
    )
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == len(cl100k.encode(message.content[0].text)) <= 10


def test_tool_use_block_with_input_from_the_schema(anthropic_client):
    message = anthropic_client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=QUESTION,
        tools=[LOOKUP_ORDER],
        extra_headers=Scenario(tools=("lookup_order",)).headers(),
    )
    assert message.stop_reason == "tool_use"
    (block,) = message.content
    assert block.type == "tool_use"
    assert block.name == "lookup_order"
    assert block.input == {"order_id": "ORD-7"}
    assert block.id.startswith("toolu_01") and len(block.id) == 30


def test_after_tool_result_claude_answers(anthropic_client):
    first = anthropic_client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=QUESTION,
        tools=[LOOKUP_ORDER],
        extra_headers=Scenario(tools=("lookup_order",)).headers(),
    )
    tool_use = first.content[0]
    conversation = [
        *QUESTION,
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "shipped"}]},
    ]
    second = anthropic_client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=conversation,
        tools=[LOOKUP_ORDER],
        extra_headers=Scenario(tools=("lookup_order",)).headers(),
    )
    assert second.stop_reason == "end_turn"
    assert [block.type for block in second.content] == ["text"]


def test_thinking_block_and_thinking_tokens(anthropic_client, cl100k):
    message = anthropic_client.messages.create(
        model=MODEL,
        max_tokens=2048,
        messages=QUESTION,
        thinking={"type": "enabled", "budget_tokens": 1024},
        extra_headers=Scenario(reply=REPLY, reasoning_tokens=300).headers(),
    )
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking and message.content[0].signature
    assert message.usage.output_tokens == 300 + len(cl100k.encode(REPLY))
    assert message.usage.output_tokens_details.thinking_tokens == 300


# --- streams ------------------------------------------------------------------


def test_raw_stream_events(anthropic_client, cl100k):
    scenario = Scenario(reply=REPLY, cached_share=0.5)
    events = list(
        anthropic_client.messages.create(
            model=MODEL, max_tokens=256, system=SYSTEM, messages=QUESTION, stream=True, extra_headers=scenario.headers()
        )
    )
    kinds = [event.type for event in events]
    assert kinds[:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    start = events[0].message
    assert start.usage.input_tokens == 17 and start.usage.cache_read_input_tokens == 16
    assert start.content == [] and start.stop_reason is None
    deltas = [event.delta.text for event in events if event.type == "content_block_delta"]
    assert "".join(deltas) == REPLY and len(deltas) > 1
    delta = events[-2]
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == len(cl100k.encode(REPLY))
    assert delta.usage.input_tokens == 17


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(cached_share=0.3, cache_write_share=0.2),
        Scenario(tools=("lookup_order",)),
        Scenario(reasoning_tokens=200, output_tokens=50),
    ],
    ids=["cache", "tool_use", "thinking"],
)
def test_stream_helper_final_message_equals_the_non_streamed_message(anthropic_client, scenario):
    request = {
        "model": MODEL,
        "max_tokens": 512,
        "system": SYSTEM,
        "messages": QUESTION,
        "tools": [LOOKUP_ORDER],
        "extra_headers": scenario.headers(),
    }
    with anthropic_client.messages.stream(**request) as stream:
        streamed = stream.get_final_message()
    created = anthropic_client.messages.create(**request)
    assert _blocks(streamed) == _blocks(created)
    assert streamed.usage == created.usage
    assert streamed.stop_reason == created.stop_reason


def _blocks(message) -> list[dict]:
    return [block.model_dump(exclude={"parsed_output"}) for block in message.content]


def test_stream_aborted_midway(anthropic_client):
    stream = anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=QUESTION, stream=True, extra_headers=Scenario(abort_after=4).headers()
    )
    received = []
    with pytest.raises(httpx2.RemoteProtocolError):  # anthropic 2.x lets the transport's error through
        for event in stream:
            received.append(event.type)
    # four events were sent: message_start, ping (the SDK does not yield pings), block start, one delta
    assert received == ["message_start", "content_block_start", "content_block_delta"]


# --- beta, count_tokens, errors -----------------------------------------------


def test_beta_messages(anthropic_client, server):
    message = anthropic_client.beta.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=QUESTION,
        betas=["context-1m-2025-08-07"],
        extra_headers=Scenario(reply=REPLY).headers(),
    )
    request = server.requests[-1]
    assert request.path == "/v1/messages"
    assert request.headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert message.content[0].text == REPLY
    assert message.usage.input_tokens == 3 + 3 + 1 + 8


def test_beta_query_of_older_sdks(anthropic_client, server):
    body = {"model": MODEL, "max_tokens": 64, "messages": QUESTION}
    message = anthropic_client.post(
        "/v1/messages", body=body, cast_to=anthropic.types.Message, options={"params": {"beta": "true"}}
    )
    assert server.requests[-1].query == {"beta": ["true"]}
    assert message.usage.input_tokens == 3 + 3 + 1 + 8


def test_count_tokens_matches_message_input(anthropic_client, prompt_tokens):
    counted = anthropic_client.messages.count_tokens(model=MODEL, system=SYSTEM, messages=QUESTION)
    assert counted.input_tokens == prompt_tokens


def test_rate_limit_error_in_anthropic_format(anthropic_client):
    with pytest.raises(anthropic.RateLimitError) as raised:
        anthropic_client.messages.create(
            model=MODEL, max_tokens=64, messages=QUESTION, extra_headers=Scenario(error=429).headers()
        )
    body = raised.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["request_id"] == raised.value.response.headers["request-id"]
    assert raised.value.response.headers["retry-after"] == "2"


def test_overloaded_error(anthropic_client):
    with pytest.raises(anthropic.OverloadedError) as raised:
        anthropic_client.messages.create(
            model=MODEL, max_tokens=64, messages=QUESTION, stream=True, extra_headers=Scenario(error=529).headers()
        )
    assert raised.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}


def test_unknown_path_is_anthropic_404(anthropic_client):
    with pytest.raises(anthropic.NotFoundError) as raised:
        anthropic_client.post("/v1/nope", cast_to=object, body={})
    assert raised.value.body["error"] == {"type": "not_found_error", "message": "Not Found"}


def test_missing_max_tokens_is_a_400_in_anthropic_format(anthropic_client):
    with pytest.raises(anthropic.BadRequestError) as raised:
        anthropic_client.post("/v1/messages", cast_to=object, body={"model": MODEL, "messages": QUESTION})
    assert raised.value.body["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}

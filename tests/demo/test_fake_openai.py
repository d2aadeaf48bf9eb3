"""The fake server speaks OpenAI's wire format: the real openai SDK parses what it sends into
exactly the scripted text, tool calls and usage (chat, streams, Responses, embeddings, Azure)."""

from __future__ import annotations

import json
import math

import openai
import pytest

from otel_llmcost.demo import FakeLLMServer, Scenario

QUESTION = [{"role": "user", "content": "Where is my order ORD-7?"}]
# OpenAI's chat counting: 3 to prime the reply + per message 3 + role ("user": 1) + content (8)
QUESTION_TOKENS = 15
REPLY = "Your order ORD-7 ships today."  # 8 tokens in o200k_base
LOOKUP_ORDER = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order by id",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    },
}


def test_chat_completion_carries_scripted_text_and_usage(openai_client, o200k):
    scenario = Scenario(reply=REPLY, cached_share=0.5, reasoning_tokens=64)
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, service_tier="flex", extra_headers=scenario.headers()
    )

    choice = completion.choices[0]
    assert choice.message.content == REPLY
    assert choice.finish_reason == "stop"
    assert completion.model == "gpt-4o-mini"
    assert completion.service_tier == "flex"
    usage = completion.usage
    assert usage.prompt_tokens == QUESTION_TOKENS
    assert usage.prompt_tokens_details.cached_tokens == 7  # floor(15 * 0.5)
    assert usage.completion_tokens == len(o200k.encode(REPLY)) + 64 == 72
    assert usage.completion_tokens_details.reasoning_tokens == 64
    assert usage.total_tokens == 87


def test_service_tier_auto_is_answered_as_default(openai_client):
    completion = openai_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, service_tier="auto")
    assert completion.service_tier == "default"


def test_same_request_same_answer(openai_client):
    first, second = (openai_client.chat.completions.create(model="gpt-4.1", messages=QUESTION) for _ in range(2))
    assert first.id == second.id
    assert first.choices[0].message.content == second.choices[0].message.content != ""
    assert first.usage == second.usage


def test_generated_reply_length_follows_output_tokens(openai_client, o200k):
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, extra_headers=Scenario(output_tokens=300).headers()
    )
    text = completion.choices[0].message.content
    # whole sentences until at least 300 tokens: at most one sentence (< 25 tokens) more
    assert 300 <= len(o200k.encode(text)) < 325
    assert completion.usage.completion_tokens == len(o200k.encode(text))


def test_reasoning_models_reason_unless_scripted(openai_client):
    completion = openai_client.chat.completions.create(model="o4-mini", messages=QUESTION)
    reasoning = completion.usage.completion_tokens_details.reasoning_tokens
    assert reasoning in range(64, 513, 64)
    quiet = openai_client.chat.completions.create(
        model="o4-mini", messages=QUESTION, extra_headers=Scenario(reasoning_tokens=0).headers()
    )
    assert quiet.usage.completion_tokens_details.reasoning_tokens == 0


def test_max_completion_tokens_truncates_with_finish_reason_length(openai_client, o200k):
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=QUESTION,
        max_completion_tokens=20,
        extra_headers=Scenario(output_tokens=200).headers(),
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == len(o200k.encode(completion.choices[0].message.content))
    assert 15 <= completion.usage.completion_tokens <= 20


def test_response_model_can_differ_from_request(openai_client):
    scenario = Scenario(response_model="gpt-4o-mini-2024-07-18")
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, extra_headers=scenario.headers()
    )
    assert completion.model == "gpt-4o-mini-2024-07-18"


def test_usage_can_be_omitted(openai_client):
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, extra_headers=Scenario(omit_usage=True).headers()
    )
    assert completion.usage is None
    assert completion.choices[0].message.content


def test_cache_writes_are_reported_in_prompt_details(openai_client):
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, extra_headers=Scenario(cache_write_share=0.4).headers()
    )
    assert completion.usage.prompt_tokens_details.cache_write_tokens == 6  # floor(15 * 0.4)
    assert completion.usage.prompt_tokens_details.cached_tokens == 0


# --- tool calls ---------------------------------------------------------------


def test_tool_call_with_arguments_from_the_schema(openai_client, o200k):
    completion = openai_client.chat.completions.create(
        model="gpt-4.1",
        messages=QUESTION,
        tools=[LOOKUP_ORDER],
        extra_headers=Scenario(tools=("lookup_order",)).headers(),
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert call.id.startswith("call_") and len(call.id) == 29
    assert call.function.name == "lookup_order"
    assert json.loads(call.function.arguments) == {"order_id": "ORD-7"}  # the id-looking word of the question
    assert completion.usage.prompt_tokens == QUESTION_TOKENS + len(o200k.encode(json.dumps([LOOKUP_ORDER])))
    arguments_tokens = len(o200k.encode(call.function.arguments)) + len(o200k.encode("lookup_order"))
    assert completion.usage.completion_tokens == arguments_tokens


def test_scripted_tool_arguments(openai_client):
    scenario = Scenario(tools=("lookup_order",), tool_args={"lookup_order": {"order_id": "ORD-99"}})
    completion = openai_client.chat.completions.create(
        model="gpt-4.1", messages=QUESTION, tools=[LOOKUP_ORDER], extra_headers=scenario.headers()
    )
    assert json.loads(completion.choices[0].message.tool_calls[0].function.arguments) == {"order_id": "ORD-99"}


def test_after_a_tool_result_the_model_answers(openai_client):
    completion = openai_client.chat.completions.create(
        model="gpt-4.1",
        messages=QUESTION,
        tools=[LOOKUP_ORDER],
        extra_headers=Scenario(tools=("lookup_order",)).headers(),
    )
    call = completion.choices[0].message.tool_calls[0]
    follow_up = [
        *QUESTION,
        completion.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"status": "shipped"}'},
    ]
    answer = openai_client.chat.completions.create(
        model="gpt-4.1",
        messages=follow_up,
        tools=[LOOKUP_ORDER],
        extra_headers=Scenario(tools=("lookup_order",)).headers(),
    )
    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.tool_calls is None
    assert answer.choices[0].message.content


def test_tool_rounds_keep_the_model_calling_tools(openai_client):
    scenario = Scenario(tools=("lookup_order",), tool_rounds=2)
    messages = list(QUESTION)
    finishes = []
    for _ in range(3):
        completion = openai_client.chat.completions.create(
            model="gpt-4.1", messages=messages, tools=[LOOKUP_ORDER], extra_headers=scenario.headers()
        )
        message = completion.choices[0].message
        finishes.append(completion.choices[0].finish_reason)
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls or ():
            messages.append({"role": "tool", "tool_call_id": call.id, "content": "shipped"})
    assert finishes == ["tool_calls", "tool_calls", "stop"]


def test_scripted_tool_the_request_does_not_declare_is_a_400(openai_client):
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(
            model="gpt-4.1",
            messages=QUESTION,
            tools=[LOOKUP_ORDER],
            extra_headers=Scenario(tools=("web_search",)).headers(),
        )
    assert (
        raised.value.body["message"]
        == "the scenario calls tool 'web_search' but the request declares tools: lookup_order"
    )
    assert raised.value.body["type"] == "invalid_request_error"


# --- streams ------------------------------------------------------------------


def test_stream_with_include_usage_ends_with_a_usage_chunk(openai_client, o200k):
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=QUESTION,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=Scenario(reply=REPLY, cached_share=0.5).headers(),
    )
    chunks = list(stream)

    *content_chunks, last = chunks
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(chunk.choices[0].delta.content or "" for chunk in content_chunks) == REPLY
    assert len(content_chunks) > 2  # really streamed in pieces
    assert [chunk.choices[0].finish_reason for chunk in content_chunks][-1] == "stop"
    assert all(chunk.usage is None for chunk in content_chunks)
    assert all(chunk.object == "chat.completion.chunk" and chunk.id == last.id for chunk in content_chunks)
    assert last.choices == []
    assert last.usage.prompt_tokens == QUESTION_TOKENS
    assert last.usage.prompt_tokens_details.cached_tokens == 7
    assert last.usage.completion_tokens == len(o200k.encode(REPLY))


def test_stream_without_include_usage_has_no_usage(openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True)
    chunks = list(stream)
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_streamed_tool_call_assembles_in_the_sdk_stream_helper(openai_client):
    with openai_client.chat.completions.stream(
        model="gpt-4.1",
        messages=QUESTION,
        tools=[LOOKUP_ORDER],
        stream_options={"include_usage": True},
        extra_headers=Scenario(tools=("lookup_order",)).headers(),
    ) as stream:
        final = stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls
    assert call.function.name == "lookup_order"
    assert json.loads(call.function.arguments) == {"order_id": "ORD-7"}
    assert final.choices[0].finish_reason == "tool_calls"
    non_streamed = openai_client.chat.completions.create(
        model="gpt-4.1",
        messages=QUESTION,
        tools=[LOOKUP_ORDER],
        extra_headers=Scenario(tools=("lookup_order",)).headers(),
    )
    assert final.usage == non_streamed.usage
    assert call.id == non_streamed.choices[0].message.tool_calls[0].id


def test_stream_aborted_midway_raises_after_the_sent_chunks(openai_client):
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, stream=True, extra_headers=Scenario(abort_after=3).headers()
    )
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 3


# --- errors -------------------------------------------------------------------


def test_rate_limit_error_in_openai_format(openai_client):
    with pytest.raises(openai.RateLimitError) as raised:
        openai_client.chat.completions.create(
            model="gpt-4o", messages=QUESTION, extra_headers=Scenario(error=429).headers()
        )
    error = raised.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert error.type == "tokens"
    assert error.body["message"].startswith("Rate limit reached for gpt-4o in organization")
    assert error.response.headers["x-ratelimit-remaining-tokens"] == "0"
    assert error.request_id.startswith("req_")


def test_server_error_in_openai_format(openai_client):
    with pytest.raises(openai.InternalServerError) as raised:
        openai_client.chat.completions.create(
            model="gpt-4o", messages=QUESTION, stream=True, extra_headers=Scenario(error=500).headers()
        )
    assert raised.value.body == {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }


def test_unknown_path_is_openai_404(openai_client):
    with pytest.raises(openai.NotFoundError) as raised:
        openai_client.post("/nope", cast_to=object, body={})
    assert raised.value.body == {
        "message": "Invalid URL (POST /v1/nope)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_invalid_scenario_header_names_the_field(openai_client):
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(
            model="gpt-4o", messages=QUESTION, extra_headers={"x-fake-scenario": '{"cached": 0.5}'}
        )
    assert "unknown fields ['cached']" in raised.value.body["message"]


def test_server_default_scenario_applies_without_a_header():
    with FakeLLMServer(Scenario(error=503)) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="demo", max_retries=0)
        with pytest.raises(openai.InternalServerError) as raised:
            client.chat.completions.create(model="gpt-4o", messages=QUESTION)
        assert raised.value.status_code == 503
        answered = client.chat.completions.create(model="gpt-4o", messages=QUESTION, extra_headers=Scenario().headers())
        assert answered.choices[0].message.content


def test_missing_messages_is_a_400_naming_the_parameter(openai_client):
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.post("/chat/completions", cast_to=object, body={"model": "gpt-4o"})
    assert raised.value.body["param"] == "messages"
    assert raised.value.body["message"] == "Missing required parameter: 'messages'."


# --- Responses API ------------------------------------------------------------

WEB_SEARCH = {
    "type": "function",
    "name": "web_search",
    "description": "Search the web",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
}


def test_response_carries_text_and_usage(openai_client, o200k):
    scenario = Scenario(reply=REPLY, cached_share=0.5, reasoning_tokens=128)
    response = openai_client.responses.create(model="o4-mini", input=QUESTION, extra_headers=scenario.headers())
    assert response.status == "completed"
    assert response.output_text == REPLY
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.usage.input_tokens == QUESTION_TOKENS
    assert response.usage.input_tokens_details.cached_tokens == 7
    assert response.usage.output_tokens == len(o200k.encode(REPLY)) + 128
    assert response.usage.output_tokens_details.reasoning_tokens == 128
    assert response.usage.total_tokens == QUESTION_TOKENS + len(o200k.encode(REPLY)) + 128
    assert response.service_tier == "default"


def test_response_function_call_items(openai_client):
    response = openai_client.responses.create(
        model="gpt-4.1",
        input="Find news about ACME-42 earnings",
        tools=[WEB_SEARCH],
        extra_headers=Scenario(tools=("web_search",)).headers(),
    )
    (call,) = response.output
    assert call.type == "function_call"
    assert call.name == "web_search"
    assert json.loads(call.arguments) == {"query": "Find news about ACME-42 earnings"}
    assert call.call_id.startswith("call_")
    follow_up = [
        {"role": "user", "content": "Find news about ACME-42 earnings"},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "ACME beat estimates."},
    ]
    answer = openai_client.responses.create(
        model="gpt-4.1", input=follow_up, tools=[WEB_SEARCH], extra_headers=Scenario(tools=("web_search",)).headers()
    )
    assert [item.type for item in answer.output] == ["message"]
    assert answer.output_text


def test_previous_response_id_bills_the_stored_context(openai_client, o200k):
    scenario = Scenario(reply=REPLY, tools=("web_search",), tool_args={"web_search": {"query": "ACME"}})
    first = openai_client.responses.create(
        model="gpt-4.1", input=QUESTION, tools=[WEB_SEARCH], extra_headers=scenario.headers()
    )
    assert [item.type for item in first.output] == ["message", "function_call"]  # says something, then calls
    output = {"type": "function_call_output", "call_id": first.output[1].call_id, "output": "ACME beat estimates."}
    second = openai_client.responses.create(
        model="gpt-4.1",
        input=[output],
        previous_response_id=first.id,
        tools=[WEB_SEARCH],
        extra_headers=scenario.headers(),
    )
    assert [item.type for item in second.output] == ["message"]  # one round of tool results: it answers
    # this request's own tokens: reply primer 3, the item framed like a message (3 + its values), the tools
    own = 3 + 3 + sum(len(o200k.encode(value)) for value in output.values())
    own += len(o200k.encode(json.dumps([WEB_SEARCH])))
    assert second.usage.input_tokens == first.usage.input_tokens + first.usage.output_tokens + own


def test_unknown_previous_response_id_is_a_400(openai_client):
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.responses.create(model="gpt-4.1", input="hi", previous_response_id="resp_missing")
    assert raised.value.body["message"] == "Previous response with id 'resp_missing' not found."
    assert raised.value.body["param"] == "previous_response_id"


def test_response_incomplete_at_max_output_tokens(openai_client):
    response = openai_client.responses.create(
        model="gpt-4.1",
        input="Tell me everything",
        max_output_tokens=16,
        extra_headers=Scenario(output_tokens=100).headers(),
    )
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage.output_tokens <= 16


def test_response_stream_events_and_final_response(openai_client):
    scenario = Scenario(reply=REPLY, cached_share=0.5)
    events = list(
        openai_client.responses.create(model="gpt-4.1", input=QUESTION, stream=True, extra_headers=scenario.headers())
    )
    kinds = [event.type for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == REPLY and len(deltas) > 1
    assert events[0].response.usage is None
    final = events[-1].response
    non_streamed = openai_client.responses.create(model="gpt-4.1", input=QUESTION, extra_headers=scenario.headers())
    assert final.usage == non_streamed.usage
    assert final.output == non_streamed.output


def test_response_stream_helper_assembles_function_call(openai_client):
    with openai_client.responses.stream(
        model="gpt-4.1",
        input="Find news about ACME-42 earnings",
        tools=[WEB_SEARCH],
        extra_headers=Scenario(tools=("web_search",)).headers(),
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    assert "response.function_call_arguments.done" in kinds
    (call,) = final.output
    assert json.loads(call.arguments) == {"query": "Find news about ACME-42 earnings"}


# --- embeddings ---------------------------------------------------------------


def test_embeddings_default_base64_decodes_to_the_float_vectors(openai_client, cl100k):
    texts = ["refund request for a damaged item", "where is my parcel"]
    as_base64 = openai_client.embeddings.create(model="text-embedding-3-small", input=texts)  # SDK asks for base64
    as_floats = openai_client.embeddings.create(model="text-embedding-3-small", input=texts, encoding_format="float")
    assert [len(item.embedding) for item in as_base64.data] == [1536, 1536]
    for packed, plain in zip(as_base64.data, as_floats.data, strict=True):
        assert packed.embedding == pytest.approx(plain.embedding, abs=1e-7)
        assert math.fsum(value * value for value in plain.embedding) == pytest.approx(1.0)
    assert as_floats.data[0].embedding != as_floats.data[1].embedding
    expected = sum(len(cl100k.encode(text)) for text in texts)  # embedding models use cl100k_base
    assert as_base64.usage.prompt_tokens == as_base64.usage.total_tokens == expected
    assert as_base64.model == "text-embedding-3-small"


def test_embeddings_dimensions_and_token_input(openai_client):
    response = openai_client.embeddings.create(
        model="text-embedding-3-large", input=[[1, 2, 3], [4, 5]], dimensions=256, encoding_format="float"
    )
    assert [len(item.embedding) for item in response.data] == [256, 256]
    assert response.usage.prompt_tokens == 5
    default = openai_client.embeddings.create(model="text-embedding-3-large", input="x", encoding_format="float")
    assert len(default.data[0].embedding) == 3072


# --- Azure OpenAI -------------------------------------------------------------


def test_azure_deployment_path_and_content_filter_results(azure_client, server):
    completion = azure_client.chat.completions.create(
        model="gpt-4o-eu", messages=QUESTION, extra_headers=Scenario(response_model="gpt-4o-2024-11-20").headers()
    )
    request = server.requests[-1]
    assert request.path == "/openai/deployments/gpt-4o-eu/chat/completions"
    assert request.query == {"api-version": ["2024-10-21"]}
    assert completion.model == "gpt-4o-2024-11-20"
    assert completion.usage.prompt_tokens == QUESTION_TOKENS
    assert completion.prompt_filter_results[0]["content_filter_results"]["hate"] == {
        "filtered": False,
        "severity": "safe",
    }
    assert completion.service_tier is None


def test_azure_stream_starts_with_a_prompt_filter_chunk(azure_client):
    chunks = list(
        azure_client.chat.completions.create(
            model="gpt-4o-eu", messages=QUESTION, stream=True, extra_headers=Scenario(reply=REPLY).headers()
        )
    )
    assert chunks[0].choices == [] and chunks[0].model == ""
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks[1:]) == REPLY


def test_azure_rate_limit_error_in_azure_format(azure_client):
    with pytest.raises(openai.RateLimitError) as raised:
        azure_client.chat.completions.create(
            model="gpt-4o-eu", messages=QUESTION, extra_headers=Scenario(error=429).headers()
        )
    assert raised.value.body["code"] == "429"
    assert "Azure OpenAI API version 2024-10-21" in raised.value.body["message"]
    assert raised.value.response.headers["retry-after"] == "2"


def test_azure_embeddings_deployment(azure_client, server):
    response = azure_client.embeddings.create(model="embed-small", input="hello")
    assert server.requests[-1].path == "/openai/deployments/embed-small/embeddings"
    assert len(response.data[0].embedding) == 1536

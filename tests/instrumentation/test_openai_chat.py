"""Chat Completions, Embeddings and legacy Completions through the real openai SDK:
span attributes, usage and exact costs (hand-computed from the catalog's per-1M prices)."""

from __future__ import annotations

import json
import logging
from decimal import Decimal as D

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from wire import (
    chat_completion,
    chat_usage,
    completion,
    embedding_response,
    json_reply,
    tool_call,
)

from otel_llmcost import semconv as sc
from otel_llmcost.pricing import cost as pricing_cost
from otel_llmcost.tokens import count_text

M = D(1_000_000)
MESSAGES = [
    {"role": "system", "content": "You are the support agent for order 12345. Answer briefly."},
    {"role": "user", "content": "Where is my parcel?"},
]


def cost_of(attributes):
    return {
        key: value
        for key, value in attributes.items()
        if key.startswith(("gen_ai.usage.cost", "llmcost.cost", "llmcost.pricing"))
    }


def create_chat(**kwargs):
    async def scenario(api):
        return await api(api.client.chat.completions.create(**{"messages": MESSAGES, **kwargs}))

    return scenario


def test_gemini_thinking_tokens_left_out_of_completion_tokens_are_billed_as_output(openai_instrumented, openai_api):
    # Gemini's OpenAI endpoint: completion_tokens 424 without the model's 572 thoughts, which the total counts
    usage = {"prompt_tokens": 20, "completion_tokens": 424, "total_tokens": 1016}
    api = openai_api(
        json_reply(chat_completion("gemini-2.5-flash", "Paris.", usage)),
        base_url="https://generativelanguage.googleapis.com/v1beta/openai/",
    )
    api.run(create_chat(model="gemini-2.5-flash"))

    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 996
    assert attributes[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 572
    # gemini-2.5-flash: input 0.3, output 2.5 USD per 1M tokens
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(20) * D("0.3") / M + D(996) * D("2.5") / M)


@pytest.mark.parametrize("reasoning_field", ["reasoning_content", "content parts"])
def test_an_answer_without_usage_counts_its_reasoning(openai_instrumented, openai_api, reasoning_field):
    # DeepSeek's reasoning_content beside the answer, Mistral's thinking parts in it: output billed, so estimated.
    reasoning = "Six sixes make thirty-six, so the answer is 36."
    reply = chat_completion("gpt-4o-mini", "36", None)
    message = reply["choices"][0]["message"]
    if reasoning_field == "reasoning_content":
        message["reasoning_content"] = reasoning
    else:
        message["content"] = [{"type": "thinking", "thinking": [{"type": "text", "text": reasoning}]}, {"type": "text", "text": "36"}]
    api = openai_api(json_reply(reply), base_url="http://localhost:8000/v1")
    api.run(create_chat(model="gpt-4o-mini"))

    attributes = openai_instrumented.span().attributes
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text("36" + reasoning, "gpt-4o-mini")


def test_cached_input_is_priced_at_the_cache_rate(openai_instrumented, openai_api):
    api = openai_api(
        json_reply(chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", chat_usage(1200, 300, cached=1024)))
    )
    api.run(create_chat(model="gpt-4o-mini"))

    span = openai_instrumented.span()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes)
    # gpt-4o-mini-2024-07-18: input 0.15, cache read 0.075, output 0.6 USD per 1M tokens
    uncached, cached, output = D(176) * D("0.15") / M, D(1024) * D("0.075") / M, D(300) * D("0.6") / M
    assert cost_of(attributes) == {
        sc.GEN_AI_USAGE_COST_AMOUNT: float(uncached + cached + output),
        sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
        sc.GEN_AI_USAGE_COST_SOURCE: "local",
        sc.LLMCOST_COST_INPUT: float(uncached),
        sc.LLMCOST_COST_CACHE_READ: float(cached),
        sc.LLMCOST_COST_CACHE_WRITE: 0.0,
        sc.LLMCOST_COST_OUTPUT: float(output),
        sc.LLMCOST_COST_REASONING: 0.0,
        sc.LLMCOST_COST_REQUEST_FEES: 0.0,
        sc.LLMCOST_PRICING_ENTRY: "gpt-4o-mini-2024-07-18",
        sc.LLMCOST_PRICING_DATE: attributes[sc.LLMCOST_PRICING_DATE],
        sc.LLMCOST_PRICING_TIER: "standard",
        sc.LLMCOST_PRICING_LONG_CONTEXT: False,
    }
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D("0.0002832"))
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1200  # includes the cached tokens
    assert attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1024
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 300
    assert attributes[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-CKv3Nx2ABC"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.OPENAI_API_TYPE] == "chat_completions"
    assert attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] == "default"
    assert attributes[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] == "fp_560af6e559"
    assert attributes[sc.SERVER_ADDRESS] == "api.openai.com"
    assert attributes[sc.SERVER_PORT] == 443
    assert len(attributes[sc.LLMCOST_PROMPT_FINGERPRINT]) == 16
    assert sc.GEN_AI_REQUEST_STREAM not in attributes
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert span.status.status_code is StatusCode.UNSET


def test_a_dated_model_id_is_priced(openai_instrumented, openai_api):
    api = openai_api(json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(1000, 100))))
    api.run(create_chat(model="gpt-4o-mini-2024-07-18"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(1000) * D("0.15") / M + D(100) * D("0.6") / M)


def test_reasoning_tokens_on_the_flex_tier(openai_instrumented, openai_api):
    reply = chat_completion("o4-mini-2025-04-16", "42", chat_usage(2000, 1500, reasoning=1200), service_tier="flex")
    api = openai_api(json_reply(reply))
    api.run(create_chat(model="o4-mini", service_tier="flex", max_completion_tokens=4000))

    attributes = dict(openai_instrumented.span().attributes)
    # o4-mini flex: input 0.55, output 2.2 USD per 1M tokens; reasoning is output
    output = D(1500) * D("2.2") / M
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(2000) * D("0.55") / M + output)
    assert attributes[sc.LLMCOST_COST_OUTPUT] == float(output)
    assert attributes[sc.LLMCOST_COST_REASONING] == float(D(1200) * D("2.2") / M)
    assert attributes[sc.LLMCOST_PRICING_TIER] == "flex"
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == "o4-mini-2025-04-16"
    assert attributes[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 1200
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 1500
    assert attributes[sc.OPENAI_REQUEST_SERVICE_TIER] == "flex"
    assert attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] == "flex"
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 4000


def test_the_tier_the_response_reports_wins_over_the_requested_one(openai_instrumented, openai_api):
    reply = chat_completion("o4-mini-2025-04-16", "42", chat_usage(2000, 1500, reasoning=1200), service_tier="default")
    api = openai_api(json_reply(reply))
    api.run(create_chat(model="o4-mini", service_tier="flex"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_PRICING_TIER] == "standard"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(2000) * D("1.1") / M + D(1500) * D("4.4") / M)


def test_the_requested_tier_prices_a_response_that_does_not_report_one(openai_instrumented, openai_api):
    reply = chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(1000, 200, cached=512), service_tier=None)
    api = openai_api(json_reply(reply))
    api.run(create_chat(model="gpt-4o-mini", service_tier="priority"))

    attributes = dict(openai_instrumented.span().attributes)
    # gpt-4o-mini priority: input 0.25, cache read 0.125, output 1 USD per 1M tokens
    assert attributes[sc.LLMCOST_PRICING_TIER] == "priority"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(
        D(488) * D("0.25") / M + D(512) * D("0.125") / M + D(200) / M
    )


def test_long_context_prices_the_whole_request_past_the_threshold(openai_instrumented, openai_api):
    reply = chat_completion(
        "gpt-5.4-2026-03-05", "Summary...", chat_usage(300_000, 2_000, cached=100_000, reasoning=500)
    )
    api = openai_api(json_reply(reply))
    api.run(create_chat(model="gpt-5.4"))

    attributes = dict(openai_instrumented.span().attributes)
    # gpt-5.4 above 272k input tokens: input 5, cache read 0.5, output 22.5 USD per 1M tokens
    expected = D(200_000) * D(5) / M + D(100_000) * D("0.5") / M + D(2_000) * D("22.5") / M
    assert expected == D("1.095")
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(expected)
    assert attributes[sc.LLMCOST_PRICING_LONG_CONTEXT] is True
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == "gpt-5.4-2026-03-05"


def test_an_unknown_model_is_unpriced_with_one_warning(openai_instrumented, openai_api, caplog, monkeypatch):
    monkeypatch.setattr(pricing_cost, "_warned", set())
    reply = chat_completion("gpt-6-turbo", "Hi", chat_usage(100, 10))
    api = openai_api(json_reply(reply), json_reply(reply))
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        api.run(create_chat(model="gpt-6-turbo"))
        api.run(create_chat(model="gpt-6-turbo"))

    for span in openai_instrumented.spans():
        attributes = dict(span.attributes)
        assert attributes[sc.LLMCOST_COST_UNPRICED] is True
        assert sc.GEN_AI_USAGE_COST_AMOUNT not in attributes
        assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100
    warnings = [record for record in caplog.records if "gpt-6-turbo" in record.getMessage()]
    assert len(warnings) == 1


def test_request_parameters_become_semconv_attributes(openai_instrumented, openai_api):
    api = openai_api(json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(10, 2))))
    api.run(
        create_chat(
            model="gpt-4o-mini",
            temperature=0.2,
            top_p=0.9,
            max_tokens=256,
            frequency_penalty=0.1,
            presence_penalty=0.3,
            seed=42,
            stop=["END", "STOP"],
            n=2,
            response_format={"type": "json_object"},
        )
    )

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attributes[sc.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 256
    assert attributes[sc.GEN_AI_REQUEST_FREQUENCY_PENALTY] == 0.1
    assert attributes[sc.GEN_AI_REQUEST_PRESENCE_PENALTY] == 0.3
    assert attributes[sc.GEN_AI_REQUEST_SEED] == 42
    assert attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END", "STOP")
    assert attributes[sc.GEN_AI_REQUEST_CHOICE_COUNT] == 2
    assert attributes[sc.GEN_AI_OUTPUT_TYPE] == "json"


@pytest.mark.parametrize(("modalities", "output_type"), [(["text", "audio"], "speech"), (["text"], None)])
def test_a_spoken_answer_is_the_speech_output_type(openai_instrumented, openai_api, modalities, output_type):
    api = openai_api(json_reply(chat_completion("gpt-4o-audio-preview-2025-06-03", "Hi", chat_usage(10, 2))))
    audio = {"audio": {"voice": "alloy", "format": "wav"}} if "audio" in modalities else {}
    api.run(create_chat(model="gpt-4o-audio-preview", modalities=modalities, **audio))

    assert openai_instrumented.span().attributes.get(sc.GEN_AI_OUTPUT_TYPE) == output_type


def test_sampling_parameters_given_as_whole_numbers_are_recorded_as_the_doubles_the_semconv_types(
    openai_instrumented, openai_api
):
    api = openai_api(json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(10, 2))))
    api.run(create_chat(model="gpt-4o-mini", temperature=0, top_p=1, frequency_penalty=1, presence_penalty=0, n=2))

    attributes = dict(openai_instrumented.span().attributes)
    doubles = (
        sc.GEN_AI_REQUEST_TEMPERATURE,
        sc.GEN_AI_REQUEST_TOP_P,
        sc.GEN_AI_REQUEST_FREQUENCY_PENALTY,
        sc.GEN_AI_REQUEST_PRESENCE_PENALTY,
    )
    assert [(attributes[name], type(attributes[name])) for name in doubles] == [
        (0.0, float),
        (1.0, float),
        (1.0, float),
        (0.0, float),
    ]
    assert type(attributes[sc.GEN_AI_REQUEST_CHOICE_COUNT]) is int  # an int in the semconv


@pytest.mark.parametrize(("parameters", "left_out"), [({"n": 1}, sc.GEN_AI_REQUEST_CHOICE_COUNT), ({"service_tier": "auto"}, sc.OPENAI_REQUEST_SERVICE_TIER)])
def test_parameters_the_semconv_leaves_out_at_their_default_are_left_out(openai_instrumented, openai_api, parameters, left_out):
    # gen_ai.request.choice.count only when not 1; openai.request.service_tier only when not "auto"
    api = openai_api(json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(10, 2))))
    api.run(create_chat(model="gpt-4o-mini", **parameters))
    assert left_out not in openai_instrumented.span().attributes


def test_tool_calls_the_model_asked_for(openai_instrumented, openai_api):
    calls = [
        tool_call("call_A1", "get_order", {"order_id": "12345"}),
        tool_call("call_B2", "get_weather", {"city": "Paris"}),
    ]
    reply = chat_completion(
        "gpt-4o-mini-2024-07-18", None, chat_usage(300, 40), finish_reason="tool_calls", tool_calls=calls
    )
    api = openai_api(json_reply(reply))
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_order",
                "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
            },
        },
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        },
    ]
    result = api.run(create_chat(model="gpt-4o-mini", tools=tools))

    assert [call.function.name for call in result.choices[0].message.tool_calls] == ["get_order", "get_weather"]
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOOL_CALLS_COUNT] == 2
    assert attributes[sc.LLMCOST_TOOL_CALLS_NAMES] == ("get_order", "get_weather")
    assert attributes[sc.LLMCOST_TOOL_CALLS_IDS] == ("call_A1", "call_B2")
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)


def test_tool_call_arguments_count_when_the_usage_is_missing(openai_instrumented, openai_api):
    # A compatible server that sends no usage, and an answer that only calls a tool: its arguments
    # are the output tokens the estimate counts.
    calls = [tool_call("call_A1", "get_order", {"order_id": "12345", "include_history": True, "locale": "en-US"})]
    reply = chat_completion("gpt-4o-mini", None, None, finish_reason="tool_calls", tool_calls=calls)
    api = openai_api(json_reply(reply), base_url="http://localhost:8000/v1")
    api.run(create_chat(model="gpt-4o-mini"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(calls[0]["function"]["arguments"], "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 10


def test_a_legacy_function_call_counts_when_the_usage_is_missing(openai_instrumented, openai_api):
    # The deprecated functions= API answers with message.function_call: its arguments are output tokens.
    arguments = json.dumps({"order_id": "12345", "include_history": True, "locale": "en-US"})
    reply = chat_completion("gpt-4o-mini", None, None, finish_reason="function_call")
    reply["choices"][0]["message"]["function_call"] = {"name": "get_order", "arguments": arguments}
    api = openai_api(json_reply(reply), base_url="http://localhost:8000/v1")
    api.run(create_chat(model="gpt-4o-mini"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(arguments, "gpt-4o-mini") > 10


def test_a_usage_without_counts_is_estimated_not_priced_at_zero(openai_instrumented, openai_api):
    from otel_llmcost.tokens import count_messages

    nulls = {"prompt_tokens": None, "completion_tokens": None, "total_tokens": None}
    text = "The sea is vast and blue and full of life."
    api = openai_api(json_reply(chat_completion("gpt-4o-mini", text, nulls)), base_url="http://localhost:8000/v1")
    api.run(create_chat(model="gpt-4o-mini"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_messages(MESSAGES, "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_text(text, "gpt-4o-mini")
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_audio_tokens_priced_as_text_are_said_to_be(openai_instrumented, openai_api, monkeypatch, caplog):
    # gpt-4o-audio bills audio tokens at 16x its text rate; the catalog has no audio prices: a warning, once.
    from otel_llmcost.instrumentation import core
    from otel_llmcost.instrumentation.openai import chat

    monkeypatch.setattr(core, "_logged", set())
    monkeypatch.setattr(chat, "_said_audio", False)
    usage = chat_usage(1000, 500)
    usage["prompt_tokens_details"]["audio_tokens"] = 800
    reply = json_reply(chat_completion("gpt-4o-audio-preview-2025-06-03", "Sure.", usage))
    text = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Sure.", chat_usage(1000, 500)))
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        openai_api(text).run(create_chat(model="gpt-4o-mini"))
        assert not [r for r in caplog.records if "audio tokens" in r.getMessage()]
        api = openai_api(reply, reply)
        api.run(create_chat(model="gpt-4o-audio-preview"))
        api.run(create_chat(model="gpt-4o-audio-preview"))

    warnings = [r.getMessage() for r in caplog.records if "audio tokens" in r.getMessage()]
    assert len(warnings) == 1 and "priced at the model's text rates" in warnings[0]


def test_a_search_models_unpriced_search_fee_is_said_once_per_model(openai_instrumented, openai_api, monkeypatch, caplog):
    # A Chat Completions search model searches the web on its calls; OpenAI bills that per call, beside the
    # tokens, and the catalog cannot price it: the span's cost is the tokens', with one warning per model.
    from otel_llmcost.instrumentation import core

    monkeypatch.setattr(core, "_logged", set())
    usage = chat_usage(1000, 500)
    search = json_reply(chat_completion("gpt-4o-mini-search-preview-2025-03-11", "It rains in Rome.", usage))
    plain = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Sure.", usage))
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        openai_api(plain).run(create_chat(model="gpt-4o-mini"))
        assert not [r for r in caplog.records if "search" in r.getMessage()]
        api = openai_api(search, search, search)
        api.run(create_chat(model="gpt-4o-mini-search-preview"))
        api.run(create_chat(model="gpt-4o-mini-search-preview", web_search_options={"search_context_size": "low"}))
        api.run(create_chat(model="gpt-4o-search-preview"))

    warnings = [r.getMessage() for r in caplog.records if "search fee" in r.getMessage()]
    assert len(warnings) == 2, warnings
    assert "gpt-4o-mini-search-preview search the web" in warnings[0] and "gpt-4o-search-preview " in warnings[1]
    # the tokens are priced all the same: gpt-4o-mini-search-preview, 0.15 / 0.60 USD per 1M tokens
    spans = openai_instrumented.spans()
    assert spans[1].attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(1000) * D("0.15") / M + D(500) * D("0.6") / M)


def test_a_refusal_is_captured_as_the_answer(instrument_openai, telemetry, openai_api):
    instrument_openai(capture_content=True)
    reply = chat_completion("gpt-4o-mini-2024-07-18", None, chat_usage(30, 10))
    reply["choices"][0]["message"]["refusal"] = "I'm sorry, I can't help with that."
    openai_api(json_reply(reply)).run(create_chat(model="gpt-4o-mini"))

    assert json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "I'm sorry, I can't help with that."}],
            "finish_reason": "stop",
        }
    ]


def test_the_tools_offered_are_recorded_by_type_and_name_when_content_is_captured(
    instrument_openai, telemetry, openai_api
):
    # gen_ai.tool.definitions (opt-in, gen-ai-tool-definitions.json): type and name only, by default
    tools = [
        {"type": "function", "function": {"name": "get_order", "description": "An order.", "parameters": {}}},
        {"type": "custom", "custom": {"name": "run_sql", "description": "SQL, as text."}},
    ]
    reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(30, 10)))
    instrument_openai(capture_content=True)
    openai_api(reply).run(create_chat(model="gpt-4o-mini", tools=tools))

    assert json.loads(telemetry.span().attributes[sc.GEN_AI_TOOL_DEFINITIONS]) == [
        {"type": "function", "name": "get_order"},
        {"type": "custom", "name": "run_sql"},
    ]


def test_the_tools_offered_are_not_recorded_without_content_capture(openai_instrumented, openai_api):
    reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(30, 10)))
    tools = [{"type": "function", "function": {"name": "get_order", "parameters": {}}}]
    openai_api(reply).run(create_chat(model="gpt-4o-mini", tools=tools))

    assert sc.GEN_AI_TOOL_DEFINITIONS not in openai_instrumented.span().attributes


def test_an_empty_text_part_is_captured_with_its_empty_content(instrument_openai, telemetry, openai_api):
    # {"type": "text", "text": ""} was recorded as {"type": "text"}: a TextPart without its required content
    instrument_openai(capture_content=True)
    reply = chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(30, 10))
    parts = [{"type": "text", "text": ""}, {"type": "text", "text": "Where is my parcel?"}]
    openai_api(json_reply(reply)).run(create_chat(model="gpt-4o-mini", messages=[{"role": "user", "content": parts}]))

    assert json.loads(telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES]) == [
        {
            "role": "user",
            "parts": [{"type": "text", "content": ""}, {"type": "text", "content": "Where is my parcel?"}],
        }
    ]


def test_tool_definitions_count_as_input_when_the_usage_is_missing(openai_instrumented, openai_api):
    from otel_llmcost.tokens import count_messages

    schema = {"type": "object", "properties": {f"field_{i}": {"type": "string"} for i in range(20)}}
    description = "Change the fields of an order that has not shipped yet. " * 10  # read by the model: billed
    function = {"name": "update_order", "description": description, "parameters": schema}
    tools = [{"type": "function", "function": function}]
    reply = chat_completion("gpt-4o-mini", "Done.", None)
    api = openai_api(json_reply(reply), json_reply(reply), base_url="http://localhost:8000/v1")
    api.run(create_chat(model="gpt-4o-mini", tools=tools))
    api.run(create_chat(model="gpt-4o-mini"))

    with_tools, without = (span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] for span in openai_instrumented.spans())
    assert without == count_messages(MESSAGES, "gpt-4o-mini")
    # as OpenAI's token-counting guide reads a function: name, description, then the parameters
    tool_text = f"update_order:{description}:" + json.dumps(schema, separators=(",", ":"))
    assert with_tools == without + count_text(tool_text, "gpt-4o-mini")
    assert with_tools - without > 200  # the schema's and the description's tokens


def test_the_fingerprint_follows_the_template_not_the_user_text(openai_instrumented, openai_api):
    replies = [json_reply(chat_completion("gpt-4o-mini", "Hi", chat_usage(10, 2))) for _ in range(4)]
    api = openai_api(*replies)
    other_order = [
        {"role": "system", "content": "You are the support agent for order 67890. Answer briefly."},
        MESSAGES[1],
    ]
    other_user_text = [MESSAGES[0], {"role": "user", "content": "Can I change the address?"}]
    other_template = [{"role": "system", "content": "You translate to French."}, MESSAGES[1]]
    for messages in (MESSAGES, other_order, other_user_text, other_template):
        api.run(create_chat(model="gpt-4o-mini", messages=messages))

    fingerprints = [span.attributes[sc.LLMCOST_PROMPT_FINGERPRINT] for span in openai_instrumented.spans()]
    assert fingerprints[0] == fingerprints[1] == fingerprints[2]
    assert fingerprints[3] != fingerprints[0]


def test_structured_output_parse_returns_the_same_parsed_object(instrument_openai, telemetry, openai_api):
    from pydantic import BaseModel

    class Parcel(BaseModel):
        status: str
        eta_days: int

    content = '{"status": "in transit", "eta_days": 2}'

    async def scenario(api):
        return await api(
            api.client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES, response_format=Parcel)
        )

    reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", content, chat_usage(150, 20)))
    bare = openai_api(reply).run(scenario)
    instrument_openai()
    traced = openai_api(reply).run(scenario)

    assert type(traced) is type(bare)
    assert traced.choices[0].message.parsed == bare.choices[0].message.parsed == Parcel(status="in transit", eta_days=2)
    assert traced.to_dict(warnings=False) == bare.to_dict(warnings=False)
    attributes = dict(telemetry.span().attributes)
    assert attributes[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(150) * D("0.15") / M + D(20) * D("0.6") / M)


def test_output_that_fails_validation_stays_out_of_the_span_status(openai_instrumented, openai_api):
    # .parse() raises pydantic's ValidationError, whose message quotes the model's output: with capture
    # off, no output text may reach the span, so the status says where and why validation failed only.
    from pydantic import BaseModel, ValidationError

    class Parcel(BaseModel):
        status: str
        eta_days: int

    content = '{"status": "held at customs for Jane Doe, 12 Rue X", "eta_days": "unknown to Jane Doe"}'
    api = openai_api(json_reply(chat_completion("gpt-4o-mini-2024-07-18", content, chat_usage(150, 20))))

    async def scenario(api):
        return await api(
            api.client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES, response_format=Parcel)
        )

    with pytest.raises(ValidationError, match="Jane Doe"):  # the user's exception keeps its message
        api.run(scenario)
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == (
        "ValidationError: 1 validation error(s) for Parcel: eta_days: "
        "Input should be a valid integer, unable to parse string as an integer"
    )
    assert not [value for value in span.attributes.values() if "Jane Doe" in str(value)]
    assert span.attributes[sc.ERROR_TYPE] == "ValidationError"
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 150  # the answer was billed all the same


def test_with_raw_response_is_recorded_when_parsed(openai_instrumented, openai_api):
    api = openai_api(
        json_reply(
            chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(100, 10)), headers={"x-request-id": "req_1"}
        )
    )

    async def scenario(api):
        raw = await api(api.client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES))
        assert raw.headers["x-request-id"] == "req_1"
        assert openai_instrumented.spans() == []  # not parsed yet: nothing read, nothing recorded
        return await api(raw.parse())

    result = api.run(scenario)
    assert result.choices[0].message.content == "Hi"
    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(100) * D("0.15") / M + D(10) * D("0.6") / M)


def test_a_raw_response_ends_when_the_request_returned_not_when_it_is_parsed(openai_instrumented, openai_api):
    # The body was read before with_raw_response returned: the user's work until .parse() (reading the
    # rate-limit headers, say) is not the call's, in the span or the duration metric.
    import time

    api = openai_api(json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(100, 10))))
    returned = {}

    async def scenario(api):
        raw = await api(api.client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES))
        returned["at"] = time.time_ns()
        time.sleep(0.02)
        returned["parsing"] = time.time_ns()
        return await api(raw.parse())

    api.run(scenario)
    span = openai_instrumented.span()
    assert span.end_time <= returned["at"] < returned["parsing"]
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100
    [duration] = openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.sum <= (returned["at"] - span.start_time) / 1e9


def test_a_raw_response_parsed_to_a_dict_keeps_the_reported_usage(openai_instrumented, openai_api):
    from openai._models import construct_type

    try:
        construct_type(type_=dict, value={})  # what .parse(to=dict) does
    except ValueError:
        pytest.skip(f"openai {openai.__version__} cannot parse a raw response to a bare dict")
    reply = chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(100, 10))
    api = openai_api(json_reply(reply))

    async def scenario(api):
        raw = await api(api.client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES))
        return await api(raw.parse(to=dict))

    result = api.run(scenario)
    assert result == reply  # the user's dict, untouched
    attributes = dict(openai_instrumented.span().attributes)
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (100, 10)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes
    assert attributes[sc.GEN_AI_RESPONSE_ID] == reply["id"]
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(100) * D("0.15") / M + D(10) * D("0.6") / M)


def test_with_streaming_response_is_recorded_when_parsed(openai_instrumented, openai_api):
    api = openai_api(json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(100, 10))))

    async def scenario(api):
        manager = api.client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES)
        if api.asynchronous:
            async with manager as response:
                return await response.parse()
        with manager as response:
            return response.parse()

    result = api.run(scenario)
    assert result.usage.prompt_tokens == 100
    assert dict(openai_instrumented.span().attributes)[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 10


def test_a_raw_response_never_parsed_still_ends_its_span(openai_instrumented, openai_api):
    api = openai_api(json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(100, 10))))

    async def scenario(api):
        raw = await api(api.client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES))
        assert raw.status_code == 200
        del raw  # dropped without parse(): the call was billed, and the SDK had read its body, usage and all

    api.run(scenario)
    attributes = dict(openai_instrumented.span().attributes)
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (100, 10)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes


@pytest.mark.parametrize("leaving", ["raises", "reads nothing", "reads the JSON itself"])
def test_a_streaming_response_block_left_without_parse_ends_its_span(openai_instrumented, openai_api, leaving):
    # The block's exit closes the response: nothing ended the call until the garbage collector took the
    # response (never, while the user's variable held it), and a raise logged a failure of ours.
    api = openai_api(json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(100, 10))))

    class Leave(Exception):
        pass

    async def scenario(api):
        manager = api.client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES)
        try:
            if api.asynchronous:
                async with manager as response:
                    if leaving == "reads the JSON itself":
                        await response.json()
                    if leaving == "raises":
                        raise Leave
            else:
                with manager as response:
                    if leaving == "reads the JSON itself":
                        response.json()
                    if leaving == "raises":
                        raise Leave
        except Leave:
            pass
        return response  # still held: no garbage collection ends it

    api.run(scenario)
    span = openai_instrumented.span()
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0 and span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0
    if leaving == "raises":
        assert span.attributes[sc.ERROR_TYPE].endswith(".Leave")
    if leaving == "reads the JSON itself":  # the usage from the body the user read
        assert (span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (100, 10)


def test_azure_names_the_provider_and_prices_the_model_that_answered(openai_instrumented, openai_api):
    reply = chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(1000, 100, cached=256))
    api = openai_api(json_reply(reply), azure=True, azure_endpoint="https://contoso-eastus.openai.azure.com")
    api.run(create_chat(model="support-4o-mini"))  # an Azure deployment name, not a model

    request = api.wire.requests[0]
    assert request.url.path == "/openai/deployments/support-4o-mini/chat/completions"
    span = openai_instrumented.span()
    attributes = dict(span.attributes)
    assert span.name == "chat support-4o-mini"
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "support-4o-mini"
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attributes[sc.SERVER_ADDRESS] == "contoso-eastus.openai.azure.com"
    assert attributes[sc.SERVER_PORT] == 443
    # azure/gpt-4o-mini-2024-07-18: input 0.165, cache read 0.075, output 0.66 USD per 1M tokens
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == "azure/gpt-4o-mini-2024-07-18"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(
        D(744) * D("0.165") / M + D(256) * D("0.075") / M + D(100) * D("0.66") / M
    )


@pytest.mark.parametrize(
    ("base_url", "provider", "port"),
    [
        ("https://api.openai.com/v1", "openai", 443),
        ("https://my-resource.openai.azure.com/openai/v1", "azure.ai.openai", 443),
        # a serverless model: the Azure AI model inference service, not Azure OpenAI (priced as Azure either way)
        ("https://DeepSeek-R1-acme.eastus2.models.ai.azure.com/v1", "azure.ai.inference", 443),
        # a Foundry resource: its model inference endpoint serves its whole catalog, its /openai/ paths Azure OpenAI
        ("https://acme.services.ai.azure.com/models", "azure.ai.inference", 443),
        ("https://acme.services.ai.azure.com/openai/v1", "azure.ai.openai", 443),
        ("https://my-resource.openai.azure.us/openai/v1", "azure.ai.openai", 443),
        ("https://codestral.mistral.ai/v1", "mistral_ai", 443),
        ("https://api.deepseek.com", "deepseek", 443),
        ("https://api.groq.com/openai/v1", "groq", 443),
        ("https://api.x.ai/v1", "x_ai", 443),
        ("https://api.mistral.ai/v1", "mistral_ai", 443),
        ("https://api.perplexity.ai", "perplexity", 443),
        ("http://localhost:8000/v1", "openai", 8000),
        ("http://llm-gateway.internal/v1", "openai", 80),
        # Google: Vertex's global and regional hosts (the openai SDK's vertex provider uses both), the Gemini API
        ("https://aiplatform.googleapis.com/v1/projects/p/locations/global", "gcp.vertex_ai", 443),
        ("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1", "gcp.vertex_ai", 443),
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "gcp.gemini", 443),
        # Vertex's multi-region hosts (AnthropicVertex's region="us" / "eu"), and Anthropic's own OpenAI endpoint
        ("https://aiplatform.us.rep.googleapis.com/v1/projects/p/locations/us/endpoints/openapi", "gcp.vertex_ai", 443),
        ("https://api.anthropic.com/v1/", "anthropic", 443),
        # Bedrock's OpenAI-compatible services, in AWS's commercial and China partitions
        ("https://bedrock-mantle.us-east-1.api.aws/openai/v1", "aws.bedrock", 443),
        ("https://bedrock-runtime.cn-north-1.amazonaws.com.cn/openai/v1", "aws.bedrock", 443),
        ("https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1", "aws.bedrock", 443),
        ("https://vpce-0a1b2c3d.bedrock-runtime.us-east-1.vpce.amazonaws.com/openai/v1", "aws.bedrock", 443),
        # Other AWS hosts are not Bedrock: a vLLM behind an EC2 or load balancer name
        ("http://ec2-3-80-1-2.compute-1.amazonaws.com:8000/v1", "openai", 8000),
        ("https://vllm-1234.us-east-1.elb.amazonaws.com/v1", "openai", 443),
    ],
)
def test_the_provider_follows_the_base_url(openai_instrumented, openai_api, base_url, provider, port):
    api = openai_api(json_reply(chat_completion("some-model", "Hi", chat_usage(10, 2))), base_url=base_url)
    api.run(create_chat(model="some-model"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == provider
    assert attributes[sc.SERVER_PORT] == port


def test_clients_sharing_a_url_object_keep_their_own_provider(openai_instrumented, openai_api):
    # The base_url setter (and openai 3.x's constructor) keeps the URL object it is given: an AzureOpenAI
    # given a plain client's URL (or the reverse) holds the same object; the class, not the URL, says Azure.
    reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(1000, 100)))
    plain = openai_api(reply, reply, base_url="https://gateway.example.com/openai/")
    azure = openai_api(reply, azure=True, base_url="https://gateway.example.com/openai/")
    azure.client.base_url = plain.client.base_url
    assert azure.client._base_url is plain.client._base_url
    for api in (plain, azure, plain):
        api.run(create_chat(model="gpt-4o-mini"))

    spans = openai_instrumented.spans()
    assert [span.attributes[sc.GEN_AI_PROVIDER_NAME] for span in spans] == ["openai", "azure.ai.openai", "openai"]
    assert [span.attributes[sc.LLMCOST_PRICING_ENTRY] for span in spans] == [
        "gpt-4o-mini-2024-07-18",
        "azure/gpt-4o-mini-2024-07-18",
        "gpt-4o-mini-2024-07-18",
    ]


def test_a_serverless_model_on_azure_is_priced_at_azures_price(openai_instrumented, openai_api):
    # DeepSeek-R1 on Azure: $1.35 / $5.40 per 1M (Azure's own), not DeepSeek's $0.55 / $2.19
    reply = chat_completion("DeepSeek-R1", "Hi", chat_usage(1000, 100), service_tier=None)
    api = openai_api(json_reply(reply), base_url="https://DeepSeek-R1-acme.eastus2.models.ai.azure.com/v1")
    api.run(create_chat(model="DeepSeek-R1"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.LLMCOST_PRICING_ENTRY] == "azure_ai/deepseek-r1"
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(1000 * D("1.35") / M + 100 * D("5.4") / M)


def test_deepseek_cache_hits_are_priced(openai_instrumented, openai_api):
    usage = {
        "prompt_tokens": 2000,
        "completion_tokens": 100,
        "total_tokens": 2100,
        "prompt_tokens_details": {"cached_tokens": 1536},
        "prompt_cache_hit_tokens": 1536,
        "prompt_cache_miss_tokens": 464,
    }
    reply = chat_completion("deepseek-chat", "Hi", usage, service_tier=None)
    api = openai_api(json_reply(reply), base_url="https://api.deepseek.com")
    api.run(create_chat(model="deepseek-chat"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "deepseek"
    assert attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1536
    price = __import__("otel_llmcost.pricing", fromlist=["find_price"]).find_price("deepseek-chat", "deepseek")
    expected = (
        D(464) * price.prices["input"] / M
        + D(1536) * price.prices["cache_read"] / M
        + D(100) * price.prices["output"] / M
    )
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(expected)


def test_embeddings(openai_instrumented, openai_api):
    api = openai_api(json_reply(embedding_response("text-embedding-3-small", [[0.1, -0.2, 0.3]], 512)))

    async def scenario(api):
        return await api(
            api.client.embeddings.create(
                model="text-embedding-3-small", input="a long document", encoding_format="float"
            )
        )

    result = api.run(scenario)
    assert result.data[0].embedding == [0.1, -0.2, 0.3]
    span = openai_instrumented.span()
    attributes = dict(span.attributes)
    assert span.name == "embeddings text-embedding-3-small"
    assert attributes[sc.GEN_AI_OPERATION_NAME] == "embeddings"
    assert attributes[sc.GEN_AI_REQUEST_ENCODING_FORMATS] == ("float",)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 512
    assert sc.GEN_AI_USAGE_OUTPUT_TOKENS not in attributes  # the semconv's embeddings span counts input only
    # text-embedding-3-small: 0.02 USD per 1M input tokens
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(512) * D("0.02") / M)
    [tokens] = openai_instrumented.metric_points(sc.METRIC_TOKEN_USAGE)  # an input point, no output one of 0
    assert (tokens.attributes[sc.GEN_AI_TOKEN_TYPE], tokens.sum) == ("input", 512)


def test_embeddings_with_the_sdk_default_base64_encoding(openai_instrumented, openai_api):
    import base64
    import struct

    vector = base64.b64encode(struct.pack("<3f", 0.5, -0.25, 1.0)).decode()
    api = openai_api(
        json_reply(
            {
                **embedding_response("text-embedding-3-small", [], 8),
                "data": [{"object": "embedding", "index": 0, "embedding": vector}],
            }
        )
    )

    async def scenario(api):
        return await api(api.client.embeddings.create(model="text-embedding-3-small", input=["one", "two"]))

    result = api.run(scenario)
    assert result.data[0].embedding == [0.5, -0.25, 1.0]  # the SDK still decodes after our look
    assert dict(openai_instrumented.span().attributes)[sc.GEN_AI_USAGE_INPUT_TOKENS] == 8


def test_legacy_completions(openai_instrumented, openai_api):
    api = openai_api(json_reply(completion("gpt-3.5-turbo-instruct", " Paris.", chat_usage(10, 5))))

    async def scenario(api):
        return await api(
            api.client.completions.create(
                model="gpt-3.5-turbo-instruct", prompt="The capital of France is", max_tokens=5
            )
        )

    result = api.run(scenario)
    assert result.choices[0].text == " Paris."
    span = openai_instrumented.span()
    attributes = dict(span.attributes)
    assert span.name == "text_completion gpt-3.5-turbo-instruct"
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 5
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    # gpt-3.5-turbo-instruct: input 1.5, output 2 USD per 1M tokens
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(D(10) * D("1.5") / M + D(5) * D(2) / M)


def test_other_endpoints_are_not_recorded(openai_instrumented, openai_api):
    api = openai_api(
        json_reply(
            {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "openai"}]}
        )
    )

    async def scenario(api):
        page = await api(api.client.models.list())
        return [model.id for model in page.data]

    assert api.run(scenario) == ["gpt-4o-mini"]
    assert openai_instrumented.spans() == []


def test_xai_reasoning_tokens_reported_beside_the_completion_tokens_are_output(openai_instrumented, openai_api):
    # xAI (and Grok on Vertex) report reasoning apart from completion_tokens; the total has both
    # (https://docs.cloud.google.com/vertex-ai/generative-ai/docs/partner-models/grok/capabilities/reasoning).
    usage = {
        "prompt_tokens": 663,
        "completion_tokens": 50,
        "total_tokens": 837,
        "prompt_tokens_details": {"cached_tokens": 654, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 124, "audio_tokens": 0},
    }
    reply = chat_completion("grok-4-fast-reasoning", "I am Grok.", usage, service_tier=None)
    api = openai_api(json_reply(reply), base_url="https://api.x.ai/v1")
    api.run(create_chat(model="grok-4-fast-reasoning"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "x_ai"
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 174  # 50 + 124: output, reasoning included
    assert attributes[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 124
    price = __import__("otel_llmcost.pricing", fromlist=["find_price"]).find_price("grok-4-fast-reasoning", "x_ai")
    rates = price.prices
    expected = D(9) * rates["input"] / M + D(654) * rates["cache_read"] / M + D(174) * rates["output"] / M
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(expected)
    assert attributes[sc.LLMCOST_COST_REASONING] == float(D(124) * rates["output"] / M)


def test_prompt_tokens_written_to_the_cache_are_priced_at_the_cache_write_rate(openai_instrumented, openai_api):
    # openai >= 3 reports prompt_tokens_details.cache_write_tokens; gpt-5.6 bills them at 6.25 against 5 for input
    usage = chat_usage(100_000, 1_000, cached=10_000)
    usage["prompt_tokens_details"]["cache_write_tokens"] = 80_000
    api = openai_api(json_reply(chat_completion("gpt-5.6", "Done.", usage)))
    api.run(create_chat(model="gpt-5.6"))

    attributes = dict(openai_instrumented.span().attributes)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100_000  # writes and reads are prompt tokens
    assert attributes[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 80_000
    # gpt-5.6: input 5, cache read 0.5, cache write 6.25, output 30 USD per 1M tokens
    expected = (D(10_000) * 5 + D(10_000) * D("0.5") + D(80_000) * D("6.25") + D(1_000) * 30) / M
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == float(expected)
    assert attributes[sc.LLMCOST_COST_CACHE_WRITE] == float(D(80_000) * D("6.25") / M)


@pytest.mark.parametrize("path", ["fast", "general"])
def test_a_bedrock_guardrail_named_by_the_request_is_on_the_span(openai_instrumented, openai_api, request, path):
    # aws.bedrock.guardrail.id, which the semconv requires on Bedrock spans: set for the anthropic SDK only
    if path == "general":
        request.getfixturevalue("general_path")
    api = openai_api(
        json_reply(chat_completion("openai.gpt-oss-120b-1:0", "Hi", chat_usage(10, 2))),
        base_url="https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1",
    )
    api.run(create_chat(model="openai.gpt-oss-120b-1:0", extra_headers={"X-Amzn-Bedrock-GuardrailIdentifier": "gr-123"}))
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert attributes[sc.AWS_BEDROCK_GUARDRAIL_ID] == "gr-123"

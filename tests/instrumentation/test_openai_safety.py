"""The user's program first: errors, return values, uninstrument, our own bugs, privacy,
attribution and metrics, through the real openai SDK."""

from __future__ import annotations

import dataclasses
import json
import logging

import openai
import pytest
from opentelemetry import trace
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

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import attributes as attribution
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.openai.endpoints import ENDPOINTS

MESSAGES = [
    {"role": "system", "content": "You are the support agent."},
    {"role": "user", "content": "Where is my parcel?"},
]
REPLY = json_reply(
    chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", chat_usage(100, 10)),
    headers={"x-request-id": "req_42"},
)


async def create_chat(api, **kwargs):
    return await api(api.client.chat.completions.create(**{"model": "gpt-4o-mini", "messages": MESSAGES, **kwargs}))


@pytest.fixture
def fresh_log_once(monkeypatch):
    monkeypatch.setattr(core, "_logged", set())


@pytest.mark.parametrize(
    ("status", "error_class", "kind"),
    [(429, openai.RateLimitError, "rate_limit_exceeded"), (500, openai.InternalServerError, "server_error")],
)
def test_http_errors_are_recorded_and_reraised_unchanged(
    instrument_openai, telemetry, openai_api, status, error_class, kind
):
    reply = error_reply(status, f"Request failed ({kind}).", kind, code=kind)
    with pytest.raises(error_class) as bare:
        openai_api(reply).run(create_chat)
    instrument_openai()
    with pytest.raises(error_class) as traced:
        openai_api(reply).run(create_chat)

    assert type(traced.value) is type(bare.value)
    assert str(traced.value) == str(bare.value)
    assert traced.value.status_code == bare.value.status_code == status
    assert traced.value.body == bare.value.body
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == str(status)
    assert sc.GEN_AI_USAGE_COST_AMOUNT not in span.attributes
    [duration] = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.attributes[sc.ERROR_TYPE] == str(status)
    assert sc.GEN_AI_RESPONSE_MODEL not in duration.attributes  # no response: no model answered


def test_an_error_bodys_model_output_stays_out_of_the_span_status(openai_instrumented, openai_api):
    # Groq's json_validate_failed 400 holds the model's output; openai 1.x / 2.x quote the whole body in the
    # exception's text, which became the status: output on the span with content capture off.
    body = {
        "error": {
            "message": "Failed to generate JSON. See 'failed_generation' for more details.",
            "type": "invalid_request_error",
            "code": "json_validate_failed",
            "failed_generation": '{"answer": "the customer\'s address is 12 Rue X"}',
        }
    }
    api = openai_api(json_reply(body, 400))
    with pytest.raises(openai.BadRequestError) as raised:
        api.run(create_chat)
    assert raised.value.body["failed_generation"]  # the user's exception keeps it all
    span = openai_instrumented.span()
    assert span.status.description == (
        "BadRequestError: Error code: 400 - Failed to generate JSON. See 'failed_generation' for more details."
    )
    assert not [value for value in span.attributes.values() if "Rue X" in str(value)]
    assert span.attributes[sc.ERROR_TYPE] == "400"


def test_a_connection_error_is_recorded_and_reraised(openai_instrumented, openai_api):
    def refuse(request):
        raise api.wire.http.ConnectError("connection refused", request=request)

    api = openai_api(refuse)
    with pytest.raises(openai.APIConnectionError):
        api.run(create_chat)
    span = openai_instrumented.span()
    assert span.attributes[sc.ERROR_TYPE] == "APIConnectionError"


def test_return_values_are_identical_with_and_without_instrumentation(instrument_openai, telemetry, openai_api):
    bare = openai_api(REPLY).run(create_chat)
    instrument_openai()
    traced = openai_api(REPLY).run(create_chat)

    assert type(traced) is type(bare)
    assert traced.to_dict() == bare.to_dict()
    assert traced.model_fields_set == bare.model_fields_set
    assert traced._request_id == bare._request_id == "req_42"
    assert len(telemetry.spans()) == 1


def test_a_stream_asked_for_in_the_body_alone_gets_no_usage_option(instrument_openai, telemetry, openai_api):
    # extra_body={"stream": True} (or client.post with it in the body): the SDK does not read the reply as a
    # stream, so the user gets its server-sent events as text, where an injected usage chunk would show.
    reply = chat_stream("gpt-4o-mini-2024-07-18", ["It ", "left."], chat_usage(100, 10))

    async def stream_in_the_body(api):
        created = await api(
            api.client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_body={"stream": True})
        )
        posted = await api(
            api.client.post(
                "/chat/completions", body={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}, cast_to=str
            )
        )
        return created, posted

    bare_api = openai_api(reply, reply)
    bare = bare_api.run(stream_in_the_body)
    instrument_openai()
    traced_api = openai_api(reply, reply)
    traced = traced_api.run(stream_in_the_body)

    assert [body.get("stream_options") for body in traced_api.wire.bodies] == [None, None]
    assert traced == bare and '"usage"' not in traced[0] + traced[1]
    assert [span.attributes[sc.GEN_AI_REQUEST_STREAM] for span in telemetry.spans()] == [True, True]


@pytest.mark.parametrize("path", ["fast", "general"])
@pytest.mark.parametrize("cast_to", ["object", "http response"])
def test_a_chat_call_asked_for_as_plain_json_is_priced(
    instrument_openai, telemetry, openai_api, cast_to, path, request
):
    # client.post(..., cast_to=object) gives the body as a dict, cast_to=httpx.Response the HTTP response:
    # a billed call all the same, whose usage is in the body.
    if path == "general":
        request.getfixturevalue("general_path")
    instrument_openai()
    api = openai_api(REPLY)
    as_type = object if cast_to == "object" else api.wire.http.Response
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}

    result = api.run(lambda api: api(api.client.post("/chat/completions", body=body, cast_to=as_type)))

    assert type(result) is (dict if cast_to == "object" else api.wire.http.Response)
    attributes = telemetry.span().attributes
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (100, 10)
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-CKv3Nx2ABC"
    # gpt-4o-mini-2024-07-18: $0.15 per 1M input tokens, $0.60 per 1M output
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(100 * 0.15e-6 + 10 * 0.6e-6, rel=1e-12)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes


def test_embeddings_asked_for_as_plain_json_are_priced(openai_instrumented, openai_api):
    reply = json_reply(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 8, "total_tokens": 8},
        }
    )
    body = {"model": "text-embedding-3-small", "input": "hello"}
    openai_api(reply).run(lambda api: api(api.client.post("/embeddings", body=body, cast_to=object)))

    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 8
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(8 * 0.02e-6, rel=1e-12)  # $0.02 per 1M


def test_uninstrument_restores_the_original_functions(instrument_openai, telemetry, openai_api):
    from openai._base_client import AsyncAPIClient, SyncAPIClient
    from openai._streaming import AsyncStream, Stream
    from openai.lib.streaming.chat import AsyncChatCompletionStreamManager, ChatCompletionStreamManager
    from openai.lib.streaming.responses import AsyncResponseStreamManager, ResponseStreamManager

    patched = [
        (SyncAPIClient, "request"),
        (AsyncAPIClient, "request"),
        (Stream, "__exit__"),
        (AsyncStream, "__aexit__"),
        (ChatCompletionStreamManager, "__exit__"),
        (AsyncChatCompletionStreamManager, "__aexit__"),
        (ResponseStreamManager, "__exit__"),
        (AsyncResponseStreamManager, "__aexit__"),
    ]
    originals = [vars(owner)[name] for owner, name in patched]
    instrumentor = instrument_openai()
    assert all(vars(owner)[name] is not original for (owner, name), original in zip(patched, originals, strict=True))
    instrumentor.uninstrument()

    assert all(vars(owner)[name] is original for (owner, name), original in zip(patched, originals, strict=True))
    openai_api(REPLY).run(create_chat)
    assert telemetry.spans() == []


def test_the_call_span_is_current_while_the_sdk_sends(openai_instrumented, openai_api):
    seen = []

    def reply(request):
        seen.append(trace.get_current_span().get_span_context().span_id)
        return REPLY

    openai_api(reply).run(create_chat)
    assert seen == [openai_instrumented.span().context.span_id]


def test_a_bug_of_ours_never_reaches_the_user(
    openai_instrumented, openai_api, monkeypatch, caplog, fresh_log_once, general_path
):
    def broken(_):
        raise RuntimeError("extractor bug")

    monkeypatch.setitem(
        ENDPOINTS, "/chat/completions", dataclasses.replace(ENDPOINTS["/chat/completions"], read=broken)
    )
    api = openai_api(REPLY, REPLY)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        first = api.run(create_chat)
        second = api.run(create_chat)

    assert first.choices[0].message.content == second.choices[0].message.content == "It left the depot."
    ours = [record for record in caplog.records if record.name.startswith("otel_llmcost")]
    assert len(ours) == 1 and "extractor bug" in ours[0].exc_text
    assert len(openai_instrumented.spans()) == 2  # the calls are still recorded, without usage


def test_a_broken_request_description_still_records_the_call(
    openai_instrumented, openai_api, monkeypatch, caplog, fresh_log_once, general_path
):
    def broken(body, request):
        raise KeyError("describe bug")

    monkeypatch.setitem(
        ENDPOINTS, "/chat/completions", dataclasses.replace(ENDPOINTS["/chat/completions"], describe=broken)
    )
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        result = openai_api(REPLY).run(create_chat)

    assert result.usage.prompt_tokens == 100
    assert dict(openai_instrumented.span().attributes)[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100
    assert len([record for record in caplog.records if record.name.startswith("otel_llmcost")]) == 1


def test_a_broken_stream_state_never_hides_or_breaks_chunks(
    instrument_openai, telemetry, openai_api, monkeypatch, caplog, fresh_log_once
):
    class BrokenState:
        def __init__(self, injected_usage, body):
            pass

        def add(self, chunk):
            raise ValueError("stream bug")

        def response(self):
            raise ValueError("stream bug")

    reply = chat_stream("gpt-4o-mini-2024-07-18", ["a", "b"], chat_usage(10, 2))

    async def scenario(api):
        stream = await api(
            api.client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        )
        return [chunk.to_dict() for chunk in await api.items(stream)]

    bare = openai_api(reply).run(scenario)
    monkeypatch.setitem(
        ENDPOINTS, "/chat/completions", dataclasses.replace(ENDPOINTS["/chat/completions"], stream_state=BrokenState)
    )
    instrument_openai()
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        traced = openai_api(reply).run(scenario)

    assert traced == bare
    assert len(telemetry.spans()) == 1
    assert (
        len([record for record in caplog.records if record.name.startswith("otel_llmcost")]) == 2
    )  # chunk reader, end


def test_content_is_not_captured_by_default(openai_instrumented, openai_api):
    openai_api(REPLY).run(create_chat)
    attributes = openai_instrumented.span().attributes
    assert sc.GEN_AI_INPUT_MESSAGES not in attributes
    assert sc.GEN_AI_OUTPUT_MESSAGES not in attributes


@pytest.mark.parametrize(("setting", "captured"), [("false", False), ("0", False), (0, False), ("true", True)])
def test_capture_content_read_from_a_config_text_means_what_it_says(
    instrument_openai, telemetry, openai_api, setting, captured
):
    # instrument(capture_content="false") from a config file turned capture on (a non-empty string is truthy)
    instrument_openai(capture_content=setting)
    openai_api(REPLY).run(create_chat)
    assert (sc.GEN_AI_INPUT_MESSAGES in telemetry.span().attributes) is captured


@pytest.mark.parametrize(
    ("value", "captured", "warned"),
    [
        ("TRUE", True, False),
        ("SPAN_ONLY", True, False),  # OpenTelemetry's GenAI instrumentations' experimental values
        ("NO_CONTENT", False, False),
        ("off", False, False),
        ("maybe", False, True),  # not a value it knows: private, and said so
    ],
)
def test_the_capture_env_var_is_read_or_its_unknown_value_named(
    instrument_openai, telemetry, openai_api, monkeypatch, caplog, value, captured, warned
):
    from otel_llmcost.instrumentation import core

    monkeypatch.setattr(core, "_logged", set())
    monkeypatch.setenv(sc.ENV_CAPTURE_CONTENT, value)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        instrument_openai()
        openai_api(REPLY).run(create_chat)
    assert (sc.GEN_AI_INPUT_MESSAGES in telemetry.span().attributes) is captured
    warnings = [record.getMessage() for record in caplog.records if sc.ENV_CAPTURE_CONTENT in record.getMessage()]
    assert len(warnings) == warned
    if warned:
        assert repr(value) in warnings[0] and "Use true" in warnings[0]


def test_content_is_captured_with_the_env_var(instrument_openai, telemetry, openai_api, monkeypatch):
    monkeypatch.setenv(sc.ENV_CAPTURE_CONTENT, "true")
    instrument_openai()
    messages = [
        *MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": [tool_call("call_1", "get_order", {"order_id": "1"})]},
        {"role": "tool", "tool_call_id": "call_1", "content": "shipped"},
    ]
    openai_api(REPLY).run(lambda api: create_chat(api, messages=messages))

    attributes = telemetry.span().attributes
    assert json.loads(attributes[sc.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "system", "parts": [{"type": "text", "content": "You are the support agent."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Where is my parcel?"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call_1", "name": "get_order", "arguments": {"order_id": "1"}}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "shipped"}]},
    ]
    assert json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "It left the depot."}], "finish_reason": "stop"}
    ]


def test_responses_instructions_are_captured_as_system_instructions(instrument_openai, telemetry, openai_api):
    instrument_openai(capture_content=True)
    reply = json_reply(response_object("gpt-5-mini", [message_item("Bonjour")], responses_usage(10, 2)))

    async def scenario(api):
        return await api(
            api.client.responses.create(model="gpt-5-mini", instructions="Translate to French.", input="Hello")
        )

    openai_api(reply).run(scenario)
    attributes = telemetry.span().attributes
    assert json.loads(attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "Translate to French."}
    ]
    assert json.loads(attributes[sc.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hello"}]}
    ]
    assert json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Bonjour"}], "finish_reason": "stop"}
    ]


@pytest.mark.parametrize("api_type", ["chat", "responses"])
def test_captured_output_names_a_tool_call_finish_as_the_semconv_does(
    instrument_openai, telemetry, openai_api, api_type
):
    instrument_openai(capture_content=True)
    if api_type == "chat":
        calls = [tool_call("call_A1", "get_order", {"order_id": "12345"})]
        reply = chat_completion("gpt-4o-mini", None, chat_usage(100, 10), finish_reason="tool_calls", tool_calls=calls)

        async def scenario(api):
            messages = [{"role": "user", "content": "Hi"}]
            return await api(api.client.chat.completions.create(model="gpt-4o-mini", messages=messages))

    else:
        reply = response_object(
            "gpt-5-mini", [function_call_item("call_A1", "get_order", {"order_id": "12345"})], responses_usage(100, 10)
        )

        async def scenario(api):
            return await api(api.client.responses.create(model="gpt-5-mini", input="Hi"))

    openai_api(json_reply(reply)).run(scenario)
    attributes = telemetry.span().attributes
    [message] = json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert message["finish_reason"] == "tool_call"  # FinishReason in gen-ai-output-messages.json
    assert message["parts"][-1]["type"] == "tool_call"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)  # the provider's, as reported


def test_captured_media_parts_take_the_semconv_shapes():
    from otel_llmcost.instrumentation.openai.content import parts_of

    content = [
        {"type": "image_url", "image_url": {"url": "https://example.com/parcel.png"}},  # Chat Completions
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "file", "file": {"file_id": "file-abc123", "filename": "invoice.pdf"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
        {"type": "input_file", "file_id": "file-def456"},  # Responses API
        {"type": "input_image", "file_id": "file-ghi789", "detail": "auto"},
        {"type": "input_image", "image_url": "https://example.com/label.jpg", "detail": "auto"},
        {"type": "input_file", "file_url": "https://example.com/terms.pdf"},
    ]
    assert parts_of(content) == [
        {"type": "uri", "modality": "image", "uri": "https://example.com/parcel.png"},
        {"type": "image_url", "modality": "image"},  # inline data is not copied onto spans
        {"type": "file", "modality": "file", "file_id": "file-abc123"},  # FilePart: a file sent by id
        # no FilePart (which names a file_id), no BlobPart (its bytes are not copied): a part of its own
        {"type": "inline_file", "modality": "file"},
        {"type": "file", "modality": "file", "file_id": "file-def456"},
        {"type": "file", "modality": "image", "file_id": "file-ghi789"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/label.jpg"},
        {"type": "uri", "modality": "file", "uri": "https://example.com/terms.pdf"},
    ]


def test_the_redaction_hook_sees_every_message_list(instrument_openai, telemetry, openai_api):
    def redact(messages):
        return [{**message, "parts": [{"type": "text", "content": "[redacted]"}]} for message in messages]

    instrument_openai(capture_content=True, redact=redact)
    openai_api(REPLY).run(create_chat)

    attributes = telemetry.span().attributes
    for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES):
        assert all(
            message["parts"] == [{"type": "text", "content": "[redacted]"}] for message in json.loads(attributes[key])
        )
    assert "parcel" not in attributes[sc.GEN_AI_INPUT_MESSAGES]


@pytest.mark.parametrize(
    "redact",
    [
        pytest.param(lambda messages: 1 / 0, id="raises"),
        pytest.param(lambda messages: [{("role",): "user"}], id="returns what JSON cannot hold"),
        # written as its str(), the set would put the unredacted text on the span
        pytest.param(
            lambda messages: [{"role": "user", "parts": [], "found": {str(messages)}}],
            id="returns a set of what it found",
        ),
        pytest.param(lambda messages: None, id="returns None"),
        # recorded as {"redacted": true} and "REDACTED" before: no message list the semconv describes
        pytest.param(lambda messages: {"redacted": True}, id="returns a dict"),
        pytest.param(lambda messages: "REDACTED", id="returns a string"),
        pytest.param(lambda messages: ["a"], id="returns a list of no messages"),
        pytest.param(lambda messages: [{"role": "user", "parts": [], "score": float("nan")}], id="returns a NaN"),
        # recorded as they came (the system instructions one part per character): no parts the semconv describes
        pytest.param(lambda messages: [{"role": "user", "parts": "[redacted]"}], id="returns parts as a string"),
        pytest.param(lambda messages: [{"role": "user", "parts": {"type": "text"}}], id="returns parts as a dict"),
        pytest.param(lambda messages: [{"role": "user", "parts": ["[redacted]"]}], id="returns parts of text"),
        # recorded as they came: the semconv's messages need a role and parts, and parts a type
        pytest.param(lambda messages: [{"role": "user"}], id="returns messages without parts"),
        pytest.param(lambda messages: [{"role": None, "parts": []}], id="returns a message without a role"),
        pytest.param(lambda messages: [{"role": "user", "parts": [{"content": "x"}]}], id="returns untyped parts"),
    ],
)
def test_a_broken_redaction_hook_drops_the_content_and_nothing_else(instrument_openai, telemetry, openai_api, redact):
    instrument_openai(capture_content=True, redact=redact)
    openai_api(REPLY).run(create_chat)

    attributes = telemetry.span().attributes
    content = {sc.GEN_AI_SYSTEM_INSTRUCTIONS, sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES}
    assert not content & set(attributes)  # no content, redacted or not
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100  # the rest of the call's telemetry stays
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0
    [cost] = telemetry.metric_points(sc.METRIC_COST)
    assert cost.value == attributes[sc.GEN_AI_USAGE_COST_AMOUNT]


def test_output_messages_a_redaction_hook_strips_of_their_finish_reason_are_dropped(
    instrument_openai, telemetry, openai_api
):
    # finish_reason is required of an output message: the input messages are recorded, the output ones not
    def strip(messages):
        return [{key: value for key, value in message.items() if key != "finish_reason"} for message in messages]

    instrument_openai(capture_content=True, redact=strip)
    openai_api(REPLY).run(create_chat)

    attributes = telemetry.span().attributes
    assert json.loads(attributes[sc.GEN_AI_INPUT_MESSAGES])[-1]["role"] == "user"
    assert sc.GEN_AI_OUTPUT_MESSAGES not in attributes


def test_captured_tool_arguments_that_are_not_json_stay_text_and_the_content_stays_json(
    instrument_openai, telemetry, openai_api
):
    # A model may write NaN in its arguments; Python's json reads it, and would write invalid JSON back.
    call = {"id": "call_1", "type": "function", "function": {"name": "score", "arguments": '{"score": NaN}'}}
    completion = chat_completion("gpt-4o-mini-2024-07-18", None, chat_usage(100, 10), tool_calls=[call])
    instrument_openai(capture_content=True)
    openai_api(json_reply(completion)).run(create_chat)

    recorded = telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES]

    def refuse(constant):
        raise ValueError(constant)

    [part] = json.loads(recorded, parse_constant=refuse)[0]["parts"]  # strict JSON (RFC 8259)
    assert part["arguments"] == '{"score": NaN}'


def test_metric_points_carry_the_servers_address_and_port(openai_instrumented, openai_api):
    # server.port is conditionally required with server.address on every GenAI client metric
    openai_api(REPLY).run(create_chat)
    names = (sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE, sc.METRIC_COST)
    points = [point for name in names for point in openai_instrumented.metric_points(name)]
    assert len(points) == 4  # a duration, input and output token counts, a cost
    assert {(point.attributes[sc.SERVER_ADDRESS], point.attributes[sc.SERVER_PORT]) for point in points} == {
        ("api.openai.com", 443)
    }


@pytest.mark.parametrize("path", ["fast", "general"])
def test_duration_and_token_points_carry_the_tier_and_fingerprint_that_served_the_call(
    openai_instrumented, openai_api, path, request
):
    # The semconv recommends openai.response.service_tier and .system_fingerprint on these two metrics
    if path == "general":
        request.getfixturevalue("general_path")
    openai_api(REPLY).run(create_chat)
    served = [
        point
        for name in (sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE)
        for point in openai_instrumented.metric_points(name)
    ]
    assert len(served) == 3
    for point in served:
        assert point.attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] == "default"
        assert point.attributes[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] == "fp_560af6e559"
    [cost] = openai_instrumented.metric_points(sc.METRIC_COST)  # ours: by model and attribution only
    assert sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT not in cost.attributes


@pytest.mark.parametrize("call", ["chat", "chat-general-path", "stream", "responses"])
@pytest.mark.parametrize(
    ("base_url", "openai_attributes"),
    [
        ("https://api.openai.com/v1", True),
        ("https://my-resource.openai.azure.com/openai/v1", True),
        ("https://api.groq.com/openai/v1", False),
        ("https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1", False),
    ],
)
def test_openai_attributes_only_on_openais_calls(
    openai_instrumented, openai_api, request, call, base_url, openai_attributes
):
    # "gen_ai.provider.name ... SHOULD be set consistently with provider-specific attributes": a
    # compatible server's call through the openai SDK carries no openai.* attribute, span or metric point
    if call == "chat-general-path":
        request.getfixturevalue("general_path")
    if call == "responses":
        reply = json_reply(response_object("gpt-4o-mini-2024-07-18", [message_item("Hi")], responses_usage(100, 10)))

        async def run(api):
            return await api(api.client.responses.create(model="gpt-4o-mini", input="Hi"))
    elif call == "stream":
        reply = chat_stream("gpt-4o-mini-2024-07-18", ["It left", " the depot."], chat_usage(100, 10))

        async def run(api):
            return await api.items(await create_chat(api, stream=True, stream_options={"include_usage": True}))
    else:
        reply, run = REPLY, create_chat
    openai_api(reply, base_url=base_url).run(run)

    span = openai_instrumented.span()
    names = (sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE)
    points = [point for name in names for point in openai_instrumented.metric_points(name)]
    assert len(points) == 3
    recorded = [dict(span.attributes), *(dict(point.attributes) for point in points)]
    if openai_attributes:
        assert span.attributes[sc.OPENAI_API_TYPE] == ("responses" if call == "responses" else "chat_completions")
        assert all(attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] == "default" for attributes in recorded)
    else:
        assert [key for attributes in recorded for key in attributes if key.startswith("openai.")] == []
        assert span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0 or sc.LLMCOST_COST_UNPRICED in span.attributes


@pytest.mark.parametrize("call", ["chat", "chat-general-path", "stream", "models.list"])
def test_the_attribution_is_not_in_the_context_of_the_providers_request(
    openai_instrumented, openai_api, request, call
):
    # An HTTP client instrumentation (or a later SDK) would send the context's baggage to OpenAI:
    # the customer and user ids must not be in it; the program's own entries stay.
    from opentelemetry import baggage
    from opentelemetry import context as otel_context

    if call == "chat-general-path":
        request.getfixturevalue("general_path")
    seen = []
    answers = {
        "stream": chat_stream("gpt-4o-mini-2024-07-18", ["It ", "left."], chat_usage(100, 10)),
        "models.list": lambda request: json_reply({"object": "list", "data": []}),
    }
    answer = answers.get(call, lambda request: REPLY)

    def reply(request):
        seen.append(dict(baggage.get_all()))
        return answer(request)

    async def scenario(api):
        if call == "models.list":
            return await api(api.client.models.list())
        if call == "stream":
            return await api.items(await create_chat(api, stream=True))
        return await create_chat(api)

    token = otel_context.attach(baggage.set_baggage("tenant.region", "eu"))
    try:
        with attribution(team="support", customer="c-042", user="u-7", ticket="T-9"):
            openai_api(reply).run(scenario)
    finally:
        otel_context.detach(token)

    assert seen == [{"tenant.region": "eu"}]
    if call != "models.list":
        assert openai_instrumented.span().attributes[sc.LLMCOST_CUSTOMER] == "c-042"


def test_attribution_lands_on_the_span_and_the_cost_metric(openai_instrumented, openai_api):
    async def scenario(api):
        with attribution(
            team="support", feature="answer", customer="c-042", user="u-7", prompt_name="triage", region="eu"
        ):
            return await create_chat(api)

    openai_api(REPLY).run(scenario)
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.LLMCOST_TEAM] == "support"
    assert attributes[sc.LLMCOST_FEATURE] == "answer"
    assert attributes[sc.LLMCOST_CUSTOMER] == "c-042"
    assert attributes[sc.LLMCOST_USER] == "u-7"
    assert attributes[sc.GEN_AI_PROMPT_NAME] == "triage"
    assert attributes["llmcost.attr.region"] == "eu"
    [cost] = openai_instrumented.metric_points(sc.METRIC_COST)
    assert cost.attributes[sc.LLMCOST_TEAM] == "support"
    assert cost.attributes[sc.LLMCOST_FEATURE] == "answer"
    assert cost.value == attributes[sc.GEN_AI_USAGE_COST_AMOUNT]


def test_metrics_use_the_semconv_buckets(openai_instrumented, openai_api):
    openai_api(REPLY).run(create_chat)

    tokens = openai_instrumented.metric_points(sc.METRIC_TOKEN_USAGE)
    assert {point.attributes[sc.GEN_AI_TOKEN_TYPE]: point.sum for point in tokens} == {"input": 100, "output": 10}
    assert all(tuple(point.explicit_bounds) == sc.TOKEN_USAGE_BUCKETS for point in tokens)
    [duration] = openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)
    assert tuple(duration.explicit_bounds) == sc.DURATION_BUCKETS
    assert duration.count == 1
    assert duration.attributes == {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        sc.SERVER_ADDRESS: "api.openai.com",
        sc.SERVER_PORT: 443,
        sc.OPENAI_RESPONSE_SERVICE_TIER: "default",
        sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT: "fp_560af6e559",
    }


def test_estimated_tokens_get_no_token_usage_points(openai_instrumented, openai_api):
    # The semconv: usage the provider did not send is reported only when the user turned offline counting
    # on. The span carries the estimate, flagged; the token usage metric only what the provider billed.
    reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", None))
    openai_api(reply, base_url="http://localhost:8000/v1").run(create_chat)

    assert openai_instrumented.span().attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True
    assert openai_instrumented.metric_points(sc.METRIC_TOKEN_USAGE) == []
    [duration] = openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.count == 1


def test_a_tool_schema_json_cannot_sort_keeps_the_request_described(openai_instrumented, openai_api):
    # An int key beside str ones (the SDK sends it): sorting it raised, and the span lost its fingerprint,
    # its parameters and, without usage, its estimate and cost.
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "x-codes": {1: "one", "two": 2}}}}
    api = openai_api(json_reply(chat_completion("gpt-4o-mini", "ok", None)), base_url="http://localhost:8000/v1")
    api.run(lambda api: api(api.client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=[tool], max_tokens=50)))

    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert len(attributes[sc.LLMCOST_PROMPT_FINGERPRINT]) == 16
    assert attributes[sc.LLMCOST_TOKENS_ESTIMATED] is True and attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_the_stream_helpers_error_quoting_a_chunks_delta_is_described_without_it():
    # openai's chat stream helper cannot merge a malformed delta and raises quoting it (the model's text in it)
    from otel_llmcost.instrumentation import core

    error = RuntimeError("Expected list delta entry to have an `index` key; {'content': 'SSN 078-05-1120'}")
    assert core.error_description(error) == (
        "RuntimeError: Expected list delta entry to have an `index` key (the output it quoted is not recorded)"
    )
    # another error's text stays whole
    assert core.error_description(RuntimeError("index 3; out of range")) == "RuntimeError: index 3; out of range"


@pytest.mark.parametrize("way", ["create", "with_streaming_response", "with_raw_response"])
def test_a_stream_our_hook_fails_to_wrap_still_ends_its_span_once(
    openai_instrumented, openai_api, failing_stream_hook, way
):
    # The failure is logged and the user's chunks are the SDK's (our usage chunk hidden); the call's span
    # used to stay open for good, the stream being left to end it.
    reply = chat_stream("gpt-4o-mini-2024-07-18", ["It ", "left."], chat_usage(20, 2))
    api = openai_api(reply)

    async def scenario(api):
        request = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
        if way == "create":
            return await api.items(await api(api.client.chat.completions.create(**request)))
        if way == "with_raw_response":  # parsed after the request returned: the parse ends the call
            raw = await api(api.client.chat.completions.with_raw_response.create(**request))
            return await api.items(await api(raw.parse()))
        return await api.streamed(api.client.chat.completions.with_streaming_response.create(**request))

    chunks = api.run(scenario)
    assert [chunk.choices[0].delta.content for chunk in chunks if chunk.choices] == ["", "It ", "left.", None]
    assert all(chunk.usage is None for chunk in chunks)  # the usage we asked for stays hidden
    span = openai_instrumented.span()  # one span, ended
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes[sc.GEN_AI_REQUEST_STREAM] is True


def test_a_stream_whose_close_hook_fails_still_records_its_usage(openai_instrumented, openai_api, monkeypatch):
    # Our iterator was in place when the close hook failed: the stream ends the call, with its usage; it was
    # ended at once, empty, as though nothing of the stream were ours.
    from otel_llmcost.instrumentation import streams

    class Broken:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("close hook failed")

    monkeypatch.setattr(core, "_logged", set())
    monkeypatch.setattr(streams, "_CloseHook", Broken)
    monkeypatch.setattr(streams, "_AsyncCloseHook", Broken)
    api = openai_api(chat_stream("gpt-4o-mini-2024-07-18", ["It ", "left."], chat_usage(20, 2)))

    async def scenario(api):
        stream = await api(api.client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
        assert openai_instrumented.spans() == []  # open until the stream ends
        return await api.items(stream)

    api.run(scenario)
    attributes = openai_instrumented.span().attributes
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (20, 2)
    assert sc.LLMCOST_TOKENS_ESTIMATED not in attributes

"""The user's program first, through the real anthropic SDK: errors, return values, uninstrument,
our own bugs, privacy, attribution, metrics, and one span with usage per call whether or not
anthropic 2.x's own tracing is on."""

from __future__ import annotations

import json
import logging

import anthropic
import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from wire import (
    anthropic_has_own_tracing,
    claude_error,
    claude_events,
    claude_message,
    claude_stream,
    claude_usage,
    json_reply,
    text_block,
    tool_use_block,
)

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import attributes as attribution
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.anthropic import fast_messages, messages

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

SONNET = "claude-sonnet-4-5-20250929"
SYSTEM = "You are the support agent."
MESSAGES = [
    {"role": "user", "content": "Where is my parcel?"},
    {"role": "assistant", "content": [tool_use_block("toolu_01", "track_parcel", {"order": "12345"})]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "At the depot."}]},
]
CALL = {"model": "claude-sonnet-4-5", "max_tokens": 512, "system": SYSTEM, "messages": MESSAGES}
MESSAGE = claude_message(
    SONNET,
    [text_block("It is at the depot."), tool_use_block("toolu_02", "notify", {"channel": "email"})],
    claude_usage(120, 30, cache_read=1000),
    stop_reason="tool_use",
)
REPLY = json_reply(MESSAGE, headers={"request-id": "req_42"})
needs_own_tracing = pytest.mark.skipif(not anthropic_has_own_tracing(), reason="anthropic < 2 has no spans of its own")


async def create(api, **kwargs):
    return await api(api.client.messages.create(**{**CALL, **kwargs}))


async def create_stream(api, **kwargs):
    return await api.items(await api(api.client.messages.create(**{**CALL, "stream": True, **kwargs})))


@pytest.fixture
def fresh_log_once(monkeypatch):
    monkeypatch.setattr(core, "_logged", set())


@pytest.mark.parametrize(
    ("status", "error_class", "kind"),
    [(529, anthropic.OverloadedError, "overloaded_error"), (429, anthropic.RateLimitError, "rate_limit_error")],
)
def test_http_errors_are_recorded_and_reraised_unchanged(
    instrument_anthropic, telemetry, anthropic_api, status, error_class, kind
):
    reply = claude_error(
        status,
        kind,
        "Overloaded" if status == 529 else "Number of request tokens has exceeded your per-minute rate limit",
    )
    with pytest.raises(error_class) as bare:
        anthropic_api(reply).run(create)
    instrument_anthropic()
    with pytest.raises(error_class) as traced:
        anthropic_api(reply).run(create)

    assert type(traced.value) is type(bare.value)
    assert str(traced.value) == str(bare.value)
    assert traced.value.status_code == bare.value.status_code == status
    assert traced.value.body == bare.value.body
    assert traced.value.request_id == bare.value.request_id
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == str(status)
    assert sc.GEN_AI_USAGE_COST_AMOUNT not in span.attributes
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    points = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert [point.attributes[sc.ERROR_TYPE] for point in points] == [str(status)]


def test_an_error_is_described_by_the_providers_message_not_the_whole_body(anthropic_instrumented, anthropic_api):
    # anthropic's exception text is the whole response body; the status keeps the provider's message only
    reply = claude_error(400, "invalid_request_error", "max_tokens: 100000 > 64000, the maximum for this model")
    with pytest.raises(anthropic.BadRequestError) as raised:
        anthropic_api(reply).run(create)
    assert "request_id" in str(raised.value)  # the body, as the SDK words it
    assert anthropic_instrumented.span().status.description == (
        "BadRequestError: Error code: 400 - max_tokens: 100000 > 64000, the maximum for this model"
    )


def test_a_connection_error_is_recorded_and_reraised(anthropic_instrumented, anthropic_api):
    def refuse(request):
        raise api.wire.http.ConnectError("connection refused", request=request)

    api = anthropic_api(refuse)
    with pytest.raises(anthropic.APIConnectionError):
        api.run(create)
    assert anthropic_instrumented.span().attributes[sc.ERROR_TYPE] == "APIConnectionError"


def test_return_values_are_identical_with_and_without_instrumentation(instrument_anthropic, telemetry, anthropic_api):
    bare = anthropic_api(REPLY).run(create)
    instrument_anthropic()
    traced = anthropic_api(REPLY).run(create)

    assert type(traced) is type(bare)
    assert traced.to_dict() == bare.to_dict()
    assert traced.model_fields_set == bare.model_fields_set
    assert traced._request_id == bare._request_id == "req_42"
    assert len(telemetry.spans()) == 1


@pytest.mark.parametrize("path", ["fast", "general"])
@pytest.mark.parametrize("cast_to", ["object", "http response"])
def test_a_message_asked_for_as_plain_json_is_priced(
    instrument_anthropic, telemetry, anthropic_api, cast_to, path, request
):
    # client.post(..., cast_to=object) gives the body as a dict, cast_to=httpx.Response the HTTP response:
    # a billed call all the same, whose usage is in the body.
    if path == "general":
        request.getfixturevalue("general_path")
    instrument_anthropic()
    api = anthropic_api(json_reply(MESSAGE))
    as_type = object if cast_to == "object" else api.wire.http.Response

    result = api.run(lambda api: api(api.client.post("/v1/messages", body=CALL, cast_to=as_type)))

    assert type(result) is (dict if cast_to == "object" else api.wire.http.Response)
    attributes = telemetry.span().attributes
    # input includes the cache reads: 120 + 1,000
    assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (1120, 30)
    # Sonnet 4.5: $3 per 1M input tokens, $0.30 per 1M cache reads, $15 per 1M output
    expected = 120 * 3e-6 + 1000 * 0.3e-6 + 30 * 15e-6
    assert attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-12)


def test_uninstrument_restores_the_original_functions(instrument_anthropic, telemetry, anthropic_api):
    from anthropic._base_client import AsyncAPIClient, BaseClient, SyncAPIClient
    from anthropic._streaming import AsyncStream, Stream
    from anthropic.lib.streaming import (
        AsyncMessageStream,
        AsyncMessageStreamManager,
        MessageStream,
        MessageStreamManager,
    )

    patched = [
        (SyncAPIClient, "request"),
        (AsyncAPIClient, "request"),
        (Stream, "__exit__"),
        (AsyncStream, "__aexit__"),
        (MessageStream, "__exit__"),
        (MessageStreamManager, "__exit__"),
        (AsyncMessageStream, "__aexit__"),
        (AsyncMessageStreamManager, "__aexit__"),
    ]
    if anthropic_has_own_tracing():
        patched.append((BaseClient, "_tracer"))
    originals = [vars(owner)[name] for owner, name in patched]
    instrumentor = instrument_anthropic()
    assert all(vars(owner)[name] is not original for (owner, name), original in zip(patched, originals, strict=True))
    instrumentor.uninstrument()

    assert all(vars(owner)[name] is original for (owner, name), original in zip(patched, originals, strict=True))
    anthropic_api(REPLY).run(create)
    assert telemetry.spans() == []


def test_the_call_span_is_current_while_the_sdk_sends(anthropic_instrumented, anthropic_api):
    seen = []

    def reply(request):
        seen.append(trace.get_current_span().get_span_context().span_id)
        return REPLY

    anthropic_api(reply).run(create)
    assert seen == [anthropic_instrumented.span().context.span_id]


def test_a_bug_of_ours_never_reaches_the_user(
    anthropic_instrumented, anthropic_api, monkeypatch, caplog, fresh_log_once, general_path
):
    def broken(*_):
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(messages, "read", broken)
    monkeypatch.setattr(messages, "describe", broken)
    api = anthropic_api(REPLY, REPLY)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        first = api.run(create)
        second = api.run(create)

    assert first.content[0].text == second.content[0].text == "It is at the depot."
    spans = anthropic_instrumented.spans()
    assert len(spans) == 2  # each call still has its span, ended once
    assert all(span.attributes[sc.GEN_AI_REQUEST_MODEL] == "claude-sonnet-4-5" for span in spans)
    ours = [record for record in caplog.records if "otel-llmcost" in record.getMessage()]
    assert len(ours) == 2  # one per broken step, not one per call
    assert [str(record.exc_info[1]) for record in ours] == ["extractor bug", "extractor bug"]


def test_a_bug_in_the_stream_state_never_hides_an_event(
    instrument_anthropic, telemetry, anthropic_api, monkeypatch, fresh_log_once
):
    bare = anthropic_api(claude_stream(claude_events(MESSAGE))).run(create_stream)

    def broken(self, event):
        raise RuntimeError("stream state bug")

    monkeypatch.setattr(messages.MessageStream, "add", broken)
    instrument_anthropic()
    traced = anthropic_api(claude_stream(claude_events(MESSAGE))).run(create_stream)

    assert [event.to_dict() for event in traced] == [event.to_dict() for event in bare]
    assert len(telemetry.spans()) == 1


def test_content_is_not_captured_by_default(anthropic_instrumented, anthropic_api):
    anthropic_api(REPLY).run(create)
    attributes = anthropic_instrumented.span().attributes
    for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS):
        assert key not in attributes
    assert "parcel" not in json.dumps(dict(attributes))


EXPECTED_INPUT = [
    {"role": "user", "parts": [{"type": "text", "content": "Where is my parcel?"}]},
    {
        "role": "assistant",
        "parts": [{"type": "tool_call", "id": "toolu_01", "name": "track_parcel", "arguments": {"order": "12345"}}],
    },
    {"role": "user", "parts": [{"type": "tool_call_response", "id": "toolu_01", "response": "At the depot."}]},
]
EXPECTED_OUTPUT = [
    {
        "role": "assistant",
        "parts": [
            {"type": "text", "content": "It is at the depot."},
            {"type": "tool_call", "id": "toolu_02", "name": "notify", "arguments": {"channel": "email"}},
        ],
        "finish_reason": "tool_call",
    }
]


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
def test_content_is_captured_with_the_env_switch(instrument_anthropic, telemetry, anthropic_api, monkeypatch, stream):
    monkeypatch.setenv(sc.ENV_CAPTURE_CONTENT, "true")
    instrument_anthropic()
    reply = claude_stream(claude_events(MESSAGE)) if stream else REPLY
    anthropic_api(reply).run(create_stream if stream else create)

    attributes = telemetry.span().attributes
    assert json.loads(attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": SYSTEM}]
    assert json.loads(attributes[sc.GEN_AI_INPUT_MESSAGES]) == EXPECTED_INPUT
    assert json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == EXPECTED_OUTPUT


def test_captured_content_goes_through_the_redaction_hook(instrument_anthropic, telemetry, anthropic_api):
    seen = []

    def redact(messages):  # written for the message list, as the README describes it
        seen.append([message["role"] for message in messages])
        return [{**message, "parts": [{"type": "text", "content": "[redacted]"}]} for message in messages]

    instrument_anthropic(capture_content=True, redact=redact)
    anthropic_api(REPLY).run(lambda api: create(api, system="You are the support agent for ACME; order 12345."))

    attributes = telemetry.span().attributes
    assert "parcel" not in attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [{"type": "text", "content": "[redacted]"}]
    # the system prompt reaches the hook as a one-message list too, and its parts are recorded
    assert ["system"] in seen
    assert json.loads(attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "[redacted]"}]


def test_a_hook_that_edits_tool_arguments_in_place_changes_no_object_of_the_program(
    instrument_anthropic, telemetry, anthropic_api
):
    def redact(messages):  # edits the tool calls' arguments where they are
        for message in messages:
            for part in message["parts"]:
                if part["type"] == "tool_call":
                    part["arguments"]["redacted"] = True
        return messages

    history = json.loads(json.dumps(MESSAGES))
    instrument_anthropic(capture_content=True, redact=redact)
    message = anthropic_api(REPLY).run(lambda api: create(api, messages=history))

    # The reply the program acts on and the history it sends next keep the model's arguments
    assert message.content[1].input == {"channel": "email"}
    assert history[1]["content"][0]["input"] == {"order": "12345"}
    attributes = telemetry.span().attributes
    [call] = [part for part in json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] if part["type"] == "tool_call"]
    assert call["arguments"] == {"channel": "email", "redacted": True}  # the hook's edit is what is recorded


def test_attribution_lands_on_the_span_and_the_cost_metric(anthropic_instrumented, anthropic_api):
    api = anthropic_api(REPLY)
    with attribution(team="support", feature="answer", customer="c-042", ticket="T-9"):
        api.run(create)

    attributes = anthropic_instrumented.span().attributes
    assert attributes[sc.LLMCOST_TEAM] == "support"
    assert attributes[sc.LLMCOST_FEATURE] == "answer"
    assert attributes[sc.LLMCOST_CUSTOMER] == "c-042"
    assert attributes[sc.LLMCOST_EXTRA_PREFIX + "ticket"] == "T-9"
    [point] = anthropic_instrumented.metric_points(sc.METRIC_COST)
    assert point.attributes[sc.LLMCOST_TEAM] == "support"
    assert point.attributes[sc.LLMCOST_FEATURE] == "answer"
    assert point.value == attributes[sc.GEN_AI_USAGE_COST_AMOUNT]


# --- anthropic 2.x's own spans -----------------------------------------------------


def sdk_tracing(setting, telemetry):
    """The client option that turns the SDK's own spans on (into the test's provider) or off."""
    if setting == "off":
        return {"open_telemetry": False} if anthropic_has_own_tracing() else {}
    if not anthropic_has_own_tracing():
        pytest.skip("anthropic < 2 has no spans of its own")
    return {"open_telemetry": {"tracer_provider": telemetry.tracer_provider}}


def usage_spans(telemetry):
    return [span for span in telemetry.spans() if sc.GEN_AI_USAGE_INPUT_TOKENS in span.attributes]


@needs_own_tracing
def test_without_us_the_sdks_own_span_carries_usage(telemetry, anthropic_api):
    # Why one of the two spans must go: the SDK's own span would be a second row in llm_calls.
    anthropic_api(REPLY, **sdk_tracing("on", telemetry)).run(create)
    [span] = usage_spans(telemetry)
    assert span.name == "anthropic.messages.create"
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1120


@pytest.mark.parametrize("setting", ["on", "off"], ids=["sdk-tracing-on", "sdk-tracing-off"])
@pytest.mark.parametrize("call", ["message", "message-general-path", "stream"])
def test_exactly_one_span_per_call_carries_the_usage_and_the_cost(
    anthropic_instrumented, anthropic_api, monkeypatch, request, setting, call
):
    # A plain message takes fast_messages (counted here), or the general path with an observer installed.
    fast_ends = []
    finish = fast_messages.finish
    monkeypatch.setattr(fast_messages, "finish", lambda *args: fast_ends.append(args) or finish(*args))
    if call == "message-general-path":
        request.getfixturevalue("general_path")
    stream = call == "stream"
    reply = claude_stream(claude_events(MESSAGE)) if stream else REPLY
    anthropic_api(reply, **sdk_tracing(setting, anthropic_instrumented)).run(create_stream if stream else create)

    assert len(fast_ends) == (call == "message")
    [span] = usage_spans(anthropic_instrumented)
    assert span.name == "chat claude-sonnet-4-5"
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1120
    assert span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] > 0
    assert [span.name for span in anthropic_instrumented.spans()] == ["chat claude-sonnet-4-5"]


@needs_own_tracing
def test_the_sdk_still_sends_our_spans_trace_context(anthropic_instrumented, anthropic_api):
    api = anthropic_api(REPLY, **sdk_tracing("on", anthropic_instrumented))
    api.run(create)

    context = anthropic_instrumented.span().context
    traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
    assert api.wire.requests[0].headers["traceparent"] == traceparent


@needs_own_tracing
@pytest.mark.parametrize("call", ["message", "message-general-path", "stream", "count_tokens"])
def test_the_attribution_is_not_sent_to_the_provider(anthropic_instrumented, anthropic_api, request, call):
    # anthropic 2.x sends the W3C baggage with each request: the customer and user ids must not leave for
    # Anthropic. The program's own baggage entries are its business, and still go.
    from opentelemetry import baggage
    from opentelemetry import context as otel_context

    if call == "message-general-path":
        request.getfixturevalue("general_path")
    stream = call == "stream"
    reply = json_reply({"input_tokens": 2095}) if call == "count_tokens" else claude_stream(claude_events(MESSAGE)) if stream else REPLY
    api = anthropic_api(reply, **sdk_tracing("on", anthropic_instrumented))

    async def scenario(api):
        if call == "count_tokens":
            return await api(api.client.messages.count_tokens(model="claude-sonnet-4-5", messages=MESSAGES))
        return await (create_stream if stream else create)(api)

    token = otel_context.attach(baggage.set_baggage("tenant.region", "eu"))
    try:
        with attribution(team="support", customer="c-042", user="alice@example.com", ticket="T-9"):
            api.run(scenario)
    finally:
        otel_context.detach(token)

    assert api.wire.requests[0].headers["baggage"] == "tenant.region=eu"
    if call != "count_tokens":  # the span still carries the attribution
        span = anthropic_instrumented.span()
        assert span.attributes[sc.LLMCOST_CUSTOMER] == "c-042" and span.attributes[sc.LLMCOST_USER] == "alice@example.com"


@needs_own_tracing
def test_calls_we_do_not_record_keep_the_sdks_span(anthropic_instrumented, anthropic_api):
    api = anthropic_api(json_reply({"input_tokens": 2095}), **sdk_tracing("on", anthropic_instrumented))

    async def scenario(api):
        return await api(api.client.messages.count_tokens(model="claude-sonnet-4-5", messages=MESSAGES))

    api.run(scenario)
    [span] = anthropic_instrumented.spans()
    assert span.name == "anthropic.messages.count_tokens"
    assert not [key for key in span.attributes if key.startswith("gen_ai.usage.")]


@pytest.mark.parametrize("way", ["create", "with_streaming_response", "with_raw_response"])
def test_a_stream_our_hook_fails_to_wrap_still_ends_its_span_once(
    anthropic_instrumented, anthropic_api, failing_stream_hook, way
):
    # The failure is logged and the user's events are the SDK's; the call's span used to stay open for good.
    events = claude_events(claude_message(SONNET, [text_block("It left.")], claude_usage(20, 2)))
    api = anthropic_api(claude_stream(events))

    async def scenario(api):
        if way == "create":
            return await api.items(await api(api.client.messages.create(**CALL, stream=True)))
        if way == "with_raw_response":  # parsed after the request returned: the parse ends the call
            raw = await api(api.client.messages.with_raw_response.create(**CALL, stream=True))
            return await api.items(await api(raw.parse()))
        return await api.streamed(api.client.messages.with_streaming_response.create(**CALL, stream=True))

    seen = api.run(scenario)
    # the SDK's events (it yields no ping)
    assert [event.type for event in seen] == [event["type"] for event in events if event["type"] != "ping"]
    span = anthropic_instrumented.span()  # one span, ended
    assert span.name == "chat claude-sonnet-4-5"
    assert span.attributes[sc.GEN_AI_REQUEST_STREAM] is True

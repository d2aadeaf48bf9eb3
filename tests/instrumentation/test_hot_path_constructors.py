"""The hot path builds Usage, Request and Response through functions (cheaper than calling the classes
with keywords on CPython 3.11). They must build exactly what the classes do."""

from __future__ import annotations

import dataclasses

import pytest

from otel_llmcost.instrumentation import core
from otel_llmcost.pricing.types import Usage, new_usage

USAGE_FIELDS = {
    "input_tokens": 1200,
    "output_tokens": 300,
    "cache_read_tokens": 1024,
    "cache_write_5m_tokens": 7,
    "cache_write_1h_tokens": 11,
    "reasoning_tokens": 64,
    "web_search_requests": 2,
    "estimated": True,
}


def test_new_usage_is_the_usage_the_class_builds():
    expected = Usage(**USAGE_FIELDS)
    assert new_usage(**USAGE_FIELDS) == expected
    assert new_usage(*USAGE_FIELDS.values()) == expected
    assert type(new_usage(**USAGE_FIELDS)) is Usage
    assert new_usage() == Usage() == Usage(0, 0, 0, 0, 0, 0, 0, False)
    assert new_usage(input_tokens=5).input_tokens == 5
    assert expected.cache_write_tokens == 18
    assert expected.uncached_input_tokens == 1200 - 1024 - 18


def test_usage_stays_immutable():
    usage = new_usage(10, 2)
    with pytest.raises(AttributeError):
        usage.input_tokens = 11  # type: ignore[misc]
    assert usage._replace(output_tokens=3) == Usage(input_tokens=10, output_tokens=3)


def test_new_request_sets_every_field_as_the_class_does():
    body = {"model": "gpt-4o-mini"}
    built = core.new_request("chat", "openai", "gpt-4o-mini", "api.openai.com", 443, True, body)
    expected = core.Request(
        operation="chat",
        provider="openai",
        model="gpt-4o-mini",
        server_address="api.openai.com",
        server_port=443,
        stream=True,
        body=body,
    )
    assert built == expected
    assert {field.name for field in dataclasses.fields(core.Request)} == {
        "operation",
        "provider",
        "model",
        "server_address",
        "server_port",
        "stream",
        "service_tier",
        "attributes",
        "fingerprint",
        "input_messages",
        "system_instructions",
        "estimate_input_tokens",
        "body",
    }, "a new Request field must be added to core.new_request too"
    assert built.attributes is not core.new_request("chat", "openai", None).attributes  # one dict per request


def test_new_response_sets_every_field_as_the_class_does():
    usage = new_usage(10, 2)
    arguments = {
        "model": "gpt-4o-mini-2024-07-18",
        "id": "chatcmpl-1",
        "finish_reasons": ["stop"],
        "usage": usage,
        "service_tier": "flex",
        "tool_calls": [("call_1", "lookup")],
        "output_text": "hi",
        "output_messages": list,
        "attributes": {"k": "v"},
        "failure": ("server_error", "server_error: The model failed"),
        "deferred": True,
        "web_search_requests": 3,
        "refused": True,
        "input_reported": True,
    }
    assert core.new_response(**arguments) == core.Response(**arguments)
    assert core.new_response() == core.Response()
    assert {field.name for field in dataclasses.fields(core.Response)} == set(arguments), (
        "a new Response field must be added to core.new_response too"
    )
    assert core.new_response().attributes is not core.new_response().attributes

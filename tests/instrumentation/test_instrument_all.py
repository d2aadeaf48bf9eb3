"""``otel_llmcost.instrument()`` / ``uninstrument()``: every installed SDK's adapter, and an
adapter that cannot load (an SDK version it does not support) skipped with a warning."""

from __future__ import annotations

import importlib.util
import logging
import sys
from decimal import Decimal as D

import pytest
from wire import chat_completion, chat_usage, json_reply

import otel_llmcost
from otel_llmcost import instrumentation
from otel_llmcost import semconv as sc

BROKEN = "llmcost_broken_adapter"
# gpt-4o-mini-2024-07-18: input 0.15, output 0.6 USD per 1M tokens
COST = float(D(1000) * D("0.15") / 10**6 + D(200) * D("0.6") / 10**6)


@pytest.fixture
def broken_adapter(tmp_path, monkeypatch):
    """An adapter module that fails on import the way an unsupported SDK version makes it fail."""
    (tmp_path / f"{BROKEN}.py").write_text(
        "from openai.types.chat import NoSuchTypeInThisVersion  # noqa: F401\n\nclass BrokenInstrumentor: ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, BROKEN, raising=False)
    monkeypatch.setattr(
        instrumentation,
        "ADAPTERS",
        (
            (f"{BROKEN}:BrokenInstrumentor", "openai", "openai"),
            ("otel_llmcost.instrumentation.no_such_adapter:Missing", "openai", "openai"),
            ("otel_llmcost.instrumentation.openai:NoSuchClass", "openai", "openai"),
            ("otel_llmcost.instrumentation.openai:OpenAIInstrumentor", "openai", "openai"),
        ),
    )


def chat(api):
    async def scenario(api):
        messages = [{"role": "user", "content": "Where is my parcel?"}]
        return await api(api.client.chat.completions.create(model="gpt-4o-mini", messages=messages))

    return api.run(scenario)


def test_an_adapter_that_fails_to_load_is_skipped_and_the_others_instrument(
    broken_adapter, telemetry, openai_api, caplog
):
    reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", chat_usage(1000, 200)))
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        names = otel_llmcost.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
    try:
        assert names == ["OpenAIInstrumentor"]
        warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
        assert len(warnings) == 3, warnings
        assert f"{BROKEN}:BrokenInstrumentor" in warnings[0] and "NoSuchTypeInThisVersion" in warnings[0]
        assert "no_such_adapter" in warnings[1] and "ModuleNotFoundError" in warnings[1]
        assert "openai:NoSuchClass" in warnings[2] and "AttributeError" in warnings[2]

        result = chat(openai_api(reply))
        assert result.choices[0].message.content == "It left the depot."
        assert telemetry.span().attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == COST
    finally:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
            otel_llmcost.uninstrument()  # the broken adapters are skipped here too: nothing raises
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3

    chat(openai_api(reply))
    assert len(telemetry.spans()) == 1  # uninstrumented: no second span


def test_a_module_named_like_an_sdk_but_from_another_distribution_is_not_instrumented(tmp_path, monkeypatch):
    # A project's own package called "agents" is not the OpenAI Agents SDK.
    monkeypatch.setattr(
        instrumentation,
        "ADAPTERS",
        (("otel_llmcost.agents.openai_agents:OpenAIAgentsInstrumentor", "json", "no-such-distribution-llmcost"),),
    )
    assert instrumentation._instrumentors() == []


@pytest.mark.skipif(importlib.util.find_spec("agents") is None, reason="openai-agents is not installed")
def test_instrument_covers_the_openai_agents_sdk(telemetry):
    from agents.tracing import set_trace_processors

    from otel_llmcost.agents.openai_agents import OpenAIAgentsInstrumentor

    set_trace_processors([])  # the SDK's default processor would export to the OpenAI dashboard
    OpenAIAgentsInstrumentor._processor = None
    try:
        names = otel_llmcost.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
        assert "OpenAIAgentsInstrumentor" in names and "OpenAIInstrumentor" in names
        assert OpenAIAgentsInstrumentor._processor is not None and OpenAIAgentsInstrumentor._processor.enabled
        otel_llmcost.uninstrument()
        assert not OpenAIAgentsInstrumentor._processor.enabled
    finally:
        otel_llmcost.uninstrument()
        set_trace_processors([])
        OpenAIAgentsInstrumentor._processor = None


def test_an_sdk_version_outside_the_supported_range_is_left_out_with_a_warning(
    telemetry, openai_api, caplog, monkeypatch
):
    from otel_llmcost.instrumentation.openai import OpenAIInstrumentor

    monkeypatch.setattr(instrumentation, "ADAPTERS", instrumentation.ADAPTERS[:1])
    monkeypatch.setattr(OpenAIInstrumentor, "_instruments", ("openai >= 999",))
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        names = otel_llmcost.instrument(tracer_provider=telemetry.tracer_provider)
    assert names == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "otel_llmcost"]
    assert len(warnings) == 1, warnings
    assert "OpenAIInstrumentor is not enabled" in warnings[0] and "pip install 'openai >= 999'" in warnings[0]
    assert "openai 3." in warnings[0] or "openai 2." in warnings[0] or "openai 1." in warnings[0]
    assert ".." not in warnings[0]  # OpenTelemetry's conflict ends with its own period

    reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", chat_usage(1000, 200)))
    assert chat(openai_api(reply)).choices[0].message.content == "It left the depot."
    assert telemetry.spans() == []  # not instrumented


def test_instrument_and_uninstrument_twice_are_quiet_and_keep_their_answer(telemetry, openai_api, caplog, monkeypatch):
    monkeypatch.setattr(instrumentation, "ADAPTERS", instrumentation.ADAPTERS[:1])
    with caplog.at_level(logging.WARNING):
        first = otel_llmcost.instrument(tracer_provider=telemetry.tracer_provider)
        second = otel_llmcost.instrument(tracer_provider=telemetry.tracer_provider)
        try:
            assert first == second == ["OpenAIInstrumentor"]
            reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", chat_usage(1000, 200)))
            chat(openai_api(reply))
            assert len(telemetry.spans()) == 1  # patched once: one span
        finally:
            otel_llmcost.uninstrument()
            otel_llmcost.uninstrument()
    # OpenTelemetry warns "already instrumented" / "already uninstrumented" when asked twice: not here.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    chat(openai_api(reply))
    assert len(telemetry.spans()) == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tracer_provider": "nope"}, "instrument(tracer_provider=...) takes an OpenTelemetry TracerProvider, got str"),
        ({"meter_provider": object()}, "instrument(meter_provider=...) takes an OpenTelemetry MeterProvider, got object"),
        ({"redact": "mask"}, "instrument(redact=...) takes a function of the message list, got str"),
        ({"tracer_provder": None}, "unexpected keyword argument 'tracer_provder'"),  # a typo is not ignored
    ],
)
def test_bad_settings_are_refused_before_anything_is_instrumented(settings, message):
    with pytest.raises(TypeError) as error:
        otel_llmcost.instrument(**settings)
    assert message in str(error.value)
    assert not any(instrumentor.is_instrumented_by_opentelemetry for instrumentor in instrumentation._instrumentors())


def test_instrumenting_from_two_threads_at_once_patches_once(telemetry, openai_api, monkeypatch):
    # The race made certain: each thread's patching waits for the other's, up to a timeout. With the
    # check-then-patch not serialized, both patch (every call recorded twice, uninstrument() leaves a wrapper).
    import threading

    import openai

    from otel_llmcost.instrumentation.openai import OpenAIInstrumentor

    both = threading.Barrier(2, timeout=0.5)
    patch = OpenAIInstrumentor._patch

    def waiting_patch(self, telemetry_):  # type: ignore[no-untyped-def]
        try:
            both.wait()
        except threading.BrokenBarrierError:
            pass  # the other thread is not patching: as it should be
        return patch(self, telemetry_)

    monkeypatch.setattr(OpenAIInstrumentor, "_patch", waiting_patch)
    providers = {"tracer_provider": telemetry.tracer_provider, "meter_provider": telemetry.meter_provider}
    threads = [threading.Thread(target=lambda: OpenAIInstrumentor().instrument(**providers)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", chat_usage(1000, 200)))
        chat(openai_api(reply))
        [span] = telemetry.spans()
        assert span.attributes[sc.GEN_AI_USAGE_COST_AMOUNT] == COST
    finally:
        OpenAIInstrumentor().uninstrument()
    assert not hasattr(vars(openai._base_client.SyncAPIClient)["request"], "__wrapped__")


@pytest.mark.parametrize(
    ("disabled", "warned"),
    [("", True), ("openai", False), (" openai , requests", False), ("*", False), ("anthropic", True)],
)
def test_another_instrumentation_is_named_unless_it_is_turned_off(monkeypatch, caplog, disabled, warned):
    # Under opentelemetry-instrument (its loader module imported), an enabled openai-v2 beside ours; "*"
    # turns every instrumentation off (the program instruments in code), which the warning misread.
    import importlib.metadata
    import types

    from otel_llmcost.instrumentation import instrumentor

    other = importlib.metadata.EntryPoint(
        "openai", "opentelemetry.instrumentation.openai_v2:OpenAIInstrumentor", "opentelemetry_instrumentor"
    )
    ours = importlib.metadata.EntryPoint(
        "openai_llmcost", "otel_llmcost.instrumentation.openai:OpenAIInstrumentor", "opentelemetry_instrumentor"
    )
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [ours, other])
    monkeypatch.setitem(sys.modules, instrumentor._AUTO_INSTRUMENTATION, types.ModuleType("auto"))
    monkeypatch.setattr(instrumentor, "_warned", set())
    monkeypatch.setenv("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", disabled)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        instrumentor._warn_of_other_instrumentations("openai")
        instrumentor._warn_of_other_instrumentations("anthropic")  # not its SDK: nothing to say

    warnings = [record.getMessage() for record in caplog.records if record.name.startswith("otel_llmcost")]
    if warned:
        [warning] = warnings
        assert "opentelemetry.instrumentation.openai_v2 is enabled too" in warning
        assert "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=" in warning and "openai" in warning.rsplit("=", 1)[1]
    else:
        assert warnings == []

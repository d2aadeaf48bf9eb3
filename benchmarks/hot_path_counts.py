"""Deterministic counts of what one non-streaming chat call executes beyond the bare SDK call.

Timing on a shared VM is noisy; these counts are not. For the floor (a bare span with our
attributes), otel-llmcost (its fast path for this plain call, and its general path, taken when an
observer of calls is installed) and the hand-written prototype of instrumentation_bench.py, on the
real openai SDK and its mock transport, then the same for the anthropic SDK's Messages call:
Python bytecodes executed (``sys.settrace`` opcode events) and Python function calls entered, each
minus the bare SDK call's.

    python benchmarks/hot_path_counts.py

An older tree is counted the same way with this file copied into its ``benchmarks/`` (its
instrumentation_bench.py may have no prototype: that row is then left out).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import openai  # noqa: E402
import wrapt  # noqa: E402
from instrumentation_bench import (  # noqa: E402
    CALL,
    _client,
    _Dropped,
    _Endless,
    _our_span_attributes,
    chat_completion,
    chat_usage,
    http_client,
    http_module,
    json_reply,
)
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from otel_llmcost.instrumentation.openai import OpenAIInstrumentor  # noqa: E402


def count(call: Callable[[], object]) -> tuple[int, int]:
    """(bytecodes, Python function calls) of one ``call``, after two warm-up calls."""
    opcodes = calls = 0

    def trace(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal opcodes, calls
        if event == "call":
            calls += 1
            frame.f_trace_opcodes = True
        elif event == "opcode":
            opcodes += 1
        return trace

    call()
    call()
    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(None)
    return opcodes, calls


def main() -> None:
    # Written out rather than taken from instrumentation_bench's newer helpers (dropping_provider,
    # floor_of, COMPLETION): this file must also run when copied into an older tree.
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_Dropped()))
    tracer = tracer_provider.get_tracer("floor")
    completion = json_reply(
        chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", chat_usage(1200, 300, cached=1024))
    )
    bare, ours = _client(completion, bare=True), _client(completion)
    start, end = _our_span_attributes(lambda: ours.chat.completions.create(**CALL))

    def floor() -> object:
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=start) as span:
            result = bare.chat.completions.create(**CALL)
            span.set_attributes(end)
        return result

    variants: list[tuple[str, Callable[[], object]]] = [
        ("floor (bare span, same attributes)", floor),
        ("otel-llmcost", lambda: ours.chat.completions.create(**CALL)),
    ]
    try:
        from instrumentation_bench import _prototype
    except ImportError:
        pass
    else:
        original = vars(openai._base_client.SyncAPIClient)["request"]
        http = http_module("openai")
        wrapper = wrapt.FunctionWrapper(original, _prototype(tracer_provider))
        transport = http_client(http, _Endless(http, completion), False)
        prototype = type("_Prototype", (openai.OpenAI,), {"request": wrapper})(
            api_key="sk-bench", max_retries=0, http_client=transport
        )
        variants.append(("hand-written prototype", lambda: prototype.chat.completions.create(**CALL)))

    variants.insert(2, ("otel-llmcost, general path", _on_the_general_path(variants[1][1])))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        _print("per non-streaming chat call", lambda: bare.chat.completions.create(**CALL), variants)
    finally:
        instrumentor.uninstrument()
    _anthropic(tracer_provider)
    _per_chunk(tracer_provider)


def _per_chunk(tracer_provider: TracerProvider) -> None:
    """What one streamed chat chunk executes beyond the bare SDK's: the difference between reading a
    520-chunk and a 20-chunk stream, per chunk (the stream's start and end cancel out)."""
    from instrumentation_bench import LONG, SHORT, STREAM_CALL, chat_chunks, sse_reply

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    counted = {}
    try:
        for who in ("bare", "ours"):
            for chunks in (SHORT, LONG):
                usage = chat_usage(1200, chunks)
                reply = sse_reply(chat_chunks("gpt-4o-mini-2024-07-18", ["token "] * chunks, usage=usage))
                client = _client(reply, bare=who == "bare")
                counted[who, chunks] = count(lambda client=client: list(client.chat.completions.create(**STREAM_CALL)))
    finally:
        instrumentor.uninstrument()
    (bare_ops, bare_calls), (ours_ops, ours_calls) = (
        ((counted[who, LONG][0] - counted[who, SHORT][0]) / (LONG - SHORT),
         (counted[who, LONG][1] - counted[who, SHORT][1]) / (LONG - SHORT))
        for who in ("bare", "ours")
    )
    print("per streamed chat chunk (the slope from 20 to 520 chunks):")
    print(f"  {'bare SDK chunk':36} {bare_ops:6,.0f} bytecodes  {bare_calls:4.0f} Python calls")
    beyond = f"{ours_ops - bare_ops:6,.0f} bytecodes  {ours_calls - bare_calls:4.0f} Python calls"
    print(f"  {'otel-llmcost, beyond it':36} {beyond}")


def _print(what: str, bare: Callable[[], object], variants: list[tuple[str, Callable[[], object]]]) -> None:
    base_opcodes, base_calls = count(bare)
    print(f"beyond the bare SDK call, {what}:")
    for name, call in variants:
        opcodes, calls = count(call)
        print(f"  {name:36} {opcodes - base_opcodes:6,} bytecodes  {calls - base_calls:4} Python calls")


def _on_the_general_path(call: Callable[[], object]) -> Callable[[], object]:
    """``call`` with an observer of every LLM call installed that takes no interest in any: the
    adapters' fast paths (openai.fast_chat, anthropic.fast_messages) then leave the call to the
    general one. In a tree without fast paths this is the same path as ``call``'s."""
    from otel_llmcost.instrumentation import core

    def uninterested(request: object, span: object) -> None:
        return None

    def general() -> object:
        core.call_observers.append(uninterested)
        try:
            return call()
        finally:
            core.call_observers.remove(uninterested)

    return general


def _anthropic(tracer_provider: TracerProvider) -> None:
    """The same counts for instrumentation_bench's non-streaming Claude call (the SDK's own tracing off)."""
    import anthropic
    from instrumentation_bench import CLAUDE_CALL
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from wire import claude_message, claude_usage, text_block

    from otel_llmcost.instrumentation.anthropic import AnthropicInstrumentor

    http = http_module("anthropic")
    usage = claude_usage(1200, 300, cache_read=1024, cache_5m=200)
    reply = json_reply(claude_message("claude-haiku-4-5-20251001", [text_block("It left the depot.")], usage))
    original = vars(anthropic._base_client.SyncAPIClient)["request"]  # taken before instrumenting

    def client(cls: type) -> anthropic.Anthropic:
        transport = http_client(http, _Endless(http, reply), False)
        return cls(api_key="sk-ant-bench", max_retries=0, http_client=transport, open_telemetry=False)

    bare = client(type("_BareAnthropic", (anthropic.Anthropic,), {"request": original}))
    ours = client(anthropic.Anthropic)
    exporter = InMemorySpanExporter()
    probe = TracerProvider()
    probe.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=probe)
    ours.messages.create(**CLAUDE_CALL)
    instrumentor.uninstrument()
    attributes = dict(exporter.get_finished_spans()[-1].attributes)
    tracer = tracer_provider.get_tracer("floor")

    try:  # each attribute set when ours sets it, as instrumentation_bench's floors do
        from instrumentation_bench import split_span_attributes
    except ImportError:  # an older tree: every attribute at the end, as its Anthropic floor did
        start, end = {}, attributes
    else:
        start, end = split_span_attributes(attributes)

    def floor() -> object:
        with tracer.start_as_current_span("chat claude-haiku-4-5", kind=SpanKind.CLIENT, attributes=start) as span:
            result = bare.messages.create(**CLAUDE_CALL)
            span.set_attributes(end)
        return result

    def create() -> object:
        return ours.messages.create(**CLAUDE_CALL)

    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        _print(
            "per non-streaming Anthropic Messages call",
            lambda: bare.messages.create(**CLAUDE_CALL),
            [
                ("floor (bare span, same attributes)", floor),
                ("otel-llmcost", create),
                ("otel-llmcost, general path", _on_the_general_path(create)),
            ],
        )
    finally:
        instrumentor.uninstrument()


if __name__ == "__main__":
    main()

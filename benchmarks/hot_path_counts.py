"""Deterministic counts of what one non-streaming chat call executes beyond the bare SDK call.

Timing on a shared VM is noisy; these counts are not. For the floor (a bare span with our
attributes), otel-llmcost and the hand-written prototype of instrumentation_bench.py, on the real
openai SDK and its mock transport: Python bytecodes executed (``sys.settrace`` opcode events) and
Python function calls entered, each minus the bare SDK call's.

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

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        base_opcodes, base_calls = count(lambda: bare.chat.completions.create(**CALL))
        print("beyond the bare SDK call, per non-streaming chat call:")
        for name, call in variants:
            opcodes, calls = count(call)
            print(f"  {name:36} {opcodes - base_opcodes:6,} bytecodes  {calls - base_calls:4} Python calls")
    finally:
        instrumentor.uninstrument()


if __name__ == "__main__":
    main()

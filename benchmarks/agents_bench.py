"""What agent and tool spans cost, in CPU time, against a bare OpenTelemetry span.

Span level: ``with otel_llmcost.agent(...)``, ``with otel_llmcost.tool_call(...)`` and a call of an
``@otel_llmcost.tool`` function, each against the floor: a bare span started as current with the
same attributes ours end with (what tracing the block by hand costs).

LLM-call level (the hot path the agents module adds to): one ``core.LLMCall`` from request to
priced end, (a) before any agent was used (no observer installed), (b) after (observer installed,
call outside any run: the cost every non-agent call pays), (c) as a step of a run (step number,
request hash for retries, roll-up), (d) a step whose request resends 5 tool results (tool-result
attribution: counted once per result, priced per request).

Variants take turns batch by batch and each figure is the median per operation over all batches,
so a shared machine's drift hits every variant alike.

    python benchmarks/agents_bench.py [--batches 300] [--batch 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(REPO.parent / "shared" / "tiktoken"))

from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

import otel_llmcost
from otel_llmcost.agents import observer
from otel_llmcost.instrumentation import core
from otel_llmcost.pricing import Usage

MODEL = "gpt-4o-mini"
SYSTEM = {"role": "system", "content": "You are the support agent. Use the tools."}
RESULT = '{"order_id": "12345", "status": "shipped", "carrier": "DHL", "eta": "2026-08-03", "items": 3}'


class _Dropped(SpanExporter):
    """Ends the span pipeline without I/O: we measure recording, not exporting."""

    def export(self, spans):  # type: ignore[no-untyped-def]
        return SpanExportResult.SUCCESS


def _ended_attributes(block: Callable[[], object], exporter: list) -> dict:
    """The attributes our span ends with for ``block``, to give the floor the same work."""
    exporter.clear()
    block()
    return dict(exporter[-1].attributes)


class _Keep(SpanExporter):
    def __init__(self, kept: list) -> None:
        self.kept = kept

    def export(self, spans):  # type: ignore[no-untyped-def]
        self.kept.extend(spans)
        return SpanExportResult.SUCCESS


def _request(index: int, tool_results: int = 0) -> core.Request:
    messages = [SYSTEM, {"role": "user", "content": f"Where is order {index}?"}]
    for call in range(tool_results):
        messages.append(
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": f"call_{call}", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"call_{call}", "content": RESULT})
    body = {"model": MODEL, "messages": messages}
    return core.Request(operation="chat", provider="openai", model=MODEL, fingerprint="f00dfeedf00dfeed", body=body)


RESPONSE = core.Response(
    model="gpt-4o-mini-2024-07-18", id="chatcmpl-1", usage=Usage(input_tokens=400, output_tokens=40)
)


def measure(batches: int, batch: int) -> dict[str, float]:
    kept: list = []
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_Keep(kept)))
    telemetry = core.Telemetry(tracer_provider=provider, meter_provider=NoOpMeterProvider())
    tracer = telemetry.tracer

    @otel_llmcost.tool
    def lookup(order_id: str) -> str:
        return RESULT

    def plain_lookup(order_id: str) -> str:
        return RESULT

    agent_attributes = _ended_attributes(lambda: otel_llmcost.agent("bench").__enter__().exit(), kept)
    tool_attributes = _ended_attributes(lambda: otel_llmcost.tool_call("lookup").__enter__().exit(), kept)
    # Measure with an exporter that drops, as in the instrumentation benchmark.
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_Dropped()))
    telemetry = core.Telemetry(tracer_provider=provider, meter_provider=NoOpMeterProvider())
    tracer = telemetry.tracer

    def floor(name: str, attributes: dict, work: Callable[[], object] = lambda: None) -> Callable[[], object]:
        def block() -> object:
            with tracer.start_as_current_span(name, kind=SpanKind.INTERNAL) as span:
                result = work()
                span.set_attributes(attributes)
            return result

        return block

    def agent_block() -> None:
        with otel_llmcost.agent("bench"):
            pass

    def tool_block() -> None:
        with otel_llmcost.tool_call("lookup"):
            pass

    requests = [_request(index) for index in range(batch)]
    with_results = [_request(index, tool_results=5) for index in range(batch)]

    def llm_calls(source: list[core.Request]) -> Callable[[], None]:
        def run() -> None:
            for request in source:
                core.LLMCall(telemetry, request).end(RESPONSE)

        return run

    def in_agent(run_calls: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            with otel_llmcost.agent("bench", max_steps=10**9):
                run_calls()

        return run

    def repeated(block: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(batch):
                block()

        return run

    def without_observer(run_calls: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            saved = list(core.call_observers)
            core.call_observers.clear()
            try:
                run_calls()
            finally:
                core.call_observers.extend(saved)

        return run

    observer.install()
    variants: dict[str, Callable[[], None]] = {
        "floor_agent": repeated(floor("invoke_agent bench", agent_attributes)),
        "agent": repeated(agent_block),
        "floor_tool": repeated(floor("execute_tool lookup", tool_attributes)),
        "tool_call": in_agent(repeated(tool_block)),
        "floor_decorated": repeated(floor("execute_tool lookup", tool_attributes, lambda: plain_lookup("1"))),
        "decorated_tool": in_agent(repeated(lambda: lookup("1"))),
        "llm_no_observer": without_observer(llm_calls(requests)),
        "llm_observer_no_run": llm_calls(requests),
        "llm_step": in_agent(llm_calls(requests)),
        "llm_step_5_results": in_agent(llm_calls(with_results)),
        "llm_5_results_no_run": llm_calls(with_results),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for name, run in variants.items():  # warm caches (pricing catalog, tiktoken) outside the clock
        run()
    for _ in range(batches):
        for name, run in variants.items():
            started = time.process_time_ns()
            run()
            times[name].append((time.process_time_ns() - started) / batch / 1000)
    return {name: statistics.median(samples) for name, samples in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--batch", type=int, default=200)
    arguments = parser.parse_args()
    result = measure(arguments.batches, arguments.batch)
    rows = [
        ("agent span (`with agent(...)`, empty block)", "floor_agent", "agent"),
        ("tool span (`with tool_call(...)` inside a run)", "floor_tool", "tool_call"),
        ("`@tool` function call inside a run", "floor_decorated", "decorated_tool"),
    ]
    print("| measure | floor (bare span) | otel-llmcost | ratio |")
    print("| --- | --- | --- | --- |")
    for label, base, ours in rows:
        print(f"| {label} | {result[base]:.1f} µs | {result[ours]:.1f} µs | {result[ours] / result[base]:.2f}x |")
    print()
    print("| LLM call (core.LLMCall request → priced end) | µs per call | added |")
    print("| --- | --- | --- |")
    base = result["llm_no_observer"]
    for label, name in (
        ("no agent ever used (no observer)", "llm_no_observer"),
        ("observer installed, call outside any run", "llm_observer_no_run"),
        ("step of a run", "llm_step"),
        ("same request with 5 tool results, outside any run", "llm_5_results_no_run"),
    ):
        print(f"| {label} | {result[name]:.1f} | {result[name] - base:+.1f} µs |")
    print(
        f"| step of a run resending 5 tool results | {result['llm_step_5_results']:.1f} | "
        f"{result['llm_step_5_results'] - result['llm_5_results_no_run']:+.1f} µs vs the same call outside a run |"
    )


if __name__ == "__main__":
    main()

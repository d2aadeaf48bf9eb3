"""Collector ingest throughput against a raw columnar insert, and its memory under a 10x burst.

1. Ingest: a client process sends OTLP/HTTP protobuf requests of 512 GenAI spans (2 connections)
   to `otel-llmcost collector` (embedded chDB store in a temp dir). Timed from the first request
   to the moment /health reports every span inserted: receive, fsync to the queue, OTLP -> rows,
   insert (with the llm_calls and rollup materialized views). Also the collector process's CPU.
2. Floor: the same rows, converted to columns outside the clock, inserted with
   ``client.insert(column_oriented=True)`` into a store of the same schema, in the collector's batch
   size. Target: the collector reaches >= 50% of the floor. Rounds alternate between 1 and 2 so the
   shared machine's drift hits both; medians are reported.
3. Burst: 10x a round's requests from 20 connections at once. The collector's peak RSS (VmHWM) is
   reported against its RSS before the burst; requests beyond what memory and the queue allow get 429.
4. Conversion alone (``store.ingest.rows_from_otlp``, in this process, GC on, converted batches kept
   alive as the collector keeps them): the benchmark's 512-span request (9 attributes a span) and a
   request of spans as the OpenAI instrumentation writes them (24 attributes, values that vary, an event).

    python benchmarks/collector_bench.py [--batches 60] [--spans 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "collector"))

import httpx
from collector_harness import CollectorProcess, export_request, key_value, llm_span
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue

from otel_llmcost import semconv as sc
from otel_llmcost.store.connection import open_store
from otel_llmcost.store.ingest import COLUMNS, rows_from_otlp

COLLECTOR_BATCH_SPANS = 8192  # the collector's default --batch-spans


def _payloads(batches: int, spans: int) -> list[bytes]:
    return [
        export_request(
            [llm_span(input_tokens=1200, output_tokens=150, cost=0.00123) for _ in range(spans)]
        ).SerializeToString()
        for _ in range(batches)
    ]


def _client(url: str, batches: int, spans: int, connections: int, results) -> None:  # type: ignore[no-untyped-def]
    """Runs in its own process: builds the payloads, then sends them over ``connections`` connections."""
    payloads = _payloads(batches, spans)
    statuses: list[int] = []
    lock = threading.Lock()

    def send(share: list[bytes]) -> None:
        with httpx.Client(timeout=120) as client:
            for body in share:
                while True:
                    status = client.post(
                        url, content=body, headers={"Content-Type": "application/x-protobuf"}
                    ).status_code
                    with lock:
                        statuses.append(status)
                    if status != 429:
                        break
                    time.sleep(0.05)  # a real exporter honours Retry-After; we only need the load

    results.put(("ready", None))
    threads = [threading.Thread(target=send, args=(payloads[i::connections],)) for i in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(("sent", (time.perf_counter() - start, statuses)))


def _run_client(url: str, batches: int, spans: int, connections: int):  # type: ignore[no-untyped-def]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_client, args=(url, batches, spans, connections, results))
    process.start()
    assert results.get()[0] == "ready"
    return process, results


def _vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _wait_inserted(collector: CollectorProcess, total: int) -> tuple[float, int]:
    """When /health first shows ``total`` spans inserted, and the largest queue (bytes) seen until then."""
    deepest = 0
    while True:
        health = collector.health()
        deepest = max(deepest, health["queue"]["bytes"])
        if health["inserted"]["spans"] >= total:
            return time.perf_counter(), deepest
        time.sleep(0.02)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, all its threads (chDB's included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Round:
    spans: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.spans / self.wall

    @property
    def cpu_per_span(self) -> float:
        return self.cpu / self.spans


def ingest(collector: CollectorProcess, batches: int, spans: int) -> Round:
    """Send the batches from a client process; done when /health says every span is inserted."""
    already = collector.health()["inserted"]["spans"]
    process, results = _run_client(collector.traces_url, batches, spans, connections=2)
    cpu_before = _cpu_seconds(collector.process.pid)
    start = time.perf_counter()
    _, (_, statuses) = results.get()
    assert set(statuses) <= {200, 429}, statuses
    end, _ = _wait_inserted(collector, already + batches * spans)
    cpu = _cpu_seconds(collector.process.pid) - cpu_before
    process.join()
    return Round(batches * spans, end - start, cpu)


def raw_insert(client, batches: int, spans: int) -> Round:  # type: ignore[no-untyped-def]
    """The same rows, converted outside the clock, inserted column-oriented in the collector's batch size."""
    payloads = _payloads(batches, spans)
    per_insert = max(1, COLLECTOR_BATCH_SPANS // spans)
    groups = [b"".join(payloads[i : i + per_insert]) for i in range(0, len(payloads), per_insert)]
    prepared = [rows_from_otlp(group) for group in groups]
    cpu_before = time.process_time()
    start = time.perf_counter()
    for columns in prepared:
        client.insert(
            "otel.otel_traces",
            [columns[name] for name in COLUMNS],
            column_names=list(COLUMNS),
            column_oriented=True,
        )
    return Round(batches * spans, time.perf_counter() - start, time.process_time() - cpu_before)


def instrumented_span(rng: random.Random):  # type: ignore[no-untyped-def]
    """A span as the OpenAI instrumentation writes it for a streamed chat call: 24 attributes, an event.

    Costs are exact Decimal prices as floats (gpt-4o-mini: 0.15 / 0.075 / 0.60 USD per 1M tokens),
    as the instrumentation writes them; the time to first chunk is an arbitrary float."""
    input_tokens, output_tokens = rng.randint(50, 8000), rng.randint(5, 1500)
    cached = min(rng.choice([0, 1024, 2048]), input_tokens)
    per_million = Decimal(10**6)
    input_cost = (input_tokens - cached) * Decimal("0.15") / per_million
    cache_cost = cached * Decimal("0.075") / per_million
    output_cost = output_tokens * Decimal("0.60") / per_million
    total = float(input_cost + cache_cost + output_cost)
    span = llm_span(input_tokens=input_tokens, output_tokens=output_tokens, cost=total)
    extra = {
        sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        sc.GEN_AI_RESPONSE_ID: f"chatcmpl-{rng.getrandbits(96):x}",
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: cached,
        sc.LLMCOST_COST_INPUT: float(input_cost),
        sc.LLMCOST_COST_OUTPUT: float(output_cost),
        sc.LLMCOST_COST_CACHE_READ: float(cache_cost),
        sc.LLMCOST_FEATURE: rng.choice(["autocomplete", "search", "chat"]),
        sc.LLMCOST_CUSTOMER: f"customer-{rng.randint(1, 2000)}",
        sc.GEN_AI_REQUEST_STREAM: True,
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.7,
        sc.SERVER_ADDRESS: "api.openai.com",
        sc.SERVER_PORT: 443,
        sc.LLMCOST_PROMPT_FINGERPRINT: f"{rng.getrandbits(64):016x}",
        sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: rng.random(),
    }
    span.attributes.extend(key_value(key, value) for key, value in extra.items())
    reasons = AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="stop")]))
    span.attributes.add(key=sc.GEN_AI_RESPONSE_FINISH_REASONS, value=reasons)
    span.events.add(time_unix_nano=span.start_time_unix_nano + 1000, name="gen_ai.content.completion")
    return span


def conversion(spans: int, batches: int = 16, repeats: int = 5) -> dict[str, float]:
    """Median CPU µs per span of rows_from_otlp on 16 requests at a time (a collector batch), per request
    shape. Run before any store is open, so the process's CPU time is the conversion's alone."""
    rng = random.Random(7)
    shapes = {
        "benchmark request": _payloads(batches, spans),
        "instrumented spans": [
            export_request([instrumented_span(rng) for _ in range(spans)]).SerializeToString() for _ in range(batches)
        ],
    }
    result = {}
    for name, payloads in shapes.items():
        kept, times = [], []
        for _ in range(repeats):
            start = time.process_time()
            kept.append([rows_from_otlp(payload) for payload in payloads])
            times.append(time.process_time() - start)
            del kept[:-2]  # the collector holds a batch or two of converted rows, not all of them
        result[name] = statistics.median(times) / (batches * spans) * 1e6
    return result


@dataclass
class Burst:
    rss_before: int
    rss_peak: int
    queue_peak: int  # bytes: the backlog waits on disk, not in memory
    throttled: int  # 429 answers
    requests: int


def burst(collector: CollectorProcess, batches: int, spans: int) -> Burst:
    pid = collector.process.pid
    baseline = _vm(pid, "VmRSS")
    _reset_peak(pid)
    already = collector.health()["inserted"]["spans"]
    process, results = _run_client(collector.traces_url, batches * 10, spans, connections=20)
    _, (_, statuses) = results.get()
    assert set(statuses) <= {200, 429}, statuses
    _, deepest = _wait_inserted(collector, already + batches * 10 * spans)
    process.join()
    return Burst(baseline, _vm(pid, "VmHWM"), deepest, statuses.count(429), len(statuses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=60, help="requests per round (x10 in the burst)")
    parser.add_argument("--spans", type=int, default=512, help="spans per request")
    parser.add_argument("--rounds", type=int, default=3, help="collector and raw rounds, taken in turns")
    args = parser.parse_args()

    converted = conversion(args.spans)
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        root = Path(tmp)
        # Two stores of the same schema: the collector's (subprocess) and the floor's (this process).
        collector = CollectorProcess(
            store_url=f"chdb://{root / 'collector' / 'store'}",
            queue_dir=root / "queue",
            log_path=root / "collector.log",
        ).start()
        floor_client = open_store(f"chdb://{root / 'raw' / 'store'}")  # its own dir: the lock sits beside the store
        ingest(collector, 8, args.spans)  # warm-up: first parts, code paths
        raw_insert(floor_client, 8, args.spans)
        collected, raw = [], []
        for _ in range(args.rounds):  # in turns, so the shared machine's drift hits both alike
            collected.append(ingest(collector, args.batches, args.spans))
            raw.append(raw_insert(floor_client, args.batches, args.spans))
        floor_client.close()
        surge = burst(collector, args.batches, args.spans)
        collector.process.send_signal(signal.SIGTERM)
        collector.process.wait()

    rate = statistics.median(r.rate for r in collected)
    floor = statistics.median(r.rate for r in raw)
    cpu = statistics.median(r.cpu_per_span for r in collected)
    floor_cpu = statistics.median(r.cpu_per_span for r in raw)
    mib = 2**20
    print(f"{args.rounds} rounds of {args.batches} requests x {args.spans} spans; medians")
    print(f"collector ingest: {rate:,.0f} spans/s, {cpu * 1e6:.0f} us CPU per span (collector process)")
    print(f"raw columnar insert of the same rows: {floor:,.0f} spans/s, {floor_cpu * 1e6:.0f} us CPU per span")
    print(f"collector / raw: {rate / floor:.0%} by wall-clock rate, {floor_cpu / cpu:.0%} by CPU (target >= 50%)")
    print(
        f"10x burst ({args.batches * 10} requests, 20 connections): RSS {surge.rss_before / mib:.0f} MiB before, "
        f"peak {surge.rss_peak / mib:.0f} MiB; deepest queue on disk {surge.queue_peak / mib:.0f} MiB; "
        f"{surge.throttled} of {surge.requests} answers were 429"
    )
    for name, micros in converted.items():
        print(f"OTLP -> columns (rows_from_otlp), {name}: {micros:.1f} us CPU per span")


if __name__ == "__main__":
    main()

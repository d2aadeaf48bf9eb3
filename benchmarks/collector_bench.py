"""Collector ingest throughput against a raw columnar insert, and its memory under a 10x burst.

1. Ingest: a client process sends OTLP/HTTP protobuf requests of 512 GenAI spans (2 connections)
   to `otel-llmcost collector` (embedded chDB store in a temp dir). Timed from just before the first
   request to the collector's own record (/health ``last_insert``) of the insert that took the inserted
   count to every span: receive, fsync to the queue, OTLP -> rows, insert (with the llm_calls and rollup
   materialized views), the batch leaving the queue. Also the collector process's CPU.
2. Floor: the same rows, converted to columns outside the clock, inserted with
   ``client.insert(column_oriented=True)`` into a store of the same schema, in the collector's batch
   size. Target: the collector reaches >= 50% of the floor. Rounds alternate between 1 and 2 so the
   shared machine's drift hits both; medians are reported.
   Fairness: before every timed round of either kind, both stores are left to settle (no merge in the
   floor's store, the collector process and this one idle), so neither side's background merges run in the
   other's round; during a collector round this process only waits (one /health request per 100 ms on a
   kept-alive connection, after the client has sent everything). The CPU of each process during each
   kind of round is printed, so the load can be compared.
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
from datetime import datetime
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


def _client(url: str, batches: int, spans: int, connections: int, results, go) -> None:  # type: ignore[no-untyped-def]
    """Runs in its own process: builds the payloads, says it is ready, and when told to go sends them over
    ``connections`` connections; reports the sending time, the statuses and its own CPU while sending."""
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

    threads = [threading.Thread(target=send, args=(payloads[i::connections],)) for i in range(connections)]
    results.put(("ready", None))
    go.wait()
    cpu_before = time.process_time()
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(("sent", (time.perf_counter() - start, statuses, time.process_time() - cpu_before)))


def _run_client(url: str, batches: int, spans: int, connections: int):  # type: ignore[no-untyped-def]
    """Start the client process and wait until its payloads are built; it sends when ``go`` is set."""
    context = multiprocessing.get_context("spawn")
    results, go = context.Queue(), context.Event()
    process = context.Process(target=_client, args=(url, batches, spans, connections, results, go))
    process.start()
    assert results.get()[0] == "ready"
    return process, results, go


def _vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _health_client(collector: CollectorProcess) -> httpx.Client:
    """One kept-alive connection to /health, made once, outside the clocks."""
    return httpx.Client(base_url=f"http://127.0.0.1:{collector.http_port}", timeout=5)


def _wait_inserted(http: httpx.Client, total: int, interval: float = 0.1) -> tuple[float, int]:
    """When the collector inserted its ``total``-th span (unix time of that insert, from /health's
    ``last_insert``), and the largest queue (bytes) seen until then. Polls /health every ``interval``; the
    time comes from the collector's record, not from when the poll noticed."""
    deepest = 0
    while True:
        health = http.get("/health").json()
        deepest = max(deepest, health["queue"]["bytes"])
        if health["inserted"]["spans"] >= total:
            # No other spans are sent, so the last insert is the one that reached ``total``.
            return datetime.fromisoformat(health["last_insert"]).timestamp(), deepest
        time.sleep(interval)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, all its threads (chDB's included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _settle(
    collector: CollectorProcess, floor_client, window: float = 0.25, quiet: int = 4, limit: float = 60
) -> float:  # type: ignore[no-untyped-def]
    """Wait until neither store is working in the background: ``quiet`` windows in a row in which the
    collector process and this process (the floor's store) each used at most one clock tick of CPU, and
    then no merge running in the floor's store. The collector's store cannot be queried from here (chDB
    locks it), its process's CPU stands for it. Returns the seconds waited (``limit`` at most)."""
    tick = 1 / os.sysconf("SC_CLK_TCK")
    pid = collector.process.pid
    start = time.perf_counter()
    calm = 0
    while time.perf_counter() - start < limit:
        ours, theirs = time.process_time(), _cpu_seconds(pid)
        time.sleep(window)
        if time.process_time() - ours <= tick and _cpu_seconds(pid) - theirs <= tick:
            calm += 1
        else:
            calm = 0
        if calm >= quiet:
            if not floor_client.query("SELECT count() FROM system.merges").result_rows[0][0]:
                break
            calm = 0
    return time.perf_counter() - start


@dataclass
class Round:
    spans: int
    wall: float
    cpu: float  # the side's own CPU: the collector process, or this process for the floor
    others: dict[str, float]  # CPU of the other processes during the round
    settled: float  # seconds waited before the round for both stores to be idle
    seen_after: float = 0.0  # seconds between the last insert and this process seeing it (the CPU's window ends then)

    @property
    def rate(self) -> float:
        return self.spans / self.wall

    @property
    def cpu_per_span(self) -> float:
        return self.cpu / self.spans


def ingest(collector: CollectorProcess, http: httpx.Client, floor_client, batches: int, spans: int) -> Round:  # type: ignore[no-untyped-def]
    """Send the batches from a client process; done when the collector has inserted every span."""
    already = http.get("/health").json()["inserted"]["spans"]
    process, results, go = _run_client(collector.traces_url, batches, spans, connections=2)
    settled = _settle(collector, floor_client)
    pid = collector.process.pid
    cpu_before, ours_before = _cpu_seconds(pid), time.process_time()
    start = time.time()
    go.set()
    _, (_, statuses, client_cpu) = results.get()
    assert set(statuses) <= {200, 429}, statuses
    end, _ = _wait_inserted(http, already + batches * spans)
    others = {"benchmark": time.process_time() - ours_before, "client": client_cpu}
    cpu = _cpu_seconds(pid) - cpu_before
    seen_after = time.time() - end
    process.join()
    return Round(batches * spans, end - start, cpu, others, settled, seen_after)


def raw_insert(collector: CollectorProcess, client, batches: int, spans: int) -> Round:  # type: ignore[no-untyped-def]
    """The same rows, converted outside the clock, inserted column-oriented in the collector's batch size."""
    payloads = _payloads(batches, spans)
    per_insert = max(1, COLLECTOR_BATCH_SPANS // spans)
    groups = [b"".join(payloads[i : i + per_insert]) for i in range(0, len(payloads), per_insert)]
    prepared = [rows_from_otlp(group) for group in groups]
    settled = _settle(collector, client)
    pid = collector.process.pid
    collector_before = _cpu_seconds(pid)
    cpu_before = time.process_time()
    start = time.perf_counter()
    for columns in prepared:
        client.insert(
            "otel.otel_traces",
            [columns[name] for name in COLUMNS],
            column_names=list(COLUMNS),
            column_oriented=True,
        )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_before
    return Round(batches * spans, wall, cpu, {"collector": _cpu_seconds(pid) - collector_before}, settled)


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


def burst(collector: CollectorProcess, http: httpx.Client, batches: int, spans: int) -> Burst:
    pid = collector.process.pid
    baseline = _vm(pid, "VmRSS")
    _reset_peak(pid)
    already = http.get("/health").json()["inserted"]["spans"]
    process, results, go = _run_client(collector.traces_url, batches * 10, spans, connections=20)
    go.set()
    _, (_, statuses, _) = results.get()
    assert set(statuses) <= {200, 429}, statuses
    _, deepest = _wait_inserted(http, already + batches * 10 * spans, interval=0.02)
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
        http = _health_client(collector)
        floor_client = open_store(f"chdb://{root / 'raw' / 'store'}")  # its own dir: the lock sits beside the store
        ingest(collector, http, floor_client, 8, args.spans)  # warm-up: first parts, code paths
        raw_insert(collector, floor_client, 8, args.spans)
        collected, raw = [], []
        for number in range(1, args.rounds + 1):  # in turns, so the shared machine's drift hits both alike
            collected.append(ingest(collector, http, floor_client, args.batches, args.spans))
            raw.append(raw_insert(collector, floor_client, args.batches, args.spans))
            for name, r in (("collector", collected[-1]), ("floor", raw[-1])):
                others = ", ".join(f"{who} {cpu:.2f} s" for who, cpu in r.others.items())
                print(
                    f"round {number} {name:9}: {r.rate:7,.0f} spans/s, {r.wall:.2f} s wall, own CPU {r.cpu:.2f} s; "
                    f"others' CPU: {others}; settled {r.settled:.1f} s before"
                    + (f"; end seen {r.seen_after:.2f} s after" if name == "collector" else ""),
                    flush=True,
                )
        floor_client.close()
        surge = burst(collector, http, args.batches, args.spans)
        http.close()
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
        "CPU of the other processes per round, medians: during a collector round this benchmark process "
        f"{statistics.median(r.others['benchmark'] for r in collected):.2f} s and the client (sending) "
        f"{statistics.median(r.others['client'] for r in collected):.2f} s; during a floor round the collector "
        f"{statistics.median(r.others['collector'] for r in raw):.2f} s"
    )
    print(
        f"10x burst ({args.batches * 10} requests, 20 connections): RSS {surge.rss_before / mib:.0f} MiB before, "
        f"peak {surge.rss_peak / mib:.0f} MiB; deepest queue on disk {surge.queue_peak / mib:.0f} MiB; "
        f"{surge.throttled} of {surge.requests} answers were 429"
    )
    for name, micros in converted.items():
        print(f"OTLP -> columns (rows_from_otlp), {name}: {micros:.1f} us CPU per span")


if __name__ == "__main__":
    main()

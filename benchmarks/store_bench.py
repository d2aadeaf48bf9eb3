"""Store benchmark: cost-by-model / team / prompt from the rollups, from llm_calls and from otel_traces' Map attributes.

    python benchmarks/store_bench.py                      # 1M and 10M calls, 1M spans for the raw scan
    python benchmarks/store_bench.py --calls 1000000 --spans 200000 --runs 3

Data (generated, 30 days, realistic cardinalities): ~20 models, 12 teams, 40 features (each owned by
a team), 2000 customers (skewed), 300 prompt fingerprints (each belonging to a feature, mostly on
one model), 6 services, 2 environments. Calls are inserted straight into ``llm_calls`` (columnar,
Arrow), so the rollup views run as in production; the raw-scan side inserts OTLP-shaped spans into
``otel_traces`` (which also times ingestion through every view). Embedded store (chDB) in a
temporary directory; medians over ``--runs`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pyarrow as pa

from otel_llmcost import semconv as sc
from otel_llmcost.store.connection import connect
from otel_llmcost.store.schema import apply_schema

DAYS = 30
MODELS = [  # (model, provider, USD per 1M input, cached input, output)
    ("gpt-4o-mini-2024-07-18", "openai", "0.15", "0.075", "0.6"),
    ("gpt-4o-2024-08-06", "openai", "2.5", "1.25", "10"),
    ("gpt-4.1-2025-04-14", "openai", "2", "0.5", "8"),
    ("gpt-4.1-mini-2025-04-14", "openai", "0.4", "0.1", "1.6"),
    ("gpt-4.1-nano-2025-04-14", "openai", "0.1", "0.025", "0.4"),
    ("gpt-5-2025-08-07", "openai", "1.25", "0.125", "10"),
    ("gpt-5-mini-2025-08-07", "openai", "0.25", "0.025", "2"),
    ("gpt-5-nano-2025-08-07", "openai", "0.05", "0.005", "0.4"),
    ("o3-2025-04-16", "openai", "2", "0.5", "8"),
    ("o4-mini-2025-04-16", "openai", "1.1", "0.275", "4.4"),
    ("text-embedding-3-small", "openai", "0.02", "0.02", "0"),
    ("claude-sonnet-4-5-20250929", "anthropic", "3", "0.3", "15"),
    ("claude-haiku-4-5-20251001", "anthropic", "1", "0.1", "5"),
    ("claude-opus-4-1-20250805", "anthropic", "15", "1.5", "75"),
    ("claude-3-5-haiku-20241022", "anthropic", "0.8", "0.08", "4"),
    ("gemini-2.5-pro", "gcp.gemini", "1.25", "0.125", "10"),
    ("gemini-2.5-flash", "gcp.gemini", "0.3", "0.03", "2.5"),
    ("gpt-4o-mini", "azure.ai.openai", "0.165", "0.083", "0.66"),
    ("mistral-large-latest", "mistral_ai", "2", "2", "6"),
    ("deepseek-chat", "deepseek", "0.27", "0.07", "1.1"),
]
TEAMS = [f"team-{i:02d}" for i in range(12)]
FEATURES = [f"feature-{i:02d}" for i in range(40)]
CUSTOMERS = [f"customer-{i:04d}" for i in range(2000)]
PROMPTS = [f"{i:016x}" for i in range(0x5A17_0000, 0x5A17_0000 + 300)]
SERVICES = ["checkout", "search", "support-bot", "docs-qa", "ingest", "agent"]
ENVIRONMENTS = ["prod", "staging"]
PICO = 10**12  # cost in 1e-12 USD units: the store's Decimal(18, 12) scale


def generate(n: int, rng: np.random.Generator, start_ns: int, end_ns: int) -> dict[str, np.ndarray]:
    """Index arrays and numbers for ``n`` calls made between ``start_ns`` and ``end_ns``."""
    prompt = rng.integers(0, len(PROMPTS), n)
    feature = prompt % len(FEATURES)
    model = np.where(rng.random(n) < 0.8, prompt % len(MODELS), rng.integers(0, len(MODELS), n))
    customer = np.minimum(rng.zipf(1.3, n) - 1, len(CUSTOMERS) - 1)
    input_tokens = rng.lognormal(7.2, 1.0, n).astype(np.uint64) + 1
    cached = np.where(rng.random(n) < 0.5, (input_tokens * rng.uniform(0, 0.9, n)).astype(np.uint64), 0).astype(
        np.uint64
    )
    output_tokens = rng.lognormal(5.5, 1.0, n).astype(np.uint64) + 1
    prices = np.array([[int(Decimal(p) * 10**6) for p in row[2:]] for row in MODELS], dtype=np.int64)  # pico-USD/token
    cost = (
        (input_tokens - cached).astype(np.int64) * prices[model, 0]
        + cached.astype(np.int64) * prices[model, 1]
        + output_tokens.astype(np.int64) * prices[model, 2]
    )
    return {
        "time": np.sort(rng.integers(start_ns, max(end_ns, start_ns + 1), n)),
        "model": model,
        "team": feature % len(TEAMS),
        "feature": feature,
        "customer": customer,
        "prompt": prompt,
        "service": feature % len(SERVICES),
        "environment": (rng.random(n) < 0.1).astype(np.int64),
        "input": input_tokens,
        "cached": cached,
        "output": output_tokens,
        "cost": cost,
        "error": (rng.random(n) < 0.02).astype(np.uint8),
        "duration": rng.lognormal(6.5, 0.8, n),
    }


def _strings(values: list[str], index: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), pa.array(values)).cast(pa.string())


def _decimal(pico: np.ndarray) -> pa.Array:
    """int64 pico-USD as Arrow decimal128(18, 12) without Python objects (little-endian 128-bit words)."""
    words = np.empty((len(pico), 2), dtype=np.int64)
    words[:, 0] = pico
    words[:, 1] = np.where(pico < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 12), len(pico), [None, pa.py_buffer(words.tobytes())])


def calls_table(data: dict[str, np.ndarray]) -> pa.Table:
    models = [row[0] for row in MODELS]
    return pa.table(
        {
            "Timestamp": pa.array(data["time"], pa.timestamp("ns")),
            "ServiceName": _strings(SERVICES, data["service"]),
            "Environment": _strings(ENVIRONMENTS, data["environment"]),
            "Provider": _strings([row[1] for row in MODELS], data["model"]),
            "Operation": _strings(["chat"], np.zeros(len(data["model"]), dtype=np.int64)),
            "RequestModel": _strings(models, data["model"]),
            "Model": _strings(models, data["model"]),
            "Team": _strings(TEAMS, data["team"]),
            "Feature": _strings(FEATURES, data["feature"]),
            "Customer": _strings(CUSTOMERS, data["customer"]),
            "PromptFingerprint": _strings(PROMPTS, data["prompt"]),
            "InputTokens": pa.array(data["input"]),
            "CacheReadTokens": pa.array(data["cached"]),
            "OutputTokens": pa.array(data["output"]),
            "CostUSD": _decimal(data["cost"]),
            "CostSource": _strings(["local"], np.zeros(len(data["model"]), dtype=np.int64)),
            "IsError": pa.array(data["error"]),
            "DurationMs": pa.array(data["duration"]),
        }
    )


def _interleave(columns: list[pa.Array]) -> pa.Array:
    """Row-major flattening of equal-length columns: row 0's values, then row 1's..."""
    n, k = len(columns[0]), len(columns)
    order = (np.arange(n)[:, None] + np.arange(k)[None, :] * n).ravel()
    return pa.concat_arrays(columns).take(pa.array(order))


def _map(names: list[str], values: list[pa.Array]) -> pa.Array:
    n, k = len(values[0]), len(names)
    offsets = pa.array(np.arange(0, (n + 1) * k, k, dtype=np.int32))
    keys = pa.array(np.tile(np.array(names, dtype=object), n), pa.string())
    return pa.MapArray.from_arrays(offsets, keys, _interleave(values))


def _random_hex(n: int, size: int) -> pa.Array:
    """``n`` random ids of ``size`` bytes as lowercase hex strings, built without a Python loop."""
    data = os.urandom(n * size).hex().encode("ascii")
    offsets = np.arange(0, n * size * 2 + 1, size * 2, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def spans_table(data: dict[str, np.ndarray]) -> pa.Table:
    """The same calls as OTLP spans the way the clickhouseexporter stores them (every attribute a string)."""
    n = len(data["model"])
    as_text = lambda array: pa.array(array).cast(pa.string())
    cost = pa.array((data["cost"] / PICO).astype(np.float64)).cast(pa.string())
    models = [row[0] for row in MODELS]
    attributes = {
        sc.GEN_AI_OPERATION_NAME: _strings(["chat"], np.zeros(n, dtype=np.int64)),
        sc.GEN_AI_PROVIDER_NAME: _strings([row[1] for row in MODELS], data["model"]),
        sc.GEN_AI_REQUEST_MODEL: _strings(models, data["model"]),
        sc.GEN_AI_RESPONSE_MODEL: _strings(models, data["model"]),
        sc.GEN_AI_USAGE_INPUT_TOKENS: as_text(data["input"]),
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: as_text(data["cached"]),
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: as_text(data["output"]),
        sc.GEN_AI_USAGE_COST_AMOUNT: cost,
        sc.GEN_AI_USAGE_COST_CURRENCY: _strings(["USD"], np.zeros(n, dtype=np.int64)),
        sc.GEN_AI_USAGE_COST_SOURCE: _strings(["local"], np.zeros(n, dtype=np.int64)),
        sc.LLMCOST_TEAM: _strings(TEAMS, data["team"]),
        sc.LLMCOST_FEATURE: _strings(FEATURES, data["feature"]),
        sc.LLMCOST_CUSTOMER: _strings(CUSTOMERS, data["customer"]),
        sc.LLMCOST_PROMPT_FINGERPRINT: _strings(PROMPTS, data["prompt"]),
        sc.LLMCOST_PRICING_ENTRY: _strings(models, data["model"]),
        sc.SERVER_ADDRESS: _strings(["api.openai.com"], np.zeros(n, dtype=np.int64)),
        sc.GEN_AI_RESPONSE_FINISH_REASONS: _strings(['["stop"]'], np.zeros(n, dtype=np.int64)),
        sc.GEN_AI_RESPONSE_ID: _random_hex(n, 12),
    }
    services = _strings(SERVICES, data["service"])
    return pa.table(
        {
            "Timestamp": pa.array(data["time"], pa.timestamp("ns")),
            "TraceId": _random_hex(n, 16),
            "SpanId": _random_hex(n, 8),
            "SpanName": pa.compute.binary_join_element_wise("chat", _strings(models, data["model"]), " "),
            "SpanKind": _strings(["Client"], np.zeros(n, dtype=np.int64)),
            "ServiceName": services,
            "ResourceAttributes": _map(
                [sc.SERVICE_NAME, sc.DEPLOYMENT_ENVIRONMENT_NAME],
                [services, _strings(ENVIRONMENTS, data["environment"])],
            ),
            "ScopeName": _strings(["otel_llmcost.openai"], np.zeros(n, dtype=np.int64)),
            "SpanAttributes": _map(list(attributes), list(attributes.values())),
            "Duration": pa.array((data["duration"] * 1e6).astype(np.uint64)),
            "StatusCode": _strings(["Unset", "Error"], data["error"].astype(np.int64)),
        }
    )


def insert_in_chunks(
    client, table: str, rows: int, chunk: int, build: Callable[[dict[str, np.ndarray]], pa.Table]
) -> float:
    """Insert ``rows`` generated calls in time order, ``chunk`` at a time, as a live system would over 30 days."""
    rng = np.random.default_rng(7)
    end_ns = time.time_ns()
    start_ns = end_ns - DAYS * 86_400 * 10**9
    step = (end_ns - start_ns) / rows
    elapsed = 0.0
    for offset in range(0, rows, chunk):
        size = min(chunk, rows - offset)
        table_data = build(generate(size, rng, int(start_ns + offset * step), int(start_ns + (offset + size) * step)))
        started = time.perf_counter()  # generation stays out of the timing
        client.insert_arrow(table, table_data)
        elapsed += time.perf_counter() - started
    return elapsed


def median_seconds(client, sql: str, runs: int) -> float:
    client.query(sql)  # warm-up
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.query(sql)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def queries(source: str) -> dict[str, str]:
    """The three questions, asked of a rollup (``llm_cost_1h``), of ``llm_calls`` or of ``otel_traces``."""
    window = f"now() - INTERVAL {DAYS} DAY"
    table = source.rpartition(".")[2]
    if table == "otel_traces":
        attr = "SpanAttributes['{}']".format
        cost = f"sum(toDecimal128OrZero({attr(sc.GEN_AI_USAGE_COST_AMOUNT)}, 12))"
        where = f"Timestamp >= {window} AND mapContains(SpanAttributes, '{sc.GEN_AI_USAGE_INPUT_TOKENS}')"
        dims = {
            "model": attr(sc.GEN_AI_RESPONSE_MODEL),
            "team": attr(sc.LLMCOST_TEAM),
            "prompt": attr(sc.LLMCOST_PROMPT_FINGERPRINT),
        }
    else:
        cost, time_column = "sum(CostUSD)", "Bucket" if table.startswith("llm_cost") else "Timestamp"
        where = f"{time_column} >= {window}"
        dims = {"model": "Model", "team": "Team", "prompt": "PromptFingerprint"}
    return {
        name: f"SELECT {dim} AS key, {cost} AS cost FROM {source} WHERE {where} GROUP BY key ORDER BY cost DESC LIMIT 20"
        for name, dim in dims.items()
    }


def table_sizes(client, database: str) -> dict[str, tuple[int, int]]:
    result = client.query(
        "SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active AND database = {db:String} GROUP BY table",
        parameters={"db": database},
    ).result_rows
    return {table: (rows, size) for table, rows, size in result}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="1000000,10000000", help="comma-separated llm_calls sizes")
    parser.add_argument("--spans", type=int, default=1_000_000, help="spans for the otel_traces raw scan")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=500_000)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="otel-llmcost-bench-")
    client = connect(f"chdb://{directory}/chdb")
    results: list[tuple[str, int, str, float]] = []
    try:
        for size in [int(value) for value in args.calls.split(",")]:
            database = f"bench_{size}"
            apply_schema(client, database=database)
            seconds = insert_in_chunks(client, f"{database}.llm_calls", size, args.chunk, calls_table)
            client.command(f"OPTIMIZE TABLE {database}.llm_cost_1h FINAL")  # as background merges would, eventually
            print(f"{size:>10,} calls into llm_calls (+ rollup views): {seconds:.1f} s ({size / seconds:,.0f} rows/s)")
            for source in ("llm_cost_1h", "llm_calls"):
                for name, sql in queries(f"{database}.{source}").items():
                    results.append((source, size, name, median_seconds(client, sql, args.runs)))
            for table, (rows, size_bytes) in sorted(table_sizes(client, database).items()):
                print(f"    {table:<14} {rows:>12,} rows {size_bytes / 2**20:>9.1f} MiB on disk")
        if args.spans:
            database = "bench_spans"
            apply_schema(client, database=database)
            seconds = insert_in_chunks(
                client, f"{database}.otel_traces", args.spans, min(args.chunk, 100_000), spans_table
            )
            print(
                f"{args.spans:>10,} spans into otel_traces (+ llm_calls, rollups): {seconds:.1f} s ({args.spans / seconds:,.0f} spans/s)"
            )
            for name, sql in queries(f"{database}.otel_traces").items():
                results.append(("otel_traces", args.spans, name, median_seconds(client, sql, args.runs)))
            for table, (rows, size_bytes) in sorted(table_sizes(client, database).items()):
                print(f"    {table:<14} {rows:>12,} rows {size_bytes / 2**20:>9.1f} MiB on disk")
    finally:
        client.close()
        shutil.rmtree(directory, ignore_errors=True)
    print(f"\nmedian of {args.runs} runs (after a warm-up), seconds")
    print("| source | rows | cost by model | by team | by prompt (top 20) |")
    print("| --- | --- | --- | --- | --- |")
    for source, size in dict.fromkeys((source, size) for source, size, _, _ in results):
        timings = {name: seconds for s, n, name, seconds in results if (s, n) == (source, size)}
        print(f"| {source} | {size:,} | {timings['model']:.3f} | {timings['team']:.3f} | {timings['prompt']:.3f} |")
    print(f"\npeak RSS of the process (chDB runs in it): {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()

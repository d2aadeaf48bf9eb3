"""What the prompt fingerprint costs the caller when a system prompt is new (not in its cache).

A template whose system prompt carries per-request data (a date, a name, retrieved documents) is new on
every call: masking its volatile parts and hashing it runs on the caller's thread before the request
is sent. Median CPU time per call over fresh prompts of each size:

    python benchmarks/fingerprint_bench.py [--calls 50]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from otel_llmcost.instrumentation.fingerprint import prompt_fingerprint  # noqa: E402

WORDS = (
    "the parcel left the depot on Monday July 24 2026 at 10:30 AM order 12345 customer support answer briefly "
    "policy returns within thirty days refund shipping label tracking number"
).split()
SIZES = (1_000, 4_000, 47_000, 1_000_000)  # characters


def prompt(size: int, rng: random.Random) -> str:
    words = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def measure(calls: int) -> dict[int, float]:
    rng = random.Random(7)
    result = {}
    for size in SIZES:
        texts = [prompt(size, rng) + f" request {index}" for index in range(calls)]  # each one new
        times = []
        for text in texts:
            started = time.process_time_ns()
            prompt_fingerprint(text, (), ("system:text", "user:text"))
            times.append(time.process_time_ns() - started)
        result[size] = statistics.median(times) / 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="new prompts per size")
    args = parser.parse_args()
    print(f"prompt fingerprint of a new system prompt, median of {args.calls} prompts per size, CPU")
    for size, milliseconds in measure(args.calls).items():
        print(f"  {size:>9,} characters  {milliseconds:8.3f} ms")


if __name__ == "__main__":
    main()

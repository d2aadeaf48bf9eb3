"""What the real-SDK per-chunk slope of instrumentation_bench.py holds: our chunk reading, or noise.

On the real openai SDK (110-200 us of CPU per chunk here) the slope between a 20- and a 520-chunk
stream moves by several us from run to run. This times, in one process and taking turns stream by
stream, the bare SDK and two instrumented variants: ours as shipped, and ours with the chat stream
state's ``add`` replaced by one that reads nothing (the generator, the hooks and the span kept). What
the real ``add`` adds over the control is the chunk reading's cost on the SDK's cold caches.

    python benchmarks/chunk_control.py [--streams 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from instrumentation_bench import (  # noqa: E402
    LONG,
    SHORT,
    STREAM_CALL,
    OpenAIInstrumentor,
    _added,
    _client,
    _timed,
    chat_chunks,
    chat_usage,
    dropping_provider,
    sse_reply,
)

from otel_llmcost.instrumentation.openai import chat  # noqa: E402


def _reads_nothing(self: chat.ChatStream, chunk: object) -> bool:
    return True


def measure(streams: int) -> dict[str, float]:
    """Per-chunk CPU beyond the bare SDK's, in us, for ``ours`` and the ``control``."""
    replies = {
        count: sse_reply(chat_chunks("gpt-4o-mini-2024-07-18", ["token "] * count, usage=chat_usage(1200, count)))
        for count in (SHORT, LONG)
    }
    bare = {count: _client(reply, bare=True) for count, reply in replies.items()}
    ours = {count: _client(reply) for count, reply in replies.items()}
    adds = {"bare": None, "ours": chat.ChatStream.add, "control": _reads_nothing}
    times: dict[str, list[int]] = {f"{who} {count}": [] for who in adds for count in (SHORT, LONG)}

    def read(who: str, count: int) -> Callable[[], None]:
        def run() -> None:
            if adds[who] is not None:
                chat.ChatStream.add = adds[who]  # type: ignore[method-assign]
            stream = (bare if who == "bare" else ours)[count].chat.completions.create(**STREAM_CALL)
            started = time.process_time_ns()
            for _ in stream:
                pass
            times[f"{who} {count}"].append(time.process_time_ns() - started)

        return run

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=dropping_provider())
    real_add = chat.ChatStream.add
    try:
        _timed({name: read(name.split()[0], int(name.split()[1])) for name in times}, streams)
    finally:
        chat.ChatStream.add = real_add  # type: ignore[method-assign]
        instrumentor.uninstrument()
    result = {}
    for who in ("ours", "control"):
        long = _added(times, f"{who} {LONG}", f"bare {LONG}", block=10)
        short = _added(times, f"{who} {SHORT}", f"bare {SHORT}", block=10)
        result[who] = statistics.median((a - b) / (LONG - SHORT) for a, b in zip(long, short, strict=True))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=100, help="streams per variant and length")
    args = parser.parse_args()
    result = measure(args.streams)
    print(f"per streamed chunk beyond the bare SDK's, {args.streams} streams per variant, medians:")
    print(f"  otel-llmcost                                  {result['ours']:8.2f} us")
    print(f"  control (chunk state reads nothing)           {result['control']:8.2f} us")


if __name__ == "__main__":
    main()

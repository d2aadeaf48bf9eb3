"""What one streamed chunk costs on the real openai SDK: our chunk reading timed in place, and the slope.

On the real openai SDK (100-200 us of CPU per chunk here) the slope between a 20- and a 520-chunk
stream moves by several us from run to run: it cannot resolve a 2 us budget. Two measures, in one
process, the variants taking turns stream by stream:

- In place: the chat stream state's ``add`` timed around each call (``perf_counter_ns``) while the
  real SDK streams, so with the caches as the SDK leaves them; minus the same timing around an
  ``add`` that reads nothing (the timer's own cost). Medians over every chunk.
- The slope beyond the bare SDK, for ours as shipped and for the control whose ``add`` reads
  nothing (the generator, the hooks and the span kept): what the control adds is the cost of the
  stream's wrapping, per chunk; what ours adds beyond the control is the chunk reading, noisily.

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


def in_place(streams: int) -> dict[str, float]:
    """The median time inside ``ChatStream.add`` per chunk, in us, as shipped (``ours``) and reading
    nothing (``control``), timed around each call while the real SDK streams ``LONG`` chunks."""
    reply = sse_reply(chat_chunks("gpt-4o-mini-2024-07-18", ["token "] * LONG, usage=chat_usage(1200, LONG)))
    client = _client(reply)
    clock = time.perf_counter_ns
    samples: dict[str, list[int]] = {"ours": [], "control": []}

    def timed(add: Callable[[chat.ChatStream, object], bool], into: list[int]) -> Callable[..., bool]:
        def add_timed(self: chat.ChatStream, chunk: object) -> bool:
            started = clock()
            shown = add(self, chunk)
            into.append(clock() - started)
            return shown

        return add_timed

    real_add = chat.ChatStream.add
    adds = {"ours": timed(real_add, samples["ours"]), "control": timed(_reads_nothing, samples["control"])}
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=dropping_provider())
    try:
        for _ in range(streams):
            for add in adds.values():
                chat.ChatStream.add = add  # type: ignore[method-assign]
                for _ in client.chat.completions.create(**STREAM_CALL):
                    pass
    finally:
        chat.ChatStream.add = real_add  # type: ignore[method-assign]
        instrumentor.uninstrument()
    return {who: statistics.median(times) / 1000 for who, times in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=100, help="streams per variant and length")
    args = parser.parse_args()
    placed = in_place(max(args.streams // 5, 1))
    print(f"our chunk reading timed in place, {LONG}-chunk streams, median per chunk:")
    print(f"  otel-llmcost, minus the timer's cost          {placed['ours'] - placed['control']:8.2f} us")
    print(f"  (the timer alone: {placed['control']:.2f} us)")
    result = measure(args.streams)
    print(f"per streamed chunk beyond the bare SDK's (slope), {args.streams} streams per variant, medians:")
    print(f"  otel-llmcost                                  {result['ours']:8.2f} us")
    print(f"  control (chunk state reads nothing)           {result['control']:8.2f} us")


if __name__ == "__main__":
    main()

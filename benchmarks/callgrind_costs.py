"""A deterministic model of what one non-streaming chat call costs beyond the bare SDK call.

instrumentation_bench.py times calls on a noisy VM; hot_path_counts.py counts Python bytecodes, which
weigh a cold cache miss like a warm step. This runs each variant (the bare SDK call, the floor,
otel-llmcost) in its own process under valgrind's callgrind with cache and branch simulation,
collecting only the variant's calls, each made right after a bare SDK call (the cold state the
benchmark times), and prices the events with a simple cost model:

    cycles = instructions + 10 x L1 misses + 40 x misses of a 1 MiB last level + 20 x mispredicted branches

Two identical runs differ by about 0.03x in the ratio (the SDK's requests carry random ids). The
model charges cold code less than this VM does: read it for the direction of a change, not as the
benchmark's figure. Needs valgrind (Debian: ``apt-get install valgrind``); about 7 minutes on a 2-core machine.

    python benchmarks/callgrind_costs.py [--calls 100]
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

VARIANTS = ("bare", "floor", "ours")
# Everything the variant's call runs, and nothing else, runs inside this C function (see _run).
COLLECT_INSIDE = "functools_reduce"


def _model(events: dict[str, float]) -> float:
    misses = events["I1mr"] + events["D1mr"] + events["D1mw"]
    last_level = events["ILmr"] + events["DLmr"] + events["DLmw"]
    return events["Ir"] + 10 * misses + 40 * last_level + 20 * (events["Bcm"] + events["Bim"])


def _run(variant: str, calls: int) -> None:
    """In the child process: ``calls`` rounds of a bare SDK call, then the variant's call inside
    ``functools.reduce``, the only place callgrind collects."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gc

    import instrumentation_bench as bench

    from otel_llmcost.instrumentation.openai import OpenAIInstrumentor

    tracer_provider = bench.dropping_provider()
    reply = bench.json_reply(bench.COMPLETION)
    bare, ours = bench._client(reply, bare=True), bench._client(reply)
    start, end = bench._our_span_attributes(lambda: ours.chat.completions.create(**bench.CALL))
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)

    def chat(client):  # type: ignore[no-untyped-def]
        return lambda: client.chat.completions.create(**bench.CALL)

    variants = {
        "bare": chat(bare),
        "floor": bench.floor_of(tracer_provider.get_tracer("floor"), chat(bare), start, end),
        "ours": chat(ours),
    }
    timed, before = variants[variant], variants["bare"]
    for _ in range(5):
        before()
        timed()
    gc.disable()  # a collection lands in whichever variant happens to cross the threshold
    for _ in range(calls):
        before()
        functools.reduce(lambda _, call: call(), (timed,), None)


def _events(variant: str, calls: int, directory: str) -> dict[str, int]:
    out = os.path.join(directory, f"callgrind.{variant}")
    command = [
        *("setarch", "x86_64", "-R"),  # the same addresses every run
        "valgrind",
        "--tool=callgrind",
        "--cache-sim=yes",
        "--branch-sim=yes",
        "--LL=1048576,16,64",
        "--collect-atstart=no",
        f"--toggle-collect={COLLECT_INSIDE}",
        f"--callgrind-out-file={out}",
        *(sys.executable, __file__, "--child", variant, "--calls", str(calls)),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"callgrind failed for {variant}:\n{completed.stderr[-2000:]}")
    names: list[str] = []
    for line in Path(out).read_text().splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith(("summary:", "totals:")):
            return dict(zip(names, map(int, line.split()[1:]), strict=True))
    raise SystemExit(f"no totals in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="calls of each variant")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        _run(arguments.child, arguments.calls)
        return
    missing = [tool for tool in ("valgrind", "setarch") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"{' and '.join(missing)} not found: install valgrind (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as directory, ThreadPoolExecutor(2) as pool:
        found = dict(
            zip(VARIANTS, pool.map(lambda name: _events(name, arguments.calls, directory), VARIANTS), strict=True)
        )
    per_call = {
        name: {event: (found[name][event] - found["bare"][event]) / arguments.calls for event in found[name]}
        for name in ("floor", "ours")
    }
    print(f"callgrind, {arguments.calls} calls per variant, per call beyond the bare SDK call:")
    for name in ("floor", "ours"):
        events = per_call[name]
        shown = ", ".join(f"{event} {value:,.0f}" for event, value in events.items() if event in ("Ir", "D1mr", "Bim"))
        print(f"  {name:5s}  modelled {_model(events):>9,.0f} cycles  ({shown})")
    floor, ours = per_call["floor"], per_call["ours"]
    print(f"ours / floor: {_model(ours) / _model(floor):.2f}x modelled, {ours['Ir'] / floor['Ir']:.2f}x instructions")


if __name__ == "__main__":
    main()

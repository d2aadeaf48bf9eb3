"""The benchmarks still run: they reach into the instrumentation's internals, so a change there can
break one without any other test noticing (a stand-in call once lacked LLMCall.end's new argument).
Only that they run and print every figure is checked here, never a figure's size: timing belongs in
BENCHMARKS.md, measured on an idle machine, not in tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
NUMBER = r"-?\d[\d,]*(?:\.\d+)?"


def _run(script: str, *arguments: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_instrumentation_bench_prints_every_figure() -> None:
    out = _run("instrumentation_bench.py", "--calls", "200", "--streams", "20")
    ratios = re.findall(rf"= ({NUMBER})x the floor", out)
    assert len(ratios) == 4, out  # chat, chat with metrics, request level, Anthropic
    # 200 calls are four blocks of 50: the per-call rows give their run's quarters
    quartered = re.findall(rf"= ({NUMBER})x the floor \((?:target <= 1.5x; )?quarters ({NUMBER})-({NUMBER})\)", out)
    assert len(quartered) == 3, out  # chat, chat with metrics, Anthropic
    for label in (
        "per streamed chunk, beyond the floor",
        "first chunk, extra wall time",
        "per streamed chunk (the floor adds none)",
        "our work before the request is sent",
        "per streamed event, beyond the floor",
    ):
        assert re.search(rf"{re.escape(label)}\s+{NUMBER} us", out), (label, out)
    assert re.search(rf"otel-llmcost {NUMBER}x the floor, hand-written {NUMBER}x", out), out


_RATIO_CHECK = """
from instrumentation_bench import as_ratio, ratio_of
added = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 100.0]  # a ninth block: in the whole, in no quarter
ratio, quarters = ratio_of(added, [2.0] * 9)
assert (ratio, quarters) == (2.5, [0.75, 1.75, 2.75, 3.75]), (ratio, quarters)
assert as_ratio(ratio, quarters, "target <= 1.5x") == "2.50x the floor (target <= 1.5x; quarters 0.75-3.75)"
assert ratio_of([3.0, 1.0, 2.0], [1.0] * 3) == (2.0, [])  # fewer than four blocks: no quarters
assert as_ratio(2.0, []) == "2.00x the floor"
print("ok")
"""


def test_a_per_call_ratio_is_the_blocks_median_with_each_quarters_beside_it() -> None:
    # in its own process, as the benchmark runs (it puts the instrumentation tests' helpers on sys.path)
    completed = subprocess.run(
        [sys.executable, "-c", _RATIO_CHECK], cwd=BENCHMARKS, capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.stdout.strip() == "ok", completed.stderr[-3000:]


def test_hot_path_counts_counts_both_sdks() -> None:
    out = _run("hot_path_counts.py")
    rows = re.findall(rf"^\s+(.+?)\s+({NUMBER}) bytecodes\s+({NUMBER}) Python calls$", out, re.MULTILINE)
    names = [name for name, _, _ in rows]
    assert names.count("otel-llmcost") == 2 and names.count("floor (bare span, same attributes)") == 2, out
    # Our call does more than the bare span: a count of 0 or less would mean the instrumentation did not run.
    ours = [int(count.replace(",", "")) for name, count, _ in rows if name == "otel-llmcost"]
    floors = [int(count.replace(",", "")) for name, count, _ in rows if name.startswith("floor")]
    assert all(mine > floor > 0 for mine, floor in zip(ours, floors, strict=True)), out


def test_hot_path_counts_counts_a_streamed_chunk() -> None:
    out = _run("hot_path_counts.py")
    beyond = re.search(rf"otel-llmcost, beyond it\s+({NUMBER}) bytecodes", out)
    assert beyond and int(beyond.group(1).replace(",", "")) > 0, out  # 0 or less: the chunk path did not run


def test_chunk_control_prints_both_variants() -> None:
    out = _run("chunk_control.py", "--streams", "10")
    for label in ("otel-llmcost", "control (chunk state reads nothing)", "otel-llmcost, minus the timer's cost"):
        assert re.search(rf"{re.escape(label)}\s+{NUMBER} us", out), (label, out)
    in_place = re.search(rf"minus the timer's cost\s+({NUMBER}) us", out)
    assert float(in_place.group(1)) > 0, out  # 0 or less: the timed add did not read the chunks


def test_fingerprint_bench_prints_every_size() -> None:
    out = _run("fingerprint_bench.py", "--calls", "2")
    assert len(re.findall(rf"characters\s+{NUMBER} ms", out)) == 4, out

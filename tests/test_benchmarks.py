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
    # 200 calls are four blocks of 50: the per-call rows give their quarters, which bound the whole run's median
    quartered = re.findall(rf"= ({NUMBER})x the floor \((?:target <= 1.5x; )?quarters ({NUMBER})-({NUMBER})\)", out)
    assert len(quartered) == 3, out  # chat, chat with metrics, Anthropic
    assert all(float(low) <= float(ratio) <= float(high) for ratio, low, high in quartered), out
    for label in (
        "per streamed chunk, beyond the floor",
        "first chunk, extra wall time",
        "per streamed chunk (the floor adds none)",
        "our work before the request is sent",
        "per streamed event, beyond the floor",
    ):
        assert re.search(rf"{re.escape(label)}\s+{NUMBER} us", out), (label, out)
    assert re.search(rf"otel-llmcost {NUMBER}x the floor, hand-written {NUMBER}x", out), out


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

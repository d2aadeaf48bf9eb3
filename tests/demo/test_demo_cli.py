"""`otel-llmcost demo`, run as a user runs it (a subprocess of this interpreter), then the commands
it tells the user to run next: `alerts check` fires on the spike and is quiet without it, and
`report` finds the spiking prompt under the fingerprint the demo named."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CALLS = "80"  # small: the spike's backfill and runaway run are there at any size


def otel_llmcost(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("OTEL_LLMCOST_CLICKHOUSE_URL", None)
    if data_dir is not None:
        env["OTEL_LLMCOST_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "otel_llmcost.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def spiked(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    data_dir = tmp_path_factory.mktemp("demo") / "spiked"
    return data_dir, otel_llmcost("demo", "--calls", CALLS, "--data-dir", str(data_dir))


def test_demo_names_the_fingerprint_feature_and_traces_behind_the_spike(spiked):
    data_dir, run = spiked
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert re.search(r"FIRING\s+feature_tokens_spike", out)
    assert re.search(r"FIRING\s+runaway_agent", out)
    spike = re.search(r"The spike: prompt ticket-summary-v3 \(fingerprint ([0-9a-f]{16})\), feature summarize", out)
    assert spike, out

    # The report reads the same store and puts that fingerprint on the prompt's row.
    # The whole simulated day: which hours hold v2 summaries depends on the time of day the test runs at.
    report = otel_llmcost("report", "--since", "24h", "--by", "prompt", "--top", "50", data_dir=data_dir)
    assert report.returncode == 0, report.stdout + report.stderr
    rows = [line for line in report.stdout.splitlines() if "ticket-summary-v3" in line]
    assert len(rows) == 1 and spike.group(1) in rows[0], report.stdout
    earlier = [line for line in report.stdout.splitlines() if "ticket-summary-v2" in line]
    assert earlier and spike.group(1) not in earlier[0]  # the previous version is another prompt

    traces = re.search(r"Its most expensive traces: ([0-9a-f, ]+)", out).group(1).split(", ")
    assert len(traces) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", trace) for trace in traces)

    page = (data_dir / "report.html").read_text()
    assert "<svg" in page and "ticket-summary-v3" in page and "<script" not in page


def alerts_check_command(out: str) -> list[str]:
    """The `alerts check` command the demo tells the user to run next (pinned to the demo's end)."""
    line = re.search(r"Alerts again: +OTEL_LLMCOST_DATA_DIR=\S+ otel-llmcost (alerts check --at \S+)", out)
    assert line, out
    return line.group(1).split()


def test_alerts_check_on_the_demo_store_fires_the_spike(spiked):
    data_dir, run = spiked
    check = otel_llmcost(*alerts_check_command(run.stdout), data_dir=data_dir)
    assert check.returncode == 1, check.stdout + check.stderr
    assert re.search(r"FIRING\s+feature_tokens_spike", check.stdout)
    assert re.search(r"OK\s+unpriced_spend", check.stdout)  # every demo model has a price


def test_without_the_spike_alerts_check_is_quiet(tmp_path):
    data_dir = tmp_path / "quiet"
    run = otel_llmcost("demo", "--calls", CALLS, "--no-spike", "--data-dir", str(data_dir))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Fired: nothing." in run.stdout and "The spike" not in run.stdout
    check = otel_llmcost(*alerts_check_command(run.stdout), data_dir=data_dir)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "FIRING" not in check.stdout and check.stdout.count("OK ") == 7


def test_demo_refuses_to_wipe_a_directory_it_did_not_make(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    run = otel_llmcost("demo", "--calls", CALLS, "--data-dir", str(tmp_path))
    assert run.returncode == 2
    assert "was not made by the demo" in run.stderr and "--data-dir" in run.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_demo_takes_only_a_server_url_and_checks_it_before_the_traffic(tmp_path):
    embedded = otel_llmcost("demo", "--clickhouse-url", f"chdb://{tmp_path}/x", "--data-dir", str(tmp_path / "d"))
    assert embedded.returncode == 2 and "--data-dir" in embedded.stderr
    down = otel_llmcost(
        "demo", "--clickhouse-url", "http://default:pw@127.0.0.1:9/otel", "--data-dir", str(tmp_path / "d")
    )
    assert down.returncode == 1 and "Cannot connect to ClickHouse at http://default@127.0.0.1:9/otel" in down.stderr
    assert "pw" not in down.stderr and "Replaying" not in down.stdout


@pytest.mark.skipif(
    not os.environ.get("OTEL_LLMCOST_CLICKHOUSE_URL"),
    reason="server mode needs a ClickHouse server: set OTEL_LLMCOST_CLICKHOUSE_URL=http://user:password@host:8123",
)
def test_demo_on_a_clickhouse_server(tmp_path):
    run = otel_llmcost(
        "demo",
        "--calls",
        CALLS,
        "--data-dir",
        str(tmp_path),
        "--clickhouse-url",
        os.environ["OTEL_LLMCOST_CLICKHOUSE_URL"],
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"The spike: prompt ticket-summary-v3 \(fingerprint [0-9a-f]{16}\)", run.stdout)


def test_demo_does_not_wipe_a_store_another_process_has_open(tmp_path):
    from otel_llmcost.store import lock

    (tmp_path / ".otel-llmcost-demo").write_text("")  # made by an earlier demo run
    (tmp_path / "chdb").mkdir()
    lock.acquire(tmp_path / "store.lock")  # this process reads the demo's store meanwhile
    try:
        run = otel_llmcost("demo", "--calls", CALLS, "--data-dir", str(tmp_path))
    finally:
        lock.release(tmp_path / "store.lock")
    assert run.returncode == 1 and f"is in use by process {os.getpid()}" in run.stderr
    assert (tmp_path / "chdb").is_dir()

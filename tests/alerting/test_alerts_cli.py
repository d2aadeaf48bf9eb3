"""`otel-llmcost alerts check|list` against a seeded embedded store."""

from __future__ import annotations

from pathlib import Path

import pytest
import spenddata
from click.testing import CliRunner

from otel_llmcost.cli.main import cli
from otel_llmcost.store.connection import open_store

REPO = Path(__file__).resolve().parents[2]
RULES = str(REPO / "dashboards" / "thresholds.yaml")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    """A store of its own in the default database, as the CLI opens it; closed before the CLI runs."""
    url = f"chdb://{tmp_path_factory.mktemp('cli-store') / 'chdb'}"
    client = open_store(url)
    spenddata.load(client, spenddata.dataset(spike=True))
    client.close()
    return url


def check(url: str, at: str):
    return CliRunner().invoke(
        cli, ["alerts", "check", "--rules", RULES, "--clickhouse-url", url, "--at", at], env={"COLUMNS": "200"}
    )


def test_check_fires_with_the_prompts_and_traces_behind_the_spike(url):
    result = check(url, "2026-07-28T12:00:00Z")
    assert result.exit_code == 1, result.output
    for name in (
        "daily_spend_spike",
        "expensive_request",
        "team_budget",
        "feature_tokens_spike",
        "retry_storm",
        "runaway_agent",
        "unpriced_spend",
    ):
        assert f"FIRING  {name}" in result.output
    assert spenddata.SPIKE_FINGERPRINT in result.output and spenddata.SPIKE_PROMPT in result.output
    for trace in (spenddata.RETRY_TRACE, spenddata.EXPENSIVE_TRACE, spenddata.RUNAWAY_TRACE):
        assert trace in result.output
    assert "runbooks/retry_storm.md" in result.output
    assert "28 > 20" in result.output  # the retry storm's value against its threshold (25 timeouts, 3 of 4 429s)


def test_check_is_quiet_before_the_spike(url):
    result = check(url, "2026-07-20T12:00:00Z")
    assert result.exit_code == 0, result.output
    assert "FIRING" not in result.output
    assert result.output.count("OK ") == 7


def test_list_shows_rules_and_thresholds():
    result = CliRunner().invoke(cli, ["alerts", "list", "--rules", RULES], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "retry_storm" in result.output and "retries > 20" in result.output


def test_bad_inputs_are_explained(url, tmp_path):
    result = check(url, "yesterday-ish")
    assert result.exit_code == 2 and "Cannot read the --at" in result.output
    bad = tmp_path / "t.yaml"
    bad.write_text("rules:\n  retry_strom: {}\n")
    result = CliRunner().invoke(cli, ["alerts", "check", "--rules", str(bad), "--clickhouse-url", url])
    assert result.exit_code == 1 and "Did you mean 'rules.retry_storm'" in result.output
    assert "Traceback" not in result.output

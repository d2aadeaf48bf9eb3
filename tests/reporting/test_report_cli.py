"""`otel-llmcost report` against a seeded embedded store of its own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import spenddata
from click.testing import CliRunner
from spenddata import NOW

from otel_llmcost.cli.main import cli
from otel_llmcost.store.connection import open_store

SPIKY = spenddata.dataset(True)


def money(start, end) -> float:
    return float(sum((c.cost for c in SPIKY.calls if start <= c.ts < end), Decimal(0)))


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    url = f"chdb://{tmp_path_factory.mktemp('report-cli') / 'chdb'}"
    client = open_store(url)
    spenddata.load(client, SPIKY)
    client.close()
    return url


def test_cli_prints_tables_and_writes_the_page(url, tmp_path):
    page = tmp_path / "r.html"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--clickhouse-url",
            url,
            "--since",
            "2026-07-27T12:00Z",
            "--until",
            "2026-07-28T12:00Z",
            "--by",
            "team,prompt",
            "--html",
            str(page),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "By team" in result.output and "By prompt" in result.output
    assert spenddata.SPIKE_FINGERPRINT in result.output
    assert "Peak hour: 2026-07-28 11:00" in result.output
    assert f"${money(NOW - timedelta(hours=24), NOW):,.4f}" in result.output
    assert "<svg" in page.read_text()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--since", "a while"], "Cannot read the --since"),
        (["--by", "model,colour"], "choose from model, team"),
        (["--since", "1h", "--until", "2h"], "must be before --until"),
    ],
)
def test_cli_explains_bad_options(url, args, message):
    result = CliRunner().invoke(cli, ["report", "--clickhouse-url", url, *args])
    assert result.exit_code == 2 and message in result.output

"""The checked-in dashboards, alert provisioning and runbooks are what the generator makes now,
and the alert provisioning has the shape Grafana's file provisioning reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from dashboards import generate
from otel_llmcost.alerting import config as alert_config
from otel_llmcost.alerting.rules import build_rules

REPO = Path(__file__).resolve().parents[2]
CONFIG = alert_config.load(REPO / "dashboards" / "thresholds.yaml")


def test_checked_in_files_are_not_stale():
    stale = generate.stale(REPO / "dashboards", CONFIG)
    assert stale == [], f"{stale} differ from the generator: run `python -m dashboards.generate` and commit"


def test_check_mode_fails_on_a_stale_file(tmp_path):
    generate.write(tmp_path, CONFIG)
    assert generate.main(["--out", str(tmp_path), "--check"]) == 0
    board = tmp_path / "json" / "llmcost-overview.json"
    board.write_text(board.read_text().replace("Spend in range", "Spend in ranges"))
    assert generate.main(["--out", str(tmp_path), "--check"]) == 1


def test_module_entry_point_regenerates(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dashboards.generate", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "llmcost-alerts.yaml" in result.stdout
    assert (tmp_path / "json" / "llmcost-agents.json").is_file()


def test_alert_provisioning_shape():
    document = yaml.safe_load((REPO / "dashboards" / "alerts" / "llmcost-alerts.yaml").read_text())
    assert document["apiVersion"] == 1
    (group,) = document["groups"]
    assert (group["orgId"], group["folder"], group["interval"]) == (1, "LLM cost", "5m")
    rules = {rule.uid: rule for rule in build_rules(CONFIG)}
    assert len(rules) == 7
    assert [r["uid"] for r in group["rules"]] == list(rules)
    for provisioned in group["rules"]:
        rule = rules[provisioned["uid"]]
        query, reduce, threshold = provisioned["data"]
        assert query["datasourceUid"] == "clickhouse"
        assert query["model"]["rawSql"] == rule.sql
        assert query["model"]["format"] == 1 and query["model"]["editorType"] == "sql"
        assert query["relativeTimeRange"] == {"from": int(rule.lookback.total_seconds()), "to": 0}
        assert reduce["datasourceUid"] == "__expr__"
        assert (reduce["model"]["type"], reduce["model"]["expression"], reduce["model"]["reducer"]) == (
            "reduce",
            "A",
            "last",
        )
        assert threshold["model"]["type"] == "threshold"
        assert threshold["model"]["conditions"][0]["evaluator"] == {"type": "gt", "params": [rule.threshold]}
        assert provisioned["condition"] == "C"
        assert set(provisioned["annotations"]) == {"summary", "description", "runbook_url"}
        assert provisioned["annotations"]["runbook_url"].endswith(f"/runbooks/{rule.name}.md")
        assert provisioned["labels"]["severity"] == rule.severity
        assert provisioned["labels"]["team"] == "{{ $labels.team }}"
        assert "folderUID" not in provisioned and "ruleGroup" not in provisioned


def test_runbooks_carry_the_rule_queries_and_levers():
    for rule in build_rules(CONFIG):
        text = (REPO / "dashboards" / "runbooks" / f"{rule.name}.md").read_text()
        assert rule.sql in text
        assert all(d.sql in text for d in rule.diagnostics) and len(rule.diagnostics) == 3
        assert "## Levers" in text and "## Owner" in text
        assert "FROM otel.llm_calls" in text


def test_budget_panel_reads_the_thresholds_file(tmp_path):
    changed = tmp_path / "thresholds.yaml"
    changed.write_text((REPO / "dashboards" / "thresholds.yaml").read_text().replace("support: 1500", "support: 1750"))
    generate.main(["--out", str(tmp_path / "out"), "--thresholds", str(changed)])
    attribution = (tmp_path / "out" / "json" / "llmcost-attribution.json").read_text()
    assert "1750.0" in attribution
    alerts = (tmp_path / "out" / "alerts" / "llmcost-alerts.yaml").read_text()
    assert "1750.0" in alerts


def test_cli_export_writes_dashboards_alerts_and_runbooks(tmp_path):
    from click.testing import CliRunner

    from otel_llmcost.cli.main import cli

    result = CliRunner().invoke(cli, ["dashboards", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert generate.stale(tmp_path, CONFIG) == []
    assert len(list((tmp_path / "runbooks").glob("*.md"))) == 7

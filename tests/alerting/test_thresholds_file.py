"""The thresholds file: defaults, overrides, and mistakes reported by key with the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from otel_llmcost.alerting import config as alert_config
from otel_llmcost.alerting.rules import build_rules

REPO = Path(__file__).resolve().parents[2]


def test_checked_in_file_sets_every_rule():
    config = alert_config.load(REPO / "dashboards" / "thresholds.yaml")
    assert config.budgets == {"search": 500.0, "support": 1500.0, "growth": 200.0}
    assert config.rule("expensive_request")["window"] == timedelta(minutes=15)
    assert config.rule("retry_storm")["severity"] == "critical"
    assert {rule.name: rule.threshold for rule in build_rules(config)} == {
        "daily_spend_spike": 2.0,
        "expensive_request": 1.0,
        "team_budget": 0.8,
        "feature_tokens_spike": 5.0,
        "retry_storm": 20.0,
        "runaway_agent": 0.0,
        "unpriced_spend": 0.0,
    }


def test_overrides_reach_the_sql_and_the_threshold():
    config = alert_config.parse(
        {
            "database": "llm",
            "rules": {"expensive_request": {"max_cost_usd": 2.5, "window": "1h"}, "runaway_agent": {"max_steps": 60}},
        }
    )
    rules = {rule.name: rule for rule in build_rules(config)}
    assert rules["expensive_request"].threshold == 2.5
    assert rules["expensive_request"].lookback == timedelta(hours=1)
    assert "steps > 60" in rules["runaway_agent"].sql
    assert "FROM llm.llm_calls" in rules["retry_storm"].sql


def test_disabled_rule_is_not_built():
    config = alert_config.parse({"rules": {"retry_storm": {"enabled": False}}})
    assert "retry_storm" not in {rule.name for rule in build_rules(config)}


@pytest.mark.parametrize(
    "document,message",
    [
        ({"rulez": {}}, "Unknown setting 'rulez'"),
        ({"rules": {"retry_strom": {}}}, "Did you mean 'rules.retry_storm'"),
        ({"rules": {"retry_storm": {"max_retry": 3}}}, "Did you mean 'rules.retry_storm.max_retries'"),
        ({"rules": {"expensive_request": {"window": "soon"}}}, "rules.expensive_request.window"),
        (
            {"rules": {"expensive_request": {"max_cost_usd": "one"}}},
            "rules.expensive_request.max_cost_usd must be a number",
        ),
        ({"rules": {"team_budget": {"ratio": -1}}}, "must not be negative"),
        ({"rules": {"team_budget": {"severity": "page"}}}, "one of info, warning, critical"),
        ({"budgets": {"search": 0}}, "budgets.search must be a positive"),
        ({"budgets": ["search"]}, "'budgets' must map team names"),
        ({"model_tiers": {"small": "(mini"}}, "model_tiers.small is not a valid pattern"),
        ({"database": "otel; DROP"}, "plain ClickHouse database name"),
    ],
)
def test_mistakes_name_the_key(document, message):
    with pytest.raises(alert_config.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        alert_config.parse(document, source="t.yaml")


def test_unreadable_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "t.yaml"
    broken.write_text("rules: [unclosed")
    with pytest.raises(alert_config.ConfigError, match="not valid YAML"):
        alert_config.load(broken)
    with pytest.raises(alert_config.ConfigError, match="Cannot read the thresholds file"):
        alert_config.load(tmp_path / "missing.yaml")


def test_default_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OTEL_LLMCOST_THRESHOLDS_FILE", str(tmp_path / "mine.yaml"))
    assert alert_config.default_path() == tmp_path / "mine.yaml"
    monkeypatch.delenv("OTEL_LLMCOST_THRESHOLDS_FILE")
    monkeypatch.chdir(tmp_path)
    assert alert_config.default_path() is None

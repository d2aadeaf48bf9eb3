"""Every alert rule's SQL runs on chDB as Grafana would run it, returns the values the seeded
data says it must, fires on the data with the spike and stays quiet on the same data without."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import spenddata
import yaml
from spenddata import NOW
from sqlmacros import expand as grafana_expand

from otel_llmcost.alerting import config as alert_config
from otel_llmcost.alerting import timemacros
from otel_llmcost.alerting.evaluate import diagnose, evaluate
from otel_llmcost.alerting.rules import build_rules

REPO = Path(__file__).resolve().parents[2]
CONFIG = alert_config.load(REPO / "dashboards" / "thresholds.yaml")
PROVISIONED = yaml.safe_load((REPO / "dashboards" / "alerts" / "llmcost-alerts.yaml").read_text())["groups"][0]["rules"]
DATABASES = {"calm": False, "spiky": True}


def rules(database: str):
    return {rule.name: rule for rule in build_rules(CONFIG, database)}


def calls(data, start, end, inclusive_end=False, **match):
    return [
        c
        for c in data.calls
        if start <= c.ts
        and (c.ts <= end if inclusive_end else c.ts < end)
        and all(getattr(c, k) == v for k, v in match.items())
    ]


def money(rows) -> float:
    return float(sum((c.cost for c in rows), Decimal(0)))


def label(value: str, empty: str = "unattributed") -> str:
    return value or empty


# --- the values each rule must return, from the Python rows -----------------------------------


def truth_daily_spend_spike(data, s):
    result = {}
    for team in {c.team for c in data.calls}:
        recent = money(calls(data, NOW - timedelta(days=1), NOW, team=team))
        baseline = money(calls(data, NOW - timedelta(days=8), NOW - timedelta(days=1), team=team)) / 7
        if recent >= s["min_spend_usd"]:
            result[(label(team),)] = recent / max(baseline, s["min_baseline_usd"])
    return result


def truth_expensive_request(data, s):
    result = {}
    for c in calls(data, NOW - s["window"], NOW, inclusive_end=True):
        key = (label(c.team), c.service, label(c.feature))
        result[key] = max(result.get(key, 0.0), float(c.cost))
    return result


def truth_team_budget(data, s):
    month = datetime(NOW.year, NOW.month, 1, tzinfo=timezone.utc)
    return {(team,): money(calls(data, month, NOW, team=team)) / budget for team, budget in CONFIG.budgets.items()}


def truth_feature_tokens_spike(data, s):
    window = s["window"]
    result = {}
    groups = {(c.team, c.service, c.feature) for c in data.calls}
    for team, service, feature in groups:
        # per request that came back with usage: a 429 without any has no tokens to average
        recent = calls(data, NOW - window, NOW, team=team, service=service, feature=feature, no_usage=False)
        before = calls(
            data,
            NOW - window - timedelta(days=7),
            NOW - window,
            team=team,
            service=service,
            feature=feature,
            no_usage=False,
        )
        if len(recent) >= s["min_calls"] and before:
            per_call = sum(c.tokens for c in recent) / len(recent)
            result[(label(team), service, label(feature))] = per_call / (sum(c.tokens for c in before) / len(before))
    return result


def truth_retry_storm(data, s):
    attempts = defaultdict(int)
    for c in calls(data, NOW - s["window"], NOW, inclusive_end=True):
        attempts[(label(c.team), c.service, label(c.feature), c.trace_id, c.fingerprint, c.input_tokens)] += 1
    result = defaultdict(float)
    for key, count in attempts.items():
        result[key[:3]] += count - 1
    return dict(result)


def truth_runaway_agent(data, s):
    traces = defaultdict(list)
    for c in calls(data, NOW - s["window"], NOW, inclusive_end=True):
        if c.agent:
            traces[(label(c.team), c.service, c.agent, c.trace_id)].append(c)
    result = defaultdict(float)
    for key, steps in traces.items():
        result[key[:3]] += float(len(steps) > s["max_steps"] or money(steps) > s["max_cost_usd"])
    return dict(result)


def truth_unpriced_spend(data, s):
    result = defaultdict(float)
    for c in calls(data, NOW - s["window"], NOW):
        if c.unpriced:
            result[(label(c.team), c.service, c.model)] += 1
    return dict(result)


TRUTH = {name: function for name, function in globals().items() if name.startswith("truth_")}


def test_every_rule_has_a_truth():
    assert sorted(f"truth_{name}" for name in rules("otel")) == sorted(TRUTH)


@pytest.mark.parametrize("name", sorted(rules("otel")))
def test_cli_runs_exactly_the_sql_grafana_runs(name):
    """One definition: the provisioned query, expanded by the datasource, is what the CLI sends."""
    rule = rules("otel")[name]
    (provisioned,) = [r for r in PROVISIONED if r["uid"] == rule.uid]
    query = provisioned["data"][0]
    lookback = timedelta(seconds=query["relativeTimeRange"]["from"])
    by_grafana = grafana_expand(query["model"]["rawSql"], time_from=NOW - lookback, time_to=NOW)
    assert by_grafana == timemacros.expand(rule.sql, NOW - rule.lookback, NOW)


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("name", sorted(rules("otel")))
def test_rule_values_match_the_seeded_truth(store, database, name):
    rule = rules(database)[name]
    data = spenddata.dataset(DATABASES[database])
    outcome = evaluate(store, rule, NOW)
    got = {tuple(i.labels.values()): i.value for i in outcome.instances}
    expected = TRUTH[f"truth_{name}"](data, CONFIG.rule(name))
    assert got == {key: pytest.approx(value, rel=1e-9) for key, value in expected.items()}
    firing = {tuple(i.labels.values()) for i in outcome.firing}
    assert firing == {key for key, value in expected.items() if value > rule.threshold}
    if DATABASES[database]:
        assert firing, f"{name} must fire on the spike"
    else:
        assert not firing, f"{name} must stay quiet without the spike"


def test_the_spike_fires_each_rule_for_the_right_instance(store):
    fired = {
        name: {tuple(i.labels.values()) for i in evaluate(store, rule, NOW).firing}
        for name, rule in rules("spiky").items()
    }
    support_reply = ("support", "support-bot", "support.reply")
    assert fired == {
        "daily_spend_spike": {("support",)},
        "expensive_request": {support_reply},
        "team_budget": {("support",)},
        "feature_tokens_spike": {support_reply, ("support", "support-bot", "support.triage")},
        "retry_storm": {support_reply},
        "runaway_agent": {("support", "support-bot", spenddata.AGENT)},
        "unpriced_spend": {("growth", "growth-jobs", spenddata.UNPRICED_MODEL)},
    }


def test_diagnostics_name_the_prompts_and_traces_behind_the_spike(store):
    evidence = {}
    for name, rule in rules("spiky").items():
        outcome = evaluate(store, rule, NOW)
        worst = max(outcome.firing, key=lambda i: i.value)
        results = diagnose(store, rule, worst, NOW)
        assert len(results) == 3
        assert all(r.rows for r in results), name
        evidence[name] = {str(value) for r in results for row in r.rows for value in row}
    spike = spenddata.SPIKE_FINGERPRINT
    assert spike in evidence["daily_spend_spike"] and spenddata.SPIKE_PROMPT in evidence["daily_spend_spike"]
    assert spenddata.RETRY_TRACE in evidence["daily_spend_spike"]
    assert spenddata.EXPENSIVE_TRACE in evidence["expensive_request"]
    assert spike in evidence["team_budget"]
    assert spike in evidence["feature_tokens_spike"]
    assert spenddata.RETRY_TRACE in evidence["retry_storm"] and "timeout" in evidence["retry_storm"]
    assert spenddata.RUNAWAY_TRACE in evidence["runaway_agent"] and "search_kb" in evidence["runaway_agent"]
    assert spenddata.UNPRICED_MODEL in evidence["unpriced_spend"]


def test_diagnostic_window_of_the_budget_is_the_month(store):
    rule = rules("spiky")["team_budget"]
    (instance,) = evaluate(store, rule, NOW).firing
    per_day = diagnose(store, rule, instance, NOW)[1]
    assert str(per_day.rows[0][0]) == "2026-07-01"
    assert len(per_day.rows) == 28  # July 1 .. July 28


def test_budget_rule_is_off_without_budgets():
    names = {rule.name for rule in build_rules(alert_config.parse({}))}
    assert "team_budget" not in names and len(names) == 6

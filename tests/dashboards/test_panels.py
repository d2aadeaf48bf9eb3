"""Every panel of the checked-in dashboards runs against chDB, expanded the way the Grafana
ClickHouse datasource expands it, and shows the numbers the seeded data says it must."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import spenddata
from spenddata import NOW, RUNAWAY_TRACE
from sqlmacros import ALL, Variable, expand

from otel_llmcost.alerting import config as alert_config

REPO = Path(__file__).resolve().parents[2]
JSON_DIR = REPO / "dashboards" / "json"
CONFIG = alert_config.load(REPO / "dashboards" / "thresholds.yaml")
FROM, TO = NOW - timedelta(hours=24), NOW
LAST_HOUR = NOW - timedelta(hours=1)
SPIKY = spenddata.dataset(True)


def panels():
    for path in sorted(JSON_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            if panel.get("targets"):
                yield board["uid"], panel


def variables(database: str = "spiky", **chosen: str) -> dict[str, Variable]:
    result = {"database": Variable(database)}
    for name in ("service", "environment", "team", "feature", "model"):
        result[name] = Variable(chosen.get(name, ALL), options=["x"])
    result["trace_id"] = Variable(chosen.get("trace_id", ""))
    return result


def run(
    store,
    sql: str,
    *,
    database: str = "spiky",
    time_from: datetime = FROM,
    time_to: datetime = TO,
    interval_s: int = 3600,
    **chosen: str,
) -> list[dict]:
    expanded = expand(
        sql, time_from=time_from, time_to=time_to, interval_s=interval_s, variables=variables(database, **chosen)
    )
    result = store.query(expanded)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def calls(start: datetime = FROM, end: datetime = TO, data=SPIKY, **match):
    return [c for c in data.calls if start <= c.ts < end and all(getattr(c, k) == v for k, v in match.items())]


def cost(rows) -> float:
    return float(sum((c.cost for c in rows), Decimal(0)))


def approx(value):
    return pytest.approx(value, rel=1e-9, abs=1e-9)


def one(rows: list[dict], **match) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, rows[:5])
    return found[0]


def tier(model: str) -> str:
    for name, pattern in CONFIG.model_tiers:
        if re.search(pattern.replace("(?i)", ""), model, re.IGNORECASE):
            return name
    return alert_config.OTHER_TIER


def retry_groups(rows):
    groups = defaultdict(list)
    for c in rows:
        groups[(c.trace_id, c.fingerprint, c.input_tokens)].append(c)
    return groups


def runs_in(start=FROM, end=TO):
    return [r for r in SPIKY.runs if start <= r.start < end]


# --- one check per panel: what the seeded data says it must show -----------------------------


def check_spend_in_range(rows):
    assert rows[0]["spend"] == approx(cost(calls()))


def check_spend_vs_trailing(rows):
    trailing = cost(calls(FROM - timedelta(days=7), FROM)) / 7
    assert rows[0]["spend"] == approx(cost(calls()))
    assert rows[0]["trailing_average"] == approx(trailing)
    assert rows[0]["ratio"] == approx(cost(calls()) / trailing)


def with_cost(rows):
    """The calls a per-request cost averages over: not unpriced, not failed without usage."""
    return [c for c in rows if not c.unpriced and not c.no_usage]


def check_cost_per_request(rows):
    priced = with_cost(calls())
    assert sum(c.no_usage for c in calls()) == 16  # the 429s are left out, like the unpriced calls
    assert rows[0]["cost_per_request"] == approx(cost(priced) / len(priced))


def check_requests(rows):
    assert rows[0]["requests"] == len(calls())


def check_spend_by_model(rows):
    row = one(rows, time=LAST_HOUR.replace(tzinfo=None), Model="claude-sonnet-4-5")
    assert row["spend"] == approx(cost(calls(LAST_HOUR, NOW, model="claude-sonnet-4-5")))


def check_tier_mix(rows):
    expected = defaultdict(float)
    for c in calls():
        expected[tier(c.model)] += float(c.cost)
    assert {r["tier"]: r["spend"] for r in rows} == {k: approx(v) for k, v in expected.items()}
    assert set(expected) == {"small", "frontier", "standard"}


def check_model_provider(rows):
    row = one(rows, Provider="anthropic", Model="claude-sonnet-4-5")
    expected = calls(model="claude-sonnet-4-5")
    assert (row["calls"], row["spend"]) == (len(expected), approx(cost(expected)))
    assert row["cost_per_request"] == approx(cost(expected) / len(with_cost(expected)))
    assert sum(r["share"] for r in rows) == approx(1.0)


def check_tokens(rows):
    assert rows[0]["input_tokens"] == sum(c.input_tokens for c in calls())
    assert rows[0]["output_tokens"] == sum(c.output_tokens for c in calls())


def check_cache_hit(rows):
    assert rows[0]["cache_hit_rate"] == approx(
        sum(c.cache_read for c in calls()) / sum(c.input_tokens for c in calls())
    )


def check_batch_share(rows):
    assert rows[0]["batch_share"] == approx(cost([c for c in calls() if c.tier == "batch"]) / cost(calls()))
    assert 0 < rows[0]["batch_share"] < 1


def check_unpriced(rows):
    assert rows[0]["unpriced_calls"] == sum(c.unpriced for c in calls()) == 6


def check_estimated(rows):
    estimated = sum(c.tokens for c in calls() if c.estimated)
    assert rows[0]["estimated_share"] == approx(estimated / sum(c.tokens for c in calls()))
    assert estimated > 0


def check_tokens_over_time(rows):
    row = one(rows, time=LAST_HOUR.replace(tzinfo=None))
    hour = calls(LAST_HOUR, NOW)
    assert row["cached_input"] == sum(c.cache_read for c in hour)
    assert row["uncached_input"] == sum(c.input_tokens - c.cache_read for c in hour)
    assert row["output"] == sum(c.output_tokens for c in hour)


def check_budgets(rows):
    month = datetime(2026, 7, 1, tzinfo=NOW.tzinfo)
    row = one(rows, team="support")
    spent = cost(calls(month, NOW, team="support"))
    assert row["month_to_date"] == approx(spent)
    assert row["budget"] == 1500.0
    assert row["budget_used"] == approx(spent / 1500.0)
    assert row["forecast"] == approx(spent * 31 / 27.5)
    assert one(rows, team="growth")["budget"] == 200.0


def check_spend_by_team(rows):
    assert one(rows, team="support")["spend"] == approx(cost(calls(team="support")))


def check_spend_by_feature(rows):
    row = one(rows, team="support", feature="support.reply")
    expected = calls(feature="support.reply")
    assert row["spend"] == approx(cost(expected))
    assert row["calls"] == len(expected)
    assert row["cost_per_request"] == approx(cost(expected) / len(with_cost(expected)))


def check_customers(rows):
    assert one(rows, customer="acme")["spend"] == approx(cost(calls(customer="acme")))
    assert one(rows, customer="(unattributed)")["spend"] == approx(cost(calls(customer="")))


def check_users(rows):
    assert rows[0]["user"] == "u-spike"
    assert rows[0]["spend"] == approx(cost(calls(user="u-spike")))


def check_environment(rows):
    assert one(rows, environment="staging")["spend"] == approx(cost(calls(environment="staging")))


def check_team_over_time(rows):
    row = one(rows, time=LAST_HOUR.replace(tzinfo=None), team="support")
    assert row["spend"] == approx(cost(calls(LAST_HOUR, NOW, team="support")))


def check_delta_prompt(rows):
    assert rows[0]["fingerprint"] == spenddata.SPIKE_FINGERPRINT
    assert rows[0]["prompt_name"] == spenddata.SPIKE_PROMPT
    spike = calls(fingerprint=spenddata.SPIKE_FINGERPRINT)
    assert (rows[0]["calls"], rows[0]["spend"], rows[0]["baseline"]) == (len(spike), approx(cost(spike)), 0.0)
    steady = one(rows, fingerprint="a1b2c3d4e5f60002")
    assert steady["baseline"] == approx(cost(calls(FROM - timedelta(days=7), FROM, fingerprint="a1b2c3d4e5f60002")) / 7)


def check_delta_feature(rows):
    row = rows[0]
    assert row["feature"] == "support.reply"
    baseline = cost(calls(FROM - timedelta(days=7), FROM, feature="support.reply")) / 7
    assert row["delta"] == approx(cost(calls(feature="support.reply")) - baseline)


def check_delta_model(rows):
    row = one(rows, model="gpt-5-mini")
    baseline = cost(calls(FROM - timedelta(days=7), FROM, model="gpt-5-mini")) / 7
    assert row["baseline"] == approx(baseline)
    assert rows[0]["model"] == "claude-sonnet-4-5"


def check_expensive_calls(rows):
    assert rows[0]["trace_id"] == spenddata.EXPENSIVE_TRACE
    assert rows[0]["cost"] == approx(2.4)
    assert len(rows) == 50


def check_cost_per_run(rows):
    runs = runs_in()
    assert rows[0]["cost_per_run"] == approx(float(sum(r.cost for r in runs)) / len(runs))


def check_steps_per_run(rows):
    runs = runs_in()
    assert rows[0]["steps_per_run"] == approx(sum(len(r.steps) for r in runs) / len(runs))


def check_cost_per_trace(rows):
    traces = defaultdict(Decimal)
    for c in calls():
        if c.agent:
            traces[c.trace_id] += c.cost
    assert rows[0]["cost_per_trace"] == approx(float(sum(traces.values())) / len(traces))


def check_retries(rows):
    expected = sum(len(g) - 1 for g in retry_groups(calls()).values())
    assert rows[0]["retries"] == expected == 28  # 25 resent after timeouts, 3 after the first of 4 refusals (429)


def check_agents(rows):
    row = one(rows, agent=spenddata.AGENT)
    runs = runs_in()
    assert (row["runs"], row["max_steps"]) == (len(runs), 40)
    assert row["total_cost"] == approx(float(sum(r.cost for r in runs)))


def check_expensive_runs(rows):
    assert rows[0]["trace_id"] == RUNAWAY_TRACE
    assert rows[0]["steps"] == 40


def check_tokens_per_step(rows):
    by_step = {r["step"]: r["input_tokens"] for r in rows}
    steps = [c for c in calls() if c.agent]
    for step in ("1", "4", "40"):
        matching = [c.input_tokens for c in steps if c.step == int(step)]
        assert by_step[step] == approx(sum(matching) / len(matching))


def check_tools(rows):
    row = one(rows, tool="search_kb")
    tools = [(t, resent) for r in runs_in() for t, resent in r.tools if t == "search_kb"]
    assert row["calls"] == len(tools)
    assert row["resent_result_cost"] == approx(float(sum(resent for _, resent in tools)))


def check_retries_by_feature(rows):
    row = one(rows, agent="(no agent)", feature="support.reply")
    assert row["retries"] == 28
    assert row["retry_cost"] == approx(12.5)


def check_trace(rows):
    run = next(r for r in SPIKY.runs if r.trace_id == RUNAWAY_TRACE)
    assert len(rows) == 1 + len(run.steps) + len(run.tools)
    root = one(rows, parentSpanID="")
    assert root["operationName"] == f"invoke_agent {spenddata.AGENT}"
    assert {t["key"]: t["value"] for t in root["tags"]}["llmcost.agent.steps"] == "40"


CHECKS = {
    "Spend in range": check_spend_in_range,
    "Spend vs trailing average": check_spend_vs_trailing,
    "Cost per request": check_cost_per_request,
    "Requests": check_requests,
    "Spend by model": check_spend_by_model,
    "Model-tier mix": check_tier_mix,
    "Spend by model and provider": check_model_provider,
    "Tokens in / out": check_tokens,
    "Cache-hit rate": check_cache_hit,
    "Batch share": check_batch_share,
    "Unpriced calls": check_unpriced,
    "Estimated token share": check_estimated,
    "Tokens over time": check_tokens_over_time,
    "Team budgets this month": check_budgets,
    "Spend by team": check_spend_by_team,
    "Spend by feature": check_spend_by_feature,
    "Top customers": check_customers,
    "Top users": check_users,
    "Spend by environment": check_environment,
    "Spend by team over time": check_team_over_time,
    "Cost delta by prompt": check_delta_prompt,
    "Cost delta by feature": check_delta_feature,
    "Cost delta by model": check_delta_model,
    "Most expensive calls": check_expensive_calls,
    "Trace": check_trace,
    "Cost per agent run": check_cost_per_run,
    "Steps per run": check_steps_per_run,
    "Cost per trace": check_cost_per_trace,
    "Retries": check_retries,
    "Agents": check_agents,
    "Most expensive runs": check_expensive_runs,
    "Input tokens per step": check_tokens_per_step,
    "Cost per tool": check_tools,
    "Retries by feature": check_retries_by_feature,
}


def test_every_panel_has_a_check():
    titles = [panel["title"] for _, panel in panels()]
    assert sorted(titles) == sorted(CHECKS)


@pytest.mark.parametrize("uid,panel", list(panels()), ids=lambda p: p["title"] if isinstance(p, dict) else p)
def test_panel_shows_the_seeded_truth(store, uid, panel):
    (target,) = panel["targets"]
    assert target["datasource"] == {"type": "grafana-clickhouse-datasource", "uid": "${datasource}"}
    assert target["editorType"] == "sql"
    assert target["format"] == {"timeseries": 0, "table": 1, "traces": 3}[target["queryType"]]
    rows = run(store, target["rawSql"], trace_id=RUNAWAY_TRACE)
    assert rows, panel["title"]
    CHECKS[panel["title"]](rows)


def test_variable_filters_narrow_every_rollup_panel(store):
    """A team chosen in the variable reaches both halves (hourly and minute rows) of the rollup SQL."""
    panel = next(p for _, p in panels() if p["title"] == "Spend in range")
    sql = panel["targets"][0]["rawSql"]
    start = NOW - timedelta(hours=5, minutes=30)  # ragged start: minute rows, then whole hours
    rows = run(store, sql, time_from=start, team=["support"], model=["claude-sonnet-4-5"])
    assert rows[0]["spend"] == approx(cost(calls(start, NOW, team="support", model="claude-sonnet-4-5")))
    rows = run(store, sql, time_from=start, team=["search", "growth"])
    assert rows[0]["spend"] == approx(cost(calls(start, NOW, team="search")) + cost(calls(start, NOW, team="growth")))


def test_minute_series_below_an_hour_interval(store):
    panel = next(p for _, p in panels() if p["title"] == "Spend by model")
    minute = NOW - timedelta(minutes=4)
    rows = run(store, panel["targets"][0]["rawSql"], time_from=NOW - timedelta(hours=1), interval_s=60)
    row = one(rows, time=minute.replace(tzinfo=None), Model="claude-sonnet-4-5")
    assert row["spend"] == approx(cost(calls(minute, minute + timedelta(minutes=1), model="claude-sonnet-4-5")))


def test_calm_data_has_no_spike(store):
    panel = next(p for _, p in panels() if p["title"] == "Spend vs trailing average")
    rows = run(store, panel["targets"][0]["rawSql"], database="calm")
    assert rows[0]["ratio"] == approx(1.0)  # steady traffic: today equals the trailing average


def test_variable_queries_list_the_values(store):
    board = json.loads((JSON_DIR / "llmcost-overview.json").read_text())
    queries = {v["name"]: v["query"]["rawSql"] for v in board["templating"]["list"] if v["type"] == "query"}
    values = {name: sorted(r[next(iter(r))] for r in run(store, sql)) for name, sql in queries.items()}
    assert values["team"] == ["growth", "search", "support"]
    assert values["environment"] == ["production", "staging"]
    assert spenddata.UNPRICED_MODEL in values["model"]

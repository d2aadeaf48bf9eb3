"""Grafana alert rule provisioning (file format, apiVersion 1) from otel_llmcost.alerting.rules.

Each rule: query A (the rule's SQL, table format: one row per instance, string columns as
labels, one numeric ``value``), B = reduce(A, last), C = threshold(B > threshold), the
condition. The SDK builds the rules in the API's shape; the file format nests them in a
group with ``orgId``/``name``/``folder``, so the group keys are moved there.
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting as alerting_model

from dashboards.clickhouse import Query
from otel_llmcost.alerting.config import Config
from otel_llmcost.alerting.rules import Rule, build_rules

EXPRESSIONS = "__expr__"
_GROUP_KEYS = ("folderUID", "orgID", "ruleGroup")


def rule_builder(rule: Rule, config: Config) -> alerting.Rule:
    lookback = int(rule.lookback.total_seconds())
    query = (
        alerting.Query("A")
        .datasource_uid(config.grafana.datasource_uid)
        .relative_time_range(alerting_model.RelativeTimeRange(from_val=lookback, to=0))
        .model(Query(rule.sql, "table", datasource_uid=config.grafana.datasource_uid))
    )
    reduce = (
        alerting.Query("B")
        .datasource_uid(EXPRESSIONS)
        .model(expr.TypeReduce().ref_id("B").expression("A").reducer("last"))
    )
    threshold = (
        alerting.Query("C")
        .datasource_uid(EXPRESSIONS)
        .model(
            expr.TypeThreshold()
            .ref_id("C")
            .expression("B")
            .conditions(
                [
                    expr.ExprTypeThresholdConditions().evaluator(
                        expr.ExprTypeThresholdConditionsEvaluator().type("gt").params([rule.threshold])
                    )
                ]
            )
        )
    )
    return (
        alerting.Rule(rule.title)
        .uid(rule.uid)
        .condition("C")
        .queries([query, reduce, threshold])
        .no_data_state("OK")
        .exec_err_state("Error")
        .for_val("0s")
        .labels(
            {"severity": rule.severity, "team": "{{ $labels.team }}", "owner": config.owner, "source": "otel-llmcost"}
        )
        .annotations(
            {
                "summary": rule.summary,
                "description": rule.description,
                "runbook_url": f"{config.runbook_base_url}/{rule.name}.md",
            }
        )
    )


def provisioning(config: Config) -> dict[str, Any]:
    rules = []
    for rule in build_rules(config):
        as_dict = json.loads(JSONEncoder().encode(rule_builder(rule, config).build()))
        for key in _GROUP_KEYS:
            as_dict.pop(key, None)
        rules.append(as_dict)
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": config.grafana.group,
                "folder": config.grafana.folder,
                "interval": config.grafana.interval,
                "rules": rules,
            }
        ],
    }

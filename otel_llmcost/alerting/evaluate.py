"""Evaluate the alert rules against ClickHouse, as Grafana would at one instant.

For each rule: expand its SQL for the range [at - lookback, at], run it, and keep the rows
whose value is above the threshold (Grafana's threshold expression ``gt``). For a firing
instance, the rule's diagnostic queries run for the window that fired and that instance's
labels: the prompts, models and trace ids behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from otel_llmcost.alerting import timemacros
from otel_llmcost.alerting.rules import Diagnostic, Rule

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


@dataclass(frozen=True)
class Instance:
    labels: dict[str, str]
    value: float


@dataclass
class Outcome:
    rule: Rule
    instances: list[Instance]
    firing: list[Instance] = field(default_factory=list)

    @property
    def fired(self) -> bool:
        return bool(self.firing)


@dataclass(frozen=True)
class DiagnosticResult:
    diagnostic: Diagnostic
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def evaluate(client: Client, rule: Rule, at: datetime) -> Outcome:
    sql = timemacros.expand(rule.sql, at - rule.lookback, at)
    result = client.query(sql)
    instances = []
    for row in result.result_rows:
        *labels, value = row
        instances.append(
            Instance(dict(zip(rule.labels, (str(label) for label in labels), strict=True)), _number(value))
        )
    return Outcome(rule, instances, [i for i in instances if i.value > rule.threshold])


def diagnose(client: Client, rule: Rule, instance: Instance, at: datetime) -> list[DiagnosticResult]:
    # Zone-aware datetimes bind as the instant they are, whatever the server's zone.
    parameters = {"from": rule.window_start(at), "to": at, **instance.labels}
    results = []
    for diagnostic in rule.diagnostics:
        result = client.query(diagnostic.sql, parameters=parameters)
        results.append(DiagnosticResult(diagnostic, tuple(result.column_names), list(result.result_rows)))
    return results


def _number(value: Any) -> float:
    # NaN and inf stay what they are: inf > threshold fires, NaN (0/0) never does, as in Grafana.
    return float(value) if value is not None else float("nan")

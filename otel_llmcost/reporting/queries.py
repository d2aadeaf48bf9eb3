"""The numbers of a spend report: totals, breakdowns, spend over time and the costliest calls.

Read from llm_calls over [start, end) with query parameters, so a report is exact for any
range and names prompts (the rollups keep fingerprints only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

RANGE = "Timestamp >= {start:DateTime64(3)} AND Timestamp < {end:DateTime64(3)}"

# --by name -> (SQL of the grouping key columns, their headers)
DIMENSIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "model": (("Provider", "Model"), ("provider", "model")),
    "team": (("if(Team = '', '(unattributed)', Team)",), ("team",)),
    "feature": (("if(Feature = '', '(unattributed)', Feature)",), ("feature",)),
    "prompt": (("PromptFingerprint", "PromptName"), ("fingerprint", "prompt")),
    "customer": (("if(Customer = '', '(unattributed)', Customer)",), ("customer",)),
    "user": (("if(User = '', '(unattributed)', User)",), ("user",)),
    "service": (("ServiceName",), ("service",)),
    "environment": (("if(Environment = '', '(unset)', Environment)",), ("environment",)),
}
DEFAULT_BY = ("model", "team", "feature", "prompt")
MEASURES = "count() AS calls, sum(InputTokens) AS input_tokens, sum(OutputTokens) AS output_tokens, toFloat64(sum(CostUSD)) AS spend"


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]  # key columns..., calls, input_tokens, output_tokens, spend


@dataclass
class Report:
    start: datetime
    end: datetime
    totals: dict[str, float]
    series_step: timedelta
    series: list[tuple[datetime, float]]  # (bucket start, spend), every bucket of the range
    breakdowns: list[Breakdown] = field(default_factory=list)
    top_calls: list[dict[str, Any]] = field(default_factory=list)


class UnknownDimension(ValueError):
    pass


def parse_by(text: str) -> tuple[str, ...]:
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown or not names:
        raise UnknownDimension(
            f"Cannot break down by {', '.join(unknown) or '(nothing)'}: choose from {', '.join(DIMENSIONS)}."
        )
    return names


def series_step(start: datetime, end: datetime) -> timedelta:
    """Hourly bars up to two days, daily bars beyond."""
    return timedelta(hours=1) if end - start <= timedelta(days=2) else timedelta(days=1)


def build_report(
    client: Client, start: datetime, end: datetime, by: tuple[str, ...] = DEFAULT_BY, top: int = 20
) -> Report:
    parameters = {"start": start, "end": end}
    totals_row = client.query(
        f"""SELECT {MEASURES},
    sum(CacheReadTokens) / nullIf(sum(InputTokens), 0) AS cache_hit_rate,
    sum(Unpriced) AS unpriced_calls,
    countIf(CostSource != '') AS priced_calls,
    sum(IsError) AS failed_calls,
    uniqExact(TraceId) AS traces
FROM llm_calls WHERE {RANGE}""",
        parameters=parameters,
    )
    totals = dict(zip(totals_row.column_names, totals_row.result_rows[0], strict=True))
    step = series_step(start, end)
    report = Report(start, end, {k: float(v or 0) for k, v in totals.items()}, step, _series(client, start, end, step))
    for dimension in by:
        keys, headers = DIMENSIONS[dimension]
        group = ", ".join(k for k in keys if not k.startswith("any"))
        result = client.query(
            f"SELECT {', '.join(keys)}, {MEASURES} FROM llm_calls WHERE {RANGE} GROUP BY {group} ORDER BY spend DESC LIMIT {top}",
            parameters=parameters,
        )
        report.breakdowns.append(Breakdown(dimension, headers, [tuple(row) for row in result.result_rows]))
    calls = client.query(
        f"""SELECT Timestamp AS time, TraceId AS trace_id, Model AS model, if(Feature = '', '(unattributed)', Feature) AS feature,
    PromptName AS prompt, InputTokens AS input_tokens, OutputTokens AS output_tokens, toFloat64(CostUSD) AS cost
FROM llm_calls WHERE {RANGE} ORDER BY cost DESC LIMIT 10""",
        parameters=parameters,
    )
    report.top_calls = [dict(zip(calls.column_names, row, strict=True)) for row in calls.result_rows]
    return report


def _series(client: Client, start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, float]]:
    seconds = int(step.total_seconds())
    result = client.query(
        f"""SELECT toUnixTimestamp(toStartOfInterval(Timestamp, INTERVAL {seconds} SECOND, 'UTC')) AS bucket,
    toFloat64(sum(CostUSD)) AS spend
FROM llm_calls WHERE {RANGE} GROUP BY bucket ORDER BY bucket""",
        parameters={"start": start, "end": end},
    )
    spend = {int(bucket): float(value) for bucket, value in result.result_rows}
    first = int(start.timestamp()) // seconds * seconds
    buckets = range(first, int(end.timestamp()), seconds)
    return [(datetime.fromtimestamp(b, timezone.utc), spend.get(b, 0.0)) for b in buckets]


@dataclass(frozen=True)
class Mover:
    """A prompt whose spend in a window rose over its hourly average before the window."""

    fingerprint: str
    prompt_name: str
    feature: str
    team: str
    model: str
    calls: int
    spend: float  # in the window
    baseline_hourly: float  # average spend per hour from baseline_start to the window
    trace_ids: list[str]  # its costliest traces in the window, costliest first


def spend_movers(
    client: Client, start: datetime, end: datetime, *, baseline_start: datetime, limit: int = 10, traces: int = 3
) -> list[Mover]:
    """Prompts (fingerprint, feature, team, model) by how much their spend in [start, end) rose
    over their average hourly spend in [baseline_start, start): the spike drill-down's first table."""
    hours = max((end - start).total_seconds() / 3600, 1e-9)
    baseline_hours = max((start - baseline_start).total_seconds() / 3600, 1e-9)
    result = client.query(
        f"""SELECT PromptFingerprint, anyIf(PromptName, PromptName != '') AS prompt,
    if(Feature = '', '(unattributed)', Feature) AS feature, if(Team = '', '(unattributed)', Team) AS team,
    Model,
    countIf(Timestamp >= {{start:DateTime64(3)}}) AS calls,
    toFloat64(sumIf(CostUSD, Timestamp >= {{start:DateTime64(3)}})) AS spend,
    toFloat64(sumIf(CostUSD, Timestamp < {{start:DateTime64(3)}})) / {baseline_hours:.9f} AS baseline_hourly,
    arraySlice(arrayMap(pair -> pair.2, arrayReverseSort(pair -> pair.1,
        groupArrayIf((toFloat64(CostUSD), TraceId), Timestamp >= {{start:DateTime64(3)}}))), 1, {int(traces)}) AS traces
FROM llm_calls
WHERE Timestamp >= {{baseline_start:DateTime64(3)}} AND Timestamp < {{end:DateTime64(3)}}
GROUP BY PromptFingerprint, feature, team, Model
HAVING calls > 0 AND spend > baseline_hourly * {hours:.9f}
ORDER BY spend - baseline_hourly * {hours:.9f} DESC
LIMIT {int(limit)}""",
        parameters={"start": start, "end": end, "baseline_start": baseline_start},
    )
    return [
        Mover(fp, prompt or "", feature, team, model, int(calls), spend, baseline, list(trace_ids))
        for fp, prompt, feature, team, model, calls, spend, baseline, trace_ids in result.result_rows
    ]

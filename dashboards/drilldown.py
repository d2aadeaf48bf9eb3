"""Spike drill-down: what grew against its baseline, and the individual calls behind it."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.clickhouse import (
    CALLS_IN_RANGE,
    DATASOURCE,
    DB,
    TRACE_LINK,
    Query,
    filters,
    link_override,
    new_dashboard,
    rollup_range,
    table_panel,
    usd_overrides,
)
from otel_llmcost.alerting.config import Config

UID = "llmcost-drilldown"
# The baseline: the 7 ranges of the same length before the selected one, averaged.
BASELINE_START = "$__fromTime - toIntervalSecond(7 * dateDiff('second', $__fromTime, $__toTime))"


def _delta(dimension_sql: str, label: str, extra_columns: str = "", extra_source: str = "") -> str:
    return f"""SELECT
    {dimension_sql} AS {label},{extra_columns}
    sumIf(Calls, Bucket >= $__fromTime) AS calls,
    toFloat64(sumIf(CostUSD, Bucket >= $__fromTime)) AS spend,
    toFloat64(sumIf(CostUSD, Bucket < $__fromTime)) / 7 AS baseline,
    spend - baseline AS delta
FROM {rollup_range(f"Bucket, Calls, CostUSD, {extra_source or dimension_sql}", start=BASELINE_START)}
GROUP BY {label}
ORDER BY delta DESC
LIMIT 20"""


def build(config: Config) -> dashboard.Dashboard:
    prompt_names = f"""(
    SELECT PromptFingerprint, anyIf(PromptName, PromptName != '') AS prompt_name
    FROM {DB}.llm_calls
    WHERE Timestamp >= {BASELINE_START} AND Timestamp < $__toTime AND {filters()}
    GROUP BY PromptFingerprint
)"""
    return (
        new_dashboard(
            UID,
            "LLM cost: spike drill-down",
            "Cost against its baseline by prompt, feature and model; the calls behind a spike.",
        )
        .with_variable(dashboard.TextBoxVariable("trace_id").label("Trace id").description("Shown in the trace panel"))
        .with_row(dashboard.Row("What grew (the range vs the average of the 7 ranges of the same length before it)"))
        .with_panel(
            usd_overrides(
                table_panel(
                    "Cost delta by prompt",
                    "Spend per prompt fingerprint against its baseline; names from the calls.",
                    f"""SELECT d.fingerprint, n.prompt_name, d.calls, d.spend, d.baseline, d.delta
FROM ({_delta("PromptFingerprint", "fingerprint")}) AS d
LEFT JOIN {prompt_names} AS n ON n.PromptFingerprint = d.fingerprint
ORDER BY d.delta DESC""",
                    width=24,
                ),
                "spend",
                "baseline",
                "delta",
            )
        )
        .with_panel(
            usd_overrides(
                table_panel(
                    "Cost delta by feature",
                    "Spend per feature against its baseline.",
                    _delta("if(Feature = '', '(unattributed)', Feature)", "feature", extra_source="Feature"),
                    width=12,
                ),
                "spend",
                "baseline",
                "delta",
            )
        )
        .with_panel(
            usd_overrides(
                table_panel(
                    "Cost delta by model", "Spend per model against its baseline.", _delta("Model", "model"), width=12
                ),
                "spend",
                "baseline",
                "delta",
            )
        )
        .with_row(dashboard.Row("The calls behind it"))
        .with_panel(
            link_override(
                usd_overrides(
                    table_panel(
                        "Most expensive calls",
                        "The 50 most expensive single calls in the range. Click a trace id to open the trace below.",
                        f"""SELECT
    Timestamp AS time,
    TraceId AS trace_id,
    SpanId AS span_id,
    if(Team = '', '(unattributed)', Team) AS team,
    if(Feature = '', '(unattributed)', Feature) AS feature,
    Model AS model,
    PromptName AS prompt_name,
    PromptFingerprint AS fingerprint,
    InputTokens AS input_tokens,
    OutputTokens AS output_tokens,
    toFloat64(CostUSD) AS cost
FROM {DB}.llm_calls
WHERE {CALLS_IN_RANGE}
ORDER BY cost DESC
LIMIT 50""",
                        width=24,
                        height=10,
                    ),
                    "cost",
                ),
                "trace_id",
                "Open this trace",
                TRACE_LINK,
            )
        )
        .with_panel(
            dashboard.Panel()
            .type("traces")
            .title("Trace")
            .description("The trace named in the trace id variable.")
            .datasource(DATASOURCE)
            .height(12)
            .span(24)
            .with_target(Query(TRACE_SQL, "traces"))
        )
    )


TRACE_SQL = f"""SELECT
    TraceId AS traceID,
    SpanId AS spanID,
    ParentSpanId AS parentSpanID,
    ServiceName AS serviceName,
    SpanName AS operationName,
    toUnixTimestamp64Nano(Timestamp) / 1000000 AS startTime,
    Duration / 1000000 AS duration,
    arrayMap(key -> map('key', key, 'value', SpanAttributes[key]), mapKeys(SpanAttributes)) AS tags,
    arrayMap(key -> map('key', key, 'value', ResourceAttributes[key]), mapKeys(ResourceAttributes)) AS serviceTags
FROM {DB}.otel_traces
WHERE TraceId = '${{trace_id}}'
ORDER BY startTime"""

"""Agents & tools: what an agent run costs, how many steps it takes, and what its tools cost.

Runs and tools are read from their spans in otel_traces (``invoke_agent <agent>`` and
``execute_tool <tool>``), which carry the cost roll-up of the LLM calls inside them; steps
are the LLM call spans with ``llmcost.agent.step``. Retries come from llm_calls.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, dashboard

from dashboards.clickhouse import (
    CALLS_IN_RANGE,
    DATASOURCE,
    DB,
    TRACE_LINK,
    Query,
    filters,
    link_override,
    new_dashboard,
    stat_panel,
    table_panel,
    usd_overrides,
)
from otel_llmcost import semconv as sc
from otel_llmcost.alerting.config import Config
from otel_llmcost.alerting.rules import RETRY_GROUP

UID = "llmcost-agents"
SPANS_IN_RANGE = f"Timestamp >= $__fromTime AND Timestamp < $__toTime AND {filters({'service': 'ServiceName'})}"


def _attr(name: str) -> str:
    return f"SpanAttributes['{name}']"


def _number(name: str) -> str:
    return f"toFloat64OrZero({_attr(name)})"


RUNS = f"""(
    SELECT TraceId, SpanId, Timestamp, Duration,
        {_attr(sc.GEN_AI_AGENT_NAME)} AS agent,
        {_number(sc.LLMCOST_ROLLUP_COST)} AS cost,
        {_number(sc.LLMCOST_AGENT_STEPS)} AS steps
    FROM {DB}.otel_traces
    WHERE SpanName LIKE '{sc.OP_INVOKE_AGENT} %' AND {SPANS_IN_RANGE}
)"""


def build(config: Config) -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID, "LLM cost: agents & tools", "Cost per agent run, steps, context growth, retries and tool cost."
        )
        .with_row(dashboard.Row("Runs"))
        .with_panel(
            stat_panel(
                "Cost per agent run",
                "Average LLM cost of one agent run (invoke_agent spans that ended in the range).",
                f"SELECT avg(cost) AS cost_per_run FROM {RUNS}",
                "currencyUSD",
                width=6,
                decimals=4,
            )
        )
        .with_panel(
            stat_panel(
                "Steps per run",
                "Average number of LLM calls in one agent run.",
                f"SELECT avg(steps) AS steps_per_run FROM {RUNS}",
                "short",
                width=6,
                decimals=1,
            )
        )
        .with_panel(
            stat_panel(
                "Cost per trace",
                "Average LLM cost of one trace that made LLM calls inside an agent.",
                f"""SELECT avg(trace_cost) AS cost_per_trace FROM (
    SELECT TraceId, toFloat64(sum(CostUSD)) AS trace_cost
    FROM {DB}.llm_calls
    WHERE {CALLS_IN_RANGE} AND AgentName != ''
    GROUP BY TraceId
)""",
                "currencyUSD",
                width=6,
                decimals=4,
            )
        )
        .with_panel(
            stat_panel(
                "Retries",
                "LLM calls that resent a request already sent in the same trace (same prompt fingerprint, same input size).",
                f"""SELECT sum(attempts - 1) AS retries FROM (
    SELECT {RETRY_GROUP}, count() AS attempts
    FROM {DB}.llm_calls
    WHERE {CALLS_IN_RANGE} AND TraceId != '' AND PromptFingerprint != ''
    GROUP BY {RETRY_GROUP}
)""",
                "short",
                width=6,
            )
        )
        .with_panel(
            usd_overrides(
                table_panel(
                    "Agents",
                    "Runs, cost and steps per agent.",
                    f"""SELECT
    agent,
    count() AS runs,
    sum(cost) AS total_cost,
    avg(cost) AS cost_per_run,
    quantile(0.95)(cost) AS p95_cost_per_run,
    avg(steps) AS steps_per_run,
    max(steps) AS max_steps
FROM {RUNS}
GROUP BY agent
ORDER BY total_cost DESC""",
                    width=12,
                ),
                "total_cost",
                "cost_per_run",
                "p95_cost_per_run",
            )
        )
        .with_panel(
            link_override(
                usd_overrides(
                    table_panel(
                        "Most expensive runs",
                        "The 20 agent runs that cost most. Click a trace id to open it in the drill-down.",
                        f"""SELECT TraceId AS trace_id, agent, Timestamp AS started, steps, cost, Duration / 1e9 AS seconds
FROM {RUNS}
ORDER BY cost DESC
LIMIT 20""",
                        width=12,
                    ),
                    "cost",
                ),
                "trace_id",
                "Open this trace",
                TRACE_LINK,
            )
        )
        .with_row(dashboard.Row("Steps and tools"))
        .with_panel(
            barchart.Panel()
            .title("Input tokens per step")
            .description(
                "Average input tokens of an agent's n-th LLM call: a rising line is context that keeps growing."
            )
            .datasource(DATASOURCE)
            .height(8)
            .span(12)
            .unit("short")
            .with_target(
                Query(f"""SELECT
    toString(toUInt32OrZero({_attr(sc.LLMCOST_AGENT_STEP)})) AS step,
    avg(toUInt64OrZero({_attr(sc.GEN_AI_USAGE_INPUT_TOKENS)})) AS input_tokens
FROM {DB}.otel_traces
WHERE mapContains(SpanAttributes, '{sc.LLMCOST_AGENT_STEP}') AND {SPANS_IN_RANGE}
GROUP BY step
ORDER BY toUInt32(step)""")
            )
        )
        .with_panel(
            usd_overrides(
                table_panel(
                    "Cost per tool",
                    "Tool calls, the LLM cost inside them, and what their results cost when resent to the model in later steps.",
                    f"""SELECT
    {_attr(sc.GEN_AI_TOOL_NAME)} AS tool,
    count() AS calls,
    sum({_number(sc.LLMCOST_ROLLUP_COST)}) AS llm_cost_inside,
    sum({_number(sc.LLMCOST_TOOL_RESENT_COST)}) AS resent_result_cost,
    llm_cost_inside + resent_result_cost AS total_cost
FROM {DB}.otel_traces
WHERE SpanName LIKE '{sc.OP_EXECUTE_TOOL} %' AND {SPANS_IN_RANGE}
GROUP BY tool
ORDER BY total_cost DESC""",
                    width=12,
                ),
                "llm_cost_inside",
                "resent_result_cost",
                "total_cost",
            )
        )
        .with_panel(
            usd_overrides(
                table_panel(
                    "Retries by feature",
                    "Resent requests and what the repeats cost, per agent and feature.",
                    f"""SELECT
    if(AgentName = '', '(no agent)', AgentName) AS agent,
    if(Feature = '', '(unattributed)', Feature) AS feature,
    sum(attempts - 1) AS retries,
    sum(repeat_cost) AS retry_cost
FROM (
    SELECT AgentName, Feature, {RETRY_GROUP}, count() AS attempts, toFloat64(sum(CostUSD) - min(CostUSD)) AS repeat_cost
    FROM {DB}.llm_calls
    WHERE {CALLS_IN_RANGE} AND TraceId != '' AND PromptFingerprint != ''
    GROUP BY AgentName, Feature, {RETRY_GROUP}
)
GROUP BY agent, feature
HAVING retries > 0
ORDER BY retry_cost DESC""",
                    width=24,
                ),
                "retry_cost",
            )
        )
    )

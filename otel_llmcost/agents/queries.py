"""ClickHouse queries over agent traces: cost per run, per tool, and one run step by step.

Costs come from the trace tree, not from the roll-up attributes our spans carry: every LLM
call (a row of ``llm_calls``, so store-priced and OpenLIT calls count too) is charged to each
``invoke_agent`` / ``execute_tool`` span above it, at any depth, found with a recursive CTE over
``otel_traces``. Spans from any instrumentation that follows the GenAI agent conventions work.
The roll-up an otel-llmcost span recorded in-process is returned next to it (``RecordedCostUSD``)
as a cross-check. Resent tool results (what a tool's output cost when sent back to the model at
later steps) exist only as our attributes: the per-tool query reads them from the run spans'
parallel arrays.

Each function returns SQL with server-side parameters, for ``client.query(sql, parameters=...)``:
``since`` / ``until`` (DateTime64, the window the runs or tools started in) and, for
``run_steps_sql``, ``run_span_id`` (16 hex). Only runs and tools that started in the window are
reported; their whole traces are read, so a call that ended after ``until`` still counts.
"""

from __future__ import annotations

from otel_llmcost import semconv as sc
from otel_llmcost.store.ddl import check_identifier

TRACES = "otel_traces"
LLM_CALLS = "llm_calls"
WINDOW = "Timestamp >= {since:DateTime64(9)} AND Timestamp < {until:DateTime64(9)}"
OPERATION = f"SpanAttributes['{sc.GEN_AI_OPERATION_NAME}']"


def _tree(database: str, root_operation: str) -> str:
    """CTEs ``roots`` (spans of ``root_operation`` started in the window), ``spans`` (their traces)
    and ``calls_under`` (cost and usage of the LLM calls beneath each root, roots with none omitted)."""
    db = check_identifier(database, "database name")
    return f"""
    traces AS (
        SELECT DISTINCT TraceId FROM {db}.{TRACES}
        WHERE {WINDOW} AND {OPERATION} = '{root_operation}'
    ),
    spans AS (
        SELECT Timestamp, TraceId, SpanId, ParentSpanId, ServiceName, SpanAttributes, Duration, StatusCode
        FROM {db}.{TRACES} WHERE TraceId IN (SELECT TraceId FROM traces)
    ),
    roots AS (
        SELECT * FROM spans WHERE {WINDOW} AND {OPERATION} = '{root_operation}'
    ),
    tree AS (
        SELECT TraceId, SpanId AS RootSpanId, SpanId FROM roots
        UNION ALL
        SELECT spans.TraceId, tree.RootSpanId, spans.SpanId
        FROM spans INNER JOIN tree ON spans.TraceId = tree.TraceId AND spans.ParentSpanId = tree.SpanId
    ),
    calls_under AS (
        SELECT tree.TraceId AS TraceId, tree.RootSpanId AS RootSpanId,
            sum(calls.CostUSD) AS CostUSD, count() AS LLMCalls, sum(calls.Unpriced) AS UnpricedCalls,
            sum(calls.InputTokens) AS InputTokens, sum(calls.OutputTokens) AS OutputTokens
        FROM tree
        INNER JOIN (
            SELECT TraceId, SpanId, CostUSD, Unpriced, InputTokens, OutputTokens FROM {db}.{LLM_CALLS}
            WHERE TraceId IN (SELECT TraceId FROM traces)
        ) AS calls ON calls.TraceId = tree.TraceId AND calls.SpanId = tree.SpanId
        GROUP BY tree.TraceId, tree.RootSpanId
    )"""


def runs_sql(database: str = "otel") -> str:
    """One row per agent run started in the window, most expensive first."""
    return f"""WITH RECURSIVE {_tree(database, sc.OP_INVOKE_AGENT)}
SELECT
    roots.Timestamp AS Timestamp,
    roots.TraceId AS TraceId,
    roots.SpanId AS RunSpanId,
    roots.ServiceName AS ServiceName,
    roots.SpanAttributes['{sc.GEN_AI_AGENT_NAME}'] AS AgentName,
    coalesce(under.CostUSD, toDecimal128(0, 12)) AS CostUSD,
    coalesce(under.LLMCalls, 0) AS LLMCalls,
    coalesce(under.UnpricedCalls, 0) AS UnpricedCalls,
    coalesce(under.InputTokens, 0) AS InputTokens,
    coalesce(under.OutputTokens, 0) AS OutputTokens,
    toFloat64OrNull(roots.SpanAttributes['{sc.LLMCOST_ROLLUP_COST}']) AS RecordedCostUSD,
    toUInt32OrZero(roots.SpanAttributes['{sc.LLMCOST_AGENT_STEPS}']) AS Steps,
    toUInt64OrZero(roots.SpanAttributes['{sc.LLMCOST_AGENT_MAX_INPUT_TOKENS}']) AS MaxInputTokens,
    toUInt32OrZero(roots.SpanAttributes['{sc.LLMCOST_AGENT_RETRIES}']) AS Retries,
    toFloat64OrZero(roots.SpanAttributes['{sc.LLMCOST_AGENT_RETRY_COST}']) AS RetryCostUSD,
    roots.SpanAttributes['{sc.LLMCOST_AGENT_RUNAWAY}'] = 'true' AS Runaway,
    roots.StatusCode = 'Error' AS IsError,
    roots.Duration / 1e6 AS DurationMs
FROM roots
LEFT JOIN calls_under AS under ON under.TraceId = roots.TraceId AND under.RootSpanId = roots.SpanId
ORDER BY CostUSD DESC, Timestamp"""


def tools_sql(database: str = "otel") -> str:
    """One row per (agent, tool): calls, errors, the cost of LLM calls the tool made itself (``OwnCostUSD``),
    and what its results cost when resent to the model (``ResentCostUSD``), most expensive first.

    Resent costs are charged to the runs started in the window; a tool outside any run has none."""
    return f"""WITH RECURSIVE {_tree(database, sc.OP_EXECUTE_TOOL)},
    runs AS (
        SELECT DISTINCT TraceId, SpanId, SpanAttributes
        FROM {check_identifier(database, "database name")}.{TRACES}
        WHERE {WINDOW} AND {OPERATION} = '{sc.OP_INVOKE_AGENT}'
            AND mapContains(SpanAttributes, '{sc.LLMCOST_AGENT_TOOL_NAMES}')
    ),
    per_tool AS (
        SELECT
            roots.SpanAttributes['{sc.GEN_AI_AGENT_NAME}'] AS AgentName,
            roots.SpanAttributes['{sc.GEN_AI_TOOL_NAME}'] AS ToolName,
            1 AS Calls,
            toUInt64(roots.StatusCode = 'Error') AS Errors,
            toFloat64(coalesce(under.CostUSD, 0)) AS OwnCostUSD,
            coalesce(under.LLMCalls, 0) AS OwnLLMCalls,
            toUInt64(0) AS ResentInputTokens,
            toFloat64(0) AS ResentCostUSD
        FROM roots
        LEFT JOIN calls_under AS under ON under.TraceId = roots.TraceId AND under.RootSpanId = roots.SpanId
        UNION ALL
        SELECT
            SpanAttributes['{sc.GEN_AI_AGENT_NAME}'] AS AgentName,
            ToolName,
            0, toUInt64(0), toFloat64(0), toUInt64(0),
            ResentInputTokens,
            ResentCostUSD
        FROM runs
        ARRAY JOIN
            JSONExtract(SpanAttributes['{sc.LLMCOST_AGENT_TOOL_NAMES}'], 'Array(String)') AS ToolName,
            JSONExtract(SpanAttributes['{sc.LLMCOST_AGENT_TOOL_RESENT_INPUT_TOKENS}'], 'Array(UInt64)')
                AS ResentInputTokens,
            JSONExtract(SpanAttributes['{sc.LLMCOST_AGENT_TOOL_RESENT_COST}'], 'Array(Float64)') AS ResentCostUSD
    )
SELECT
    AgentName,
    ToolName,
    sum(Calls) AS Calls,
    sum(Errors) AS Errors,
    sum(OwnCostUSD) AS OwnCostUSD,
    sum(OwnLLMCalls) AS OwnLLMCalls,
    sum(ResentInputTokens) AS ResentInputTokens,
    sum(ResentCostUSD) AS ResentCostUSD,
    OwnCostUSD + ResentCostUSD AS TotalCostUSD
FROM per_tool
GROUP BY AgentName, ToolName
ORDER BY TotalCostUSD DESC, AgentName, ToolName"""


def run_steps_sql(database: str = "otel") -> str:
    """The LLM calls of one run in step order: context growth, resent tool results, retries, cost.
    A call that failed without usage has zero tokens and cost here."""
    db = check_identifier(database, "database name")
    return f"""SELECT
    toUInt32OrZero(spans.SpanAttributes['{sc.LLMCOST_AGENT_STEP}']) AS Step,
    spans.SpanId AS SpanId,
    calls.Model AS Model,
    calls.InputTokens AS InputTokens,
    calls.OutputTokens AS OutputTokens,
    calls.CostUSD AS CostUSD,
    toUInt64OrZero(spans.SpanAttributes['{sc.LLMCOST_TOOL_RESULTS_INPUT_TOKENS}']) AS ToolResultTokens,
    toFloat64OrZero(spans.SpanAttributes['{sc.LLMCOST_TOOL_RESULTS_COST}']) AS ToolResultCostUSD,
    spans.SpanAttributes['{sc.LLMCOST_RETRY}'] = 'true' AS IsRetry,
    spans.SpanAttributes['{sc.LLMCOST_RETRY_OF}'] AS RetryOf,
    calls.ToolCallNames AS ToolCallNames,
    spans.StatusCode = 'Error' AS IsError
FROM {db}.{TRACES} AS spans
LEFT JOIN {db}.{LLM_CALLS} AS calls ON calls.TraceId = spans.TraceId AND calls.SpanId = spans.SpanId
WHERE spans.Timestamp >= {{since:DateTime64(9)}} AND spans.Timestamp < {{until:DateTime64(9)}}
    AND spans.SpanAttributes['{sc.LLMCOST_AGENT_RUN_SPAN_ID}'] = {{run_span_id:String}}
ORDER BY Step"""

"""The alert rules: one definition of each rule's SQL, used by Grafana and by ``alerts check``.

A rule's ``sql`` is written in the Grafana ClickHouse datasource's dialect: ``$__fromTime``,
``$__toTime`` and ``$__timeFilter(column)`` stand for the evaluation's time range, which is
``lookback`` long and ends at the evaluation time. Grafana expands them itself; the CLI
expands the same macros (``otel_llmcost.alerting.timemacros``). The query returns one row
per alert instance: string label columns, then one Float64 column ``value``. The rule fires
for the rows whose ``value`` is above ``threshold`` (Grafana: a reduce and a threshold
expression; the CLI: the same comparison).

Each rule also carries three diagnostic queries for its runbook and for ``alerts check``.
They use ClickHouse query parameters: ``{from:DateTime}``/``{to:DateTime}`` bound the window
that fired and ``{<label>:String}`` the firing instance's labels, so they run unchanged in
clickhouse-client (``--param_team=search``) and through clickhouse-connect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from otel_llmcost.alerting.config import Config

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MONTH_LOOKBACK = timedelta(days=32)  # covers any month-to-date
# llm_calls rows of calls that came back with usage: a failed call without any (CostSource '' and
# Unpriced 0, see store/llm_calls.py) has no tokens to average. The rollups count those in NoUsageCalls.
WITH_USAGE = "NOT (CostSource = '' AND Unpriced = 0)"

# label -> SQL over llm_calls / rollup columns. Empty attribution gets a visible name: Grafana
# drops empty labels, and "unattributed" is itself worth seeing on a budget.
LABEL_SQL = {
    "team": "if(Team = '', 'unattributed', Team)",
    "service": "ServiceName",
    "feature": "if(Feature = '', 'unattributed', Feature)",
    "model": "Model",
    "agent": "if(AgentName = '', '(no agent)', AgentName)",
}


@dataclass(frozen=True)
class Diagnostic:
    title: str
    sql: str


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    summary: str  # Grafana annotation template: {{ $labels.<label> }}, {{ $values.B.Value }}
    description: str
    severity: str
    threshold: float
    lookback: timedelta
    labels: tuple[str, ...]
    unit: str  # what `value` measures, for messages
    sql: str
    window_text: str  # the window a firing instance is about, in words (runbooks)
    window_start: Callable[[datetime], datetime]
    diagnostics: tuple[Diagnostic, ...]
    levers: tuple[str, ...]

    @property
    def uid(self) -> str:
        return f"llmcost-{self.name.replace('_', '-')}"


def build_rules(config: Config, database: str | None = None) -> list[Rule]:
    """The enabled rules with the thresholds of ``config``, reading tables in ``database``."""
    db = database or config.database
    rules = []
    for name, builder in _BUILDERS.items():
        settings = config.rule(name)
        if not settings["enabled"]:
            continue
        rule = builder(db, settings, config)
        if rule is not None:
            rules.append(rule)
    return rules


def _labels(names: tuple[str, ...]) -> str:
    return ", ".join(f"{LABEL_SQL[name]} AS {name}" for name in names)


def _match(names: tuple[str, ...]) -> str:
    """Filter of a diagnostic query to one firing instance."""
    return " AND ".join(f"{LABEL_SQL[name]} = {{{name}:String}}" for name in names)


def _window(seconds_back: timedelta) -> Callable[[datetime], datetime]:
    return lambda at: at - seconds_back


def _month_start(at: datetime) -> datetime:
    at = at.astimezone(timezone.utc)
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


# --- diagnostics shared by several rules --------------------------------------------------

WINDOW = "Timestamp >= {from:DateTime} AND Timestamp < {to:DateTime}"
# The 7 windows of the same length before the one that fired, and that window: a baseline.
WITH_BASELINE = (
    "Timestamp >= {from:DateTime} - toIntervalSecond(7 * dateDiff('second', {from:DateTime}, {to:DateTime})) "
    "AND Timestamp < {to:DateTime}"
)


def _prompts_vs_baseline(db: str, match: str) -> Diagnostic:
    return Diagnostic(
        "Which prompts grew: cost by prompt fingerprint in the window vs the average of the 7 windows before",
        f"""SELECT
    PromptFingerprint AS fingerprint,
    anyIf(PromptName, PromptName != '') AS prompt_name,
    countIf(Timestamp >= {{from:DateTime}}) AS calls,
    toFloat64(sumIf(CostUSD, Timestamp >= {{from:DateTime}})) AS cost_usd,
    toFloat64(sumIf(CostUSD, Timestamp < {{from:DateTime}})) / 7 AS baseline_usd,
    cost_usd - baseline_usd AS delta_usd
FROM {db}.llm_calls
WHERE {WITH_BASELINE} AND {match}
GROUP BY fingerprint
ORDER BY delta_usd DESC
LIMIT 10""",
    )


def _models_vs_baseline(db: str, match: str) -> Diagnostic:
    return Diagnostic(
        "Which models and features: cost in the window vs the average of the 7 windows before",
        f"""SELECT
    Model AS model,
    {LABEL_SQL["feature"]} AS feature,
    countIf(Timestamp >= {{from:DateTime}}) AS calls,
    toFloat64(sumIf(CostUSD, Timestamp >= {{from:DateTime}})) AS cost_usd,
    toFloat64(sumIf(CostUSD, Timestamp < {{from:DateTime}})) / 7 AS baseline_usd,
    cost_usd - baseline_usd AS delta_usd
FROM {db}.llm_calls
WHERE {WITH_BASELINE} AND {match}
GROUP BY model, feature
ORDER BY delta_usd DESC
LIMIT 10""",
    )


def _top_traces(db: str, match: str) -> Diagnostic:
    return Diagnostic(
        "Which requests: the most expensive traces in the window (open them in the trace view)",
        f"""SELECT
    TraceId AS trace_id,
    min(Timestamp) AS started,
    count() AS llm_calls,
    toFloat64(sum(CostUSD)) AS cost_usd,
    sum(InputTokens) AS input_tokens,
    groupUniqArray(Model) AS models,
    anyIf(PromptName, PromptName != '') AS prompt_name
FROM {db}.llm_calls
WHERE {WINDOW} AND {match}
GROUP BY trace_id
ORDER BY cost_usd DESC
LIMIT 10""",
    )


# --- the rules -------------------------------------------------------------------------------


def _daily_spend_spike(db: str, s: dict, config: Config) -> Rule:
    labels = ("team",)
    recent = "Bucket >= $__toTime - INTERVAL 1 DAY"
    sql = f"""SELECT
    {_labels(labels)},
    toFloat64(sumIf(CostUSD, {recent})) / greatest(toFloat64(sumIf(CostUSD, NOT ({recent}))) / 7, {s["min_baseline_usd"]}) AS value
FROM {db}.llm_cost_1m
WHERE Bucket >= $__fromTime AND Bucket < $__toTime
GROUP BY team
HAVING toFloat64(sumIf(CostUSD, {recent})) >= {s["min_spend_usd"]}"""
    match = _match(labels)
    return Rule(
        name="daily_spend_spike",
        title="Daily LLM spend spike",
        summary=f"Team {{{{ $labels.team }}}} spent {{{{ humanize $values.B.Value }}}}x its daily average in the last 24h (limit {s['factor']:g}x).",
        description=(
            f"A team's LLM spend over the last 24 hours is more than {s['factor']:g} times its average daily spend over the "
            f"7 days before (teams that spent less than ${s['min_spend_usd']:g} are ignored; the average is at least "
            f"${s['min_baseline_usd']:g}, so spend with no history compares too)."
        ),
        severity=s["severity"],
        threshold=s["factor"],
        lookback=DAY + WEEK,
        labels=labels,
        unit="x daily average",
        sql=sql,
        window_text="the last 24 hours",
        window_start=_window(DAY),
        diagnostics=(_prompts_vs_baseline(db, match), _models_vs_baseline(db, match), _top_traces(db, match)),
        levers=LEVERS_SPEND,
    )


def _expensive_request(db: str, s: dict, config: Config) -> Rule:
    labels = ("team", "service", "feature")
    sql = f"""SELECT
    {_labels(labels)},
    max(toFloat64(CostUSD)) AS value
FROM {db}.llm_calls
WHERE $__timeFilter(Timestamp)
GROUP BY team, service, feature"""
    match = _match(labels)
    limit = s["max_cost_usd"]
    return Rule(
        name="expensive_request",
        title="Single LLM request over budget",
        summary=f"A {{{{ $labels.feature }}}} call of team {{{{ $labels.team }}}} cost ${{{{ humanize $values.B.Value }}}} (limit ${limit:g}).",
        description=f"One LLM call cost more than ${limit:g}: usually a huge prompt, a runaway max_tokens or an expensive model.",
        severity=s["severity"],
        threshold=limit,
        lookback=s["window"],
        labels=labels,
        unit="USD for one call",
        sql=sql,
        window_text=f"the last {_words(s['window'])}",
        window_start=_window(s["window"]),
        diagnostics=(
            Diagnostic(
                f"Which calls: every call over ${limit:g} in the window, with its trace",
                f"""SELECT
    Timestamp, TraceId AS trace_id, SpanId AS span_id, Model AS model, PromptName AS prompt_name,
    PromptFingerprint AS fingerprint, InputTokens AS input_tokens, CacheReadTokens AS cache_read_tokens,
    OutputTokens AS output_tokens, ReasoningTokens AS reasoning_tokens, toFloat64(CostUSD) AS cost_usd
FROM {db}.llm_calls
WHERE {WINDOW} AND {match} AND CostUSD > {limit}
ORDER BY cost_usd DESC
LIMIT 20""",
            ),
            Diagnostic(
                "Where the money went in those calls: input, cache, output and reasoning cost",
                f"""SELECT
    Model AS model,
    count() AS calls,
    toFloat64(sum(InputCostUSD)) AS input_usd,
    toFloat64(sum(CacheReadCostUSD + CacheWriteCostUSD)) AS cache_usd,
    toFloat64(sum(OutputCostUSD)) AS output_usd,
    toFloat64(sum(ReasoningCostUSD)) AS reasoning_usd,
    max(InputTokens) AS max_input_tokens,
    max(OutputTokens) AS max_output_tokens
FROM {db}.llm_calls
WHERE {WINDOW} AND {match} AND CostUSD > {limit}
GROUP BY model
ORDER BY input_usd + cache_usd + output_usd DESC""",
            ),
            _prompts_vs_baseline(db, match),
        ),
        levers=LEVERS_REQUEST,
    )


def _team_budget(db: str, s: dict, config: Config) -> Rule | None:
    if not config.budgets:
        return None  # nothing to compare against
    labels = ("team",)
    teams = ", ".join(_quote(team) for team in config.budgets)
    amounts = ", ".join(repr(float(amount)) for amount in config.budgets.values())
    month = "toDateTime(toStartOfMonth($__toTime))"
    # Whole hours from the hourly rollup, the current hour from the minute rollup.
    sql = f"""SELECT
    Team AS team,
    toFloat64(sum(CostUSD)) / transform(Team, [{teams}], [{amounts}], 0.) AS value
FROM (
    SELECT Team, CostUSD FROM {db}.llm_cost_1h
    WHERE Bucket >= {month} AND Bucket < toStartOfHour($__toTime) AND Team IN ({teams})
    UNION ALL
    SELECT Team, CostUSD FROM {db}.llm_cost_1m
    WHERE Bucket >= greatest(toStartOfHour($__toTime), {month}) AND Bucket < $__toTime AND Team IN ({teams})
)
GROUP BY Team"""
    ratio = s["ratio"]
    month_filter = "Team = {team:String} AND " + WINDOW
    return Rule(
        name="team_budget",
        title="Team monthly LLM budget nearly used",
        summary=f"Team {{{{ $labels.team }}}} has used {{{{ humanizePercentage $values.B.Value }}}} of its monthly LLM budget (alert at {ratio:.0%}).",
        description=f"A team's month-to-date LLM spend is above {ratio:.0%} of its monthly budget (budgets: the thresholds file).",
        severity=s["severity"],
        threshold=ratio,
        lookback=MONTH_LOOKBACK,
        labels=labels,
        unit="of the monthly budget",
        sql=sql,
        window_text="this month so far",
        window_start=_month_start,
        diagnostics=(
            Diagnostic(
                "Which features spent the budget this month",
                f"""SELECT
    {LABEL_SQL["feature"]} AS feature,
    Model AS model,
    count() AS calls,
    toFloat64(sum(CostUSD)) AS cost_usd
FROM {db}.llm_calls
WHERE {month_filter}
GROUP BY feature, model
ORDER BY cost_usd DESC
LIMIT 20""",
            ),
            Diagnostic(
                "When: spend per day this month (a step means a change, a ramp means growth)",
                f"""SELECT
    toDate(Timestamp) AS day,
    count() AS calls,
    toFloat64(sum(CostUSD)) AS cost_usd
FROM {db}.llm_calls
WHERE {month_filter}
GROUP BY day
ORDER BY day""",
            ),
            Diagnostic(
                "Which prompts spent it this month",
                f"""SELECT
    PromptFingerprint AS fingerprint,
    anyIf(PromptName, PromptName != '') AS prompt_name,
    count() AS calls,
    toFloat64(sum(CostUSD)) AS cost_usd,
    round(avg(InputTokens)) AS avg_input_tokens
FROM {db}.llm_calls
WHERE {month_filter}
GROUP BY fingerprint
ORDER BY cost_usd DESC
LIMIT 10""",
            ),
        ),
        levers=LEVERS_SPEND,
    )


def _feature_tokens_spike(db: str, s: dict, config: Config) -> Rule:
    labels = ("team", "service", "feature")
    window = s["window"]
    recent = f"Bucket >= $__toTime - INTERVAL {_seconds(window)} SECOND"
    tokens = "InputTokens + OutputTokens"
    requests = "Calls - NoUsageCalls"  # failed calls without usage have no tokens to average
    sql = f"""SELECT
    {_labels(labels)},
    (sumIf({tokens}, {recent}) / sumIf({requests}, {recent}))
        / (sumIf({tokens}, NOT ({recent})) / sumIf({requests}, NOT ({recent}))) AS value
FROM {db}.llm_cost_1m
WHERE Bucket >= $__fromTime AND Bucket < $__toTime
GROUP BY team, service, feature
HAVING sumIf({requests}, {recent}) >= {s["min_calls"]:g} AND sumIf({requests}, NOT ({recent})) > 0"""
    match = _match(labels)
    return Rule(
        name="feature_tokens_spike",
        title="Feature tokens per request spike",
        summary=(
            f"{{{{ $labels.feature }}}} ({{{{ $labels.service }}}}) uses {{{{ humanize $values.B.Value }}}}x its usual tokens "
            f"per request (limit {s['factor']:g}x)."
        ),
        description=(
            f"A feature's tokens per request (input + output) over the last {_words(window)} are more than {s['factor']:g} times "
            f"its average over the 7 days before: a prompt that grew, a context that is not trimmed, a max_tokens lifted."
        ),
        severity=s["severity"],
        threshold=s["factor"],
        lookback=window + WEEK,
        labels=labels,
        unit="x usual tokens per request",
        sql=sql,
        window_text=f"the last {_words(window)}",
        window_start=_window(window),
        diagnostics=(
            Diagnostic(
                "Which prompts grew: tokens per request by prompt fingerprint, window vs the 7 windows before",
                f"""SELECT
    PromptFingerprint AS fingerprint,
    anyIf(PromptName, PromptName != '') AS prompt_name,
    countIf(Timestamp >= {{from:DateTime}}) AS calls,
    avgIf(InputTokens, Timestamp >= {{from:DateTime}}) AS input_per_call,
    avgIf(InputTokens, Timestamp < {{from:DateTime}}) AS baseline_input_per_call,
    avgIf(OutputTokens, Timestamp >= {{from:DateTime}}) AS output_per_call,
    avgIf(OutputTokens, Timestamp < {{from:DateTime}}) AS baseline_output_per_call
FROM {db}.llm_calls
WHERE {WITH_BASELINE} AND {match} AND {WITH_USAGE}
GROUP BY fingerprint
ORDER BY input_per_call + output_per_call - baseline_input_per_call - baseline_output_per_call DESC
LIMIT 10""",
            ),
            Diagnostic(
                "Which calls: the largest requests in the window, with their traces",
                f"""SELECT
    Timestamp, TraceId AS trace_id, Model AS model, PromptName AS prompt_name, PromptFingerprint AS fingerprint,
    InputTokens AS input_tokens, CacheReadTokens AS cache_read_tokens, OutputTokens AS output_tokens,
    toFloat64(CostUSD) AS cost_usd
FROM {db}.llm_calls
WHERE {WINDOW} AND {match}
ORDER BY input_tokens + output_tokens DESC
LIMIT 20""",
            ),
            _models_vs_baseline(db, match),
        ),
        levers=LEVERS_TOKENS,
    )


# A retry is the same request sent again in one trace: same prompt fingerprint and the same
# input size. Agent steps share a fingerprint too, but each step's input grows, so they differ.
RETRY_GROUP = "TraceId, PromptFingerprint, InputTokens"


def _retry_storm(db: str, s: dict, config: Config) -> Rule:
    labels = ("team", "service", "feature")
    sql = f"""SELECT
    {", ".join(labels)},
    toFloat64(sum(attempts - 1)) AS value
FROM (
    SELECT {_labels(labels)}, {RETRY_GROUP}, count() AS attempts
    FROM {db}.llm_calls
    WHERE $__timeFilter(Timestamp) AND TraceId != '' AND PromptFingerprint != ''
    GROUP BY team, service, feature, {RETRY_GROUP}
)
GROUP BY team, service, feature"""
    match = _match(labels)
    return Rule(
        name="retry_storm",
        title="LLM retry storm",
        summary=f"{{{{ $labels.feature }}}} ({{{{ $labels.service }}}}) resent the same prompt {{{{ $values.B.Value }}}} times (limit {s['max_retries']:g}).",
        description=(
            f"More than {s['max_retries']:g} LLM requests in {_words(s['window'])} were repeats of a request already sent in the "
            "same trace (same prompt fingerprint, same input size): retries after errors, timeouts or rejected output, each paid in full."
        ),
        severity=s["severity"],
        threshold=s["max_retries"],
        lookback=s["window"],
        labels=labels,
        unit="retries",
        sql=sql,
        window_text=f"the last {_words(s['window'])}",
        window_start=_window(s["window"]),
        diagnostics=(
            Diagnostic(
                "Which requests were resent: attempts per trace and prompt, with what the repeats cost",
                f"""SELECT
    TraceId AS trace_id,
    PromptFingerprint AS fingerprint,
    anyIf(PromptName, PromptName != '') AS prompt_name,
    InputTokens AS input_tokens,
    count() AS attempts,
    countIf(IsError = 1) AS errors,
    toFloat64(sum(CostUSD) - min(CostUSD)) AS repeat_cost_usd
FROM {db}.llm_calls
WHERE {WINDOW} AND {match} AND TraceId != '' AND PromptFingerprint != ''
GROUP BY {RETRY_GROUP}
HAVING attempts > 1
ORDER BY attempts DESC, repeat_cost_usd DESC
LIMIT 20""",
            ),
            Diagnostic(
                "Why: errors and finish reasons of the calls in the window",
                f"""SELECT
    Model AS model,
    if(IsError = 1, ErrorType, 'ok') AS outcome,
    arrayStringConcat(FinishReasons, ',') AS finish_reasons,
    count() AS calls,
    toFloat64(sum(CostUSD)) AS cost_usd
FROM {db}.llm_calls
WHERE {WINDOW} AND {match}
GROUP BY model, outcome, finish_reasons
ORDER BY calls DESC
LIMIT 20""",
            ),
            _top_traces(db, match),
        ),
        levers=LEVERS_RETRIES,
    )


def _runaway_agent(db: str, s: dict, config: Config) -> Rule:
    labels = ("team", "service", "agent")
    runaway = f"steps > {s['max_steps']:g} OR cost_usd > {s['max_cost_usd']:g}"
    # From llm_calls, not the invoke_agent span: that span is written when the run ends, and a
    # runaway run may not end. Calls outside agents that repeat are the retry storm rule's.
    sql = f"""SELECT
    {", ".join(labels)},
    toFloat64(countIf({runaway})) AS value
FROM (
    SELECT {_labels(labels)}, TraceId, count() AS steps, toFloat64(sum(CostUSD)) AS cost_usd
    FROM {db}.llm_calls
    WHERE $__timeFilter(Timestamp) AND TraceId != '' AND AgentName != ''
    GROUP BY team, service, agent, TraceId
)
GROUP BY team, service, agent"""
    match = _match(labels)
    return Rule(
        name="runaway_agent",
        title="Runaway agent",
        summary=(
            f"{{{{ $values.B.Value }}}} run(s) of {{{{ $labels.agent }}}} ({{{{ $labels.service }}}}) went over "
            f"{s['max_steps']:g} LLM calls or ${s['max_cost_usd']:g} in one trace."
        ),
        description=(
            f"An agent made more than {s['max_steps']:g} LLM calls, or spent more than ${s['max_cost_usd']:g}, within one trace "
            f"in the last {_words(s['window'])}: a loop that does not converge, a tool that keeps failing, a context that keeps growing."
        ),
        severity=s["severity"],
        threshold=0.0,
        lookback=s["window"],
        labels=labels,
        unit="runaway traces",
        sql=sql,
        window_text=f"the last {_words(s['window'])}",
        window_start=_window(s["window"]),
        diagnostics=(
            Diagnostic(
                "Which runs: traces over the step or cost limit",
                f"""SELECT
    TraceId AS trace_id,
    min(Timestamp) AS started,
    count() AS steps,
    toFloat64(sum(CostUSD)) AS cost_usd,
    max(InputTokens) AS max_input_tokens,
    groupUniqArray(Model) AS models
FROM {db}.llm_calls
WHERE {WINDOW} AND {match} AND TraceId != ''
GROUP BY trace_id
HAVING {runaway}
ORDER BY cost_usd DESC
LIMIT 20""",
            ),
            Diagnostic(
                "Is the context growing: input tokens step by step in the costliest run",
                f"""SELECT
    row_number() OVER (ORDER BY Timestamp) AS step,
    Timestamp,
    InputTokens AS input_tokens,
    OutputTokens AS output_tokens,
    ToolCallNames AS tool_calls,
    toFloat64(CostUSD) AS cost_usd
FROM {db}.llm_calls
WHERE TraceId = (
    SELECT TraceId FROM {db}.llm_calls
    WHERE {WINDOW} AND {match} AND TraceId != ''
    GROUP BY TraceId ORDER BY sum(CostUSD) DESC LIMIT 1
) AND {match}
ORDER BY Timestamp""",
            ),
            Diagnostic(
                "Which tools does it keep calling",
                f"""SELECT
    arrayJoin(ToolCallNames) AS tool,
    count() AS calls_asking_for_it,
    uniqExact(TraceId) AS traces
FROM {db}.llm_calls
WHERE {WINDOW} AND {match}
GROUP BY tool
ORDER BY calls_asking_for_it DESC
LIMIT 20""",
            ),
        ),
        levers=LEVERS_AGENT,
    )


def _unpriced_spend(db: str, s: dict, config: Config) -> Rule:
    labels = ("team", "service", "model")
    sql = f"""SELECT
    {_labels(labels)},
    toFloat64(sum(UnpricedCalls)) AS value
FROM {db}.llm_cost_1m
WHERE Bucket >= $__fromTime AND Bucket < $__toTime
GROUP BY team, service, model
HAVING sum(UnpricedCalls) > 0"""
    match = _match(labels)
    return Rule(
        name="unpriced_spend",
        title="Spend on unpriced models",
        summary="{{ $values.B.Value }} calls to {{ $labels.model }} ({{ $labels.service }}) have no price: their cost is unknown.",
        description=(
            "Calls went to a model that has no price in the catalog or the overrides file, so their cost is missing from every "
            "dashboard and budget. Add the price (OTEL_LLMCOST_PRICING_FILE) and run `otel-llmcost reprice`."
        ),
        severity=s["severity"],
        threshold=s["max_calls"],
        lookback=s["window"],
        labels=labels,
        unit="unpriced calls",
        sql=sql,
        window_text=f"the last {_words(s['window'])}",
        window_start=_window(s["window"]),
        diagnostics=(
            Diagnostic(
                "Which model names: what was requested and what answered",
                f"""SELECT
    Provider AS provider,
    RequestModel AS request_model,
    Model AS response_model,
    count() AS calls,
    sum(InputTokens) AS input_tokens,
    sum(OutputTokens) AS output_tokens
FROM {db}.llm_calls
WHERE {WINDOW} AND {match} AND Unpriced = 1
GROUP BY provider, request_model, response_model
ORDER BY calls DESC""",
            ),
            Diagnostic(
                "Who calls it: features and prompts",
                f"""SELECT
    {LABEL_SQL["feature"]} AS feature,
    anyIf(PromptName, PromptName != '') AS prompt_name,
    PromptFingerprint AS fingerprint,
    count() AS calls
FROM {db}.llm_calls
WHERE {WINDOW} AND {match} AND Unpriced = 1
GROUP BY feature, fingerprint
ORDER BY calls DESC
LIMIT 20""",
            ),
            Diagnostic(
                "Sample traces to check the model name and the provider",
                f"""SELECT
    Timestamp, TraceId AS trace_id, SpanId AS span_id, Provider AS provider, RequestModel AS request_model,
    InputTokens AS input_tokens, OutputTokens AS output_tokens
FROM {db}.llm_calls
WHERE {WINDOW} AND {match} AND Unpriced = 1
ORDER BY Timestamp DESC
LIMIT 10""",
            ),
        ),
        levers=(
            "Add the model's price to the overrides file (OTEL_LLMCOST_PRICING_FILE) or upgrade otel-llmcost for a newer catalog.",
            "Run `otel-llmcost reprice` so past calls get their cost.",
            "If the model name is a deployment alias (Azure, a proxy), map it to the catalog model in the overrides file.",
            "Kill switch: if nobody approved this model, block it at the gateway or in the client's allow-list.",
        ),
    )


LEVERS_SPEND = (
    "Cheaper model: route the grown feature or prompt to a smaller tier (see the model-tier panel) where quality allows.",
    "Cap max_tokens on the prompts that grew; long outputs are billed at the output rate.",
    "Prompt caching: keep the static prefix (system prompt, tools) first and stable so it is billed at the cache-read rate.",
    "Batch: move offline work (evals, backfills, summaries) to the Batch API at about half price.",
    "Kill switch: disable or rate-limit the feature flag behind the prompt until it is understood.",
)
LEVERS_REQUEST = (
    "Cap max_tokens for the prompt; check reasoning effort for reasoning models (reasoning is billed as output).",
    "Trim the input: retrieved documents, conversation history and tool results resent on every call.",
    "Cheaper model for this feature, or a long-context-free model when the call crossed a long-context price tier.",
    "Prompt caching for the static prefix of large prompts.",
    "Kill switch: reject requests over a size limit before they are sent.",
)
LEVERS_TOKENS = (
    "Find the prompt change: compare the fingerprint's template with the last release (prompt name and version).",
    "Trim context: cap retrieved chunks and history turns; summarise old turns.",
    "Cap max_tokens; lower reasoning effort.",
    "Prompt caching for the static prefix, so the grown part is billed at the cache-read rate.",
    "Kill switch: roll back the prompt or the feature flag.",
)
LEVERS_RETRIES = (
    "Fix the cause in the 'why' query: rate limits need backoff with jitter, timeouts need a longer timeout, not a resend.",
    "Bound retries: a maximum attempt count and a retry budget per request in the client.",
    "Cheaper model for validation retries (output that failed a schema check).",
    "Prompt caching so a resent prompt is billed at the cache-read rate.",
    "Kill switch: open the circuit breaker for the failing dependency.",
)
LEVERS_AGENT = (
    "Cap the run: a maximum number of steps and a cost budget per run (otel_llmcost.agent(max_steps=...)).",
    "Fix the tool the run keeps calling (errors fed back to the model make it try again).",
    "Trim context between steps: summarise or drop old tool results instead of resending them.",
    "Cheaper model for the inner steps; keep the expensive model for planning.",
    "Kill switch: stop the agent's queue or disable its feature flag.",
)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _words(delta: timedelta) -> str:
    seconds = _seconds(delta)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}" if count != 1 else unit
    return f"{seconds} seconds"


_BUILDERS = {
    "daily_spend_spike": _daily_spend_spike,
    "expensive_request": _expensive_request,
    "team_budget": _team_budget,
    "feature_tokens_spike": _feature_tokens_spike,
    "retry_storm": _retry_storm,
    "runaway_agent": _runaway_agent,
    "unpriced_spend": _unpriced_spend,
}

"""Seeded LLM spend with known truth, for the dashboard, alert and report tests.

Four weeks of steady traffic from three teams, agent runs written as spans to ``otel_traces``
(the store's view turns their LLM spans into ``llm_calls`` rows), and optionally a spike in
the last hour: a grown prompt, one very expensive call, a retry storm, a runaway agent run,
calls to an unpriced model and failed calls that came back without usage (429s: no tokens, no cost). Every row also lives here as a ``Call``, so a test computes
the expected numbers in Python, independently of the SQL under test.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from otel_llmcost import semconv as sc

NOW = datetime(2026, 7, 28, 12, 0, tzinfo=timezone.utc)
START = datetime(2026, 7, 1, 0, 0, tzinfo=timezone.utc)
SPIKE_FINGERPRINT = "f5f5f5f5f5f50099"
SPIKE_PROMPT = "reply-v2"
EXPENSIVE_TRACE = "e" * 32
RETRY_TRACE = "c" * 32
RUNAWAY_TRACE = "a" * 32
UNPRICED_MODEL = "gpt-6-preview"
AGENT = "triage-agent"
CUSTOMERS = ("acme", "globex", "initech")


@dataclass
class Call:
    ts: datetime
    trace_id: str
    span_id: str
    service: str
    environment: str
    provider: str
    model: str
    team: str
    feature: str
    prompt_name: str
    fingerprint: str
    input_tokens: int
    output_tokens: int
    cost: Decimal
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    tier: str = ""
    customer: str = ""
    user: str = ""
    agent: str = ""
    unpriced: bool = False
    estimated: bool = False
    is_error: bool = False
    error_type: str = ""
    no_usage: bool = False  # failed before any usage came back: nothing to count or price
    tool_calls: tuple[str, ...] = ()
    step: int = 0  # 1-based step in an agent run (spans only)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class AgentRun:
    trace_id: str
    span_id: str
    start: datetime
    end: datetime
    agent: str
    service: str
    steps: list[Call]
    tools: list[tuple[str, Decimal]]  # (tool name, resent cost) per execute_tool span

    @property
    def cost(self) -> Decimal:
        return sum((c.cost for c in self.steps), Decimal(0))


@dataclass
class Dataset:
    calls: list[Call] = field(default_factory=list)  # every llm_calls row, agent steps included
    runs: list[AgentRun] = field(default_factory=list)
    spike: bool = False


def _hex(*parts: object, size: int = 32) -> str:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=size // 2).hexdigest()


def build(spike: bool) -> Dataset:
    data = Dataset(spike=spike)
    hour = START
    n = 0
    while hour < NOW:
        index = int((hour - START).total_seconds() // 3600)
        for i in range(12):
            n += 1
            data.calls.append(
                _call(
                    hour + timedelta(minutes=5 * i),
                    n,
                    "search-api",
                    "production",
                    "openai",
                    "gpt-5-mini",
                    "search",
                    "search.answer",
                    "answer-v3",
                    "a1b2c3d4e5f60001",
                    2400,
                    350,
                    "0.0025",
                    cache_read=1600,
                    customer=CUSTOMERS[n % 3],
                    user=f"u{n % 5}",
                )
            )
        for i in range(10):
            n += 1
            data.calls.append(
                _call(
                    hour + timedelta(minutes=6 * i + 1),
                    n,
                    "support-bot",
                    "production",
                    "anthropic",
                    "claude-sonnet-4-5",
                    "support",
                    "support.reply",
                    "reply-v1",
                    "a1b2c3d4e5f60002",
                    12000,
                    600,
                    "0.15",
                    cache_read=8000,
                    cache_write=500,
                    customer=CUSTOMERS[n % 2],
                    user=f"u{n % 7}",
                )
            )
        for i in range(3):
            n += 1
            data.calls.append(
                _call(
                    hour + timedelta(minutes=20 * i + 2),
                    n,
                    "growth-jobs",
                    "staging",
                    "openai",
                    "gpt-5",
                    "growth",
                    "growth.email",
                    "email-v2",
                    "a1b2c3d4e5f60003",
                    1500,
                    900,
                    "0.006",
                    tier="batch",
                    estimated=index % 2 == 0,
                    customer="",
                    user="",
                )
            )
        if index % 4 == 0:
            data.runs.append(_agent_run(hour + timedelta(minutes=30), f"run{index}", steps=4))
        hour += timedelta(hours=1)
    if spike:
        _add_spike(data)
    for run in data.runs:
        data.calls.extend(run.steps)
    data.calls.sort(key=lambda c: c.ts)
    return data


def _call(
    ts: datetime,
    n: int,
    service: str,
    env: str,
    provider: str,
    model: str,
    team: str,
    feature: str,
    prompt: str,
    fingerprint: str,
    input_tokens: int,
    output_tokens: int,
    cost: str,
    **extra,
) -> Call:
    return Call(
        ts,
        _hex("trace", n),
        _hex("span", n, size=16),
        service,
        env,
        provider,
        model,
        team,
        feature,
        prompt,
        fingerprint,
        input_tokens,
        output_tokens,
        Decimal(cost),
        **extra,
    )


def _agent_run(start: datetime, key: str, steps: int, step_cost: str = "0.01") -> AgentRun:
    trace_id = RUNAWAY_TRACE if key == "runaway" else _hex("agent", key)
    run_span = _hex("run", key, size=16)
    calls = []
    tools = []
    for step in range(1, steps + 1):
        tool = ("search_kb", "lookup_order")[step % 2] if step < steps else ""
        calls.append(
            Call(
                start + timedelta(seconds=20 * step),
                trace_id,
                _hex("step", key, step, size=16),
                "support-bot",
                "production",
                "anthropic",
                "claude-sonnet-4-5",
                "support",
                "support.triage",
                "triage-v1",
                "a1b2c3d4e5f60004",
                1000 + 1000 * step,
                200,
                Decimal(step_cost) * step,
                agent=AGENT,
                step=step,
                tool_calls=(tool,) if tool else (),
            )
        )
        if tool:
            tools.append((tool, Decimal("0.002") * step))
    end = start + timedelta(seconds=20 * steps + 10)
    return AgentRun(trace_id, run_span, start, end, AGENT, "support-bot", calls, tools)


def _add_spike(data: Dataset) -> None:
    last_hour = NOW - timedelta(hours=1)
    for i in range(440):
        data.calls.append(
            _call(
                last_hour + timedelta(seconds=8 * i),
                10_000_000 + i,
                "support-bot",
                "production",
                "anthropic",
                "claude-sonnet-4-5",
                "support",
                "support.reply",
                SPIKE_PROMPT,
                SPIKE_FINGERPRINT,
                90000,
                2500,
                "0.5",
                cache_read=0,
                customer="acme",
                user="u-spike",
            )
        )
    expensive = _call(
        NOW - timedelta(minutes=4),
        20_000_000,
        "support-bot",
        "production",
        "anthropic",
        "claude-sonnet-4-5",
        "support",
        "support.reply",
        SPIKE_PROMPT,
        SPIKE_FINGERPRINT,
        400000,
        8000,
        "2.4",
        customer="globex",
        user="u-big",
    )
    expensive.trace_id = EXPENSIVE_TRACE
    data.calls.append(expensive)
    for i in range(26):
        retry = _call(
            NOW - timedelta(minutes=10) + timedelta(seconds=15 * i),
            30_000_000 + i,
            "support-bot",
            "production",
            "anthropic",
            "claude-sonnet-4-5",
            "support",
            "support.reply",
            SPIKE_PROMPT,
            SPIKE_FINGERPRINT,
            91000,
            0 if i < 25 else 2500,
            "0.5",
            customer="acme",
            user="u-retry",
            is_error=i < 25,
            error_type="timeout" if i < 25 else "",
        )
        retry.trace_id = RETRY_TRACE
        data.calls.append(retry)
    for i in range(12):  # rate-limited requests, refused with nothing to count or price
        data.calls.append(
            _refused(
                NOW - timedelta(minutes=50) + timedelta(minutes=3 * i),
                50_000_000 + i,
                "search-api",
                "openai",
                "gpt-5-mini",
                "search",
                "search.answer",
                "answer-v3",
                "a1b2c3d4e5f60001",
                customer=CUSTOMERS[i % 3],
            )
        )
    for i in range(4):  # the retry storm's first attempts were refused too
        refused = _refused(
            NOW - timedelta(minutes=11) + timedelta(seconds=15 * i),
            50_000_100 + i,
            "support-bot",
            "anthropic",
            "claude-sonnet-4-5",
            "support",
            "support.reply",
            SPIKE_PROMPT,
            SPIKE_FINGERPRINT,
            customer="acme",
            user="u-retry",
        )
        refused.trace_id = RETRY_TRACE
        data.calls.append(refused)
    data.runs.append(_agent_run(NOW - timedelta(minutes=30), "runaway", steps=40, step_cost="0.005"))
    for i in range(6):
        data.calls.append(
            _call(
                NOW - timedelta(minutes=20) + timedelta(minutes=2 * i),
                40_000_000 + i,
                "growth-jobs",
                "staging",
                "openai",
                UNPRICED_MODEL,
                "growth",
                "growth.email",
                "email-v3",
                "a1b2c3d4e5f60005",
                3000,
                700,
                "0",
                unpriced=True,
            )
        )


def _refused(
    ts: datetime,
    n: int,
    service: str,
    provider: str,
    model: str,
    team: str,
    feature: str,
    prompt: str,
    fingerprint: str,
    **extra,
) -> Call:
    """A call the provider answered with 429: an error row without usage (no tokens, no cost)."""
    return _call(
        ts, n, service, "production", provider, model, team, feature, prompt, fingerprint, 0, 0, "0",
        is_error=True, error_type="429", no_usage=True, **extra,
    )  # fmt: skip


# --- loading into the store ------------------------------------------------------------------

LLM_COLUMNS = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ServiceName",
    "Environment",
    "Provider",
    "Operation",
    "RequestModel",
    "Model",
    "ServiceTier",
    "Team",
    "Feature",
    "Customer",
    "User",
    "PromptName",
    "PromptFingerprint",
    "AgentName",
    "ToolCallCount",
    "ToolCallNames",
    "InputTokens",
    "CacheReadTokens",
    "CacheWriteTokens",
    "OutputTokens",
    "ReasoningTokens",
    "CostUSD",
    "InputCostUSD",
    "OutputCostUSD",
    "CostSource",
    "Unpriced",
    "TokensEstimated",
    "IsError",
    "ErrorType",
)


def load(client, data: Dataset) -> None:
    """Direct calls as llm_calls rows (columnar); agent runs as spans through otel_traces."""
    direct = [c for c in data.calls if not c.agent]
    rows = [
        (
            c.ts,
            c.trace_id,
            c.span_id,
            c.service,
            c.environment,
            c.provider,
            "chat",
            c.model,
            c.model,
            c.tier,
            c.team,
            c.feature,
            c.customer,
            c.user,
            c.prompt_name,
            c.fingerprint,
            c.agent,
            len(c.tool_calls),
            list(c.tool_calls),
            c.input_tokens,
            c.cache_read,
            c.cache_write,
            c.output_tokens,
            c.reasoning,
            c.cost,
            c.cost * Decimal("0.6"),
            c.cost * Decimal("0.4"),
            "" if c.unpriced or c.no_usage else "local",
            int(c.unpriced),
            int(c.estimated),
            int(c.is_error),
            c.error_type,
        )
        for c in direct
    ]
    columns = [list(column) for column in zip(*rows, strict=True)]
    client.insert("llm_calls", columns, column_names=list(LLM_COLUMNS), column_oriented=True)
    spans = [span for run in data.runs for span in _run_spans(run)]
    names = (
        "Timestamp",
        "TraceId",
        "SpanId",
        "ParentSpanId",
        "SpanName",
        "SpanKind",
        "ServiceName",
        "ResourceAttributes",
        "SpanAttributes",
        "Duration",
        "StatusCode",
    )
    client.insert(
        "otel_traces",
        [list(column) for column in zip(*spans, strict=True)],
        column_names=list(names),
        column_oriented=True,
    )


def _run_spans(run: AgentRun) -> list[tuple]:
    resource = {sc.SERVICE_NAME: run.service, sc.DEPLOYMENT_ENVIRONMENT_NAME: "production"}
    duration = int((run.end - run.start).total_seconds() * 1e9)
    spans = [
        (
            run.start,
            run.trace_id,
            run.span_id,
            "",
            f"{sc.OP_INVOKE_AGENT} {run.agent}",
            "Internal",
            run.service,
            resource,
            {
                sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT,
                sc.GEN_AI_AGENT_NAME: run.agent,
                sc.LLMCOST_TEAM: "support",
                sc.LLMCOST_FEATURE: "support.triage",
                sc.LLMCOST_ROLLUP_COST: str(float(run.cost)),
                sc.LLMCOST_ROLLUP_LLM_CALLS: str(len(run.steps)),
                sc.LLMCOST_AGENT_STEPS: str(len(run.steps)),
            },
            duration,
            "Unset",
        )
    ]
    for c in run.steps:
        spans.append(
            (
                c.ts,
                c.trace_id,
                c.span_id,
                run.span_id,
                f"chat {c.model}",
                "Client",
                run.service,
                resource,
                {
                    sc.GEN_AI_OPERATION_NAME: "chat",
                    sc.GEN_AI_PROVIDER_NAME: c.provider,
                    sc.GEN_AI_REQUEST_MODEL: c.model,
                    sc.GEN_AI_RESPONSE_MODEL: c.model,
                    sc.GEN_AI_USAGE_INPUT_TOKENS: str(c.input_tokens),
                    sc.GEN_AI_USAGE_OUTPUT_TOKENS: str(c.output_tokens),
                    sc.GEN_AI_USAGE_COST_AMOUNT: str(c.cost),
                    sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
                    sc.LLMCOST_TEAM: c.team,
                    sc.LLMCOST_FEATURE: c.feature,
                    sc.GEN_AI_PROMPT_NAME: c.prompt_name,
                    sc.LLMCOST_PROMPT_FINGERPRINT: c.fingerprint,
                    sc.GEN_AI_AGENT_NAME: c.agent,
                    sc.LLMCOST_AGENT_STEP: str(c.step),
                    sc.LLMCOST_AGENT_RUN_SPAN_ID: run.span_id,
                    sc.LLMCOST_TOOL_CALLS_COUNT: str(len(c.tool_calls)),
                    sc.LLMCOST_TOOL_CALLS_NAMES: json.dumps(list(c.tool_calls)),
                },
                1_000_000_000,
                "Unset",
            )
        )
    for i, (tool, resent) in enumerate(run.tools):
        ts = run.start + timedelta(seconds=20 * (i + 1) + 5)
        spans.append(
            (
                ts,
                run.trace_id,
                _hex("tool", run.span_id, i, size=16),
                run.span_id,
                f"{sc.OP_EXECUTE_TOOL} {tool}",
                "Internal",
                run.service,
                resource,
                {
                    sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
                    sc.GEN_AI_TOOL_NAME: tool,
                    sc.GEN_AI_AGENT_NAME: run.agent,
                    sc.LLMCOST_ROLLUP_COST: "0.0",
                    sc.LLMCOST_TOOL_RESENT_COST: str(resent),
                },
                500_000_000,
                "Unset",
            )
        )
    return spans


# --- one seeded store per test session, reopened by each module -------------------------------

DATABASES = {"calm": False, "spiky": True}  # database -> with the spike


_DATASETS: dict[bool, Dataset] = {}


def dataset(spike: bool) -> Dataset:
    if spike not in _DATASETS:
        _DATASETS[spike] = build(spike)
    return _DATASETS[spike]


def open_seeded(directory):
    """The store at ``directory`` with both data sets, seeded on first use. chDB holds one data
    directory per process, so each test module opens it and closes it when done."""
    from otel_llmcost.store import schema
    from otel_llmcost.store.connection import open_store

    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / "seeded"
    client = open_store(f"chdb://{directory / 'chdb'}", database="calm")
    if not marker.exists():
        for database, spike in DATABASES.items():
            schema.apply_schema(client, database=database)
            client.database = database
            load(client, dataset(spike))
        marker.write_text("ok")
    return client

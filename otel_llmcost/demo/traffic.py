"""A day of the demo app's traffic, replayed in about a minute.

``plan_day`` lays out the day: app requests spread over the last 24 hours with a daytime
peak, customers c-001..c-050 with a few big ones, an hourly classification job, and in the
last hour the spend spike: ticket summaries switch to prompt v3, which sends each ticket's
whole history to an expensive model, while a backfill triples their volume.
``run_traffic`` plays the plan against the fake server; each request runs inside
``clock.simulated(at)`` so its spans carry the planned time (see clock.py).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import anthropic
import openai

from otel_llmcost.demo import prompts
from otel_llmcost.demo.app import DemoApp
from otel_llmcost.demo.clock import simulated
from otel_llmcost.demo.scenario import Scenario

DAY = timedelta(hours=24)
CUSTOMERS = tuple(f"c-{number:03d}" for number in range(1, 51))
CUSTOMER_WEIGHTS = tuple(1 / rank**0.9 for rank in range(1, 51))  # a few customers make most requests
FEATURE_MIX = {"answer": 0.5, "escalate": 0.08, "summarize": 0.22, "research": 0.2}
CLASSIFY_BATCH = 8
WORKERS = 4  # requests in flight: streams' first-chunk delays overlap, as in a real server

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Visit:
    """One app request: what runs, when (simulated), for whom, and what the model will do."""

    at: datetime
    feature: str  # answer | escalate | summarize | research | classify
    customer: str
    scenario: Scenario
    text: str = ""
    thread: tuple[str, ...] = ()
    tickets: tuple[tuple[str, str], ...] = ()
    stream: bool = False
    full_history: bool = False  # summarize with prompt v3: the spike


@dataclass
class TrafficReport:
    """What a run did. ``failures`` counts requests the (scripted) provider errors ended."""

    start: datetime
    end: datetime
    requests: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def plan_day(calls: int, end: datetime, *, spike: bool = True, seed: int = 7) -> list[Visit]:
    """``calls`` interactive requests over the 24 hours before ``end``, plus one classification
    job per hour and, with ``spike``, the last hour's incidents: the summary backfill and one
    runaway agent run. Earlier in the day a few agent runs also run away (the dashboards show
    them); none does in the last hour without ``spike``, so that hour is quiet. Sorted by time."""
    rng = random.Random(seed)
    start = end - DAY
    hours = [start + timedelta(hours=hour) for hour in range(24)]
    weights = [_daytime_weight(hour) for hour in hours]
    visits = []
    for _ in range(calls):
        hour = rng.choices(hours, weights)[0]
        at = hour + timedelta(seconds=rng.uniform(0, 3600))
        feature = rng.choices(list(FEATURE_MIX), list(FEATURE_MIX.values()))[0]
        last_hour = at >= end - timedelta(hours=1)
        visits.append(_visit(rng, at, feature, spike and last_hour, may_run_away=not last_hour))
    for hour in hours:
        visits.append(_classify_visit(rng, hour + timedelta(minutes=5)))
    if spike:
        # At least 15: the spike alert asks for 10 calls with usage in the hour, and a call may fail or,
        # in the hour's first minute, fall in a minute bucket the hour only partly covers
        for _ in range(max(15, calls // 40)):
            at = end - timedelta(seconds=rng.uniform(1, 3599))
            visits.append(_visit(rng, at, "summarize", True))
        visits.append(_research_visit(rng, end - timedelta(seconds=rng.uniform(60, 1800)), runaway=True))
    return sorted(visits, key=lambda visit: visit.at)


def run_traffic(
    base_url: str,
    *,
    calls: int = 1200,
    spike: bool = True,
    progress: Progress | None = None,
    clock: Callable[[], datetime] | None = None,
    seed: int = 7,
) -> TrafficReport:
    """Play a day of traffic against the fake server at ``base_url``.

    ``calls`` is the number of interactive app requests (each makes one to a few LLM calls);
    ``clock`` gives the end of the simulated day (default: now, UTC); ``progress(done, total)``
    is called after each request. Spans carry simulated times only when the tracer provider's
    exporting processor is wrapped in ``clock.SimulatedClockProcessor``.
    """
    end = (clock or _utc_now)()
    plan = plan_day(calls, end, spike=spike, seed=seed)
    report = TrafficReport(start=end - DAY, end=end)
    app = DemoApp(base_url)
    try:
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="demo-traffic") as pool:
            futures = {pool.submit(_play, app, visit): visit for visit in plan}
            for done, future in enumerate(as_completed(futures), 1):
                visit = futures[future]
                report.requests[visit.feature] += 1
                if future.result() is not None:
                    report.failures[visit.feature] += 1
                if progress is not None:
                    progress(done, len(plan))
    finally:
        app.close()
    return report


def _play(app: DemoApp, visit: Visit) -> str | None:
    """Run one visit at its simulated time; the provider error that ended it, if any."""
    with simulated(visit.at):
        try:
            _dispatch(app, visit)
        except (openai.APIError, anthropic.APIError) as error:
            return type(error).__name__
    return None


def _dispatch(app: DemoApp, visit: Visit) -> Any:
    if visit.feature == "answer":
        return app.answer(visit.customer, visit.text, visit.scenario, stream=visit.stream)
    if visit.feature == "escalate":
        return app.escalate(visit.customer, visit.text, visit.scenario)
    if visit.feature == "summarize":
        return app.summarize(visit.customer, list(visit.thread), visit.scenario, full_history=visit.full_history)
    if visit.feature == "research":
        return app.research(visit.customer, visit.text, visit.scenario)
    return app.classify(list(visit.tickets), visit.scenario)


def _visit(rng: random.Random, at: datetime, feature: str, spike: bool, *, may_run_away: bool = True) -> Visit:
    customer = rng.choices(CUSTOMERS, CUSTOMER_WEIGHTS)[0]
    if feature == "answer":
        stream = rng.random() < 0.5
        scenario = Scenario(
            cached_share=0.8 if rng.random() < 0.85 else 0.0,  # the shared system prompt is usually cached
            output_tokens=rng.randint(60, 220),
            response_model="gpt-4.1-mini-2025-04-14",
            error=_maybe_error(rng, {429: 0.01, 500: 0.005}),
            delay=rng.uniform(0.005, 0.03) if stream else 0.0,
            abort_after=rng.randint(3, 8) if stream and rng.random() < 0.01 else None,
        )
        return Visit(at, feature, customer, scenario, text=prompts.question(rng), stream=stream)
    if feature == "escalate":
        warm = rng.random() < 0.8
        scenario = Scenario(
            cached_share=0.85 if warm else 0.0,
            cache_write_share=0.0 if warm else 0.85,
            output_tokens=rng.randint(200, 500),
            error=_maybe_error(rng, {529: 0.02}),
        )
        return Visit(at, feature, customer, scenario, text=prompts.question(rng))
    if feature == "summarize":
        if spike:
            scenario = Scenario(output_tokens=rng.randint(400, 800), response_model="claude-opus-4-6")
            thread = prompts.ticket_thread(rng, rng.randint(1500, 2600))  # the whole history: 30-50k tokens
            return Visit(at, feature, customer, scenario, thread=tuple(thread), full_history=True)
        scenario = Scenario(output_tokens=rng.randint(120, 300), response_model="claude-haiku-4-5-20251001")
        return Visit(at, feature, customer, scenario, thread=tuple(prompts.ticket_thread(rng, rng.randint(12, 40))))
    return _research_visit(rng, at, runaway=rng.random() < 0.03 and may_run_away, customer=customer)


def _research_visit(rng: random.Random, at: datetime, *, runaway: bool, customer: str | None = None) -> Visit:
    customer = customer or rng.choices(CUSTOMERS, CUSTOMER_WEIGHTS)[0]
    tools = rng.choices([("web_search",), ("lookup_order",), ("web_search", "lookup_order")], [0.6, 0.3, 0.1])[0]
    scenario = Scenario(
        tools=tools,
        tool_rounds=rng.randint(26, 29) if runaway else rng.randint(1, 3),
        output_tokens=rng.randint(150, 300),
        cached_share=0.5 if rng.random() < 0.5 else 0.0,
        error=None if runaway else _maybe_error(rng, {429: 0.02}),
    )
    return Visit(at, "research", customer, scenario, text=prompts.research_question(rng))


def _classify_visit(rng: random.Random, at: datetime) -> Visit:
    tickets = tuple((rng.choices(CUSTOMERS, CUSTOMER_WEIGHTS)[0], prompts.question(rng)) for _ in range(CLASSIFY_BATCH))
    scenario = Scenario(reply=rng.choice(prompts.CATEGORIES), reasoning_tokens=64)
    return Visit(at, "classify", "", scenario, tickets=tickets)


def _maybe_error(rng: random.Random, rates: dict[int, float]) -> int | None:
    draw = rng.random()
    for status, rate in rates.items():
        if draw < rate:
            return status
        draw -= rate
    return None


def _daytime_weight(hour: datetime) -> float:
    """Night traffic at a quarter of the 14:00 UTC peak."""
    return 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour.hour - 6) / 16))


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)

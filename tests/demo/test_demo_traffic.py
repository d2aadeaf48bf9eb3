"""A day of demo traffic: the plan (times, customers, the last hour's spike) and a short real run
through the instrumented SDKs, with spans landing at their simulated times."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_llmcost
from otel_llmcost import semconv as sc
from otel_llmcost.demo import FakeLLMServer, run_traffic
from otel_llmcost.demo.app import FULL_HISTORY_SUMMARY_MODEL, SUMMARY_MODEL
from otel_llmcost.demo.clock import SimulatedClockProcessor
from otel_llmcost.demo.traffic import CUSTOMERS, plan_day

END = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LAST_HOUR = END - timedelta(hours=1)


def test_plan_spreads_requests_over_the_day_before_end():
    plan = plan_day(600, END)
    # interactive, one classify job per hour, the spike's backfill and its runaway agent run
    assert len(plan) == 600 + 24 + 600 // 40 + 1
    assert [visit.at for visit in plan] == sorted(visit.at for visit in plan)
    assert END - timedelta(hours=24) <= plan[0].at and plan[-1].at <= END
    assert {visit.customer for visit in plan if visit.feature != "classify"} <= set(CUSTOMERS)
    by_hour = Counter(visit.at.hour for visit in plan if visit.feature != "classify")
    assert sum(by_hour[hour] for hour in range(12, 16)) > 2 * sum(by_hour[hour] for hour in range(4))  # daytime peak


def test_plan_is_deterministic():
    assert plan_day(200, END) == plan_day(200, END)
    assert plan_day(200, END) != plan_day(200, END, seed=8)


def test_spike_sends_full_histories_only_in_the_last_hour():
    plan = plan_day(600, END)
    spike = [visit for visit in plan if visit.full_history]
    assert len(spike) >= 600 // 40
    assert all(visit.feature == "summarize" and visit.at > LAST_HOUR for visit in spike)
    assert all(len(visit.thread) >= 1500 for visit in spike)
    before = [visit for visit in plan if visit.feature == "summarize" and visit.at <= LAST_HOUR]
    assert before and not any(visit.full_history for visit in before)


def test_no_spike_no_full_histories():
    assert not any(visit.full_history for visit in plan_day(600, END, spike=False))


def _runaways(plan):
    return [visit for visit in plan if visit.feature == "research" and visit.scenario.tool_rounds > 25]


@pytest.mark.parametrize("calls", [100, 600, 1200])
def test_runaway_agents_in_the_last_hour_only_with_the_spike(calls):
    quiet, spiked = plan_day(calls, END, spike=False), plan_day(calls, END)
    assert not [visit for visit in _runaways(quiet) if visit.at >= LAST_HOUR]
    last_hour = [visit for visit in _runaways(spiked) if visit.at >= LAST_HOUR]
    assert len(last_hour) == 1 and last_hour[0].scenario.error is None
    if calls >= 1200:
        assert len(_runaways(quiet)) >= 2  # earlier in the day, for the agents dashboard


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimulatedClockProcessor(SimpleSpanProcessor(exporter)))
    otel_llmcost.instrument(tracer_provider=provider)
    yield exporter
    otel_llmcost.uninstrument()
    provider.shutdown()


def test_run_traffic_records_attributed_llm_calls_at_simulated_times(spans):
    calls = []
    with FakeLLMServer() as server:
        report = run_traffic(server.base_url, calls=40, clock=lambda: END, progress=lambda *done: calls.append(done))

    plan = plan_day(40, END)
    assert report.total == len(plan) == calls[-1][0] == calls[-1][1]
    assert [done for done, _ in calls] == list(range(1, len(plan) + 1))
    assert report.requests == Counter(visit.feature for visit in plan)
    assert (report.start, report.end) == (END - timedelta(hours=24), END)
    scripted_errors = Counter(
        visit.feature for visit in plan if visit.scenario.error or visit.scenario.abort_after is not None
    )
    assert report.failures == scripted_errors

    finished = spans.get_finished_spans()
    llm = [  # the call spans (an agent's invoke_agent span carries its run's tokens too)
        span
        for span in finished
        if span.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS) is not None
        and span.attributes.get(sc.GEN_AI_OPERATION_NAME) != sc.OP_INVOKE_AGENT
    ]
    assert len(llm) > len(plan)  # agents and classify jobs make several calls
    assert all(report.start <= datetime.fromtimestamp(span.start_time / 1e9, timezone.utc) <= END for span in finished)
    teams = {(span.attributes[sc.LLMCOST_TEAM], span.attributes[sc.LLMCOST_FEATURE]) for span in llm}
    assert teams == {
        ("support", "answer"),
        ("support", "summarize"),
        ("growth", "research-agent"),
        ("data", "classify"),
    }
    embeddings = [span for span in llm if span.attributes[sc.GEN_AI_OPERATION_NAME] == "embeddings"]
    assert len(embeddings) == 24
    assert all(span.attributes.get(sc.LLMCOST_CUSTOMER) in CUSTOMERS for span in llm if span not in embeddings)
    summaries = [span for span in llm if span.attributes[sc.LLMCOST_FEATURE] == "summarize"]
    last_hour = {
        span.attributes[sc.GEN_AI_REQUEST_MODEL] for span in summaries if span.start_time > LAST_HOUR.timestamp() * 1e9
    }
    earlier = {
        span.attributes[sc.GEN_AI_REQUEST_MODEL] for span in summaries if span.start_time <= LAST_HOUR.timestamp() * 1e9
    }
    assert (last_hour, earlier) == ({FULL_HISTORY_SUMMARY_MODEL}, {SUMMARY_MODEL})
    tools = [span for span in finished if span.name.startswith("execute_tool")]
    agents = {span.context.span_id for span in finished if span.name == "invoke_agent research-agent"}
    assert tools and all(span.parent.span_id in agents for span in tools)

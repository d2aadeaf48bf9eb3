"""The agent queries on the embedded store (chDB): spans of real agent runs, exported as OTLP and
ingested the way the spool and the collector ingest them, give per-run and per-tool costs equal
to the hand-computed ones."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import openai
import pytest
import test_agents_openai_loop as loop
from conftest import M, span_id, tokens
from wire import chat_completion, chat_usage, error_reply, json_reply

import otel_llmcost
from otel_llmcost.agents.queries import run_steps_sql, runs_sql, tools_sql

pytest.importorskip("chdb", reason="the embedded store needs chDB (pip install 'otel-llmcost[store]')")

MESSAGES = [{"role": "user", "content": "Extract the order as JSON: two parcels to Lyon"}]


@pytest.fixture
def store(tmp_path):
    from otel_llmcost.store.connection import open_store

    client = open_store(f"chdb://{tmp_path / 'chdb'}", drain_spool=False)
    yield client
    client.close()


@pytest.fixture
def recorded(openai_client, spans, store):
    """Two runs, exported and ingested: the support-bot loop, and an extractor that retries after an error."""
    from otel_llmcost.store.exporter import encode
    from otel_llmcost.store.ingest import insert_otlp

    client, _ = openai_client(
        *loop.REPLIES,
        error_reply(500, "The server had an error", "server_error"),
        json_reply(chat_completion(loop.SERVED, '{"parcels": 2}', chat_usage(90, 12))),
    )
    loop.run_agent(client)
    with otel_llmcost.agent("extractor"):
        for _ in range(2):
            try:
                client.chat.completions.create(model=loop.MODEL, messages=MESSAGES)
                break
            except openai.InternalServerError:
                continue  # the same request again: a retry
    assert insert_otlp(store, encode(spans.all()), dedup_token="agents-test") == len(spans.all())
    return spans


def window():
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return {"since": now - timedelta(hours=1), "until": now + timedelta(hours=1)}


def rows(store, sql, **parameters):
    result = store.query(sql, parameters={**window(), **parameters})
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


EXTRACTOR_COST = (90 * loop.INPUT + 12 * loop.OUTPUT) / M
SUPPORT_COST = loop.COST_1 + loop.COST_2 + loop.COST_SUMMARY + loop.COST_FINAL


def test_cost_per_run_from_the_trace_tree(store, recorded):
    runs = rows(store, runs_sql())

    assert [(run["AgentName"], run["RunSpanId"]) for run in runs] == [
        ("support-bot", span_id(recorded.one("invoke_agent support-bot"))),
        ("extractor", span_id(recorded.one("invoke_agent extractor"))),
    ]
    support, extractor = runs
    assert support["CostUSD"] == SUPPORT_COST
    assert support["RecordedCostUSD"] == float(SUPPORT_COST)  # the in-process roll-up agrees with the tree
    assert (support["LLMCalls"], support["InputTokens"], support["OutputTokens"]) == (4, 840, 163)
    assert (support["Steps"], support["MaxInputTokens"], support["Retries"], support["Runaway"]) == (4, 420, 0, False)
    assert extractor["CostUSD"] == EXTRACTOR_COST
    assert extractor["LLMCalls"] == 2  # the failed attempt (a 500, no usage) is an llm_calls row too, costing 0
    assert (extractor["Steps"], extractor["Retries"]) == (2, 1)
    assert extractor["RetryCostUSD"] == float(EXTRACTOR_COST)


def test_cost_per_tool_own_calls_and_resent_results(store, recorded):
    tools = {(row["AgentName"], row["ToolName"]): row for row in rows(store, tools_sql())}

    t1, t2, t3 = tokens(loop.RESULT_1), tokens(loop.SUMMARY), tokens(loop.RESULT_3)
    assert set(tools) == {("support-bot", "lookup_order"), ("support-bot", "search_docs")}
    lookup, search = tools["support-bot", "lookup_order"], tools["support-bot", "search_docs"]
    assert (lookup["Calls"], lookup["Errors"], lookup["OwnLLMCalls"], lookup["OwnCostUSD"]) == (2, 0, 0, 0.0)
    assert lookup["ResentInputTokens"] == 2 * t1 + t3
    assert lookup["ResentCostUSD"] == pytest.approx(float((2 * t1 + t3) * loop.INPUT / M), rel=1e-12)
    assert (search["Calls"], search["OwnLLMCalls"]) == (1, 1)
    assert search["OwnCostUSD"] == float(loop.COST_SUMMARY)
    assert search["ResentInputTokens"] == t2
    assert search["TotalCostUSD"] == pytest.approx(float(loop.COST_SUMMARY + t2 * loop.INPUT / M), rel=1e-12)


def test_one_run_step_by_step(store, recorded):
    run = recorded.one("invoke_agent extractor")
    steps = rows(store, run_steps_sql(), run_span_id=span_id(run))

    assert [(step["Step"], step["IsError"], step["IsRetry"]) for step in steps] == [(1, True, False), (2, False, True)]
    failed, retried = steps
    assert retried["RetryOf"] == failed["SpanId"]
    assert (retried["InputTokens"], retried["CostUSD"]) == (90, EXTRACTOR_COST)
    assert (failed["InputTokens"], failed["CostUSD"]) == (0, D(0))

    support = rows(store, run_steps_sql(), run_span_id=span_id(recorded.one("invoke_agent support-bot")))
    assert [step["InputTokens"] for step in support] == [150, 240, 30, 420]  # the context growing
    t1, t2, t3 = tokens(loop.RESULT_1), tokens(loop.SUMMARY), tokens(loop.RESULT_3)
    assert [step["ToolResultTokens"] for step in support] == [0, t1, 0, t1 + t2 + t3]
    assert support[0]["ToolCallNames"] == ["lookup_order"]


def test_tool_names_in_queries_come_from_the_run_arrays(store, recorded):
    run = recorded.one("invoke_agent support-bot")
    # The arrays land in otel_traces as JSON text, as the collector's clickhouseexporter writes them.
    attributes = store.query(
        "SELECT SpanAttributes FROM otel_traces WHERE SpanId = {id:String}", parameters={"id": span_id(run)}
    ).result_rows[0][0]
    assert json.loads(attributes["llmcost.agent.tool_names"]) == ["lookup_order", "search_docs"]

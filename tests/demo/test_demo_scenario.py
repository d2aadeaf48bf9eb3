"""Scenarios travel as a JSON header; a bad one is refused with the field and the reason."""

from __future__ import annotations

import re

import pytest

from otel_llmcost.demo import SCENARIO_HEADER, Scenario
from otel_llmcost.demo.scenario import ScenarioError


def test_header_round_trip_keeps_only_what_differs_from_the_defaults():
    scenario = Scenario(cached_share=0.5, tools=("web_search",), tool_args={"web_search": {"query": "x"}}, error=429)
    header = scenario.headers()
    assert header == {
        SCENARIO_HEADER: '{"cached_share":0.5,"error":429,"tool_args":{"web_search":{"query":"x"}},"tools":["web_search"]}'
    }
    assert Scenario.from_json(header[SCENARIO_HEADER]) == scenario
    assert Scenario().headers() == {SCENARIO_HEADER: "{}"}


def test_a_single_tool_name_is_accepted():
    assert Scenario.from_json('{"tools": "lookup_order"}').tools == ("lookup_order",)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("not json", "is not JSON"),
        ("[1]", "must be a JSON object, got list"),
        ('{"cache": 1}', "unknown fields ['cache']"),
        ('{"cached_share": 1.5}', "cached_share must be a number from 0 to 1, got 1.5"),
        ('{"cached_share": 0.7, "cache_write_share": 0.5}', "must not exceed 1"),
        ('{"cache_ttl": "1h"}', 'cache_ttl must be "short" or "long"'),
        ('{"error": 200}', "error must be an HTTP error status"),
        ('{"reasoning_tokens": -1}', "reasoning_tokens must be a non-negative integer"),
        ('{"delay": "slow"}', "delay must be a non-negative number of seconds"),
    ],
)
def test_invalid_scenarios_name_the_problem(header, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        Scenario.from_json(header)

"""The demo: a fake LLM server speaking the real wire formats, and an app that makes a day of traffic."""

from otel_llmcost.demo.fake_llm import FakeLLMServer, RecordedRequest
from otel_llmcost.demo.scenario import SCENARIO_HEADER, Scenario
from otel_llmcost.demo.traffic import TrafficReport, run_traffic

__all__ = ["SCENARIO_HEADER", "FakeLLMServer", "RecordedRequest", "Scenario", "TrafficReport", "run_traffic"]

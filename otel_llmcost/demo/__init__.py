"""The demo: a fake LLM server speaking the real wire formats, and an app that makes a day of traffic."""

from otel_llmcost.demo.fake_llm import FakeLLMServer, RecordedRequest
from otel_llmcost.demo.scenario import SCENARIO_HEADER, Scenario

__all__ = ["SCENARIO_HEADER", "FakeLLMServer", "RecordedRequest", "Scenario"]

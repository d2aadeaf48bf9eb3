"""otel-llmcost: LLM spend you can see, attribute and alert on, with OpenTelemetry."""

from otel_llmcost.agents import AgentRun, ToolCall, agent, tool, tool_call
from otel_llmcost.attribution import attributes
from otel_llmcost.instrumentation import instrument, uninstrument

__all__ = ["attributes", "instrument", "uninstrument"]
__all__ += ["AgentRun", "ToolCall", "agent", "tool", "tool_call"]
__version__ = "0.1.0"

"""Agent and tool spans with the cost of the LLM calls beneath them.

``agent`` / ``tool`` / ``tool_call`` (``api.py``) open ``invoke_agent`` and ``execute_tool``
spans; every LLM call the instrumented SDKs make inside them rolls up into them
(``observer.py``), including what each tool's results cost when they are resent to the model
at later steps. ``openai_agents.py`` maps the OpenAI Agents SDK's own agent and function spans
onto the same spans; ``queries.py`` holds the ClickHouse queries over the resulting traces.
"""

from otel_llmcost.agents.api import agent, tool, tool_call
from otel_llmcost.agents.run import AgentRun, ToolCall

__all__ = ["AgentRun", "ToolCall", "agent", "tool", "tool_call"]

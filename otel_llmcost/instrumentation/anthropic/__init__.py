"""Instrumentation of the ``anthropic`` SDK.

``instrumentor`` patches one choke point (``client``); ``messages`` reads the Messages API
(requests, responses, stream events) and ``content`` its content blocks; ``providers`` tells
Anthropic, Bedrock and Vertex clients apart; ``sdk_tracing`` keeps anthropic 2.x's own span
from counting a call a second time (the choice is explained there).
"""

from otel_llmcost.instrumentation.anthropic.instrumentor import AnthropicInstrumentor

__all__ = ["AnthropicInstrumentor"]

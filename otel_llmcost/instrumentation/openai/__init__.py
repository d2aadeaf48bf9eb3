"""Instrumentation of the ``openai`` SDK.

``instrumentor`` patches one choke point (``client``); ``endpoints`` maps each API path to
the module that reads it (``chat``, ``responses``, ``embeddings``, ``completions``);
``streams`` follows streamed responses; ``providers`` names the provider from the base URL.
"""

from otel_llmcost.instrumentation.openai.instrumentor import OpenAIInstrumentor

__all__ = ["OpenAIInstrumentor"]

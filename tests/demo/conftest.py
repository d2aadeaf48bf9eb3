"""One fake LLM server for the demo tests, and real SDK clients pointed at it (no retries:
a scripted error must reach the test as the SDK's exception, once)."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest
import tiktoken

from otel_llmcost.demo import FakeLLMServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as fake:
        yield fake


@pytest.fixture
def openai_client(server: FakeLLMServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.openai_base_url, api_key="demo", max_retries=0) as client:
        yield client


@pytest.fixture
def azure_client(server: FakeLLMServer) -> Iterator[openai.AzureOpenAI]:
    client = openai.AzureOpenAI(
        azure_endpoint=server.azure_endpoint, api_key="demo", api_version="2024-10-21", max_retries=0
    )
    with client:
        yield client


@pytest.fixture
def anthropic_client(server: FakeLLMServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="demo", max_retries=0) as client:
        yield client


@pytest.fixture(scope="session")
def o200k() -> tiktoken.Encoding:
    """gpt-4o / gpt-4.1 / o-series tokenizer, read from TIKTOKEN_CACHE_DIR (tests/conftest.py)."""
    return tiktoken.get_encoding("o200k_base")


@pytest.fixture(scope="session")
def cl100k() -> tiktoken.Encoding:
    """What otel_llmcost.tokens counts Claude prompts with (Claude's tokenizer is not public)."""
    return tiktoken.get_encoding("cl100k_base")

"""ACME's LLM features: the small, realistic app the demo drives.

It uses the real openai and anthropic SDK clients, pointed at the fake server (api key
"demo"), and attributes every call with ``otel_llmcost.attributes``:

- support / answer: first-line answers (OpenAI chat, streamed to the web widget half the
  time; EU customers go through an Azure OpenAI deployment), escalations to Claude with a
  cached system prompt.
- support / summarize: ticket summaries for the next agent (Claude Haiku; prompt v3 sends the
  whole ticket history to Claude Opus, the demo's spend spike).
- growth / research-agent: an agent on the Responses API that calls two Python tools,
  web_search and lookup_order, until it can answer.
- data / classify: an hourly job that embeds new tickets and labels each one (flex tier).

Every method takes the ``Scenario`` the fake server should play for its calls (cache hits,
errors, tool calls...), so one request's behaviour is scripted in one place, the traffic plan.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai

import otel_llmcost
from otel_llmcost.demo import prompts
from otel_llmcost.demo.scenario import Scenario

SUPPORT_MODEL = "gpt-4.1-mini"
AZURE_SUPPORT_DEPLOYMENT = "support-gpt-4-1-mini-eu"
AZURE_API_VERSION = "2024-10-21"
ESCALATION_MODEL = "claude-sonnet-4-6"
SUMMARY_MODEL = "claude-haiku-4-5"
FULL_HISTORY_SUMMARY_MODEL = "claude-opus-4-6"
RESEARCH_MODEL = "o4-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
CLASSIFY_MODEL = "gpt-5-nano"
EU_CUSTOMERS = frozenset(f"c-{number:03d}" for number in range(41, 51))
AGENT_STEP_LIMIT = 30  # the app's own safety net; the agent span flags runaways well before

RESEARCH_TOOLS = [
    {
        "type": "function",
        "name": "web_search",
        "description": "Search the public web",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
    {
        "type": "function",
        "name": "lookup_order",
        "description": "Look up an ACME order by id",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    },
]


@otel_llmcost.tool
def web_search(query: str) -> list[dict[str, str]]:
    """Search the public web (canned results: the demo has no network)."""
    return [
        {
            "title": f"{query[:40]} - industry report {rank}",
            "url": f"https://example.com/report-{rank}",
            "snippet": "Analysts expect steady demand through the year, with prices down slightly on last quarter. "
            "Reviewers praise build quality but mention slow delivery and confusing warranty terms.",
        }
        for rank in range(1, 4)
    ]


@otel_llmcost.tool
def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an ACME order by id."""
    number = sum(map(ord, order_id))
    return {"order_id": order_id, "status": ("shipped", "processing", "delivered")[number % 3], "items": 1 + number % 4}


TOOLS = {"web_search": web_search, "lookup_order": lookup_order}


class DemoApp:
    """The app's features; ``base_url`` is the fake server's root URL."""

    def __init__(self, base_url: str) -> None:
        self.openai = openai.OpenAI(base_url=f"{base_url}/v1", api_key="demo", max_retries=0)
        self.azure = openai.AzureOpenAI(
            azure_endpoint=base_url, api_key="demo", api_version=AZURE_API_VERSION, max_retries=0
        )
        self.anthropic = anthropic.Anthropic(base_url=base_url, api_key="demo", max_retries=0)

    def close(self) -> None:
        for client in (self.openai, self.azure, self.anthropic):
            client.close()

    # --- support ----------------------------------------------------------------

    def answer(self, customer: str, question: str, scenario: Scenario, *, stream: bool = False) -> str:
        eu = customer in EU_CUSTOMERS
        client = self.azure if eu else self.openai
        request: dict[str, Any] = {
            "model": AZURE_SUPPORT_DEPLOYMENT if eu else SUPPORT_MODEL,
            "messages": [{"role": "system", "content": prompts.SUPPORT_SYSTEM}, {"role": "user", "content": question}],
            "max_completion_tokens": 400,
            "extra_headers": scenario.headers(),
        }
        with otel_llmcost.attributes(
            team="support", feature="answer", customer=customer, prompt_name=prompts.SUPPORT_ANSWER
        ):
            if not stream:
                return client.chat.completions.create(**request).choices[0].message.content or ""
            chunks = client.chat.completions.create(**request, stream=True, stream_options={"include_usage": True})
            return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)

    def escalate(self, customer: str, question: str, scenario: Scenario) -> str:
        # The long system prompt is marked cacheable: escalations mostly read it from the cache.
        system = [{"type": "text", "text": prompts.ESCALATION_SYSTEM, "cache_control": {"type": "ephemeral"}}]
        with otel_llmcost.attributes(
            team="support", feature="answer", customer=customer, prompt_name=prompts.SUPPORT_ESCALATION
        ):
            message = self.anthropic.messages.create(
                model=ESCALATION_MODEL,
                max_tokens=1024,
                system=system,
                messages=[{"role": "user", "content": question}],
                extra_headers=scenario.headers(),
            )
        return "".join(block.text for block in message.content if block.type == "text")

    def summarize(self, customer: str, thread: list[str], scenario: Scenario, *, full_history: bool = False) -> str:
        """Prompt v2 sends the latest messages to Haiku; v3 sends the whole history to Opus."""
        model = FULL_HISTORY_SUMMARY_MODEL if full_history else SUMMARY_MODEL
        lines = thread if full_history else thread[-12:]
        with otel_llmcost.attributes(
            team="support",
            feature="summarize",
            customer=customer,
            prompt_name=prompts.TICKET_SUMMARY_FULL_HISTORY if full_history else prompts.TICKET_SUMMARY,
        ):
            message = self.anthropic.messages.create(
                model=model,
                max_tokens=1024,
                system=prompts.FULL_HISTORY_SUMMARY_INSTRUCTIONS if full_history else prompts.SUMMARY_INSTRUCTIONS,
                messages=[{"role": "user", "content": "\n".join(lines)}],
                extra_headers=scenario.headers(),
            )
        return "".join(block.text for block in message.content if block.type == "text")

    # --- growth -----------------------------------------------------------------

    def research(self, customer: str, question: str, scenario: Scenario) -> str:
        """An agent loop: ask, run the tools the model calls, send their results, until it answers.

        Each step continues the stored previous response, so only the new tool results travel.
        """
        items: list[Any] = [{"role": "user", "content": question}]
        previous: str | None = None
        with (
            otel_llmcost.attributes(
                team="growth", feature="research-agent", customer=customer, prompt_name=prompts.RESEARCH_AGENT
            ),
            otel_llmcost.agent("research-agent"),
        ):
            for _ in range(AGENT_STEP_LIMIT):
                response = self.openai.responses.create(
                    model=RESEARCH_MODEL,
                    instructions=prompts.RESEARCH_INSTRUCTIONS,
                    input=items,
                    tools=RESEARCH_TOOLS,
                    **({"previous_response_id": previous} if previous else {}),
                    extra_headers=scenario.headers(),
                )
                calls = [item for item in response.output if item.type == "function_call"]
                if not calls:
                    return response.output_text
                previous = response.id
                items = [
                    {
                        "type": "function_call_output",
                        "call_id": call.call_id,
                        "output": json.dumps(TOOLS[call.name](**json.loads(call.arguments))),
                    }
                    for call in calls
                ]
        return ""

    # --- data -------------------------------------------------------------------

    def classify(self, tickets: list[tuple[str, str]], scenario: Scenario) -> list[str]:
        """Embed a batch of (customer, text) tickets, then label each one on the flex tier."""
        labels = []
        with otel_llmcost.attributes(team="data", feature="classify", prompt_name=prompts.TICKET_CLASSIFY):
            self.openai.embeddings.create(model=EMBEDDING_MODEL, input=[text for _, text in tickets])
            for customer, text in tickets:
                with otel_llmcost.attributes(customer=customer):
                    completion = self.openai.chat.completions.create(
                        model=CLASSIFY_MODEL,
                        service_tier="flex",
                        messages=[
                            {"role": "system", "content": prompts.CLASSIFY_SYSTEM},
                            {"role": "user", "content": text},
                        ],
                        extra_headers=scenario.headers(),
                    )
                labels.append(completion.choices[0].message.content or "")
        return labels

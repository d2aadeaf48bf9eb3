"""The demo app's prompt templates and the text its users send, all deterministic.

Each template has a name and a version, as a team would keep them; the names travel on spans
as ``gen_ai.prompt.name`` so spend can be traced back to the prompt that caused it.
"""

from __future__ import annotations

import random

SUPPORT_ANSWER = "support-answer-v3"
SUPPORT_ESCALATION = "support-escalation-v1"
TICKET_SUMMARY = "ticket-summary-v2"
TICKET_SUMMARY_FULL_HISTORY = "ticket-summary-v3"  # the new version behind the spend spike
RESEARCH_AGENT = "research-agent-v1"
TICKET_CLASSIFY = "ticket-classify-v2"

_POLICIES = (
    "Refunds are available within 30 days of delivery for unused items in their original packaging.",
    "Orders ship from the nearest warehouse; standard shipping takes three to five business days.",
    "Express shipping is free for Premium customers and costs 12 dollars for everyone else.",
    "Never share another customer's data, and never confirm whether an email address has an account.",
    "If a payment failed, ask the customer to update the card on file under Billing, then retry.",
    "Damaged items are replaced at no cost; ask for a photo only when the order is above 200 dollars.",
    "Escalate to a human when the customer mentions legal action, a data breach or a safety issue.",
    "Answer in the customer's language, in at most four sentences, and end with one clear next step.",
)

# Long and stable on purpose: a shared prefix above 1,024 tokens is what provider prompt caching reads.
SUPPORT_SYSTEM = "You are ACME's support assistant.\n" + "\n".join(
    f"Policy {section}.{number}: {policy}" for section in range(1, 6) for number, policy in enumerate(_POLICIES, 1)
)
ESCALATION_SYSTEM = (
    "You are ACME's senior support specialist. The first-line assistant could not resolve this ticket. "
    "Read the policies, reason about the customer's situation and propose a resolution.\n" + SUPPORT_SYSTEM
)
SUMMARY_INSTRUCTIONS = "Summarize this support ticket for the next agent in five bullet points: problem, history, promises made, sentiment, next step."
# v3: a new template that reads the ticket's whole history (its own fingerprint, so the spike has a name)
FULL_HISTORY_SUMMARY_INSTRUCTIONS = (
    "Read the ticket's complete history below, every message since it was opened, and summarize it for the "
    "next agent in five bullet points: problem, history, promises made, sentiment, next step."
)
RESEARCH_INSTRUCTIONS = (
    "You are ACME's market research agent. Use web_search for public information and lookup_order for "
    "ACME order data. Cite what you found and keep the final answer under 200 words."
)
CLASSIFY_SYSTEM = "Classify the support ticket into exactly one of: billing, shipping, returns, account, other. Reply with the label only."
CATEGORIES = ("billing", "shipping", "returns", "account", "other")

_PRODUCTS = ("trail running shoes", "espresso machine", "standing desk", "noise-cancelling headphones", "air purifier")
_QUESTIONS = (
    "Where is my order {order}? It was supposed to arrive on Monday.",
    "I was charged twice for order {order}, can you refund one of the charges?",
    "The {product} from order {order} arrived damaged. What are my options?",
    "How do I change the shipping address on order {order}?",
    "Can I return the {product} I bought last week? Order {order}.",
    "My card was declined for the {product} but the money left my account.",
)
_RESEARCH = (
    "What are competitors charging for a {product} this quarter, and how do our order volumes compare ({order})?",
    "Find recent reviews of the {product} and summarize the top complaints.",
    "Is demand for the {product} growing? Check the news and our order {order}.",
)
_TICKET_LINES = (
    "Customer: I still have not received my refund and it has been two weeks.",
    "Agent: I am sorry about the wait. I have escalated this to our billing team.",
    "Customer: The tracking page has not updated since Friday, is the parcel lost?",
    "Agent: The carrier confirmed a delay at the regional hub; a new estimate is Thursday.",
    "Customer: This is the third time I am writing about the same problem.",
    "Agent: I have added a 15 percent voucher to your account for the inconvenience.",
)


def question(rng: random.Random) -> str:
    return _fill(rng.choice(_QUESTIONS), rng)


def research_question(rng: random.Random) -> str:
    return _fill(rng.choice(_RESEARCH), rng)


def ticket_thread(rng: random.Random, messages: int) -> list[str]:
    """A ticket's conversation, ``messages`` lines long (a full history runs to hundreds)."""
    return [f"[{index:03d}] {rng.choice(_TICKET_LINES)}" for index in range(messages)]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(order=f"ORD-{rng.randrange(10000, 99999)}", product=rng.choice(_PRODUCTS))

"""The prompt fingerprint masks what changes per request but not per template: numbers, ids, dates."""

from __future__ import annotations

import pytest

from otel_llmcost.instrumentation.fingerprint import prompt_fingerprint


def fingerprint(system: str) -> str:
    return prompt_fingerprint(system, (), ("system:text", "user:text"))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("You help with order 12345, placed 2026-07-24.", "You help with order 67890, placed 2026-08-01."),
        ("Request 123e4567-e89b-12d3-a456-426614174000.", "Request 9b2f0c1e-5d3a-4f7b-8c6d-1a2b3c4d5e6f."),
        # ids with a prefix: the hex after the underscore changes per session
        ("Session sess_9f86d081884c7d659a2feaa0c55ad015.", "Session sess_60303ae22b998861bce3b28f33eec1be."),
        # dates in words change every day, the weekday and month names with them
        ("Today is Monday, July 24, 2026.", "Today is Tuesday, August 1st, 2026."),
        ("Date: 24 July 2026. Be brief.", "Date: 3 March 2026. Be brief."),
        ("It is Friday: keep answers short.", "It is Sunday: keep answers short."),
    ],
)
def test_the_same_template_on_different_requests_has_one_fingerprint(one, other):
    assert fingerprint(one) == fingerprint(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("You may use the tools.", "You must use the tools."),  # "may" is a word here, not a month
        ("Answer in French.", "Answer in German."),
        ("Session sess_a for user.", "Session sess_b for user."),  # short names are words, not ids
        ("You are the marketing 2 bot.", "You are the decision 3 bot."),  # words that start like months
    ],
)
def test_different_templates_keep_different_fingerprints(one, other):
    assert fingerprint(one) != fingerprint(other)

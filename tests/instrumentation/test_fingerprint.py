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
        # ordinals, times of day, abbreviated weekdays before a date
        ("This is the customer's 3rd visit.", "This is the customer's 4th visit."),
        ("Delivery on the 1st of July.", "Delivery on the 2nd of July."),
        ("The store opens at 10:30 AM.", "The store opens at 9:05 PM."),
        ("Today: Mon 3 Nov 2026.", "Today: Tue 4 Nov 2026."),
        # digests, tokens and ids that are not hex alone
        (
            "Policy sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.",
            "Policy sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752.",
        ),
        ("Trace 01ARZ3NDEKTSV4RRFFQ69G5FAV.", "Trace 01HZY8G4Q2J7W1X6V3N5M9K0PB."),
        ("Customer cus_NffrFeUfNV2Hib.", "Customer cus_Pq7Rs8Tu9Vw0Xy."),
        ("Token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig1", "Token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIn0.sig2"),
        # uuids glued to a letter or a number
        ("Ticket T123e4567-e89b-12d3-a456-426614174000 is open", "Ticket T9b2f0c1e-5d3a-4f7b-8c6d-1a2b3c4d5e6f is open"),
        ("ref:xa50e8400-e29b-41d4-a716-446655440000", "ref:xb60e8400-e29b-41d4-a716-446655440000"),
        ("Conversation 123e4567-e89b-12d3-a456-4266141740001 follows", "Conversation 9b2f0c1e-5d3a-4f7b-8c6d-1a2b3c4d5e6f2 follows"),
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
        ("Talk about the sun.", "Talk about the sat."),  # abbreviated weekdays alone are words
        # a long snake_case name is no id (an id has a digit)
        ("Use the user_configurationsettings tool.", "Use the user_preferencesandsettings tool."),
    ],
)
def test_different_templates_keep_different_fingerprints(one, other):
    assert fingerprint(one) != fingerprint(other)


def test_the_fingerprint_cache_keeps_no_prompt_text():
    # RAG apps put whole documents in the system prompt: the cache of answers holds hashes, not text.
    from otel_llmcost.instrumentation import fingerprint as module

    document = "Retrieved: " + "confidential clause " * 2_000
    first = module.head_fingerprint(document, (), ("system:text", "user:text"))
    assert module.head_fingerprint(document + "", (), ("system:text", "user:text")) == first
    assert first == prompt_fingerprint(document, (), ("system:text", "user:text"))
    cached = [part for key in module._cache for part in key if isinstance(part, str)]
    assert not [part for part in cached if "confidential" in part]


def test_a_long_system_prompt_is_masked_over_its_head_only(monkeypatch):
    # Masking runs on the caller's thread whenever a system prompt is new (~0.2 ms per 1,000 characters): a
    # 47 KB prompt of retrieved documents took 26 ms. Past the first 4,096 characters the text is hashed as
    # it is: its template's volatile parts there no longer mask, and retrieved documents make it new anyway.
    from otel_llmcost.instrumentation import fingerprint as module

    head = "You answer from the documents below. Today is July 24, 2026. " + "x" * module._MASKED_CHARS
    assert fingerprint(head + " order 12345") != fingerprint(head + " order 67890")  # past the head
    assert fingerprint(head.replace("July 24", "July 25") + " tail") == fingerprint(head + " tail")

    scanned = []

    class Spy:
        def search(self, text, start, end):
            scanned.append(min(end, len(text)) - start)
            return None

    monkeypatch.setattr(module, "_VOLATILE", Spy())
    fingerprint("y" * 50_000)
    assert scanned == [module._MASKED_CHARS + module._LOOKAHEAD_CHARS]  # up to the cut, and a little past it


def test_a_long_system_prompt_cut_after_values_of_varying_length_keeps_one_fingerprint():
    # The head was cut at the 4,096th character of the prompt: a value masked before it (7 or 4567 open tickets)
    # moved the cut, which then fell inside a fixed number of the template ("1167" hashed as "#" and "167").
    from otel_llmcost.instrumentation import fingerprint as module

    price_list = "".join(f"SKU {1000 + index} costs {index * 7 + 13} USD; " for index in range(200))
    template = "You are a support agent. The customer has {} open tickets.\nPrice list:\n"
    fingerprints = {fingerprint(template.format(tickets) + price_list) for tickets in (7, 42, 123, 4567, 89012)}
    assert len(price_list) > module._MASKED_CHARS
    assert len(fingerprints) == 1
    # past the masked head the text still counts as it is
    tail = price_list.replace("SKU 1199 costs", "SKU 1199 (discontinued) costs")
    assert fingerprint(template.format(7) + tail) not in fingerprints
    # a head dense with values: its masked 4,096 characters span more than twice as many of the prompt's
    zip_codes = "Served ZIP codes: " + ", ".join(str(10000 + index * 7) for index in range(2000)) + "\n"
    template = "You are a delivery agent. The customer has {} open orders.\n"
    assert len({fingerprint(template.format(orders) + zip_codes) for orders in (7, 42, 123, 4567, 89012)}) == 1

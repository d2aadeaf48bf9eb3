"""A prompt's fingerprint: a stable hash of its shape, computed without keeping content.

Two calls share a fingerprint when they come from the same prompt template: same
system prompt (with numbers, ids and dates masked), same tool definitions, same
sequence of message roles and part types up to the first user message. The varying
user text does not enter the hash, so a spike can be grouped by prompt with content
capture off; and the turns that follow (conversation history, an agent's tool
results) do not either, so every step of one agent or chat template shares it.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable

_MONTH = (  # a month's name or its abbreviation, not any word that starts like one (marketing, decision)
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
# Masks the parts of a system prompt that change per request but not per template.
_VOLATILE = re.compile(
    rf"(?:\b{_WEEKDAY},?\s+)?\b{_MONTH}\s+\d+(?:st|nd|rd|th)?"  # dates in words: Monday, July 24 / Jul. 24th
    rf"|\b\d+(?:st|nd|rd|th)?\s+{_MONTH}"  # 24 July
    rf"|\b{_WEEKDAY}\b"  # today is Monday
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # uuids
    r"|(?<![0-9a-z])[0-9a-f]{16,}(?![0-9a-z])"  # long hex ids, prefixed ones too (sess_9f86d081884c7d65...)
    r"|\d+(?:[.,:/-]\d+)*",  # numbers, dates, times
    re.IGNORECASE,
)


def prompt_fingerprint(system: str | None, tools: Iterable[str], shape: Iterable[str]) -> str:
    """Hash of (system prompt with volatile parts masked, tool definitions, message shape).

    ``tools`` are canonical strings of each tool definition (name and parameter schema);
    ``shape`` is one token per message, such as ``"user:text"`` or ``"assistant:tool_call"``.
    Returns 16 hex characters.
    """
    digest = hashlib.blake2b(digest_size=8)
    if system:
        digest.update(_VOLATILE.sub("#", system).encode("utf-8", "surrogatepass"))
    digest.update(b"\x00")
    for tool in tools:
        digest.update(tool.encode("utf-8", "surrogatepass"))
        digest.update(b"\x01")
    digest.update(b"\x00")
    for token in shape:
        digest.update(token.encode())
        digest.update(b"|")
        if token.startswith("user"):
            break
    return digest.hexdigest()


@functools.lru_cache(maxsize=4096)
def head_fingerprint(system: str, tools: tuple[str, ...], head: tuple[str, ...]) -> str:
    """``prompt_fingerprint`` of a shape already cut after its first user message, cached: calls of
    one template repeat the same inputs, and masking and hashing the system text would otherwise
    cost more than the rest of the call."""
    return prompt_fingerprint(system, tools, head)


def fingerprint(system: str, tools: Iterable[str], shape: Iterable[str]) -> str:
    """``head_fingerprint`` of ``shape`` read up to its first user message, as the fingerprint reads it."""
    head = []
    for token in shape:
        head.append(token)
        if token.startswith("user"):
            break
    return head_fingerprint(system, tuple(tools), tuple(head))

"""A prompt's fingerprint: a stable hash of its shape, computed without keeping content.

Two calls share a fingerprint when they come from the same prompt template: same
system prompt (with numbers, ids and dates masked), same tool definitions, same
sequence of message roles and part types up to the first user message. The varying
user text does not enter the hash, so a spike can be grouped by prompt with content
capture off; and the turns that follow (conversation history, an agent's tool
results) do not either, so every step of one agent or chat template shares it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

_MONTH = (  # a month's name or its abbreviation, not any word that starts like one (marketing, decision)
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
# An abbreviated weekday only before a date (Mon 3 Nov, Tue, Jul 4): alone, sun, sat and wed are words.
_WEEKDAY_SHORT = rf"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b\.?,?\s+(?=\d|{_MONTH})"
_ORDINAL = r"(?:st|nd|rd|th)?"
# Masks the parts of a system prompt that change per request but not per template. A uuid may start
# anywhere (glued to a letter or a number); the others start a word or a number, which the lookahead and
# lookbehind tell first: the engine then drops the positions inside a word at once (twice as fast).
_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # uuids
    r"|(?:(?<![0-9a-z])|(?=\d))(?:"
    rf"(?:\b(?:{_WEEKDAY},?\s+|{_WEEKDAY_SHORT}))?\b{_MONTH}\s+\d+{_ORDINAL}"  # Monday, July 24 / Jul. 24th
    rf"|\b(?:{_WEEKDAY_SHORT})?\d+{_ORDINAL}(?:\s+of)?\s+{_MONTH}"  # 24 July, Mon 3 Nov, 1st of July
    rf"|\b{_WEEKDAY}\b"  # today is Monday
    r"|\b(?:sha(?:1|224|256|384|512)?|md5|blake2[bs]?)[:=-][0-9a-f]{16,}\b"  # digests (before the number rule)
    r"|\beyJ[\w-]+\.[\w-]+\.[\w-]*"  # JSON Web Tokens
    r"|\b[0-7][0-9a-hjkmnp-tv-z]{25}\b"  # ULIDs
    r"|\b[a-z]{2,8}_(?=[0-9a-z]*\d)[0-9a-z]{14,}\b"  # prefixed ids (Stripe's cus_NffrFeUfNV2Hib)
    r"|(?<![0-9a-z])[0-9a-f]{16,}(?![0-9a-z])"  # long hex ids, prefixed ones too (sess_9f86d081884c7d65...)
    rf"|\d+(?:[.,:/-]\d+)*(?:\s?[ap]\.?m\b\.?|{_ORDINAL}\b)?"  # numbers, ordinals, dates, times (10:30 AM)
    ")",
    re.IGNORECASE,
)
# Masking costs ~0.2 ms per 1,000 characters, on the caller's thread whenever a system prompt is new: past
# this many characters of the masked text (retrieved documents, which make every prompt new anyway) the
# text is hashed as it is. Counted in the masked text, the cut falls at the same place of the template
# whatever the length of the values masked before it (7 or 4567 open tickets).
_MASKED_CHARS = 4096
# How far past where the cut would fall a volatile value is looked for: one starting there (a date, a number)
# moves the cut past itself; a longer one (a token) that the window cuts is read whole.
_LOOKAHEAD_CHARS = 256
# head_fingerprint's answers, keyed without the system text: (its hash and length, tools, head). A
# system prompt may hold whole retrieved documents; the cache must not keep them (memory, privacy).
_CACHE_SIZE = 4096
_cache: dict[tuple[int, int, tuple[str, ...], tuple[str, ...]], str] = {}


def tool_text(name: object, description: object, schema: object) -> str:
    """A tool definition as the fingerprint hashes it, whichever SDK's shape it came in: its name, its
    description (prompt text too, tuned like the system prompt) and its parameter schema."""
    if isinstance(description, str) and description:
        name = f"{name} ({description})"
    return str(name) if schema is None else f"{name}:{schema_text(schema)}"


def schema_text(schema: object) -> str:
    """A tool's schema as its fingerprint hashes it: JSON with sorted keys, the same text for equal
    schemas. Keys JSON cannot sort (an int beside a str, which the SDKs send as they are) keep their
    order; a schema JSON cannot hold at all (a cycle) is its type's name."""
    try:
        return json.dumps(schema, sort_keys=True, default=str)
    except (TypeError, ValueError):
        try:
            return json.dumps(schema, default=str)
        except (TypeError, ValueError):
            return type(schema).__name__


def prompt_fingerprint(system: str | None, tools: Iterable[str], shape: Iterable[str]) -> str:
    """Hash of (system prompt with volatile parts masked, tool definitions, message shape).

    ``tools`` are canonical strings of each tool definition (name and parameter schema);
    ``shape`` is one token per message, such as ``"user:text"`` or ``"assistant:tool_call"``.
    Returns 16 hex characters.
    """
    digest = hashlib.blake2b(digest_size=8)
    if system:
        for text in _masked_head(system):
            digest.update(text.encode("utf-8", "surrogatepass"))
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


def _masked_head(system: str) -> tuple[str, str]:
    """The system prompt's first ``_MASKED_CHARS`` characters with its volatile parts masked, and the
    rest as it is. The cut is counted in the masked text and falls between two masked values, never
    inside one. The text is searched only as far as the cut (and ``_LOOKAHEAD_CHARS`` past it)."""
    if len(system) <= _MASKED_CHARS:
        return _VOLATILE.sub("#", system), ""
    parts = []
    size = position = 0  # the masked text's length so far; where the original text is read from
    search = _VOLATILE.search
    while True:
        left = _MASKED_CHARS - size  # characters to the cut, if no value starts before it
        window = position + left + _LOOKAHEAD_CHARS
        match = search(system, position, window)
        if match is not None and match.end() >= window:  # cut by the window: read it whole
            match = search(system, match.start())
        if match is None or match.start() - position >= left:
            break
        start = match.start()
        parts += (system[position:start], "#")
        size += start - position + 1
        position = match.end()
    cut = position + _MASKED_CHARS - size
    parts.append(system[position:cut])
    return "".join(parts), system[cut:]


def head_fingerprint(system: str, tools: tuple[str, ...], head: tuple[str, ...]) -> str:
    """``prompt_fingerprint`` of a shape already cut after its first user message, cached: calls of
    one template repeat the same inputs, and masking and hashing the system text would otherwise
    cost more than the rest of the call."""
    key = (hash(system), len(system), tools, head)
    found = _cache.get(key)
    if found is None:
        found = prompt_fingerprint(system, tools, head)
        if len(_cache) >= _CACHE_SIZE:
            del _cache[next(iter(_cache))]  # the oldest entry
        _cache[key] = found
    return found


def fingerprint(system: str, tools: Iterable[str], shape: Iterable[str]) -> str:
    """``head_fingerprint`` of ``shape`` read up to its first user message, as the fingerprint reads it."""
    head = []
    for token in shape:
        head.append(token)
        if token.startswith("user"):
            break
    return head_fingerprint(system, tuple(tools), tuple(head))

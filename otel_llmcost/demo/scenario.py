"""What the fake LLM server should answer: a ``Scenario``, sent per request as a header.

A request carries its scenario in the ``x-fake-scenario`` header as a JSON object, so real SDK
clients can script any call (``extra_headers=scenario.headers()``, or ``default_headers`` for
every call of a client). Without the header the server uses its default scenario.

    curl -H 'x-fake-scenario: {"cached_share": 0.5, "reasoning_tokens": 128}' ...
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCENARIO_HEADER = "x-fake-scenario"


class ScenarioError(ValueError):
    """The scenario header is not a valid scenario; the message says which field and why."""


@dataclass(frozen=True)
class Scenario:
    """A scripted response. Token counts not scripted here are counted from the text."""

    reply: str | None = None  # the exact visible text; else generated from the prompt
    output_tokens: int | None = None  # length of the generated text in tokens (about)
    cached_share: float = 0.0  # share of prompt tokens read from the prompt cache
    cache_write_share: float = 0.0  # share of prompt tokens written to the cache
    cache_ttl: str = "short"  # cache writes: "short" (5m Anthropic, 30m OpenAI) or "long" (1h / 12h)
    reasoning_tokens: int | None = None  # None: reasoning models reason a deterministic amount
    tools: tuple[str, ...] = ()  # call these tools (the request must declare them)
    tool_rounds: int = 1  # call them until the conversation holds this many turns of tool results
    tool_args: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per tool, else from its schema
    error: int | None = None  # answer with this HTTP status and the provider's error body
    delay: float = 0.0  # seconds before the first byte; for the demo, never for tests
    abort_after: int | None = None  # streams: drop the connection after this many SSE events
    response_model: str | None = None  # model id in the response (e.g. a dated snapshot)
    omit_usage: bool = False  # leave usage out of the response
    service_tier: str | None = None  # service tier in the response; else echoed from the request

    def headers(self) -> dict[str, str]:
        """The header that selects this scenario, for ``extra_headers`` / ``default_headers``."""
        return {SCENARIO_HEADER: self.to_json()}

    def to_json(self) -> str:
        defaults = Scenario()
        changed = {
            item.name: getattr(self, item.name)
            for item in dataclasses.fields(self)
            if getattr(self, item.name) != getattr(defaults, item.name)
        }
        if "tools" in changed:
            changed["tools"] = list(changed["tools"])
        return json.dumps(changed, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        try:
            values = json.loads(text)
        except ValueError as exc:
            raise ScenarioError(f'{SCENARIO_HEADER} is not JSON ({exc}); send an object such as {{"error": 429}}')
        if not isinstance(values, dict):
            raise ScenarioError(f"{SCENARIO_HEADER} must be a JSON object, got {type(values).__name__}")
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ScenarioError(f"{SCENARIO_HEADER} has unknown fields {unknown}; known fields: {sorted(known)}")
        if isinstance(values.get("tools"), str):
            values["tools"] = [values["tools"]]
        if "tools" in values:
            values["tools"] = tuple(values["tools"])
        scenario = cls(**values)
        scenario.validate()
        return scenario

    def validate(self) -> None:
        for name in ("cached_share", "cache_write_share"):
            share = getattr(self, name)
            if not isinstance(share, (int, float)) or not 0 <= share <= 1:
                raise ScenarioError(f"{name} must be a number from 0 to 1, got {share!r}")
        if self.cached_share + self.cache_write_share > 1:
            raise ScenarioError("cached_share + cache_write_share must not exceed 1")
        if self.cache_ttl not in ("short", "long"):
            raise ScenarioError(f'cache_ttl must be "short" or "long", got {self.cache_ttl!r}')
        for name in ("output_tokens", "reasoning_tokens", "abort_after", "error", "tool_rounds"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ScenarioError(f"{name} must be a non-negative integer, got {value!r}")
        if self.error is not None and not 400 <= self.error <= 599:
            raise ScenarioError(f"error must be an HTTP error status (400-599), got {self.error}")
        if not isinstance(self.delay, (int, float)) or self.delay < 0:
            raise ScenarioError(f"delay must be a non-negative number of seconds, got {self.delay!r}")

"""Legacy Completions (``/completions``): request description, response, stream state."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.content import text_part
from otel_llmcost.instrumentation.openai import params
from otel_llmcost.instrumentation.openai.chat import usage_of

API_TYPE = "completions"


def describe(body: Mapping[str, Any], request: core.Request) -> None:
    attributes = request.attributes
    attributes[sc.OPENAI_API_TYPE] = API_TYPE
    request.service_tier = params.request_parameters(body, attributes)
    # No fingerprint: a bare prompt has no system text, tools or message shape to tell templates apart.
    prompt = body.get("prompt")
    request.input_messages = functools.partial(_input_messages, prompt)
    request.estimate_input_tokens = functools.partial(_count_prompt, prompt, request.model or "")


def read(completion: Any) -> core.Response:
    choices = completion.choices or ()
    return core.new_response(
        model=completion.model,
        id=completion.id,
        finish_reasons=[choice.finish_reason for choice in choices if choice.finish_reason],
        usage=usage_of(completion.usage) if completion.usage is not None else None,
        output_text="".join(choice.text or "" for choice in choices),
        output_messages=functools.partial(
            _output_messages, [(choice.text, choice.finish_reason) for choice in choices]
        ),
        attributes=_fingerprint_attribute(completion.system_fingerprint),
    )


class CompletionStream:
    """What a completion stream said so far (see chat.ChatStream for ``injected_usage``)."""

    __slots__ = ("injected_usage", "model", "id", "fingerprint", "usage", "texts", "finish")

    def __init__(self, injected_usage: bool) -> None:
        self.injected_usage = injected_usage
        self.model: str | None = None
        self.id: str | None = None
        self.fingerprint: str | None = None
        self.usage: Any = None
        self.texts: dict[int, list[str]] = {}
        self.finish: dict[int, str] = {}

    def add(self, chunk: Any) -> bool:
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
            if self.injected_usage and not chunk.choices:
                return False
        elif self.injected_usage:
            chunk.__pydantic_fields_set__.discard("usage")
        if chunk.model:
            self.model = chunk.model
        if self.id is None and chunk.id:  # as ChatStream.add: Azure's first chunk has an empty id
            self.id = chunk.id
            self.fingerprint = chunk.system_fingerprint
        for choice in chunk.choices:
            if choice.text:
                self.texts.setdefault(choice.index, []).append(choice.text)
            if choice.finish_reason:
                self.finish[choice.index] = choice.finish_reason
        return True

    def response(self) -> core.Response:
        indexes = sorted(self.texts.keys() | self.finish.keys())
        texts = ["".join(self.texts.get(index, ())) for index in indexes]
        return core.new_response(
            model=self.model,
            id=self.id,
            finish_reasons=[self.finish[index] for index in indexes if index in self.finish],
            usage=usage_of(self.usage) if self.usage is not None else None,
            output_text="".join(texts),
            output_messages=functools.partial(
                _output_messages, [(text, self.finish.get(index)) for text, index in zip(texts, indexes, strict=True)]
            ),
            attributes=_fingerprint_attribute(self.fingerprint),
        )


def _fingerprint_attribute(fingerprint: str | None) -> dict[str, Any]:
    return {sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT: fingerprint} if fingerprint else {}


def _prompt_texts(prompt: Any) -> list[str]:
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and all(isinstance(item, str) for item in prompt):
        return prompt
    return []  # token-id prompts carry no text


def _input_messages(prompt: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "parts": [text_part(text)]} for text in _prompt_texts(prompt)]


def _output_messages(choices: list[tuple[str | None, str | None]]) -> list[dict[str, Any]]:
    return [
        {"role": "assistant", "parts": [text_part(text)] if text else [], "finish_reason": finish or ""}
        for text, finish in choices
    ]


def _count_prompt(prompt: Any, model: str) -> int:
    from otel_llmcost.tokens import count_text

    if isinstance(prompt, list) and prompt and all(isinstance(item, int) for item in prompt):
        return len(prompt)  # already tokens
    if isinstance(prompt, list) and prompt and all(isinstance(item, list) for item in prompt):
        return sum(len(item) for item in prompt)
    return sum(count_text(text, model) for text in _prompt_texts(prompt))

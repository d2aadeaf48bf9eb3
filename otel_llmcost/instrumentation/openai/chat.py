"""Chat Completions (``/chat/completions``): request description, response, stream state."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.content import text_part, tool_call_part, tool_response_part
from otel_llmcost.instrumentation.fingerprint import head_fingerprint
from otel_llmcost.instrumentation.openai import params
from otel_llmcost.instrumentation.openai.content import (
    count_tools,
    finish_reason,
    part_types,
    parts_of,
    text_of,
    tool_signature,
)
from otel_llmcost.pricing.types import Usage, new_usage

API_TYPE = "chat_completions"
_SYSTEM_ROLES = ("system", "developer")


def describe(body: Mapping[str, Any], request: core.Request) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        messages = []
    request.fingerprint = fingerprint_of(messages, body.get("tools"))
    request.service_tier = parameters(body, request.attributes)
    request.input_messages = functools.partial(input_messages, messages)
    request.estimate_input_tokens = functools.partial(count_input, messages, request.model or "", body.get("tools"))


def parameters(body: Mapping[str, Any], attributes: dict[str, Any]) -> str | None:
    """The API type, request parameters and output type as attributes; returns the requested service tier."""
    attributes[sc.OPENAI_API_TYPE] = API_TYPE
    tier = params.request_parameters(body, attributes)
    response_format = body.get("response_format")
    if response_format is not None and isinstance(response_format, Mapping):
        output_type = params.output_type(response_format.get("type"))
        if output_type:
            attributes[sc.GEN_AI_OUTPUT_TYPE] = output_type
    modalities = body.get("modalities")  # gpt-4o-audio's spoken answer (with its transcript)
    if isinstance(modalities, (list, tuple)) and "audio" in modalities:
        attributes[sc.GEN_AI_OUTPUT_TYPE] = "speech"
    model = body.get("model")
    if body.get("web_search_options") is not None or (type(model) is str and "-search-" in model):
        _unpriced_search(model)
    return tier


def _unpriced_search(model: Any) -> None:
    """A search model's call (gpt-4o-search-preview, gpt-5-search-api): OpenAI bills its web search per
    call, by ``search_context_size``, beside the tokens; the sources price it for a few model ids only and
    the usage does not count searches, so the fee is not priced. Said once per model, not passed off as
    the call's whole cost."""
    core.log_once(
        f"openai.unpriced_chat_search.{model}",
        "otel-llmcost: Chat Completions calls to %s search the web; OpenAI's per-call search fee is not "
        "priced: their spans' cost is the tokens' alone, understated by that fee",
        model,
    )


def fingerprint_of(messages: list[Any], tools: Any) -> str:
    """The prompt fingerprint: the conversation read up to the first user message (the system and
    developer messages that open it, and one ``role:part-types`` token per message) and the tools."""
    system: list[str] = []
    shape: list[str] = []
    for message in messages:
        if type(message) is not dict and not isinstance(message, Mapping):
            continue
        role = message.get("role")
        content = message.get("content")
        plain = type(content) is str  # the common case, without the helpers' checks
        if role in _SYSTEM_ROLES and len(system) == len(shape):
            system.append(content if plain else text_of(content))
        kinds = "text" if plain else part_types(content)
        if message.get("tool_calls"):
            kinds = f"{kinds}+tool_call" if kinds else "tool_call"
        shape.append(f"{role}:{kinds}")
        if role == "user":
            break
    return head_fingerprint(
        "\n".join(system), tuple(map(tool_signature, tools)) if isinstance(tools, list) else (), tuple(shape)
    )


def input_messages(messages: list[Any]) -> list[dict[str, Any]]:
    converted = []
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        role = message.get("role")
        if role == "tool":
            parts = [tool_response_part(message.get("tool_call_id"), text_of(message.get("content")))]
        else:
            parts = parts_of(message.get("content"))
            for call in message.get("tool_calls") or ():
                function = call.get("function") or call.get("custom") or {}
                parts.append(
                    tool_call_part(
                        call.get("id"), function.get("name"), function.get("arguments", function.get("input"))
                    )
                )
        converted.append({"role": "system" if role == "developer" else role, "parts": parts})
    return converted


def usage_of(usage: Any) -> Usage | None:
    """Chat usage: ``prompt_tokens`` already includes cached tokens, ``completion_tokens`` reasoning.
    None for a usage without counts (a compatible server's ``null``s): the call is estimated, as
    one without usage is, rather than recorded as an exact 0."""
    prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
    if prompt_tokens is None and completion_tokens is None:
        return None
    try:
        details, output_details = usage.prompt_tokens_details, usage.completion_tokens_details
        cached = (details.cached_tokens or 0) if details is not None else 0
        written = (getattr(details, "cache_write_tokens", None) or 0) if details is not None else 0
        reasoning = (output_details.reasoning_tokens or 0) if output_details is not None else 0
        audio = getattr(details, "audio_tokens", None) or getattr(output_details, "audio_tokens", None)
    except AttributeError:
        # openai < 1.51 declares no details: pydantic keeps the wire's as plain dicts, and reading absent
        # ones raises; a compatible server may send details that are not objects (PHP's [] for an empty map).
        details = getattr(usage, "prompt_tokens_details", None)
        output_details = getattr(usage, "completion_tokens_details", None)
        cached, reasoning = count_of(details, "cached_tokens"), count_of(output_details, "reasoning_tokens")
        written = count_of(details, "cache_write_tokens")
        audio = count_of(details, "audio_tokens") or count_of(output_details, "audio_tokens")
    if not cached:
        # DeepSeek reports cache hits beside the OpenAI fields.
        cached = extra_field(usage, "prompt_cache_hit_tokens") or 0
    if audio and not _said_audio:
        _audio_priced_as_text()
    output_tokens = completion_tokens or 0
    total = getattr(usage, "total_tokens", None)
    if reasoning and total == (prompt_tokens or 0) + output_tokens + reasoning:
        # xAI (Grok, on Vertex too) counts reasoning apart from completion_tokens, in the total: output all the same
        output_tokens += reasoning
    elif not reasoning and type(total) is int and total > (prompt_tokens or 0) + output_tokens:
        # Gemini's OpenAI endpoint leaves a thinking model's thoughts out of completion_tokens, and out of
        # any detail: the total counts them, and they bill as output
        reasoning = total - (prompt_tokens or 0) - output_tokens
        output_tokens += reasoning
    return new_usage(
        input_tokens=prompt_tokens or 0,
        output_tokens=output_tokens,
        cache_read_tokens=cached,
        # prompt tokens written to the cache (gpt-5.6 bills them above the input rate; where a model's
        # price has no cache-write rate, they cost the input rate, as before they were reported)
        cache_write_5m_tokens=written if type(written) is int else 0,
        reasoning_tokens=reasoning,
    )


_said_audio = False


def _audio_priced_as_text() -> None:
    """Audio tokens (gpt-4o-audio, gpt-audio) bill at their own, higher rates, which the catalog does not
    have yet: say so once rather than let the text rate pass for their cost."""
    global _said_audio
    _said_audio = True
    core.log_once(
        "openai.audio_tokens",
        "otel-llmcost: a call reported audio tokens; they are priced at the model's text rates, since the price "
        "catalog has no audio prices yet, so such calls cost more than their spans say",
    )


def usage_beside(chunk: Any) -> Any:
    """The usage a compatible server sends beside the OpenAI fields in a stream's last chunk, or None:
    Groq's ``x_groq.usage`` (it takes no ``stream_options``), read as ``usage_of`` reads a usage."""
    extra = extra_field(chunk, "x_groq")
    usage = extra.get("usage") if isinstance(extra, Mapping) else None
    if not isinstance(usage, Mapping):
        return None
    return SimpleNamespace(
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        total_tokens=usage.get("total_tokens"),
        prompt_tokens_details=usage.get("prompt_tokens_details"),
        completion_tokens_details=usage.get("completion_tokens_details"),
    )


def count_of(details: Any, name: str) -> int:
    """A count in a usage's details, whether the SDK parsed them as its model or, not declaring them
    (older SDK versions), kept the wire's object as a dict; 0 when absent."""
    value = details.get(name) if isinstance(details, Mapping) else getattr(details, name, None)
    return value if type(value) is int else 0


def extra_field(model: Any, name: str) -> Any:
    """A field the SDK's model does not declare (a compatible server's own), or None. Read from
    where pydantic keeps it: ``getattr`` of an absent one costs an exception."""
    extra = getattr(model, "__pydantic_extra__", None)  # pydantic 2
    if extra is not None:
        return extra.get(name)
    return getattr(model, "__dict__", {}).get(name)  # pydantic 1 keeps them as attributes


def outcome(choices: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """A completion's finish reasons, and the tool calls (call id, tool name) its choices ask for."""
    finish_reasons = []
    tool_calls = []
    for choice in choices:
        if choice.finish_reason:
            finish_reasons.append(choice.finish_reason)
        message = choice.message
        if message is not None and message.tool_calls:
            tool_calls.extend((call.id, tool_name(call)) for call in message.tool_calls)
    return finish_reasons, tool_calls


def read(completion: Any) -> core.Response:
    # fast_chat.finish reads the same fields straight into span attributes: keep the two alike.
    choices = completion.choices or ()
    finish_reasons, tool_calls = outcome(choices)
    reported = completion.usage
    usage = usage_of(reported) if reported is not None else None
    attributes = {}
    if completion.system_fingerprint:
        attributes[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = completion.system_fingerprint
    tier = completion.service_tier
    if tier:
        attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier
    return core.new_response(
        model=completion.model,
        id=completion.id,
        finish_reasons=finish_reasons,
        usage=usage,
        service_tier=tier,
        tool_calls=tool_calls,
        # Only read to estimate the output tokens, when the usage is missing.
        output_text="" if usage is not None else "".join(generated_texts(choices)),
        output_messages=functools.partial(_output_messages, completion),
        attributes=attributes,
    )


def generated_texts(choices: Any) -> Iterator[str]:
    """What the choices generated, to count when the usage is missing: their text, refusals and
    tool calls' arguments, or a legacy ``function_call``'s (all of them output tokens)."""
    for choice in choices:
        message = choice.message
        if message is None:
            continue
        content = message.content
        if content:
            yield content if type(content) is str else "".join(content_texts(content))
        refusal = getattr(message, "refusal", None)  # declared since openai 1.40's structured outputs
        if refusal:
            yield refusal
        thinking = reasoning_text(message)
        if thinking:
            yield thinking
        for call in message.tool_calls or ():
            yield tool_input(call)
        function_call = getattr(message, "function_call", None)  # the deprecated functions= API
        if function_call is not None:
            yield getattr(function_call, "arguments", None) or ""


def content_texts(content: Any) -> tuple[str, str]:
    """A message's or delta's content given as parts (Mistral's reasoning models: text parts and
    ``thinking`` parts holding text parts): (its text, its thinking), both output tokens."""
    texts: list[str] = []
    thinking: list[str] = []
    for part in content if isinstance(content, (list, tuple)) else ():
        if _part_field(part, "type") == "thinking":
            inner = _part_field(part, "thinking")
            thinking.append(inner if isinstance(inner, str) else "".join(content_texts(inner)))
        elif isinstance(text := _part_field(part, "text"), str):
            texts.append(text)
    return "".join(texts), "".join(thinking)


def _part_field(part: Any, name: str) -> Any:
    return part.get(name) if isinstance(part, Mapping) else getattr(part, name, None)


def reasoning_text(message: Any) -> str:
    """The reasoning a compatible server sends beside the answer (DeepSeek's ``reasoning_content``, vLLM's
    and Ollama's ``reasoning``), billed as output: counted when the usage is missing."""
    for name in ("reasoning_content", "reasoning"):
        text = extra_field(message, name)
        if isinstance(text, str) and text:
            return text
    return ""


def tool_input(call: Any) -> str:
    """A tool call's arguments (a function's JSON, a custom tool's free-form input)."""
    function = getattr(call, "function", None)
    if function is not None:
        return getattr(function, "arguments", None) or ""
    return getattr(getattr(call, "custom", None), "input", None) or ""


# A delta of text only: the fields set on most streamed chunks' deltas (the first also has a role)
_TEXT_DELTA_FIELDS = frozenset(("content", "role"))


class ChatStream:
    """What a chat completion stream said so far; ``add`` sees every chunk before the user does.

    With ``injected_usage`` we asked for ``stream_options.include_usage`` on the user's behalf:
    the usage-only chunk the API then sends last is kept from the user, and ``usage`` is
    unmarked as set on the other chunks (the API sends it as ``null`` there), so every chunk
    the user sees, and its ``to_dict()``, is what it would have been without the option.
    """

    __slots__ = (
        "injected_usage",
        "model",
        "id",
        "service_tier",
        "fingerprint",
        "usage",
        "single",
        "text",
        "texts",
        "finish",
        "tools",
        "last_tool",
        "refusals",
        "function_arguments",
        "reasoning",
        "wire_tools",
    )

    def __init__(self, injected_usage: bool, body: Mapping[str, Any] | None = None) -> None:
        self.injected_usage = injected_usage
        self.model: str | None = None
        self.id: str | None = None
        self.service_tier: str | None = None
        self.fingerprint: str | None = None
        self.usage: Any = None
        # One choice asked for (no ``n``, or 1): every delta is the one choice's, 0 whatever index a
        # server gives it, and its index is not read (on the real SDK an attribute read of a chunk is
        # costly: pydantic's __getattr__ keeps it unspecialized, and the SDK's work leaves the caches cold)
        self.single = body is None or body.get("n") in (None, 1)
        self.text: list[str] = []  # the single choice's text
        self.texts: dict[int, list[str]] = {}  # choice -> text, when more were asked for
        self.finish: dict[int, str] = {}
        self.tools: dict[tuple[int, int], list[Any]] = {}  # (choice, tool index) -> [id, name, argument pieces]
        self.last_tool: dict[int, int] = {}  # choice -> the index of its latest tool call delta
        self.refusals: dict[int, list[str]] = {}
        self.function_arguments: list[str] = []  # the deprecated functions= API's: counted, not captured
        self.reasoning: list[str] = []  # a compatible server's reasoning text (DeepSeek's): counted, not captured
        self.wire_tools: dict[tuple[int, int], int] = {}  # (choice, the wire's tool index) -> ours, where reused

    def add(self, chunk: Any) -> bool:
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
            if self.injected_usage and not chunk.choices:  # shown_with_injected_usage, inline: every chunk runs it
                return False
        elif self.injected_usage:
            chunk.__pydantic_fields_set__.discard("usage")
        if self.id is None and chunk.id:  # Azure's first chunk (prompt filter results) has an empty id and model
            self.id = chunk.id
            self.service_tier = chunk.service_tier
            self.fingerprint = chunk.system_fingerprint
        if self.model is None:  # read until named: every chunk that names one names the same
            self.model = chunk.model or None
        for choice in chunk.choices:
            delta = choice.delta
            if delta is not None:
                content = delta.content
                if content:
                    if type(content) is not str:  # Mistral's reasoning models stream a list of parts
                        content, thinking = content_texts(content)
                        if thinking:
                            self.reasoning.append(thinking)
                    if self.single:
                        self.text.append(content)
                    else:
                        self.texts.setdefault(choice.index, []).append(content)
                extra = getattr(delta, "__pydantic_extra__", None)  # {} on most deltas (pydantic 1: None)
                # Most deltas hold text and nothing else (pydantic 2 lists the fields the server sent)
                if extra is None or extra or not delta.__pydantic_fields_set__ <= _TEXT_DELTA_FIELDS:
                    if extra or extra is None:  # a compatible server's own fields
                        thinking = reasoning_text(delta)
                        if thinking:
                            self.reasoning.append(thinking)
                    if delta.tool_calls:
                        self._add_tool_calls(0 if self.single else choice.index, delta.tool_calls)
                    refusal = getattr(delta, "refusal", None)  # declared since openai 1.40's structured outputs
                    if refusal:
                        self.refusals.setdefault(0 if self.single else choice.index, []).append(refusal)
                    function_call = getattr(delta, "function_call", None)
                    if function_call is not None and function_call.arguments:
                        self.function_arguments.append(function_call.arguments)
            if choice.finish_reason:
                self.finish[0 if self.single else choice.index] = choice.finish_reason
                if self.usage is None:
                    self.usage = usage_beside(chunk)
        return True

    def shown(self, chunk: Any) -> bool:
        """What ``add`` does to the chunk the user sees, alone (``streams`` calls it when ``add`` failed):
        the usage-only chunk we asked for stays hidden, and no chunk shows its ``usage`` as set."""
        return shown_with_injected_usage(chunk) if self.injected_usage else True

    def _add_tool_calls(self, choice: int, deltas: list[Any]) -> None:
        # A tool call streams as deltas sharing an index: the first has its id and name, the rest argument pieces.
        for delta in deltas:
            index = delta.index
            if type(index) is int:
                index = self.wire_tools.get((choice, delta.index), index)
                known = self.tools.get((choice, index))
                if delta.id and known is not None and known[0] and delta.id != known[0]:
                    # Ollama sends every parallel call at index 0, each with its own id: the next call
                    index = max(known_index for owner, known_index in self.tools if owner == choice) + 1
                    self.wire_tools[(choice, delta.index)] = index
            else:
                # Some compatible servers (Gemini's) send no index: a delta with a new id starts the next
                # call, one without an id continues the choice's latest.
                index = self.last_tool.get(choice)
                latest_id = None if index is None else self.tools[(choice, index)][0]
                if index is None or (delta.id and latest_id is not None and delta.id != latest_id):
                    index = max((known for owner, known in self.tools if owner == choice), default=-1) + 1
            self.last_tool[choice] = index
            call = self.tools.setdefault((choice, index), [None, None, []])
            if delta.id:
                call[0] = delta.id
            function = delta.function
            if function is not None:
                if function.name:
                    call[1] = function.name
                if function.arguments:
                    call[2].append(function.arguments)

    def response(self) -> core.Response:
        attributes = {}
        if self.fingerprint:
            attributes[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = self.fingerprint
        if self.service_tier:
            attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] = self.service_tier
        return core.new_response(
            model=self.model,
            id=self.id,
            finish_reasons=[self.finish[index] for index in sorted(self.finish)],
            usage=usage_of(self.usage) if self.usage is not None else None,
            service_tier=self.service_tier,
            tool_calls=[(call[0] or "", call[1] or "") for _, call in sorted(self.tools.items())],
            output_text="".join(
                [
                    *("".join(texts) for _, texts in sorted(self._texts().items())),
                    *self._arguments(),
                    *("".join(self.refusals[index]) for index in sorted(self.refusals)),
                    *self.function_arguments,
                    *self.reasoning,
                ]
            ),
            output_messages=self._output_messages,
            attributes=attributes,
        )

    def _texts(self) -> dict[int, list[str]]:
        return {0: self.text} if self.text else self.texts

    def _arguments(self) -> Iterator[str]:
        for _, (_, _, pieces) in sorted(self.tools.items()):
            yield "".join(pieces)

    def _output_messages(self) -> list[dict[str, Any]]:
        messages = []
        texts = self._texts()
        choices = texts.keys() | self.refusals.keys() | self.finish.keys() | {choice for choice, _ in self.tools}
        for index in sorted(choices):
            parts = [text_part("".join(texts[index]))] if index in texts else []
            if index in self.refusals:
                parts.append(text_part("".join(self.refusals[index])))
            for (choice, _), (call_id, name, pieces) in sorted(self.tools.items()):
                if choice == index:
                    parts.append(tool_call_part(call_id, name, "".join(pieces)))
            finish = finish_reason(self.finish.get(index))
            messages.append({"role": "assistant", "parts": parts, "finish_reason": finish})
        return messages


def shown_with_injected_usage(chunk: Any) -> bool:
    """A chunk of a stream we asked for its usage (``stream_options.include_usage``): False for the
    usage-only last chunk, which the user would not have had; the others lose ``usage`` from their
    fields set (the API sends it as null on them), so their ``to_dict()`` is what it would have been."""
    if chunk.usage is not None:
        return bool(chunk.choices)
    chunk.__pydantic_fields_set__.discard("usage")
    return True


def tool_name(call: Any) -> str:
    function = getattr(call, "function", None) or getattr(call, "custom", None)
    return getattr(function, "name", None) or ""


def _output_messages(completion: Any) -> list[dict[str, Any]]:
    messages = []
    for choice in completion.choices or ():
        message = choice.message
        parts = []
        if message is not None:
            content = message.content
            if content:  # parts (Mistral's reasoning models): their text, the thinking counted but not captured
                parts.append(text_part(content if type(content) is str else content_texts(content)[0]))
            refusal = getattr(message, "refusal", None)  # the model declined: its explanation is the answer
            if refusal:
                parts.append(text_part(refusal))
            for call in message.tool_calls or ():
                parts.append(tool_call_part(call.id, tool_name(call), tool_input(call)))
        messages.append({"role": "assistant", "parts": parts, "finish_reason": finish_reason(choice.finish_reason)})
    return messages


def count_input(messages: list[Any], model: str, tools: Any = None) -> int:
    """Input tokens of a request without usage: its messages and its tool definitions."""
    from otel_llmcost.tokens import count_messages

    return count_messages(messages, model) + count_tools(tools, model)

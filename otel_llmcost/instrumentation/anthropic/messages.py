"""The Messages API (``/v1/messages``, beta included): request description, response, stream state.

Anthropic's ``input_tokens`` EXCLUDES cache reads and cache writes; the semconv
``gen_ai.usage.input_tokens`` is their sum (``Usage`` documents the same rule). Cache writes are
split by TTL (``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``); a
total without the split is a 5-minute write, the only kind there was before the split.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.anthropic.content import (
    field,
    head,
    input_messages,
    is_mapping,
    listed,
    output_messages,
    system_instructions,
    system_text,
    text_of_blocks,
    tool_signature,
)
from otel_llmcost.instrumentation.content import json_or_text
from otel_llmcost.instrumentation.fingerprint import head_fingerprint
from otel_llmcost.pricing.types import Usage, new_usage

# body key -> (attribute, accepted value types, whether the semconv types it double), in the order the
# attributes are set; anthropic 2.x passes an unset one as its Omit placeholder, whose type is none of these
_PARAMETERS = {
    "max_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, (int,), False),
    "temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, (int, float), True),
    "top_k": (sc.GEN_AI_REQUEST_TOP_K, (int,), True),
    "top_p": (sc.GEN_AI_REQUEST_TOP_P, (int, float), True),
}
_PARAMETER_KEYS = frozenset(_PARAMETERS)
# A content_block_delta's payload, by delta type
_DELTA_TEXT = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}
# A streamed block's accumulated pieces go back under this field, by block type
_BLOCK_TEXT = {"text": "text", "thinking": "thinking"}


def describe(body: Mapping[str, Any], request: core.Request) -> None:
    request.fingerprint, system, messages, tools = prompt_of(body)
    parameters(body, request.attributes)
    request.input_messages = functools.partial(input_messages, messages)
    if system:
        request.system_instructions = functools.partial(system_instructions, system)
    request.estimate_input_tokens = functools.partial(count_input, system, messages, tools, request.model or "")


def parameters(body: Mapping[str, Any], attributes: dict[str, Any]) -> None:
    """The request parameters, the requested service tier and the output type, as attributes."""
    # Only those the body has (anthropic >= 1 leaves the sampling ones out); sorted, they come in _PARAMETERS' order.
    for key in sorted(_PARAMETER_KEYS.intersection(body)):
        attribute, kinds, double = _PARAMETERS[key]
        value = body[key]
        if type(value) in kinds:
            attributes[attribute] = float(value) if double else value
    stop = body.get("stop_sequences")
    # The type first: the truth of anthropic 2.x's Omit placeholder is a Python call.
    if isinstance(stop, (list, tuple)) and stop and all(isinstance(item, str) for item in stop):
        attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
    tier = body.get("service_tier")
    if type(tier) is str:
        # auto / standard_only choose among tiers; the response says which one billed the call.
        attributes[sc.ANTHROPIC_SDK_REQUEST_SERVICE_TIER] = tier
    if _asks_for_json(body):
        attributes[sc.GEN_AI_OUTPUT_TYPE] = "json"


def prompt_of(body: Mapping[str, Any]) -> tuple[str, Any, Sequence[Any], Sequence[Any]]:
    """The prompt fingerprint (the system prompt, the tools and the conversation up to the first
    user message), and the system prompt, messages and tools it was read from, as ``count_input``
    takes them (one function for both: fast_messages.start calls it on every call)."""
    system = body.get("system")
    messages = body.get("messages")
    if not isinstance(messages, (list, tuple)):  # as listed()
        messages = ()
    tools = body.get("tools")
    if not isinstance(tools, (list, tuple)) or not tools:  # the type first, as for stop_sequences
        tools = ()
    fingerprint = head_fingerprint(
        system if type(system) is str else system_text(system),
        tuple(map(tool_signature, tools)) if tools else (),
        head(messages),
    )
    return fingerprint, system, messages, tools


def _asks_for_json(body: Mapping[str, Any]) -> bool:
    # output_config.format, or its deprecated form output_format (absent: None, or the SDK's Omit, which is falsy)
    config, output_format = body.get("output_config"), body.get("output_format")
    if not config and not output_format:
        return False
    formats = (field(config, "format") if config else None, output_format)
    return any(field(requested, "type") == "json_schema" for requested in formats if requested)


def usage_of(usage: Any, delta: Any = None) -> Usage:
    """Normalised usage of a message, or of a stream: ``message_start``'s usage then the last
    ``message_delta``'s, whose counts are cumulative and win where set (its ``output_tokens``
    always; newer API versions repeat the input side there too)."""
    fields = fields_of(usage)
    if delta is not None:
        fields = {**fields, **{name: value for name, value in fields_of(delta).items() if value is not None}}
    return usage_of_fields(fields)


def usage_of_fields(fields: Mapping[str, Any]) -> Usage:
    """The normalised usage of a usage object's fields (``fields_of``)."""
    cache_read = fields.get("cache_read_input_tokens") or 0
    write_5m = fields.get("cache_creation_input_tokens") or 0  # a total without the TTL split: 5-minute writes
    write_1h = 0
    split = fields.get("cache_creation")
    if split is not None:  # (5-minute, 1-hour); what the split does not account for is a 5-minute write
        split = fields_of(split)
        write_1h = split.get("ephemeral_1h_input_tokens") or 0
        write_5m = max(write_5m, (split.get("ephemeral_5m_input_tokens") or 0) + write_1h) - write_1h
    input_tokens = (fields.get("input_tokens") or 0) + cache_read + write_5m + write_1h
    output_tokens = fields.get("output_tokens") or 0
    iterations = fields.get("iterations")
    if iterations:
        for entry in listed(iterations):
            # Context compaction (beta) runs as iterations whose tokens the top-level usage leaves
            # out, though they are billed; the other iterations are already in it.
            kind = field(entry, "type")
            if kind in _OTHER_MODELS:
                _other_model_not_priced(kind)
            if kind == "compaction":
                part = usage_of(entry)
                input_tokens += part.input_tokens
                output_tokens += part.output_tokens
                cache_read += part.cache_read_tokens
                write_5m += part.cache_write_5m_tokens
                write_1h += part.cache_write_1h_tokens
    details, server_tools = fields.get("output_tokens_details"), fields.get("server_tool_use")
    speed, geo = fields.get("speed"), fields.get("inference_geo")
    if speed == "fast" or (geo and geo != "global"):
        _premium_not_priced(speed, geo)
    return new_usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=(field(details, "thinking_tokens") or 0) if details is not None else 0,
        web_search_requests=(field(server_tools, "web_search_requests") or 0) if server_tools is not None else 0,
    )


# Iterations of another model than the one that answered, which the span prices all its tokens at
_OTHER_MODELS = {
    "advisor_message": "the advisor tool's own tokens (reported only in usage.iterations, billed at the advisor "
    "model's rates) are not in the span's cost: it is understated",
    "fallback_message": "a server-side fallback served the turn: the tokens of the hops the requested model "
    "declined are priced at the serving model's rates, not their own",
}


def _other_model_not_priced(kind: str) -> None:
    message = "otel-llmcost: Claude calls report %s: %s."
    core.log_once(f"anthropic.iterations.{kind}", message, kind, _OTHER_MODELS[kind])


def _premium_not_priced(speed: Any, geo: Any) -> None:
    """Fast mode (``usage.speed``) and US-only inference (``usage.inference_geo``) bill a premium over the
    standard rates (a per-model multiple for fast mode: 6x on Opus 4.6; 1.1x for US-only inference on
    Opus 4.6, Sonnet 4.6 and later) that the catalog's sources do not list: say so once each."""
    if speed == "fast":
        core.log_once(
            "anthropic.speed.fast",
            "otel-llmcost: Claude calls report usage.speed='fast' (fast mode), billed at a premium over the "
            "standard rates the catalog has (6x on Opus 4.6): their spans' cost is understated. "
            "See https://platform.claude.com/docs/en/build-with-claude/fast-mode",
        )
    if geo and geo != "global":
        core.log_once(
            f"anthropic.inference_geo.{geo}",
            "otel-llmcost: Claude calls report usage.inference_geo=%r (data residency), billed at 1.1x the standard "
            "rates on Opus 4.6, Sonnet 4.6 and later models, which the catalog does not apply: their spans' cost "
            "may be understated. See https://platform.claude.com/docs/en/build-with-claude/data-residency",
            geo,
        )


def fields_of(model: Any) -> Mapping[str, Any]:
    """A usage object's fields, those its SDK version does not know included (pydantic keeps them
    apart, as extras). Read as a dict: a missing attribute of a pydantic model costs an exception."""
    fields = getattr(model, "__dict__", None)  # a model's declared fields (a dict has no __dict__)
    if fields is None:
        return model if is_mapping(model) else {}
    extra = getattr(model, "__pydantic_extra__", None)
    return {**fields, **extra} if extra else fields


def read(message: Any) -> core.Response:
    # fast_messages.finish reads the same fields straight into span attributes: keep the two alike.
    content = message.content
    blocks = content if isinstance(content, (list, tuple)) else ()
    usage = message.usage
    fields = fields_of(usage) if usage is not None else {}
    tier = fields.get("service_tier")  # anthropic >= 0.5x declares it; older ones keep it as an extra
    stop_reason = message.stop_reason
    return core.new_response(
        model=message.model,
        id=message.id,
        finish_reasons=(stop_reason,) if stop_reason else (),
        usage=usage_of_fields(fields) if usage is not None else None,
        service_tier=tier,
        tool_calls=tool_calls(blocks),
        # Only read to estimate the output tokens, when the usage is missing.
        output_text="" if usage is not None else text_of_blocks(blocks),
        output_messages=functools.partial(output_messages, blocks, stop_reason),
        attributes={sc.ANTHROPIC_SDK_RESPONSE_SERVICE_TIER: tier} if type(tier) is str else {},
    )


def tool_calls(blocks: Sequence[Any]) -> list[tuple[str, str]]:
    """The application's tools the model asked for (server tools such as web search run at Anthropic)."""
    calls = []
    for block in blocks:
        if (block.get("type") if type(block) is dict else getattr(block, "type", None)) == "tool_use":
            calls.append((field(block, "id") or "", field(block, "name") or ""))
    return calls


class MessageStream:
    """What a Messages stream said so far; ``add`` sees every event before the user does.

    ``message_start`` carries the id, the model and the input side of the usage; ``message_delta``
    the stop reason and the final output tokens. A stream that ends before ``message_delta`` (cut,
    closed early, abandoned) keeps the reported input and estimates the output from the text seen.
    """

    __slots__ = ("start", "delta_usage", "stop_reason", "blocks", "served_by", "end_call")

    def __init__(self) -> None:
        self.start: Any = None  # message_start's message
        self.delta_usage: Any = None
        self.stop_reason: str | None = None
        self.blocks: dict[int, tuple[Any, list[str]]] = {}  # index -> (content_block_start's block, pieces)
        # A server-side fallback (beta): the model that served the turn, named by the last fallback block
        # (message_start names the requested one; the SDK's final message, as a non-streamed one, the server)
        self.served_by: str | None = None
        self.end_call: Callable[[], None] | None = None  # set by streams.instrument

    def add(self, event: Any) -> bool:
        kind = event.type
        if kind == "content_block_delta":
            block = self.blocks.get(event.index)
            name = _DELTA_TEXT.get(getattr(event.delta, "type", None))
            if block is not None and name is not None:
                block[1].append(getattr(event.delta, name, None) or "")
        elif kind == "content_block_start":
            block = event.content_block
            self.blocks[event.index] = (block, [])
            if field(block, "type") == "fallback":
                self.served_by = field(field(block, "to"), "model") or self.served_by
        elif kind == "message_delta":
            self.delta_usage = event.usage
            self.stop_reason = event.delta.stop_reason or self.stop_reason
        elif kind == "message_start":
            self.start = event.message
        elif kind == "message_stop" and self.end_call is not None:
            self.end_call()  # the last event: the call ends, whatever the program does next
        return True

    def response(self) -> core.Response:
        blocks = [_assembled(block, pieces) for _, (block, pieces) in sorted(self.blocks.items())]
        text = text_of_blocks(blocks)
        start = self.start
        if start is None:
            return core.new_response(output_text=text)  # nothing reported: the core estimates it all
        tier = getattr(start.usage, "service_tier", None)
        usage = self._usage(start, text)
        # message_start's input (where it has one), the output counted
        input_reported = (
            usage is not None and usage.estimated and fields_of(start.usage).get("input_tokens") is not None
        )
        return core.new_response(
            model=self.served_by or start.model,
            id=start.id,
            finish_reasons=(self.stop_reason,) if self.stop_reason else (),
            usage=usage,
            service_tier=tier,
            tool_calls=tool_calls(blocks),
            output_text=text,
            output_messages=functools.partial(output_messages, blocks, self.stop_reason),
            attributes={sc.ANTHROPIC_SDK_RESPONSE_SERVICE_TIER: tier} if isinstance(tier, str) else {},
            input_reported=input_reported,
        )

    def _usage(self, start: Any, text: str) -> Usage | None:
        if start.usage is None:
            return None
        if self.delta_usage is not None:
            return usage_of(start.usage, self.delta_usage)
        # message_start's output count is a placeholder: count what arrived instead.
        from otel_llmcost.tokens import count_text

        seen = count_text(text, start.model or "")
        usage = usage_of(start.usage)._replace(output_tokens=seen, reasoning_tokens=0, estimated=True)
        # message_start counts no search yet: the searches whose results arrived ran, and are billed
        searches = sum(1 for block, _ in self.blocks.values() if _is_search_result(block))
        return usage._replace(web_search_requests=searches) if searches > usage.web_search_requests else usage


def _is_search_result(block: Any) -> bool:
    """A web search's result: the search ran (one that failed, with an error for content, is not billed)."""
    if field(block, "type") != "web_search_tool_result":
        return False
    content = field(block, "content")
    return isinstance(content, (list, tuple))


def _assembled(block: Any, pieces: list[str]) -> Any:
    """A streamed content block with its deltas put together, as the message would hold it."""
    kind = field(block, "type")
    if not pieces:
        return block
    joined = "".join(pieces)
    if kind in _BLOCK_TEXT:
        return {"type": kind, _BLOCK_TEXT[kind]: joined}
    if kind == "tool_use":
        # A tool without parameters streams one empty input_json_delta: its input stays the block's own {}
        tool_input = json_or_text(joined) if joined.strip() else field(block, "input")
        return {"type": kind, "id": field(block, "id"), "name": field(block, "name"), "input": tool_input}
    return block


def count_input(system: Any, messages: Sequence[Any], tools: Sequence[Any], model: str) -> int:
    from otel_llmcost.tokens import count_messages, count_tool

    text = system_text(system)
    prompt = [{"role": "system", "content": text}, *messages] if text else messages
    return count_messages(prompt, model) + sum(count_tool(tool, model) for tool in tools)

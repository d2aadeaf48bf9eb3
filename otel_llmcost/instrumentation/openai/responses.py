"""The Responses API (``/responses``): request description, response, stream state."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from opentelemetry import context, trace

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation import core
from otel_llmcost.instrumentation.content import reasoning_part, text_part, tool_call_part, tool_response_part
from otel_llmcost.instrumentation.fingerprint import fingerprint
from otel_llmcost.instrumentation.openai import params
from otel_llmcost.instrumentation.openai.chat import count_of
from otel_llmcost.instrumentation.openai.content import (
    count_tools,
    finish_reason,
    part_types,
    parts_of,
    text_of,
    tool_signature,
)
from otel_llmcost.instrumentation.openai.providers import server_of
from otel_llmcost.pricing.types import Usage, new_usage

API_TYPE = "responses"
_SYSTEM_ROLES = ("system", "developer")
# Responses status / incomplete reason -> semconv finish reason
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}
# Output items that are tool calls the application must run: type -> (id field, name field)
_TOOL_CALLS = {"function_call": ("call_id", "name"), "custom_tool_call": ("call_id", "name")}
_TOOL_OUTPUTS = frozenset(
    (
        "function_call_output",
        "custom_tool_call_output",
        "computer_call_output",
        "local_shell_call_output",
        "shell_call_output",
        "apply_patch_call_output",
    )
)
# Built-in tools billed apart from the tokens, with no price in the catalog: item type -> how OpenAI bills it
_UNPRICED_TOOLS = {
    "file_search_call": "per 1,000 calls",
    "code_interpreter_call": "per container",
    "image_generation_call": "per image output token",
}
# Calls of the built-in tools the application runs itself (they have no name of their own): item type -> name
_APP_TOOL_CALLS = {
    "computer_call": "computer",
    "local_shell_call": "local_shell",
    "shell_call": "shell",
    "apply_patch_call": "apply_patch",
}
# Calls of the built-in tools OpenAI runs itself: item type -> tool name (semconv ServerToolCallPart)
_SERVER_TOOL_CALLS = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "image_generation_call": "image_generation",
    "mcp_call": "mcp",
}
FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")
# A tool call's input as it streams, before its output_item.done event carries it whole
_TOOL_INPUT_DELTAS = ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta")
_START_EVENTS = ("response.created", "response.in_progress")
_OTHER_TEXT_DELTAS = ("response.refusal.delta", "response.reasoning_text.delta")
# Background responses (background=true) are billed when they finish, after their create call returned
# "queued". Their create span says so (llmcost.cost.deferred) and estimates nothing; the usage goes on a
# span recorded when a retrieve (or a cancel) finds the response finished, once per process.
_UNFINISHED = ("queued", "in_progress")
_FINISHED = ("completed", "incomplete", "failed", "cancelled")
_MAX_TRACKED = 1_000  # background responses in flight in one process; each keeps its create call's context
_waiting: OrderedDict[str, context.Context] = OrderedDict()  # id -> the create call's context (this process)
_billed: OrderedDict[str, None] = OrderedDict()  # ids whose usage a span of this process carries
# id -> its call's prompt fingerprint: a call continuing it (previous_response_id) sends only the new items,
# a tool's output say, and belongs to the same prompt
_fingerprints: OrderedDict[str, str] = OrderedDict()
_background_lock = threading.Lock()


def describe(body: Mapping[str, Any], request: core.Request) -> None:
    attributes = request.attributes
    attributes[sc.OPENAI_API_TYPE] = API_TYPE
    request.service_tier = params.request_parameters(body, attributes)
    text = body.get("text")
    if isinstance(text, Mapping) and isinstance(text.get("format"), Mapping):
        output_type = params.output_type(text["format"].get("type"))
        if output_type:
            attributes[sc.GEN_AI_OUTPUT_TYPE] = output_type
    conversation = body.get("conversation")
    if isinstance(conversation, Mapping):
        conversation = conversation.get("id")
    if isinstance(conversation, str):
        attributes[sc.GEN_AI_CONVERSATION_ID] = conversation
    items = _items(body.get("input"))
    instructions = body.get("instructions")
    instructions = instructions if isinstance(instructions, str) else None
    tools = body.get("tools")
    definitions = list(map(tool_signature, tools)) if isinstance(tools, list) else []
    prompt = body.get("prompt")  # a prompt stored with OpenAI: its id names the template (unmasked, as tools are)
    if isinstance(prompt, Mapping) and isinstance(prompt.get("id"), str):
        definitions.append(f"stored prompt:{prompt['id']}")
    request.fingerprint = fingerprint(_system_text(instructions, items), definitions, _shape(items))
    previous = body.get("previous_response_id")
    inherited = _fingerprints.get(previous) if isinstance(previous, str) else None
    if inherited is not None:
        request.fingerprint = inherited
    request.input_messages = functools.partial(_input_messages, items)
    if instructions:
        request.system_instructions = functools.partial(_system_instructions, instructions)
    request.estimate_input_tokens = functools.partial(_count_input, instructions, items, tools, request.model or "")


def usage_of(usage: Any, web_search_requests: int = 0) -> Usage | None:
    """Responses usage: ``input_tokens`` includes cached tokens, ``output_tokens`` reasoning. None for a
    usage without counts (a compatible server's nulls, or ``{}``): estimated, as no usage is, not an exact 0."""
    if getattr(usage, "input_tokens", None) is None and getattr(usage, "output_tokens", None) is None:
        return None
    # count_of: older SDKs keep details they do not declare as dicts; a compatible server may send
    # details that are not objects (PHP's [] for an empty map)
    return new_usage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_tokens=count_of(details := getattr(usage, "input_tokens_details", None), "cached_tokens"),
        cache_write_5m_tokens=count_of(details, "cache_write_tokens"),  # priced at the input rate where no write rate
        reasoning_tokens=count_of(getattr(usage, "output_tokens_details", None), "reasoning_tokens"),
        web_search_requests=web_search_requests,
    )


def read_compaction(compacted: Any) -> core.Response:
    """``responses.compact()`` (``/responses/compact``): a model pass over the conversation, billed by
    its usage; the response names no model (the request's prices it)."""
    usage = getattr(compacted, "usage", None)
    return core.new_response(id=getattr(compacted, "id", None), usage=usage_of(usage) if usage is not None else None)


def _generated_text(part: Any) -> str | None:
    kind = getattr(part, "type", None)
    if kind == "output_text":
        return part.text
    if kind == "refusal":
        return getattr(part, "refusal", None)
    return None


def read(response: Any) -> core.Response:
    tool_calls = []
    web_searches = 0
    texts = []
    for item in response.output or ():
        kind = item.type
        if kind == "message":
            # the text and refusals generated (output tokens, counted when the usage is missing)
            texts.extend(filter(None, map(_generated_text, item.content or ())))
        elif kind in _TOOL_CALLS:
            id_field, name_field = _TOOL_CALLS[kind]
            tool_calls.append((getattr(item, id_field, None) or "", getattr(item, name_field, None) or ""))
            texts.append(_tool_input(item))  # output tokens too, counted when the usage is missing
        elif kind in _APP_TOOL_CALLS:
            tool_calls.append((getattr(item, "call_id", None) or "", _APP_TOOL_CALLS[kind]))
        elif kind == "web_search_call" and _billed_search(item):
            web_searches += 1
        elif kind in _UNPRICED_TOOLS:
            _unpriced_tool(kind)
    # The response's own count of billable searches, where it has one (tool_usage: a model of openai >= 3,
    # a dict older SDKs keep as an extra)
    tool_usage = getattr(response, "tool_usage", None)
    if tool_usage is not None:
        web = (
            tool_usage.get("web_search") if isinstance(tool_usage, Mapping) else getattr(tool_usage, "web_search", None)
        )
        if web is not None:
            web_searches = count_of(web, "num_requests")
    attributes: dict[str, Any] = {}
    if response.service_tier:
        attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] = response.service_tier
    _remember_fingerprint(response.id, context.get_current())  # read inside the call's request: its span current
    deferred = False
    if getattr(response, "background", None) is True and response.id:
        if response.usage is not None:
            _remember(_billed, response.id, None)
        elif response.status in _UNFINISHED:  # the create call: billed when it finishes
            deferred = True
            attributes[sc.LLMCOST_COST_DEFERRED] = True
            _remember(_waiting, response.id, context.get_current())
    return core.new_response(
        model=response.model,
        id=response.id,
        finish_reasons=_finish_reasons(response, bool(tool_calls)),
        usage=usage_of(response.usage, web_searches) if response.usage is not None else None,
        service_tier=response.service_tier,
        tool_calls=tool_calls,
        output_text="".join(texts),
        output_messages=functools.partial(_output_messages, response),
        attributes=attributes,
        failure=failure_of(response.error) if response.status == "failed" else None,
        deferred=deferred,
    )


def is_retrieval(options: Any) -> bool:
    """A request that returns a stored response: ``responses.retrieve(id)`` or ``responses.cancel(id)``."""
    url = options.url
    if not isinstance(url, str) or not url.startswith("/responses/"):
        return False
    parts = url.split("/")  # "", "responses", id[, "cancel"]
    method = options.method
    return (method == "get" and len(parts) == 3) or (method == "post" and len(parts) == 4 and parts[3] == "cancel")


@core.guarded()
def record_retrieved(telemetry: core.Telemetry, client: Any, result: Any, started: tuple[int, float]) -> None:
    """The call of a background response that a retrieve or cancel found finished: its usage and cost,
    on a span that starts and ends with this request, once per process. When this process created the
    response, the span is a child of the create call's span, with its attribution and prompt fingerprint."""
    if getattr(result, "object", None) != "response" or getattr(result, "background", None) is not True:
        return
    response_id = result.id
    if result.status not in _FINISHED or result.usage is None or not response_id:
        return
    with _background_lock:
        if response_id in _billed:
            return
        _billed[response_id] = None  # claimed here: a concurrent retrieve of the same id records nothing
        parent = _waiting.pop(response_id, None)
    server = server_of(client)  # here, inside the guard: the user's call has returned already
    created = (getattr(trace.get_current_span(parent), "attributes", None) or {}) if parent is not None else {}
    model = created.get(sc.GEN_AI_REQUEST_MODEL) or result.model  # as the create call asked for it
    request = core.new_request(sc.OP_CHAT, server.provider, model, server.address, server.port)
    request.attributes[sc.OPENAI_API_TYPE] = API_TYPE
    request.fingerprint = created.get(sc.LLMCOST_PROMPT_FINGERPRINT)
    # The create call was the call (an agent run's step, the operation's duration): this span bills it.
    core.LLMCall(telemetry, request, parent, started, billing=True).end(read(result))


def watch_retrieved_stream(
    telemetry: core.Telemetry, client: Any, stream: Any, started: tuple[int, float], asynchronous: bool
) -> None:
    """``responses.retrieve(id, stream=True)``: following a background response, resumed or from its start.
    Its final event bills the response as a retrieve finding it finished does (``record_retrieved``)."""

    def final(event: Any) -> None:
        if getattr(event, "type", None) in FINAL_EVENTS:
            record_retrieved(telemetry, client, event.response, started)  # guarded: never raises

    if asynchronous:
        stream._iterator = _watched_async(stream._iterator, final)
    else:
        stream._iterator = _watched(stream._iterator, final)


def _watched(events: Iterator[Any], final: Callable[[Any], None]) -> Iterator[Any]:
    for event in events:
        final(event)
        yield event


async def _watched_async(events: AsyncIterator[Any], final: Callable[[Any], None]) -> AsyncIterator[Any]:
    async for event in events:
        final(event)
        yield event


def _remember_fingerprint(response_id: str | None, call_context: context.Context) -> None:
    """The prompt fingerprint of the call that made ``response_id`` (its span current in ``call_context``)."""
    attributes = getattr(trace.get_current_span(call_context), "attributes", None)
    found = attributes.get(sc.LLMCOST_PROMPT_FINGERPRINT) if attributes else None
    if response_id and isinstance(found, str):
        _remember(_fingerprints, response_id, found)


def _remember(tracked: OrderedDict[str, Any], response_id: str, value: Any) -> None:
    # Without the lock: an abandoned stream's end runs this from a finalizer, which the garbage collector
    # may run at any allocation of this thread, even one made while it holds the lock here (a deadlock).
    # Each step is atomic; two threads trimming at once only trim an id more.
    tracked[response_id] = value
    while len(tracked) > _MAX_TRACKED:
        try:
            tracked.popitem(last=False)
        except KeyError:  # another thread emptied it meanwhile
            break


def failure_of(error: Any) -> tuple[str, str]:
    """A failed response's (or an ``error`` event's) error, as ``core.Response.failure``."""
    code = getattr(error, "code", None) or "error"
    message = getattr(error, "message", None)
    return str(code), f"{code}: {message}" if message else str(code)


def _tool_input(item: Any) -> str:
    """A tool call item's arguments (a function's JSON, a custom tool's free-form input)."""
    return getattr(item, "arguments", None) or getattr(item, "input", None) or ""


class ResponseStream:
    """What a Responses stream said so far. The final event carries the whole response
    (usage included); the pieces before it matter when the stream ends early, or fails without
    usage. The SDK does not raise on an ``error`` event: the call ends as failed all the same."""

    __slots__ = (
        "model",
        "id",
        "final",
        "texts",
        "other_texts",
        "arguments",
        "streaming_inputs",
        "tool_calls",
        "done",
        "failure",
        "searches",
        "background",
        "created_in",
        "end_call",
    )

    def __init__(self, injected_usage: bool = False) -> None:
        self.model: str | None = None
        self.id: str | None = None
        self.final: Any = None
        self.texts: list[str] = []
        self.other_texts: list[str] = []  # refusals, and reasoning text a model sends (gpt-oss): output tokens too
        self.arguments: list[str] = []  # the finished tool calls' input, output tokens too
        self.streaming_inputs: dict[str, list[str]] = {}  # item id -> input pieces of a tool call not finished yet
        self.tool_calls: list[tuple[str, str]] = []
        self.done: list[Any] = []  # finished tool call and reasoning items, captured if the stream ends early
        self.failure: tuple[str, str] | None = None  # from an error event
        self.searches = 0  # web searches finished: billed even if the stream ends before its usage
        self.background = False  # a background response: it runs on when the stream ends early
        # The create call's context (made inside the SDK's request: our span current), for a later billing span
        self.created_in = context.get_current()
        self.end_call: Callable[[], None] | None = None  # set by streams.instrument

    def add(self, event: Any) -> bool:
        kind = event.type
        if kind == "response.output_text.delta":
            self.texts.append(event.delta or "")
        elif kind in _OTHER_TEXT_DELTAS:  # generated too: counted if the stream ends without usage
            self.other_texts.append(event.delta or "")
        elif kind in _TOOL_INPUT_DELTAS:
            self.streaming_inputs.setdefault(getattr(event, "item_id", None) or "", []).append(event.delta or "")
        elif kind == "response.output_item.done":
            item = event.item
            if item.type in _TOOL_CALLS:
                id_field, name_field = _TOOL_CALLS[item.type]
                self.tool_calls.append((getattr(item, id_field, None) or "", getattr(item, name_field, None) or ""))
                self.arguments.append(_tool_input(item))
                self.streaming_inputs.pop(getattr(item, "id", None) or "", None)  # now counted whole
                self.done.append(item)
            elif item.type in _APP_TOOL_CALLS:
                self.tool_calls.append((getattr(item, "call_id", None) or "", _APP_TOOL_CALLS[item.type]))
                self.done.append(item)
            elif item.type == "reasoning":
                self.done.append(item)
            elif item.type == "web_search_call" and _billed_search(item):
                self.searches += 1
        elif kind in FINAL_EVENTS:
            self.final = event.response
            if self.end_call is not None:
                self.end_call()  # the whole response is in: the call ends, whatever the program does next
        elif kind in _START_EVENTS:
            self.model = event.response.model
            self.id = event.response.id
            self.background = getattr(event.response, "background", None) is True
        elif kind == "error":
            self.failure = failure_of(event)
        return True

    def response(self) -> core.Response:
        texts = self.texts
        if self.id:
            _remember_fingerprint(self.id, self.created_in)
        if self.final is not None:
            response = read(self.final)
            if response.usage is None and not response.output_text:  # failed: estimate what streamed
                response.output_text = "".join(texts + self.other_texts + self.arguments)
        elif self.model is None and self.failure is not None and not texts and not self.streaming_inputs:
            # the error came before response.created (rate limited, say): the call never ran, nor was billed
            return core.new_response(failure=self.failure, refused=True)
        elif self.background and self.id and self.failure is None:
            # A background response streamed, and the stream ended (cut, closed) before it finished: it runs
            # on, and is billed when a retrieve sees it finished, as one created without a stream.
            _remember(_waiting, self.id, self.created_in)
            return core.new_response(
                model=self.model,
                id=self.id,
                tool_calls=self.tool_calls,
                attributes={sc.LLMCOST_COST_DEFERRED: True},
                deferred=True,
            )
        else:  # ended early: what streamed, the input of tool calls still streaming included
            streaming = [piece for pieces in self.streaming_inputs.values() for piece in pieces]
            response = core.new_response(
                model=self.model,
                id=self.id,
                tool_calls=self.tool_calls,
                output_text="".join(texts + self.other_texts + self.arguments + streaming),
                output_messages=self._early_output_messages,
                web_search_requests=self.searches,
            )
        if response.failure is None:
            response.failure = self.failure
        return response

    def _early_output_messages(self) -> list[dict[str, Any]]:
        parts = [part for item in self.done if (part := _output_part(item)) is not None]
        if self.texts:
            parts.append(text_part("".join(self.texts)))
        return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason(None)}]


def _unpriced_tool(kind: str) -> None:
    """Built-in tools billed apart from the tokens (OpenAI's pricing page: file search per 1,000 calls,
    code interpreter per container, image generation per image token) that the catalog's sources do not
    price: said once each, not passed off as the call's whole cost."""
    core.log_once(
        f"openai.unpriced_tool.{kind}",
        "otel-llmcost: Responses calls use the %s tool, whose own fee (%s) is not priced: their spans' cost "
        "is the tokens' alone, understated by that fee",
        kind.removesuffix("_call"),
        _UNPRICED_TOOLS[kind],
    )


def _billed_search(item: Any) -> bool:
    """Whether a web_search_call item is a billed search: not a page opened or a find in a page (the
    same tool's other actions), and not a failed one."""
    if getattr(item, "status", None) == "failed":
        return False
    action = getattr(item, "action", None)
    return action is None or getattr(action, "type", "search") == "search"


def _finish_reasons(response: Any, called_tools: bool) -> list[str]:
    status = response.status
    if status == "completed":
        return ["tool_calls" if called_tools else "stop"]
    if status == "incomplete":
        details = response.incomplete_details
        reason = getattr(details, "reason", None)
        return [_INCOMPLETE.get(reason, reason or "incomplete")]
    if status == "failed":
        return ["error"]
    return []


def _items(value: Any) -> list[Any]:
    """The input as a list of items: a plain string is one user message."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list):
        return value
    return []


def _system_text(instructions: str | None, items: list[Any]) -> str:
    texts = [instructions] if instructions else []
    for item in items:
        if not isinstance(item, Mapping) or item.get("role") not in _SYSTEM_ROLES:
            break
        texts.append(text_of(item.get("content")))
    return "\n".join(texts)


def _shape(items: list[Any]) -> Iterator[str]:
    for item in items:
        if not isinstance(item, Mapping):
            continue
        role = item.get("role")
        if role is not None:
            yield f"{role}:{part_types(item.get('content'))}"
        else:
            yield f"item:{item.get('type')}"  # function_call, function_call_output, reasoning, ...


def _input_messages(items: list[Any]) -> list[dict[str, Any]]:
    messages = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if item.get("role") is not None:
            role = item["role"]
            messages.append({"role": "system" if role == "developer" else role, "parts": parts_of(item.get("content"))})
        elif kind in _TOOL_CALLS:
            call = tool_call_part(item.get("call_id"), item.get("name"), item.get("arguments", item.get("input")))
            messages.append({"role": "assistant", "parts": [call]})
        elif kind in _APP_TOOL_CALLS:
            call = tool_call_part(item.get("call_id"), _APP_TOOL_CALLS[kind], item.get("action", item.get("operation")))
            messages.append({"role": "assistant", "parts": [call]})
        elif kind in _TOOL_OUTPUTS:
            output = item.get("output")
            if isinstance(output, list) or (isinstance(output, Mapping) and "type" in output):
                output = parts_of(output if isinstance(output, list) else [output])  # media not copied (a screenshot)
            messages.append({"role": "tool", "parts": [tool_response_part(item.get("call_id"), output)]})
    return messages


def _system_instructions(instructions: str) -> list[dict[str, Any]]:
    return [text_part(instructions)]


def _output_messages(response: Any) -> list[dict[str, Any]]:
    parts = []
    for item in response.output or ():
        if item.type == "message":
            for part in item.content or ():
                kind = getattr(part, "type", None)
                if kind == "output_text":
                    parts.append(text_part(part.text))
                elif kind == "refusal":
                    parts.append(text_part(getattr(part, "refusal", None) or ""))
        elif (part := _output_part(item)) is not None:
            parts.append(part)
    finish = _finish_reasons(response, any(part["type"] == "tool_call" for part in parts))
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason(finish[0] if finish else None)}]


def _output_part(item: Any) -> dict[str, Any] | None:
    """A tool call item's part, or a reasoning item's summary (its own content is encrypted or withheld)."""
    if item.type in _TOOL_CALLS:
        return tool_call_part(item.call_id, item.name, _tool_input(item))
    server_tool = _SERVER_TOOL_CALLS.get(item.type)
    if server_tool is not None:  # what the tool found or made is not copied, as for Anthropic's server tools
        call = {"type": "server_tool_call", "id": getattr(item, "id", None), "name": server_tool}
        return {**call, "server_tool_call": {"type": server_tool}}
    if item.type in _APP_TOOL_CALLS:
        action = getattr(item, "action", None) or getattr(item, "operation", None)
        arguments = action.to_dict() if hasattr(action, "to_dict") else action
        return tool_call_part(getattr(item, "call_id", None), _APP_TOOL_CALLS[item.type], arguments)
    if item.type == "reasoning":
        summary = "\n".join(getattr(part, "text", None) or "" for part in getattr(item, "summary", None) or ())
        return reasoning_part(summary) if summary else None
    return None


def _count_input(instructions: str | None, items: list[Any], tools: Any, model: str) -> int:
    from otel_llmcost.tokens import count_messages

    messages = [{"role": "system", "content": instructions}] if instructions else []
    return count_messages([*messages, *items], model) + count_tools(tools, model)

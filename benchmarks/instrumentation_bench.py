"""What the OpenAI instrumentation adds to a call, in CPU time, against the floor.

The floor is what tracing the call by hand costs: a bare OpenTelemetry span, with the same
attributes our span ends up with, around the same mocked SDK call. From one run we report:

- per non-streaming chat call: CPU added by us / CPU added by the floor (target <= 1.5x),
  once with no metrics pipeline (the zero-code default: traces to the spool) and once with
  an SDK MeterProvider, where the floor also records the same four semconv metric points;
- per streamed chunk: CPU we add per chunk beyond the floor, from the slope between a short
  and a long stream so per-call costs cancel out; on the real SDK (110-200 us per chunk) that slope
  moves by several us between runs and includes the cold-cache cost our chunk reading adds to the
  SDK's, so our chunk path is also timed alone, warm (``measure_request_level``; BENCHMARKS.md);
- the first chunk: extra wall time before the user's loop holds it.

Every variant calls the real SDK on a mock transport (no network), so the SDK's own cost is
in all of them and cancels out. The variants take turns call by call (the bare and floor
variants use a client whose ``request`` is the SDK's original, unpatched one), each call is
timed on its own, and each figure is a median: a shared machine's drift hits every variant
alike, and the instrumentation runs with the caches as cold as in a real program.

How many calls: a per-call figure is the median, over blocks of 50 calls, of what each block adds
(its median call minus the bare call's). One block's figure moves by tens of us, so a ratio taken
over few blocks moves too: each per-call ratio is printed with the medians of the run's four
quarters beside it. A quarter (500 calls) is close to this file's old default of 600, and the
quarters of one run read up to 0.3x apart; the whole runs of the default 2,000 calls per variant
(40 blocks) read within about 0.13x of their median (BENCHMARKS.md, Instrumentation, eleventh session).

    python benchmarks/instrumentation_bench.py [--calls 2000] [--streams 150]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "instrumentation"))
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(REPO.parent / "shared" / "tiktoken"))

import openai  # noqa: E402
from opentelemetry.metrics import NoOpMeterProvider  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, Tracer  # noqa: E402
from wire import Wire, chat_chunks, chat_completion, chat_usage, http_client, http_module, json_reply, sse_reply  # noqa: E402

from otel_llmcost import semconv as sc  # noqa: E402
from otel_llmcost.instrumentation.core import Telemetry  # noqa: E402
from otel_llmcost.instrumentation.openai import OpenAIInstrumentor  # noqa: E402

MESSAGES = [
    {"role": "system", "content": "You are the support agent for order 12345. Answer in two sentences."},
    {"role": "user", "content": "Where is my parcel?"},
]
CALL = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2, "max_tokens": 256}
STREAM_CALL = {**CALL, "stream": True, "stream_options": {"include_usage": True}}  # the same wire for every variant
SHORT, LONG = 20, 520  # chunks per streamed call


class _Dropped(SpanExporter):
    """Ends the span pipeline without I/O: we measure recording, not exporting."""

    def export(self, spans):  # type: ignore[no-untyped-def]
        return SpanExportResult.SUCCESS


class _Endless(Wire):
    """Answers every request with the same reply."""

    def __init__(self, http, reply):  # type: ignore[no-untyped-def]
        super().__init__(http)
        self._reply = reply

    def __call__(self, request):  # type: ignore[no-untyped-def]
        self._replies.append(self._reply)
        self.requests.clear()
        return super().__call__(request)


def _client(reply, bare: bool = False) -> openai.OpenAI:  # type: ignore[no-untyped-def]
    """A client on an endless mock wire; ``bare`` ones keep the SDK's unpatched ``request``."""
    http = http_module("openai")
    cls = _BareOpenAI if bare else openai.OpenAI
    return cls(api_key="sk-bench", max_retries=0, http_client=http_client(http, _Endless(http, reply), False))


class _BareOpenAI(openai.OpenAI):
    request = vars(openai._base_client.SyncAPIClient)["request"]  # taken before instrumenting


def _timed(
    variants: dict[str, Callable[[], object]], calls: int, clock: Callable[[], int] = time.process_time_ns
) -> dict[str, list[int]]:
    """Time of every call of each variant in ns, the variants taking turns call by call."""
    times: dict[str, list[int]] = {name: [] for name in variants}
    for _ in range(calls):
        for name, function in variants.items():
            started = clock()
            function()
            times[name].append(clock() - started)
    return times


def _added(times: dict[str, list[int]], name: str, base: str = "bare", block: int = 50) -> list[float]:
    """Median time ``name`` adds to ``base`` in us, per block of consecutive calls."""
    added = []
    for first in range(0, len(times[base]) - block + 1, block):
        window = slice(first, first + block)
        added.append((statistics.median(times[name][window]) - statistics.median(times[base][window])) / 1000)
    return added


# The non-streaming chat completion every per-call variant gets back (1,024 of its 1,200 input tokens cached).
COMPLETION = chat_completion("gpt-4o-mini-2024-07-18", "It left the depot.", chat_usage(1200, 300, cached=1024))


def dropping_provider() -> TracerProvider:
    """A tracer provider whose spans are recorded and then dropped (no export I/O)."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_Dropped()))
    return tracer_provider


def floor_of(
    tracer: Tracer, call: Callable[[], object], start: dict, end: dict, name: str = "chat gpt-4o-mini"
) -> Callable[[], object]:
    """``call`` inside the floor: a bare span with ``start`` attributes, ``end`` set after the call."""

    def floor() -> object:
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=start) as span:
            result = call()
            span.set_attributes(end)
        return result

    return floor


def _our_span_attributes(call: Callable[[], object]) -> tuple[dict, dict]:
    """The attributes our span gets at its start and at its end, for the floor to set the same."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=NoOpMeterProvider())
    call()
    instrumentor.uninstrument()
    return split_span_attributes(dict(exporter.get_finished_spans()[-1].attributes))


_START_KEYS = (
    sc.GEN_AI_OPERATION_NAME,
    sc.GEN_AI_PROVIDER_NAME,
    sc.SERVER_ADDRESS,
    sc.SERVER_PORT,
    sc.LLMCOST_PROMPT_FINGERPRINT,
)


def split_span_attributes(attributes: dict) -> tuple[dict, dict]:
    """A span's attributes as ours sets them: (at its start, at its end)."""
    start = {key: value for key, value in attributes.items() if key in _START_KEYS or key.startswith("gen_ai.request")}
    return start, {key: value for key, value in attributes.items() if key not in start}


def _semconv_points(telemetry: Telemetry, attributes: dict) -> None:
    """The metric points a hand-written semconv instrumentation records for one call."""
    telemetry.duration.record(0.4, attributes)
    telemetry.token_usage.record(1200, {**attributes, sc.GEN_AI_TOKEN_TYPE: "input"})
    telemetry.token_usage.record(300, {**attributes, sc.GEN_AI_TOKEN_TYPE: "output"})
    telemetry.cost.add(0.0002832, attributes)


def ratio_of(added: list[float], floor_added: list[float]) -> tuple[float, list[float]]:
    """The median of the blocks' ratios of what ``added`` adds to what the floor adds, and the same
    median for each quarter of the run (how far the figure moves with a quarter of the calls)."""
    ratios = [ours / floor for ours, floor in zip(added, floor_added, strict=True)]
    quarter = len(ratios) // 4  # none below four blocks
    quarters = [statistics.median(ratios[first : first + quarter]) for first in range(0, quarter * 4, quarter or 1)]
    return statistics.median(ratios), quarters


def as_ratio(ratio: float, quarters: list[float], target: str = "") -> str:
    """``1.32x the floor (target ..., quarters 1.25-1.41)``: the quarters only in a run of four blocks or more."""
    notes = [note for note in (target, quarters and f"quarters {min(quarters):.2f}-{max(quarters):.2f}") if note]
    return f"{ratio:.2f}x the floor" + (f" ({'; '.join(notes)})" if notes else "")


def measure(calls: int, streams: int = 150) -> dict[str, Any]:
    tracer_provider = dropping_provider()
    tracer = tracer_provider.get_tracer("floor")
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    floor_metrics = Telemetry(tracer_provider, meter_provider)

    completion = json_reply(COMPLETION)
    chunks = {
        count: sse_reply(chat_chunks("gpt-4o-mini-2024-07-18", ["token "] * count, usage=chat_usage(1200, count)))
        for count in (SHORT, LONG)
    }
    bare, ours = _client(completion, bare=True), _client(completion)
    bare_streams = {count: _client(reply, bare=True) for count, reply in chunks.items()}
    our_streams = {count: _client(reply) for count, reply in chunks.items()}
    start, end = _our_span_attributes(lambda: ours.chat.completions.create(**CALL))
    metric_attributes = {
        key: end.get(key, start.get(key))
        for key in (
            sc.GEN_AI_OPERATION_NAME,
            sc.GEN_AI_PROVIDER_NAME,
            sc.GEN_AI_REQUEST_MODEL,
            sc.GEN_AI_RESPONSE_MODEL,
            sc.SERVER_ADDRESS,
        )
    }

    def floor(function: Callable[[], object], with_metrics: bool = False) -> Callable[[], object]:
        spanned = floor_of(tracer, function, start, end)
        if not with_metrics:
            return spanned

        def call() -> object:
            result = spanned()
            _semconv_points(floor_metrics, metric_attributes)
            return result

        return call

    def chat(client: openai.OpenAI) -> Callable[[], object]:
        return lambda: client.chat.completions.create(**CALL)

    def iteration(clients: dict[int, openai.OpenAI], count: int, times: list[int]) -> Callable[[], object]:
        """Reads a stream; only the reading is timed (the request's start is a per-call cost)."""

        def read() -> None:
            stream = clients[count].chat.completions.create(**STREAM_CALL)
            started = time.process_time_ns()
            for _ in stream:
                pass
            times.append(time.process_time_ns() - started)

        return read

    def first_chunk(client: openai.OpenAI, waits: list[int]) -> Callable[[], object]:
        def take() -> None:
            started = time.perf_counter_ns()
            stream = client.chat.completions.create(**STREAM_CALL)
            next(iter(stream))
            waits.append(time.perf_counter_ns() - started)  # the user's loop holds the first chunk
            stream.close()

        return take

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)  # metrics go to the global API: no provider set
    calls_only = _timed({"bare": chat(bare), "floor": floor(chat(bare)), "ours": chat(ours)}, calls)
    reading: dict[str, list[int]] = {f"{who} {count}": [] for who in ("bare", "ours") for count in (SHORT, LONG)}
    stream_calls = streams
    _timed(
        {
            name: iteration(bare_streams if name.startswith("bare") else our_streams, int(name.split()[1]), times)
            for name, times in reading.items()
        },
        stream_calls,
    )
    # Wall time, as the user waits for the first chunk.
    first: dict[str, list[int]] = {"bare": [], "ours": []}
    _timed(
        {
            name: first_chunk(bare_streams[LONG] if name == "bare" else our_streams[LONG], waits)
            for name, waits in first.items()
        },
        stream_calls,
    )
    instrumentor.uninstrument()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    with_metrics = _timed(
        {"bare": chat(bare), "floor": floor(chat(bare), with_metrics=True), "ours": chat(ours)}, calls
    )
    instrumentor.uninstrument()

    floor_added, ours_added = _added(calls_only, "floor"), _added(calls_only, "ours")
    floor_metrics, ours_metrics = _added(with_metrics, "floor"), _added(with_metrics, "ours")
    long_added = _added(reading, f"ours {LONG}", f"bare {LONG}", block=10)
    short_added = _added(reading, f"ours {SHORT}", f"bare {SHORT}", block=10)
    median = statistics.median
    return {
        "sdk_call_us": median(calls_only["bare"]) / 1000,
        "floor_us": median(floor_added),
        "ours_us": median(ours_added),
        "ratio": ratio_of(ours_added, floor_added),
        "floor_metrics_us": median(floor_metrics),
        "ours_metrics_us": median(ours_metrics),
        "ratio_metrics": ratio_of(ours_metrics, floor_metrics),
        "per_chunk_us": median(
            (long - short) / (LONG - SHORT) for long, short in zip(long_added, short_added, strict=True)
        ),
        "first_chunk_delay_us": median(_added(first, "ours", block=10)),
    }


def measure_request_level(calls: int) -> dict[str, float]:
    """The same comparison with the SDK's own work taken out: the mocked call is the SDK's
    ``request`` returning an already-parsed completion (through the options' post_parser,
    as the SDK does), so what remains is only our work and the floor's, measured warm."""
    from openai._models import FinalRequestOptions, construct_type
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    from otel_llmcost.instrumentation import streams
    from otel_llmcost.instrumentation.openai import chat, client

    tracer_provider = dropping_provider()
    wrapper = client.wrap_request(Telemetry(tracer_provider))
    completion = construct_type(type_=ChatCompletion, value=COMPLETION)
    sdk = _client(json_reply(COMPLETION))
    entered: list[int] = []

    def mocked_request(cast_to: type, options: FinalRequestOptions, **kwargs: object) -> object:
        entered.append(time.perf_counter_ns())
        return options.post_parser(completion) if callable(options.post_parser) else completion

    def options() -> FinalRequestOptions:
        return FinalRequestOptions.construct(method="post", url="/chat/completions", json_data=dict(CALL))

    start, end = _our_span_attributes(lambda: sdk.chat.completions.create(**CALL))

    def bare() -> object:
        return mocked_request(ChatCompletion, options())

    floor = floor_of(tracer_provider.get_tracer("floor"), bare, start, end)

    def ours() -> object:
        return wrapper(mocked_request, sdk, (ChatCompletion, options()), {})

    per_call = {
        name: statistics.median(times) / 1000
        for name, times in _timed({"bare": bare, "floor": floor, "ours": ours}, calls * 10).items()
    }

    chunks = [
        construct_type(type_=ChatCompletionChunk, value=chunk)
        for chunk in chat_chunks("gpt-4o-mini", ["token "] * LONG, usage=chat_usage(1200, LONG))
    ]

    def read_plain() -> None:
        for _ in iter(chunks):
            pass

    def read_ours() -> None:
        call = _NoCall()
        for _ in streams._iterate(iter(chunks), call, chat.ChatStream(False)):  # noqa: SLF001 (the per-chunk path itself)
            pass

    reading = {
        name: statistics.median(times) / 1000 / len(chunks)
        for name, times in _timed({"plain": read_plain, "ours": read_ours}, calls).items()
    }

    def before_send(function: Callable[[], object]) -> float:
        started = time.perf_counter_ns()
        function()
        return (entered[-1] - started) / 1000

    delays = [before_send(ours) - before_send(bare) for _ in range(calls * 10)]
    return {
        "floor_us": per_call["floor"] - per_call["bare"],
        "ours_us": per_call["ours"] - per_call["bare"],
        "ratio": (per_call["ours"] - per_call["bare"]) / (per_call["floor"] - per_call["bare"]),
        "per_chunk_us": reading["ours"] - reading["plain"],
        "before_send_us": statistics.median(delays),
    }


def _prototype(tracer_provider: TracerProvider) -> Callable[..., object]:
    """A reference, not a product: the same span for this one chat call written by hand as a single
    wrapt wrapper, the request shape and provider hard-coded (no endpoint table, no attribution, no
    error handling, no streams, no other SDK versions). What a call costs when nothing is general."""
    from opentelemetry import context, trace

    from otel_llmcost.instrumentation.fingerprint import head_fingerprint
    from otel_llmcost.pricing.catalog import find_price
    from otel_llmcost.pricing.cost import _card

    tracer = tracer_provider.get_tracer("prototype")

    def wrapper(wrapped, client, args, kwargs):  # type: ignore[no-untyped-def]
        options = args[1]
        if options.url != "/chat/completions":
            return wrapped(*args, **kwargs)
        body = options.json_data
        model = body["model"]
        attributes = {
            sc.GEN_AI_OPERATION_NAME: "chat",
            sc.GEN_AI_PROVIDER_NAME: "openai",
            sc.GEN_AI_REQUEST_MODEL: model,
            sc.SERVER_ADDRESS: "api.openai.com",
            sc.SERVER_PORT: 443,
            sc.GEN_AI_REQUEST_TEMPERATURE: body["temperature"],
            sc.GEN_AI_REQUEST_MAX_TOKENS: body["max_tokens"],
        }
        system, shape = [], []
        for message in body["messages"]:
            if message["role"] == "system":
                system.append(message["content"])
            shape.append(message["role"] + ":text")
            if message["role"] == "user":
                break
        attributes[sc.LLMCOST_PROMPT_FINGERPRINT] = head_fingerprint("\n".join(system), (), tuple(shape))
        span = tracer.start_span("chat " + model, kind=SpanKind.CLIENT, attributes=attributes)
        parsed: list[object] = []
        saved = options.post_parser
        options.__dict__["post_parser"] = lambda result: parsed.append(result) or result
        token = context.attach(trace.set_span_in_context(span))
        try:
            result = wrapped(*args, **kwargs)
        finally:
            context.detach(token)
            options.__dict__["post_parser"] = saved
        completion = parsed[0]
        usage = completion.usage  # type: ignore[attr-defined]
        cached = usage.prompt_tokens_details.cached_tokens
        entry = find_price(completion.model, "openai")  # type: ignore[attr-defined]
        card = _card(entry, completion.service_tier, completion.model)  # type: ignore[arg-type, attr-defined]
        rates = card.int_rates
        input_part = (usage.prompt_tokens - cached) * rates.input
        read_part = cached * rates.cache_read
        output_part = usage.completion_tokens * rates.output
        scale = rates.scale
        span.set_attributes(
            {
                sc.GEN_AI_RESPONSE_FINISH_REASONS: tuple(choice.finish_reason for choice in completion.choices),
                sc.GEN_AI_RESPONSE_ID: completion.id,
                sc.GEN_AI_RESPONSE_MODEL: completion.model,
                sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: cached,
                sc.GEN_AI_USAGE_COST_AMOUNT: (input_part + read_part + output_part) / scale,
                sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
                sc.GEN_AI_USAGE_COST_SOURCE: "local",
                sc.GEN_AI_USAGE_INPUT_TOKENS: usage.prompt_tokens,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: usage.completion_tokens,
                sc.LLMCOST_COST_CACHE_READ: read_part / scale,
                sc.LLMCOST_COST_CACHE_WRITE: 0.0,
                sc.LLMCOST_COST_INPUT: input_part / scale,
                sc.LLMCOST_COST_OUTPUT: output_part / scale,
                sc.LLMCOST_COST_REASONING: 0.0,
                sc.LLMCOST_COST_REQUEST_FEES: 0.0,
                sc.LLMCOST_PRICING_DATE: entry.effective_date,  # type: ignore[union-attr]
                sc.LLMCOST_PRICING_ENTRY: entry.key,  # type: ignore[union-attr]
                sc.LLMCOST_PRICING_LONG_CONTEXT: False,
                sc.LLMCOST_PRICING_TIER: card.tier,
                sc.OPENAI_API_TYPE: "chat_completions",
                sc.OPENAI_RESPONSE_SERVICE_TIER: completion.service_tier,
                sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT: completion.system_fingerprint,
            }
        )
        span.end()
        return result

    return wrapper


def measure_prototype(calls: int) -> dict[str, float]:
    """Ours and the hand-written prototype against the same floor, the four variants in turns."""
    import wrapt

    tracer_provider = dropping_provider()
    completion = json_reply(COMPLETION)
    bare, ours = _client(completion, bare=True), _client(completion)
    original = vars(openai._base_client.SyncAPIClient)["request"]
    http = http_module("openai")

    def prototype_client(provider: TracerProvider) -> openai.OpenAI:
        cls = type("_Prototype", (openai.OpenAI,), {"request": wrapt.FunctionWrapper(original, _prototype(provider))})
        transport = http_client(http, _Endless(http, completion), False)
        return cls(api_key="sk-bench", max_retries=0, http_client=transport)

    prototype = prototype_client(tracer_provider)
    start, end = _our_span_attributes(lambda: ours.chat.completions.create(**CALL))
    exporter = InMemorySpanExporter()
    probe_provider = TracerProvider()
    probe_provider.add_span_processor(SimpleSpanProcessor(exporter))
    prototype_client(probe_provider).chat.completions.create(**CALL)
    assert dict(exporter.get_finished_spans()[-1].attributes) == {**start, **end}, "the prototype's span must be ours"

    floor = floor_of(tracer_provider.get_tracer("floor"), lambda: bare.chat.completions.create(**CALL), start, end)

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    times = _timed(
        {
            "bare": lambda: bare.chat.completions.create(**CALL),
            "floor": floor,
            "ours": lambda: ours.chat.completions.create(**CALL),
            "prototype": lambda: prototype.chat.completions.create(**CALL),
        },
        calls,
    )
    instrumentor.uninstrument()
    floor_added = _added(times, "floor")
    median = statistics.median
    return {
        name: median(added / floor for added, floor in zip(_added(times, name), floor_added, strict=True))
        for name in ("ours", "prototype")
    }


class _NoCall:
    """Stands in for the call when only the chunk path is timed."""

    ended = False

    def first_chunk(self) -> None:
        pass

    def end(self, response: object = None, error: object = None, ended: object = None, by_user: bool = False) -> None:
        pass


# --- Anthropic -------------------------------------------------------------------

CLAUDE_CALL = {
    "model": "claude-haiku-4-5",
    "max_tokens": 256,
    "system": "You are the support agent for order 12345. Answer in two sentences.",
    "messages": [{"role": "user", "content": "Where is my parcel?"}],
}


def measure_anthropic(calls: int, streams: int = 150) -> dict[str, Any]:
    """The same per-call and per-chunk comparison for the anthropic SDK's Messages API. Every
    client has the SDK's own tracing off, so only our adapter is measured, not the SDK's spans."""
    import anthropic
    from wire import claude_events, claude_message, claude_stream, claude_usage, text_block

    from otel_llmcost.instrumentation.anthropic import AnthropicInstrumentor

    bare_cls = type(
        "_BareAnthropic", (anthropic.Anthropic,), {"request": vars(anthropic._base_client.SyncAPIClient)["request"]}
    )
    http = http_module("anthropic")

    def client(reply, bare: bool = False) -> anthropic.Anthropic:  # type: ignore[no-untyped-def]
        cls = bare_cls if bare else anthropic.Anthropic
        transport = http_client(http, _Endless(http, reply), False)
        return cls(api_key="sk-ant-bench", max_retries=0, http_client=transport, open_telemetry=False)

    usage = claude_usage(1200, 300, cache_read=1024, cache_5m=200)
    message = claude_message("claude-haiku-4-5-20251001", [text_block("It left the depot.")], usage)
    replies = {
        count: claude_stream(
            claude_events(claude_message("claude-haiku-4-5-20251001", [text_block("token " * count)], usage))
        )
        for count in (SHORT, LONG)
    }
    bare, ours = client(json_reply(message), bare=True), client(json_reply(message))
    bare_streams = {count: client(reply, bare=True) for count, reply in replies.items()}
    our_streams = {count: client(reply) for count, reply in replies.items()}

    tracer_provider = dropping_provider()
    tracer = tracer_provider.get_tracer("floor")
    exporter = InMemorySpanExporter()
    probe = TracerProvider()
    probe.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=probe, meter_provider=NoOpMeterProvider())
    ours.messages.create(**CLAUDE_CALL)
    instrumentor.uninstrument()
    attributes = dict(exporter.get_finished_spans()[-1].attributes)

    def create(client: anthropic.Anthropic) -> Callable[[], object]:
        return lambda: client.messages.create(**CLAUDE_CALL)

    # Each attribute set when ours sets it, as for the OpenAI floor (the request's at the start).
    floor = floor_of(tracer, create(bare), *split_span_attributes(attributes), name="chat claude-haiku-4-5")

    def iteration(clients: dict[int, anthropic.Anthropic], count: int, times: list[int]) -> Callable[[], object]:
        def read() -> None:
            stream = clients[count].messages.create(**CLAUDE_CALL, stream=True)
            started = time.process_time_ns()
            for _ in stream:
                pass
            times.append(time.process_time_ns() - started)

        return read

    instrumentor.instrument(tracer_provider=tracer_provider)
    calls_only = _timed({"bare": create(bare), "floor": floor, "ours": create(ours)}, calls)
    reading: dict[str, list[int]] = {f"{who} {count}": [] for who in ("bare", "ours") for count in (SHORT, LONG)}
    _timed(
        {
            name: iteration(bare_streams if name.startswith("bare") else our_streams, int(name.split()[1]), times)
            for name, times in reading.items()
        },
        streams,
    )
    instrumentor.uninstrument()

    floor_added, ours_added = _added(calls_only, "floor"), _added(calls_only, "ours")
    long_added = _added(reading, f"ours {LONG}", f"bare {LONG}", block=10)
    short_added = _added(reading, f"ours {SHORT}", f"bare {SHORT}", block=10)
    median = statistics.median
    return {
        "sdk_call_us": median(calls_only["bare"]) / 1000,
        "floor_us": median(floor_added),
        "ours_us": median(ours_added),
        "ratio": ratio_of(ours_added, floor_added),
        # A text delta per word ("token "), so the slope is per streamed event.
        "per_event_us": median(
            (long - short) / (LONG - SHORT) for long, short in zip(long_added, short_added, strict=True)
        ),
    }


def print_anthropic(calls: int, streams: int) -> None:
    import anthropic

    result = measure_anthropic(calls, streams)
    print(f"anthropic {anthropic.__version__} Messages, the SDK's own tracing off, medians")
    print(f"SDK call on a mock transport, CPU                 {result['sdk_call_us']:8.1f} us")
    print(f"  added by the floor (bare span, same attributes)  {result['floor_us']:8.1f} us")
    print(
        f"  added by otel-llmcost                           {result['ours_us']:8.1f} us"
        f"  = {as_ratio(*result['ratio'], 'target <= 1.5x')}"
    )
    print(f"per streamed event, beyond the floor               {result['per_event_us']:8.2f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per per-call variant (default: 2000)")
    parser.add_argument("--streams", type=int, default=150, help="timed streams per stream variant (default: 150)")
    args = parser.parse_args()
    if args.calls < 1 or args.streams < 1:
        parser.error("--calls and --streams must be at least 1")
    result = measure(args.calls, args.streams)
    print(
        f"openai {openai.__version__}, {args.calls} calls per variant, {args.streams} streams of {SHORT} and {LONG}"
        " chunks, medians"
    )
    print(f"SDK call on a mock transport, CPU                 {result['sdk_call_us']:8.1f} us")
    print("no metrics pipeline (zero-code default):")
    print(f"  added by the floor (bare span, same attributes)  {result['floor_us']:8.1f} us")
    print(
        f"  added by otel-llmcost                           {result['ours_us']:8.1f} us"
        f"  = {as_ratio(*result['ratio'], 'target <= 1.5x')}"
    )
    print("SDK MeterProvider configured:")
    print(f"  added by the floor (span + 4 semconv points)     {result['floor_metrics_us']:8.1f} us")
    print(
        f"  added by otel-llmcost                           {result['ours_metrics_us']:8.1f} us"
        f"  = {as_ratio(*result['ratio_metrics'])}"
    )
    print(
        f"per streamed chunk, beyond the floor               {result['per_chunk_us']:8.2f} us"
        " (the real SDK's chunk, cold; moves by several us between runs)"
    )
    print(f"first chunk, extra wall time                      {result['first_chunk_delay_us']:8.1f} us")
    exact = measure_request_level(args.calls)
    print("the SDK's own work taken out (request-level mock, warm):")
    print(f"  added by the floor                               {exact['floor_us']:8.1f} us")
    print(
        f"  added by otel-llmcost                           {exact['ours_us']:8.1f} us  = {exact['ratio']:.2f}x the floor"
    )
    print(f"  per streamed chunk (the floor adds none)         {exact['per_chunk_us']:8.2f} us (target <= 2 us)")
    print(
        f"  our work before the request is sent             {exact['before_send_us']:8.1f} us (the first chunk waits for nothing else)"
    )
    print_anthropic(args.calls, args.streams)
    reference = measure_prototype(args.calls)
    print("reference: the same span written by hand for this one call (one function, nothing general)")
    print(f"  otel-llmcost {reference['ours']:.2f}x the floor, hand-written {reference['prototype']:.2f}x")


if __name__ == "__main__":
    main()

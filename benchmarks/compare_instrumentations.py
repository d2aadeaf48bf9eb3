"""Other OpenAI instrumentations on the same harness as ``instrumentation_bench.py``.

For each instrumentation the added CPU time (``time.process_time_ns``) of one non-streaming chat
completion and of one streamed chunk, against two references measured in the same process:

- none: the bare SDK call (the real ``openai`` client on an in-process mock transport:
  ``httpx.MockTransport`` for openai 1.x/2.x, ``httpx2.MockTransport`` for 3.x);
- floor: a bare OpenTelemetry span around the same call, with the same attributes otel-llmcost's
  span ends with (the floor of ``instrumentation_bench.py``: start attributes at the start, the
  rest set before the end).

Every tracer goes to an SDK ``TracerProvider`` + ``SimpleSpanProcessor`` + an exporter that drops.
Each instrumentation runs in its own virtualenv (they pin different openai / OpenTelemetry
versions); this script runs one child process per target with that venv's python and prints one
table. Inside a child the three variants (none, floor, instrumented) take turns call by call: the
attributes the instrumentation patched (found by diffing the ``openai`` and ``httpx`` modules'
and classes' dicts before and after ``instrument()``) are set back to the originals for the none
and floor calls and to the patched ones for the instrumented calls, so all three run on the same
client, in the same process, under the same drift. Figures are medians of per-block medians
(blocks of 50 calls; of 10 streams), as in ``instrumentation_bench.py``; per chunk is the slope
between a 20-chunk and a 520-chunk stream, reading time only, so per-call costs cancel out.

The child also records facts, not assumptions: which spans an instrumentation emits, whether any
attribute is a cost, and whether a stream's span ends when the stream is exhausted, closed early,
or abandoned (garbage-collected).

    python benchmarks/compare_instrumentations.py --setup            # create the venvs (PyPI)
    python benchmarks/compare_instrumentations.py [--calls 1000] [--rounds 3] [--json out.json]
        [--otel-llmcost-src DIR]   # a `git archive <commit> otel_llmcost` unpacked: a fixed commit, not the work tree

Run it with /work/main/.venv's python (otel-llmcost's venv: the floor's attributes come from it).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VENVS = Path(os.environ.get("BENCH_VENVS", "/tmp/bench-venvs"))
TIKTOKEN_CACHE = str(REPO.parent / "shared" / "tiktoken")

# name: the venv, what pip installs in it, the instrumentation kind and extra environment.
# openai-v2 2.4b0 imports httpx (openai 3.x brings httpx2 instead) and needs
# opentelemetry-util-genai < 1 (1.x renamed the module it imports); OpenLIT 1.45 requires
# openai < 3 and its contrib dependencies pin opentelemetry-instrumentation 0.66b1 (0.66b2 has no
# matching contrib instrumentations on PyPI). Unpinned, pip resolves openai-v2 to a broken set and
# backtracks for many minutes on OpenLIT.
TARGETS: dict[str, dict[str, Any]] = {
    "otel-llmcost": {"venv": None, "kind": "otel-llmcost", "pip": []},
    "otel-llmcost@openai2": {
        "venv": "otel-llmcost-openai2",
        "kind": "otel-llmcost",
        "pip": [
            "openai==2.54.0",
            "opentelemetry-sdk==1.45.2",
            "opentelemetry-api==1.45.2",
            "opentelemetry-instrumentation==0.66b2",
            "opentelemetry-exporter-otlp-proto-common==1.45.2",
            "opentelemetry-proto==1.45.2",
            "wrapt",
            "tiktoken",
        ],
        "pythonpath": str(REPO),
    },
    "openai-v2": {
        "venv": "openai-v2",
        "kind": "openai-v2",
        "pip": [
            "--pre",
            "opentelemetry-instrumentation-openai-v2",
            "opentelemetry-util-genai<1",
            "openai<3",
            "opentelemetry-sdk",
        ],
    },
    "openllmetry": {
        "venv": "openllmetry",
        "kind": "openllmetry",
        "pip": ["opentelemetry-instrumentation-openai", "openai", "opentelemetry-sdk"],
    },
    "openllmetry-nocontent": {
        "venv": "openllmetry",
        "kind": "openllmetry",
        "env": {"TRACELOOP_TRACE_CONTENT": "false"},
    },
    "openlit": {
        "venv": "openlit",
        "kind": "openlit",
        "pip": ["openlit==1.45.0", "openai<3", "opentelemetry-instrumentation==0.66b1"],
    },
    "openlit-nocontent": {"venv": "openlit", "kind": "openlit", "env": {"OPENLIT_CAPTURE_MESSAGE_CONTENT": "false"}},
}
DEFAULT_TARGETS = list(TARGETS)

PACKAGES = (
    "openai",
    "httpx",
    "httpx2",
    "pydantic",
    "wrapt",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-instrumentation",
    "opentelemetry-semantic-conventions",
    "otel-llmcost",
    "opentelemetry-instrumentation-openai-v2",
    "opentelemetry-util-genai",
    "opentelemetry-instrumentation-openai",
    "opentelemetry-semantic-conventions-ai",
    "openlit",
)

# --- the call and its payloads: tests/instrumentation/wire.py's, which imports nothing outside the
# standard library, so every venv can use it -------------------------------------------------------

sys.path.insert(0, str(REPO / "tests" / "instrumentation"))
from wire import chat_chunks, chat_completion, chat_usage, sse  # noqa: E402

MESSAGES = [
    {"role": "system", "content": "You are the support agent for order 12345. Answer in two sentences."},
    {"role": "user", "content": "Where is my parcel?"},
]
CALL = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2, "max_tokens": 256}
STREAM_CALL = {**CALL, "stream": True, "stream_options": {"include_usage": True}}
SHORT, LONG = 20, 520  # chunks per streamed call
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"


def completion_payload() -> dict[str, Any]:
    return chat_completion(RESPONSE_MODEL, "It left the depot.", chat_usage(1200, 300, cached=1024))


def stream_payload(count: int) -> list[dict[str, Any]]:
    return chat_chunks(RESPONSE_MODEL, ["token "] * count, usage=chat_usage(1200, count))


# OpenLIT prices from a JSON file it downloads from GitHub at init (no internet here: it then
# prices every call at 0). This is its format (USD per 1k tokens) with gpt-4o-mini's list prices.
OPENLIT_PRICING = {
    "chat": {
        "gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006, "cacheReadPrice": 0.000075},
        "gpt-4o-mini-2024-07-18": {"promptPrice": 0.00015, "completionPrice": 0.0006, "cacheReadPrice": 0.000075},
    }
}


# --- the child: one venv, one instrumentation ------------------------------------------------


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def _instrument(kind: str, tracer_provider: Any) -> dict[str, Any]:
    """Instrument with the tool's defaults except where noted; returns what was configured."""
    if kind == "otel-llmcost":
        import otel_llmcost

        names = otel_llmcost.instrument(tracer_provider=tracer_provider)
        return {"call": f"otel_llmcost.instrument(tracer_provider=tp) -> {names}"}
    if kind == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
        return {"call": "OpenAIInstrumentor().instrument(tracer_provider=tp)"}
    if kind == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
        return {
            "call": "OpenAIInstrumentor().instrument(tracer_provider=tp)",
            "TRACELOOP_TRACE_CONTENT": os.environ.get("TRACELOOP_TRACE_CONTENT", "(unset: true)"),
        }
    if kind == "openlit":
        import openlit
        from opentelemetry import trace

        pricing = Path(tempfile.mkdtemp()) / "pricing.json"
        pricing.write_text(json.dumps(OPENLIT_PRICING))
        trace.set_tracer_provider(tracer_provider)  # openlit.init reuses an SDK provider already set
        capture = os.environ.get("OPENLIT_CAPTURE_MESSAGE_CONTENT", "true") != "false"
        openlit.init(
            pricing_json=str(pricing),
            disable_metrics=True,  # as the others here: no metrics pipeline
            disable_events=True,  # its default would create an SDK LoggerProvider with an exporter
            capture_message_content=capture,
        )
        return {
            "call": f"trace.set_tracer_provider(tp); openlit.init(pricing_json=<gpt-4o-mini list prices>, "
            f"disable_metrics=True, disable_events=True, capture_message_content={capture})"
        }
    raise SystemExit(f"unknown kind {kind}")


_MISSING = object()


def _snapshot() -> dict[tuple[int, str], tuple[Any, dict[str, Any]]]:
    """The dicts of the openai and httpx modules and of the classes they define."""
    found: dict[tuple[int, str], tuple[Any, dict[str, Any]]] = {}
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in ("openai", "httpx", "httpx2"):
            continue
        found[(id(module), name)] = (module, dict(vars(module)))
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == name:
                found[(id(value), f"{name}.{value.__qualname__}")] = (value, dict(vars(value)))
    return found


def _patches(before: dict, after: dict) -> list[tuple[Any, str, str, Any, Any]]:
    """(owner, owner name, attribute, original, patched) for every attribute instrument() changed."""
    changed = []
    for key, (owner, old) in before.items():
        if key not in after:
            continue
        new = after[key][1]
        for attribute in set(old) | set(new):
            if attribute in ("__dict__", "__weakref__", "__doc__", "_abc_impl"):
                continue
            was, now = old.get(attribute, _MISSING), new.get(attribute, _MISSING)
            if was is now or _bookkeeping(attribute, was, now):
                continue
            changed.append((owner, key[1], attribute, was, now))
    return changed


def _bookkeeping(attribute: str, was: Any, now: Any) -> bool:
    """Changes that are not patches: a submodule bound to its package on import, pydantic
    completing a model class lazily."""
    if isinstance(was, types.ModuleType) or isinstance(now, types.ModuleType):
        return True
    if was is _MISSING and isinstance(now, type):  # a lazily exported class resolved
        return True
    return attribute.startswith("__pydantic") or attribute in (
        "__signature__",
        "__class_vars__",
        "__private_attributes__",
    )


def _set(patches: list, patched: bool) -> None:
    for owner, _, attribute, original, instrumented in patches:
        value = instrumented if patched else original
        if value is _MISSING:
            if attribute in vars(owner):
                delattr(owner, attribute)
        else:
            setattr(owner, attribute, value)


def _added(times: dict[str, list[int]], name: str, base: str, block: int) -> list[float]:
    """Median time ``name`` adds to ``base`` in us, per block of consecutive calls."""
    added = []
    for first in range(0, len(times[base]) - block + 1, block):
        window = slice(first, first + block)
        added.append((statistics.median(times[name][window]) - statistics.median(times[base][window])) / 1000)
    return added


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def child(kind: str, calls: int, floor_file: str | None) -> dict[str, Any]:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", TIKTOKEN_CACHE)
    import openai
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.trace import SpanKind

    class Dropped(SpanExporter):
        """Ends the span pipeline without I/O; keeps the spans only while observing."""

        keep: list | None = None

        def export(self, spans):  # type: ignore[no-untyped-def]
            if self.keep is not None:
                self.keep.extend(spans)
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

    base = openai._base_client
    http = getattr(base, "httpx2", None) or base.httpx
    completion_body = json.dumps(completion_payload()).encode()
    json_headers = {"content-type": "application/json"}
    sse_headers = {"content-type": "text/event-stream; charset=utf-8"}
    stream_bodies = {count: sse(stream_payload(count)) for count in (SHORT, LONG)}

    def client(body: bytes, headers: dict[str, str]) -> Any:
        def handler(request: Any) -> Any:
            request.read()
            return http.Response(200, headers=headers, content=body)

        transport = http.Client(transport=http.MockTransport(handler))
        return openai.OpenAI(api_key="sk-bench", max_retries=0, http_client=transport)

    chat = client(completion_body, json_headers)
    streams = {count: client(body, sse_headers) for count, body in stream_bodies.items()}

    exporter = Dropped()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = tracer_provider.get_tracer("floor")

    # Warm up (imports, lazy SDK modules) so the snapshot holds what the calls use.
    chat.chat.completions.create(**CALL)
    for stream_client in streams.values():
        for _ in stream_client.chat.completions.create(**STREAM_CALL):
            pass

    facts: dict[str, Any] = {"versions": _versions()}
    if kind in ("otel-llmcost", "floor"):
        import otel_llmcost  # before instrumentation_bench puts the repository first on sys.path

        facts["otel_llmcost_from"] = str(Path(otel_llmcost.__file__).parent)
    if kind == "floor":  # otel-llmcost's venv: the floor's attributes, as instrumentation_bench.py defines them
        return {**facts, "floor": _floor_attributes(chat)}
    floor = json.loads(Path(floor_file).read_text())
    start, end = floor["start"], floor["end"]

    before = _snapshot()
    facts["configured"] = _instrument(kind, tracer_provider)
    patches = _patches(before, _snapshot())
    facts["patched"] = sorted(f"{owner}.{attribute}" for _, owner, attribute, _, _ in patches)
    if not patches:
        raise SystemExit(f"{kind}: instrument() patched nothing in openai/httpx")

    facts.update(_observe(chat, streams[SHORT], exporter, patches))
    if calls == 0:  # the facts only
        return facts

    # --- timing -------------------------------------------------------------------------
    def floor_call() -> object:
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=start) as span:
            result = chat.chat.completions.create(**CALL)
            span.set_attributes(end)
        return result

    def plain_call() -> object:
        return chat.chat.completions.create(**CALL)

    variants: dict[str, tuple[bool, Callable[[], object]]] = {
        "none": (False, plain_call),
        "floor": (False, floor_call),
        "tool": (True, plain_call),
    }
    clock = time.process_time_ns
    times: dict[str, list[int]] = {name: [] for name in variants}
    names = list(variants)
    for turn in range(calls):
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            patched, function = variants[name]
            _set(patches, patched)
            started = clock()
            function()
            times[name].append(clock() - started)

    reading: dict[str, list[int]] = {f"{who} {count}": [] for who in variants for count in (SHORT, LONG)}
    whole: dict[str, list[int]] = {key: [] for key in reading}

    def read(who: str, count: int) -> None:
        stream_client = streams[count]
        started = clock()
        if who == "floor":
            with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=start) as span:
                stream = stream_client.chat.completions.create(**STREAM_CALL)
                reading_from = clock()
                for _ in stream:
                    pass
                span.set_attributes(end)
        else:
            stream = stream_client.chat.completions.create(**STREAM_CALL)
            reading_from = clock()
            for _ in stream:
                pass
        done = clock()
        reading[f"{who} {count}"].append(done - reading_from)
        whole[f"{who} {count}"].append(done - started)

    stream_calls = max(calls // 4, 50)
    keys = list(reading)
    for turn in range(stream_calls):
        shift = turn % len(keys)
        for key in keys[shift:] + keys[:shift]:
            who, count = key.split()
            _set(patches, variants[who][0])
            read(who, int(count))
    _set(patches, True)

    median = statistics.median
    floor_added, tool_added = _added(times, "floor", "none", 50), _added(times, "tool", "none", 50)

    def slope(who: str) -> float:
        longs = _added(reading, f"{who} {LONG}", f"none {LONG}", 10)
        shorts = _added(reading, f"{who} {SHORT}", f"none {SHORT}", 10)
        return median((lo - sh) / (LONG - SHORT) for lo, sh in zip(longs, shorts, strict=True))

    none_chunk = median(
        (median(reading[f"none {LONG}"][i : i + 10]) - median(reading[f"none {SHORT}"][i : i + 10])) / (LONG - SHORT)
        for i in range(0, stream_calls - 9, 10)
    )
    facts["results"] = {
        "calls": calls,
        "stream_calls": stream_calls,
        "sdk_call_us": median(times["none"]) / 1000,
        "floor_us": median(floor_added),
        "tool_us": median(tool_added),
        "ratio": median(t / f for t, f in zip(tool_added, floor_added, strict=True)),
        "sdk_chunk_us": none_chunk / 1000,
        "floor_chunk_us": slope("floor"),
        "tool_chunk_us": slope("tool"),
        "stream_call_floor_us": median(_added(whole, f"floor {SHORT}", f"none {SHORT}", 10)),
        "stream_call_tool_us": median(_added(whole, f"tool {SHORT}", f"none {SHORT}", 10)),
    }
    return facts


def _floor_attributes(chat: Any) -> dict[str, Any]:
    """The floor's attributes, as instrumentation_bench.py defines them (otel-llmcost's venv only)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import instrumentation_bench

    assert instrumentation_bench.CALL == CALL, "the call differs from instrumentation_bench.py's"
    start, end = instrumentation_bench._our_span_attributes(lambda: chat.chat.completions.create(**CALL))
    return {
        "start": {k: _json_value(v) for k, v in start.items()},
        "end": {k: _json_value(v) for k, v in end.items()},
    }


def _observe(chat: Any, stream_client: Any, exporter: Any, patches: list) -> dict[str, Any]:
    """What the instrumentation emits, observed through the exporter."""
    facts: dict[str, Any] = {}

    def capture(action: Callable[[], object]) -> list:
        exporter.keep = []
        action()
        spans, exporter.keep = exporter.keep, None
        return spans

    def describe(spans: list) -> list[dict[str, Any]]:
        return [
            {
                "name": span.name,
                "kind": str(span.kind),
                "attributes": {k: _json_value(v) for k, v in (span.attributes or {}).items()},
            }
            for span in spans
        ]

    _set(patches, False)
    facts["spans_when_off"] = len(capture(lambda: chat.chat.completions.create(**CALL)))
    _set(patches, True)
    chat_spans = describe(capture(lambda: chat.chat.completions.create(**CALL)))
    facts["chat_spans"] = chat_spans

    stream_facts: dict[str, Any] = {}
    holder: dict[str, Any] = {}

    def open_stream() -> None:
        holder["stream"] = stream_client.chat.completions.create(**STREAM_CALL)

    stream_facts["spans_ended_at_create"] = len(capture(open_stream))

    def exhaust() -> None:
        for _ in holder["stream"]:
            pass

    exhausted = capture(exhaust)
    stream_facts["spans_ended_when_exhausted"] = len(exhausted)
    stream_facts["spans"] = describe(exhausted)
    closed = capture(lambda: holder["stream"].close())
    stream_facts["more_spans_on_close_after_exhausted"] = len(closed)

    def early_close() -> None:
        stream = stream_client.chat.completions.create(**STREAM_CALL)
        next(iter(stream))
        stream.close()

    stream_facts["spans_ended_first_chunk_then_close"] = len(capture(early_close))

    def abandon() -> None:
        stream = stream_client.chat.completions.create(**STREAM_CALL)
        iterator = iter(stream)
        next(iterator)
        del stream, iterator
        gc.collect()

    stream_facts["spans_ended_first_chunk_then_abandoned_gc"] = len(capture(abandon))
    gc.collect()
    facts["stream"] = stream_facts
    return facts


# --- the parent -------------------------------------------------------------------------------


def _python(name: str) -> str:
    venv = TARGETS[name]["venv"] if name != "floor" else None
    return sys.executable if venv is None else str(VENVS / venv / "bin" / "python")


def setup(names: list[str]) -> None:
    for name in names:
        target = TARGETS[name]
        if target["venv"] is None or not target.get("pip"):
            continue
        venv = VENVS / target["venv"]
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-U", "pip"], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *target["pip"]], check=True)


def run_child(name: str, calls: int, floor_file: str | None, source: str | None = None) -> dict[str, Any]:
    target = TARGETS[name] if name != "floor" else {**TARGETS["otel-llmcost"], "kind": "floor"}
    env = {**os.environ, **target.get("env", {}), "TIKTOKEN_CACHE_DIR": TIKTOKEN_CACHE}
    for variable in ("TRACELOOP_TRACE_CONTENT", "OPENLIT_CAPTURE_MESSAGE_CONTENT"):
        if variable not in target.get("env", {}):
            env.pop(variable, None)
    if target.get("pythonpath"):
        env["PYTHONPATH"] = target["pythonpath"]
    if source and target["kind"] in ("otel-llmcost", "floor"):
        env["PYTHONPATH"] = source
    command = [_python(name), str(Path(__file__).resolve()), "--child", target["kind"], "--calls", str(calls)]
    if floor_file:
        command += ["--floor-file", floor_file]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-20:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cost_attributes(spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: v for span in spans for k, v in span["attributes"].items() if "cost" in k.lower().replace("llmcost", "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="timed calls per variant (streams: a quarter)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of every target, interleaved; medians")
    parser.add_argument("--targets", nargs="*", default=DEFAULT_TARGETS, choices=list(TARGETS))
    parser.add_argument("--setup", action="store_true", help="create the venvs with pip (PyPI) and exit")
    parser.add_argument("--json", help="write every child's full result here")
    parser.add_argument(
        "--otel-llmcost-src",
        help="a directory holding the otel_llmcost package to measure (e.g. `git archive HEAD otel_llmcost` "
        "unpacked), instead of the working tree",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--floor-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.calls, args.floor_file)))
        return
    if args.setup:
        setup(args.targets)
        return

    # The floor's attributes come from otel-llmcost's span (this venv).
    source = str(Path(args.otel_llmcost_src).resolve()) if args.otel_llmcost_src else None
    reference = run_child("floor", 0, None, source)
    if "error" in reference:
        raise SystemExit("\n".join(reference["error"]))
    floor_file = Path(tempfile.mkdtemp()) / "floor.json"
    floor_file.write_text(json.dumps(reference["floor"]))

    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in args.targets}
    for round_ in range(args.rounds):
        for name in args.targets:
            started = time.monotonic()
            result = run_child(name, args.calls, str(floor_file), source)
            runs[name].append(result)
            status = "error" if "error" in result else f"{time.monotonic() - started:.0f} s"
            print(f"round {round_ + 1}/{args.rounds} {name}: {status}", file=sys.stderr, flush=True)

    keys = ("sdk_call_us", "floor_us", "tool_us", "ratio", "sdk_chunk_us", "floor_chunk_us", "tool_chunk_us",
            "stream_call_floor_us", "stream_call_tool_us")  # fmt: skip
    summary: dict[str, Any] = {}
    for name, results in runs.items():
        good = [r for r in results if "error" not in r]
        if not good:
            summary[name] = {"error": results[0]["error"]}
            continue
        last = good[-1]
        chat_spans = last["chat_spans"]
        stream = last["stream"]
        summary[name] = {
            **{key: statistics.median(r["results"][key] for r in good) for key in keys},
            "rounds": len(good),
            "versions": last["versions"],
            "configured": last["configured"],
            "patched": last["patched"],
            "spans_when_off": last["spans_when_off"],
            "chat_spans": [(s["name"], len(s["attributes"])) for s in chat_spans],
            "chat_cost": _cost_attributes(chat_spans),
            "stream_cost": _cost_attributes(stream["spans"]),
            "stream": {k: v for k, v in stream.items() if k != "spans"},
            "stream_spans": [(s["name"], len(s["attributes"])) for s in stream["spans"]],
        }
    if args.json:
        Path(args.json).write_text(
            json.dumps({"summary": summary, "runs": runs, "floor": reference["floor"]}, indent=1)
        )

    floor_attributes = len(reference["floor"]["start"]) + len(reference["floor"]["end"])
    print(f"otel-llmcost measured from {reference['otel_llmcost_from']}")
    print(f"{args.calls} calls per variant and {max(args.calls // 4, 50)} streams of {SHORT} and {LONG} chunks, "
          f"{args.rounds} round(s); CPU time, medians; floor = bare span with otel-llmcost's {floor_attributes} attributes")  # fmt: skip
    header = (f"{'target':22} {'openai':8} {'otel-sdk':8} {'SDK call':>9} {'floor':>7} {'added':>8} {'ratio':>6} "
              f"{'SDK/chunk':>9} {'floor/ch':>8} {'added/ch':>8} {'cost attr':>9} {'stream span ends':>28}")  # fmt: skip
    print(header)
    for name, row in summary.items():
        if "error" in row:
            print(f"{name:22} ERROR: {row['error'][-1]}")
            continue
        stream = row["stream"]
        ends = (
            f"exh {stream['spans_ended_when_exhausted']} close {stream['spans_ended_first_chunk_then_close']}"
            f" gc {stream['spans_ended_first_chunk_then_abandoned_gc']}"
        )
        print(
            f"{name:22} {row['versions'].get('openai', '?'):8} {row['versions'].get('opentelemetry-sdk', '?'):8} "
            f"{row['sdk_call_us']:7.0f}us {row['floor_us']:5.0f}us {row['tool_us']:6.0f}us {row['ratio']:5.2f}x "
            f"{row['sdk_chunk_us']:7.1f}us {row['floor_chunk_us']:6.2f}us {row['tool_chunk_us']:6.2f}us "
            f"{'yes' if row['chat_cost'] else 'no':>9} {ends:>28}"
        )
    print("versions:")
    for name, row in summary.items():
        if "error" not in row:
            print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in row["versions"].items()))
    print("spans and cost attributes:")
    for name, row in summary.items():
        if "error" not in row:
            print(f"  {name}: chat spans {row['chat_spans']}, stream spans {row['stream_spans']}, "
                  f"off-state spans {row['spans_when_off']}, cost {row['chat_cost'] or '-'}, stream cost {row['stream_cost'] or '-'}")  # fmt: skip


if __name__ == "__main__":
    main()

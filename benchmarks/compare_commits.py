"""The OpenAI (or Anthropic) hot path of the working tree against another commit's, in one process.

instrumentation_bench.py's ratio to the floor moves by up to about 0.13x between runs of its 2,000
calls on this VM (+-0.2x at 600), more than most single changes to the hot path. Here both versions
run in the same process, taking turns call by call with the bare SDK call and the floor, so drift hits
them alike: the figure to read is ``tree / base``, the median over blocks of calls of what the tree
adds over what the base adds. The same commit on both sides (``--base HEAD`` with a clean tree) gives 0.97-1.04 per
invocation: take the median of several.

The base is ``git archive``d into a temporary directory as ``otel_llmcost_base``, the working tree
copied there as ``otel_llmcost_tree``, and each version patches its own ``openai.OpenAI`` subclass
(both wrap the SDK's original ``request``), so neither sees the other.

    python benchmarks/compare_commits.py --base HEAD~3 [--calls 1500]

``--sdk anthropic`` compares the Messages call of instrumentation_bench.py instead (the SDK's own
tracing off), each version wrapping its own ``anthropic.Anthropic`` subclass the same way.

    python benchmarks/compare_commits.py --base HEAD --sdk anthropic

``--without fingerprint`` (or ``parameters``, ``pricing``; OpenAI only) replaces that step of the working tree's
hot path (the chat fast path, ``openai/fast_chat.py``) with its precomputed answer for this call,
so the span keeps every attribute: ``--base HEAD --without pricing`` bounds what making the pricing
step cheaper could save.

    python benchmarks/compare_commits.py --base HEAD --without pricing
"""

from __future__ import annotations

import argparse
import importlib
import io
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import openai  # noqa: E402
import wrapt  # noqa: E402
from instrumentation_bench import (  # noqa: E402
    CALL,
    CLAUDE_CALL,
    COMPLETION,
    _Endless,
    dropping_provider,
    floor_of,
    http_client,
    http_module,
    json_reply,
    split_span_attributes,
)
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

BASE_PACKAGE = "otel_llmcost_base"
TREE_PACKAGE = "otel_llmcost_tree"


def base_package(revision: str, into: Path) -> None:
    """``revision``'s otel_llmcost, importable as ``otel_llmcost_base`` from ``into``."""
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", revision, "otel_llmcost"], cwd=REPO, capture_output=True, check=True
        ).stdout
    except subprocess.CalledProcessError as error:
        sys.exit(f"git archive {revision} failed: {error.stderr.decode().strip()} (give a commit, tag or branch)")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "otel_llmcost").rename(into / BASE_PACKAGE)
    _rename(into / BASE_PACKAGE)


def tree_package(into: Path) -> None:
    """The working tree's otel_llmcost (uncommitted changes included), as ``otel_llmcost_tree``: both
    versions are then imported the same way, late and together, which matters here. Measuring the
    tree from the ``otel_llmcost`` imported at start-up put it at 1.01-1.08x of the same code."""
    shutil.copytree(REPO / "otel_llmcost", into / TREE_PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    _rename(into / TREE_PACKAGE)


def _rename(package: Path) -> None:
    name = re.compile(r"\botel_llmcost\b")
    for source in package.rglob("*.py"):
        source.write_text(name.sub(package.name, source.read_text()))


def client_class(package: str, tracer_provider: TracerProvider, sdk: Any = openai) -> type:
    """The SDK's client (``openai.OpenAI`` or ``anthropic.Anthropic``) whose ``request`` alone is
    wrapped by ``package``'s instrumentation."""
    core = importlib.import_module(f"{package}.instrumentation.core")
    adapter = importlib.import_module(f"{package}.instrumentation.{sdk.__name__}.client")
    original = vars(sdk._base_client.SyncAPIClient)["request"]
    wrapper = wrapt.FunctionWrapper(original, adapter.wrap_request(core.Telemetry(tracer_provider)))
    client = sdk.OpenAI if sdk is openai else sdk.Anthropic
    return type(f"_{package}", (client,), {"request": wrapper})


def sdk_setup(name: str) -> tuple[Any, Callable[[type], Any], Callable[[Any], object], str]:
    """(the SDK module, a client of a class on an endless mock wire, the call, the span's name)."""
    if name == "openai":
        reply = json_reply(COMPLETION)
        http = http_module("openai")

        def client(cls: type) -> Any:
            return cls(api_key="sk-bench", max_retries=0, http_client=http_client(http, _Endless(http, reply), False))

        return openai, client, lambda client: client.chat.completions.create(**CALL), "chat gpt-4o-mini"
    import anthropic
    from wire import claude_message, claude_usage, text_block

    usage = claude_usage(1200, 300, cache_read=1024, cache_5m=200)
    message = json_reply(claude_message("claude-haiku-4-5-20251001", [text_block("It left the depot.")], usage))
    http = http_module("anthropic")

    def claude_client(cls: type) -> Any:
        transport = http_client(http, _Endless(http, message), False)
        return cls(api_key="sk-ant-bench", max_retries=0, http_client=transport, open_telemetry=False)

    return anthropic, claude_client, lambda client: client.messages.create(**CLAUDE_CALL), "chat claude-haiku-4-5"


def without(step: str) -> None:
    """Replace ``step`` of the working tree's OpenAI chat fast path by its answer for ``CALL``."""
    core = importlib.import_module(f"{TREE_PACKAGE}.instrumentation.core")
    chat = importlib.import_module(f"{TREE_PACKAGE}.instrumentation.openai.chat")
    price_floats = importlib.import_module(f"{TREE_PACKAGE}.pricing.cost").price_floats
    new_usage = importlib.import_module(f"{TREE_PACKAGE}.pricing.types").new_usage

    if step == "pricing":
        answer = price_floats("gpt-4o-mini-2024-07-18", new_usage(1200, 300, 1024), "openai", "default")
        core.price_floats = lambda model, usage, provider, service_tier: answer  # type: ignore[assignment]
    elif step == "fingerprint":
        fingerprint = chat.fingerprint_of(CALL["messages"], None)
        chat.fingerprint_of = lambda messages, tools: fingerprint
    else:
        parameters: dict[str, Any] = {}
        tier = chat.parameters(CALL, parameters)
        chat.parameters = lambda body, attributes: attributes.update(parameters) or tier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare the working tree with (e.g. HEAD)")
    parser.add_argument("--calls", type=int, default=1500, help="timed calls per variant")
    parser.add_argument("--sdk", choices=("openai", "anthropic"), default="openai", help="whose call to compare")
    parser.add_argument(
        "--without",
        choices=("fingerprint", "parameters", "pricing"),
        help="replace this step of the working tree's hot path by its precomputed answer",
    )
    arguments = parser.parse_args()
    if arguments.without and arguments.sdk != "openai":
        parser.error("--without replaces steps of the OpenAI chat fast path: leave out --sdk anthropic")
    sdk, client, call, span_name = sdk_setup(arguments.sdk)

    with tempfile.TemporaryDirectory() as directory:
        base_package(arguments.base, Path(directory))
        tree_package(Path(directory))
        sys.path.insert(0, directory)
        tracer_provider = dropping_provider()
        bare_class = sdk.OpenAI if sdk is openai else sdk.Anthropic
        bare = client(type("_Bare", (bare_class,), {"request": vars(sdk._base_client.SyncAPIClient)["request"]}))
        tree, base = (
            client(client_class(TREE_PACKAGE, tracer_provider, sdk)),
            client(client_class(BASE_PACKAGE, tracer_provider, sdk)),
        )

        # Both must record the same span (else the comparison is of different work), and the floor sets it by hand.
        recorded = []
        for package in (TREE_PACKAGE, BASE_PACKAGE):
            exporter = InMemorySpanExporter()
            probe = TracerProvider()
            probe.add_span_processor(SimpleSpanProcessor(exporter))
            call(client(client_class(package, probe, sdk)))
            span = exporter.get_finished_spans()[-1]
            recorded.append((span.name, dict(span.attributes)))
        if recorded[0] != recorded[1]:
            differing = set(recorded[0][1].items()) ^ set(recorded[1][1].items())
            print(f"note: the two versions record different spans ({sorted(differing)[:6]}...)")
        start, end = split_span_attributes(recorded[0][1])
        if arguments.without:
            without(arguments.without)
        floor = floor_of(tracer_provider.get_tracer("floor"), lambda: call(bare), start, end, name=span_name)

        variants: dict[str, Callable[[], object]] = {
            "bare": lambda: call(bare),
            "floor": floor,
            "base": lambda: call(base),
            "tree": lambda: call(tree),
        }
        times: dict[str, list[int]] = {name: [] for name in variants}
        order = list(variants)
        for turn in range(arguments.calls):
            # base and tree swap places every turn: neither always runs right after the floor.
            for name in order if turn % 2 else [*order[:2], *order[:1:-1]]:
                started = time.process_time_ns()
                variants[name]()
                times[name].append(time.process_time_ns() - started)
            if (turn + 1) % 500 == 0:
                print(f"  {turn + 1}/{arguments.calls} calls", file=sys.stderr)

    block = 50

    def added(name: str) -> list[float]:
        return [
            statistics.median(times[name][first : first + block])
            - statistics.median(times["bare"][first : first + block])
            for first in range(0, arguments.calls - block + 1, block)
        ]

    floor_added, base_added, tree_added = added("floor"), added("base"), added("tree")
    median = statistics.median
    print(f"{sdk.__name__} {sdk.__version__}, {arguments.calls} calls per variant, medians over blocks of {block}")
    print(f"  {'SDK call alone (CPU)':32} {median(times['bare']) / 1000:8.1f} us")
    print(f"  {'floor adds':32} {median(floor_added) / 1000:8.1f} us")
    tree_label = f"working tree without {arguments.without}" if arguments.without else "working tree"
    for label, values in ((f"base ({arguments.base})", base_added), (tree_label, tree_added)):
        ratio = median(ours / floor for ours, floor in zip(values, floor_added, strict=True))
        print(f"  {label:32} {median(values) / 1000:8.1f} us = {ratio:.2f}x the floor")
    print(f"  {'tree / base':32} {median(t / b for t, b in zip(tree_added, base_added, strict=True)):8.3f}")


if __name__ == "__main__":
    main()

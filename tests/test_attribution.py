"""``attributes(...)`` as a block and as a decorator, sync and async."""

from __future__ import annotations

import asyncio
import inspect

from otel_llmcost import semconv as sc
from otel_llmcost.attribution import attributes, current_attributes


def team() -> str | None:
    return current_attributes().get(sc.LLMCOST_TEAM)


def test_blocks_nest_and_restore():
    with attributes(team="support", feature="answer"):
        with attributes(team="billing"):
            assert team() == "billing"
            assert current_attributes()[sc.LLMCOST_FEATURE] == "answer"
        assert team() == "support"
    assert team() is None


def test_any_keyword_is_an_extra_attribute_self_too():
    # attributes(self=...) raised TypeError (got multiple values for argument 'self')
    with attributes(self="on-call", region="eu"):
        found = current_attributes()
    assert found[sc.LLMCOST_EXTRA_PREFIX + "self"] == "on-call"
    assert found[sc.LLMCOST_EXTRA_PREFIX + "region"] == "eu"


def test_a_decorated_function_runs_inside_the_block():
    @attributes(team="support")
    def answer() -> str | None:
        return team()

    assert answer() == "support"
    assert team() is None


def test_a_decorated_async_function_runs_inside_the_block_each_time_it_is_awaited():
    # A contextmanager-based decorator exits before the coroutine runs: the calls had no attribution.
    @attributes(team="support")
    async def answer(delay: float) -> str | None:
        await asyncio.sleep(delay)
        return team()

    @attributes(team="billing")
    async def invoice() -> str | None:
        await asyncio.sleep(0)
        return team()

    async def main() -> list[str | None]:
        return list(await asyncio.gather(answer(0.01), invoice(), answer(0), invoice()))

    assert asyncio.run(main()) == ["support", "billing", "support", "billing"]
    assert team() is None


def test_decorated_generators_run_each_step_inside_the_block_and_the_caller_outside_it():
    # Streaming handlers (FastAPI's async def ... yield) are generators: a plain wrapper returned the
    # generator before its body ran, outside the block.
    @attributes(team="support")
    def answer(count: int):
        received = yield team()
        for _ in range(count):
            received = yield (team(), received)
        return "done"

    @attributes(team="billing")
    async def invoice():
        yield team()
        await asyncio.sleep(0)
        yield team()

    generator = answer(2)
    assert inspect.isgeneratorfunction(answer) and inspect.isasyncgenfunction(invoice)
    assert next(generator) == "support"
    assert team() is None  # between steps the caller's own context holds
    assert generator.send("a") == ("support", "a")
    assert generator.send("b") == ("support", "b")
    try:
        generator.send(None)
    except StopIteration as stop:
        assert stop.value == "done"

    async def main() -> list[str | None]:
        seen = [item async for item in invoice()]
        seen.append(team())
        return seen

    assert asyncio.run(main()) == ["billing", "billing", None]


def test_an_exception_thrown_into_a_decorated_generator_reaches_its_body_inside_the_block():
    @attributes(team="support")
    def answer():
        try:
            yield "first"
        except KeyError:
            yield f"recovered in {team()}"

    generator = answer()
    next(generator)
    assert generator.throw(KeyError("x")) == "recovered in support"
    generator.close()
    assert team() is None


def test_one_block_object_open_in_many_tasks_at_once_keeps_each_tasks_attribution_apart():
    # A module-level block object used by concurrent request handlers: each task enters and leaves
    # it on its own, and after leaving sees no attribution.
    support = attributes(team="support")

    async def handler(delay: float) -> tuple[str | None, str | None]:
        with support:
            await asyncio.sleep(delay)
            inside = team()
        return inside, team()

    async def main() -> list[tuple[str | None, str | None]]:
        return list(await asyncio.gather(handler(0.02), handler(0), handler(0.01)))

    assert asyncio.run(main()) == [("support", None)] * 3
    with support:
        with support:
            assert team() == "support"
        assert team() == "support"
    assert team() is None


def test_baggage_sets_attribution_only_never_the_librarys_own_attributes():
    # An upstream service's baggage header may carry any key: only attribution is taken from it.
    from opentelemetry import baggage, context

    ctx = context.get_current()
    for key, value in {
        sc.LLMCOST_TEAM: "support",
        "llmcost.attr.region": "eu",
        sc.LLMCOST_PROMPT_FINGERPRINT: "0000000000000000",
        sc.LLMCOST_TOKENS_ESTIMATED: "true",
        sc.LLMCOST_COST_UNPRICED: "true",
    }.items():
        ctx = baggage.set_baggage(key, value, ctx)

    assert current_attributes(ctx) == {sc.LLMCOST_TEAM: "support", "llmcost.attr.region": "eu"}


def test_what_a_decorated_generator_opens_across_a_yield_stays_open_for_its_later_steps():
    # A streaming handler that opens a block and a span of its own around its yields, as it may in a
    # plain generator: each step sees them, the caller's code between steps sees neither. Before, every
    # step started from the decorator's block alone, so after the first yield they were gone.
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("handler")

    def seen() -> tuple[str | None, str | None, str | None]:
        span = trace.get_current_span()
        name = getattr(span, "name", None) if span.get_span_context().is_valid else None
        return team(), current_attributes().get(sc.LLMCOST_FEATURE), name

    @attributes(team="support")
    def answer():
        with tracer.start_as_current_span("handler"), attributes(feature="answer"):
            yield seen()
            yield seen()
        yield seen()

    @attributes(team="support")
    async def answer_async():
        with tracer.start_as_current_span("handler"), attributes(feature="answer"):
            yield seen()
            await asyncio.sleep(0)
            yield seen()
        yield seen()

    inside, after = ("support", "answer", "handler"), ("support", None, None)
    steps = []
    for step in answer():
        steps.append(step)
        assert seen() == (None, None, None)  # the caller, between steps
    assert steps == [inside, inside, after]

    async def main() -> list[tuple[str | None, str | None, str | None]]:
        taken = []
        async for step in answer_async():
            taken.append(step)
            assert seen() == (None, None, None)
        return taken

    assert asyncio.run(main()) == [inside, inside, after]


def test_a_providers_request_context_holds_the_attribution_out_of_the_baggage():
    from opentelemetry import baggage, context

    from otel_llmcost.attribution import for_provider

    token = context.attach(baggage.set_baggage("tenant.region", "eu"))
    try:
        with attributes(team="support", customer="c-042", ticket="T-9"):
            outbound = for_provider()
            # what a propagator would send: the program's own entry only
            assert dict(baggage.get_all(outbound)) == {"tenant.region": "eu"}
            # what otel-llmcost records inside the request: the attribution, as outside it
            assert current_attributes(outbound) == current_attributes() == {
                sc.LLMCOST_TEAM: "support",
                sc.LLMCOST_CUSTOMER: "c-042",
                sc.LLMCOST_EXTRA_PREFIX + "ticket": "T-9",
            }
        assert for_provider() is context.get_current()  # nothing to hold out: the same context
    finally:
        context.detach(token)


def test_blocks_closed_out_of_order_leave_nothing_behind():
    outer, inner = attributes(team="A"), attributes(feature="B")
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # before the block opened inside it (request hooks, say)
    assert current_attributes()[sc.LLMCOST_FEATURE] == "B"
    inner.__exit__(None, None, None)
    assert current_attributes() == {}  # {"llmcost.team": "A"} before


def test_an_enum_value_is_recorded_as_its_value_and_an_empty_name_is_refused(caplog):
    import enum

    class Team(str, enum.Enum):
        SUPPORT = "support"

    with attributes(team=Team.SUPPORT, **{"": "x"}):
        assert current_attributes() == {sc.LLMCOST_TEAM: "support"}  # "Team.SUPPORT" before
    assert "empty attribute name" in caplog.text


def test_instrument_refuses_a_provider_class_with_the_fix():
    import pytest
    from opentelemetry.sdk.trace import TracerProvider

    import otel_llmcost

    with pytest.raises(TypeError, match=r"got the class TracerProvider: pass TracerProvider\(\)"):
        otel_llmcost.instrument(tracer_provider=TracerProvider)


def test_baggage_entries_that_are_not_text_are_none_of_ours():
    # OpenTelemetry's API takes them (a key 42, a value whose str() raises): every SDK call raised before.
    from opentelemetry import baggage, context

    from otel_llmcost.attribution import for_provider

    class NoText:
        def __str__(self):
            raise ValueError("no text")

    ctx = baggage.set_baggage(42, "x", baggage.set_baggage("llmcost.team", NoText()))
    ctx = baggage.set_baggage(sc.LLMCOST_FEATURE, "answer", ctx)
    assert current_attributes(ctx) == {sc.LLMCOST_FEATURE: "answer"}
    outbound = for_provider(ctx)
    assert sc.LLMCOST_FEATURE not in baggage.get_all(outbound) and 42 in baggage.get_all(outbound)
    assert current_attributes(outbound) == {sc.LLMCOST_FEATURE: "answer"}
    token = context.attach(ctx)
    try:
        with attributes(team="support"):
            assert team() == "support"
    finally:
        context.detach(token)


def test_attribution_too_big_for_w3c_baggage_is_said_once_a_key(caplog, monkeypatch):
    # The propagator drops an entry over W3C's 4,096 bytes (as it encodes it: a space is one byte, a slash
    # three): the attribution reached this process's spans but no service downstream, and attributes() said
    # nothing
    import logging

    from opentelemetry.baggage.propagation import W3CBaggagePropagator

    from otel_llmcost import attribution

    monkeypatch.setattr(attribution, "_said_too_big", set())

    def sent(**values: str) -> str:
        headers: dict[str, str] = {}
        with attributes(**values):
            W3CBaggagePropagator().inject(headers)
        return headers.get("baggage", "")

    with caplog.at_level(logging.WARNING, logger="otel_llmcost"):
        assert "llmcost.feature" in sent(team="ok", feature="ab " * 1000)  # 3,000 bytes encoded: it fits
        assert not caplog.records
        for _ in range(2):
            assert "llmcost.team" not in sent(team="t" * 5000, feature="checkout")
        assert "gen_ai.prompt.name" not in sent(prompt_name="a/" * 1500)  # 6,000 bytes encoded
    said = [record.getMessage() for record in caplog.records if record.name == "otel_llmcost.attribution"]
    assert len(said) == 2, said
    assert "the baggage entry 'llmcost.team' is 5013 bytes" in said[0]
    assert "the baggage entry 'gen_ai.prompt.name' is 6019 bytes" in said[1]

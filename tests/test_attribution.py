"""``attributes(...)`` as a block and as a decorator, sync and async."""

from __future__ import annotations

import asyncio

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

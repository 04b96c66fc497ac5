"""Property: any interleaving of asyncio tasks entering one shared ``sigopt.run`` spec, nested, with
``with`` or ``async with``, some blocks raising: each block gets and ends its own run, and each task
always sees its own innermost run as the current one."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import sigopt_ai as sigopt


class Boom(Exception):
    """Raised by a block that is meant to fail."""


# A block: (async with?, ticks to wait inside, raises?, nested blocks).
Block = tuple[bool, int, bool, tuple[Any, ...]]
blocks = st.recursive(
    st.tuples(st.booleans(), st.integers(0, 3), st.booleans(), st.just(())),
    lambda inner: st.tuples(st.booleans(), st.integers(0, 3), st.booleans(), st.lists(inner, max_size=2).map(tuple)),
    max_leaves=4,
)


Seen = list[tuple[sigopt.RunContext, bool]]


async def run_block(spec: sigopt.RunSpec, block: Block, outer: sigopt.RunContext | None, seen: Seen) -> None:
    use_async, ticks, raises, children = block

    async def body(run: sigopt.RunContext) -> None:
        assert run is not outer and sigopt.current_run() is run
        for _ in range(ticks):
            await asyncio.sleep(0)  # let the other tasks enter and leave in between
            assert sigopt.current_run() is run
        for child in children:
            try:
                await run_block(spec, child, run, seen)
            except Boom:
                pass
            assert sigopt.current_run() is run
        seen.append((run, raises))
        if raises:
            raise Boom

    if use_async:
        async with spec as run:
            await body(run)
    else:
        with spec as run:
            await body(run)


@given(programs=st.lists(blocks, min_size=1, max_size=4))
def test_interleaved_tasks_each_get_and_end_their_own_runs(programs: list[Block]) -> None:
    spec = sigopt.run(name="shared")
    seen: Seen = []

    async def task(block: Block) -> None:
        try:
            await run_block(spec, block, None, seen)
        except Boom:
            pass
        assert sigopt.current_run(silent=True) is None

    async def main() -> None:
        await asyncio.gather(*(task(block) for block in programs))

    asyncio.run(main())
    assert len({id(run) for run, _ in seen}) == len(seen)
    for run, raised in seen:
        expected = sigopt.RunState.FAILED if raised else sigopt.RunState.COMPLETED
        assert run.state is expected
    assert spec._open == []  # every block left its own run

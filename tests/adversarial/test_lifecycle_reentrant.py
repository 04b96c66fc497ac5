"""One ``spec = sigopt.run(...)``, or one decorated function, used from many threads and tasks at once.

Each ``with`` block or call makes its own run and ends that run, whatever the other threads and tasks
do in between; the current run of each thread or task is its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

import sigopt_ai as sigopt

N = 8


def run_threads(target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(k)`` in N threads; re-raise the first exception any of them raised."""
    results: list[Any] = [None] * N
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            results[k] = target(k)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def assert_own_completed_runs(run_ids: list[str]) -> None:
    assert len(set(run_ids)) == N
    for k, run_id in enumerate(run_ids):
        record = sigopt.get_run(run_id)
        assert record.state is sigopt.RunState.COMPLETED, record
        assert record.metrics == {"k": k}


def test_one_spec_entered_by_overlapping_threads() -> None:
    spec = sigopt.run(name="shared")
    barrier = threading.Barrier(N, timeout=30)

    def body(k: int) -> str:
        with spec as run:
            barrier.wait()  # every thread is inside its block
            run.log_metric("k", k)
            assert sigopt.current_run() is run
            barrier.wait()
        # Threads leave in an order unrelated to the order they entered.
        assert sigopt.current_run(silent=True) is None
        return run.id

    assert_own_completed_runs(run_threads(body))


def test_one_spec_entered_by_overlapping_threads_leaving_in_reverse_order() -> None:
    spec = sigopt.run(name="shared")
    entered = threading.Barrier(N, timeout=30)
    turns = [threading.Event() for _ in range(N)]

    def body(k: int) -> str:
        with spec as run:
            entered.wait()
            sigopt.log_metric("k", k)
            turns[k].wait(timeout=30)  # the last thread to enter... leaves first
        if k > 0:
            turns[k - 1].set()
        return run.id

    turns[N - 1].set()
    assert_own_completed_runs(run_threads(body))


@pytest.mark.parametrize("style", ["async with", "with"])
def test_one_spec_entered_by_concurrent_tasks(style: str) -> None:
    spec = sigopt.run(name="shared")

    async def body(k: int, started: asyncio.Event, count: list[int]) -> str:
        async def inside(run: sigopt.RunContext) -> None:
            count[0] += 1
            if count[0] == N:
                started.set()
            await started.wait()  # every task is inside its block
            await asyncio.sleep(0.001 * k)  # and they leave in the order they entered
            assert sigopt.current_run() is run
            sigopt.log_metric("k", k)

        if style == "async with":
            async with spec as run:
                await inside(run)
        else:
            with spec as run:
                await inside(run)
        assert sigopt.current_run(silent=True) is None
        return run.id

    async def main() -> list[str]:
        started, count = asyncio.Event(), [0]
        return list(await asyncio.gather(*(body(k, started, count) for k in range(N))))

    assert_own_completed_runs(asyncio.run(main()))


def test_nested_use_of_one_spec_makes_two_runs_and_restores_the_outer() -> None:
    spec = sigopt.run(name="nested")
    with spec as outer:
        with spec as inner:
            assert inner is not outer and sigopt.current_run() is inner
            inner.log_metric("k", 1)
        assert inner.state is sigopt.RunState.COMPLETED
        assert outer.state is sigopt.RunState.ACTIVE and sigopt.current_run() is outer
        outer.log_metric("k", 0)
    assert outer.state is sigopt.RunState.COMPLETED
    assert sigopt.get_run(outer.id).metrics == {"k": 0} and sigopt.get_run(inner.id).metrics == {"k": 1}


def test_a_failure_in_one_thread_fails_only_its_own_run() -> None:
    spec = sigopt.run(name="shared")
    barrier = threading.Barrier(N, timeout=30)
    ids: list[str] = [""] * N

    def body(k: int) -> None:
        try:
            with spec as run:
                ids[k] = run.id
                barrier.wait()
                if k % 2:
                    raise MemoryError("odd")
                run.log_metric("k", k)
        except MemoryError:
            pass

    run_threads(body)
    for k, run_id in enumerate(ids):
        record = sigopt.get_run(run_id)
        if k % 2:
            assert record.failure is not None and record.failure.kind is sigopt.FailureKind.OOM
        else:
            assert record.state is sigopt.RunState.COMPLETED and record.metrics == {"k": k}


def test_a_decorated_function_called_from_overlapping_threads() -> None:
    barrier = threading.Barrier(N, timeout=30)

    @sigopt.run(metric="k")
    def train(k: int) -> int:
        barrier.wait()
        sigopt.log_metadata("thread", threading.current_thread().name)
        return k

    assert run_threads(train) == list(range(N))  # return values pass through
    records = [r for r in sigopt.list_runs() if r.name == "train"]
    assert len(records) == N
    assert sorted(r.metrics["k"] for r in records) == list(range(N))
    assert sorted(r.params["k"] for r in records) == list(range(N))
    assert len({r.metadata["thread"] for r in records}) == N
    assert all(r.state is sigopt.RunState.COMPLETED for r in records)


def test_an_async_decorated_function_gathered() -> None:
    @sigopt.run(metric="k")
    async def train(k: int) -> int:
        await asyncio.sleep(0.001 * (N - k))
        assert sigopt.current_run().params["k"] == k
        return k

    async def main() -> list[int]:
        return list(await asyncio.gather(*(train(k) for k in range(N))))

    assert asyncio.run(main()) == list(range(N))
    records = [r for r in sigopt.list_runs() if r.name == "train"]
    assert sorted(r.metrics["k"] for r in records) == list(range(N))
    assert all(r.state is sigopt.RunState.COMPLETED for r in records)

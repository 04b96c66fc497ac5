"""Leases under faults, in real processes: no suggestion served twice to live workers, no finished run dropped."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

import sigopt_ai as sigopt
from sigopt_ai._models import ExperimentRecord
from sigopt_ai.backends import Backend, make_backend
from sigopt_ai.backends.sql import _serving
from sigopt_ai.experiments._progress import ProgressLine
from sigopt_ai.optimizer import Snapshot, SuggestionService
from tests.conftest import spawn_python

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``benchmarks`` is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.fault_workers import run_once  # noqa: E402


def create(budget: int, lease_timeout: float, type: str = "random") -> sigopt.Experiment:
    return sigopt.create_experiment(
        name="leases",
        parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
        metrics=[dict(name="y", objective="minimize")],
        budget=budget,
        lease_timeout=lease_timeout,
        type=type,
    )


@pytest.mark.slow
def test_eight_workers_with_two_killed_serve_nothing_twice_and_drop_no_run(tmp_path: Path) -> None:
    # Bayesian suggestions (a GP fit per suggestion, scipy imported on the first) in 8 processes: the
    # work that used to run under the write lock and starve the live workers' heartbeats.
    figures = run_once(tmp_path / "workers.db", workers=8, budget=24, lease=3.0, kills=2, seed=1)
    assert figures["worker_errors"] == [] and figures["killed"] == 2
    assert figures["overlaps"] == 0, "a suggestion was served to a second worker while the first was alive"
    assert figures["orphans"] == 0, "a completed run has no observation"
    assert figures["lost"] == 0, "a run a live worker finished is not stored as completed and observed"
    assert figures["budget_exact"], figures


class ScriptedService(SuggestionService):
    """Suggestions from a function of the store's snapshot, as a strategy's would be: a worker of its own."""

    def __init__(self, suggest: Callable[[Snapshot], dict[str, float]]) -> None:
        super().__init__()
        self._suggest = suggest

    def suggest(self, experiment: ExperimentRecord, snapshot: Snapshot) -> dict[str, float]:
        return self._suggest(snapshot)


def worker(store: Path, suggest: Callable[[Snapshot], dict[str, float]]) -> Backend:
    """Another worker's backend on the same store, whose strategy is ``suggest``."""
    return make_backend(str(store), service=ScriptedService(suggest))


def hold_write_lock(db: Path, seconds: float, held: threading.Event) -> threading.Thread:
    """Another connection holds SQLite's write lock for ``seconds`` (as a busy writer of another process would)."""

    def hold() -> None:
        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(seconds)
            conn.execute("COMMIT")

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_a_lease_granted_after_a_long_wait_for_the_lock_is_not_born_expired(store: Path) -> None:
    exp = create(budget=2, lease_timeout=1.5)
    exp.observe(exp.suggest(), values={"y": 1.0})  # the store and its schema exist
    held = threading.Event()
    holder = hold_write_lock(store, 3.0, held)
    held.wait()
    # A worker's serve waits 3 s for the lock, longer than the 1.5 s lease; its run has not started yet,
    # so only the lease's own start time keeps it.
    served = worker(store, lambda _: {"x": 0.5}).serve_suggestion(exp.id, run_id="waiting-worker")
    holder.join()
    assert served is not None
    assert exp.progress.active == 1, "the lease expired the moment it was granted"


def test_another_process_writes_while_a_suggestion_is_computed(store: Path) -> None:
    exp = create(budget=2, lease_timeout=60.0)
    exp.observe(exp.suggest(), values={"y": 1.0})
    wrote = []

    def suggest_while_a_heartbeat_is_written(_: Snapshot) -> dict[str, float]:
        # A heartbeat of another worker, written with a short busy timeout: it fails if serve()
        # holds the write lock while the strategy runs.
        with closing(sqlite3.connect(store, timeout=0.5, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE runs SET heartbeat = ? WHERE id = 'someone'", (time.time(),))
            conn.execute("COMMIT")
        wrote.append(True)
        return {"x": 0.5}

    served = worker(store, suggest_while_a_heartbeat_is_written).serve_suggestion(exp.id, run_id=None)
    assert wrote == [True] and served is not None and dict(served.assignments) == {"x": 0.5}


# A worker that stalls: alive and writing, but its heartbeats stop (a partitioned or frozen worker)
# until the test tells it to finish. SIGSTOP would stall it the same way, but could stop it inside a
# write transaction and so hold the store's lock for every other process.
WORKER = """
    import json, os, time, sigopt_ai as sigopt
    from sigopt_ai.runs._session import get_session
    exp = sigopt.get_experiment("{eid}")
    for run in exp.loop(progress=False):
        with run:
            client = get_session()
            beat, client.heartbeat_interval = client.heartbeat_interval, float("inf")
            print(json.dumps({{"run": run.id, "params": dict(run.params)}}), flush=True)
            while not os.path.exists({finish!r}):  # the test says when to finish
                time.sleep(0.05)
            client.heartbeat_interval = beat
            run.log_metric("y", 0.25)
    print("done", flush=True)
"""


def child_env(db: Path) -> dict[str, str]:
    return {"SIGOPT_AI_DB": str(db), "SIGOPT_AI_FLUSH_INTERVAL": "0.05", "SIGOPT_PROJECT": "leases"}


def test_a_worker_declared_lost_that_finishes_after_all_is_observed_and_keeps_its_real_end(
    store: Path, tmp_path: Path
) -> None:
    exp = create(budget=1, lease_timeout=1.0)
    finish = tmp_path / "finish"
    stalled = spawn_python(WORKER.format(eid=exp.id, finish=str(finish)), env=child_env(store))
    first = json.loads(stalled.stdout.readline())  # type: ignore[union-attr]
    try:
        deadline = time.time() + 30
        while exp.progress.active and time.time() < deadline:  # reading the progress expires the silent lease
            time.sleep(0.2)
        loop = exp.loop(progress=False)
        second = next(loop)  # the only suggestion, served again
        assert dict(second.params) == first["params"]
    finally:
        finish.touch()
    deadline = time.time() + 30
    while not exp.observations() and time.time() < deadline:  # the resumed worker reports its result
        time.sleep(0.1)
    with second:
        second.log_metric("y", 0.5)
    assert list(loop) == []
    out, err = stalled.communicate(timeout=60)
    assert stalled.returncode == 0 and "done" in out, err

    first_obs, second_obs = exp.observations()
    assert (first_obs.run, first_obs.values, first_obs.extra) == (first["run"], {"y": 0.25}, False)
    assert (second_obs.run, second_obs.values, second_obs.extra) == (second.id, {"y": 0.5}, True)
    progress = exp.progress
    assert (progress.finished, progress.extra, progress.remaining) == (1, 1, 0)  # the budget counts suggestions
    assert "1/1 done" in ProgressLine(exp).render() and "1 extra" in ProgressLine(exp).render()
    lost = sigopt.get_run(first["run"])
    assert lost.state is sigopt.RunState.COMPLETED and lost.failure is None  # its real end replaced "lost"


@pytest.mark.timeout(60)
def test_the_loop_ends_with_advice_when_manual_suggestions_hold_the_rest_of_the_budget() -> None:
    exp = create(budget=3, lease_timeout=1.0)
    exp.observe(exp.suggest(), values={"y": 1.0})
    held = [exp.suggest(), exp.suggest()]  # never observed: no run holds them, no lease expires
    with pytest.warns(RuntimeWarning, match=r"held by 2 suggestion\(s\) from suggest\(\).*exp\.observe") as caught:
        assert list(exp.loop(progress=False)) == []
    assert all(s.id in str(caught[0].message) for s in held)
    for suggestion in held:
        exp.observe(suggestion, failed=True)
    assert exp.is_finished()


def racing_worker(store: Path, exp: sigopt.Experiment, races: int, seconds: float) -> tuple[list[int], Backend]:
    """A worker whose strategy takes ``seconds``, during whose first ``races`` calls another worker inserts
    a suggestion; and the indexes its strategy was called at."""
    indexes: list[int] = []
    competitor = worker(store, lambda _: {"x": 0.9})

    def suggest(snapshot: Snapshot) -> dict[str, float]:
        indexes.append(snapshot.index)
        time.sleep(seconds)
        if len(indexes) <= races:  # another worker wins the race meanwhile
            competitor.serve_suggestion(exp.id, run_id=None)
        return {"x": len(indexes) / 100}

    return indexes, worker(store, suggest)


def test_a_suggestion_raced_by_another_worker_is_computed_again_from_the_new_state(store: Path) -> None:
    exp = create(budget=None, lease_timeout=60.0)  # type: ignore[arg-type]
    indexes, racer = racing_worker(store, exp, races=1, seconds=0)
    served = racer.serve_suggestion(exp.id, run_id=None)
    assert indexes == [0, 1]  # the second computation saw the competitor's suggestion
    assert served is not None and dict(served.assignments) == {"x": 0.02}


def test_after_lost_races_a_slow_strategy_inserts_anyway_and_a_quick_one_continues_the_sequence(store: Path) -> None:
    slow_exp, quick_exp = create(budget=None, lease_timeout=60.0), create(budget=None, lease_timeout=60.0)  # type: ignore[arg-type]
    races = _serving.RACES + 5  # more than it tolerates
    slow_indexes, slow = racing_worker(store, slow_exp, races, seconds=2 * _serving.QUICK_SUGGESTION_S)
    served = slow.serve_suggestion(slow_exp.id, run_id=None)
    # A fit is never repeated under the lock: its last result is inserted, one insert behind.
    assert slow_indexes == list(range(_serving.RACES + 1))
    assert served is not None and dict(served.assignments) == {"x": (_serving.RACES + 1) / 100}

    quick_indexes, quick = racing_worker(store, quick_exp, _serving.RACES + 1, seconds=0)
    served = quick.serve_suggestion(quick_exp.id, run_id=None)
    # A quick strategy runs once more inside the lock, at the index the suggestion is inserted at.
    assert quick_indexes == list(range(_serving.RACES + 2))
    assert served is not None and dict(served.assignments) == {"x": (_serving.RACES + 2) / 100}

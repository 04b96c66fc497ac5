"""A tight logging loop against a healthy writer: the queue stays bounded (the producer waits for the
writer), nothing is spilled or lost, and the order of points is kept."""

from __future__ import annotations

import gc
import json
import threading
import time
from pathlib import Path

import sigopt_ai as sigopt
from sigopt_ai.runs import _session
from sigopt_ai.runs._writer import HIGH_WATER, Syncer
from tests.conftest import run_python


def test_a_tight_loop_waits_for_the_writer_instead_of_growing_the_queue() -> None:
    backend = _session.get_session().backend
    syncer = Syncer(backend, interval=0.05, flush_timeout=60, high_water=5_000)
    syncer.start()
    syncer.submit(("start", "tight", "tests", "tight", time.time(), None, None))
    largest = 0
    for i in range(100_000):
        syncer.submit(("metric", "tight", "loss", float(i), None, float(i)))
        largest = max(largest, syncer.in_memory)
    assert largest <= 5_000 + 1
    assert syncer.spooled == 0  # a healthy writer is waited for, never spilled around
    assert syncer.flush() and syncer.pending == 0
    assert [p.value for p in backend.metric_history("tight", "loss")] == [float(i) for i in range(100_000)]
    assert syncer.close()


def test_log_metric_in_a_tight_loop_keeps_memory_bounded() -> None:
    with sigopt.run() as run:
        syncer = _session.get_session().syncer
        largest = 0
        for i in range(250_000):
            run.log_metric("loss", i)
            if i % 1000 == 0:
                largest = max(largest, syncer.in_memory)
    assert largest <= HIGH_WATER + 1
    assert len(sigopt.metric_history(run.id, "loss")) == 250_000


def test_a_flush_marker_spilled_without_records_is_still_set() -> None:
    # A producer spills (its wait ran out) just after the writer took every record before another
    # thread's flush marker: only the marker moves to the spool, which holds no records.
    backend = _session.get_session().backend
    syncer = Syncer(backend, interval=0.05, flush_timeout=5)
    syncer.start()
    marker = threading.Event()
    syncer._queue.append(marker)
    syncer._spill()
    assert syncer.flush() and marker.wait(5)  # the other thread's flush() returns True, not after its timeout
    assert syncer.close()


def test_a_process_logging_a_million_points_in_a_tight_loop_never_queues_more_than_the_bound(store: Path) -> None:
    # A real process, as a user's training script: the producer waits for the writer instead of
    # growing the queue, and nothing is spilled or lost. Another thread samples the queue while the
    # loop runs, so that a peak between two of the producer's calls is seen too.
    result = run_python(
        """
        import json, threading
        import sigopt_ai as sigopt
        from sigopt_ai.runs._session import get_session

        points = 1_000_000
        syncer = get_session().syncer
        largest = {"pending": 0, "in_memory": 0}
        done = threading.Event()

        def sample():
            while not done.wait(0.001):
                largest["pending"] = max(largest["pending"], syncer.pending)
                largest["in_memory"] = max(largest["in_memory"], syncer.in_memory)

        with sigopt.run(name="tight") as run:
            sampler = threading.Thread(target=sample)
            sampler.start()
            for i in range(points):
                run.log_metric("x", float(i))
                if i % 1000 == 0:
                    largest["in_memory"] = max(largest["in_memory"], syncer.in_memory)
            done.set()
            sampler.join()
            flushed = sigopt.flush(300)
        print(json.dumps({
            **largest, "points": points, "flushed": flushed, "left": syncer.pending,
            "spooled": syncer.spooled, "high_water": syncer.high_water, "run": run.id,
        }))
        """,
        env={"SIGOPT_AI_DB": str(store)},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["high_water"] == HIGH_WATER
    bound = HIGH_WATER + 2  # the point that crossed the mark, and a heartbeat the writer may add
    assert 0 < seen["in_memory"] <= bound and seen["pending"] <= bound
    assert seen["spooled"] == 0 and seen["flushed"] and seen["left"] == 0
    history = sigopt.metric_history(seen["run"], "x")
    assert len(history) == seen["points"] and history[-1].value == seen["points"] - 1


def test_giving_memory_back_after_a_backlog_forces_no_garbage_collection() -> None:
    # A full collection holds the GIL while it walks every object of the process (a training
    # process's model and data too): the training thread would stall with the flush, for a few MB.
    backend = _session.get_session().backend
    syncer = Syncer(backend, interval=0.05, flush_timeout=60, high_water=1_000)
    syncer.start()
    collections: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.disable()  # only a collection someone asks for runs now
    gc.callbacks.append(record)
    try:
        syncer.submit(("start", "backlog", "tests", "backlog", time.time(), None, None))
        for i in range(5_000):  # past high_water: the producer waits, and memory goes back at the flush
            syncer.submit(("metric", "backlog", "loss", float(i), None, float(i)))
        assert syncer.flush()
    finally:
        gc.callbacks.remove(record)
        gc.enable()
    assert collections == []
    assert len(backend.metric_history("backlog", "loss")) == 5_000
    assert syncer.close()

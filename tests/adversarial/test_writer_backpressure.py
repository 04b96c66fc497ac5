"""A tight logging loop against a healthy writer: the queue stays bounded (the producer waits for the
writer), nothing is spilled or lost, and the order of points is kept."""

from __future__ import annotations

import threading
import time

import sigopt_ai as sigopt
from sigopt_ai.runs import _session as _client
from sigopt_ai.runs._writer import HIGH_WATER, Syncer


def test_a_tight_loop_waits_for_the_writer_instead_of_growing_the_queue() -> None:
    backend = _client.get_client().backend
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
        syncer = _client.get_client().syncer
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
    backend = _client.get_client().backend
    syncer = Syncer(backend, interval=0.05, flush_timeout=5)
    syncer.start()
    marker = threading.Event()
    syncer._queue.append(marker)
    syncer._spill()
    assert syncer.flush() and marker.wait(5)  # the other thread's flush() returns True, not after its timeout
    assert syncer.close()

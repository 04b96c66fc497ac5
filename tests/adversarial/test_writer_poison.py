"""One record the store cannot take must not jam the writer: it is split out of its batch, repaired or
kept as a dead letter, reported once, and every other record of the process is written.

The bad records are injected below validation (straight into the writer's queue or a ``Syncer``), so
these tests hold whatever the logging calls come to reject at the call.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai._exceptions import StoreError
from sigopt_ai._failures import FailureKind
from sigopt_ai._models import Op, RunState
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.runs import _session
from sigopt_ai.runs._writer import Syncer
from tests.conftest import run_python


def raw_failure(message: Any) -> dict[str, Any]:
    """A failure as a write operation carries it, built past FailureInfo's checks, as an older or
    buggy caller could hand the writer."""
    return {"kind": FailureKind.REPORTED.value, "type": None, "message": message, "traceback": None}


def start_op(run_id: str, name: str = "run") -> Op:
    return ("start", run_id, "tests", name, time.time(), None, None)


def metric_op(run_id: str, value: float) -> Op:
    return ("metric", run_id, "loss", value, None, time.time())


def dead_letters(run_id: str) -> list[dict[str, Any]]:
    return _session.get_session().backend.dead_letters(run_id)


def test_checkpoint_step_past_64_bits_is_a_dead_letter_and_the_rest_lands(caplog: pytest.LogCaptureFixture) -> None:
    client = _session.get_session()
    with caplog.at_level(logging.WARNING, logger="sigopt_ai"):
        with sigopt.run(name="before") as before:
            before.log_metric("loss", 1.0)
        with sigopt.run(name="poisoned") as run:
            run.log_metric("loss", 0.5)
            client.submit(("checkpoint", run.id, 2**63, {"loss": 0.5}, time.time()))
            run.log_checkpoint({"loss": 0.25}, step=3)
            run.log_metric("loss", 0.25)
        with sigopt.run(name="after") as after:
            after.log_metric("loss", 2.0)
        assert sigopt.flush()
    assert sigopt.get_run(before.id).metrics == {"loss": 1.0}
    record = sigopt.get_run(run.id)
    assert record.state is RunState.COMPLETED and record.metrics == {"loss": 0.25}
    assert [c.step for c in record.checkpoints] == [3]
    assert sigopt.get_run(after.id).metrics == {"loss": 2.0}
    (letter,) = dead_letters(run.id)
    assert letter["kind"] == "checkpoint" and str(2**63) in letter["record"] and "OverflowError" in letter["error"]
    warnings = [r.getMessage() for r in caplog.records if "cannot be stored" in r.getMessage()]
    assert len(warnings) == 1 and run.id in warnings[0] and "'checkpoint'" in warnings[0]


def test_a_run_name_with_a_lone_surrogate_is_stored_escaped() -> None:
    client = _session.get_session()
    run_id = uuid.uuid4().hex[:16]
    client.submit(start_op(run_id, "bad \ud800"))
    client.submit(metric_op(run_id, 0.5))
    client.submit(("end", run_id, RunState.COMPLETED, time.time()))
    assert sigopt.flush()
    record = sigopt.get_run(run_id)
    assert record.name == "bad \\ud800" and record.metrics == {"loss": 0.5}
    assert record.state is RunState.COMPLETED
    assert dead_letters(run_id) == [] and client.syncer.repaired == 1


def test_a_failure_message_utf8_cannot_encode_is_stored_escaped() -> None:
    client = _session.get_session()
    with sigopt.run() as run:
        client.submit(("failure", run.id, raw_failure("cannot open b'\\xff'.bin: \udcff.bin"), time.time()))
        run.log_metric("loss", 0.1)
    assert sigopt.flush()
    record = sigopt.get_run(run.id)
    assert record.state is RunState.FAILED and record.metrics == {"loss": 0.1}
    assert record.failure is not None and record.failure.message == "cannot open b'\\xff'.bin: \\udcff.bin"


def test_a_failure_the_driver_cannot_bind_is_set_aside_and_the_rest_of_the_run_lands() -> None:
    client = _session.get_session()
    with sigopt.run() as run:
        client.submit(("failure", run.id, raw_failure(("diverged", 120)), time.time()))
        run.log_metric("loss", 0.1)
    assert sigopt.flush()
    assert sigopt.get_run(run.id).metrics == {"loss": 0.1}
    assert [letter["kind"] for letter in dead_letters(run.id)] == ["failure"]


def test_a_record_that_is_not_repairable_goes_to_a_file_when_the_table_fails_too(store: Path) -> None:
    with sigopt.run() as run:
        run.log_metric("loss", 1.0)
    with closing(sqlite3.connect(store)) as conn:  # the dead_letters table refuses every row
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON dead_letters BEGIN SELECT RAISE(ABORT, 'refused'); END")
        conn.commit()
    client = _session.get_session()
    with sigopt.run() as run:
        client.submit(("metric", run.id, "loss", "not a number", None, time.time()))
        run.log_metric("loss", 0.75)
    assert sigopt.flush()
    assert [p.value for p in sigopt.metric_history(run.id, "loss")] == [0.75]
    lines = (store.parent / f"{store.name}.dead-letters.jsonl").read_text().splitlines()
    (letter,) = [json.loads(line) for line in lines]
    assert letter["run_id"] == run.id and letter["kind"] == "metric" and "not a number" in letter["record"]


def test_poison_in_a_real_process_exits_cleanly(store: Path) -> None:
    result = run_python(
        """
        import time, sigopt_ai as sigopt
        from sigopt_ai.runs import _session
        client = _session.get_session()
        ids = []
        for i in range(3):
            with sigopt.run(name=f"r{i}") as run:
                ids.append(run.id)
                for j in range(1000):
                    run.log_metric("j", j)
                    if i == 1 and j == 500:
                        client.submit(("checkpoint", run.id, 2**63, {"j": j}, time.time()))
                        client.submit(("start", "ffffffffffffffff", "tests", "bad \\ud800", time.time(), None, None))
        print(" ".join(ids))
        """,
        env={"SIGOPT_AI_DB": str(store), "SIGOPT_AI_FLUSH_TIMEOUT": "600"},
    )
    assert result.returncode == 0, result.stderr
    assert "could not be written" not in result.stderr
    assert result.stderr.count("cannot be stored") == 2, result.stderr
    for run_id in result.stdout.split():
        record = sigopt.get_run(run_id)
        assert record.state is RunState.COMPLETED and record.metrics == {"j": 999.0}
        assert len(sigopt.metric_history(run_id, "j")) == 1000
    assert sigopt.get_run("ffffffffffffffff").name == "bad \\ud800"


_GOOD = st.sampled_from(["metric", "checkpoint", "fields"])
_POISON = st.sampled_from(["step", "value", "unbindable", "no-run"])


def _good_op(kind: str, run_id: str, i: int) -> Op:
    if kind == "metric":
        return ("metric", run_id, "m", float(i), None, float(i))
    if kind == "checkpoint":
        return ("checkpoint", run_id, i, {"m": float(i)}, float(i))
    return ("fields", run_id, "metadata", {f"k{i}": i})


def _poison_op(kind: str, run_id: str) -> Op:
    if kind == "step":
        return ("checkpoint", run_id, -(2**63) - 1, {"m": 1.0}, 0.0)
    if kind == "value":
        return ("metric", run_id, "m", object(), None, 0.0)
    if kind == "unbindable":
        return ("checkpoint", run_id, 1, {"m": 1.0}, (1, 2))
    return ("metric", "no-such-run", "m", 1.0, None, 0.0)


@given(
    kinds=st.lists(st.tuples(_GOOD, st.booleans()), min_size=1, max_size=40),
    poison=_POISON,
    where=st.floats(0, 1),
)
def test_every_record_around_a_poison_is_written(
    store: Path, kinds: list[tuple[str, bool]], poison: str, where: float
) -> None:
    backend = _session.get_session().backend
    syncer = Syncer(backend, flush_timeout=30)  # not started: flush() writes everything as one batch
    runs = [uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]]
    ops = [start_op(r) for r in runs]
    ops += [_good_op(kind, runs[second], i) for i, (kind, second) in enumerate(kinds)]
    at = 2 + round(where * (len(ops) - 2))
    ops.insert(at, _poison_op(poison, runs[0]))
    ops += [("end", r, RunState.COMPLETED, time.time()) for r in runs]
    letters_before = len(backend.dead_letters())
    for op in ops:
        syncer.submit(op)
    assert syncer.flush()
    assert syncer.dead_letters == 1 and syncer.pending == 0
    for index, run_id in enumerate(runs):
        expected = [(kind, i) for i, (kind, second) in enumerate(kinds) if second == index]
        record = backend.read_run(run_id)
        assert record is not None and record.state is RunState.COMPLETED
        assert [p.value for p in backend.metric_history(run_id, "m")] == [
            float(i) for k, i in expected if k == "metric"
        ]
        assert [c.step for c in record.checkpoints] == [i for k, i in expected if k == "checkpoint"]
        assert record.metadata == {f"k{i}": i for k, i in expected if k == "fields"}
    assert len(backend.dead_letters()) == letters_before + 1
    assert syncer.close()


class _DownAfterARejection(SQLBackend):
    """A SQLite store that, right after it first rejects a record, is down until ``down`` is set back to False."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.letters: list[Op] = []
        self.down = False
        self.rejected = False

    def write(self, ops: Sequence[Op]) -> None:
        if self.down:
            raise StoreError("database is locked")  # no cause: nothing in it says "record"
        try:
            super().write(ops)
        except Exception as exc:
            if not self.rejected and self.rejects(exc):
                self.down = self.rejected = True
            raise

    def dead_letter(self, op: Op, error: BaseException) -> str:
        self.letters.append(op)
        return super().dead_letter(op, error)


@pytest.mark.parametrize("good", [0, 1], ids=["alone", "split from a good record"])
def test_an_outage_while_a_rejected_batch_is_split_or_repaired_is_retried(good: int, tmp_path: Path) -> None:
    backend = _DownAfterARejection(str(tmp_path / "down.db"))
    syncer = Syncer(backend, flush_timeout=30)  # not started: each flush() is one attempt
    ops = [start_op("good")] * good + [start_op("bad", "bad \ud800")]
    for op in ops:
        syncer.submit(op)
    assert not syncer.flush()
    # The outage is the store's: nothing set aside, everything kept, one failed attempt counted.
    assert backend.letters == [] and syncer.pending == len(ops) and syncer.error_count == 1
    backend.down = False
    assert syncer.flush() and syncer.pending == 0
    names = [record.name for record in backend.list_runs()]
    assert sorted(names) == sorted(["run"] * good + ["bad \\ud800"])
    assert backend.letters == [] and syncer.repaired == 1

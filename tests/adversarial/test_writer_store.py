"""A store that is locked, missing, deleted or replaced: training code goes on, nothing after the
trouble is lost, and flushes wait a bounded, configurable time.

A "read-only" store is made with a path under a regular file (``<tmp>/afile/store.db``): it fails
with ENOTDIR even for root, which chmod cannot stop. Replacing the file by a directory brings the
store back.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event

import sigopt_ai as sigopt
from sigopt_ai import _config
from sigopt_ai._exceptions import ConfigError
from sigopt_ai._models import RunState
from sigopt_ai.backends.sql import _backend as _sql
from sigopt_ai.backends.sql._backend import SQLBackend
from sigopt_ai.runs import _session
from sigopt_ai.runs._writer import Syncer
from tests.conftest import run_python


@contextmanager
def write_lock(db: Path, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """Another connection holds the store's write lock until the block ends."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute(f"BEGIN {mode}")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")
        conn.close()


def blocked_path(tmp_path: Path) -> Path:
    """A store path whose directory is a regular file: unusable until the file becomes a directory."""
    (tmp_path / "afile").write_text("not a directory")
    return tmp_path / "afile" / "store.db"


def unblock(db: Path) -> None:
    db.parent.unlink()
    db.parent.mkdir(exist_ok=True)  # a writer retrying right now may create the folder first


def test_a_locked_batch_is_retried_and_loses_nothing(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sql, "WRITE_BUSY_MS", 50)  # each attempt gives up on the lock quickly
    with sigopt.run() as warm:
        warm.log_metric("loss", 0.0)
    syncer = _session.get_session().syncer
    with write_lock(store):
        with sigopt.run() as run:
            for i in range(1000):
                run.log_metric("loss", i)
            for _ in range(100):  # until an attempt has given up on the lock (the first, unless the machine is slow)
                assert not sigopt.flush(timeout=0.1)
                if syncer.error_count:
                    break
            assert syncer.error_count > 0 and syncer.pending > 0
    assert sigopt.flush(timeout=30)
    assert [p.value for p in sigopt.metric_history(run.id, "loss")] == list(range(1000))
    assert sigopt.get_run(run.id).state is RunState.COMPLETED


def test_flush_timeout_is_honoured(store: Path) -> None:
    with sigopt.run() as warm:
        warm.log_metric("loss", 0.0)
    sigopt.configure(flush_timeout=0.2)
    blocker = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    safety = threading.Timer(20, blocker.execute, args=("COMMIT",))  # a flush ignoring the timeout returns True
    safety.start()
    try:
        run = sigopt.create_run()
        run.log_metric("loss", 1.0)
        assert sigopt.flush() is False
        assert run.end() is RunState.COMPLETED
    finally:
        safety.cancel()
        blocker.execute("COMMIT")
        blocker.close()
    assert sigopt.flush(timeout=30)
    assert sigopt.get_run(run.id).metrics == {"loss": 1.0}


@pytest.mark.parametrize("bad", ["abc", "-1", "nan", "inf", "1e400"])
def test_flush_timeout_from_the_environment_is_validated(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(_config.FLUSH_TIMEOUT_ENV, bad)
    with pytest.raises(ConfigError, match="SIGOPT_AI_FLUSH_TIMEOUT"):
        _config.current().resolved_flush_timeout()


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), "30", True, 10**400])
def test_flush_timeout_given_to_configure_is_validated(bad: object) -> None:
    with pytest.raises(ConfigError, match="flush_timeout must be a number of seconds") as info:
        sigopt.configure(flush_timeout=bad)  # type: ignore[arg-type]
    assert len(str(info.value)) < 200


def test_first_use_of_a_locked_store_does_not_raise(store: Path) -> None:
    store.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(store)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    sigopt.configure(flush_timeout=0.2)
    with write_lock(store, "EXCLUSIVE"):
        with sigopt.run(name="while locked") as run:  # used to wait 60 s, then raise StoreError
            run.log_metric("loss", 0.5)
    assert sigopt.flush(timeout=30)
    record = sigopt.get_run(run.id)
    assert record.name == "while locked" and record.metrics == {"loss": 0.5}


def test_a_store_that_cannot_be_created_delays_records_and_never_raises(tmp_path: Path) -> None:
    db = blocked_path(tmp_path)
    result = run_python(
        f"""
        import os, sigopt_ai as sigopt
        run = sigopt.create_run(name="first")
        run.log_metric("loss", 1.0)
        print(sigopt.flush(timeout=1), flush=True)  # the store is known to be down from here
        run.end()
        ids = [run.id]
        for i in range(5):  # each end() waits for one attempt, not the 600 s flush timeout
            with sigopt.run(name=f"r{{i}}") as later:
                later.log_metric("loss", i)
            ids.append(later.id)
        print(sigopt.flush(), flush=True)
        os.unlink({str(db.parent)!r})
        os.mkdir({str(db.parent)!r})
        print(sigopt.flush(timeout=30), flush=True)
        print(" ".join(ids))
        """,
        env={"SIGOPT_AI_DB": str(db), "SIGOPT_AI_FLUSH_TIMEOUT": "600", "SIGOPT_AI_FLUSH_INTERVAL": "0.1"},
    )
    assert result.returncode == 0, result.stderr
    first, down, back, ids = result.stdout.splitlines()
    assert (first, down, back) == ("False", "False", "True")
    assert "could not be written" not in result.stderr
    sigopt.configure(db=str(db))
    for i, run_id in enumerate(ids.split()):
        record = sigopt.get_run(run_id)
        assert record.state is RunState.COMPLETED and record.metrics == {"loss": 1.0 if i == 0 else i - 1}


def test_records_past_the_limit_spill_to_a_spool_and_land_in_order(tmp_path: Path) -> None:
    db = blocked_path(tmp_path)
    backend = SQLBackend(str(db))
    syncer = Syncer(backend, interval=0.05, flush_timeout=30, high_water=1000)
    syncer.start()
    syncer.submit(("start", "spooled", "tests", "spooled", time.time(), None, None))
    largest = 0
    for i in range(20_000):
        syncer.submit(("metric", "spooled", "loss", float(i), None, float(i)))
        largest = max(largest, syncer.in_memory)
    # The queue stays under the limit; one failed batch taken from it waits for its retry beside it.
    assert largest <= 2 * (1000 + 1) and syncer.spooled > 0
    assert not syncer.flush(timeout=0.2)
    unblock(db)
    assert syncer.flush(timeout=30) and syncer.pending == 0
    assert [p.value for p in backend.metric_history("spooled", "loss")] == [float(i) for i in range(20_000)]
    assert syncer.close()
    backend.close()


def test_constructing_the_backend_touches_nothing(tmp_path: Path) -> None:
    db = blocked_path(tmp_path)
    backend = SQLBackend(str(db))  # used to raise at once
    with pytest.raises(sigopt.StoreError):
        backend.read_run("x")  # a reader is told
    unblock(db)
    assert backend.read_run("x") is None
    backend.close()


@pytest.mark.parametrize("how", ["file deleted", "folder deleted", "file replaced"])
def test_a_deleted_or_replaced_store_file_is_recreated(store: Path, how: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="sigopt_ai"):
        with sigopt.run(name="open") as run:
            run.log_metric("loss", 1.0)
            assert sigopt.flush()
            if how == "file deleted":
                store.unlink()
            elif how == "folder deleted":
                shutil.rmtree(store.parent)
            else:
                shutil.copy(store, store.with_suffix(".copy"))
                os.replace(store.with_suffix(".copy"), store)
            run.log_metric("loss", 2.0)
            run.log_metadata("after", "yes")
            assert sigopt.flush()
        with sigopt.run(name="later") as later:
            later.log_metric("loss", 3.0)
    fresh = SQLBackend(str(store))  # what anyone opening the file now sees
    record = fresh.read_run(run.id)
    assert record is not None and record.state is RunState.COMPLETED
    assert record.metrics == {"loss": 2.0} and record.metadata == {"after": "yes"}
    later_record = fresh.read_run(later.id)
    assert later_record is not None and later_record.metrics == {"loss": 3.0}
    warnings = [r.getMessage() for r in caplog.records if "was deleted or replaced" in r.getMessage()]
    assert len(warnings) == 1 and str(store) in warnings[0]
    fresh.close()


def test_a_store_file_deleted_while_it_is_created_is_not_written_blind(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    backend = SQLBackend(str(db))
    deletions = []

    @sa_event.listens_for(backend.engine, "commit")
    def _delete_once(conn: object) -> None:  # the schema's transaction commits, then the file goes
        if not deletions and db.exists():
            deletions.append(db)
            db.unlink()

    with pytest.raises(sigopt.StoreError, match="vanished"):
        backend.write([("start", "r1", "p", "n", 1.0, None, None)])
    backend.write([("start", "r1", "p", "n", 1.0, None, None)])  # the retry creates it again
    fresh = SQLBackend(str(db))
    assert deletions and fresh.read_run("r1") is not None
    fresh.close()
    backend.close()


def test_a_relative_store_path_stays_the_same_file_after_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    sigopt.configure(db="relative.db")
    with caplog.at_level(logging.WARNING, logger="sigopt_ai"), sigopt.run() as run:
        run.log_metric("loss", 1.0)
        assert sigopt.flush()
        monkeypatch.chdir(tmp_path / "elsewhere")  # training code may change directory
        run.log_metric("loss", 2.0)
    assert sigopt.flush()
    assert not (tmp_path / "elsewhere" / "relative.db").exists()
    assert not [r for r in caplog.records if "deleted or replaced" in r.getMessage()]
    record = SQLBackend(str(tmp_path / "relative.db")).read_run(run.id)
    assert record is not None and record.metrics == {"loss": 2.0}


def test_a_full_spool_drops_metric_points_but_keeps_the_runs_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = blocked_path(tmp_path)
    backend = SQLBackend(str(db))
    syncer = Syncer(backend, interval=0.05, flush_timeout=30, high_water=100, spool_limit=20_000)
    syncer.start()
    syncer.submit(("start", "long outage", "tests", "long outage", time.time(), None, None))
    with caplog.at_level(logging.ERROR, logger="sigopt_ai"):
        for i in range(50_000):
            syncer.submit(("metric", "long outage", "loss", float(i), None, float(i)))
    syncer.submit(("end", "long outage", RunState.COMPLETED, time.time()))
    assert syncer.dropped > 0 and syncer.pending < 50_000
    assert len([r for r in caplog.records if "are dropped" in r.getMessage()]) == 1
    unblock(db)
    assert syncer.flush(timeout=30)
    record = backend.read_run("long outage")
    assert record is not None and record.state is RunState.COMPLETED
    stored = [p.value for p in backend.metric_history("long outage", "loss")]
    assert len(stored) == 50_000 - syncer.dropped and stored == sorted(stored)
    assert syncer.close()
    backend.close()


def test_a_store_back_for_a_batch_of_bad_records_only_is_known_to_be_up(tmp_path: Path) -> None:
    db = blocked_path(tmp_path)
    backend = SQLBackend(str(db))
    syncer = Syncer(backend, interval=0.05, flush_timeout=30)  # not started: each flush() is one attempt
    syncer.submit(("checkpoint", "r", 2**63, {"loss": 1.0}, time.time()))  # only a record the store rejects
    assert not syncer.flush() and syncer.error_count == 1
    unblock(db)
    assert syncer.flush() and syncer.dead_letters == 1
    # Still "failing", the writer would wait its backoff instead of the interval, and spill instead of
    # applying backpressure, until some later batch was written.
    assert syncer.error_count == 0 and syncer.last_error is None
    assert syncer.close()
    backend.close()

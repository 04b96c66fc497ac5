"""Keyed write batches (``Backend.write(ops, key=...)``) on SQLite and on a real PostgreSQL: a batch
sent again with its key, after a lost reply or by a second process at the same moment, is applied once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from sigopt_ai import StoreError, ValidationError
from sigopt_ai._models import Op
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.backends.sql._schema import applied_batches
from tests.backends.sql_stores import SQL_KINDS, sql_store
from tests.conftest import spawn_python

_DAY = 86_400.0


@pytest.fixture(params=SQL_KINDS)
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> SQLBackend:
    built = SQLBackend(sql_store(request.param, request, tmp_path))
    request.addfinalizer(built.close)
    return built


def start(run_id: str) -> Op:
    return ("start", run_id, "p", f"run {run_id}", 1.0, None, None)


def points(run_id: str, *values: float) -> list[Op]:
    return [("metric", run_id, "loss", value, None, 2.0 + i) for i, value in enumerate(values)]


def history(backend: SQLBackend, run_id: str) -> list[float]:
    return [point.value for point in backend.metric_history(run_id, "loss")]


def test_a_keyed_batch_written_twice_is_applied_once(sql_backend: SQLBackend) -> None:
    batch = [start("r"), *points("r", 0.5, 0.4)]
    sql_backend.write(batch, key="batch-1")
    sql_backend.write(batch, key="batch-1")  # the reply was lost, the client sends it again
    assert history(sql_backend, "r") == [0.5, 0.4]
    sql_backend.write(points("r", 0.3), key="batch-2")
    assert history(sql_backend, "r") == [0.5, 0.4, 0.3]


def test_a_repeated_key_skips_the_whole_batch(sql_backend: SQLBackend) -> None:
    sql_backend.write([start("r"), *points("r", 0.5)], key="k")
    sql_backend.write([start("other"), *points("r", 9.0), ("end", "r", "failed", 3.0)], key="k")
    assert history(sql_backend, "r") == [0.5]
    assert sql_backend.read_run("other") is None
    run = sql_backend.read_run("r")
    assert run is not None and run.state.value == "active"


def test_an_unkeyed_batch_written_twice_is_applied_twice_as_before(sql_backend: SQLBackend) -> None:
    batch = [start("r"), *points("r", 0.5)]
    sql_backend.write(batch)
    sql_backend.write(batch)
    assert history(sql_backend, "r") == [0.5, 0.5]
    with sql_backend.transaction(write=False) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(applied_batches)).scalar() == 0


def test_the_key_of_a_failed_batch_is_not_kept_so_the_batch_can_be_sent_again(sql_backend: SQLBackend) -> None:
    with pytest.raises(StoreError):
        sql_backend.write(points("not-started", 0.5), key="k")  # no such run: the foreign key refuses it
    sql_backend.write([start("not-started"), *points("not-started", 0.5)], key="k")
    assert history(sql_backend, "not-started") == [0.5]


@pytest.mark.parametrize("key", ["", "x" * 201, "lone \udc80 surrogate", 17])
def test_a_bad_key_is_refused_and_nothing_is_written(sql_backend: SQLBackend, key: object) -> None:
    with pytest.raises(ValidationError, match="key must be"):
        sql_backend.write([start("r")], key=key)  # type: ignore[arg-type]
    assert sql_backend.read_run("r") is None


def test_a_key_of_200_characters_is_kept(sql_backend: SQLBackend) -> None:
    sql_backend.write([start("r"), *points("r", 0.5)], key="k" * 200)
    sql_backend.write([start("r"), *points("r", 0.5)], key="k" * 200)
    assert history(sql_backend, "r") == [0.5]


def test_keys_older_than_a_week_are_forgotten_by_the_first_keyed_write_of_a_process(sql_backend: SQLBackend) -> None:
    now = time.time()
    with sql_backend.transaction() as conn:
        conn.execute(
            applied_batches.insert(),
            [{"key": "last-month", "created": now - 30 * _DAY}, {"key": "yesterday", "created": now - _DAY}],
        )
    sql_backend.write([start("r")], key="today")
    with sql_backend.transaction(write=False) as conn:
        kept = set(conn.execute(sa.select(applied_batches.c.key)).scalars())
    assert kept == {"yesterday", "today"}
    sql_backend.write([start("r2")], key="yesterday")  # still remembered: skipped
    assert sql_backend.read_run("r2") is None


def test_keys_are_pruned_at_most_once_an_hour_by_a_process(sql_backend: SQLBackend) -> None:
    sql_backend.write([start("r")], key="first")  # prunes
    with sql_backend.transaction() as conn:
        conn.execute(applied_batches.insert(), [{"key": "last-month", "created": time.time() - 30 * _DAY}])
    sql_backend.write([start("r")], key="second")  # within the hour: no prune, no cost
    with sql_backend.transaction(write=False) as conn:
        kept = set(conn.execute(sa.select(applied_batches.c.key)).scalars())
    assert kept == {"first", "second", "last-month"}


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_two_processes_racing_with_the_same_keys_apply_each_batch_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = sql_store(kind, request, tmp_path)
    setup = SQLBackend(url)
    setup.write([start(f"r{i}") for i in range(20)])
    go = tmp_path / "go"
    # Both processes send the same 20 batches (a client and its retry, say) at the same moment.
    code = f"""
        import os, time
        from sigopt_ai.backends.sql import SQLBackend
        backend = SQLBackend({url!r})
        backend.read_run("warm")  # connected, schema checked
        print("ready", flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.0005)
        for i in range(20):
            ops = [("metric", f"r{{i}}", "loss", float(v), None, 2.0 + v) for v in range(50)]
            backend.write(ops, key=f"batch-{{i}}")
        print("done", flush=True)
    """
    workers = [spawn_python(code) for _ in range(2)]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    go.touch()
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        assert out.strip() == "done"
    for i in range(20):
        assert history(setup, f"r{i}") == [float(v) for v in range(50)], f"batch-{i}"
    setup.close()

"""The backend contract for runs: what every store (SQLite, PostgreSQL, and next HTTP) must do alike.

Each test drives a backend built by ``make_backend`` directly, with write operations as the writer
thread sends them; the batches also go through JSON first, as they will over HTTP.
"""

from __future__ import annotations

import json
import math
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sigopt_ai import FailureInfo, FailureKind, RunState, StoreError
from sigopt_ai._models import Op
from sigopt_ai.backends import Backend, make_backend
from sigopt_ai.backends.sql import SQLBackend


def start(run_id: str, project: str = "p", created: float = 1.0, experiment: str | None = None) -> Op:
    return ("start", run_id, project, f"run {run_id}", created, experiment, None)


def as_json(ops: list[Op]) -> list[Any]:
    """The batch as it arrives over HTTP: lists instead of tuples."""
    return json.loads(json.dumps(ops))


@pytest.mark.parametrize("transport", [list, as_json])
def test_a_run_written_in_batches_reads_back_whole(backend: Backend, transport: Any) -> None:
    failure = FailureInfo(FailureKind.OOM, type="MemoryError", message="too big", traceback="tb")
    backend.write(
        transport(
            [
                start("r1"),
                ("fields", "r1", "params", {"lr": 0.1, "layers": 3, "opt": "adam", "flag": True, "none": None}),
                ("fields", "r1", "metadata", {"k": "v"}),
                ("fields", "r1", "datasets", {"d": {}}),
                ("fields", "r1", "model", {"type": "mlp"}),
                ("metric", "r1", "loss", 0.5, None, 2.0),
                ("metric", "r1", "loss", 0.25, 0.01, 3.0),
                ("checkpoint", "r1", 0, {"acc": 0.5}, 3.5),
            ]
        )
    )
    backend.write(transport([("failure", "r1", failure.to_json(), 4.0), ("end", "r1", "failed", 4.0)]))
    record = backend.read_run("r1")
    assert record is not None
    assert (record.name, record.project, record.state, record.created, record.ended) == (
        "run r1",
        "p",
        RunState.FAILED,
        1.0,
        4.0,
    )
    assert record.params == {"lr": 0.1, "layers": 3, "opt": "adam", "flag": True, "none": None}
    assert (record.metrics, record.metric_stddevs) == ({"loss": 0.25}, {"loss": 0.01})
    assert [(c.step, dict(c.values)) for c in record.checkpoints] == [(0, {"acc": 0.5})]
    assert (record.metadata, record.datasets, record.model) == ({"k": "v"}, ("d",), "mlp")
    assert record.failure == failure
    history = backend.metric_history("r1", "loss")
    assert [(p.value, p.stddev, p.created) for p in history] == [(0.5, None, 2.0), (0.25, 0.01, 3.0)]


def test_non_finite_metric_values_are_kept(backend: Backend) -> None:
    backend.write([start("r1"), ("metric", "r1", "m", math.nan, None, 2.0), ("metric", "r1", "m", math.inf, None, 3.0)])
    history = backend.metric_history("r1", "m")
    assert math.isnan(history[0].value) and history[1].value == math.inf
    record = backend.read_run("r1")
    assert record is not None and record.metrics["m"] == math.inf


def test_state_precedence_and_replayed_batches(backend: Backend) -> None:
    backend.write([start("r1")])
    backend.write([("end", "r1", "completed", 2.0)])
    late = FailureInfo(FailureKind.REPORTED, message="late").to_json()
    backend.write([("failure", "r1", late, 3.0), ("end", "r1", "failed", 3.0)])
    backend.write([("end", "r1", "completed", 4.0)])  # failed > completed: ignored
    record = backend.read_run("r1")
    assert record is not None and record.state is RunState.FAILED and record.ended == 2.0
    assert record.failure is not None and record.failure.message == "late"
    backend.write([start("r1")])  # a start written twice (a retried batch) changes nothing
    again = backend.read_run("r1")
    assert again is not None and again.state is RunState.FAILED and again.failure == record.failure


def test_list_runs_is_newest_first_filtered_and_limited_and_keeps_each_runs_fields(backend: Backend) -> None:
    ops: list[Op] = []
    for i in range(30):
        run_id = f"r{i:02d}"
        ops += [
            start(run_id, project="a" if i % 2 else "b", created=float(i), experiment="7" if i % 3 == 0 else None),
            ("fields", run_id, "params", {"i": i}),
            ("metric", run_id, "m", float(i), None, float(i)),
            ("checkpoint", run_id, i, {"m": float(i)}, float(i)),
        ]
    backend.write(ops)
    everything = backend.list_runs()
    assert [r.id for r in everything] == [f"r{i:02d}" for i in reversed(range(30))]
    for record in everything:  # a page is read in a few queries: each run still gets its own fields
        i = int(record.id[1:])
        assert record.params == {"i": i} and record.metrics == {"m": float(i)}
        assert [c.step for c in record.checkpoints] == [i]
    assert [r.id for r in backend.list_runs(project="a", limit=3)] == ["r29", "r27", "r25"]
    assert [r.id for r in backend.list_runs(experiment="7")] == [f"r{i:02d}" for i in reversed(range(0, 30, 3))]
    assert backend.list_runs(project="nobody") == []


def test_listing_more_runs_than_a_statement_may_bind_parameters_reads_every_run(tmp_path: Path) -> None:
    # SQLite before 3.32 (and builds that keep its default) binds at most 999 parameters per statement;
    # the limit is lowered to that here, whatever this build's is. PostgreSQL's protocol stops at 65,535.
    backend = make_backend(str(tmp_path / "old-sqlite.db"))
    assert isinstance(backend, SQLBackend)

    @sa.event.listens_for(backend.engine, "connect")
    def _old_build_limit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    n = 2_500
    ops: list[Op] = []
    for i in range(n):
        run_id = f"r{i:05d}"
        ops += [start(run_id, created=float(i // 2)), ("fields", run_id, "params", {"i": i})]  # pairs share a time
    ops.append(("checkpoint", "r00000", 3, {"m": 1.0}, 1.0))
    backend.write(ops)
    everything = backend.list_runs()
    assert [r.id for r in everything] == [f"r{i:05d}" for i in reversed(range(n))]
    assert all(r.params == {"i": int(r.id[1:])} for r in everything)
    assert [c.step for c in everything[-1].checkpoints] == [3]
    backend.close()


def test_a_database_urls_password_stays_out_of_the_backends_url_and_its_errors() -> None:
    with socket.socket() as sock:  # a port nobody listens on: connecting is refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = make_backend(f"postgresql+psycopg://alice:s3cret-pw@127.0.0.1:{port}/db")
    assert "s3cret-pw" not in backend.url and "alice" in backend.url and f":{port}/db" in backend.url
    with pytest.raises(StoreError) as raised:
        backend.get_experiment("1")
    assert "s3cret-pw" not in str(raised.value) and f":{port}/db" in str(raised.value)
    backend.close()


def test_unknown_ids_give_nothing(backend: Backend) -> None:
    backend.write([start("r1")])
    assert backend.read_run("nope") is None
    assert backend.metric_history("nope", "m") == [] and backend.metric_history("r1", "m") == []


def test_heartbeats_renew_active_runs_only(backend: Backend) -> None:
    backend.write([start("live"), start("done"), ("end", "done", "completed", 2.0)])
    now = time.time()
    backend.write(as_json([("heartbeat", ("live", "done"), now)]))
    live, done = backend.read_run("live"), backend.read_run("done")
    assert live is not None and live.heartbeat == now
    assert done is not None and done.heartbeat == 2.0

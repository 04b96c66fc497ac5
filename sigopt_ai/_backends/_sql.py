"""The SQL store: SQLAlchemy Core over a SQLite file (embedded default) or PostgreSQL."""

from __future__ import annotations

import json
import math
import os
import sys
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from sigopt_ai._backends import _schema as t
from sigopt_ai._backends._base import Backend
from sigopt_ai._exceptions import StoreError
from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._records import Checkpoint, MetricPoint, Op, RunRecord, RunState

_SECTIONS = ("params", "metadata", "sys_metadata", "datasets", "model")


def make_engine(url: str) -> Engine:
    """An engine for a SQLAlchemy URL or a SQLite file path, with the pragmas the store relies on."""
    if "://" not in url:
        path = Path(url).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN ourselves so that writers
    # take the write lock up front (BEGIN IMMEDIATE) and never deadlock upgrading a read lock.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable across process kills in WAL mode
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("sigopt_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)


def _float_in(value: float) -> float | None:
    return None if math.isnan(value) else value


def _float_out(value: float | None) -> float:
    return math.nan if value is None else value


class SQLBackend(Backend):
    """A store in any SQLAlchemy database; the schema is created on first use.

    Args:
        url: A SQLAlchemy URL (``postgresql+psycopg://...``) or the path of a SQLite file.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._pid = os.getpid()
        with self._scope(write=True) as conn:
            t.metadata.create_all(conn)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for the experiment backend that shares this store)."""
        if os.getpid() != self._pid:  # a forked child must not reuse the parent's connections
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        return self._engine

    @contextmanager
    def _scope(self, *, write: bool = False) -> Iterator[Connection]:
        """One transaction; every SQLAlchemy error becomes a :class:`StoreError`."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(sigopt_write=write)
                with conn.begin():
                    yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"The store at {self.url!r} failed: {exc}") from exc

    def transaction(self, *, write: bool = True) -> Any:
        """A transaction for callers that share the store (the experiment backend)."""
        return self._scope(write=write)

    # -- writes ---------------------------------------------------------------------------------

    def write(self, ops: Sequence[Op]) -> None:
        """Apply ``ops`` in one transaction (see :class:`Backend`)."""
        if not ops:
            return
        with self._scope(write=True) as conn:
            for group_kind, group in _groups(ops):
                _WRITERS[group_kind](conn, group)

    def read_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        with self._scope() as conn:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).mappings().first()
            return None if row is None else _load_run(conn, row)

    def list_runs(
        self, *, project: str | None = None, experiment: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """Runs, newest first."""
        query = sa.select(t.runs).order_by(t.runs.c.created.desc(), t.runs.c.id.desc())
        if project is not None:
            query = query.where(t.runs.c.project == project)
        if experiment is not None:
            query = query.where(t.runs.c.experiment_id == experiment)
        if limit is not None:
            query = query.limit(limit)
        with self._scope() as conn:
            return [_load_run(conn, row) for row in conn.execute(query).mappings().all()]

    def metric_history(self, run_id: str, name: str) -> list[MetricPoint]:
        """Every value logged for metric ``name`` of run ``run_id``, in logging order."""
        query = (
            sa.select(t.metric_chunks.c["values"], t.metric_chunks.c.stddevs, t.metric_chunks.c.created)
            .where((t.metric_chunks.c.run_id == run_id) & (t.metric_chunks.c.name == name))
            .order_by(t.metric_chunks.c.id)
        )
        points: list[MetricPoint] = []
        with self._scope() as conn:
            for values, stddevs, created in conn.execute(query):
                sds = _unpack(stddevs) if stddevs is not None else [math.nan] * (len(values) // 8)
                points += [
                    MetricPoint(v, None if math.isnan(s) else s, c)
                    for v, s, c in zip(_unpack(values), sds, _unpack(created), strict=True)
                ]
        return points

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self._engine.dispose()


def _groups(ops: Sequence[Op]) -> Iterator[tuple[str, list[Op]]]:
    """Consecutive operations of one kind, so each group is one executemany."""
    current: list[Op] = []
    for op in ops:
        if current and op[0] != current[0][0]:
            yield current[0][0], current
            current = []
        current.append(op)
    if current:
        yield current[0][0], current


def _write_start(conn: Connection, ops: list[Op]) -> None:
    for _, run_id, project, name, created, experiment, suggestion in ops:
        if conn.execute(sa.select(t.projects.c.id).where(t.projects.c.id == project)).first() is None:
            conn.execute(t.projects.insert().values(id=project, created=created))
        exists = conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id == run_id)).first()
        if exists is None:
            conn.execute(
                t.runs.insert().values(
                    id=run_id,
                    project=project,
                    name=name,
                    state=RunState.ACTIVE.value,
                    created=created,
                    heartbeat=created,
                    experiment_id=experiment,
                    suggestion_id=suggestion,
                )
            )


def _write_fields(conn: Connection, ops: list[Op]) -> None:
    merged: dict[tuple[str, str, str], Any] = {}
    for _, run_id, section, values in ops:
        for key, value in values.items():
            merged[(run_id, section, key)] = value
    rows = [{"run_id": r, "section": s, "key": k, "value": _dump(v)} for (r, s, k), v in merged.items()]
    insert = _dialect_insert(conn)(t.run_fields)
    upsert = insert.on_conflict_do_update(
        index_elements=["run_id", "section", "key"], set_={"value": insert.excluded.value}
    )
    conn.execute(upsert, rows)


def _dialect_insert(conn: Connection) -> Any:
    """The INSERT construct with ON CONFLICT support for this database (SQLite and PostgreSQL have it)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _pack(values: list[float]) -> bytes:
    packed = array("d", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _unpack(blob: bytes) -> list[float]:
    unpacked = array("d")
    unpacked.frombytes(blob)
    if sys.byteorder != "little":
        unpacked.byteswap()
    return unpacked.tolist()


def _write_metrics(conn: Connection, ops: list[Op]) -> None:
    series: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = {}
    for _, run_id, name, value, stddev, ts in ops:
        key = (run_id, name)
        if key not in series:
            series[key] = ([], [], [])
        values, stddevs, created = series[key]
        values.append(value)
        stddevs.append(math.nan if stddev is None else stddev)
        created.append(ts)
    conn.execute(
        t.metric_chunks.insert(),
        [
            {
                "run_id": run_id,
                "name": name,
                "count": len(values),
                "values": _pack(values),
                "stddevs": None if all(math.isnan(s) for s in stddevs) else _pack(stddevs),
                "created": _pack(created),
            }
            for (run_id, name), (values, stddevs, created) in series.items()
        ],
    )
    for run_id in {r for r, _ in series}:
        names = [n for r, n in series if r == run_id]
        conn.execute(t.run_metrics.delete().where((t.run_metrics.c.run_id == run_id) & t.run_metrics.c.name.in_(names)))
    conn.execute(
        t.run_metrics.insert(),
        [
            {
                "run_id": run_id,
                "name": name,
                "value": _float_in(values[-1]),
                "stddev": None if math.isnan(stddevs[-1]) else stddevs[-1],
                "updated": created[-1],
            }
            for (run_id, name), (values, stddevs, created) in series.items()
        ],
    )


def _write_checkpoints(conn: Connection, ops: list[Op]) -> None:
    conn.execute(
        t.checkpoints.insert(),
        [{"run_id": r, "step": step, "values": _dump(values), "created": ts} for _, r, step, values, ts in ops],
    )


def _write_failures(conn: Connection, ops: list[Op]) -> None:
    for _, run_id, failure, _ts in ops:
        # The first failure recorded explains the run; later ones (an exception after log_failure) do not.
        conn.execute(
            t.runs.update()
            .where((t.runs.c.id == run_id) & t.runs.c.failure_kind.is_(None))
            .values(
                state=RunState.FAILED.value,
                failure_kind=failure.kind.value,
                failure_type=failure.type,
                failure_message=failure.message,
                failure_traceback=failure.traceback,
            )
        )


def _write_ends(conn: Connection, ops: list[Op]) -> None:
    for _, run_id, state, ts in ops:
        query = t.runs.update().where(t.runs.c.id == run_id)
        if state is not RunState.FAILED:
            query = query.where(t.runs.c.state != RunState.FAILED.value)
        conn.execute(query.values(state=state.value))
        conn.execute(
            t.runs.update().where((t.runs.c.id == run_id) & t.runs.c.ended.is_(None)).values(ended=ts, heartbeat=ts)
        )


def _write_heartbeats(conn: Connection, ops: list[Op]) -> None:
    for _, run_ids, ts in ops:
        conn.execute(
            t.runs.update()
            .where(t.runs.c.id.in_(run_ids) & (t.runs.c.state == RunState.ACTIVE.value))
            .values(heartbeat=ts)
        )


_WRITERS = {
    "start": _write_start,
    "fields": _write_fields,
    "metric": _write_metrics,
    "checkpoint": _write_checkpoints,
    "failure": _write_failures,
    "end": _write_ends,
    "heartbeat": _write_heartbeats,
}


def _load_run(conn: Connection, row: Any) -> RunRecord:
    run_id = row["id"]
    fields: dict[str, dict[str, Any]] = {s: {} for s in _SECTIONS}
    for section, key, value in conn.execute(
        sa.select(t.run_fields.c.section, t.run_fields.c.key, t.run_fields.c.value).where(
            t.run_fields.c.run_id == run_id
        )
    ):
        fields.setdefault(section, {})[key] = json.loads(value)
    metrics, stddevs = {}, {}
    for name, value, stddev in conn.execute(
        sa.select(t.run_metrics.c.name, t.run_metrics.c.value, t.run_metrics.c.stddev).where(
            t.run_metrics.c.run_id == run_id
        )
    ):
        metrics[name] = _float_out(value)
        if stddev is not None:
            stddevs[name] = stddev
    checkpoints = tuple(
        Checkpoint(step=step, values=json.loads(values), created=created)
        for step, values, created in conn.execute(
            sa.select(t.checkpoints.c.step, t.checkpoints.c["values"], t.checkpoints.c.created)
            .where(t.checkpoints.c.run_id == run_id)
            .order_by(t.checkpoints.c.id)
        )
    )
    return RunRecord(
        id=run_id,
        name=row["name"],
        project=row["project"],
        state=RunState(row["state"]),
        created=row["created"],
        ended=row["ended"],
        params=fields["params"],
        metrics=metrics,
        metric_stddevs=stddevs,
        checkpoints=checkpoints,
        metadata=fields["metadata"],
        sys_metadata=fields["sys_metadata"],
        datasets=tuple(fields["datasets"]),
        model=fields["model"].get("type"),
        failure=_load_failure(row),
        experiment=row["experiment_id"],
        suggestion=row["suggestion_id"],
        heartbeat=row["heartbeat"],
    )


def _load_failure(row: Any) -> FailureInfo | None:
    if row["failure_kind"] is None:
        return None
    return FailureInfo(
        kind=FailureKind(row["failure_kind"]),
        type=row["failure_type"],
        message=row["failure_message"] or "",
        traceback=row["failure_traceback"],
    )

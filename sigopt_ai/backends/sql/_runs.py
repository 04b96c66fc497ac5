"""Runs in the SQL store: applying write operations, and reading runs back a page at a time."""

from __future__ import annotations

import functools
import json
import math
import sys
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._models import Checkpoint, MetricPoint, Op, RunRecord, RunState, is_lost
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._engine import dialect_insert
from sigopt_ai.backends.sql._files import write_files
from sigopt_ai.backends.sql._projects import insert_project

_SECTIONS = ("params", "metadata", "sys_metadata", "datasets", "model")


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)


def _float_in(value: float) -> float | None:
    return None if math.isnan(value) else value


def _float_out(value: float | None) -> float:
    return math.nan if value is None else value


_COMMUTING = frozenset({"metric", "checkpoint"})
"""Kinds that write tables of their own and read nothing the other writes: their order between two
operations of other kinds does not matter."""


def _groups(ops: Sequence[Op]) -> Iterator[tuple[str, list[Op]]]:
    """Consecutive operations of one kind, so each group is one executemany; metrics and checkpoints
    between two other operations are gathered by kind (a callback logging both each step made one
    statement per operation: 8x the writer's CPU)."""
    current: list[Op] = []
    gathered: dict[str, list[Op]] = {}
    for op in ops:
        if op[0] in _COMMUTING or (current and op[0] != current[0][0]):
            if current:
                yield current[0][0], current
                current = []
        if op[0] in _COMMUTING:
            gathered.setdefault(op[0], []).append(op)
            continue
        yield from gathered.items()
        gathered = {}
        current.append(op)
    if current:
        yield current[0][0], current
    yield from gathered.items()


def _write_start(conn: Connection, ops: list[Op]) -> None:
    for _, run_id, project, name, created, experiment, suggestion in ops:
        insert_project(conn, project, created)
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
    # In key order: concurrent transactions lock the rows in one order (PostgreSQL would find them deadlocked).
    rows = [{"run_id": r, "section": s, "key": k, "value": _dump(v)} for (r, s, k), v in sorted(merged.items())]
    insert = dialect_insert(conn)(t.run_fields)
    upsert = insert.on_conflict_do_update(
        index_elements=["run_id", "section", "key"], set_={"value": insert.excluded.value}
    )
    conn.execute(upsert, rows)


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
    # One upsert for every run of the batch (a server's group commit holds many runs), in key order:
    # concurrent transactions lock the rows in one order (PostgreSQL would find them deadlocked).
    conn.execute(
        _last_metrics_upsert(dialect_insert(conn)),
        [
            {
                "run_id": run_id,
                "name": name,
                "value": _float_in(values[-1]),
                "stddev": None if math.isnan(stddevs[-1]) else stddevs[-1],
                "updated": created[-1],
            }
            for (run_id, name), (values, stddevs, created) in sorted(series.items())
        ],
    )


@functools.cache
def _last_metrics_upsert(insert: Any) -> Any:
    """The upsert of ``run_metrics`` rows, built once per dialect (building it costs more than running it)."""
    statement = insert(t.run_metrics)
    last = {column: statement.excluded[column] for column in ("value", "stddev", "updated")}
    return statement.on_conflict_do_update(index_elements=["run_id", "name"], set_=last)


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
                failure_kind=FailureKind(failure["kind"]).value,
                failure_type=failure.get("type"),
                failure_message=failure.get("message") or "",
                failure_traceback=failure.get("traceback"),
            )
        )


def _write_ends(conn: Connection, ops: list[Op]) -> None:
    for _, run_id, state, ts in ops:
        state = RunState(state)
        query = t.runs.update().where(t.runs.c.id == run_id)
        if state is not RunState.FAILED:
            query = query.where(t.runs.c.state != RunState.FAILED.value)
        conn.execute(query.values(state=state.value))
        conn.execute(
            t.runs.update().where((t.runs.c.id == run_id) & t.runs.c.ended.is_(None)).values(ended=ts, heartbeat=ts)
        )


_HEARTBEAT = (
    t.runs.update()
    .where(t.runs.c.id.in_(sa.bindparam("ids", expanding=True)) & (t.runs.c.state == RunState.ACTIVE.value))
    .values(heartbeat=sa.bindparam("ts"))
)
"""Built once: a server renews the runs of every group of requests with it."""


def _write_heartbeats(conn: Connection, ops: list[Op]) -> None:
    for _, run_ids, ts in ops:
        conn.execute(_HEARTBEAT, {"ids": list(run_ids), "ts": ts})


_WRITERS = {
    "start": _write_start,
    "fields": _write_fields,
    "metric": _write_metrics,
    "checkpoint": _write_checkpoints,
    "failure": _write_failures,
    "end": _write_ends,
    "heartbeat": _write_heartbeats,
    "file": write_files,
}


def write_ops(conn: Connection, ops: Sequence[Op]) -> None:
    """Apply write operations in order, each run of one kind as one statement (an executemany)."""
    for kind, group in _groups(ops):
        _WRITERS[kind](conn, group)


_IDS_PER_QUERY = 500
"""Run ids bound in one ``IN (...)``: under every database's limit on a statement's parameters
(999 in SQLite before 3.32, 32,766 after; 65,535 in PostgreSQL's protocol)."""


def _in_batches(conn: Connection, ids: list[str], select: Callable[[list[str]], Any]) -> Iterator[Any]:
    """The rows of ``select(batch)`` for each batch of ``ids``, batch after batch."""
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield from conn.execute(select(ids[start : start + _IDS_PER_QUERY]))


def load_runs(conn: Connection, query: Any) -> list[RunRecord]:
    """The runs a query on the ``runs`` table selects, in its order: four queries for a page of up to
    ``_IDS_PER_QUERY`` runs, and three more for each further ``_IDS_PER_QUERY``."""
    rows = conn.execute(query).mappings().all()
    ids = [row["id"] for row in rows]
    if not ids:
        return []
    fields: dict[str, dict[str, dict[str, Any]]] = {i: {s: {} for s in _SECTIONS} for i in ids}
    field_columns = (t.run_fields.c.run_id, t.run_fields.c.section, t.run_fields.c.key, t.run_fields.c.value)
    for run_id, section, key, value in _in_batches(
        conn, ids, lambda batch: sa.select(*field_columns).where(t.run_fields.c.run_id.in_(batch))
    ):
        fields[run_id].setdefault(section, {})[key] = json.loads(value)
    metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
    stddevs: dict[str, dict[str, float]] = {i: {} for i in ids}
    metric_columns = (t.run_metrics.c.run_id, t.run_metrics.c.name, t.run_metrics.c.value, t.run_metrics.c.stddev)
    for run_id, name, value, stddev in _in_batches(
        conn, ids, lambda batch: sa.select(*metric_columns).where(t.run_metrics.c.run_id.in_(batch))
    ):
        metrics[run_id][name] = _float_out(value)
        if stddev is not None:
            stddevs[run_id][name] = stddev
    checkpoints: dict[str, list[Checkpoint]] = {i: [] for i in ids}
    checkpoint_columns = (
        t.checkpoints.c.run_id,
        t.checkpoints.c.step,
        t.checkpoints.c["values"],
        t.checkpoints.c.created,
    )
    for run_id, step, values, created in _in_batches(
        conn,
        ids,
        lambda batch: (
            sa.select(*checkpoint_columns).where(t.checkpoints.c.run_id.in_(batch)).order_by(t.checkpoints.c.id)
        ),
    ):
        checkpoints[run_id].append(Checkpoint(step=step, values=json.loads(values), created=created))
    return [
        _run(row, fields[row["id"]], metrics[row["id"]], stddevs[row["id"]], checkpoints[row["id"]]) for row in rows
    ]


def _run(
    row: Any,
    fields: dict[str, dict[str, Any]],
    metrics: dict[str, float],
    stddevs: dict[str, float],
    checkpoints: list[Checkpoint],
) -> RunRecord:
    state = RunState(row["state"])
    return RunRecord(
        id=row["id"],
        name=row["name"],
        project=row["project"],
        state=state,
        created=row["created"],
        ended=row["ended"],
        params=fields["params"],
        metrics=metrics,
        metric_stddevs=stddevs,
        checkpoints=tuple(checkpoints),
        metadata=fields["metadata"],
        sys_metadata=fields["sys_metadata"],
        datasets=tuple(fields["datasets"]),
        model=fields["model"].get("type"),
        failure=_load_failure(row),
        experiment=row["experiment_id"],
        suggestion=row["suggestion_id"],
        heartbeat=row["heartbeat"],
        lost=is_lost(state, row["heartbeat"], fields["sys_metadata"]),
        archived=bool(row["archived"]),
    )


def archive_run(conn: Connection, run_id: str, archived: bool) -> bool:
    """Set a run's archived flag; False when there is no such run."""
    result = conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(archived=archived))
    return bool(result.rowcount)


def metric_history(conn: Connection, run_id: str, name: str) -> list[MetricPoint]:
    """Every value logged for metric ``name`` of run ``run_id``, in logging order."""
    query = (
        sa.select(t.metric_chunks.c["values"], t.metric_chunks.c.stddevs, t.metric_chunks.c.created)
        .where((t.metric_chunks.c.run_id == run_id) & (t.metric_chunks.c.name == name))
        .order_by(t.metric_chunks.c.id)
    )
    points: list[MetricPoint] = []
    for values, stddevs, created in conn.execute(query):
        sds = _unpack(stddevs) if stddevs is not None else [math.nan] * (len(values) // 8)
        points += [
            MetricPoint(v, None if math.isnan(s) else s, c)
            for v, s, c in zip(_unpack(values), sds, _unpack(created), strict=True)
        ]
    return points


def _load_failure(row: Any) -> FailureInfo | None:
    if row["failure_kind"] is None:
        return None
    return FailureInfo(
        kind=FailureKind(row["failure_kind"]),
        type=row["failure_type"],
        message=row["failure_message"] or "",
        traceback=row["failure_traceback"],
    )


RUN_PAGE_SORTS = ("created", "value", "state", "duration", "kind", "name")
"""The columns :func:`run_page` sorts by."""


def run_page(
    conn: Connection,
    experiment_id: str,
    *,
    offset: int,
    limit: int,
    sort: str,
    descending: bool,
    state: str | None,
    metric: str | None,
) -> tuple[int, list[RunRecord]]:
    """One page of an experiment's runs (archived ones left out) sorted in the database, and how many
    runs match: the dashboard's runs table reads 50 of 10,000 runs without loading the others.

    Runs without a key (no value of ``metric``, still running, no failure) come last in either
    order; ties go newest first (``created``, then ``id``, descending).
    """
    where = [t.runs.c.experiment_id == experiment_id, t.runs.c.archived == sa.false()]
    if state is not None:
        where.append(t.runs.c.state == state)
    count = conn.execute(sa.select(sa.func.count()).select_from(t.runs).where(*where)).scalar_one()
    source: Any = t.runs
    key: Any
    if sort == "value":
        m = t.run_metrics
        source = t.runs.outerjoin(m, (m.c.run_id == t.runs.c.id) & (m.c.name == (metric or "")))
        key = m.c.value
    else:
        key = {
            "created": t.runs.c.created,
            "state": t.runs.c.state,
            "duration": t.runs.c.ended - t.runs.c.created,
            "kind": t.runs.c.failure_kind,
            "name": t.runs.c.name,
        }[sort]
    query = (
        sa.select(t.runs)
        .select_from(source)
        .where(*where)
        .order_by(
            sa.case((key.is_(None), 1), else_=0),
            key.desc() if descending else key.asc(),
            t.runs.c.created.desc(),
            t.runs.c.id.desc(),
        )
        .offset(offset)
        .limit(limit)
    )
    return int(count), load_runs(conn, query)

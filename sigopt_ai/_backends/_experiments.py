"""Experiments in the SQL store: suggestions with leases, observations, budget and progress.

Every function that changes an experiment runs in one write transaction (``BEGIN IMMEDIATE`` on
SQLite, a row lock on PostgreSQL), so several worker processes sharing a store never receive the
same open suggestion and never observe past the budget.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sigopt_ai._backends import _schema as t
from sigopt_ai._backends._sql import SQLBackend
from sigopt_ai._experiment_records import Counts, Observation, StoredExperiment, Suggestion
from sigopt_ai._failures import FailureKind
from sigopt_ai._records import RunState
from sigopt_ai._types import ParamValue

Suggest = Callable[[Sequence[Observation], Sequence[Mapping[str, ParamValue]], int], dict[str, ParamValue]]


def create_experiment(
    store: SQLBackend,
    *,
    project: str,
    name: str,
    definition: Mapping[str, Any],
    seed: int,
    lease_timeout: float,
) -> StoredExperiment:
    """Insert an experiment (and its project) and return it."""
    now = time.time()
    with store.transaction() as conn:
        if conn.execute(sa.select(t.projects.c.id).where(t.projects.c.id == project)).first() is None:
            conn.execute(t.projects.insert().values(id=project, created=now))
        result = conn.execute(
            t.experiments.insert().values(
                project=project,
                name=name,
                definition=json.dumps(definition),
                state="active",
                seed=seed,
                suggestion_count=0,
                lease_timeout=lease_timeout,
                created=now,
                updated=now,
            )
        )
        created = _experiment(conn, result.inserted_primary_key[0])
        assert created is not None
        return created


def get_experiment(store: SQLBackend, experiment_id: str) -> StoredExperiment | None:
    """The experiment with this id, or None."""
    if not str(experiment_id).isdigit():
        return None
    with store.transaction(write=False) as conn:
        return _experiment(conn, int(experiment_id))


def archive_experiment(store: SQLBackend, experiment_id: str) -> None:
    """Mark an experiment deleted: loops stop serving it."""
    with store.transaction() as conn:
        conn.execute(
            t.experiments.update()
            .where(t.experiments.c.id == int(experiment_id))
            .values(state="deleted", updated=time.time())
        )


def _experiment(conn: Connection, experiment_id: int) -> StoredExperiment | None:
    row = conn.execute(sa.select(t.experiments).where(t.experiments.c.id == experiment_id)).mappings().first()
    if row is None:
        return None
    return StoredExperiment(
        id=str(row["id"]),
        project=row["project"],
        name=row["name"],
        definition=json.loads(row["definition"]),
        state=row["state"],
        seed=row["seed"],
        lease_timeout=row["lease_timeout"],
        created=row["created"],
    )


def serve(
    store: SQLBackend, experiment_id: str, *, run_id: str | None, budget: int | None, suggest: Suggest
) -> Suggestion | None:
    """Lease a suggestion to ``run_id`` (None: a manual ``suggest()``), or None when the budget is spent.

    A suggestion released by an interrupted or lost worker is served before a new one is made.
    """
    eid = int(experiment_id)
    now = time.time()
    with store.transaction() as conn:
        _lock(conn, eid)
        expire_leases(conn, eid, now)
        if _state(conn, eid) != "active":
            return None
        counts = _counts(conn, eid)
        if budget is not None and counts.finished + counts.active >= budget:
            return None
        row = (
            conn.execute(
                sa.select(t.suggestions)
                .where(
                    (t.suggestions.c.experiment_id == eid)
                    & (t.suggestions.c.state == "open")
                    & t.suggestions.c.leased_at.is_(None)
                )
                .order_by(t.suggestions.c.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
        if row is not None:
            sid = row["id"]
        else:
            sid = _new_suggestion(conn, eid, now, suggest)
        conn.execute(
            t.suggestions.update()
            .where(t.suggestions.c.id == sid)
            .values(lease_run_id=run_id, leased_at=now, serve_count=t.suggestions.c.serve_count + 1)
        )
        return _suggestion(conn, sid)


def _lock(conn: Connection, eid: int) -> None:
    """Serialise writers of one experiment (a row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    conn.execute(sa.select(t.experiments.c.id).where(t.experiments.c.id == eid).with_for_update()).first()


def _new_suggestion(conn: Connection, eid: int, now: float, suggest: Suggest) -> int:
    index = conn.execute(sa.select(t.experiments.c.suggestion_count).where(t.experiments.c.id == eid)).scalar_one()
    pending = [
        json.loads(a)
        for (a,) in conn.execute(
            sa.select(t.suggestions.c.assignments).where(
                (t.suggestions.c.experiment_id == eid) & (t.suggestions.c.state == "open")
            )
        )
    ]
    assignments = suggest(_observations(conn, eid), pending, index)
    conn.execute(t.experiments.update().where(t.experiments.c.id == eid).values(suggestion_count=index + 1))
    result = conn.execute(
        t.suggestions.insert().values(
            experiment_id=eid, assignments=json.dumps(assignments), state="open", serve_count=0, created=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def expire_leases(conn: Connection, eid: int, now: float) -> list[str]:
    """Release suggestions whose run stopped heartbeating; fail those runs as ``infrastructure``.

    Returns:
        The ids of the runs declared lost.
    """
    timeout = conn.execute(sa.select(t.experiments.c.lease_timeout).where(t.experiments.c.id == eid)).scalar_one()
    heartbeat = sa.func.coalesce(t.runs.c.heartbeat, t.suggestions.c.leased_at)
    stale = conn.execute(
        sa.select(t.suggestions.c.id, t.suggestions.c.lease_run_id)
        .select_from(t.suggestions.outerjoin(t.runs, t.runs.c.id == t.suggestions.c.lease_run_id))
        .where(
            (t.suggestions.c.experiment_id == eid)
            & (t.suggestions.c.state == "open")
            & t.suggestions.c.lease_run_id.is_not(None)
            & (heartbeat < now - timeout)
        )
    ).all()
    lost = []
    for sid, run_id in stale:
        _release(conn, sid)
        updated = conn.execute(
            t.runs.update()
            .where((t.runs.c.id == run_id) & (t.runs.c.state == RunState.ACTIVE.value))
            .values(
                state=RunState.FAILED.value,
                ended=now,
                failure_kind=FailureKind.INFRASTRUCTURE.value,
                failure_message=f"The worker stopped sending heartbeats for more than {timeout:g} s; "
                "the suggestion was served again.",
            )
        )
        if updated.rowcount:
            lost.append(run_id)
    return lost


def _release(conn: Connection, sid: int) -> None:
    conn.execute(t.suggestions.update().where(t.suggestions.c.id == sid).values(lease_run_id=None, leased_at=None))


def release(store: SQLBackend, suggestion_id: str, run_id: str | None) -> bool:
    """Put a suggestion back to be served again, if ``run_id`` still holds its lease."""
    with store.transaction() as conn:
        row = _open_lease(conn, int(suggestion_id), run_id)
        if row is None:
            return False
        _release(conn, int(suggestion_id))
        return True


def observe(
    store: SQLBackend,
    suggestion_id: str,
    *,
    run_id: str | None,
    values: Mapping[str, float] | None,
    failure_kind: str | None = None,
) -> Observation | None:
    """Close a suggestion with an observation (``values`` None: failed).

    Returns None, writing nothing, when ``run_id`` no longer holds the lease (the suggestion was
    re-served after this worker was declared lost, or already observed).
    """
    now = time.time()
    with store.transaction() as conn:
        row = _open_lease(conn, int(suggestion_id), run_id)
        if row is None:
            return None
        result = conn.execute(
            t.observations.insert().values(
                experiment_id=row["experiment_id"],
                suggestion_id=row["id"],
                run_id=run_id,
                assignments=row["assignments"],
                values=None if values is None else json.dumps(dict(values)),
                failed=int(values is None),
                failure_kind=failure_kind,
                created=now,
            )
        )
        conn.execute(t.suggestions.update().where(t.suggestions.c.id == row["id"]).values(state="closed"))
        oid = result.inserted_primary_key[0]
        return next(o for o in _observations(conn, row["experiment_id"]) if o.id == str(oid))


def _open_lease(conn: Connection, sid: int, run_id: str | None) -> Any:
    query = sa.select(t.suggestions).where((t.suggestions.c.id == sid) & (t.suggestions.c.state == "open"))
    if run_id is not None:
        query = query.where(t.suggestions.c.lease_run_id == run_id)
    return conn.execute(query).mappings().first()


def observations(store: SQLBackend, experiment_id: str) -> list[Observation]:
    """Every observation of an experiment, oldest first."""
    with store.transaction(write=False) as conn:
        return _observations(conn, int(experiment_id))


def _observations(conn: Connection, eid: int) -> list[Observation]:
    rows = conn.execute(
        sa.select(t.observations).where(t.observations.c.experiment_id == eid).order_by(t.observations.c.id)
    ).mappings()
    return [
        Observation(
            id=str(r["id"]),
            suggestion=None if r["suggestion_id"] is None else str(r["suggestion_id"]),
            run=r["run_id"],
            assignments=json.loads(r["assignments"]),
            values={} if r["values"] is None else json.loads(r["values"]),
            failed=bool(r["failed"]),
            failure_kind=r["failure_kind"],
            created=r["created"],
        )
        for r in rows
    ]


def _suggestion(conn: Connection, sid: int) -> Suggestion:
    row = conn.execute(sa.select(t.suggestions).where(t.suggestions.c.id == sid)).mappings().one()
    return Suggestion(
        id=str(row["id"]),
        experiment=str(row["experiment_id"]),
        assignments=json.loads(row["assignments"]),
        state=row["state"],
        serve_count=row["serve_count"],
    )


def _state(conn: Connection, eid: int) -> str:
    return str(conn.execute(sa.select(t.experiments.c.state).where(t.experiments.c.id == eid)).scalar_one())


def counts(store: SQLBackend, experiment_id: str) -> Counts:
    """Finished (observed), failed and active (leased) counts, after expiring lost leases."""
    with store.transaction() as conn:
        eid = int(experiment_id)
        expire_leases(conn, eid, time.time())
        return _counts(conn, eid)


def _counts(conn: Connection, eid: int) -> Counts:
    by_kind: dict[str, int] = {}
    finished = failed = 0
    for is_failed, kind, n in conn.execute(
        sa.select(t.observations.c.failed, t.observations.c.failure_kind, sa.func.count())
        .where(t.observations.c.experiment_id == eid)
        .group_by(t.observations.c.failed, t.observations.c.failure_kind)
    ):
        finished += n
        if is_failed:
            failed += n
            by_kind[kind or "reported"] = by_kind.get(kind or "reported", 0) + n
    active = conn.execute(
        sa.select(sa.func.count())
        .select_from(t.suggestions)
        .where(
            (t.suggestions.c.experiment_id == eid)
            & (t.suggestions.c.state == "open")
            & t.suggestions.c.leased_at.is_not(None)
        )
    ).scalar_one()
    return Counts(finished=finished, failed=failed, active=int(active), failed_by_kind=by_kind)

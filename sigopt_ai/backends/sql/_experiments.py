"""Experiments in the SQL store: the experiments, their suggestions and observations, and progress.

Every function that changes an experiment runs in one short write transaction (``BEGIN IMMEDIATE``
on SQLite, the experiment's row lock on PostgreSQL), so that several worker processes sharing a store
never receive the same open suggestion and never observe past the budget. Serving suggestions is in
:mod:`._serving`, leases in :mod:`._leases`.

Each operation reads only what it needs, so that the cost of a loop iteration does not grow with the
experiment's history: an observation is returned from what was inserted, observations are read after
an id, and progress is one aggregate query.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sigopt_ai._best import best_observations as best_of
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._failures import FailureKind
from sigopt_ai._models import (
    ExperimentRecord,
    ExperimentState,
    Observation,
    Progress,
    Suggestion,
    SuggestionState,
)
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._engine import Store, row_id
from sigopt_ai.backends.sql._leases import expire_leases, reclaim, stale_leases
from sigopt_ai.backends.sql._projects import insert_project

OPEN = SuggestionState.OPEN.value
ACTIVE = ExperimentState.ACTIVE.value


# -- experiments ------------------------------------------------------------------------------------


def create_experiment(
    store: Store,
    *,
    project: str,
    name: str,
    definition: Mapping[str, Any],
    seed: int,
    lease_timeout: float,
) -> ExperimentRecord:
    """Insert an experiment (and its project) and return it."""
    now = time.time()
    with store.transaction() as conn:
        insert_project(conn, project, now)
        result = conn.execute(
            t.experiments.insert().values(
                project=project,
                name=name,
                definition=json.dumps(definition),
                state=ACTIVE,
                seed=seed,
                suggestion_count=0,
                lease_timeout=lease_timeout,
                created=now,
                updated=now,
            )
        )
        created = experiment_in(conn, int(result.inserted_primary_key[0]))  # type: ignore[index]
        assert created is not None
        return created


def get_experiment(store: Store, experiment_id: str) -> ExperimentRecord | None:
    """The experiment with this id, or None."""
    eid = row_id(experiment_id)
    if eid is None:
        return None
    with store.transaction(write=False) as conn:
        return experiment_in(conn, eid)


def list_experiments(store: Store, *, project: str | None, limit: int | None) -> list[ExperimentRecord]:
    """Experiments, newest first."""
    query = sa.select(t.experiments).order_by(t.experiments.c.created.desc(), t.experiments.c.id.desc())
    if project is not None:
        query = query.where(t.experiments.c.project == project)
    if limit is not None:
        query = query.limit(limit)
    with store.transaction(write=False) as conn:
        return [_experiment_from(row) for row in conn.execute(query).mappings()]


def update_experiment(store: Store, experiment_id: str, changes: Mapping[str, Any]) -> ExperimentRecord | None:
    """Replace top-level fields of an experiment's definition (``changes``: field to its new value)."""
    eid = row_id(experiment_id)
    if eid is None:
        return None
    with store.transaction() as conn:
        # The definition is read, changed and written back: on PostgreSQL, without the lock a rename
        # and a metadata change at once each wrote back the other's old value.
        lock_experiment(conn, eid)
        current = experiment_in(conn, eid)
        if current is None:
            return None
        definition = dict(current.definition)
        definition.update(changes)
        conn.execute(
            t.experiments.update()
            .where(t.experiments.c.id == eid)
            .values(name=definition["name"], definition=json.dumps(definition), updated=time.time())
        )
        return experiment_in(conn, eid)


def archive_experiment(store: Store, experiment_id: str) -> None:
    """Mark an experiment deleted: loops stop serving it."""
    set_experiment_state(store, experiment_id, ExperimentState.DELETED)


def set_experiment_state(store: Store, experiment_id: str, state: ExperimentState) -> None:
    """Archive an experiment (``deleted``) or make it ``active`` again; nothing for an unknown id."""
    eid = row_id(experiment_id)
    if eid is None:
        return
    with store.transaction() as conn:
        conn.execute(
            t.experiments.update().where(t.experiments.c.id == eid).values(state=state.value, updated=time.time())
        )


def experiment_in(conn: Connection, eid: int) -> ExperimentRecord | None:
    row = conn.execute(sa.select(t.experiments).where(t.experiments.c.id == eid)).mappings().first()
    return None if row is None else _experiment_from(row)


def _experiment_from(row: Any) -> ExperimentRecord:
    return ExperimentRecord(
        id=str(row["id"]),
        project=row["project"],
        name=row["name"],
        definition=json.loads(row["definition"]),
        state=ExperimentState(row["state"]),
        seed=row["seed"],
        lease_timeout=row["lease_timeout"],
        created=row["created"],
    )


# -- suggestions and observations -----------------------------------------------------------------


def get_suggestion(store: Store, experiment_id: str, suggestion_id: str) -> Suggestion | None:
    """The suggestion with this id in this experiment, or None."""
    eid, sid = row_id(experiment_id), row_id(suggestion_id)
    if eid is None or sid is None:
        return None
    with store.transaction(write=False) as conn:
        row = (
            conn.execute(
                sa.select(t.suggestions).where((t.suggestions.c.id == sid) & (t.suggestions.c.experiment_id == eid))
            )
            .mappings()
            .first()
        )
        return None if row is None else _suggestion_from(row)


def open_suggestions(store: Store, experiment_id: str) -> list[Suggestion]:
    """The experiment's open suggestions, oldest first."""
    eid = row_id(experiment_id)
    if eid is None:
        return []
    with store.transaction(write=False) as conn:
        rows = conn.execute(
            sa.select(t.suggestions)
            .where((t.suggestions.c.experiment_id == eid) & (t.suggestions.c.state == OPEN))
            .order_by(t.suggestions.c.id)
        ).mappings()
        return [_suggestion_from(row) for row in rows]


def observe(
    store: Store,
    experiment_id: str,
    suggestion_id: str,
    *,
    run_id: str | None,
    values: Mapping[str, float] | None,
    failure_kind: str | None = None,
    run_failure: Mapping[str, Any] | None = None,
) -> Observation | None:
    """Record an observation of a suggestion and close the suggestion (see :class:`Backend`)."""
    eid, sid = row_id(experiment_id), row_id(suggestion_id)
    if eid is None or sid is None:
        return None
    now = time.time()
    with store.transaction() as conn:
        # Observations of one experiment are inserted one at a time, so their ids follow their commits
        # (PostgreSQL draws ids before commit) and a reader that saw id n has seen every earlier one.
        lock_experiment(conn, eid)
        row = (
            conn.execute(
                sa.select(t.suggestions).where((t.suggestions.c.id == sid) & (t.suggestions.c.experiment_id == eid))
            )
            .mappings()
            .first()
        )
        if row is None or (run_id is None and row["state"] != OPEN):
            return None
        if run_id is not None:
            reclaim(conn, run_id, run_failure)
        result = conn.execute(
            t.observations.insert().values(
                experiment_id=eid,
                suggestion_id=sid,
                run_id=run_id,
                assignments=row["assignments"],
                values=None if values is None else json.dumps(dict(values)),
                failed=int(values is None),
                failure_kind=failure_kind,
                created=now,
            )
        )
        conn.execute(t.suggestions.update().where(t.suggestions.c.id == sid).values(state=SuggestionState.CLOSED.value))
        return Observation(
            json.loads(row["assignments"]),
            {} if values is None else dict(values),
            values is None,
            failure_kind,
            id=str(result.inserted_primary_key[0]),  # type: ignore[index]
            suggestion=str(sid),
            run=run_id,
            created=now,
            extra=row["state"] != OPEN,  # the suggestion had a result already
        )


def observations(store: Store, experiment_id: str, *, after: str | None = None) -> list[Observation]:
    """The observations of an experiment after the one with id ``after`` (all when None), oldest first."""
    eid = row_id(experiment_id)
    if eid is None:
        return []
    with store.transaction(write=False) as conn:
        return observations_in(conn, eid, after=after)


def best_observations(store: Store, experiment_id: str) -> list[Observation]:
    """SigOpt's best assignments of an experiment (see :func:`sigopt_ai._best.best_observations`)."""
    experiment = get_experiment(store, experiment_id)
    if experiment is None:
        return []
    return best_of(ExperimentDefinition.from_json(experiment.definition), observations(store, experiment_id))


def _earlier_result() -> Any:
    """Whether an observation's suggestion had an observation before it: then it is an extra one."""
    earlier = t.observations.alias("earlier")
    return (
        sa.exists()
        .where((earlier.c.suggestion_id == t.observations.c.suggestion_id) & (earlier.c.id < t.observations.c.id))
        .label("extra")
    )


def observations_in(conn: Connection, eid: int, *, after: str | None = None) -> list[Observation]:
    query = (
        sa.select(t.observations, _earlier_result())
        .where(t.observations.c.experiment_id == eid)
        .order_by(t.observations.c.id)
    )
    if after is not None:
        after_id = row_id(after)
        if after_id is None:  # a cursor that names no observation: nothing is after it
            return []
        query = query.where(t.observations.c.id > after_id)
    return [
        Observation(
            json.loads(r["assignments"]),
            {} if r["values"] is None else json.loads(r["values"]),
            bool(r["failed"]),
            r["failure_kind"],
            id=str(r["id"]),
            suggestion=None if r["suggestion_id"] is None else str(r["suggestion_id"]),
            run=r["run_id"],
            created=r["created"],
            extra=bool(r["extra"]),
        )
        for r in conn.execute(query).mappings()
    ]


def suggestion_in(conn: Connection, sid: int) -> Suggestion:
    row = conn.execute(sa.select(t.suggestions).where(t.suggestions.c.id == sid)).mappings().one()
    return _suggestion_from(row)


def _suggestion_from(row: Any) -> Suggestion:
    return Suggestion(
        id=str(row["id"]),
        experiment=str(row["experiment_id"]),
        assignments=json.loads(row["assignments"]),
        state=SuggestionState(row["state"]),
        serve_count=row["serve_count"],
        run=row["lease_run_id"],
        leased=row["leased_at"] is not None,
        created=row["created"],
    )


def state_in(conn: Connection, eid: int) -> str:
    return str(conn.execute(sa.select(t.experiments.c.state).where(t.experiments.c.id == eid)).scalar_one())


# -- progress -------------------------------------------------------------------------------------


def progress(store: Store, experiment_id: str) -> Progress | None:
    """Budget, finished (observed), failed and active (leased) counts, after expiring lost leases."""
    eid = row_id(experiment_id)
    if eid is None:
        return None
    with store.transaction(write=False) as conn:  # the write lock only when a lease has expired
        experiment = experiment_in(conn, eid)
        if experiment is None:
            return None
        stale = bool(stale_leases(conn, eid, time.time()))
        if not stale:
            counts, (active, manual) = observation_counts(conn, eid), leased_counts(conn, eid)
    if stale:
        with store.transaction() as conn:
            expire_leases(conn, eid, time.time())
            counts, (active, manual) = observation_counts(conn, eid), leased_counts(conn, eid)
    budget = experiment.budget
    return Progress(
        budget=budget,
        finished=counts.finished,
        failed=counts.failed,
        active=active,
        remaining=None if budget is None else max(0, budget - counts.finished - active),
        failed_by_kind=counts.failed_by_kind,
        extra=counts.extra,
        manual=manual,
    )


@dataclass(frozen=True, slots=True)
class _Counts:
    finished: int
    failed: int
    extra: int
    failed_by_kind: dict[str, int]


def observation_counts(conn: Connection, eid: int) -> _Counts:
    """Observed suggestions, failed ones by kind, and extra results: one aggregate query."""
    rows = sa.select(t.observations.c.failed, t.observations.c.failure_kind, _earlier_result()).where(
        t.observations.c.experiment_id == eid
    )
    sub = rows.subquery()
    grouped = conn.execute(
        sa.select(sub.c.failed, sub.c.failure_kind, sub.c.extra, sa.func.count()).group_by(
            sub.c.failed, sub.c.failure_kind, sub.c.extra
        )
    ).all()
    finished = failed = extra = 0
    by_kind: dict[str, int] = {}
    for is_failed, kind, is_extra, n in grouped:
        if is_extra:  # a second result for one suggestion spends no budget
            extra += n
            continue
        finished += n
        if is_failed:
            failed += n
            key = kind or FailureKind.REPORTED.value
            by_kind[key] = by_kind.get(key, 0) + n
    return _Counts(finished, failed, extra, by_kind)


def leased_counts(conn: Connection, eid: int) -> tuple[int, int]:
    """How many open suggestions are leased, and how many of those went to ``suggest()`` (no run)."""
    leased = conn.execute(
        sa.select(t.suggestions.c.lease_run_id.is_(None), sa.func.count())
        .where(
            (t.suggestions.c.experiment_id == eid)
            & (t.suggestions.c.state == OPEN)
            & t.suggestions.c.leased_at.is_not(None)
        )
        .group_by(t.suggestions.c.lease_run_id.is_(None))
    ).all()
    return sum(int(n) for _, n in leased), sum(int(n) for is_manual, n in leased if is_manual)


def lock_experiment(conn: Connection, eid: int) -> None:
    """Serialise writers of one experiment (a row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    conn.execute(sa.select(t.experiments.c.id).where(t.experiments.c.id == eid).with_for_update()).first()

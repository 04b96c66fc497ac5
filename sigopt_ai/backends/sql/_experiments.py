"""Experiments in the SQL store: suggestions with leases, observations, budget and progress.

Every function that changes an experiment runs in one short write transaction (``BEGIN IMMEDIATE``
on SQLite, the experiment's row lock on PostgreSQL), so several worker processes sharing a store
never receive the same open suggestion and never observe past the budget. Nothing slow runs inside
it: the experiment service computes a suggestion from a snapshot read with no write transaction
open, because every process's writer thread renews its runs' leases (heartbeats) through the same
write lock, and a lease that waits behind a fit expires while its worker is alive.

The budget counts suggestions, not observations: a suggestion is spent once it has an observation.
A worker declared lost (its lease expired and the suggestion went to another worker) that finishes
after all still has its result recorded; when the suggestion already had an observation, the result
is kept as an *extra* observation (``Observation.extra``) that the optimizer sees but that spends no
budget, so the budget stays exact and no finished run is dropped.

Each operation reads only what it needs, so that the cost of a loop iteration does not grow with the
experiment's history: a suggestion reads the observations after the last one the service saw, an
observation is returned from what was inserted, and progress is one aggregate query.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

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
    RunState,
    Suggestion,
    SuggestionState,
)
from sigopt_ai._types import ParamValue
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.optimizer import Snapshot, SuggestionService


class SQLBackend(Protocol):
    """The store these functions work in: its transactions."""

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Connection]:
        """One transaction (a write one takes the store's write lock)."""


LEASE_EXPIRED = "sigopt_ai.LeaseExpired"
"""The failure type of a run declared lost because its lease expired (its real end replaces it)."""

_RACES = 2
"""Races lost to other workers' inserts after which a computed suggestion is inserted anyway."""

_ROUNDS = 20
"""Snapshots per serve at most (a round whose waiting suggestion another worker took is not a race)."""

QUICK_SUGGESTION_S = 0.05
"""A strategy that answers faster than this (a quasi-random point) may run once inside the write lock
after lost races: far shorter than any lease, so no heartbeat waits long behind it."""

_OPEN = SuggestionState.OPEN.value
_ACTIVE = ExperimentState.ACTIVE.value
_MAX_ID = 2**63


def _id(text: str) -> int | None:
    """The row id an experiment, suggestion or observation id names, or None if it names none."""
    text = str(text)
    if not (text.isascii() and text.isdigit()) or int(text) >= _MAX_ID:
        return None
    return int(text)


# -- experiments ------------------------------------------------------------------------------------


def create_experiment(
    store: SQLBackend,
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
        if conn.execute(sa.select(t.projects.c.id).where(t.projects.c.id == project)).first() is None:
            conn.execute(t.projects.insert().values(id=project, created=now))
        result = conn.execute(
            t.experiments.insert().values(
                project=project,
                name=name,
                definition=json.dumps(definition),
                state=_ACTIVE,
                seed=seed,
                suggestion_count=0,
                lease_timeout=lease_timeout,
                created=now,
                updated=now,
            )
        )
        created = _experiment(conn, int(result.inserted_primary_key[0]))  # type: ignore[index]
        assert created is not None
        return created


def get_experiment(store: SQLBackend, experiment_id: str) -> ExperimentRecord | None:
    """The experiment with this id, or None."""
    eid = _id(experiment_id)
    if eid is None:
        return None
    with store.transaction(write=False) as conn:
        return _experiment(conn, eid)


def list_experiments(store: SQLBackend, *, project: str | None, limit: int | None) -> list[ExperimentRecord]:
    """Experiments, newest first."""
    query = sa.select(t.experiments).order_by(t.experiments.c.created.desc(), t.experiments.c.id.desc())
    if project is not None:
        query = query.where(t.experiments.c.project == project)
    if limit is not None:
        query = query.limit(limit)
    with store.transaction(write=False) as conn:
        return [_experiment_from(row) for row in conn.execute(query).mappings()]


def update_experiment(
    store: SQLBackend, experiment_id: str, *, name: str | None, metadata: Mapping[str, Any] | None
) -> ExperimentRecord | None:
    """Rename an experiment or replace its metadata."""
    eid = _id(experiment_id)
    if eid is None:
        return None
    with store.transaction() as conn:
        current = _experiment(conn, eid)
        if current is None:
            return None
        definition = dict(current.definition)
        if name is not None:
            definition["name"] = name
        if metadata is not None:
            definition["metadata"] = dict(metadata)
        conn.execute(
            t.experiments.update()
            .where(t.experiments.c.id == eid)
            .values(name=definition["name"], definition=json.dumps(definition), updated=time.time())
        )
        return _experiment(conn, eid)


def archive_experiment(store: SQLBackend, experiment_id: str) -> None:
    """Mark an experiment deleted: loops stop serving it."""
    eid = _id(experiment_id)
    if eid is None:
        return
    with store.transaction() as conn:
        conn.execute(
            t.experiments.update()
            .where(t.experiments.c.id == eid)
            .values(state=ExperimentState.DELETED.value, updated=time.time())
        )


def _experiment(conn: Connection, eid: int) -> ExperimentRecord | None:
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


# -- serving suggestions ----------------------------------------------------------------------------


def serve(
    store: SQLBackend, service: SuggestionService, experiment_id: str, *, run_id: str | None
) -> Suggestion | None:
    """Lease a suggestion to ``run_id`` (None: a manual ``suggest()``), or None when the budget is spent.

    A suggestion released by an interrupted or lost worker is served before a new one is made. A new
    one is computed by the service from a snapshot read with no write transaction open, then inserted
    in a short write transaction if no other worker inserted one meanwhile (``suggestion_count``
    unchanged); else it is computed again from the new state. After ``_RACES`` lost races the last one
    is inserted anyway, or, when the strategy answered in under ``QUICK_SUGGESTION_S`` (a quasi-random
    point, not a fit), computed once more inside the lock so that it continues the sequence exactly.
    """
    eid = _id(experiment_id)
    if eid is None:
        return None
    races = 0
    for round_ in range(_ROUNDS):
        last_round = round_ == _ROUNDS - 1
        read = _read(store, service, eid)
        if read is None:
            return None
        assignments, quick = None, False
        if last_round or not (read.waiting or read.full):
            started = time.perf_counter()
            assignments = _suggest(store, service, eid, read)
            quick = time.perf_counter() - started < QUICK_SUGGESTION_S
        again = functools.partial(_suggest_in, service=service, experiment=read.experiment) if quick else None
        claim = _Claim(assignments, read.snapshot.index, final=last_round or races >= _RACES, again=again)
        granted = _grant(store, eid, run_id, read.experiment.budget, claim)
        if granted is not _RACE_LOST:
            return granted
        races += assignments is not None
    return None  # not reached: the last round always inserts or finds the budget spent


class _RaceLost:
    """Another worker changed the experiment between the snapshot and the write lock."""


_RACE_LOST: Any = _RaceLost()


@dataclass(frozen=True, slots=True)
class _Claim:
    """A suggestion computed outside the lock, and what to do if another worker inserted meanwhile."""

    assignments: dict[str, ParamValue] | None  # None: the snapshot promised a waiting suggestion
    index: int  # the sequence index it was computed at
    final: bool  # no more races: insert it even if the index moved on
    again: Callable[[Connection], dict[str, ParamValue]] | None  # a quick strategy, run again under the lock


@dataclass(frozen=True, slots=True)
class _Read:
    """What serving needs, read without the write lock."""

    experiment: ExperimentRecord
    snapshot: Snapshot
    waiting: bool  # an open suggestion is unleased or its lease is stale: it is served, no new one
    full: bool  # the budget is spent as of this read


def _read(store: SQLBackend, service: SuggestionService, eid: int) -> _Read | None:
    """The service's snapshot and whether a suggestion is waiting; None if the experiment is not active."""
    with store.transaction(write=False) as conn:
        experiment = _experiment(conn, eid)
        if experiment is None or experiment.state is not ExperimentState.ACTIVE:
            return None
        snapshot = _snapshot(conn, eid, service.after(experiment))
        finished = _observation_counts(conn, eid).finished
        budget = experiment.budget
        return _Read(
            experiment=experiment,
            snapshot=snapshot,
            waiting=_waiting_suggestion(conn, eid) is not None or bool(_stale(conn, eid, time.time())),
            full=budget is not None and finished + _leased(conn, eid)[0] >= budget,
        )


def _snapshot(conn: Connection, eid: int, after: str | None) -> Snapshot:
    """What the service asks for: the sequence index, pending assignments, and observations after ``after``."""
    index = conn.execute(sa.select(t.experiments.c.suggestion_count).where(t.experiments.c.id == eid)).scalar_one()
    pending = conn.execute(
        sa.select(t.suggestions.c.assignments).where(
            (t.suggestions.c.experiment_id == eid) & (t.suggestions.c.state == _OPEN)
        )
    ).scalars()
    count = conn.execute(
        sa.select(sa.func.count()).select_from(t.observations).where(t.observations.c.experiment_id == eid)
    ).scalar_one()
    return Snapshot(
        index=int(index),
        pending=[json.loads(a) for a in pending],
        observation_count=int(count),
        observations=_observations(conn, eid, after=after),
        after=after,
    )


def _suggest(store: SQLBackend, service: SuggestionService, eid: int, read: _Read) -> dict[str, ParamValue]:
    """The service's suggestion; a snapshot that does not continue what it saw is read again in full."""
    assignments = service.suggest(read.experiment, read.snapshot)
    if assignments is None:
        with store.transaction(write=False) as conn:
            snapshot = _snapshot(conn, eid, None)
        assignments = service.suggest(read.experiment, snapshot)
        assert assignments is not None  # a full read always continues (replaces) what was seen
    return assignments


def _suggest_in(conn: Connection, *, service: SuggestionService, experiment: ExperimentRecord) -> dict[str, ParamValue]:
    eid = int(experiment.id)
    assignments = service.suggest(experiment, _snapshot(conn, eid, service.after(experiment)))
    if assignments is None:
        assignments = service.suggest(experiment, _snapshot(conn, eid, None))
        assert assignments is not None
    return assignments


def _grant(store: SQLBackend, eid: int, run_id: str | None, budget: int | None, claim: _Claim) -> Suggestion | None:
    """Under the write lock: expire leases, check the budget, lease a waiting suggestion or insert the
    claimed one. Returns ``_RACE_LOST`` when it must be computed again."""
    with store.transaction() as conn:
        _lock(conn, eid)
        now = time.time()  # after the lock: a lease starts when it is granted, not when it was asked for
        expire_leases(conn, eid, now)
        if _state(conn, eid) != _ACTIVE:
            return None
        if budget is not None and _observation_counts(conn, eid).finished + _leased(conn, eid)[0] >= budget:
            return None
        sid = _waiting_suggestion(conn, eid)
        if sid is None:
            assignments = _claimed(conn, eid, claim)
            if assignments is None:
                return _RACE_LOST  # type: ignore[no-any-return]
            sid = _insert_suggestion(conn, eid, assignments, now)
        conn.execute(
            t.suggestions.update()
            .where(t.suggestions.c.id == sid)
            .values(lease_run_id=run_id, leased_at=now, serve_count=t.suggestions.c.serve_count + 1)
        )
        return _suggestion(conn, sid)


def _claimed(conn: Connection, eid: int, claim: _Claim) -> dict[str, ParamValue] | None:
    """The assignments to insert now, or None when the race is lost and must be run again."""
    current = conn.execute(sa.select(t.experiments.c.suggestion_count).where(t.experiments.c.id == eid)).scalar_one()
    if claim.assignments is not None and current == claim.index:
        return claim.assignments
    if not claim.final:
        return None
    if claim.again is not None:  # a quick strategy: continue the sequence exactly, briefly under the lock
        return claim.again(conn)
    return claim.assignments  # a fit computed on a state one insert behind: still a valid suggestion


def _lock(conn: Connection, eid: int) -> None:
    """Serialise writers of one experiment (a row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    conn.execute(sa.select(t.experiments.c.id).where(t.experiments.c.id == eid).with_for_update()).first()


def _waiting_suggestion(conn: Connection, eid: int) -> int | None:
    """The oldest open suggestion nobody holds (released by an interrupted or lost worker)."""
    sid = conn.execute(
        sa.select(t.suggestions.c.id)
        .where(
            (t.suggestions.c.experiment_id == eid)
            & (t.suggestions.c.state == _OPEN)
            & t.suggestions.c.leased_at.is_(None)
        )
        .order_by(t.suggestions.c.id)
        .limit(1)
    ).scalar()
    return None if sid is None else int(sid)


def _insert_suggestion(conn: Connection, eid: int, assignments: Mapping[str, ParamValue], now: float) -> int:
    conn.execute(
        t.experiments.update()
        .where(t.experiments.c.id == eid)
        .values(suggestion_count=t.experiments.c.suggestion_count + 1)
    )
    result = conn.execute(
        t.suggestions.insert().values(
            experiment_id=eid, assignments=json.dumps(dict(assignments)), state=_OPEN, serve_count=0, created=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


# -- leases ---------------------------------------------------------------------------------------


def _lease_timeout(conn: Connection, eid: int) -> float:
    return float(conn.execute(sa.select(t.experiments.c.lease_timeout).where(t.experiments.c.id == eid)).scalar_one())


def _stale(conn: Connection, eid: int, now: float) -> list[tuple[int, str]]:
    """Open suggestions leased to a run that sent no heartbeat for longer than the lease timeout."""
    timeout = _lease_timeout(conn, eid)
    heartbeat = sa.func.coalesce(t.runs.c.heartbeat, t.suggestions.c.leased_at)
    rows = conn.execute(
        sa.select(t.suggestions.c.id, t.suggestions.c.lease_run_id)
        .select_from(t.suggestions.outerjoin(t.runs, t.runs.c.id == t.suggestions.c.lease_run_id))
        .where(
            (t.suggestions.c.experiment_id == eid)
            & (t.suggestions.c.state == _OPEN)
            & t.suggestions.c.lease_run_id.is_not(None)
            & (heartbeat < now - timeout)
        )
    ).all()
    return [(int(sid), str(run_id)) for sid, run_id in rows]


def expire_leases(conn: Connection, eid: int, now: float) -> list[str]:
    """Release suggestions whose run stopped heartbeating; fail those runs as ``infrastructure``.

    A run declared lost here that finishes after all gets its real end back (see :func:`observe`).

    Returns:
        The ids of the runs declared lost.
    """
    stale = _stale(conn, eid, now)
    if not stale:
        return []
    timeout = _lease_timeout(conn, eid)
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
                failure_type=LEASE_EXPIRED,
                failure_message=f"The worker stopped sending heartbeats for more than {timeout:g} s; "
                "the suggestion was served again.",
            )
        )
        if updated.rowcount:
            lost.append(run_id)
    return lost


def _release(conn: Connection, sid: int) -> None:
    conn.execute(t.suggestions.update().where(t.suggestions.c.id == sid).values(lease_run_id=None, leased_at=None))


def _reclaim(conn: Connection, run_id: str, failure: Mapping[str, Any] | None) -> None:
    """Give a run that was declared lost but finished after all its real outcome: active again (its
    end is queued behind this), or failed with its own failure."""
    conn.execute(
        t.runs.update()
        .where((t.runs.c.id == run_id) & (t.runs.c.failure_type == LEASE_EXPIRED))
        .values(
            state=(RunState.FAILED if failure else RunState.ACTIVE).value,
            ended=None,
            failure_kind=None if failure is None else FailureKind(failure["kind"]).value,
            failure_type=None if failure is None else failure.get("type"),
            failure_message=None if failure is None else failure.get("message") or "",
            failure_traceback=None if failure is None else failure.get("traceback"),
        )
    )


def release(
    store: SQLBackend, experiment_id: str, suggestion_id: str, run_id: str, run_failure: Mapping[str, Any] | None
) -> bool:
    """Put a suggestion back to be served again, if ``run_id`` still holds its lease (see :class:`Backend`)."""
    eid, sid = _id(experiment_id), _id(suggestion_id)
    if eid is None or sid is None:
        return False
    with store.transaction() as conn:
        _reclaim(conn, run_id, run_failure)
        held = conn.execute(
            sa.select(t.suggestions.c.id).where(
                (t.suggestions.c.id == sid)
                & (t.suggestions.c.experiment_id == eid)
                & (t.suggestions.c.state == _OPEN)
                & (t.suggestions.c.lease_run_id == run_id)
            )
        ).first()
        if held is None:
            return False
        _release(conn, sid)
        return True


# -- suggestions and observations -----------------------------------------------------------------


def get_suggestion(store: SQLBackend, experiment_id: str, suggestion_id: str) -> Suggestion | None:
    """The suggestion with this id in this experiment, or None."""
    eid, sid = _id(experiment_id), _id(suggestion_id)
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


def open_suggestions(store: SQLBackend, experiment_id: str) -> list[Suggestion]:
    """The experiment's open suggestions, oldest first."""
    eid = _id(experiment_id)
    if eid is None:
        return []
    with store.transaction(write=False) as conn:
        rows = conn.execute(
            sa.select(t.suggestions)
            .where((t.suggestions.c.experiment_id == eid) & (t.suggestions.c.state == _OPEN))
            .order_by(t.suggestions.c.id)
        ).mappings()
        return [_suggestion_from(row) for row in rows]


def observe(
    store: SQLBackend,
    experiment_id: str,
    suggestion_id: str,
    *,
    run_id: str | None,
    values: Mapping[str, float] | None,
    failure_kind: str | None = None,
    run_failure: Mapping[str, Any] | None = None,
) -> Observation | None:
    """Record an observation of a suggestion and close the suggestion (see :class:`Backend`)."""
    eid, sid = _id(experiment_id), _id(suggestion_id)
    if eid is None or sid is None:
        return None
    now = time.time()
    with store.transaction() as conn:
        # Observations of one experiment are inserted one at a time, so their ids follow their commits
        # (PostgreSQL draws ids before commit) and a reader that saw id n has seen every earlier one.
        _lock(conn, eid)
        row = (
            conn.execute(
                sa.select(t.suggestions).where((t.suggestions.c.id == sid) & (t.suggestions.c.experiment_id == eid))
            )
            .mappings()
            .first()
        )
        if row is None or (run_id is None and row["state"] != _OPEN):
            return None
        if run_id is not None:
            _reclaim(conn, run_id, run_failure)
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
            extra=row["state"] != _OPEN,  # the suggestion had a result already
        )


def observations(store: SQLBackend, experiment_id: str, *, after: str | None = None) -> list[Observation]:
    """The observations of an experiment after the one with id ``after`` (all when None), oldest first."""
    eid = _id(experiment_id)
    if eid is None:
        return []
    with store.transaction(write=False) as conn:
        return _observations(conn, eid, after=after)


def best_observations(store: SQLBackend, experiment_id: str) -> list[Observation]:
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


def _observations(conn: Connection, eid: int, *, after: str | None = None) -> list[Observation]:
    query = (
        sa.select(t.observations, _earlier_result())
        .where(t.observations.c.experiment_id == eid)
        .order_by(t.observations.c.id)
    )
    if after is not None:
        after_id = _id(after)
        query = query.where(t.observations.c.id > (-1 if after_id is None else after_id))
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


def _suggestion(conn: Connection, sid: int) -> Suggestion:
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


def _state(conn: Connection, eid: int) -> str:
    return str(conn.execute(sa.select(t.experiments.c.state).where(t.experiments.c.id == eid)).scalar_one())


# -- progress -------------------------------------------------------------------------------------


def progress(store: SQLBackend, experiment_id: str) -> Progress | None:
    """Budget, finished (observed), failed and active (leased) counts, after expiring lost leases."""
    eid = _id(experiment_id)
    if eid is None:
        return None
    with store.transaction() as conn:
        experiment = _experiment(conn, eid)
        if experiment is None:
            return None
        expire_leases(conn, eid, time.time())
        counts = _observation_counts(conn, eid)
        active, manual = _leased(conn, eid)
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


def _observation_counts(conn: Connection, eid: int) -> _Counts:
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


def _leased(conn: Connection, eid: int) -> tuple[int, int]:
    """How many open suggestions are leased, and how many of those went to ``suggest()`` (no run)."""
    leased = conn.execute(
        sa.select(t.suggestions.c.lease_run_id.is_(None), sa.func.count())
        .where(
            (t.suggestions.c.experiment_id == eid)
            & (t.suggestions.c.state == _OPEN)
            & t.suggestions.c.leased_at.is_not(None)
        )
        .group_by(t.suggestions.c.lease_run_id.is_(None))
    ).all()
    return sum(int(n) for _, n in leased), sum(int(n) for is_manual, n in leased if is_manual)

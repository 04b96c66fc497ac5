"""Experiments in the SQL store: suggestions with leases, observations, budget and progress.

Every function that changes an experiment runs in one short write transaction (``BEGIN IMMEDIATE``
on SQLite, a row lock on PostgreSQL), so several worker processes sharing a store never receive the
same open suggestion and never observe past the budget. Nothing slow runs inside it: the strategy
computes a suggestion from a read snapshot with no transaction open, because every process's writer
thread renews its runs' leases (heartbeats) through the same write lock, and a lease that waits
behind a fit expires while its worker is alive.

The budget counts suggestions, not observations: a suggestion is spent once it has an observation.
A worker declared lost (its lease expired and the suggestion went to another worker) that finishes
after all still has its result recorded; when the suggestion already had an observation, the result
is kept as an *extra* observation (``Observation.extra``) that the optimizer sees but that spends no
budget, so the budget stays exact and no finished run is dropped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sigopt_ai.backends.sql import _schema as t
from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._models import ExperimentRecord as StoredExperiment
from sigopt_ai._models import ExperimentState, Observation, Progress, RunState, Suggestion, SuggestionState
from sigopt_ai._types import ParamValue
from sigopt_ai.backends.sql._backend import SQLBackend

Suggest = Callable[[Sequence[Observation], Sequence[Mapping[str, ParamValue]], int], dict[str, ParamValue]]

LEASE_EXPIRED = "sigopt_ai.LeaseExpired"
"""The failure type of a run declared lost because its lease expired (its real end replaces it)."""

_RACES = 2
"""Races lost to other workers' inserts after which a computed suggestion is inserted anyway."""

_ROUNDS = 20
"""Snapshots per serve at most (a round whose waiting suggestion another worker took is not a race)."""

QUICK_SUGGESTION_S = 0.05
"""A strategy that answers faster than this (a quasi-random point) may run once inside the write lock
after lost races: far shorter than any lease, so no heartbeat waits long behind it."""


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
        state=ExperimentState(row["state"]),
        seed=row["seed"],
        lease_timeout=row["lease_timeout"],
        created=row["created"],
    )


def serve(
    store: SQLBackend, experiment_id: str, *, run_id: str | None, budget: int | None, suggest: Suggest
) -> Suggestion | None:
    """Lease a suggestion to ``run_id`` (None: a manual ``suggest()``), or None when the budget is spent.

    A suggestion released by an interrupted or lost worker is served before a new one is made. A new
    one is computed from a read snapshot with no transaction open, then inserted in a short write
    transaction if no other worker inserted one meanwhile (``suggestion_count`` unchanged); else it
    is computed again from the new state. After ``_RACES`` lost races the last one is inserted
    anyway, or, when the strategy answered in under ``QUICK_SUGGESTION_S`` (a quasi-random point,
    not a fit), computed once more inside the lock so that it continues the sequence exactly.
    """
    eid = int(experiment_id)
    races = 0
    for round_ in range(_ROUNDS):
        last_round = round_ == _ROUNDS - 1
        snapshot = _read_snapshot(store, eid, budget)
        if snapshot is None:
            return None
        assignments, quick = None, False
        if last_round or not (snapshot.waiting or snapshot.full):
            started = time.perf_counter()
            assignments = suggest(snapshot.observations, snapshot.pending, snapshot.index)
            quick = time.perf_counter() - started < QUICK_SUGGESTION_S
        claim = _Claim(
            assignments, snapshot.index, final=last_round or races >= _RACES, again=suggest if quick else None
        )
        granted = _grant(store, eid, run_id, budget, claim)
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
    again: Suggest | None  # a quick strategy, run again under the lock on a final lost race


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What a strategy needs, read without the write lock."""

    observations: list[Observation]
    pending: list[dict[str, ParamValue]]
    index: int
    waiting: bool  # an open suggestion is unleased or its lease is stale: it is served, no new one
    full: bool  # the budget is spent as of this read


def _strategy_input(conn: Connection, eid: int) -> tuple[list[Observation], list[dict[str, ParamValue]], int]:
    """The observations, the open suggestions' assignments and the sequence index of an experiment."""
    index = conn.execute(sa.select(t.experiments.c.suggestion_count).where(t.experiments.c.id == eid)).scalar_one()
    pending = conn.execute(
        sa.select(t.suggestions.c.assignments).where(
            (t.suggestions.c.experiment_id == eid) & (t.suggestions.c.state == "open")
        )
    ).scalars()
    return _observations(conn, eid), [json.loads(a) for a in pending], int(index)


def _read_snapshot(store: SQLBackend, eid: int, budget: int | None) -> _Snapshot | None:
    """What the strategy needs and whether a suggestion is waiting; None if the experiment is not active."""
    with store.transaction(write=False) as conn:
        if _state(conn, eid) != "active":
            return None
        observations, pending, index = _strategy_input(conn, eid)
        finished = sum(not o.extra for o in observations)  # as _counts counts them
        return _Snapshot(
            observations=observations,
            pending=pending,
            index=index,
            waiting=_waiting_suggestion(conn, eid) is not None or bool(_stale(conn, eid, time.time())),
            full=budget is not None and finished + _leased(conn, eid)[0] >= budget,
        )


def _grant(store: SQLBackend, eid: int, run_id: str | None, budget: int | None, claim: _Claim) -> Suggestion | None:
    """Under the write lock: expire leases, check the budget, lease a waiting suggestion or insert the
    claimed one. Returns ``_RACE_LOST`` when it must be computed again."""
    with store.transaction() as conn:
        _lock(conn, eid)
        now = time.time()  # after the lock: a lease starts when it is granted, not when it was asked for
        expire_leases(conn, eid, now)
        if _state(conn, eid) != "active":
            return None
        counts = _counts(conn, eid)
        if budget is not None and counts.finished + counts.active >= budget:
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
        observations, pending, index = _strategy_input(conn, eid)
        return claim.again(observations, pending, index)
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
            & (t.suggestions.c.state == "open")
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
            experiment_id=eid, assignments=json.dumps(dict(assignments)), state="open", serve_count=0, created=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


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
            & (t.suggestions.c.state == "open")
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


def _reclaim(conn: Connection, run_id: str, failure: FailureInfo | None) -> None:
    """Give a run that was declared lost but finished after all its real outcome: active again (its
    end is queued behind this), or failed with its own failure."""
    conn.execute(
        t.runs.update()
        .where((t.runs.c.id == run_id) & (t.runs.c.failure_type == LEASE_EXPIRED))
        .values(
            state=(RunState.FAILED if failure else RunState.ACTIVE).value,
            ended=None,
            failure_kind=None if failure is None else failure.kind.value,
            failure_type=None if failure is None else failure.type,
            failure_message=None if failure is None else failure.message,
            failure_traceback=None if failure is None else failure.traceback,
        )
    )


def release(store: SQLBackend, suggestion_id: str, run_id: str, failure: FailureInfo | None = None) -> bool:
    """Put a suggestion back to be served again, if ``run_id`` still holds its lease.

    Args:
        suggestion_id: The suggestion.
        run_id: The run that evaluated it.
        failure: The run's own failure, recorded in place of a lease expiry if it was declared lost.

    Returns:
        Whether the suggestion was released (False: the run no longer held it).
    """
    with store.transaction() as conn:
        _reclaim(conn, run_id, failure)
        row = _open_lease(conn, int(suggestion_id), run_id)
        if row is None:
            return False
        _release(conn, int(suggestion_id))
        return True


def get_suggestion(store: SQLBackend, experiment_id: str, suggestion_id: str) -> Suggestion | None:
    """The suggestion with this id in this experiment, or None."""
    if not (suggestion_id.isascii() and suggestion_id.isdigit() and int(suggestion_id) < 2**63):
        return None  # not an id the store could hold
    with store.transaction(write=False) as conn:
        row = conn.execute(
            sa.select(t.suggestions.c.id).where(
                (t.suggestions.c.id == int(suggestion_id)) & (t.suggestions.c.experiment_id == int(experiment_id))
            )
        ).first()
        return None if row is None else _suggestion(conn, int(row.id))


def manual_suggestions(store: SQLBackend, experiment_id: str) -> list[Suggestion]:
    """Open suggestions served by ``suggest()`` (no run holds them, so no lease expires)."""
    with store.transaction(write=False) as conn:
        ids = conn.execute(
            sa.select(t.suggestions.c.id)
            .where(
                (t.suggestions.c.experiment_id == int(experiment_id))
                & (t.suggestions.c.state == "open")
                & t.suggestions.c.leased_at.is_not(None)
                & t.suggestions.c.lease_run_id.is_(None)
            )
            .order_by(t.suggestions.c.id)
        ).scalars()
        return [_suggestion(conn, int(sid)) for sid in ids]


def observe(
    store: SQLBackend,
    experiment_id: str,
    suggestion_id: str,
    *,
    run_id: str | None,
    values: Mapping[str, float] | None,
    failure_kind: str | None = None,
    run_failure: FailureInfo | None = None,
) -> Observation | None:
    """Record an observation of a suggestion (``values`` None: failed) and close the suggestion.

    A manual observation (``run_id`` None) needs the suggestion open in this experiment; else None is
    returned and nothing written. A run's result is always recorded: if another worker holds the
    suggestion now (this run was declared lost), this result closes it and the other worker's later
    one becomes an extra observation; if it is closed already, this result is the extra one. A run
    declared lost gets its real outcome back (``run_failure``, or active until its end is written).
    """
    eid = int(experiment_id)
    now = time.time()
    with store.transaction() as conn:
        row = (
            conn.execute(
                sa.select(t.suggestions).where(
                    (t.suggestions.c.id == int(suggestion_id)) & (t.suggestions.c.experiment_id == eid)
                )
            )
            .mappings()
            .first()
        )
        if row is None or (run_id is None and row["state"] != "open"):
            return None
        if run_id is not None:
            _reclaim(conn, run_id, run_failure)
        result = conn.execute(
            t.observations.insert().values(
                experiment_id=eid,
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
        oid = str(result.inserted_primary_key[0])
        return next(o for o in _observations(conn, eid) if o.id == oid)


def _open_lease(conn: Connection, sid: int, run_id: str) -> Any:
    query = sa.select(t.suggestions).where(
        (t.suggestions.c.id == sid) & (t.suggestions.c.state == "open") & (t.suggestions.c.lease_run_id == run_id)
    )
    return conn.execute(query).mappings().first()


def observations(store: SQLBackend, experiment_id: str) -> list[Observation]:
    """Every observation of an experiment, oldest first."""
    with store.transaction(write=False) as conn:
        return _observations(conn, int(experiment_id))


def _observations(conn: Connection, eid: int) -> list[Observation]:
    rows = conn.execute(
        sa.select(t.observations).where(t.observations.c.experiment_id == eid).order_by(t.observations.c.id)
    ).mappings()
    observed: set[int] = set()
    result = []
    for r in rows:
        result.append(
            Observation(
                id=str(r["id"]),
                suggestion=None if r["suggestion_id"] is None else str(r["suggestion_id"]),
                run=r["run_id"],
                assignments=json.loads(r["assignments"]),
                values={} if r["values"] is None else json.loads(r["values"]),
                failed=bool(r["failed"]),
                failure_kind=r["failure_kind"],
                created=r["created"],
                extra=r["suggestion_id"] is not None and r["suggestion_id"] in observed,
            )
        )
        observed.add(r["suggestion_id"])
    return result


def _suggestion(conn: Connection, sid: int) -> Suggestion:
    row = conn.execute(sa.select(t.suggestions).where(t.suggestions.c.id == sid)).mappings().one()
    return Suggestion(
        id=str(row["id"]),
        experiment=str(row["experiment_id"]),
        assignments=json.loads(row["assignments"]),
        state=SuggestionState(row["state"]),
        serve_count=row["serve_count"],
    )


def _state(conn: Connection, eid: int) -> str:
    return str(conn.execute(sa.select(t.experiments.c.state).where(t.experiments.c.id == eid)).scalar_one())


def counts(store: SQLBackend, experiment_id: str) -> Progress:
    """Finished (observed), failed and active (leased) counts, after expiring lost leases."""
    with store.transaction() as conn:
        eid = int(experiment_id)
        expire_leases(conn, eid, time.time())
        return _counts(conn, eid)


def _counts(conn: Connection, eid: int) -> Progress:
    by_kind: dict[str, int] = {}
    finished = failed = extra = 0
    observed: set[int] = set()
    for sid, is_failed, kind in conn.execute(
        sa.select(t.observations.c.suggestion_id, t.observations.c.failed, t.observations.c.failure_kind)
        .where(t.observations.c.experiment_id == eid)
        .order_by(t.observations.c.id)
    ):
        if sid is not None and sid in observed:  # a second result for one suggestion spends no budget
            extra += 1
            continue
        observed.add(sid)
        finished += 1
        if is_failed:
            failed += 1
            by_kind[kind or "reported"] = by_kind.get(kind or "reported", 0) + 1
    active, manual = _leased(conn, eid)
    return Progress(
        budget=None,
        remaining=None,
        finished=finished,
        failed=failed,
        active=active,
        failed_by_kind=by_kind,
        extra=extra,
        manual=manual,
    )


def _leased(conn: Connection, eid: int) -> tuple[int, int]:
    """How many open suggestions are leased, and how many of those went to ``suggest()`` (no run)."""
    leased = conn.execute(
        sa.select(t.suggestions.c.lease_run_id.is_(None), sa.func.count())
        .where(
            (t.suggestions.c.experiment_id == eid)
            & (t.suggestions.c.state == "open")
            & t.suggestions.c.leased_at.is_not(None)
        )
        .group_by(t.suggestions.c.lease_run_id.is_(None))
    ).all()
    return sum(int(n) for _, n in leased), sum(int(n) for is_manual, n in leased if is_manual)

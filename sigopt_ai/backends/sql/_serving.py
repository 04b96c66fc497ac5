"""Serving suggestions from the SQL store: made by the experiment service, outside the write lock.

The service computes a suggestion from a snapshot read with no write transaction open, because every
process's writer thread renews its runs' leases (heartbeats) through the same write lock, and a lease
that waits behind a fit expires while its worker is alive. The suggestion is then inserted in a short
write transaction that checks that no other worker inserted one meanwhile (``suggestion_count``, a
compare-and-swap); on a conflict it is computed again from the new state.

The budget counts suggestions, not observations: a suggestion is spent once it has an observation, and
suggestions are served while observed plus leased ones are fewer than the budget.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sigopt_ai._exceptions import StoreError
from sigopt_ai._models import ExperimentRecord, ExperimentState, Suggestion
from sigopt_ai._types import ParamValue
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._engine import Store, row_id
from sigopt_ai.backends.sql._experiments import (
    ACTIVE,
    OPEN,
    experiment_in,
    lock_experiment,
    observations_in,
    state_in,
    suggestion_in,
)
from sigopt_ai.backends.sql._leases import expire_leases, stale_leases
from sigopt_ai.optimizer import Snapshot, SuggestionService

RACES = 2
"""Races lost to other workers' inserts after which a computed suggestion is inserted anyway."""

_ROUNDS = 20
"""Snapshots per serve at most (a round whose waiting suggestion another worker took is not a race)."""

QUICK_SUGGESTION_S = 0.05
"""A strategy that answers faster than this (a quasi-random point) may run once inside the write lock
after lost races: far shorter than any lease, so no heartbeat waits long behind it."""


def serve(store: Store, service: SuggestionService, experiment_id: str, *, run_id: str | None) -> Suggestion | None:
    """Lease a suggestion to ``run_id`` (None: a manual ``suggest()``), or None when the budget is spent.

    A suggestion released by an interrupted or lost worker is served before a new one is made. A new
    one is computed by the service from a snapshot read with no write transaction open, then inserted
    in a short write transaction if no other worker inserted one meanwhile (``suggestion_count``
    unchanged); else it is computed again from the new state. After ``RACES`` lost races the last one
    is inserted anyway unless a worker inserted the same point meanwhile, or, when the strategy
    answered in under ``QUICK_SUGGESTION_S`` (a quasi-random point, not a fit), computed once more
    inside the lock so that it continues the sequence exactly.
    """
    eid = row_id(experiment_id)
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
        claim = _Claim(
            assignments, read.snapshot.index, final=last_round or races >= RACES, again=again, last=last_round
        )
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
    last: bool  # the serve's last round: insert it whatever was inserted meanwhile


@dataclass(frozen=True, slots=True)
class _Read:
    """What serving needs, read without the write lock."""

    experiment: ExperimentRecord
    snapshot: Snapshot
    waiting: bool  # an open suggestion is unleased or its lease is stale: it is served, no new one
    full: bool  # the budget is spent as of this read


def _read(store: Store, service: SuggestionService, eid: int) -> _Read | None:
    """The service's snapshot and whether a suggestion is waiting; None if the experiment is not active."""
    with store.transaction(write=False) as conn:
        experiment = experiment_in(conn, eid)
        if experiment is None or experiment.state is not ExperimentState.ACTIVE:
            return None
        snapshot = _snapshot(conn, eid, service.after(experiment))
        budget = experiment.budget
        return _Read(
            experiment=experiment,
            snapshot=snapshot,
            waiting=_waiting_suggestion(conn, eid) is not None or bool(stale_leases(conn, eid, time.time())),
            full=budget is not None and spent(conn, eid) >= budget,
        )


def _snapshot(conn: Connection, eid: int, after: str | None) -> Snapshot:
    """What the service asks for: the sequence index, pending assignments, and observations after ``after``."""
    index = conn.execute(sa.select(t.experiments.c.suggestion_count).where(t.experiments.c.id == eid)).scalar_one()
    pending = conn.execute(
        sa.select(t.suggestions.c.assignments).where(
            (t.suggestions.c.experiment_id == eid) & (t.suggestions.c.state == OPEN)
        )
    ).scalars()
    count = conn.execute(
        sa.select(sa.func.count()).select_from(t.observations).where(t.observations.c.experiment_id == eid)
    ).scalar_one()
    return Snapshot(
        index=int(index),
        pending=[json.loads(a) for a in pending],
        observation_count=int(count),
        observations=observations_in(conn, eid, after=after),
        after=after,
    )


def _suggest(store: Store, service: SuggestionService, eid: int, read: _Read) -> dict[str, ParamValue]:
    """The service's suggestion; a snapshot that does not continue what it saw (another thread of this
    process moved it on meanwhile) is read again in full, in a transaction of its own."""
    assignments = service.suggest(read.experiment, read.snapshot)
    if assignments is not None:
        return assignments
    with store.transaction(write=False) as conn:
        return _suggest_in(conn, service=service, experiment=read.experiment)


def _suggest_in(conn: Connection, *, service: SuggestionService, experiment: ExperimentRecord) -> dict[str, ParamValue]:
    """The service's suggestion from this transaction's view (all of the history, if the view of what
    is new does not continue what the service saw)."""
    eid = int(experiment.id)
    assignments = service.suggest(experiment, _snapshot(conn, eid, service.after(experiment)))
    if assignments is None:
        assignments = service.suggest(experiment, _snapshot(conn, eid, None))
    if assignments is None:  # a read that is not one snapshot: a store not isolating its reads
        raise StoreError(f"Experiment {experiment.id!r}: the store gave an inconsistent view of its observations.")
    return assignments


def spent(conn: Connection, eid: int) -> int:
    """How much of the budget is spent or held: suggestions observed (closed) or leased to a worker.

    One count on the suggestions' index, cheap inside the write lock.
    """
    closed_or_leased = (t.suggestions.c.state != OPEN) | t.suggestions.c.leased_at.is_not(None)
    query = sa.select(sa.func.count()).where((t.suggestions.c.experiment_id == eid) & closed_or_leased)
    return int(conn.execute(query).scalar_one())


def _grant(store: Store, eid: int, run_id: str | None, budget: int | None, claim: _Claim) -> Suggestion | None:
    """Under the write lock: expire leases, check the budget, lease a waiting suggestion or insert the
    claimed one. Returns ``_RACE_LOST`` when it must be computed again."""
    with store.transaction() as conn:
        lock_experiment(conn, eid)
        now = time.time()  # after the lock: a lease starts when it is granted, not when it was asked for
        expire_leases(conn, eid, now)
        if state_in(conn, eid) != ACTIVE:
            return None
        if budget is not None and spent(conn, eid) >= budget:
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
        return suggestion_in(conn, sid)


def _claimed(conn: Connection, eid: int, claim: _Claim) -> dict[str, ParamValue] | None:
    """The assignments to insert now, or None when the race is lost and must be run again."""
    current = conn.execute(sa.select(t.experiments.c.suggestion_count).where(t.experiments.c.id == eid)).scalar_one()
    if claim.assignments is not None and current == claim.index:
        return claim.assignments
    if not claim.final:
        return None
    if claim.again is not None:  # a quick strategy: continue the sequence exactly, briefly under the lock
        return claim.again(conn)
    if not claim.last and claim.assignments in _inserted_since(conn, eid, claim.index, current):
        # The winner computed from the same snapshot, so the same point (a strategy's answer depends
        # only on the snapshot): inserting it would have two workers evaluate one point.
        return None
    return claim.assignments  # a fit computed on a state a few inserts behind: still a valid suggestion


def _inserted_since(conn: Connection, eid: int, index: int, current: int) -> list[dict[str, ParamValue]]:
    """The assignments of the suggestions inserted after the ``index``-th one (``current`` in all)."""
    rows = conn.execute(
        sa.select(t.suggestions.c.assignments)
        .where(t.suggestions.c.experiment_id == eid)
        .order_by(t.suggestions.c.id.desc())
        .limit(max(0, current - index))
    ).scalars()
    return [json.loads(a) for a in rows]


def _waiting_suggestion(conn: Connection, eid: int) -> int | None:
    """The oldest open suggestion nobody holds (released by an interrupted or lost worker)."""
    sid = conn.execute(
        sa.select(t.suggestions.c.id)
        .where(
            (t.suggestions.c.experiment_id == eid)
            & (t.suggestions.c.state == OPEN)
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
            experiment_id=eid, assignments=json.dumps(dict(assignments)), state=OPEN, serve_count=0, created=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]

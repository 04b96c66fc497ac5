"""Leases in the SQL store: a suggestion held by a run is served again when the run stops heartbeating.

A run declared lost (its lease expired) is failed as ``infrastructure``; if it finishes after all,
it gets its real outcome back and its result is recorded (see :func:`reclaim`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sigopt_ai._failures import FailureKind
from sigopt_ai._models import RunState, SuggestionState
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._engine import Store, row_id

LEASE_EXPIRED = "sigopt_ai.LeaseExpired"
"""The failure type of a run declared lost because its lease expired (its real end replaces it)."""

OPEN = SuggestionState.OPEN.value


def _lease_timeout(conn: Connection, eid: int) -> float:
    return float(conn.execute(sa.select(t.experiments.c.lease_timeout).where(t.experiments.c.id == eid)).scalar_one())


def stale_leases(conn: Connection, eid: int, now: float) -> list[tuple[int, str]]:
    """Open suggestions leased to a run that sent no heartbeat for longer than the lease timeout."""
    timeout = _lease_timeout(conn, eid)
    heartbeat = sa.func.coalesce(t.runs.c.heartbeat, t.suggestions.c.leased_at)
    rows = conn.execute(
        sa.select(t.suggestions.c.id, t.suggestions.c.lease_run_id)
        .select_from(t.suggestions.outerjoin(t.runs, t.runs.c.id == t.suggestions.c.lease_run_id))
        .where(
            (t.suggestions.c.experiment_id == eid)
            & (t.suggestions.c.state == OPEN)
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
    stale = stale_leases(conn, eid, now)
    if not stale:
        return []
    timeout = _lease_timeout(conn, eid)
    lost = []
    for sid, run_id in stale:
        if not _release(conn, sid, run_id):
            continue  # another transaction released it first (and may have leased it to another run)
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


def _release(conn: Connection, sid: int, run_id: str) -> bool:
    """Put an open suggestion back to be served again if ``run_id`` holds its lease; returns whether it did.

    The holder is checked by the UPDATE itself: on PostgreSQL, where neither ``progress`` nor
    ``release`` takes the experiment's lock, a check read before it could be stale by the time the
    row is written (another worker expired the lease and was granted the suggestion meanwhile), and
    clearing that worker's lease would serve its suggestion to a third.
    """
    held = (t.suggestions.c.id == sid) & (t.suggestions.c.state == OPEN) & (t.suggestions.c.lease_run_id == run_id)
    result = conn.execute(t.suggestions.update().where(held).values(lease_run_id=None, leased_at=None))
    return bool(result.rowcount)


def reclaim(conn: Connection, run_id: str, failure: Mapping[str, Any] | None) -> None:
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
    store: Store, experiment_id: str, suggestion_id: str, run_id: str, run_failure: Mapping[str, Any] | None
) -> bool:
    """Put a suggestion back to be served again, if ``run_id`` still holds its lease (see :class:`Backend`)."""
    eid, sid = row_id(experiment_id), row_id(suggestion_id)
    if eid is None or sid is None:
        return False
    with store.transaction() as conn:
        reclaim(conn, run_id, run_failure)
        of_experiment = conn.execute(
            sa.select(t.suggestions.c.id).where((t.suggestions.c.id == sid) & (t.suggestions.c.experiment_id == eid))
        ).first()
        return of_experiment is not None and _release(conn, sid, run_id)

"""The runs table of an experiment: rows sorted and cut to a page on the server."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import ValidationError
from sigopt_ai._models import RunRecord, RunState
from sigopt_ai.analysis._common import finite, finite_values, json_assignments, plotted_metric

__all__ = ["MAX_RUNS_LIMIT", "RUN_SORTS", "check_runs_query", "run_row", "runs_json", "runs_page"]

MAX_RUNS_LIMIT = 500
"""The largest page of runs a request may ask for."""
RUN_SORTS = ("created", "value", "state", "duration", "kind", "name")
"""The columns the runs table sorts by."""
_ORDERS = ("asc", "desc")
_STATES = tuple(state.value for state in RunState)


def _duration(run: RunRecord) -> float | None:
    return None if run.ended is None else finite(run.ended - run.created)


def run_row(definition: ExperimentDefinition, run: RunRecord) -> dict[str, Any]:
    """One row: ``{"id", "name", "state", "created", "ended", "duration" (s or None), "assignments",
    "values" (each metric of the experiment: float or None), "failure": {"kind", "message"} | None,
    "suggestion"}``."""
    return {
        "id": run.id,
        "name": run.name,
        "state": run.state.value,
        "created": run.created,
        "ended": run.ended,
        "duration": _duration(run),
        "assignments": json_assignments(run.params),
        "values": finite_values(run.metrics, (m.name for m in definition.metrics)),
        "failure": None if run.failure is None else {"kind": run.failure.kind.value, "message": run.failure.message},
        "suggestion": run.suggestion,
    }


def _orderable(value: float | None) -> float | None:
    """A metric value to order by: NaN (and a missing value) has no place in an order, so None (last),
    as the SQL store's NULL; infinities sort as the extremes they are."""
    return None if value is None or math.isnan(value) else value


def _sort_key(definition: ExperimentDefinition, sort: str) -> Callable[[RunRecord], Any]:
    """The key of column ``sort``: a value to order by, or None (which sorts last in either order)."""
    metric = plotted_metric(definition)
    keys: dict[str, Callable[[RunRecord], Any]] = {
        "created": lambda r: r.created,
        "value": lambda r: None if metric is None else _orderable(r.metrics.get(metric.name)),
        "state": lambda r: r.state.value,
        "duration": _duration,
        "kind": lambda r: None if r.failure is None else r.failure.kind.value,
        "name": lambda r: r.name,
    }
    return keys[sort]


def check_runs_query(offset: int, limit: int, sort: str, order: str, state: str | None) -> None:
    """Check the runs table's query: ``offset`` >= 0, ``limit`` 1 to :data:`MAX_RUNS_LIMIT`, ``sort``
    one of :data:`RUN_SORTS`, ``order`` ``asc`` or ``desc``, ``state`` a run state or None/empty.

    Raises:
        ValidationError: One is out of its range; the message names it.
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"offset: must be an integer of at least 0, got {offset!r}.")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RUNS_LIMIT:
        raise ValidationError(f"limit: must be an integer from 1 to {MAX_RUNS_LIMIT}, got {limit!r}.")
    if sort not in RUN_SORTS:
        raise ValidationError(f"sort: must be one of {list(RUN_SORTS)!r}, got {sort!r}.")
    if order not in _ORDERS:
        raise ValidationError(f"order: must be one of {list(_ORDERS)!r}, got {order!r}.")
    if state and state not in _STATES:
        raise ValidationError(f"state: must be one of {list(_STATES)!r} or empty, got {state!r}.")


def runs_json(
    definition: ExperimentDefinition, count: int, page: Sequence[RunRecord], offset: int, limit: int
) -> dict[str, Any]:
    """The runs table's answer for a page already cut: ``{"count", "offset", "limit", "data": [row...]}``."""
    return {"count": count, "offset": offset, "limit": limit, "data": [run_row(definition, r) for r in page]}


def runs_page(
    definition: ExperimentDefinition,
    runs: Sequence[RunRecord],
    *,
    offset: int = 0,
    limit: int = 50,
    sort: str = "created",
    order: str = "desc",
    state: str | None = None,
) -> dict[str, Any]:
    """A page of the runs table: ``{"count" (runs matching ``state``), "offset", "limit", "data": [row...]}``.

    Rows are sorted by ``sort`` in ``order``; runs without a value for the column (no metric value
    or NaN, still running, no failure) come last in either order, and ties keep the newest first
    (``created``, then ``id``). The SQL store sorts the same way in the database
    (``SQLBackend.run_page``), which the server uses; this is the same order for runs in memory.

    Args:
        definition: The experiment's definition (its metrics name the values; the first optimized
            one is the ``value`` column).
        runs: The experiment's runs.
        offset: Rows to skip (0 or more).
        limit: Rows to return, 1 to :data:`MAX_RUNS_LIMIT`.
        sort: One of :data:`RUN_SORTS`.
        order: ``"asc"`` or ``"desc"``.
        state: Only runs in this state (``active``, ``completed``, ``failed``); None or ``""``: all.

    Raises:
        ValidationError: An argument is out of its range; the message names it.

    Example:
        >>> runs_page(definition, runs, sort="value", order="desc", limit=10)["data"][0]["values"]
        {'accuracy': 0.97}
    """
    check_runs_query(offset, limit, sort, order, state)
    chosen = [r for r in runs if r.state.value == state] if state else list(runs)
    # Newest first among equals: sort by the tie-breaker first, then stably by the column.
    chosen.sort(key=lambda r: (r.created, r.id), reverse=True)
    key = _sort_key(definition, sort)
    keyed = [(key(r), r) for r in chosen]
    present = [item for item in keyed if item[0] is not None]
    present.sort(key=lambda item: item[0], reverse=order == "desc")
    ordered = [r for _, r in present] + [r for k, r in keyed if k is None]
    return runs_json(definition, len(chosen), ordered[offset : offset + limit], offset, limit)

"""The dashboard's analysis routes: JSON over the same tenant as every route, GET only.

``/clients/{id}/sigopt_ai/experiments`` lists experiments with their progress; under
``/experiments/{id}/sigopt_ai/``: ``analysis`` (history, points, Pareto front, separating pair, best
assignments), ``failure_map`` (two parameters' plane with the optimizer's P(success)), ``runs`` (the
runs table, sorted and paginated here) and ``experiment.yml``. The shapes are those of
:mod:`sigopt_ai.analysis`, which computes them; numbers that are not finite go out as null.

The failure map fits the optimizer's models, the one costly step: its answers are kept in a small
LRU per experiment, observation count, axes and grid, so the page's polls and a second viewer cost
nothing until a new observation arrives.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai.analysis import (
    DEFAULT_GRID,
    DEFAULT_POINTS,
    experiment_analysis,
    experiment_row,
    experiment_yaml,
    failure_map,
    runs_page,
)
from sigopt_ai.server._deps import Tenant, tenant
from sigopt_ai.server._routes import reply
from sigopt_ai.server._routes._experiment_views import Limit, client_experiments
from sigopt_ai.wire._core import shows_best_observation

__all__ = ["FAILURE_MAP_CACHE_SIZE", "router"]

router = APIRouter(tags=["analysis"])

TenantDep = Annotated[Tenant, Depends(tenant)]
FAILURE_MAP_CACHE_SIZE = 64
"""Failure maps a process keeps (each a few hundred points and a grid: tens of KB)."""


class _Lru:
    """A bounded map, least recently used out first; safe across the server's threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> dict[str, Any] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_failure_maps = _Lru(FAILURE_MAP_CACHE_SIZE)


@router.get("/clients/{client_id}/sigopt_ai/experiments")
def experiment_rows(client_id: str, who: TenantDep, project: str | None = None, limit: Limit = None) -> JSONResponse:
    """The client's experiments (of one project), newest first, with progress and best value."""
    who.check_client(client_id)
    rows = [
        experiment_row(
            record,
            who.backend.progress(record.id),
            who.backend.best_observations(record.id) if shows_best_observation(record) else [],
            project=who.user_project(record.project),
        )
        for record in client_experiments(who, project, limit)
    ]
    return reply({"data": rows})


@router.get("/experiments/{experiment_id}/sigopt_ai/analysis")
def analysis(
    experiment_id: str,
    who: TenantDep,
    points: Annotated[int, Query(ge=1, le=100_000, description="At most this many points and history marks.")] = (
        DEFAULT_POINTS
    ),
) -> JSONResponse:
    """History, sampled points, Pareto front, constraints, separating pair and best assignments."""
    record = who.experiment(experiment_id)
    definition = ExperimentDefinition.from_json(record.definition)
    observations = who.backend.observations(record.id)
    return reply(experiment_analysis(record.id, definition, observations, points_limit=points))


@router.get("/experiments/{experiment_id}/sigopt_ai/failure_map")
def failure_map_of(
    experiment_id: str,
    who: TenantDep,
    x: Annotated[str | None, Query(description="The horizontal parameter (default: the separating pair's first).")] = (
        None
    ),
    y: Annotated[str | None, Query(description="The vertical parameter.")] = None,
    grid: Annotated[int, Query(description="Cells per side of the P(success) grid, 2 to 100.")] = DEFAULT_GRID,
) -> JSONResponse:
    """Two parameters' plane: every observation, and the optimizer's learned P(success)."""
    record = who.experiment(experiment_id)
    definition = ExperimentDefinition.from_json(record.definition)
    observations = who.backend.observations(record.id)
    # A new observation changes the map; the id is unique across clients, and the tenant was checked.
    key = (record.id, len(observations), x or None, y or None, grid)
    found = _failure_maps.get(key)
    if found is None:
        found = failure_map(definition, observations, x=x or None, y=y or None, grid=grid, seed=record.seed)
        _failure_maps.put(key, found)
    return reply(found)


@router.get("/experiments/{experiment_id}/sigopt_ai/runs")
def runs(
    experiment_id: str,
    who: TenantDep,
    offset: int = 0,
    limit: int = 50,
    sort: str = "created",
    order: str = "desc",
    state: str | None = None,
) -> JSONResponse:
    """A page of the experiment's runs, sorted by ``sort`` (created, value, state, duration, kind, name)."""
    record = who.experiment(experiment_id)
    definition = ExperimentDefinition.from_json(record.definition)
    found = who.backend.list_runs(experiment=record.id)
    return reply(runs_page(definition, found, offset=offset, limit=limit, sort=sort, order=order, state=state or None))


@router.get("/experiments/{experiment_id}/sigopt_ai/experiment.yml")
def experiment_file(experiment_id: str, who: TenantDep) -> Response:
    """The definition as the ``experiment.yml`` that ``sigopt-ai optimize -e`` reads."""
    record = who.experiment(experiment_id)
    return Response(experiment_yaml(ExperimentDefinition.from_json(record.definition)), media_type="text/yaml")

"""The dashboard's analysis routes: JSON over the same tenant as every route, GET only.

``/clients/{id}/sigopt_ai/experiments`` lists experiments with their progress; under
``/experiments/{id}/sigopt_ai/``: ``analysis`` (history, points, Pareto front, separating pair, best
assignments), ``failure_map`` (two parameters' plane with the optimizer's P(success)), ``runs`` (the
runs table, sorted and paginated here) and ``experiment.yml``. The shapes are those of
:mod:`sigopt_ai.analysis`, which computes them; numbers that are not finite go out as null.

Observations are kept per experiment and read again only from the last one (:mod:`._kept`). The
analysis and the failure map (which fits the optimizer's models, the one costly step) are kept per
experiment, definition and observation count (and query), so polls and a second viewer cost nothing
until a new observation arrives; the optimizer is kept too, so a new map warm-starts its fits. The
runs table is sorted and cut in the database (``SQLBackend.run_page``), never loading the other runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from sigopt_ai._best import best_observations
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import ExperimentRecord, Observation, Progress
from sigopt_ai.analysis import (
    DEFAULT_GRID,
    DEFAULT_POINTS,
    check_runs_query,
    experiment_analysis,
    experiment_row,
    experiment_yaml,
    failure_map,
    plotted_metric,
    runs_json,
    runs_page,
)
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.server._deps import Tenant, tenant
from sigopt_ai.server._routes import reply
from sigopt_ai.server._routes._experiment_views import Limit, client_experiments
from sigopt_ai.server._routes._kept import CACHE_SIZE, Lru, kept_observations, store_number
from sigopt_ai.wire._core import shows_best_observation

if TYPE_CHECKING:
    from sigopt_ai.optimizer import BayesianOptimizer

__all__ = ["router"]

router = APIRouter(tags=["analysis"])

TenantDep = Annotated[Tenant, Depends(tenant)]
_answers = Lru(CACHE_SIZE * 4)  # (route, store, experiment id, observation count, query...) -> JSON


_optimizers = Lru(CACHE_SIZE)  # (store, experiment id, definition) -> its optimizer, warm between maps
_fit_lock = threading.Lock()


def _kept(key: Hashable, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The answer kept under ``key``, else ``compute()``'s, kept."""
    found: dict[str, Any] | None = _answers.get(key)
    if found is None:
        found = compute()
        _answers.put(key, found)
    return found


def _definition_key(record: ExperimentRecord) -> str:
    """The definition as a cache key: an update of the parameters' bounds changes the space and the
    answers, with no new observation."""
    return json.dumps(record.definition, sort_keys=True)


def _optimizer_of(who: Tenant, record: ExperimentRecord, definition: ExperimentDefinition) -> BayesianOptimizer | None:
    """The experiment's kept optimizer (None for a random or grid search, which has no model): a new
    map after a new observation warm-starts its fits, as the next suggestion would."""
    if definition.type != "offline":
        return None
    from sigopt_ai.optimizer import BayesianOptimizer  # numpy and scipy: only when a map is asked for

    key = (store_number(who.backend), record.id, _definition_key(record))
    found: BayesianOptimizer | None = _optimizers.get(key)
    if found is None:
        found = BayesianOptimizer(definition, seed=record.seed)
        _optimizers.put(key, found)
    return found


def _best(who: Tenant, record: ExperimentRecord, progress: Progress | None) -> list[Observation]:
    """The experiment's best observations when its row shows a best value (one optimized metric),
    kept per observation count: a poll of the list reads only each experiment's progress."""
    if progress is None or not shows_best_observation(record):
        return []
    key = ("best", store_number(who.backend), record.id, progress.observation_count)
    found: list[Observation] | None = _answers.get(key)
    if found is None:
        found = best_observations(ExperimentDefinition.from_json(record.definition), kept_observations(who, record))
        _answers.put(key, found)
    return found


@router.get("/clients/{client_id}/sigopt_ai/experiments")
def experiment_rows(client_id: str, who: TenantDep, project: str | None = None, limit: Limit = None) -> JSONResponse:
    """The client's experiments (of one project), newest first, with progress and best value."""
    who.check_client(client_id)
    rows = []
    for record in client_experiments(who, project, limit):
        progress = who.backend.progress(record.id)
        best = _best(who, record, progress)
        rows.append(experiment_row(record, progress, best, project=who.user_project(record.project)))
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
    observations = kept_observations(who, record)
    key = ("analysis", store_number(who.backend), record.id, _definition_key(record), len(observations), points)
    return reply(_kept(key, lambda: experiment_analysis(record.id, definition, observations, points_limit=points)))


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
    observations = kept_observations(who, record)
    # A new observation changes the map; the id is unique across clients, and the tenant was checked.
    key = ("failure_map", store_number(who.backend), record.id, _definition_key(record), len(observations), x, y, grid)

    def fit() -> dict[str, Any]:
        with _fit_lock:  # an optimizer's warm starts are not shared between threads
            optimizer = _optimizer_of(who, record, definition)
            return failure_map(
                definition, observations, x=x or None, y=y or None, grid=grid, seed=record.seed, optimizer=optimizer
            )

    return reply(_kept(key, fit))


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
    state = state or None
    if not isinstance(who.backend, SQLBackend):  # any other store: sorted in memory, the same order
        found = who.backend.list_runs(experiment=record.id)
        return reply(runs_page(definition, found, offset=offset, limit=limit, sort=sort, order=order, state=state))
    check_runs_query(offset, limit, sort, order, state)
    metric = plotted_metric(definition)
    count, page = who.backend.run_page(
        record.id,
        offset=offset,
        limit=limit,
        sort=sort,
        descending=order == "desc",
        state=state,
        metric=None if metric is None else metric.name,
    )
    return reply(runs_json(definition, count, page, offset, limit))


@router.get("/experiments/{experiment_id}/sigopt_ai/experiment.yml")
def experiment_file(experiment_id: str, who: TenantDep) -> Response:
    """The definition as the ``experiment.yml`` that ``sigopt-ai optimize -e`` reads."""
    record = who.experiment(experiment_id)
    return Response(experiment_yaml(ExperimentDefinition.from_json(record.definition)), media_type="text/yaml")

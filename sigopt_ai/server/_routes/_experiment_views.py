"""What the experiment routes share: experiments as their client sees them, the client in a path,
and the ``sigopt_ai`` extension of request bodies.

An experiment is one store record, served both as SigOpt's core ``experiment`` and as an
``aiexperiment`` (the SDK's experiments are AI experiments to the official client, and a core
experiment's id works with ``/aiexperiments`` too): the store keeps no flag telling them apart,
and nothing here needs one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from sigopt_ai._best import best_observations
from sigopt_ai._checks import INT64_MAX
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import ExperimentRecord
from sigopt_ai.server._deps import Tenant
from sigopt_ai.server._routes._kept import kept_observations
from sigopt_ai.wire import _core
from sigopt_ai.wire._core import RUN_PROGRESS_KEYS, extension

__all__ = [
    "DEFAULT_LIMIT",
    "Limit",
    "RUN_PROGRESS_KEYS",
    "aiexperiment_json",
    "client_experiments",
    "experiment_json",
    "extension",
]

DEFAULT_LIMIT = 1000
"""Items of a page when the request names no ``limit`` (SigOpt's default, and its maximum)."""

Limit = Annotated[int | None, Query(ge=0, le=INT64_MAX, description="At most this many items.")]
"""A ``limit`` query: past the store's 64-bit integers it is a 400 naming it, not an overflow."""


def experiment_json(tenant: Tenant, record: ExperimentRecord, *, best: bool = False) -> dict[str, Any]:
    """SigOpt's ``experiment`` object of one of the tenant's experiments, with its progress
    (:func:`sigopt_ai.wire._core.experiment_json`).

    Args:
        best: Add the progress's ``best_observation`` (SigOpt's, for an experiment of one optimized
            metric and one solution). It needs every observation (kept between requests, see
            :mod:`._kept`), so only the detail of one experiment shows it, never a list.
    """
    found = None
    if best and _core.shows_best_observation(record):
        # From the observations kept between requests: the dashboard polls this detail of experiments
        # of 10,000 observations, whose full read costs ~150 ms.
        definition = ExperimentDefinition.from_json(record.definition)
        found = best_observations(definition, kept_observations(tenant, record))
    return _core.experiment_json(
        record,
        tenant.backend.progress(record.id),
        project=tenant.user_project(record.project),
        client=tenant.client,
        best=found,
    )


def aiexperiment_json(tenant: Tenant, record: ExperimentRecord) -> dict[str, Any]:
    """SigOpt's ``aiexperiment`` object: the experiment with ``budget`` and the runs' progress."""
    return _core.aiexperiment_json(experiment_json(tenant, record))


def client_experiments(tenant: Tenant, project: str | None, limit: int | None) -> list[ExperimentRecord]:
    """The tenant's experiments (of one of its projects), newest first, at most ``limit``."""
    if project is not None:
        return tenant.backend.list_experiments(project=tenant.stored_project(project), limit=limit)
    # The store lists every client's experiments: filter before cutting to the limit.
    owned = [e for e in tenant.backend.list_experiments() if tenant.owns(e.project)]
    return owned if limit is None else owned[:limit]

"""What the experiment routes share: experiments as their client sees them, the client in a path,
and the ``sigopt_ai`` extension of request bodies.

An experiment is one store record, served both as SigOpt's core ``experiment`` and as an
``aiexperiment`` (the SDK's experiments are AI experiments to the official client, and a core
experiment's id works with ``/aiexperiments`` too): the store keeps no flag telling them apart,
and nothing here needs one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Query

from sigopt_ai._checks import INT64_MAX, describe_value
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import ExperimentRecord, Progress
from sigopt_ai.server._deps import Tenant
from sigopt_ai.wire import EXTENSION, experiment_to_json, observation_to_json

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

RUN_PROGRESS_KEYS = ("object", "active_run_count", "finished_run_count", "total_run_count", "remaining_budget")
"""The fields of an AI experiment's ``progress`` (SigOpt's run progress)."""


def experiment_json(tenant: Tenant, record: ExperimentRecord, *, best: bool = False) -> dict[str, Any]:
    """SigOpt's ``experiment`` object of one of the tenant's experiments, with its progress.

    Args:
        best: Add the progress's ``best_observation`` (SigOpt's, for an experiment of one optimized
            metric and one solution). It reads every observation, so only the detail of one
            experiment shows it, never a list.
    """
    shown = dataclasses.replace(record, project=tenant.user_project(record.project))
    progress = tenant.backend.progress(record.id)
    if progress is None:  # archived and gone from the store between two reads: nothing run, nothing left
        progress = Progress(record.budget, 0, 0, 0, None if record.budget is None else 0, {})
    body = experiment_to_json(shown, progress)
    body["client"] = tenant.client
    definition = ExperimentDefinition.from_json(record.definition)
    if best and len(definition.optimized_metrics) == 1 and definition.num_solutions == 1:
        found = tenant.backend.best_observations(record.id)
        body["progress"]["best_observation"] = observation_to_json(found[0], experiment=record.id) if found else None
    return body


def aiexperiment_json(tenant: Tenant, record: ExperimentRecord) -> dict[str, Any]:
    """SigOpt's ``aiexperiment`` object: the experiment with ``budget`` and the runs' progress."""
    body = experiment_json(tenant, record)
    body["object"] = "aiexperiment"
    body["budget"] = body.pop("observation_budget", None)
    progress = body["progress"]
    body["progress"] = {key: progress[key] for key in (*RUN_PROGRESS_KEYS, EXTENSION)}
    return body


def client_experiments(tenant: Tenant, project: str | None, limit: int | None) -> list[ExperimentRecord]:
    """The tenant's experiments (of one of its projects), newest first, at most ``limit``."""
    if project is not None:
        return tenant.backend.list_experiments(project=tenant.stored_project(project), limit=limit)
    # The store lists every client's experiments: filter before cutting to the limit.
    owned = [e for e in tenant.backend.list_experiments() if tenant.owns(e.project)]
    return owned if limit is None else owned[:limit]


def extension(body: Mapping[str, Any], allowed: frozenset[str], where: str = EXTENSION) -> dict[str, Any]:
    """The body's ``sigopt_ai`` object (``{}`` when absent), with only ``allowed`` keys.

    Raises:
        ValidationError: It is not an object, or has another key; the message names the field.
    """
    value = body.get(EXTENSION)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationTypeError(f"{where}: expected an object, got {describe_value(value)}.")
    if unknown := sorted(set(value) - allowed):
        raise ValidationError(f"{where}.{unknown[0]}: unknown field; expected one of {sorted(allowed)!r}.")
    return dict(value)

"""SigOpt's core-module answers built from store records: what the server's experiment routes
send and what :class:`sigopt_ai.Connection` hands out, so both answer the same JSON.

Pure functions: the caller reads the records (from its tenant's view of the store, or from the
Connection's backend) and these shape them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sigopt_ai._checks import describe_value
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import ExperimentRecord, Observation, Progress
from sigopt_ai.wire._experiments import experiment_to_json, observation_to_json
from sigopt_ai.wire._fields import EXTENSION, JSON

__all__ = [
    "DEFAULT_PROJECT",
    "RUN_PROGRESS_KEYS",
    "aiexperiment_json",
    "best_assignments_json",
    "experiment_json",
    "extension",
    "shows_best_observation",
    "token_json",
]

DEFAULT_PROJECT = "default"
"""The project of a core experiment created without one (a server has no working directory to name one)."""

RUN_PROGRESS_KEYS = ("object", "active_run_count", "finished_run_count", "total_run_count", "remaining_budget")
"""The fields of an AI experiment's ``progress`` (SigOpt's run progress)."""


def shows_best_observation(record: ExperimentRecord) -> bool:
    """Whether SigOpt's progress of this experiment has a ``best_observation``: one optimized
    metric and one solution."""
    definition = ExperimentDefinition.from_json(record.definition)
    return len(definition.optimized_metrics) == 1 and definition.num_solutions == 1


def experiment_json(
    record: ExperimentRecord,
    progress: Progress | None,
    *,
    project: str,
    client: str | None,
    best: Sequence[Observation] | None = None,
) -> JSON:
    """SigOpt's ``experiment`` object, with its progress.

    Args:
        record: The stored experiment.
        progress: Its progress; None when the experiment left the store between two reads (then
            nothing has run and nothing is left).
        project: The project as its user names it.
        client: The id of the client that owns it.
        best: The best observations, to show the progress's ``best_observation`` (for an experiment
            where :func:`shows_best_observation`); None leaves it out, as a list of experiments does.
    """
    shown = dataclasses.replace(record, project=project)
    if progress is None:
        progress = Progress(record.budget, 0, 0, 0, None if record.budget is None else 0, {})
    body = experiment_to_json(shown, progress)
    body["client"] = client
    if best is not None and shows_best_observation(record):
        body["progress"]["best_observation"] = observation_to_json(best[0], experiment=record.id) if best else None
    return body


def aiexperiment_json(experiment: Mapping[str, Any]) -> JSON:
    """SigOpt's ``aiexperiment`` object of an :func:`experiment_json`: ``budget`` and the runs' progress."""
    body = dict(experiment)
    body["object"] = "aiexperiment"
    body["budget"] = body.pop("observation_budget", None)
    progress = body["progress"]
    body["progress"] = {key: progress[key] for key in (*RUN_PROGRESS_KEYS, EXTENSION)}
    return body


def best_assignments_json(observations: Sequence[Observation], experiment: str) -> list[JSON]:
    """SigOpt's ``best_assignments`` objects of the best observations (the items of their page)."""
    return [{**observation_to_json(o, experiment=experiment), "object": "best_assignments"} for o in observations]


def token_json(client: str | None) -> JSON:
    """SigOpt's ``token`` object of the request's token: its client (the token itself is not echoed)."""
    return {
        "object": "token",
        "client": client,
        "user": None,
        "development": False,
        "all_experiments": True,
        "experiment": None,
        "expires": None,
        "token": None,
        "token_type": "client-api",
        "permissions": None,
    }


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

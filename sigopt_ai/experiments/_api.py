"""The module-level experiment functions: create, attach, archive and unarchive (with sigopt-python's
AI-module names for each)."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from typing import Any

from sigopt_ai import _config
from sigopt_ai._checks import describe_value, is_text, short_repr, to_seed
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import ExperimentRecord
from sigopt_ai.experiments._experiment import DEFAULT_LEASE_TIMEOUT, Experiment, check_lease_timeout
from sigopt_ai.experiments._parse import load_experiment_file, parse_experiment
from sigopt_ai.runs._session import get_session

__all__ = [
    "archive_aiexperiment",
    "archive_experiment",
    "create_aiexperiment",
    "create_experiment",
    "get_aiexperiment",
    "get_experiment",
    "unarchive_aiexperiment",
    "unarchive_experiment",
]


def create_experiment(
    name: str | None = None,
    *,
    project: str | None = None,
    parameters: Sequence[Mapping[str, Any]] | None = None,
    metrics: Sequence[Mapping[str, Any] | str] | None = None,
    file: str | os.PathLike[str] | None = None,
    lease_timeout: float = DEFAULT_LEASE_TIMEOUT,
    seed: int | None = None,
    **options: Any,
) -> Experiment:
    """Create an experiment in the store.

    Args:
        name: The experiment's name.
        project: The project (default: ``SIGOPT_PROJECT``, else the working directory's name).
        parameters: SigOpt parameter definitions (``name``, ``type``, ``bounds``, ...).
        metrics: SigOpt metric definitions (``name``, ``objective``, ``strategy``, ``threshold``).
        file: A SigOpt ``experiment.yml`` to load the definition from instead.
        lease_timeout: Seconds without a heartbeat after which a worker's suggestion is re-served
            (at least 1).
        seed: Seed of the suggestion sequence (default: random).
        **options: ``budget``, ``parallel_bandwidth``, ``conditionals``, ``linear_constraints``,
            ``num_solutions``, ``metadata``, ``type`` (``offline``: Bayesian; ``random``: Sobol).

    Returns:
        The experiment.

    Raises:
        ValidationError: The definition breaks a rule; the message names the field.

    Example:
        >>> exp = sigopt.create_experiment(
        ...     name="tune", parameters=[dict(name="lr", type="double", bounds=dict(min=1e-4, max=1))],
        ...     metrics=[dict(name="error", objective="minimize")], budget=20)
    """
    if file is not None:
        definition = load_experiment_file(file)
    else:
        body = {"name": name, "parameters": parameters, "metrics": metrics, **options}
        definition = parse_experiment({k: v for k, v in body.items() if v is not None})
    lease_timeout = check_lease_timeout(lease_timeout)
    seed = None if seed is None else to_seed(seed)
    stored = get_session().backend.create_experiment(
        project=_config.check_project(project) if project is not None else _config.default_project(),
        name=definition.name,
        definition=definition.to_json(),
        seed=random.SystemRandom().randrange(2**31) if seed is None else int(seed),
        lease_timeout=float(lease_timeout),
    )
    return Experiment(stored)


def get_experiment(experiment_id: str) -> Experiment:
    """Attach to an existing experiment (from any process sharing the store).

    Raises:
        ValidationError: No experiment has this id.
    """
    return Experiment(_stored_experiment(experiment_id))


def _stored_experiment(experiment_id: Any) -> ExperimentRecord:
    """The stored experiment with this id (a string, or an int as sigopt-python's ids may be given).

    Raises:
        ValidationError: ``experiment_id`` is not an id, or no experiment has it.
    """
    if isinstance(experiment_id, bool) or not isinstance(experiment_id, (str, int)):
        raise ValidationTypeError(f"experiment id must be a string, got {describe_value(experiment_id)}.")
    key = experiment_id if isinstance(experiment_id, str) else _int_text(experiment_id)
    stored = get_session().backend.get_experiment(key) if is_text(key) else None
    if stored is None:
        raise ValidationError(f"There is no experiment with id {short_repr(experiment_id)}.")
    return stored


def _int_text(number: int) -> str:
    try:
        return str(number)
    except ValueError:  # past Python's digit limit for text: no id is that long
        return ""


create_aiexperiment = create_experiment
"""sigopt-python's AI-module name for :func:`create_experiment` (the same keywords: ``name``,
``parameters``, ``metrics``, ``budget``, ``parallel_bandwidth``, ``metadata``, ``type``...)."""

get_aiexperiment = get_experiment
"""sigopt-python's AI-module name for :func:`get_experiment`."""


def archive_experiment(experiment_id: str, include_runs: bool = False) -> None:
    """Archive an experiment: it serves no more suggestions; its runs and observations stay.

    Args:
        experiment_id: The experiment's id.
        include_runs: Archive its runs too (they leave run lists; ``get_run`` still reads them).

    Raises:
        ValidationError: No experiment has this id, or ``include_runs`` is not a bool.
    """
    if not isinstance(include_runs, bool):
        raise ValidationTypeError(f"include_runs must be True or False, got {describe_value(include_runs)}.")
    stored = _stored_experiment(experiment_id)
    backend = get_session().backend
    backend.archive_experiment(stored.id)
    if include_runs:
        get_session().flush()
        for run in backend.list_runs(experiment=stored.id):
            backend.archive_run(run.id)


def unarchive_experiment(experiment_id: str) -> None:
    """Make an archived experiment active again: it serves suggestions while budget remains.

    Raises:
        ValidationError: No experiment has this id.
    """
    get_session().backend.unarchive_experiment(_stored_experiment(experiment_id).id)


archive_aiexperiment = archive_experiment
"""sigopt-python's AI-module name for :func:`archive_experiment`."""

unarchive_aiexperiment = unarchive_experiment
"""sigopt-python's AI-module name for :func:`unarchive_experiment`."""

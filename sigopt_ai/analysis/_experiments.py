"""The experiments list: one row per experiment with its progress and best value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import ExperimentRecord, ExperimentState, Observation, Progress
from sigopt_ai.analysis._common import finite

__all__ = ["experiment_row"]


def experiment_row(
    record: ExperimentRecord, progress: Progress | None, best: Sequence[Observation], *, project: str
) -> dict[str, Any]:
    """One row of the experiments list.

    Args:
        record: The experiment.
        progress: Its progress (None: counted as nothing observed).
        best: Its best observations (``Backend.best_observations``); only read for an experiment of
            one optimized metric.
        project: The project as the reader names it (a server strips its client's namespace).

    Returns:
        ``{"id", "name", "project", "created", "state", "budget", "observation_count", "failed",
        "failed_by_kind", "active_run_count", "best_value", "metric": {"name", "objective"} | None,
        "done"}``; ``done`` is true once the budget is spent or the experiment is archived.
    """
    definition = ExperimentDefinition.from_json(record.definition)
    optimized = definition.optimized_metrics
    metric = optimized[0] if len(optimized) == 1 else None
    best_value = finite(best[0].values.get(metric.name)) if metric is not None and best else None
    finished = 0 if progress is None else progress.finished
    budget = record.budget
    return {
        "id": record.id,
        "name": record.name,
        "project": project,
        "created": record.created,
        "state": record.state.value,
        "budget": budget,
        "observation_count": 0 if progress is None else progress.observation_count,
        "failed": 0 if progress is None else progress.failed,
        "failed_by_kind": {} if progress is None else dict(progress.failed_by_kind),
        "active_run_count": 0 if progress is None else progress.active,
        "best_value": best_value,
        "metric": None if metric is None else {"name": metric.name, "objective": metric.objective},
        "done": record.state is not ExperimentState.ACTIVE or (budget is not None and finished >= budget),
    }

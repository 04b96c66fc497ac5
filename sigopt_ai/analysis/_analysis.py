"""The experiment page's analysis in one object: history, sampled points, the Pareto front, the
separating pair and the best assignments, from one read of the observations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sigopt_ai._best import best_observations
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import Observation
from sigopt_ai.analysis._common import best_steps, sample_indices
from sigopt_ai.analysis._history import DEFAULT_POINTS, history
from sigopt_ai.analysis._points import pareto_front, points
from sigopt_ai.analysis._separating import separating_pair
from sigopt_ai.wire._core import best_assignments_json

__all__ = ["experiment_analysis"]


def experiment_analysis(
    experiment_id: str,
    definition: ExperimentDefinition,
    observations: Sequence[Observation],
    *,
    points_limit: int = DEFAULT_POINTS,
) -> dict[str, Any]:
    """What ``GET /v1/experiments/{id}/sigopt_ai/analysis`` returns (the JSON contract of issue 19).

    Args:
        experiment_id: The experiment's id.
        definition: Its definition.
        observations: Its observations, oldest first.
        points_limit: At most this many points and history marks; every best-so-far step and every
            point of the Pareto front is kept, the rest spread evenly with failures in proportion. A
            front larger than the limit is itself spread, and ``pareto.front`` lists the points kept,
            so that every index it names is in ``points``.

    Returns:
        ``{"experiment", "count", "metrics", "parameters", "history", "points", "pareto",
        "constraints", "separating_pair", "best_assignments", "sampled"}``.

    Raises:
        ValueError: ``points_limit`` is less than 1.

    Example:
        >>> experiment_analysis("7", definition, observations)["separating_pair"]
        ['width', 'batch_size']
    """
    if points_limit < 1:
        raise ValueError(f"points must be at least 1, got {points_limit!r}.")
    front = pareto_front(definition, observations)
    keep = [position for position, _ in best_steps(definition, observations)] + (front or [])
    chosen = sample_indices([o.failed for o in observations], keep, points_limit)
    listed = set(chosen)
    best = best_observations(definition, observations) if front is None else [observations[i] for i in front]
    optimized = definition.optimized_metrics
    return {
        "experiment": experiment_id,
        "count": len(observations),
        "metrics": [
            {"name": m.name, "objective": m.objective, "strategy": m.strategy, "threshold": m.threshold}
            for m in definition.metrics
        ],
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "bounds": None if p.bounds is None else {"min": p.bounds.min, "max": p.bounds.max},
                "categorical_values": list(p.categorical_values) or None,
                "transformation": p.transformation,
            }
            for p in definition.parameters
        ],
        "history": history(definition, observations, points=points_limit),
        "points": points(definition, observations, chosen),
        "pareto": None
        if front is None
        else {"metrics": [m.name for m in optimized], "front": [p + 1 for p in front if p in listed]},
        "constraints": [
            {"metric": m.name, "threshold": m.threshold, "strategy": m.strategy}
            for m in definition.metrics
            if m.threshold is not None
        ],
        "separating_pair": separating_pair(definition, observations),
        "best_assignments": best_assignments_json(best, experiment_id),
        "sampled": len(chosen) < len(observations),
    }

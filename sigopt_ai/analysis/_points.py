"""Observations as points for parallel coordinates and the Pareto plot, and the Pareto front."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sigopt_ai._best import meets_thresholds
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import Observation
from sigopt_ai.analysis._common import finite, finite_values, json_assignments

__all__ = ["pareto_front", "point", "points"]


def point(definition: ExperimentDefinition, observations: Sequence[Observation], position: int) -> dict[str, Any]:
    """The point of the observation at 0-based ``position``: ``{"index" (1-based), "run",
    "suggestion", "assignments", "values" (each metric: float or None), "failed", "kind"}``."""
    observation = observations[position]
    return {
        "index": position + 1,
        "run": observation.run,
        "suggestion": observation.suggestion,
        "assignments": json_assignments(observation.assignments),
        "values": finite_values(observation.values, (m.name for m in definition.metrics)),
        "failed": observation.failed,
        "kind": observation.failure_kind if observation.failed else None,
    }


def points(
    definition: ExperimentDefinition, observations: Sequence[Observation], positions: Sequence[int]
) -> list[dict[str, Any]]:
    """The points of the observations at ``positions`` (0-based; see :func:`point`)."""
    return [point(definition, observations, position) for position in positions]


def pareto_front(definition: ExperimentDefinition, observations: Sequence[Observation]) -> list[int] | None:
    """0-based positions of the Pareto-optimal observations of an experiment of two optimized metrics,
    sorted by the first metric's value (best first); None for any other experiment.

    Only successful observations with both values finite and every threshold met count, as in SigOpt's
    best assignments. A sort and one sweep: ``O(n log n)``, so 10,000 observations take milliseconds
    (the pairwise rule of :func:`sigopt_ai._best.best_observations` is quadratic). Equal pairs of
    values are all on the front.

    Example:
        >>> pareto_front(two_metric_definition, observations)
        [4, 17, 2]
    """
    optimized = definition.optimized_metrics
    if len(optimized) != 2:
        return None
    thresholds = any(m.threshold is not None for m in definition.metrics)
    # Oriented so that smaller is better for both metrics.
    signs = [-1.0 if m.objective == "maximize" else 1.0 for m in optimized]
    keyed: list[tuple[float, float, int]] = []
    for position, observation in enumerate(observations):
        if observation.failed or (thresholds and not meets_thresholds(definition, observation.values)):
            continue
        a, b = (finite(observation.values.get(m.name)) for m in optimized)
        if a is not None and b is not None:
            keyed.append((signs[0] * a, signs[1] * b, position))
    keyed.sort()
    front: list[int] = []
    best_b = float("inf")
    last: tuple[float, float] | None = None
    for a, b, position in keyed:
        if b < best_b or (a, b) == last:
            front.append(position)
            best_b = min(best_b, b)
            last = (a, b)
    return front

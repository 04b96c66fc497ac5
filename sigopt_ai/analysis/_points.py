"""Observations as points for parallel coordinates and the Pareto plot, and the Pareto front."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sigopt_ai._best import pareto_positions
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import Observation
from sigopt_ai.analysis._common import finite_values, json_assignments

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

    The same front, in the same order, as SigOpt's best assignments
    (:func:`sigopt_ai._best.pareto_positions`): successful observations within every threshold, in
    ``O(n log n)``.

    Example:
        >>> pareto_front(two_metric_definition, observations)
        [4, 17, 2]
    """
    if len(definition.optimized_metrics) != 2:
        return None
    return pareto_positions(definition, observations)

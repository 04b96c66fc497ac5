"""The history plot's data: every observation's value in order, failures marked by kind, and the best
value so far."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import Observation
from sigopt_ai.analysis._common import best_steps, finite, plotted_metric, sample_indices

__all__ = ["DEFAULT_POINTS", "history"]

DEFAULT_POINTS = 2000
"""Points a plot gets at most by default: enough to see every region, few enough to draw fast."""


def history(
    definition: ExperimentDefinition, observations: Sequence[Observation], *, points: int = DEFAULT_POINTS
) -> dict[str, Any]:
    """The value of each observation against its index, and the best value so far.

    Args:
        definition: The experiment's definition.
        observations: Its observations, oldest first.
        points: At most this many observations are listed (every best-so-far step is kept, failures in
            proportion); ``best`` always has every step.

    Returns:
        ``{"metric", "objective", "x", "value", "failed", "kind", "best_x", "best"}``: ``x`` are
        1-based observation indices; ``value`` is None for a failure or a value that is not finite;
        ``best_x``/``best`` hold the steps of the best value so far plus the last index (so a line
        drawn through them with a step reaches the end).

    Raises:
        ValueError: ``points`` is less than 1.

    Example:
        >>> h = history(definition, observations)
        >>> h["best"][-1]  # the best value of the experiment
        0.93
    """
    if points < 1:
        raise ValueError(f"points must be at least 1, got {points!r}.")
    metric = plotted_metric(definition)
    steps = best_steps(definition, observations)
    failed = [o.failed for o in observations]
    chosen = sample_indices(failed, (position for position, _ in steps), points)
    best_x = [position + 1 for position, _ in steps]
    best = [value for _, value in steps]
    if steps and best_x[-1] != len(observations):
        best_x.append(len(observations))
        best.append(best[-1])
    return {
        "metric": None if metric is None else metric.name,
        "objective": "maximize" if metric is None else metric.objective,
        "x": [i + 1 for i in chosen],
        "value": [
            None if observations[i].failed or metric is None else finite(observations[i].values.get(metric.name))
            for i in chosen
        ],
        "failed": [failed[i] for i in chosen],
        "kind": [observations[i].failure_kind if observations[i].failed else None for i in chosen],
        "best_x": best_x,
        "best": best,
    }

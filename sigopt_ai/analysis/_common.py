"""What the analysis functions share: finite numbers for JSON, the plotted metric, the best-so-far
steps, and the downsampling that keeps the points a plot must not lose."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sigopt_ai._best import meets_thresholds
from sigopt_ai._definition import ExperimentDefinition, Metric
from sigopt_ai._models import Observation

__all__ = ["best_steps", "finite", "finite_values", "json_assignments", "plotted_metric", "sample_indices"]


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite (JSON has no
    such numbers, and these routes send them as null)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def json_assignments(assignments: Mapping[str, Any]) -> dict[str, Any]:
    """Assignments for JSON: ints stay ints, text stays text, a number that is not finite becomes None."""
    return {
        name: value if isinstance(value, (str, bool, int)) or value is None else finite(value)
        for name, value in assignments.items()
    }


def finite_values(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, float | None]:
    """One entry per name of ``names``: its finite value in ``values``, else None."""
    return {name: finite(values.get(name)) for name in names}


def plotted_metric(definition: ExperimentDefinition) -> Metric | None:
    """The metric a history plots: the first optimized one (None for an all-constraint search)."""
    optimized = definition.optimized_metrics
    return optimized[0] if optimized else None


def best_steps(definition: ExperimentDefinition, observations: Sequence[Observation]) -> list[tuple[int, float]]:
    """Where the best value so far changes: ``(position, value)`` pairs, positions 0-based.

    A value counts when its observation succeeded, it is finite, and every metric threshold is met
    (SigOpt's best assignments rule, :func:`sigopt_ai._best.meets_thresholds`).
    """
    metric = plotted_metric(definition)
    if metric is None:
        return []
    thresholds = any(m.threshold is not None for m in definition.metrics)
    steps: list[tuple[int, float]] = []
    best: float | None = None
    for position, observation in enumerate(observations):
        if observation.failed:
            continue
        value = finite(observation.values.get(metric.name))
        if value is None or (thresholds and not meets_thresholds(definition, observation.values)):
            continue
        if best is None or metric.is_better(value, best):
            best = value
            steps.append((position, value))
    return steps


def _spread(items: Sequence[int], count: int) -> list[int]:
    """``count`` items of ``items`` evenly spread, first and last included."""
    if count <= 0 or not items:
        return []
    if count >= len(items):
        return list(items)
    if count == 1:
        return [items[len(items) // 2]]
    step = (len(items) - 1) / (count - 1)
    return [items[round(i * step)] for i in range(count)]


def sample_indices(failed: Sequence[bool], keep: Iterable[int], limit: int) -> list[int]:
    """Positions of at most ``limit`` points out of ``len(failed)``, ascending: every position of
    ``keep`` (best-so-far steps, the Pareto front), the rest spread evenly, failures and successes
    each in proportion to their share of the rest.

    All positions when there are at most ``limit``. When ``keep`` alone holds more, it is itself
    spread evenly (a limit is a limit: the page must stay fast).

    Example:
        >>> sample_indices([False] * 10, keep=[3], limit=4)
        [0, 3, 5, 9]
    """
    n = len(failed)
    if n <= limit:
        return list(range(n))
    kept = sorted({i for i in keep if 0 <= i < n})
    if len(kept) >= limit:
        return _spread(kept, limit)
    chosen = set(kept)
    rest_failed = [i for i in range(n) if failed[i] and i not in chosen]
    rest_ok = [i for i in range(n) if not failed[i] and i not in chosen]
    room = limit - len(kept)
    share = round(room * len(rest_failed) / max(1, len(rest_failed) + len(rest_ok)))
    if rest_failed and share == 0:
        share = 1  # a kind of failure that exists is never sampled away entirely
    chosen.update(_spread(rest_failed, share))
    chosen.update(_spread(rest_ok, room - min(share, len(rest_failed))))
    return sorted(chosen)

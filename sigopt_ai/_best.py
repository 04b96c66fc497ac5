"""The best observations of an experiment: SigOpt's best assignments rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sigopt_ai._definition import ExperimentDefinition, Metric
from sigopt_ai._models import Observation


def meets_thresholds(definition: ExperimentDefinition, values: Mapping[str, float]) -> bool:
    """Whether every metric with a threshold is on the right side of it (inclusive)."""
    for metric in definition.metrics:
        if metric.threshold is None:
            continue
        value = values.get(metric.name)
        if value is None or value != value:
            return False
        if metric.objective == "maximize" and value < metric.threshold:
            return False
        if metric.objective == "minimize" and value > metric.threshold:
            return False
    return True


def _key(metric: Metric, value: float) -> float:
    return -value if metric.objective == "maximize" else value


def best_observations(definition: ExperimentDefinition, observations: Sequence[Observation]) -> list[Observation]:
    """Failed observations and those outside a threshold never count.

    One optimized metric: the best (or the ``num_solutions`` best); two: the Pareto front sorted by
    the first; none (all-constraint search): every valid observation.
    """
    valid = [o for o in observations if not o.failed and meets_thresholds(definition, o.values)]
    optimized = definition.optimized_metrics
    if not optimized:
        return valid
    valid = [o for o in valid if all(o.values.get(m.name) == o.values.get(m.name) for m in optimized)]
    if len(optimized) == 1:
        ranked = sorted(valid, key=lambda o: _key(optimized[0], o.values[optimized[0].name]))
        return ranked[: max(1, definition.num_solutions)]
    return _pareto(valid, optimized)


def _pareto(observations: list[Observation], metrics: Sequence[Metric]) -> list[Observation]:
    keyed = [(tuple(_key(m, o.values[m.name]) for m in metrics), o) for o in observations]
    front = [
        o
        for k, o in keyed
        if not any(all(a <= b for a, b in zip(other, k, strict=True)) and other != k for other, _ in keyed)
    ]
    return sorted(front, key=lambda o: _key(metrics[0], o.values[metrics[0].name]))

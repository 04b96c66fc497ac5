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


def _valid(definition: ExperimentDefinition, observation: Observation) -> bool:
    """Counts for the best: not failed, every threshold met, every optimized value a number (not NaN)."""
    if observation.failed or not meets_thresholds(definition, observation.values):
        return False
    return all(observation.values.get(m.name) == observation.values.get(m.name) for m in definition.optimized_metrics)


def best_observations(definition: ExperimentDefinition, observations: Sequence[Observation]) -> list[Observation]:
    """Failed observations and those outside a threshold never count.

    One optimized metric: the best (or the ``num_solutions`` best); two: the Pareto front sorted by
    the first; none (all-constraint search): every valid observation.
    """
    optimized = definition.optimized_metrics
    if len(optimized) == 2:
        return [observations[i] for i in pareto_positions(definition, observations)]
    valid = [o for o in observations if _valid(definition, o)]
    if not optimized:
        return valid
    ranked = sorted(valid, key=lambda o: _key(optimized[0], o.values[optimized[0].name]))
    return ranked[: max(1, definition.num_solutions)]


def pareto_positions(definition: ExperimentDefinition, observations: Sequence[Observation]) -> list[int]:
    """Positions in ``observations`` of the Pareto front of the first two optimized metrics, sorted by
    the first metric (best first, ties in observation order); only valid observations count (see
    :func:`best_observations`), and equal pairs of values are all on the front.

    A sort and one sweep, ``O(n log n)``: a point is on the front when its second value beats every
    point before it in the sort (pairwise dominance checks took minutes at 10,000 observations).
    """
    first, second = definition.optimized_metrics[:2]
    keyed = sorted(
        (_key(first, o.values[first.name]), _key(second, o.values[second.name]), position)
        for position, o in enumerate(observations)
        if _valid(definition, o)
    )
    front: list[int] = []
    best: float | None = None
    last: tuple[float, float] | None = None
    for a, b, position in keyed:
        if best is None or b < best or (a, b) == last:
            front.append(position)
            best = b if best is None else min(best, b)
            last = (a, b)
    return front

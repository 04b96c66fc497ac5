"""Metrics: objectives, strategies, thresholds, and how many of each kind an experiment may have."""

from __future__ import annotations

from typing import Any

from sigopt_ai._definition import Metric, MetricStrategy, Objective
from sigopt_ai.experiments._parse._common import (
    Metrics,
    as_mapping,
    as_number,
    as_written,
    check_keys,
    check_name,
    check_unique,
    choice,
    fail,
    non_empty_list,
    required,
)

MAX_OPTIMIZED_METRICS = 2
MAX_CONSTRAINT_METRICS = 4
MAX_METRICS = 50
_OBJECTIVES: dict[str, Objective] = {"maximize": "maximize", "minimize": "minimize"}
_STRATEGIES: dict[str, MetricStrategy] = {
    "optimize": "optimize",
    "constraint": "constraint",
    "store": "store",
}


def parse_metrics(value: Any) -> Metrics:
    """The ``metrics`` list: unique names and the counts of optimized and constraint metrics."""
    items = non_empty_list(value, "metrics", "metric")
    if len(items) > MAX_METRICS:
        fail("metrics", f"an experiment can have at most {MAX_METRICS} metrics, got {len(items)}.")
    metrics = tuple(_parse_metric(item, f"metrics[{i}]") for i, item in enumerate(items))
    check_unique([m.name for m in metrics], "metrics", "No duplicate metrics are allowed")
    _check_metric_counts(metrics)
    return metrics


def _parse_metric(item: Any, path: str) -> Metric:
    if isinstance(item, str):
        return Metric(name=check_name(item, path))
    obj = as_mapping(item, path)
    check_keys(obj, frozenset({"name", "objective", "strategy", "threshold"}), path)
    name = check_name(required(obj, "name", f"{path}.name"), f"{path}.name")
    objective = choice(obj.get("objective"), f"{path}.objective", _OBJECTIVES, "objective", "maximize")
    strategy = choice(obj.get("strategy"), f"{path}.strategy", _STRATEGIES, "strategy", "optimize")
    raw = obj.get("threshold")
    threshold = None if raw is None else as_number(raw, f"{path}.threshold")
    if strategy == "constraint" and threshold is None:
        fail(f"{path}.threshold", "Constraint metrics must have the threshold field defined.")
    if strategy == "store" and threshold is not None:
        fail(f"{path}.threshold", f"Thresholds cannot be specified on stored metrics, got {as_written(threshold)}.")
    return Metric(name=name, objective=objective, strategy=strategy, threshold=threshold)


def _check_metric_counts(metrics: Metrics) -> None:
    optimized = [m for m in metrics if m.strategy == "optimize"]
    constraints = [m.name for m in metrics if m.strategy == "constraint"]
    if not optimized and not constraints:
        fail(
            "metrics",
            f"An experiment must have optimized or constraint metrics; all {len(metrics)} are stored.",
        )
    if len(optimized) > MAX_OPTIMIZED_METRICS:
        names = [m.name for m in optimized]
        fail("metrics", f"An experiment must have one or two optimized metrics, got {len(names)}: {names!r}.")
    if len(constraints) > MAX_CONSTRAINT_METRICS:
        fail(
            "metrics",
            f"An experiment can have at most {MAX_CONSTRAINT_METRICS} constraint metrics, "
            f"got {len(constraints)}: {constraints!r}.",
        )
    if len(optimized) == 1 and optimized[0].threshold is not None:
        fail(
            f"metrics[{metrics.index(optimized[0])}].threshold",
            "Thresholds are only supported for experiments with more than one optimized metric. "
            "Try an All-Constraint experiment instead by setting `strategy` to `constraint`.",
        )

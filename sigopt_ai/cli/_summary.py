"""The summary ``optimize`` and ``start-worker`` print at the end: the best assignments, readably,
and the command that shows the best run."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from sigopt_ai._models import RunRecord

if TYPE_CHECKING:  # experiments import scipy: loaded when a command needs them
    from sigopt_ai.experiments import Experiment


def format_value(value: Any) -> str:
    """A parameter or metric value as a person reads it (``0.00123``, ``1.5e-07``, ``'adam'``)."""
    if isinstance(value, float):
        return str(value) if math.isnan(value) or math.isinf(value) else f"{value:.6g}"
    return str(value)


def summary_lines(experiment: Experiment, best: list[RunRecord]) -> list[str]:
    """The summary of ``experiment`` (an :class:`~sigopt_ai.Experiment`) given its best runs."""
    progress = experiment.progress
    budget = "no budget" if progress.budget is None else f"budget {progress.budget}"
    lines = [
        f"Experiment {experiment.id} ({experiment.name}): {progress.finished} observations, "
        f"{progress.failed} failed, {budget}."
    ]
    if not best:
        lines.append("No run has succeeded yet, so there are no best assignments.")
        return lines
    for rank, record in enumerate(best, 1):
        title = "Best assignments" if len(best) == 1 else f"Best assignments #{rank} of {len(best)}"
        lines.append(f"{title} (run {record.id}):")
        lines += _aligned(record.params)
        metrics = {name: value for name, value in record.metrics.items() if name in _metric_names(experiment)}
        lines += _aligned(metrics or record.metrics)
        lines.append(f"  Show the run: sigopt-ai runs show {record.id}")
    return lines


def _metric_names(experiment: Experiment) -> set[str]:
    return {metric.name for metric in experiment.definition.metrics}


def _aligned(values: Mapping[str, Any]) -> list[str]:
    width = max((len(name) for name in values), default=0)
    return [f"  {name.ljust(width)} = {format_value(values[name])}" for name in sorted(values)]


def print_summary(experiment: Experiment) -> None:
    """Print the summary of ``experiment``."""
    click.echo("\n".join(summary_lines(experiment, experiment.best_runs())))

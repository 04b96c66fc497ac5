"""The failure map: two parameters' plane with every observation, and the optimizer's learned
P(success) on a grid over it, the other parameters held at the best assignment."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sigopt_ai._definition import ExperimentDefinition, Parameter
from sigopt_ai._exceptions import ValidationError
from sigopt_ai._models import Observation
from sigopt_ai._types import ParamValue
from sigopt_ai.analysis._common import best_steps, finite, plotted_metric, sample_indices
from sigopt_ai.analysis._history import DEFAULT_POINTS
from sigopt_ai.analysis._separating import numeric_parameters, separating_pair

if TYPE_CHECKING:
    from sigopt_ai.optimizer import BayesianOptimizer

__all__ = ["DEFAULT_GRID", "MAX_GRID", "failure_map", "map_axes"]

DEFAULT_GRID = 25
"""Cells per side of the P(success) grid by default."""
MAX_GRID = 100
"""The most cells per side a request may ask for (10,000 predictions)."""


def map_axes(
    definition: ExperimentDefinition, observations: Sequence[Observation], x: str | None, y: str | None
) -> tuple[Parameter, Parameter] | None:
    """The map's two parameters: those named, else the :func:`separating_pair`, else the first two
    numeric parameters; None when the experiment has fewer than two numeric parameters and none was
    named.

    Raises:
        ValidationError: ``x`` or ``y`` names no numeric parameter, or both name the same one; the
            message names the field.
    """
    numeric = {p.name: p for p in numeric_parameters(definition)}
    for field, name in (("x", x), ("y", y)):
        if name is not None and name not in numeric:
            raise ValidationError(
                f"{field}: {name!r} is not a numeric parameter of the experiment; expected one of {sorted(numeric)!r}."
            )
    if x is not None and x == y:
        raise ValidationError(f"y: must differ from x ({x!r}).")
    if x is None or y is None:
        names = list(numeric)
        default = separating_pair(definition, observations) or names[:2]
        if x is None and y is None:
            x, y = (default + [None, None])[:2]
        elif x is None:
            x = next((n for n in default + names if n != y), None)
        else:
            y = next((n for n in default + names if n != x), None)
    if x is None or y is None:
        return None
    return numeric[x], numeric[y]


def _axis(parameter: Parameter) -> dict[str, Any]:
    assert parameter.bounds is not None  # a numeric parameter
    return {
        "name": parameter.name,
        "min": parameter.bounds.min,
        "max": parameter.bounds.max,
        "log": parameter.is_log and parameter.bounds.min > 0,
    }


def _ticks(axis: Mapping[str, Any], count: int) -> list[float]:
    """``count`` values from min to max, evenly spaced (in log10 for a log axis)."""
    low, high = float(axis["min"]), float(axis["max"])
    if axis["log"]:
        low, high = math.log10(low), math.log10(high)
    values = [low + (high - low) * i / (count - 1) for i in range(count)]
    return [10.0**v for v in values] if axis["log"] else values


def failure_map(
    definition: ExperimentDefinition,
    observations: Sequence[Observation],
    *,
    x: str | None = None,
    y: str | None = None,
    grid: int = DEFAULT_GRID,
    points: int = DEFAULT_POINTS,
    seed: int = 0,
    optimizer: BayesianOptimizer | None = None,
) -> dict[str, Any]:
    """The failure map of two parameters (see the JSON contract of ``/v1/experiments/{id}/sigopt_ai/failure_map``).

    P(success) is the :class:`~sigopt_ai.optimizer.BayesianOptimizer`'s own classifier
    (:meth:`~sigopt_ai.optimizer.BayesianOptimizer.success_probability`), evaluated on ``grid`` x
    ``grid`` points of the plane; every other parameter takes its value in the best assignment (the
    middle of its range when nothing succeeded yet). It is None when the experiment's strategy has
    no model (a random or grid search) or the model has no classifier yet (initial design, no
    failure, no success).

    Args:
        definition: The experiment's definition.
        observations: Its observations, oldest first.
        x: The horizontal parameter (default: the first of :func:`separating_pair`).
        y: The vertical parameter (default: the second).
        grid: Cells per side, 2 to :data:`MAX_GRID`.
        points: At most this many observations are listed (best-so-far steps kept, failures in proportion).
        seed: The experiment's seed, which the optimizer's random streams derive from.
        optimizer: The experiment's optimizer to fit with (default: a new one); one kept between
            calls warm-starts its fits from the previous map's, as :meth:`suggest` does.

    Returns:
        ``{"x": axis, "y": axis, "points", "success_probability": {"grid" (rows over y), "xs", "ys",
        "sliced_at"} | None, "model": "bayesian" | None}``; ``x`` and ``y`` are None (and the rest
        empty) for an experiment with fewer than two numeric parameters.

    Raises:
        ValidationError: ``x`` or ``y`` is not a numeric parameter, they are equal, or ``grid`` is out
            of range; the message names the field.

    Example:
        >>> failure_map(definition, observations, x="width", y="batch_size")["model"]
        'bayesian'
    """
    if isinstance(grid, bool) or not isinstance(grid, int) or not 2 <= grid <= MAX_GRID:
        raise ValidationError(f"grid: must be an integer from 2 to {MAX_GRID}, got {grid!r}.")
    axes = map_axes(definition, observations, x, y)
    if axes is None:
        return {"x": None, "y": None, "points": [], "success_probability": None, "model": None}
    px, py = axes
    metric = plotted_metric(definition)
    failed = [o.failed for o in observations]
    keep = (position for position, _ in best_steps(definition, observations))
    shown = []
    for position in sample_indices(failed, keep, points):
        observation = observations[position]
        vx, vy = finite(observation.assignments.get(px.name)), finite(observation.assignments.get(py.name))
        if vx is None or vy is None:  # an inactive conditional parameter: not on this plane
            continue
        shown.append(
            {
                "x": vx,
                "y": vy,
                "value": None if observation.failed or metric is None else finite(observation.values.get(metric.name)),
                "failed": observation.failed,
                "kind": observation.failure_kind if observation.failed else None,
                "run": observation.run,
            }
        )
    ax, ay = _axis(px), _axis(py)
    probability = _success_grid(definition, observations, ax, ay, grid, seed, optimizer)
    return {
        "x": ax,
        "y": ay,
        "points": shown,
        "success_probability": probability,
        "model": None if probability is None else "bayesian",
    }


def _success_grid(
    definition: ExperimentDefinition,
    observations: Sequence[Observation],
    ax: Mapping[str, Any],
    ay: Mapping[str, Any],
    grid: int,
    seed: int,
    optimizer: BayesianOptimizer | None,
) -> dict[str, Any] | None:
    if definition.type != "offline":  # random and grid searches have no model
        return None
    if optimizer is None:
        from sigopt_ai.optimizer import BayesianOptimizer  # numpy and scipy: only when a map is asked for

        optimizer = BayesianOptimizer(definition, seed=seed)

    # The best by the plotted metric within the thresholds: with two metrics, a point of the front.
    steps = best_steps(definition, observations)
    best = observations[steps[-1][0]].assignments if steps else {}
    sliced: dict[str, ParamValue] = {name: v for name, v in best.items() if name not in (ax["name"], ay["name"])}
    xs, ys = _ticks(ax, grid), _ticks(ay, grid)
    cells = [{**sliced, ax["name"]: vx, ay["name"]: vy} for vy in ys for vx in xs]
    probability = optimizer.success_probability(observations, cells)
    if probability is None:
        return None
    rows = [[finite(float(p)) for p in probability[row * grid : (row + 1) * grid]] for row in range(grid)]
    return {"grid": rows, "xs": xs, "ys": ys, "sliced_at": sliced}

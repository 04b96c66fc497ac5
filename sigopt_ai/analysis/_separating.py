"""Which two parameters separate failed observations from successful ones best."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from sigopt_ai._definition import ExperimentDefinition, Parameter
from sigopt_ai._models import Observation

__all__ = ["numeric_parameters", "parameter_axis", "separating_pair"]

_MAX_BINS = 8


def numeric_parameters(definition: ExperimentDefinition) -> list[Parameter]:
    """The double and int parameters, in the definition's order."""
    return [p for p in definition.parameters if p.type != "categorical" and p.bounds is not None]


def parameter_axis(parameter: Parameter, values: Sequence[object]) -> np.ndarray:
    """Values of ``parameter`` scaled to [0, 1] over its bounds (log10 for a log parameter); NaN where
    a value is missing (an inactive conditional parameter)."""
    assert parameter.bounds is not None  # numeric_parameters only
    low, high = parameter.bounds.min, parameter.bounds.max
    raw = np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan for v in values])
    if parameter.is_log and low > 0:
        raw, low, high = np.log10(np.maximum(raw, low)), math.log10(low), math.log10(high)
    width = high - low
    return np.asarray((raw - low) / width if width > 0 else np.zeros_like(raw))


def _gini_gain(cells: np.ndarray, failed: np.ndarray, n_cells: int) -> float:
    """How much knowing the cell lowers the Gini impurity of the failure label (0: not at all)."""
    n = failed.size
    total = np.bincount(cells, minlength=n_cells)
    bad = np.bincount(cells, weights=failed.astype(float), minlength=n_cells)
    occupied = total > 0
    p = bad[occupied] / total[occupied]
    within = float(np.sum(total[occupied] * 2.0 * p * (1.0 - p))) / n
    rate = float(failed.mean())
    return 2.0 * rate * (1.0 - rate) - within


def separating_pair(definition: ExperimentDefinition, observations: Sequence[Observation]) -> list[str] | None:
    """The two numeric parameters whose plane separates failures from successes best; None with fewer
    than two numeric parameters, or without both a failure and a success.

    Each pair's plane is cut into an equal grid (up to 8 x 8, fewer cells for few observations, so
    every pair is judged alike), and the pair whose cells lower the Gini impurity of the failure
    label most wins; ties go to the pair listed first. ``O(n)`` per pair with numpy.

    Example:
        >>> separating_pair(definition, observations)
        ['width', 'batch_size']
    """
    numeric = numeric_parameters(definition)
    failed = np.array([o.failed for o in observations], dtype=bool)
    if len(numeric) < 2 or failed.all() or not failed.any():
        return None
    bins = max(2, min(_MAX_BINS, int(math.sqrt(failed.size / 4))))
    # A missing value (inactive parameter) gets a cell of its own: bin index `bins`.
    cells = {}
    for p in numeric:
        axis = parameter_axis(p, [o.assignments.get(p.name) for o in observations])
        index = np.minimum(np.floor(np.nan_to_num(axis, nan=-1.0) * bins), bins - 1).astype(np.intp)
        cells[p.name] = np.where(np.isnan(axis), bins, np.maximum(index, 0))
    best: tuple[float, list[str]] | None = None
    for a, b in itertools.combinations(numeric, 2):
        combined = cells[a.name] * (bins + 1) + cells[b.name]
        gain = _gini_gain(combined, failed, (bins + 1) ** 2)
        if best is None or gain > best[0] + 1e-12:
            best = (gain, [a.name, b.name])
    return None if best is None else best[1]

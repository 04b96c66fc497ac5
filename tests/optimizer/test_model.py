"""The fitted models of one suggestion: the success classifier and the success gate."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai.optimizer._acquisition import log_prob_success
from sigopt_ai.optimizer._base import Observation
from sigopt_ai.optimizer._gp import predict
from sigopt_ai.optimizer._model import (
    HyperCache,
    Models,
    acquisition,
    acquisition_with_grad,
    fit_models,
    with_success_gate,
)
from sigopt_ai.optimizer._space import SearchSpace
from sigopt_ai.optimizer._targets import collect


def _models(definition: ExperimentDefinition) -> Models:
    """2-D box: runs fail where x0 > 0.6, f = (x0 - 0.55)^2 + (x1 - 0.5)^2 (optimum next to the cliff)."""
    rng = np.random.default_rng(0)
    observations = []
    for x0, x1 in rng.random((30, 2)):
        a = {"x0": float(x0), "x1": float(x1)}
        if x0 > 0.6:
            observations.append(Observation(a, failed=True))
        else:
            observations.append(Observation(a, {"f": (x0 - 0.55) ** 2 + (x1 - 0.5) ** 2}))
    data = collect(SearchSpace(definition), observations, [], weights=np.ones(1))
    return fit_models(data, HyperCache(), failure_model="hybrid", warp="yeo-johnson")


def _grid(n: int = 41) -> np.ndarray:
    g = np.linspace(0.0, 1.0, n)
    return np.array([(a, b) for a in g for b in g])


def test_classifier_separates_the_failure_region(make_box: Callable[..., ExperimentDefinition]) -> None:
    models = _models(make_box())
    assert models.classifier is not None
    p = np.exp(log_prob_success(*predict(models.classifier, np.array([[0.3, 0.5], [0.9, 0.5]])))[0])
    assert p[0] > 0.8 and p[1] < 0.2


def test_gate_penalises_points_below_it_and_leaves_the_rest(make_box: Callable[..., ExperimentDefinition]) -> None:
    models = _models(make_box())
    gated = with_success_gate(models, _grid(), 0.95)
    assert np.isfinite(gated.success_floor) and models.success_floor == -np.inf
    grid = _grid()
    before, after = acquisition(models, grid), acquisition(gated, grid)
    inside = before == after
    assert inside.any() and (~inside).any()
    assert np.all(after[~inside] < before[~inside])
    # The failure side is walled off: its best point now scores far below the feasible side's.
    failing = grid[:, 0] > 0.7
    assert after[failing].max() < after[~failing].max() - 5.0
    assert grid[np.argmax(after), 0] <= 0.6 + 0.05


def test_gate_is_off_at_zero_or_without_reference_points(make_box: Callable[..., ExperimentDefinition]) -> None:
    models = _models(make_box())
    assert with_success_gate(models, _grid(), 0.0) is models
    assert with_success_gate(models, _grid()[:0]) is models


def test_gated_acquisition_gradient_matches_finite_differences(
    make_box: Callable[..., ExperimentDefinition],
) -> None:
    gated = with_success_gate(_models(make_box()), _grid(), 0.95)
    x = np.array([[0.3, 0.4], [0.58, 0.5], [0.75, 0.2], [0.9, 0.9]])
    value, grad = acquisition_with_grad(gated, x)
    np.testing.assert_allclose(value, acquisition(gated, x))
    eps = 1e-6
    for i in range(2):
        step = np.zeros(2)
        step[i] = eps
        numeric = (acquisition(gated, x + step) - acquisition(gated, x - step)) / (2 * eps)
        np.testing.assert_allclose(grad[:, i], numeric, rtol=1e-4, atol=1e-4)

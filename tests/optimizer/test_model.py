"""The fitted models of one suggestion: the success classifier and the success gate."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import Observation
from sigopt_ai.optimizer._acquisition import log_prob_success
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


def _two_kinds(definition: ExperimentDefinition, *, with_kinds: bool) -> Models:
    """Runs run out of memory where x0 + x1 > 1.3 and diverge where x1 - x0 > 0.5: two oblique cliffs."""
    observations = []
    for x0, x1 in np.random.default_rng(0).random((40, 2)):
        a = {"x0": float(x0), "x1": float(x1)}
        kind = "oom" if x0 + x1 > 1.3 else "diverged" if x1 - x0 > 0.5 else None
        if kind is None:
            observations.append(Observation(a, {"f": (x0 - 0.7) ** 2 + (x1 - 0.55) ** 2}))
        else:
            observations.append(Observation(a, failed=True, failure_kind=kind if with_kinds else None))
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


def test_classifier_sees_each_failure_kind_along_the_normal_of_its_boundary(
    make_box: Callable[..., ExperimentDefinition],
) -> None:
    models = _two_kinds(make_box(), with_kinds=True)
    assert models.classifier is not None and models.classifier.projection is not None
    projection = models.classifier.projection
    assert projection.shape == (2, 4)  # the point itself, then one direction per kind
    np.testing.assert_array_equal(projection[:, :2], np.eye(2))
    # Each direction points from that kind's failures to the successes.
    assert projection[:, 2] @ np.array([-1.0, -1.0]) / np.sqrt(2) > 0.95  # out of memory
    assert projection[:, 3] @ np.array([1.0, -1.0]) / np.sqrt(2) > 0.95  # diverged
    unknown = _two_kinds(make_box(), with_kinds=False)
    assert unknown.classifier is not None and unknown.classifier.projection is not None
    assert unknown.classifier.projection.shape == (2, 3)  # failures of unknown kind are one kind


def test_runs_out_of_memory_do_not_count_as_bad_values(make_box: Callable[..., ExperimentDefinition]) -> None:
    told, untold = _two_kinds(make_box(), with_kinds=True), _two_kinds(make_box(), with_kinds=False)
    # Diverged runs are floor-padded into the objective GP; runs out of memory only train the classifier.
    assert told.objective.x.shape[0] < untold.objective.x.shape[0] == 40
    corner = np.array([[0.95, 0.9]])  # deep in the out-of-memory region, next to the optimum (0.7, 0.55)
    assert predict(told.objective, corner)[0][0] > predict(untold.objective, corner)[0][0]
    # ... and the classifier still keeps suggestions out of it.
    assert told.classifier is not None
    p = np.exp(log_prob_success(*predict(told.classifier, np.vstack([corner, [[0.5, 0.5]]])))[0])
    assert p[0] < 0.5 * p[1]


def test_failure_kinds_are_grouped_and_a_non_finite_metric_is_a_divergence(
    make_box: Callable[..., ExperimentDefinition],
) -> None:
    observations = [
        Observation({"x0": 0.1, "x1": 0.1}, {"f": 1.0}),
        Observation({"x0": 0.2, "x1": 0.1}, failed=True, failure_kind="oom"),
        Observation({"x0": 0.3, "x1": 0.1}, failed=True),
        Observation({"x0": 0.4, "x1": 0.1}, {"f": float("nan")}),  # finished, but the metric diverged
        Observation({"x0": 0.5, "x1": 0.1}, failed=True, failure_kind="diverged"),
        Observation({"x0": 0.6, "x1": 0.1}, failed=True, failure_kind="oom"),
    ]
    data = collect(SearchSpace(make_box()), observations, [], weights=np.ones(1))
    assert data.failure_kinds == ("oom", None, "diverged")
    np.testing.assert_array_equal(data.failure_group, [-1, 0, 1, 2, 2, 0])
    np.testing.assert_array_equal(data.failed_as(frozenset({"oom"})), [0, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(data.take(np.array([1, 3])).failed_as(frozenset({"diverged"})), [0, 1])


def test_cold_fit_on_many_points_finds_the_same_optimum_from_a_subset(monkeypatch: pytest.MonkeyPatch) -> None:
    """A restarted process at 300 observations starts its fit on 60 points, and loses nothing by it.

    The two cold starts run on the subset; on all points the fit is one refinement from the
    subset's optimum, limited like a warm start (60 iterations).
    """
    from sigopt_ai.optimizer import _gp
    from sigopt_ai.optimizer._gp import Hyper, _neg_log_posterior, default_hyper, fit_hyper

    rng = np.random.default_rng(3)
    x = rng.random((300, 4))
    y = np.sin(6 * x[:, 0]) + (x[:, 1] - 0.5) ** 2 + 0.05 * rng.standard_normal(300)
    y = (y - y.mean()) / y.std()
    sizes: list[int] = []

    def counted(theta: np.ndarray, x: np.ndarray, *args: object) -> object:
        sizes.append(x.shape[0])
        return _neg_log_posterior(theta, x, *args)  # type: ignore[arg-type]

    cache = HyperCache()
    with monkeypatch.context() as patch:
        patch.setattr(_gp, "_neg_log_posterior", counted)
        subset_first = cache.fit("objective", x, y)
    assert 0 < sizes.count(300) <= 70 and sizes.count(60) > 0
    every_point = fit_hyper(x, y, starts=[default_hyper(4)], maxiter=150)

    def neg_log_posterior(h: Hyper) -> float:
        return float(_neg_log_posterior(h.to_theta(), x, y, None)[0])

    assert neg_log_posterior(subset_first) <= neg_log_posterior(every_point) + 1e-3
    assert subset_first.lengthscales[0] < subset_first.lengthscales[2]  # x0 matters, x2 does not
    assert cache.lengthscales("objective") is subset_first.lengthscales  # the warm start of the next fit


def test_a_pending_suggestion_is_believed_at_the_predicted_mean(make_box: Callable[..., ExperimentDefinition]) -> None:
    """Kriging believer: the surface stays where it was, the uncertainty at the pending point goes."""
    definition = make_box()
    rng = np.random.default_rng(0)
    observations = [
        Observation({"x0": float(a), "x1": float(b)}, {"f": (a - 0.55) ** 2 + (b - 0.5) ** 2})
        for a, b in rng.random((20, 2))
    ]
    space = SearchSpace(definition)

    def fit(pending: list[dict[str, float]]) -> Models:
        data = collect(space, observations, pending, weights=np.ones(1))
        return fit_models(data, HyperCache(), failure_model="hybrid", warp="none")

    alone, believed = fit([]), fit([{"x0": 0.5, "x1": 0.45}])
    probe = np.array([[0.5, 0.45], [0.52, 0.47], [0.1, 0.9]])
    mean_alone, var_alone = predict(alone.objective, probe)
    mean_believed, var_believed = predict(believed.objective, probe)
    np.testing.assert_allclose(mean_believed, mean_alone, atol=1e-6)
    assert var_believed[0] < 0.5 * var_alone[0] and var_believed[1] < var_alone[1]
    assert var_believed[2] == pytest.approx(var_alone[2], rel=1e-3)  # far away nothing changes

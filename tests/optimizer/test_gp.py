from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import optimize, stats
from scipy.spatial import distance

from sigopt_ai.optimizer._gp import (
    Hyper,
    _yeojohnson,
    _yeojohnson_lambda,
    default_hyper,
    fit_hyper,
    log_marginal_likelihood,
    matern52,
    posterior,
    predict,
    predict_with_grad,
    standardize,
)


def _data(n: int = 25, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = np.sin(6.0 * x[:, 0]) + x[:, 1] ** 2
    return x, (y - y.mean()) / y.std()


THETA = np.log([0.3, 0.5, 1.2, 1.1, 0.01]).tolist() + [0.2]


@pytest.mark.parametrize("extra", [None, "padded"])
def test_log_marginal_likelihood_gradient_matches_finite_differences(extra: str | None) -> None:
    x, y = _data()
    extra_noise = None if extra is None else np.where(np.arange(len(y)) % 3 == 0, 0.3, 0.0)
    theta = np.array(THETA)
    _, grad = log_marginal_likelihood(theta, x, y, extra_noise)
    numeric = optimize.approx_fprime(theta, lambda t: log_marginal_likelihood(t, x, y, extra_noise)[0], 1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)


def test_kernel_is_symmetric_positive_definite_with_unit_diagonal() -> None:
    x, _ = _data()
    k = matern52(x, x, np.array([0.3, 0.5, 1.0]), 2.0)
    np.testing.assert_allclose(k, k.T)
    np.testing.assert_allclose(np.diag(k), 2.0)
    assert np.linalg.eigvalsh(k).min() > 0


def test_kernel_matches_the_matern_formula_between_two_point_sets() -> None:
    rng = np.random.default_rng(2)
    a, b, lengthscales = rng.random((7, 3)), rng.random((5, 3)), np.array([0.3, 0.5, 1.0])
    r = np.sqrt(5.0) * distance.cdist(a / lengthscales, b / lengthscales)
    np.testing.assert_allclose(matern52(a, b, lengthscales, 1.7), 1.7 * (1.0 + r + r**2 / 3.0) * np.exp(-r))


def test_gp_interpolates_training_data() -> None:
    x, y = _data()
    hyper = Hyper(np.array([0.3, 0.5, 1.0]), 1.0, 1e-6, 0.0)
    mean, var = predict(posterior(x, y, hyper), x)
    np.testing.assert_allclose(mean, y, atol=1e-3)
    assert var.max() < 1e-4


def test_prediction_gradients_match_finite_differences() -> None:
    x, y = _data()
    post = posterior(x, y, Hyper(np.array([0.3, 0.5, 1.0]), 1.3, 1e-3, 0.1))
    xq = np.random.default_rng(1).random((4, 3))
    mean, var, dmean, dvar = predict_with_grad(post, xq)
    np.testing.assert_allclose((mean, var), predict(post, xq), atol=1e-12)
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6
        mp, vp = predict(post, xq + step)
        mm, vm = predict(post, xq - step)
        np.testing.assert_allclose(dmean[:, i], (mp - mm) / 2e-6, atol=1e-5)
        np.testing.assert_allclose(dvar[:, i], (vp - vm) / 2e-6, atol=1e-5)


def test_fit_finds_the_relevant_dimension_and_warm_start_agrees() -> None:
    x, y = _data(n=40)
    cold = fit_hyper(x, y)
    assert cold.lengthscales[0] < cold.lengthscales[2]  # x0 matters, x2 does not
    warm = fit_hyper(x, y, starts=[cold], maxiter=20)
    start = log_marginal_likelihood(default_hyper(3).to_theta(), x, y)[0]
    assert log_marginal_likelihood(warm.to_theta(), x, y)[0] > start
    np.testing.assert_allclose(np.log(warm.lengthscales), np.log(cold.lengthscales), atol=0.1)


@pytest.mark.parametrize("warp", ["none", "yeo-johnson"])
def test_standardize_is_monotone_and_handles_constants(warp: str) -> None:
    y = np.array([0.4, 3.0, 250.0, 1.0, 80.0])
    st = standardize(y, warp=warp)  # type: ignore[arg-type]
    z = st(y)
    assert np.all(np.argsort(z) == np.argsort(y))
    assert z.mean() == pytest.approx(0.0, abs=1e-9) and z.std() == pytest.approx(1.0)
    flat = standardize(np.full(4, 2.5), warp=warp)  # type: ignore[arg-type]
    np.testing.assert_allclose(flat(np.full(4, 2.5)), 0.0)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(3, 80), elements=st.floats(-1e3, 1e3, allow_subnormal=False)),
    st.floats(0.0, 5.0),
)
def test_the_yeo_johnson_warp_is_scipys(values: np.ndarray, power: float) -> None:
    # The warp's own likelihood search replaced scipy's for speed; it must find the same lambda and
    # transform the same way, on skewed data of either sign.
    y = np.sign(values) * np.abs(values) ** power
    if np.ptp(y) < 1e-6 or not np.all(np.isfinite(y)):
        return
    z = (y - y.mean()) / y.std()
    lmbda = _yeojohnson_lambda(z)
    assert lmbda == pytest.approx(stats.yeojohnson_normmax(z), abs=1e-6)
    np.testing.assert_allclose(_yeojohnson(z, lmbda), stats.yeojohnson(z, lmbda=lmbda), rtol=1e-9, atol=1e-12)

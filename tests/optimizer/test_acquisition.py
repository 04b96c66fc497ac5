from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sigopt_ai.optimizer._acquisition import (
    log_ei,
    log_h,
    log_prob_above,
    log_prob_success,
    parego_scalarize,
    parego_weights,
)


def _naive_ei(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    z = (mean - best) / std
    return np.asarray(std * (stats.norm.pdf(z) + z * stats.norm.cdf(z)))


def test_log_h_matches_the_naive_formula_where_it_is_accurate() -> None:
    z = np.linspace(-8.0, 5.0, 200)
    naive = np.log(stats.norm.pdf(z) + z * stats.norm.cdf(z))
    np.testing.assert_allclose(log_h(z), naive, rtol=1e-8, atol=1e-10)


def test_log_ei_matches_log_of_ei_where_ei_is_not_tiny() -> None:
    mean = np.array([0.0, 1.0, -1.0, 2.5, -3.0])
    std = np.array([1.0, 0.5, 2.0, 0.1, 1.5])
    np.testing.assert_allclose(np.exp(log_ei(mean, std, 0.5)[0]), _naive_ei(mean, std, 0.5), rtol=1e-9)


def test_log_ei_stays_finite_and_ordered_where_ei_underflows() -> None:
    mean = -np.array([10.0, 40.0, 1e3, 1e6, 1e12])
    values = log_ei(mean, np.ones(5), 0.0)[0]
    assert _naive_ei(mean, np.ones(5), 0.0)[1:].max() == 0.0  # the naive form underflows
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) < 0)
    # Asymptotically log h(z) ~ -z^2/2 - log(2 pi)/2 - 2 log|z| (third case of Eq. 9).
    assert values[2] == pytest.approx(-0.5e6 - 0.5 * math.log(2 * math.pi) - 2 * math.log(1e3), rel=1e-9)


def _check_derivatives(fn, mean: np.ndarray, spread: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    _, d_mean, d_spread = fn(mean, spread)
    h = 1e-6
    np.testing.assert_allclose(
        d_mean, (fn(mean + h, spread)[0] - fn(mean - h, spread)[0]) / (2 * h), rtol=1e-5, atol=1e-8
    )
    np.testing.assert_allclose(
        d_spread, (fn(mean, spread + h)[0] - fn(mean, spread - h)[0]) / (2 * h), rtol=1e-5, atol=1e-8
    )


def test_derivatives_match_finite_differences() -> None:
    mean = np.array([-30.0, -4.0, -0.5, 0.3, 2.0])
    spread = np.array([1.0, 0.7, 1.3, 0.4, 2.0])
    _check_derivatives(lambda m, s: log_ei(m, s, 0.2), mean, spread)
    _check_derivatives(lambda m, s: log_prob_above(m, s, 0.2), mean, spread)
    _check_derivatives(lambda m, v: log_prob_success(m, v), mean, spread)


def test_log_prob_success_has_a_floor() -> None:
    value = log_prob_success(np.array([-50.0, 50.0]), np.array([0.1, 0.1]), floor=1e-3)[0]
    assert value[0] == pytest.approx(math.log(1e-3), rel=1e-6)
    assert value[1] == pytest.approx(0.0, abs=1e-9)


def test_parego_scalarization_prefers_balanced_points_and_is_deterministic() -> None:
    values = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.6], [0.0, 0.0]])
    s = parego_scalarize(values, np.array([0.5, 0.5]))
    assert s.argmax() == 2 and s.argmin() == 3
    w1, w2 = parego_weights(np.random.default_rng(4), 2), parego_weights(np.random.default_rng(4), 2)
    np.testing.assert_array_equal(w1, w2)
    assert w1.sum() == pytest.approx(1.0) and np.all(w1 >= 0)

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from sigopt_ai.optimizer._classifier import fit_classifier, prior_mean
from sigopt_ai.optimizer._gp import Posterior, predict


def _p_success(post: Posterior, x: np.ndarray) -> np.ndarray:
    mean, var = predict(post, x)
    return np.asarray(special.ndtr(mean / np.sqrt(1.0 + var)))


def test_probability_is_high_where_runs_succeed_and_low_where_they_fail() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((40, 2))
    success = ((x - 0.3) ** 2).sum(1) < 0.15  # a disk of successes
    post = fit_classifier(x, success, np.array([0.2, 0.2]))
    inside = _p_success(post, np.array([[0.3, 0.3], [0.35, 0.25]]))
    outside = _p_success(post, np.array([[0.95, 0.95], [0.9, 0.1]]))
    assert inside.min() > 0.7
    assert outside.max() < 0.3


def test_far_from_data_the_probability_tends_to_the_base_rate() -> None:
    x = np.array([[0.0, 0.0], [0.05, 0.0], [0.0, 0.05], [0.05, 0.05]])
    success = np.array([True, True, True, False])
    post = fit_classifier(x, success, np.array([0.05, 0.05]))
    far = _p_success(post, np.array([[1.0, 1.0]]))[0]
    assert far == pytest.approx(special.ndtr(prior_mean(success) / np.sqrt(1 + 4.0)), abs=1e-3)


def test_one_label_is_rejected() -> None:
    with pytest.raises(ValueError, match="both successes and failures"):
        fit_classifier(np.zeros((3, 1)), np.ones(3, dtype=bool), np.ones(1))

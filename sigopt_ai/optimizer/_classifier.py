"""A Gaussian-process classifier of success versus failure (Laplace approximation, probit link).

It takes its lengthscales from the caller (the optimizer fits them by GP regression on the +-1
labels, which is cheaper than maximising the Laplace evidence), a prior mean at the probit of the
smoothed success rate (so P(success) far from the data is the base rate, not 1/2), and reports
``P(success | x) = Phi(mu / sqrt(1 + var))`` (Eq. 3.82 in Rasmussen & Williams).

References:
    C. E. Rasmussen, C. K. I. Williams. Gaussian Processes for Machine Learning. MIT Press, 2006
    (Alg. 3.1 for the mode, Alg. 3.2 for predictions).
    M. A. Gelbart, J. Snoek, R. P. Adams. Bayesian Optimization with Unknown Constraints. UAI 2014.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg, optimize, special

from sigopt_ai.optimizer._arrays import BoolArray, FloatArray, as_float
from sigopt_ai.optimizer._gp import Hyper, Posterior, matern52, triangular_inverse

_NEWTON_STEPS = 30
_NEWTON_TOL = 1e-6
_JITTER = 1e-8


def _probit_terms(f: FloatArray, labels: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """``sum log Phi(y f)``, its gradient and ``W = -d^2/df^2 log Phi(y f)`` (Eq. 3.16)."""
    z = labels * f
    log_cdf = special.log_ndtr(z)
    ratio = np.exp(-0.5 * f**2 - 0.5 * math.log(2 * math.pi) - log_cdf)  # N(f) / Phi(y f)
    grad = labels * ratio
    w = ratio**2 + z * ratio
    return float(log_cdf.sum()), as_float(grad), as_float(np.maximum(w, 1e-12))


def prior_mean(success: BoolArray) -> float:
    """Probit of the smoothed success rate ``(s + 1) / (n + 2)``."""
    rate = (float(success.sum()) + 1.0) / (success.size + 2.0)
    return float(special.ndtri(rate))


def oblique_direction(x: FloatArray, success: BoolArray, *, prior_sd: float = 5.0) -> FloatArray:
    """Unit normal of the MAP linear probit boundary between successes and failures.

    ``P(success) = Phi(b + w . (x - mean x))`` with ``w ~ N(0, prior_sd^2 I)`` and a flat ``b``.
    """
    xc = x - x.mean(axis=0)
    labels = np.where(success, 1.0, -1.0)
    d = x.shape[1]

    def loss(theta: FloatArray) -> tuple[float, FloatArray]:
        w, b = theta[:d], theta[d]
        value, grad, _ = _probit_terms(xc @ w + b, labels)
        g = np.concatenate([-(xc.T @ grad) + w / prior_sd**2, [-grad.sum()]])
        return -value + 0.5 * float(w @ w) / prior_sd**2, as_float(g)

    theta0 = np.concatenate([np.zeros(d), [prior_mean(success)]])
    w = optimize.minimize(loss, theta0, jac=True, method="L-BFGS-B").x[:d]
    norm = float(np.linalg.norm(w))
    return as_float(w / norm) if norm > 0 else as_float(np.zeros(d))


def fit_classifier(
    x: FloatArray,
    success: BoolArray,
    lengthscales: FloatArray,
    *,
    signal: float = 4.0,
    projection: FloatArray | None = None,
) -> Posterior:
    """Laplace posterior of the latent success function (Alg. 3.1, Newton steps with a mean).

    Args:
        x: ``(n, d)`` inputs.
        success: ``(n,)`` labels; both values must occur.
        lengthscales: ``(d,)`` kernel lengthscales.
        signal: Kernel variance of the latent function.

    Returns:
        A :class:`Posterior` whose mean and variance (see :func:`._gp.predict`) are those of the
        latent function.

    Raises:
        ValueError: ``success`` has a single label or a wrong shape.
        numpy.linalg.LinAlgError: ``B`` is not positive definite.
    """
    if success.shape != (x.shape[0],) or success.all() or not success.any():
        raise ValueError("The classifier needs both successes and failures, one label per point.")
    if projection is not None:
        x = x @ projection
    n = x.shape[0]
    labels = np.where(success, 1.0, -1.0)
    mean = prior_mean(success)
    k = matern52(x, x, lengthscales, signal) + _JITTER * np.eye(n)
    f = np.full(n, mean)
    objective = -math.inf
    for _ in range(_NEWTON_STEPS):
        _, grad, w = _probit_terms(f, labels)
        sw = np.sqrt(w)
        chol = linalg.cholesky(np.eye(n) + sw[:, None] * k * sw[None, :], lower=True)
        b = w * (f - mean) + grad
        a = b - sw * linalg.cho_solve((chol, True), sw * (k @ b))
        f = mean + k @ a
        new_objective = -0.5 * a @ (f - mean) + _probit_terms(f, labels)[0]
        if abs(new_objective - objective) < _NEWTON_TOL:
            break
        objective = new_objective
    _, grad, w = _probit_terms(f, labels)
    sw = np.sqrt(w)
    chol = linalg.cholesky(np.eye(n) + sw[:, None] * k * sw[None, :], lower=True)
    # Alg. 3.2: E[f*] = m + k*^T grad log p(y | f_hat), V[f*] = k** - ||L^-1 (W^1/2 k*)||^2.
    return Posterior(x, Hyper(lengthscales, signal, 0.0, mean), grad, triangular_inverse(chol), sw, projection)

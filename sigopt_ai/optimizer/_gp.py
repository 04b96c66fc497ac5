"""Gaussian-process regression with a Matérn-5/2 ARD kernel, as pure functions.

The model: ``f ~ GP(m, k)`` with a constant mean ``m`` and
``k(x, x') = s * (1 + sqrt(5) r + 5/3 r^2) * exp(-sqrt(5) r)``, ``r^2 = sum_i (x_i - x'_i)^2 / l_i^2``,
observed as ``y = f + e``, ``e ~ N(0, noise)``. Outputs are standardised (optionally Yeo-Johnson
warped first) by :func:`standardize`. Hyperparameters ``(log l, log s, log noise, m)`` are fitted by
MAP with L-BFGS-B on analytic gradients of the log marginal likelihood.

The :class:`Posterior` form is shared with the Laplace classifier (:mod:`._classifier`): the mean
is ``m + k(x, X) @ alpha`` and the variance ``s - ||L^-1 (scale * k(X, x))||^2``.

References:
    C. E. Rasmussen, C. K. I. Williams. Gaussian Processes for Machine Learning. MIT Press, 2006
    (Alg. 2.1, Eq. 4.17 for the Matérn kernel, Eq. 5.9 for the gradient).
    C. Hvarfner, E. O. Hellsten, L. Nardi. Vanilla Bayesian Optimization Performs Great in High
    Dimensions. ICML 2024 (the dimension-scaled log-normal lengthscale prior).
    I.-K. Yeo, R. A. Johnson. A new family of power transformations to improve normality or
    symmetry. Biometrika 87(4), 2000.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg, optimize

from sigopt_ai.optimizer._arrays import FloatArray, as_float

SQRT5 = math.sqrt(5.0)
_JITTER = 1e-8
_LOG_2PI = math.log(2.0 * math.pi)
# L-BFGS-B's relative tolerance on the objective: looser than scipy's default, so a warm start from
# the previous suggestion stops after a few iterations, at the same optimum for practical purposes.
_FTOL = 1e-6

# Bounds of (log lengthscale, log signal variance, log noise variance, constant mean) for
# standardised outputs on the unit cube.
_LOG_LS_BOUNDS = (math.log(1e-2), math.log(1e3))
_LOG_SIGNAL_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(2.0))
_MEAN_BOUNDS = (-5.0, 5.0)

# Gaussian priors on (log signal, log noise, mean); log noise ~ N(-4, 1) as in BoTorch's defaults.
_SIGNAL_PRIOR = (0.0, 1.5)
_NOISE_PRIOR = (-4.0, 1.0)
_MEAN_PRIOR = (0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Hyper:
    """Kernel and likelihood hyperparameters."""

    lengthscales: FloatArray
    signal: float
    noise: float
    mean: float

    def to_theta(self) -> FloatArray:
        """The unconstrained vector ``(log l, log s, log noise, m)`` that the optimiser moves."""
        return np.concatenate([np.log(self.lengthscales), [math.log(self.signal), math.log(self.noise)], [self.mean]])

    @classmethod
    def from_theta(cls, theta: FloatArray) -> Hyper:
        """The inverse of :meth:`to_theta`."""
        return cls(np.exp(theta[:-3]), math.exp(theta[-3]), math.exp(theta[-2]), float(theta[-1]))


@dataclass(frozen=True, slots=True)
class Posterior:
    """A fitted GP (regression or Laplace classification) ready for prediction.

    Attributes:
        x: ``(n, d)`` training inputs.
        hyper: Hyperparameters; ``hyper.mean`` is the prior mean.
        alpha: ``(n,)`` weights of the predictive mean.
        chol_inv: ``(n, n)`` inverse of the lower Cholesky factor used by the predictive variance
            (explicit, because one matrix product per batch of points is twice as fast as a
            triangular solve).
        scale: ``(n,)`` scaling of ``k(X, x)`` before the triangular solve (ones for regression).
        projection: ``(d, d')`` map from query points to the kernel's inputs, or None (identity):
            ``x`` then holds the projected training inputs.
    """

    x: FloatArray
    hyper: Hyper
    alpha: FloatArray
    chol_inv: FloatArray
    scale: FloatArray
    projection: FloatArray | None = None


@dataclass(frozen=True, slots=True)
class Standardizer:
    """The output transform: optional Yeo-Johnson, then ``(y - shift) / scale``."""

    shift: float
    scale: float
    lmbda: float | None
    pre_shift: float
    pre_scale: float

    def __call__(self, y: FloatArray) -> FloatArray:
        """Transform raw outputs (or thresholds) the same way the training outputs were."""
        z = (np.asarray(y, dtype=np.float64) - self.pre_shift) / self.pre_scale
        if self.lmbda is not None:
            z = _yeojohnson(np.atleast_1d(z), self.lmbda).reshape(np.shape(z))
        return as_float((z - self.shift) / self.scale)


def lengthscale_prior(d: int) -> tuple[float, float]:
    """``(loc, scale)`` of the Gaussian prior on log lengthscales: ``log(d)/2 - 0.9, 1``.

    Dimension-scaled as in Hvarfner et al. 2024 (the prior median grows like ``sqrt(d)``), but with
    median ``0.41 sqrt(d)`` instead of their ``4.1 sqrt(d)``: with their constant, warm-started fits
    on the short histories of a tuning budget settled on modes that treat most dimensions as
    irrelevant (``docs/optimizer.md``, *Hyperparameters*).
    """
    return 0.5 * math.log(max(d, 1)) - 0.9, 1.0


def default_hyper(d: int) -> Hyper:
    """The starting point of a cold fit: prior modes, clipped to the bounds."""
    loc, _ = lengthscale_prior(d)
    ls = math.exp(min(loc, _LOG_LS_BOUNDS[1]))
    return Hyper(np.full(d, min(ls, 2.0)), 1.0, math.exp(_NOISE_PRIOR[0]), 0.0)


def _yeojohnson(z: FloatArray, lmbda: float) -> FloatArray:
    """The Yeo-Johnson transform of ``z`` at ``lmbda`` (``expm1``/``log1p`` forms, stable near 0 and 2)."""
    pos = z >= 0
    out = np.empty_like(z)
    zp, zn = z[pos], -z[~pos]
    out[pos] = np.log1p(zp) if abs(lmbda) < 1e-12 else np.expm1(lmbda * np.log1p(zp)) / lmbda
    mu = 2.0 - lmbda
    out[~pos] = -(np.log1p(zn) if abs(mu) < 1e-12 else np.expm1(mu * np.log1p(zn)) / mu)
    return out


def _yeojohnson_lambda(z: FloatArray) -> float:
    """The maximum-likelihood Yeo-Johnson ``lmbda`` of ``z``, as ``scipy.stats.yeojohnson_normmax`` finds it.

    The same bounded Brent search over the same overflow-safe bounds, on a log-likelihood computed
    here: scipy's goes through its array-API wrapper, which cost about 2 ms per evaluation, a tenth
    of a suggestion at 200 observations.
    """
    n = z.size
    jacobian = float(np.sum(np.sign(z) * np.log1p(np.abs(z))))

    def neg_llf(lmbda: float) -> float:
        var = float(np.var(_yeojohnson(z, lmbda)))
        return math.inf if var <= 0.0 or not math.isfinite(var) else 0.5 * n * math.log(var) - (lmbda - 1.0) * jacobian

    eps = np.finfo(np.float64)
    log1p_max = math.log1p(20.0 * float(np.max(np.abs(z))))
    lb = (math.log(eps.tiny) - math.log(eps.eps)) / 2 / log1p_max
    ub = (math.log(eps.max) + math.log(eps.eps)) / 2 / log1p_max
    if np.all(z < 0):
        lb, ub = 2 - ub, 2 - lb
    elif np.any(z < 0):
        lb, ub = max(2 - ub, lb), min(2 - lb, ub)
    return float(optimize.fminbound(neg_llf, lb, ub, xtol=1.48e-08))


def standardize(y: FloatArray, *, warp: Literal["none", "yeo-johnson"] = "none") -> Standardizer:
    """Fit the output transform of ``y`` (raises nothing: constant ``y`` gets scale 1).

    Args:
        y: ``(n,)`` finite outputs.
        warp: ``"yeo-johnson"`` first standardises, then applies the maximum-likelihood
            Yeo-Johnson power transform (HEBO's output warp), then standardises again.
    """
    pre_shift, pre_scale = float(np.mean(y)), float(np.std(y))
    pre_scale = pre_scale if pre_scale > 1e-12 else 1.0
    z = (y - pre_shift) / pre_scale
    lmbda = None
    if warp == "yeo-johnson" and np.ptp(z) > 1e-12:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            lm = _yeojohnson_lambda(z)
            z = _yeojohnson(z, lm)
        lmbda = lm if np.all(np.isfinite(z)) else None
        z = z if lmbda is not None else (y - pre_shift) / pre_scale
    shift, scale = float(np.mean(z)), float(np.std(z))
    return Standardizer(shift, scale if scale > 1e-12 else 1.0, lmbda, pre_shift, pre_scale)


# -- kernel ---------------------------------------------------------------------------------------


# The kernel functions work in place on (m, n) arrays: at 3,000 candidates and 200 observations each
# temporary is 5 MB, and allocating them cost more than the arithmetic. The order of operations is
# that of the plain expressions in the comments, so results are bit-for-bit the same.


def _scaled_sqdist(x1: FloatArray, x2: FloatArray) -> FloatArray:
    # max(0, |x1|^2 + |x2|^2 - 2.0 * x1 @ x2.T)
    cross = (2.0 * x1) @ x2.T
    sq = (x1**2).sum(1)[:, None] + (x2**2).sum(1)[None, :]
    np.subtract(sq, cross, out=sq)
    return as_float(np.maximum(sq, 0.0, out=sq))


def _matern_in_place(sq: FloatArray, signal: float, *, with_g: bool) -> tuple[FloatArray, FloatArray | None]:
    """``K`` and, when asked, ``G`` from squared scaled distances ``sq`` (used as scratch space)."""
    # k = signal * (1.0 + SQRT5 * r + (5.0 / 3.0) * sq) * e, g = signal * (5.0 / 3.0) * (1.0 + SQRT5 * r) * e
    # with r = sqrt(sq) and e = exp(-SQRT5 * r)
    k = np.sqrt(sq)
    np.multiply(k, SQRT5, out=k)
    e = np.negative(k)
    np.exp(e, out=e)
    np.add(k, 1.0, out=k)
    g = np.multiply(np.multiply(k, signal * (5.0 / 3.0)), e) if with_g else None
    np.multiply(sq, 5.0 / 3.0, out=sq)
    np.add(k, sq, out=k)
    np.multiply(k, signal, out=k)
    return as_float(np.multiply(k, e, out=k)), g


def matern52(x1: FloatArray, x2: FloatArray, lengthscales: FloatArray, signal: float) -> FloatArray:
    """The Matérn-5/2 ARD kernel matrix ``k(x1, x2)`` (Eq. 4.17 in Rasmussen & Williams)."""
    return _matern_in_place(_scaled_sqdist(x1 / lengthscales, x2 / lengthscales), signal, with_g=False)[0]


def _matern_with_g(sq: FloatArray, signal: float) -> tuple[FloatArray, FloatArray]:
    """``k`` and ``G = -dk/dr / r`` from squared scaled distances ``sq`` (overwritten).

    ``dk/dx_i = -G (x_i - X_i) / l_i^2`` and ``dK/dlog l_i = G * (dx_i / l_i)^2``.
    """
    k, g = _matern_in_place(sq, signal, with_g=True)
    assert g is not None  # with_g=True always returns it
    return k, g


def _noise_diag(noise: float, n: int, extra: FloatArray | None) -> FloatArray:
    diag = np.full(n, noise + _JITTER)
    return as_float(diag if extra is None else diag + extra)


# -- marginal likelihood --------------------------------------------------------------------------


def _log_prior(theta: FloatArray, d: int) -> tuple[float, FloatArray]:
    loc, sc = lengthscale_prior(d)
    locs = np.concatenate([np.full(d, loc), [_SIGNAL_PRIOR[0], _NOISE_PRIOR[0], _MEAN_PRIOR[0]]])
    scales = np.concatenate([np.full(d, sc), [_SIGNAL_PRIOR[1], _NOISE_PRIOR[1], _MEAN_PRIOR[1]]])
    z = (theta - locs) / scales
    return float(-0.5 * z @ z), as_float(-z / scales)


def log_marginal_likelihood(
    theta: FloatArray, x: FloatArray, y: FloatArray, extra_noise: FloatArray | None = None
) -> tuple[float, FloatArray]:
    """Log marginal likelihood of ``y`` and its gradient in ``theta = (log l, log s, log noise, m)``.

    Eq. 5.8 and 5.9 in Rasmussen & Williams: ``dL/dθ = 1/2 tr((αα^T - K^-1) dK/dθ)``.

    Raises:
        numpy.linalg.LinAlgError: ``K`` is not positive definite.
    """
    n, d = x.shape
    hyper = Hyper.from_theta(theta)
    xs = x / hyper.lengthscales
    kf, g = _matern_with_g(_scaled_sqdist(xs, xs), hyper.signal)
    noisy = kf.copy()
    noisy.flat[:: n + 1] += _noise_diag(hyper.noise, n, extra_noise)
    chol = linalg.cholesky(noisy, lower=True, overwrite_a=True)
    resid = y - hyper.mean
    alpha = linalg.cho_solve((chol, True), resid)
    value = -0.5 * resid @ alpha - np.log(np.diag(chol)).sum() - 0.5 * n * _LOG_2PI
    w = _inverse_from_cholesky(chol)
    np.subtract(np.outer(alpha, alpha), w, out=w)  # alpha alpha^T - K^-1
    m = np.multiply(g, w, out=g)
    # sum_jk M_jk (xs_ji - xs_ki)^2 = 2 sum_j xs_ji^2 (M 1)_j - 2 (xs^T M xs)_ii, as M is symmetric.
    d_ls = (xs**2).T @ m.sum(1) - (xs * (m @ xs)).sum(0)
    d_signal = 0.5 * float(np.multiply(kf, w, out=kf).sum())
    d_noise = 0.5 * hyper.noise * float(np.trace(w))
    grad = np.concatenate([d_ls, [d_signal, d_noise, float(alpha.sum())]])
    return float(value), as_float(grad)


def triangular_inverse(chol: FloatArray) -> FloatArray:
    """The inverse of a lower-triangular matrix.

    Raises:
        numpy.linalg.LinAlgError: ``chol`` is singular.
    """
    inv, info = linalg.lapack.dtrtri(chol, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"trtri failed with info={info}.")
    return as_float(np.tril(inv))


def _inverse_from_cholesky(chol: FloatArray) -> FloatArray:
    """``K^-1`` from the lower Cholesky factor of ``K`` (LAPACK potri: a third of a solve's flops)."""
    inv, info = linalg.lapack.dpotri(chol, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed with info={info}.")
    # potri leaves the upper triangle as it found it: zero, as linalg.cholesky cleans it.
    inv += np.tril(inv, -1).T
    return as_float(inv)


def _neg_log_posterior(
    theta: FloatArray, x: FloatArray, y: FloatArray, extra_noise: FloatArray | None
) -> tuple[float, FloatArray]:
    try:
        lml, g = log_marginal_likelihood(theta, x, y, extra_noise)
    except (np.linalg.LinAlgError, ValueError):
        return 1e10, np.zeros_like(theta)
    lp, gp = _log_prior(theta, x.shape[1])
    value = -(lml + lp)
    if not math.isfinite(value) or not np.all(np.isfinite(g)):
        return 1e10, np.zeros_like(theta)
    return value, -(g + gp)


def _theta_bounds(d: int) -> list[tuple[float, float]]:
    return [_LOG_LS_BOUNDS] * d + [_LOG_SIGNAL_BOUNDS, _LOG_NOISE_BOUNDS, _MEAN_BOUNDS]


def fit_hyper(
    x: FloatArray,
    y: FloatArray,
    *,
    starts: list[Hyper] | None = None,
    maxiter: int = 100,
    extra_noise: FloatArray | None = None,
) -> Hyper:
    """MAP hyperparameters of a GP on standardised ``y``: L-BFGS-B from each start, best kept.

    Args:
        x: ``(n, d)`` inputs in the unit cube.
        y: ``(n,)`` standardised outputs.
        starts: Starting points (a warm start first); default: the prior modes.
        maxiter: L-BFGS-B iteration limit per start.
        extra_noise: ``(n,)`` fixed noise variance added to the fitted one, per point.

    Returns:
        The best hyperparameters found (a start itself when no run improved on it).
    """
    d = x.shape[1]
    bounds = _theta_bounds(d)
    lo, hi = np.array(bounds).T
    best_theta, best_value = None, math.inf
    for start in starts or [default_hyper(d)]:
        theta0 = np.clip(start.to_theta(), lo, hi)
        res = optimize.minimize(
            _neg_log_posterior, theta0, args=(x, y, extra_noise), jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": maxiter, "ftol": _FTOL},
        )  # fmt: skip
        if res.fun < best_value:
            best_theta, best_value = res.x, float(res.fun)
    if best_theta is None:
        raise np.linalg.LinAlgError("No hyperparameter start gave a positive-definite kernel matrix.")
    return Hyper.from_theta(as_float(best_theta))


def posterior(x: FloatArray, y: FloatArray, hyper: Hyper, extra_noise: FloatArray | None = None) -> Posterior:
    """The regression posterior of ``y`` (Alg. 2.1 in Rasmussen & Williams).

    ``extra_noise`` (``(n,)``) adds a fixed noise variance per point on top of ``hyper.noise``.

    Raises:
        numpy.linalg.LinAlgError: The kernel matrix is not positive definite.
    """
    n = x.shape[0]
    k = matern52(x, x, hyper.lengthscales, hyper.signal) + np.diag(_noise_diag(hyper.noise, n, extra_noise))
    chol = linalg.cholesky(k, lower=True)
    alpha = linalg.cho_solve((chol, True), y - hyper.mean)
    return Posterior(x, hyper, as_float(alpha), triangular_inverse(chol), np.ones(n))


def predict(post: Posterior, xq: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Predictive mean and latent variance at ``xq`` (``(m, d)``), without the noise."""
    if post.projection is not None:
        xq = xq @ post.projection
    h = post.hyper
    ks = matern52(xq, post.x, h.lengthscales, h.signal)
    v = (ks * post.scale) @ post.chol_inv.T
    var = np.maximum(h.signal - np.square(v, out=v).sum(1), 1e-12)
    return as_float(h.mean + ks @ post.alpha), as_float(var)


def predict_with_grad(post: Posterior, xq: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Mean, variance and their ``(m, d)`` gradients with respect to ``xq``.

    ``dk/dx_i = -G(r) (x_i - X_i) / l_i^2`` with ``G = s 5/3 (1 + sqrt(5) r) exp(-sqrt(5) r)``.
    """
    if post.projection is not None:
        xq = xq @ post.projection
    h = post.hyper
    ls2 = h.lengthscales**2
    diff = xq[:, None, :] - post.x[None, :, :]
    ks, g = _matern_with_g(as_float(((diff**2) / ls2).sum(-1)), h.signal)
    dk = -g[..., None] * diff / ls2
    v = (ks * post.scale) @ post.chol_inv.T
    u = v @ post.chol_inv  # rows of L^-T v
    var = np.maximum(h.signal - (v**2).sum(1), 1e-12)
    dmean = np.einsum("pnd,n->pd", dk, post.alpha)
    dvar = -2.0 * np.einsum("pnd,pn->pd", dk, u * post.scale)
    if post.projection is not None:
        dmean, dvar = dmean @ post.projection.T, dvar @ post.projection.T
    return as_float(h.mean + ks @ post.alpha), as_float(var), as_float(dmean), as_float(dvar)

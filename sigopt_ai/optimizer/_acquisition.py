"""Acquisition terms in log space, with derivatives, as pure numpy functions.

The acquisition of the Bayesian optimizer (maximised) is a sum of log terms:

``log EI(x) + log P(success | x) + sum_j log P(c_j(x) >= t_j)``

(the log-sum form of constrained EI, Gardner et al. 2014; Gelbart et al. 2014), where EI is
computed with the numerically stable LogEI of Ament et al. 2023. Every function returns the value
and its derivatives with respect to the predictive mean and standard deviation (or variance), so
the optimiser can chain them with the GP's input gradients.

References:
    S. Ament, S. Daulton, D. Eriksson, M. Balandat, E. Bakshy. Unexpected Improvements to Expected
    Improvement for Bayesian Optimization. NeurIPS 2023, arXiv:2310.20708.
    J. Gardner, M. Kusner, Z. Xu, K. Weinberger, J. Cunningham. Bayesian Optimization with
    Inequality Constraints. ICML 2014.
    J. Knowles. ParEGO: a hybrid algorithm with on-line landscape approximation for expensive
    multiobjective optimization problems. IEEE Trans. Evol. Comput. 10(1), 2006.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from sigopt_ai.optimizer._arrays import FloatArray, as_float

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2.0)
_INV_SQRT_EPS = 1.0 / math.sqrt(np.finfo(np.float64).eps)
_MIN_STD = 1e-9


def _log1mexp(x: FloatArray) -> FloatArray:
    """``log(1 - exp(x))`` for ``x < 0`` (Mächler 2012: switch at ``-log 2``)."""
    return as_float(np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x))))


def log_h(z: FloatArray) -> FloatArray:
    """``log(phi(z) + z Phi(z))``, finite for every finite ``z``.

    Eq. (9) in Ament et al. 2023::

        log h(z) = log(phi(z) + z Phi(z))                                        z > -1
                 = -z^2/2 - c1 + log1mexp(log(erfcx(-z/sqrt 2) |z|) + c2)   -1/sqrt(eps) < z <= -1
                 = -z^2/2 - c1 - 2 log|z|                                   z <= -1/sqrt(eps)

    with ``c1 = log(2 pi)/2`` and ``c2 = log(pi/2)/2``.
    """
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu**2 - _C1) + zu * special.ndtr(zu))
    middle = ~upper & (z > -_INV_SQRT_EPS)
    zm = z[middle]
    out[middle] = -0.5 * zm**2 - _C1 + _log1mexp(np.log(special.erfcx(-zm / math.sqrt(2.0)) * np.abs(zm)) + _C2)
    lower = ~upper & ~middle
    zl = z[lower]
    out[lower] = -0.5 * zl**2 - _C1 - 2.0 * np.log(np.abs(zl))
    return out


def d_log_h(z: FloatArray, log_h_z: FloatArray) -> FloatArray:
    """``d log h / dz = Phi(z) / h(z)``, since ``h'(z) = Phi(z)``; computed in log space."""
    return as_float(np.exp(special.log_ndtr(z) - log_h_z))


def log_ei(mean: FloatArray, std: FloatArray, best: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Log expected improvement over ``best`` (maximisation) and its derivatives.

    ``EI = std * h((mean - best) / std)``, so ``log EI = log h(z) + log std`` (Eq. (8) in
    Ament et al. 2023).

    Returns:
        ``(log EI, d/dmean, d/dstd)``.
    """
    std = np.maximum(std, _MIN_STD)
    z = (mean - best) / std
    lh = log_h(z)
    dz = d_log_h(z, lh)
    return as_float(np.log(std) + lh), as_float(dz / std), as_float((1.0 - dz * z) / std)


def log_prob_above(mean: FloatArray, std: FloatArray, threshold: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``log P(c >= threshold)`` for ``c ~ N(mean, std^2)`` and its derivatives (Gardner et al. 2014).

    Returns:
        ``(log Phi(z), d/dmean, d/dstd)`` with ``z = (mean - threshold) / std``.
    """
    std = np.maximum(std, _MIN_STD)
    z = (mean - threshold) / std
    lp = special.log_ndtr(z)
    ratio = np.exp(-0.5 * z**2 - _C1 - lp)  # phi(z) / Phi(z)
    return as_float(lp), as_float(ratio / std), as_float(-ratio * z / std)


def log_prob_success(
    mean: FloatArray, var: FloatArray, *, floor: float = 1e-3
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``log(floor + (1 - floor) P)`` with ``P = Phi(mean / sqrt(1 + var))`` (probit classifier).

    The floor keeps every region reachable: failures are often not deterministic, so no region is
    ever banned outright.

    Returns:
        ``(value, d/dmean, d/dvar)``.
    """
    s = np.sqrt(1.0 + var)
    z = mean / s
    log_p = special.log_ndtr(z)
    ratio = np.exp(-0.5 * z**2 - _C1 - log_p)  # phi(z) / Phi(z)
    value = np.logaddexp(math.log(floor), math.log1p(-floor) + log_p)
    share = np.exp(math.log1p(-floor) + log_p - value)  # d value / d log P
    return as_float(value), as_float(share * ratio / s), as_float(-share * ratio * z / (2.0 * s**2))


def parego_weights(rng: np.random.Generator, k: int) -> FloatArray:
    """Random weights on the simplex, one draw per suggestion (uniform Dirichlet)."""
    return as_float(rng.dirichlet(np.ones(k)))


def parego_scalarize(values: FloatArray, weights: FloatArray, *, rho: float = 0.05) -> FloatArray:
    """Augmented Chebyshev scalarisation of maximised, normalised metrics (ParEGO, Knowles 2006).

    Each column of ``values`` (``(n, k)``, larger is better) is rescaled to ``[0, 1]``; the result
    is ``min_i w_i v_i + rho * sum_i w_i v_i``, larger is better.
    """
    lo, hi = values.min(0), values.max(0)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    v = (values - lo) / span
    return as_float((weights * v).min(1) + rho * (weights * v).sum(1))

"""Maximising an acquisition over the encoded search space.

Candidates: scrambled Sobol points plus Gaussian perturbations of the incumbents (with random
category flips), all rounded *before* evaluation, so ints and categoricals are scored where they
will be evaluated (Garrido-Merchán & Hernández-Lobato 2020). The best few are polished with
L-BFGS-B over their continuous (double) columns, jointly: the acquisition is separable across
starts, so one run on the stacked vector polishes all of them. Linear constraints hold exactly:
infeasible Sobol candidates are dropped, perturbations and polished points are repaired towards
the feasible point they came from.

References:
    E. C. Garrido-Merchán, D. Hernández-Lobato. Dealing with categorical and integer-valued
    variables in Bayesian optimization with Gaussian processes. Neurocomputing 380, 2020.
    M. Balandat et al. BoTorch: A Framework for Efficient Monte-Carlo Bayesian Optimization.
    NeurIPS 2020 (joint multi-start L-BFGS-B on the summed acquisition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from sigopt_ai.optimizer._arrays import BoolArray, FloatArray, as_float
from sigopt_ai.optimizer._space import SearchSpace, row_keys

Acquisition = Callable[[FloatArray], FloatArray]
AcquisitionWithGrad = Callable[[FloatArray], tuple[FloatArray, FloatArray]]

_SIGMAS = (0.01, 0.05, 0.2)
_FLIP_PROB = 0.2
_POLISH_MAXITER = 50
_DUPLICATE_TOL = 1e-6


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """Sizes of the acquisition search."""

    n_sobol: int = 2048
    n_local: int = 1024
    n_polish: int = 5


@dataclass(frozen=True, slots=True)
class Box:
    """A sub-box of the unit cube (a trust region) in encoded coordinates."""

    lower: FloatArray
    upper: FloatArray

    def scale(self, u: FloatArray) -> FloatArray:
        """Map unit-cube points into the box."""
        return as_float(self.lower + u * (self.upper - self.lower))


def sobol_points(space: SearchSpace, n: int, rng: np.random.Generator, box: Box | None = None) -> FloatArray:
    """Up to ``n`` scrambled Sobol points in ``box`` (or the cube), rounded, linear constraints met."""
    u = qmc.Sobol(space.dim, scramble=True, seed=rng).random(n)
    u = space.round(box.scale(u) if box is not None else u)
    return as_float(u[space.feasible(u)])


def _perturb(space: SearchSpace, centers: FloatArray, n: int, rng: np.random.Generator) -> FloatArray:
    idx = rng.integers(centers.shape[0], size=n)
    sigma = rng.choice(_SIGMAS, size=(n, 1))
    u = centers[idx] + sigma * rng.standard_normal((n, space.dim))
    for cols in space.choice_columns:
        flip = rng.random(n) < _FLIP_PROB
        u[flip, cols] = rng.random((int(flip.sum()), cols.stop - cols.start))
    out = space.round(np.clip(u, 0.0, 1.0))
    return space.repair(out, centers[idx])


def candidates(
    space: SearchSpace,
    incumbents: FloatArray,
    rng: np.random.Generator,
    options: SearchOptions,
    box: Box | None = None,
) -> FloatArray:
    """Feasible canonical candidates: Sobol points (in ``box``) and perturbed incumbents."""
    parts = [sobol_points(space, options.n_sobol, rng, box)]
    if incumbents.shape[0] and options.n_local:
        local = _perturb(space, incumbents, options.n_local, rng)
        if box is not None:
            local = space.repair(space.round(np.clip(local, box.lower, box.upper)), incumbents[:1])
        parts.append(local)
    out = np.vstack(parts)
    return as_float(out[space.feasible(out)])  # an infeasible incumbent repairs towards itself


def _not_near(u: FloatArray, avoid: FloatArray) -> BoolArray:
    if avoid.shape[0] == 0 or u.shape[0] == 0:
        return np.ones(u.shape[0], dtype=bool)
    dist = np.abs(u[:, None, :] - avoid[None, :, :]).max(-1)
    return np.asarray(dist.min(1) > _DUPLICATE_TOL)


def _unique(u: FloatArray) -> FloatArray:
    _, first = np.unique(np.array(row_keys(u)), return_index=True)
    return as_float(u[np.sort(first)])


def polish(space: SearchSpace, acq: AcquisitionWithGrad, starts: FloatArray, box: Box | None = None) -> FloatArray:
    """L-BFGS-B on the continuous active columns of each start, jointly; other columns stay fixed.

    Returns:
        Canonical feasible points (each repaired towards its start if the polish left the
        linear constraints).
    """
    cols = space.continuous_columns
    if cols.size == 0 or starts.shape[0] == 0:
        return starts
    k = starts.shape[0]
    lo = np.zeros((k, cols.size)) if box is None else np.tile(box.lower[cols], (k, 1))
    hi = np.ones((k, cols.size)) if box is None else np.tile(box.upper[cols], (k, 1))
    inactive = ~space.active_columns(starts)[:, cols]
    fixed = starts[:, cols]
    lo, hi = np.where(inactive, fixed, np.minimum(lo, fixed)), np.where(inactive, fixed, np.maximum(hi, fixed))

    def objective(z: FloatArray) -> tuple[float, FloatArray]:
        u = starts.copy()
        u[:, cols] = z.reshape(k, cols.size)
        value, grad = acq(u)
        if not (np.all(np.isfinite(value)) and np.all(np.isfinite(grad))):
            return 1e30, np.zeros_like(z)
        return -float(value.sum()), as_float(-grad[:, cols].ravel())

    res = optimize.minimize(
        objective, fixed.ravel(), jac=True, method="L-BFGS-B",
        bounds=list(zip(lo.ravel(), hi.ravel(), strict=True)), options={"maxiter": _POLISH_MAXITER},
    )  # fmt: skip
    out = starts.copy()
    out[:, cols] = np.clip(res.x.reshape(k, cols.size), lo, hi)
    return space.repair(space.round(out), starts)


def maximize(
    space: SearchSpace,
    acq: Acquisition,
    acq_with_grad: AcquisitionWithGrad,
    *,
    incumbents: FloatArray,
    avoid: FloatArray,
    rng: np.random.Generator,
    options: SearchOptions | None = None,
    box: Box | None = None,
) -> FloatArray | None:
    """The best canonical feasible point that repeats no point of ``avoid``.

    Args:
        space: The search space.
        acq: Vectorised acquisition, larger is better.
        acq_with_grad: The acquisition and its gradient, for the polish.
        incumbents: ``(k, dim)`` points to perturb (best first).
        avoid: ``(m, dim)`` observed and pending points never to return.
        rng: Source of the candidates.
        options: Candidate and polish counts.
        box: Optional trust region for the candidates.

    Returns:
        The chosen point, or None when every candidate repeats a known point or scores NaN.
    """
    options = options or SearchOptions()
    cand = _unique(candidates(space, incumbents, rng, options, box))
    known = set(row_keys(avoid))
    cand = cand[np.array([k not in known for k in row_keys(cand)], dtype=bool)]
    if cand.shape[0] == 0:
        return None
    values = acq(cand)
    values = np.where(np.isnan(values), -np.inf, values)
    top = np.argsort(-values)[: options.n_polish]
    polished = polish(space, acq_with_grad, cand[top], box)
    pool = np.vstack([polished, cand[top]])
    pool_values = np.concatenate([acq(polished), values[top]])
    pool_values = np.where(np.isnan(pool_values), -np.inf, pool_values)
    for i in np.argsort(-pool_values):
        if np.isfinite(pool_values[i]) and _not_near(pool[i : i + 1], avoid)[0]:
            return as_float(pool[i])
    return None

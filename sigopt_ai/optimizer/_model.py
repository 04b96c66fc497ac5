"""Fitting the models of one suggestion and evaluating their joint log acquisition.

Failures enter the models in two ways (``docs/optimizer.md``, *Failures in the models*): *floor padding* puts each
failed observation into the objective GP at the worst successful value (libsigopt's
``CONSTANT_LIAR_MIN``; Wakabayashi et al. 2022), except the kinds in :data:`UNPADDED_KINDS`, and
a GP classifier gives ``P(success | x)``.
The classifier gets its own lengthscales, those of a GP regression on the +-1 labels
(least-squares classification, Rasmussen & Williams §6.5): the objective's lengthscales said
nothing about where runs fail (on OOM-MIX they made ``width``, the parameter that runs out of
memory, look irrelevant). Suggestions are then gated on ``P(success)`` (:data:`SUCCESS_GATE`).

Failure boundaries of training runs are often oblique: memory grows with ``batch * width * depth``,
a sum in log space, and the largest stable learning rate moves with the batch size. An axis-aligned
kernel cannot resolve such a boundary: it gives the failures and their successful neighbours the
same P(success). So the classifier's inputs are the point plus, for
each failure kind (``Observation.failure_kind``; unknown counts as one kind), its coordinate along
the normal of a linear probit boundary between the successes and the failures of that kind, with
its own lengthscale. The kernel stays local: far from the data P(success) returns to the base rate,
where a linear prior mean extrapolated (small networks at a diverging learning rate looked safe).
Pending suggestions enter the objective GP at its own predicted mean (the kriging believer,
Ginsbourger et al. 2010), with the hyperparameters fitted on real observations only: the belief
leaves the surface where it was and removes the uncertainty at the pending points, so EI is zero
there and parallel workers get different points. The constant liar at the worst value, libsigopt's
choice, digs a pit in the surface at each pending point, which pushes the next suggestions away
from the incumbent (``docs/optimizer.md``, *Parallel workers*).

References:
    Y. K. Wakabayashi et al. Bayesian optimization with experimental failure for high-throughput
    materials growth. npj Comput. Mater. 8:180, 2022.
    D. Ginsbourger, R. Le Riche, L. Carraro. Kriging is well-suited to parallelize optimization.
    In Computational Intelligence in Expensive Optimization Problems, Springer, 2010.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sigopt_ai.optimizer._acquisition import log_ei, log_prob_above, log_prob_success
from sigopt_ai.optimizer._arrays import BoolArray, FloatArray, as_float
from sigopt_ai.optimizer._classifier import fit_classifier, oblique_direction
from sigopt_ai.optimizer._gp import (
    Hyper,
    Posterior,
    Standardizer,
    default_hyper,
    fit_hyper,
    posterior,
    predict,
    predict_with_grad,
    standardize,
)
from sigopt_ai.optimizer._targets import Data

FailureModel = Literal["hybrid", "impute", "classifier", "ignore"]
OutputWarp = Literal["none", "yeo-johnson"]

PADDING_NOISE = 0.3
"""Noise variance (standardised units) added to floor-padded failures: a padded value is a guess,
and fitting it exactly made lengthscales collapse at the cliff between a success and a nearby
failure, where the search then stalled."""
SUCCESS_GATE = 0.95
"""Suggestions must reach ``P(success) >= SUCCESS_GATE * max P(success)`` over the reference points
(see :func:`with_success_gate`). The sum ``log EI + log P(success)`` alone trades half the
probability of success for twice the expected improvement, so late in a budget, when EI is small
everywhere, it kept probing unexplored corners and the failure boundary. The gate is ramped in
(see ``BayesianOptimizer._gate``); ``docs/optimizer.md``, *The success gate*, has the figures."""
UNPADDED_KINDS = frozenset({"oom", "invalid_assignment"})
"""Failure kinds that are not floor-padded into the objective GP (the classifier still learns them).
A run that ran out of memory says nothing about how good its hyperparameters are: padding it told
the objective GP that wide networks are bad, while the best ones are wide with a small batch. An
invalid assignment is a constraint of the space in the same way."""
_DIRECTION_PRIOR_SD = 5.0  # of the linear probit slopes (oblique_direction); not sensitive to this value
_GATE_SLOPE = 100.0  # log-acquisition penalty per nat of log P(success) below the gate
_COLD_LENGTHSCALE = 0.3
_WARM_MAXITER = 60
_COLD_MAXITER = 150
_LARGE_N = 100
# The label GP only shapes P(success), and its inputs move with the refitted directions, so on many
# points a short warm refit is enough, and its iterations are a large share of a suggestion's time.
_LARGE_N_SUCCESS_MAXITER = 20
_SMALL_N = 40  # below this many points a cold start is cheap enough to try beside the warm one
# A cold fit on many points (a restarted process, a new failure kind late in a long experiment)
# first finds its basin on this many evenly spread points, then refines on all of them like a
# warm start.
_COLD_SUBSET = 60


@dataclass(frozen=True, slots=True)
class ConstraintModel:
    """The GP of one constraint metric and its threshold in the GP's standardised units."""

    posterior: Posterior
    threshold: float


@dataclass(frozen=True, slots=True)
class Models:
    """Everything the acquisition needs.

    Attributes:
        objective: GP of the standardised (padded) objective, larger is better.
        best: Standardised incumbent value; None when no success satisfies the thresholds yet.
        classifier: Laplace GP of success, or None when it is off or all labels agree.
        constraints: GPs of the constraint metrics.
        success_floor: The gate: points with a lower log P(success) are penalised steeply.
    """

    objective: Posterior
    best: float | None
    classifier: Posterior | None
    constraints: tuple[ConstraintModel, ...]
    success_floor: float = -math.inf


class HyperCache:
    """The last hyperparameters of each model, by name: warm starts for the next fit."""

    def __init__(self) -> None:
        self._last: dict[str, Hyper] = {}

    def clear(self) -> None:
        """Forget every warm start."""
        self._last.clear()

    def _starts(self, key: str, d: int, n: int) -> tuple[list[Hyper], bool]:
        """Starting points and whether there is no warm start (a warm start's dimension must fit).

        Without a warm start: two cold starts. With one: the warm start, plus a cold one while
        fewer than ``_SMALL_N`` points make it cheap.
        """
        cold = [default_hyper(d), Hyper(np.full(d, _COLD_LENGTHSCALE), 1.0, 1e-3, 0.0)]
        warm = self._last.get(key)
        if warm is None or warm.lengthscales.shape != (d,):
            return cold, True
        return ([warm, cold[0]] if n < _SMALL_N else [warm]), False

    def lengthscales(self, key: str) -> FloatArray | None:
        """The last lengthscales of model ``key``, if any."""
        warm = self._last.get(key)
        return None if warm is None else warm.lengthscales

    def fit(
        self,
        key: str,
        x: FloatArray,
        y: FloatArray,
        extra_noise: FloatArray | None = None,
        *,
        warm_maxiter: int = _WARM_MAXITER,
    ) -> Hyper:
        """Fit MAP hyperparameters from this cache's starts and remember the result.

        Without a warm start and with at least ``_LARGE_N`` points, the cold starts run on
        ``_COLD_SUBSET`` evenly spread points and the best of them is refined on all points.
        """
        n = x.shape[0]
        starts, cold = self._starts(key, x.shape[1], n)
        if cold and n >= _LARGE_N:
            sub = np.linspace(0, n - 1, _COLD_SUBSET).round().astype(np.intp)
            noise = None if extra_noise is None else extra_noise[sub]
            starts = [fit_hyper(x[sub], y[sub], starts=starts, maxiter=_COLD_MAXITER, extra_noise=noise)]
        # Any cold start gets the long iteration limit; a warm start or a refined subset fit the short one.
        maxiter = warm_maxiter if len(starts) == 1 else _COLD_MAXITER
        hyper = fit_hyper(x, y, starts=starts, maxiter=maxiter, extra_noise=extra_noise)
        self._last[key] = hyper
        return hyper


def _fit_regression(
    cache: HyperCache,
    key: str,
    x: FloatArray,
    y_raw: FloatArray,
    *,
    warp: OutputWarp,
    pending: FloatArray,
    padded: BoolArray | None = None,
) -> tuple[Posterior, Standardizer]:
    st = standardize(y_raw, warp=warp)
    y = st(y_raw)
    extra = None if padded is None else np.where(padded, PADDING_NOISE, 0.0)
    hyper = cache.fit(key, x, y, extra)
    fitted = posterior(x, y, hyper, extra)
    if not pending.shape[0]:
        return fitted, st
    believed = predict(fitted, pending)[0]
    extra = None if extra is None else np.concatenate([extra, np.zeros(pending.shape[0])])
    return posterior(np.vstack([x, pending]), np.concatenate([y, believed]), hyper, extra), st


def _objective_training(data: Data, failure_model: FailureModel) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Inputs, raw targets and the padded mask of the objective GP."""
    worst = float(np.min(data.objective[data.success]))
    if failure_model in ("hybrid", "impute"):
        padded = ~data.success
        if failure_model == "hybrid":  # the classifier alone keeps runs out of UNPADDED_KINDS
            padded &= ~data.failed_as(UNPADDED_KINDS)
        use = data.success | padded
        return data.x[use], as_float(np.where(data.success, data.objective, worst)[use]), padded[use]
    ok = data.success
    return data.x[ok], data.objective[ok], np.zeros(int(ok.sum()), dtype=bool)


def _fit_constraints(data: Data, cache: HyperCache) -> tuple[ConstraintModel, ...]:
    out = []
    for c in data.constraints:
        valid = data.success & np.isfinite(c.values)
        if valid.sum() < 2:
            continue
        # Failures are padded with the worst value here too, as libsigopt does.
        use = valid | ~data.success
        vals = np.where(valid, c.values, np.min(c.values[valid]))[use]
        post, st = _fit_regression(
            cache, f"constraint:{c.name}", data.x[use], vals, warp="none", pending=data.x[:0], padded=~valid[use]
        )
        out.append(ConstraintModel(post, float(st(np.array([c.threshold]))[0])))
    return tuple(out)


def _classifier_projection(data: Data) -> FloatArray:
    """The classifier's input map: the point itself, then one oblique direction per failure kind."""
    columns = [np.eye(data.x.shape[1])]
    for group in np.unique(data.failure_group[data.failure_group >= 0]):
        use = data.success | (data.failure_group == group)
        columns.append(oblique_direction(data.x[use], data.success[use], prior_sd=_DIRECTION_PRIOR_SD)[:, None])
    return as_float(np.hstack(columns))


def fit_models(data: Data, cache: HyperCache, *, failure_model: FailureModel, warp: OutputWarp) -> Models:
    """Fit the objective GP, the success classifier and the constraint GPs of one suggestion.

    Args:
        data: Observations and pending points; at least two successes.
        cache: Warm starts, updated in place.
        failure_model: ``"hybrid"`` (padding and classifier), ``"impute"`` (padding only),
            ``"classifier"`` (classifier only, failures left out of the objective GP) or
            ``"ignore"`` (failures dropped: the ablation that shows why not to).
        warp: Output warp of the objective.

    Raises:
        numpy.linalg.LinAlgError: A kernel matrix is not positive definite.
        ValueError: Fewer than two successes.
    """
    if data.success.sum() < 2:
        raise ValueError("Fitting the models needs at least two successful observations.")
    x, y, padded = _objective_training(data, failure_model)
    objective, st = _fit_regression(cache, "objective", x, y, warp=warp, pending=data.pending, padded=padded)
    satisfied = data.satisfied
    best = float(st(data.objective[satisfied]).max()) if satisfied.any() else None
    classifier = fit_success(data, cache) if failure_model in ("hybrid", "classifier") else None
    return Models(objective, best, classifier, _fit_constraints(data, cache))


def fit_success(data: Data, cache: HyperCache) -> Posterior | None:
    """The success classifier of ``data`` as :func:`fit_models` fits it, alone (the dashboard's
    failure map needs nothing else); None when every observation succeeded.

    Raises:
        numpy.linalg.LinAlgError: A kernel matrix is not positive definite.
    """
    if data.success.all():
        return None
    labels = np.where(data.success, 1.0, -1.0)
    projection = _classifier_projection(data)
    # One warm start per number of directions: a trust region's subset may hold one kind or two.
    key = f"success/{projection.shape[1]}"
    maxiter = _WARM_MAXITER if data.x.shape[0] < _LARGE_N else _LARGE_N_SUCCESS_MAXITER
    lengthscales = cache.fit(key, data.x @ projection, labels - labels.mean(), warm_maxiter=maxiter).lengthscales
    return fit_classifier(data.x, data.success, lengthscales, projection=projection)


def with_success_gate(models: Models, reference: FloatArray, gate: float = SUCCESS_GATE) -> Models:
    """``models`` gated at ``log gate`` + the highest log P(success) at the ``(m, d)`` reference points.

    The gate is relative, so it adapts to how certain the classifier is: it bans nothing while
    P(success) is flat, and keeps suggestions off the failure boundary once the classifier has
    found one. Without a classifier the models are returned unchanged.
    """
    if models.classifier is None or reference.shape[0] == 0 or gate <= 0.0:
        return models
    top = float(np.max(log_prob_success(*predict(models.classifier, reference))[0]))
    return dataclasses.replace(models, success_floor=top + math.log(gate))


def _gated_log_success(models: Models, mean: FloatArray, var: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """log P(success) with the gate's wall below ``models.success_floor``, and its derivatives."""
    v, dmean, dvar = log_prob_success(mean, var)
    weight = 1.0 + _GATE_SLOPE * (v < models.success_floor)
    return as_float(v - _GATE_SLOPE * np.maximum(models.success_floor - v, 0.0)), weight * dmean, weight * dvar


def acquisition(models: Models, x: FloatArray) -> FloatArray:
    """The log acquisition at ``(m, d)`` points: log EI + log P(success) + sum log P(constraint).

    Below the gate (``models.success_floor``) the log P(success) term falls with slope
    ``1 + _GATE_SLOPE``: a soft wall, so the polish still has a gradient to follow back.
    """
    total = np.zeros(x.shape[0])
    if models.best is not None:
        mu, var = predict(models.objective, x)
        total += log_ei(mu, np.sqrt(var), models.best)[0]
    if models.classifier is not None:
        total += _gated_log_success(models, *predict(models.classifier, x))[0]
    for c in models.constraints:
        mu, var = predict(c.posterior, x)
        total += log_prob_above(mu, np.sqrt(var), c.threshold)[0]
    return as_float(total)


def acquisition_with_grad(models: Models, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:func:`acquisition` and its ``(m, d)`` gradient with respect to ``x``."""
    total, grad = np.zeros(x.shape[0]), np.zeros_like(x)
    if models.best is not None:
        mu, var, dmu, dvar = predict_with_grad(models.objective, x)
        std = np.sqrt(var)
        v, a, b = log_ei(mu, std, models.best)
        total += v
        grad += a[:, None] * dmu + (b / (2.0 * std))[:, None] * dvar
    if models.classifier is not None:
        mu, var, dmu, dvar = predict_with_grad(models.classifier, x)
        v, a, b = _gated_log_success(models, mu, var)
        total += v
        grad += a[:, None] * dmu + b[:, None] * dvar
    for c in models.constraints:
        mu, var, dmu, dvar = predict_with_grad(c.posterior, x)
        std = np.sqrt(var)
        v, a, b = log_prob_above(mu, std, c.threshold)
        total += v
        grad += a[:, None] * dmu + (b / (2.0 * std))[:, None] * dvar
    return as_float(total), as_float(grad)

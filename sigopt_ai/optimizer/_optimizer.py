"""The Bayesian optimizer: a thin stateful strategy over pure model and search functions.

Per suggestion (``docs/optimizer.md``, *Design*):

1. the centre of the search space, then a scrambled Sobol design until ``n_initial`` observations and
   two successes exist;
2. the objective GP (Matérn-5/2 ARD, MAP hyperparameters warm-started from the previous suggestion),
   with failures floor-padded at the worst successful value (except runs that ran out of memory or
   were invalid, which only the classifier learns) and pending suggestions believed at the
   GP's own mean (kriging believer); a Laplace GP classifier of success with its own lengthscales, which also sees
   each point's coordinate along an oblique boundary per failure kind; one GP per
   thresholded constraint metric; two optimised metrics are scalarised with fresh ParEGO weights;
3. the log acquisition ``log EI + log P(success) + sum log P(constraint)``, gated to points whose
   P(success) is at least 95 % of the highest one found, maximised over Sobol candidates and
   perturbed incumbents, the best polished with L-BFGS-B;
4. above ``max_points`` observations the models are fitted on the points nearest the incumbent
   and the search is restricted to their bounding box (a trust region), which bounds the cost.

Any numerical failure falls back to the Sobol sequence with a ``RuntimeWarning``.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import linalg, optimize, special

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import Observation
from sigopt_ai._types import ParamValue
from sigopt_ai.optimizer._acquisition import parego_weights
from sigopt_ai.optimizer._arrays import FloatArray, IntArray, SeedLike, as_float, check_seed, index_rng
from sigopt_ai.optimizer._base import Strategy
from sigopt_ai.optimizer._gp import predict
from sigopt_ai.optimizer._model import (
    SUCCESS_GATE,
    FailureModel,
    HyperCache,
    Models,
    OutputWarp,
    acquisition,
    acquisition_with_grad,
    fit_models,
    fit_success,
    with_success_gate,
)
from sigopt_ai.optimizer._search import Box, SearchOptions, maximize, sobol_points
from sigopt_ai.optimizer._sobol import SobolStrategy
from sigopt_ai.optimizer._space import SearchSpace
from sigopt_ai.optimizer._targets import Data, collect, is_success
from sigopt_ai.optimizer._threads import one_blas_thread

_N_INCUMBENTS = 3
_N_GATE_REFERENCE = 1024  # Sobol points (plus the observations) where the success gate looks for max P
# From this many observations on, the search scores half the candidates (and the gate half the reference
# points): scoring costs candidates x observations^2, and a model fitted on that many points is sure
# enough of its landscape that the perturbed incumbents matter more than covering the cube. It kept the
# p95 at 200 observations in 10 dimensions under 150 ms; no benchmark problem reaches it.
_LARGE_HISTORY = 100
_GATE_RAMP_WITHOUT_BUDGET = 30  # observations; half the budget of the benchmark's 6-parameter problems
_MIN_BOX_WIDTH = 0.1
SUCCESS_MAP_POINTS = 200
"""Observations :meth:`BayesianOptimizer.success_probability` fits on at most: the models' cost grows
with the cube of the points, and 200 keep a map of a 10,000-observation experiment under a second."""


def initial_design_size(n_parameters: int) -> int:
    """``max(5, min(2 d, 10))`` quasi-random points before the first model."""
    return max(5, min(2 * n_parameters, 10))


def _center(space: SearchSpace) -> FloatArray:
    """The encoded centre of ``space``: the middle of every range, and the middle value of every
    categorical list (the later one of two middles), as Ax's ``compute_naive_center`` picks it."""
    u = np.full(space.dim, 0.5)
    for cols in space.choice_columns:
        u[cols] = 0.0
        u[cols.start + (cols.stop - cols.start) // 2] = 1.0
    return as_float(u)


def _incumbents(data: Data) -> FloatArray:
    good = data.satisfied if data.satisfied.any() else data.success
    idx = np.flatnonzero(good)
    order = idx[np.argsort(-data.objective[idx])]
    return as_float(data.x[order[:_N_INCUMBENTS]])


def trust_region(data: Data, max_points: int, lengthscales: FloatArray | None) -> tuple[Data, Box | None]:
    """The ``max_points`` observations nearest the incumbent and their bounding box.

    Distances are scaled by the previous objective lengthscales when known. Data with at most
    ``max_points`` observations is returned unchanged with no box.
    """
    n = data.x.shape[0]
    if n <= max_points:
        return data, None
    center = _incumbents(data)[0]
    scale = lengthscales if lengthscales is not None else np.ones(data.x.shape[1])
    dist = (((data.x - center) / scale) ** 2).sum(1)
    sub = data.take(np.sort(np.argsort(dist)[:max_points]))
    lo = np.minimum(sub.x.min(0), np.clip(center - _MIN_BOX_WIDTH / 2, 0.0, 1.0))
    hi = np.maximum(sub.x.max(0), np.clip(center + _MIN_BOX_WIDTH / 2, 0.0, 1.0))
    inside = np.all((sub.pending >= lo) & (sub.pending <= hi), axis=1)
    return dataclasses.replace(sub, pending=sub.pending[inside]), Box(as_float(lo), as_float(hi))


def _stratified(observations: Sequence[Observation], definition: ExperimentDefinition, limit: int) -> IntArray:
    """Positions of at most ``limit`` observations: failures and successes each spread evenly, the
    failures' share proportional but at least a quarter while there are that many."""
    n = len(observations)
    if n <= limit:
        return np.arange(n)
    success = np.array([is_success(o, definition) for o in observations], dtype=bool)
    bad, good = np.flatnonzero(~success), np.flatnonzero(success)
    n_bad = min(bad.size, max(round(limit * bad.size / n), limit // 4))
    n_good = min(good.size, limit - n_bad)
    n_bad = min(bad.size, limit - n_good)

    def spread(items: IntArray, count: int) -> IntArray:
        return items[np.linspace(0, items.size - 1, count).round().astype(np.intp)] if count else items[:0]

    return np.sort(np.concatenate([spread(bad, n_bad), spread(good, n_good)]))


class BayesianOptimizer(Strategy):
    """Bayesian optimization that learns where runs fail.

    Failed observations are floor-padded into the objective GP and train a GP classifier of
    success, so suggestions move away from failing regions without banning them (failures are
    often flaky). Metric constraints get one GP each; two optimised metrics are handled by random
    ParEGO scalarisations; pending suggestions are believed at the predicted mean (kriging
    believer), so parallel workers get different points. Every random stream derives from
    ``(seed, index)``.

    Args:
        definition: The experiment definition.
        seed: An int, a numpy Generator (one int is drawn from it) or None (fresh entropy).
        failure_model: How failures enter the models: ``"hybrid"`` (padding + classifier, the
            default), ``"impute"``, ``"classifier"`` or ``"ignore"`` (ablations).
        output_warp: ``"yeo-johnson"`` (default) warps the objective before the GP, which helps
            heavy-tailed metrics (HEBO); ``"none"`` only standardises.
        n_initial: Size of the Sobol design; default ``max(5, min(2 d, 10))``.
        max_points: Above this many observations, fit on the nearest ones in a trust region.
        search: Candidate and polish counts of the acquisition search (halved from 100 observations on).
        center_first: The first suggestion of a new experiment is the centre of the search space
            (ints rounded; the middle value of each categorical list, the later of two), as Ax
            starts; then the Sobol design.

    Raises:
        ValueError: The search space cannot be encoded, or an option is out of range.

    Example:
        >>> optimizer = BayesianOptimizer(definition, seed=0)
        >>> optimizer.suggest(observations, pending=[], index=len(observations))
        {'lr': 0.0012..., 'batch_size': 128}

    References:
        See :mod:`sigopt_ai.optimizer._gp`, :mod:`._classifier`, :mod:`._acquisition` and
        :mod:`._search`.
    """

    def __init__(
        self,
        definition: ExperimentDefinition,
        *,
        seed: SeedLike = 0,
        failure_model: FailureModel = "hybrid",
        output_warp: OutputWarp = "yeo-johnson",
        n_initial: int | None = None,
        max_points: int = 300,
        search: SearchOptions | None = None,
        center_first: bool = True,
    ) -> None:
        super().__init__(definition, seed=check_seed(seed))
        if failure_model not in ("hybrid", "impute", "classifier", "ignore"):
            raise ValueError(f"{failure_model!r} is not a failure model.")
        if output_warp not in ("none", "yeo-johnson"):
            raise ValueError(f"{output_warp!r} is not an output warp.")
        if max_points < 10:
            raise ValueError(f"max_points must be at least 10, got {max_points!r}.")
        self.sobol = SobolStrategy(definition, seed=self.seed)
        self.space = self.sobol.space
        self.failure_model: FailureModel = failure_model
        self.output_warp: OutputWarp = output_warp
        self.n_initial = n_initial if n_initial is not None else initial_design_size(self.space.n_parameters)
        self.max_points = max_points
        self.search = search or SearchOptions()
        self.center_first = center_first
        self._cache = HyperCache()

    def reset(self) -> None:
        """Forget warm starts and caches (suggestions may change slightly: warm starts move fits)."""
        self._cache.clear()
        self.sobol.reset()

    def suggest(
        self,
        observations: Sequence[Observation],
        pending: Sequence[Mapping[str, ParamValue]],
        *,
        index: int,
    ) -> dict[str, ParamValue]:
        """Propose one assignment (see :meth:`Strategy.suggest`).

        Raises:
            ValueError: ``index`` is negative, or an assignment has a value the space cannot encode.
        """
        if index < 0:
            raise ValueError(f"index must be >= 0, got {index!r}.")
        if self._in_initial_design(observations):
            if self.center_first and index == 0 and not observations:
                center = self.space.round(_center(self.space)[None, :])
                if self.space.feasible(center)[0]:
                    return self.space.decode(center[0])
            return self.sobol.suggest(observations, pending, index=index)
        try:
            point = self._model_point(observations, pending, index)
        except (ValueError, ArithmeticError) as exc:
            warnings.warn(
                f"Bayesian optimization failed ({type(exc).__name__}: {exc}); suggesting a quasi-random point.",
                RuntimeWarning,
                stacklevel=2,
            )
            point = None
        if point is None:
            return self.sobol.suggest(observations, pending, index=index)
        return self.space.decode(point)

    def success_probability(
        self,
        observations: Sequence[Observation],
        assignments: Sequence[Mapping[str, ParamValue]],
        *,
        max_observations: int = SUCCESS_MAP_POINTS,
    ) -> FloatArray | None:
        """The learned P(success) at ``assignments``: the classifier that :meth:`suggest` gates on,
        fitted the same way (:func:`fit_models`) on ``observations``.

        Above ``max_observations`` the models are fitted on a subset: failures and successes each
        spread evenly over the history, failures keeping at least a quarter of the subset while there
        are that many (a rare kind of failure must still show). Warm starts are kept as
        :meth:`suggest` keeps them, so a second call on more observations fits faster.

        Args:
            observations: Finished observations, oldest first.
            assignments: Where to evaluate P(success); missing parameters take the middle of their range.
            max_observations: Fit on at most this many observations (at least 10).

        Returns:
            ``(len(assignments),)`` probabilities, or None when the strategy has no classifier: still
            in its initial design, no failure or no success, a failure model without a classifier, or
            a numerical failure of the fit.

        Raises:
            ValueError: ``max_observations`` is below 10, or an assignment has a value the space
                cannot encode.

        Example:
            >>> optimizer.success_probability(observations, [{"lr": 0.01, "width": 512}])
            array([0.93...])
        """
        if max_observations < 10:
            raise ValueError(f"max_observations must be at least 10, got {max_observations!r}.")
        points = self.space.encode_many(assignments)
        if self._in_initial_design(observations):
            return None
        chosen = [observations[int(i)] for i in _stratified(observations, self.definition, max_observations)]
        rng = index_rng(self.seed, len(observations))
        data = collect(self.space, chosen, [], weights=parego_weights(rng, len(self.definition.optimized_metrics)))
        if data.success.all() or not data.success.any():
            return None
        with one_blas_thread(), np.errstate(all="ignore"), warnings.catch_warnings():
            for category in (RuntimeWarning, linalg.LinAlgWarning, optimize.OptimizeWarning):
                warnings.simplefilter("ignore", category)
            if self.failure_model not in ("hybrid", "classifier"):
                return None
            try:
                classifier = fit_success(data, self._cache)  # the objective's GP is not needed here
            except (ValueError, ArithmeticError):
                return None
            if classifier is None:
                return None
            mean, var = predict(classifier, points)
            return as_float(special.ndtr(mean / np.sqrt(1.0 + var)))

    def _in_initial_design(self, observations: Sequence[Observation]) -> bool:
        n_success = sum(is_success(o, self.definition) for o in observations)
        return len(observations) < self.n_initial or n_success < 2

    def _model_point(
        self, observations: Sequence[Observation], pending: Sequence[Mapping[str, ParamValue]], index: int
    ) -> FloatArray | None:
        rng = index_rng(self.seed, index)
        weights = parego_weights(rng, len(self.definition.optimized_metrics))
        full = collect(self.space, observations, pending, weights=weights)
        with one_blas_thread(), np.errstate(all="ignore"), warnings.catch_warnings():
            for category in (RuntimeWarning, linalg.LinAlgWarning, optimize.OptimizeWarning):
                warnings.simplefilter("ignore", category)
            data, box = trust_region(full, self.max_points, self._cache.lengthscales("objective"))
            models = fit_models(data, self._cache, failure_model=self.failure_model, warp=self.output_warp)
            large = len(observations) >= _LARGE_HISTORY
            n_reference = _N_GATE_REFERENCE // 2 if large else _N_GATE_REFERENCE
            reference = np.vstack([sobol_points(self.space, n_reference, rng, box), data.x])
            models = with_success_gate(models, reference, self._gate(len(observations)))
            options = self.search
            if large:
                options = dataclasses.replace(options, n_sobol=options.n_sobol // 2, n_local=options.n_local // 2)
            return self._search(models, data, np.vstack([full.x, full.pending]), rng, box, options)

    def _gate(self, n_observations: int) -> float:
        """:data:`SUCCESS_GATE`, ramped up from 0 over the first half of the observation budget.

        Early on a full gate only slows the search down (it creeps from success to success); the
        failures it prevents are those of the second half, spent refining near the optimum
        (``docs/optimizer.md``, *The success gate*). Without a budget the ramp takes
        ``_GATE_RAMP_WITHOUT_BUDGET`` observations.
        """
        budget = self.definition.budget
        ramp = 0.5 * budget if budget else _GATE_RAMP_WITHOUT_BUDGET
        return SUCCESS_GATE * min(1.0, n_observations / ramp)

    def _search(
        self,
        models: Models,
        data: Data,
        avoid: FloatArray,
        rng: np.random.Generator,
        box: Box | None,
        options: SearchOptions,
    ) -> FloatArray | None:
        point = maximize(
            self.space,
            functools.partial(acquisition, models),
            functools.partial(acquisition_with_grad, models),
            incumbents=_incumbents(data),
            avoid=avoid,
            rng=rng,
            options=options,
            box=box,
        )
        if point is not None and not np.all(np.isfinite(point)):
            raise FloatingPointError("The acquisition search returned a non-finite point.")
        return point

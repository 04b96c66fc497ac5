"""Choosing the strategy of an experiment from its definition."""

from __future__ import annotations

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai.optimizer._arrays import SeedLike
from sigopt_ai.optimizer._base import Strategy
from sigopt_ai.optimizer._optimizer import BayesianOptimizer
from sigopt_ai.optimizer._sobol import SobolStrategy


def make_strategy(definition: ExperimentDefinition, *, seed: SeedLike = 0) -> Strategy:
    """The strategy for an experiment's ``type``.

    ``"random"`` and ``"grid"`` get :class:`SobolStrategy` (quasi-random, covering the grid
    uniformly); ``"offline"`` (SigOpt's default, Bayesian optimization) gets
    :class:`BayesianOptimizer`.

    Args:
        definition: The validated experiment definition.
        seed: Seed of every random stream of the strategy; processes sharing an experiment must
            pass the same one.

    Returns:
        A new strategy; build one per process and experiment, and keep it to reuse its caches.

    Raises:
        ValueError: The definition has an unknown ``type`` or a search space that cannot be
            encoded.

    Example:
        >>> strategy = make_strategy(definition, seed=7)
        >>> strategy.suggest(observations, pending, index=len(observations) + len(pending))
    """
    if definition.type in ("random", "grid"):
        return SobolStrategy(definition, seed=seed)
    if definition.type == "offline":
        return BayesianOptimizer(definition, seed=seed)
    raise ValueError(f"{definition.type!r} is not an experiment type; expected 'offline', 'random' or 'grid'.")

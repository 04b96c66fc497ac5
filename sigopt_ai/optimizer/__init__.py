"""Suggestion strategies: quasi-random Sobol and Bayesian optimization that learns where runs fail.

This subpackage imports numpy and scipy; ``import sigopt_ai`` does not import it.

Example:
    >>> from sigopt_ai.optimizer import make_strategy
    >>> strategy = make_strategy(definition, seed=0)
    >>> assignment = strategy.suggest(observations, pending, index=0)
"""

from __future__ import annotations

from sigopt_ai._models import Observation
from sigopt_ai.optimizer._base import Strategy
from sigopt_ai.optimizer._factory import make_strategy
from sigopt_ai.optimizer._optimizer import BayesianOptimizer
from sigopt_ai.optimizer._sobol import SobolStrategy

__all__ = [
    "BayesianOptimizer",
    "Observation",
    "SobolStrategy",
    "Strategy",
    "make_strategy",
]

"""Suggestion strategies: quasi-random Sobol and Bayesian optimization that learns where runs fail.

The strategies need numpy and scipy, which load when one of them is first used: a store imports
the :class:`SuggestionService` with no numerical library, and ``import sigopt_ai`` imports nothing
of this package.

Example:
    >>> from sigopt_ai.optimizer import make_strategy
    >>> strategy = make_strategy(definition, seed=0)
    >>> assignment = strategy.suggest(observations, pending, index=0)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigopt_ai import _lazy
from sigopt_ai._models import Observation
from sigopt_ai.optimizer._base import Strategy
from sigopt_ai.optimizer._service import Snapshot, SuggestionService

if TYPE_CHECKING:
    from sigopt_ai.optimizer._factory import make_strategy
    from sigopt_ai.optimizer._optimizer import BayesianOptimizer
    from sigopt_ai.optimizer._sobol import SobolStrategy

_LAZY = {
    "BayesianOptimizer": "sigopt_ai.optimizer._optimizer",
    "SobolStrategy": "sigopt_ai.optimizer._sobol",
    "make_strategy": "sigopt_ai.optimizer._factory",
}

if not TYPE_CHECKING:
    # Hidden from type checkers, which would take any misspelt name for a lazy one (see sigopt_ai).
    __getattr__ = _lazy.lazy_names(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    # What the package holds (``__version__`` too), and the lazy names before their first use.
    return sorted({*globals(), *_LAZY})


__all__ = [
    "BayesianOptimizer",
    "Observation",
    "Snapshot",
    "SobolStrategy",
    "Strategy",
    "SuggestionService",
    "make_strategy",
]

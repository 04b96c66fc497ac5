"""The strategy interface between the experiment backend and the suggestion algorithms."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import Observation
from sigopt_ai._types import ParamValue


class Strategy(ABC):
    """Proposes the next assignment of an experiment.

    Contract:
        * A strategy is built once per process for an experiment (``definition``, ``seed``) and may
          keep caches between calls (warm starts), but the answer must depend only on the arguments
          of :meth:`suggest` plus the seed, because several processes share one experiment and each
          builds its own strategy.
        * ``suggest`` returns a complete assignment: every parameter active under the chosen
          conditional values, conditionals included, inactive parameters omitted; values inside
          bounds, on the grid, of the right type, satisfying every linear constraint.
        * ``suggest`` never raises for numerical trouble: it falls back to quasi-random points with
          a ``RuntimeWarning``.
        * It is not required to be thread-safe; threads of one process call it in turn. It runs
          outside the store's write lock, so the workers' processes compute at the same time.
    """

    def __init__(self, definition: ExperimentDefinition, *, seed: int = 0) -> None:
        self.definition = definition
        self.seed = seed

    @abstractmethod
    def suggest(
        self,
        observations: Sequence[Observation],
        pending: Sequence[Mapping[str, ParamValue]],
        *,
        index: int,
    ) -> dict[str, ParamValue]:
        """Propose one assignment.

        Args:
            observations: Every finished observation of the experiment, oldest first. Between calls a
                history only grows at its end (strategies keep what they derived from its start); a
                history changed otherwise is passed as a new list of new objects.
            pending: Assignments already served and still being evaluated by some worker.
            index: How many suggestions the experiment has created before this one (a counter shared
                by all processes, used by quasi-random sequences to continue where they stopped).

        Returns:
            A mapping from parameter name to value.
        """

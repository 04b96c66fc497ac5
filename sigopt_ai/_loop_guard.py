"""Stops an experiment loop that would burn its budget on a bug."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sigopt_ai._exceptions import ExperimentStopped
from sigopt_ai._failures import FailureInfo, FailureKind

if TYPE_CHECKING:
    from sigopt_ai._experiment import Experiment

REPEATS = 3
"""How many identical failures in a row stop the loop."""

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def raising_line(failure: FailureInfo) -> str | None:
    """``file:line`` of the innermost frame of the failure's traceback."""
    frames = _FRAME.findall(failure.traceback or "")
    return f"{frames[-1][0]}:{frames[-1][1]}" if frames else None


class RepeatGuard:
    """Raises :class:`ExperimentStopped` when

    * the same error (a bug: same type and raising line) ends ``REPEATS`` runs in a row, or
    * the loop's first ``REPEATS`` runs all fail identically (kind, type, line and message), whatever
      the kind: an assignment that always fails the same way is a bug in the search space.
    """

    def __init__(self) -> None:
        self._streak: list[tuple[object, ...]] = []
        self._first: list[tuple[object, ...] | None] = []

    def check(self, failure: FailureInfo | None, experiment: Experiment) -> None:
        """Account for one finished run; raise when the loop should stop."""
        self._check_streak(failure, experiment)
        if len(self._first) < REPEATS:
            self._first.append(None if failure is None else _identity(failure))
            if len(self._first) == REPEATS and self._first[0] is not None and len(set(self._first)) == 1:
                raise self._stop(experiment, failure, f"the first {REPEATS} runs failed identically")

    def _check_streak(self, failure: FailureInfo | None, experiment: Experiment) -> None:
        if failure is None or failure.kind is not FailureKind.ERROR:
            self._streak.clear()
            return
        signature = (failure.type, raising_line(failure))
        if self._streak and self._streak[-1] != signature:
            self._streak.clear()
        self._streak.append(signature)
        if len(self._streak) >= REPEATS:
            raise self._stop(experiment, failure, f"the same error ended {REPEATS} runs in a row")

    @staticmethod
    def _stop(experiment: Experiment, failure: FailureInfo | None, why: str) -> ExperimentStopped:
        assert failure is not None
        where = raising_line(failure) or "an unknown line"
        return ExperimentStopped(
            f"Experiment {experiment.id!r} stopped: {why} ({failure.kind.value}: {failure.type}: "
            f"{failure.message} at {where}). Fix the cause and start the loop again; the budget was not spent "
            "on these runs' suggestions."
            if failure.kind.retryable or failure.kind is FailureKind.ERROR
            else f"Experiment {experiment.id!r} stopped: {why} ({failure.kind.value}: {failure.type}: "
            f"{failure.message} at {where}). Check the search space and the training code."
        )


def _identity(failure: FailureInfo) -> tuple[object, ...]:
    return (failure.kind, failure.type, raising_line(failure), failure.message)

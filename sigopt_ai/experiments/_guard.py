"""Stops an experiment loop that would burn its budget on a bug."""

from __future__ import annotations

import os
import re

from sigopt_ai._exceptions import ExperimentStopped
from sigopt_ai._failures import FailureInfo, FailureKind

REPEATS = 3
"""How many identical failures in a row stop the loop."""

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # sigopt_ai/, above experiments/


def raising_line(failure: FailureInfo) -> str | None:
    """``file:line`` of the innermost frame of the failure's traceback outside ``sigopt_ai``.

    An error the SDK raised (a parameter assigned in a loop, a bad metric value) was made on the
    caller's line, which is where the user has to look; the SDK's own frame is only a fallback.
    """
    frames = _FRAME.findall(failure.traceback or "")
    if not frames:
        return None
    outside = [f for f in frames if not os.path.abspath(f[0]).startswith(_PACKAGE)]
    path, line = (outside or frames)[-1]
    return f"{path}:{line}"


class RepeatGuard:
    """Raises :class:`ExperimentStopped` when

    * the same error (a bug: same type and raising line) ends ``REPEATS`` runs in a row, or
    * the loop's first ``REPEATS`` runs all fail identically (kind, type and raising line), whatever
      the kind: an assignment that always fails the same way is a bug in the search space.

    Failures are compared without their messages, which often embed the suggested values; only a
    failure with no traceback (``log_failure``, a diverged metric) is told apart by its message.
    """

    def __init__(self) -> None:
        self._streak: list[tuple[object, ...]] = []
        self._first: list[tuple[object, ...] | None] = []

    def check(self, failure: FailureInfo | None, experiment_id: str) -> None:
        """Account for one finished run; raise when the loop should stop."""
        self._check_streak(failure, experiment_id)
        if len(self._first) < REPEATS:
            self._first.append(None if failure is None else _identity(failure))
            if len(self._first) == REPEATS and self._first[0] is not None and len(set(self._first)) == 1:
                raise self._stop(experiment_id, failure, f"the first {REPEATS} runs failed identically")

    def _check_streak(self, failure: FailureInfo | None, experiment_id: str) -> None:
        if failure is None or not failure.kind.is_bug:
            self._streak.clear()
            return
        signature = (failure.type, raising_line(failure))
        if self._streak and self._streak[-1] != signature:
            self._streak.clear()
        self._streak.append(signature)
        if len(self._streak) >= REPEATS:
            why = (
                f"{REPEATS} runs in a row completed without the experiment's metric"
                if failure.kind is FailureKind.MISSING_METRIC
                else f"the same error ended {REPEATS} runs in a row"
            )
            raise self._stop(experiment_id, failure, why)

    @staticmethod
    def _stop(experiment_id: str, failure: FailureInfo | None, why: str) -> ExperimentStopped:
        assert failure is not None
        line = raising_line(failure)
        where = f" at {line}" if line else ""
        cause = f"{failure.kind.value}: {failure.type + ': ' if failure.type else ''}{failure.message}{where}"
        advice = (
            "Fix the cause and start the loop again; the budget was not spent on these runs' suggestions."
            if failure.kind.retryable or failure.kind.is_bug
            else "Check the search space and the training code."
        )
        return ExperimentStopped(f"Experiment {experiment_id!r} stopped: {why} ({cause}). {advice}")


def _identity(failure: FailureInfo) -> tuple[object, ...]:
    line = raising_line(failure)
    return (failure.kind, failure.type, line) if line else (failure.kind, failure.type, failure.message)

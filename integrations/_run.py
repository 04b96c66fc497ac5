"""The one behaviour every framework integration shares: which run it records into, and how.

An integration records into the run it was given (``run=``), else the current run (the one an
experiment loop opened, or a ``with sigopt.run():`` block), else a run it starts when training
starts and ends when training ends. Parameters, checkpoints and metrics go through the run's own
checks, after values that cannot be recorded (a string where a number belongs, a tensor that is not
a scalar) are dropped: a callback must never stop training because of what it records. Failures are
classified by :func:`sigopt_ai.classify`, as when they leave ``with run:``.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sigopt_ai._checks import MAX_NAME_LENGTH, check_run_name, describe_value, to_number, to_param
from sigopt_ai._config import check_project
from sigopt_ai._exceptions import Diverged, SigOptError, ValidationError, ValidationTypeError
from sigopt_ai._types import ParamValue
from sigopt_ai.runs._run import RunContext, current_run

__all__ = [
    "MAX_CHECKPOINTS",
    "Closable",
    "IntegrationRun",
    "checkpoint_period",
    "flag",
    "importances",
    "non_finite",
    "numbers",
    "params",
    "positive_int",
]

logger = logging.getLogger("sigopt_ai.integrations")

MAX_CHECKPOINTS = 200
"""Checkpoints an integration records per run at most, when it knows the number of steps (SigOpt's limit)."""

_T = TypeVar("_T")
_C = TypeVar("_C", bound="Closable")


class IntegrationRun:
    """The run a framework integration records into.

    Args:
        run: Record into this run (default: the current run when training starts, else a new one).
        name: The name of a run the integration starts itself.
        project: The project of a run the integration starts itself.
        framework: The framework's name, recorded as the run's model type (``log_model``).

    Raises:
        ValidationError: ``run`` is not a :class:`~sigopt_ai.RunContext`, or ``name`` or ``project``
            breaks a rule.
    """

    def __init__(
        self, run: RunContext | None = None, *, name: str | None = None, project: str | None = None, framework: str
    ) -> None:
        if run is not None and not isinstance(run, RunContext):
            raise ValidationTypeError(
                "run must be a sigopt_ai.RunContext (from sigopt.run() or an experiment loop), "
                f"got {type(run).__name__}."
            )
        self._given = run
        self._name = check_run_name(name)
        self._project = check_project(project) if project is not None else None
        self._framework = framework
        self._run: RunContext | None = None
        self._last: RunContext | None = None
        self._owned = False
        self._warned = False

    @property
    def run(self) -> RunContext:
        """The run recorded into, resolved (and started if need be) on first use."""
        return self.start()

    @property
    def started(self) -> bool:
        """Whether the run is resolved: training started and :meth:`finish` has not been called since."""
        return self._run is not None

    @property
    def last(self) -> RunContext | None:
        """The run recorded into last, kept after :meth:`finish` (so that a callback can tell its run's id
        once training is over without starting another), or None before training."""
        return self._last

    @property
    def owned(self) -> bool:
        """Whether the integration started the run, and so ends it in :meth:`finish`."""
        return self._owned

    def start(self) -> RunContext:
        """Resolve the run: ``run=``, else the current run, else a new one that :meth:`finish` ends."""
        if self._run is None:
            found = self._given or current_run(silent=True)
            if found is None:
                found = RunContext(self._name, self._project)
                self._owned = True
            self._run = self._last = found
            self.call(found.log_model, self._framework)
        return self._run

    def begin(self) -> RunContext:
        """Training starts: :meth:`start`, after letting go of a run that an earlier training resolved
        and never finished (one the integration started is failed and ended). Frameworks call no
        callback when training raises, so a callback reused across an experiment loop's runs would
        otherwise keep recording into the previous (ended) run after a failed one."""
        if self._run is not None:
            # A run it started is failed: the exception is unknown here, but the training did not end.
            stopped = RuntimeError(f"{self._framework} training stopped before its end (it raised an exception)")
            self.finish(stopped if self._owned else None)
        return self.start()

    def call(self, method: Callable[..., _T], *args: Any) -> _T | None:
        """``method(*args)``, a logging call that must not stop training: a :class:`~sigopt_ai.SigOptError`
        (the run ended early, a value the run refuses) is logged once and dropped."""
        try:
            return method(*args)
        except SigOptError as exc:
            if not self._warned:
                self._warned = True
                logger.warning("sigopt_ai: the %s integration could not record into its run: %s", self._framework, exc)
            return None

    def log_params(self, values: Mapping[str, Any]) -> None:
        """Record parameters the run does not have yet: suggested and user-set values are kept."""
        clean = params(values)
        if clean:
            self.call(self.run.params.setdefaults, clean)

    def checkpoint(self, values: Mapping[str, Any], step: int | None = None) -> bool:
        """Record the numbers among ``values`` at ``step``.

        Returns:
            Whether a value was NaN or infinite: the run will end ``diverged``.
        """
        clean = numbers(values)
        if clean:
            self.call(self.run.log_checkpoint, clean, step)
        return not all(map(math.isfinite, clean.values()))

    def log_metrics(self, values: Mapping[str, Any], stddevs: Mapping[str, float] | None = None) -> None:
        """Record the numbers among ``values`` as the run's metrics (a NaN one fails it ``diverged``),
        each with its standard deviation from ``stddevs`` when that is a finite number >= 0 (a
        cross-validation's spread over folds)."""
        clean = numbers(values)
        if not clean:
            return
        run = self.run
        for name, value in clean.items():  # checked by numbers(): each is logged as run.log_metrics would
            std = stddevs.get(name) if stddevs else None
            ok = isinstance(std, (int, float)) and math.isfinite(std) and std >= 0
            self.call(run.log_metric, name, value, std if ok else None)

    def log_metadata(self, values: Mapping[str, Any]) -> None:
        """Record metadata entries (values that are not scalars are stored as text)."""
        run = self.run
        for key, value in values.items():
            if isinstance(key, str) and 0 < len(key) <= MAX_NAME_LENGTH:
                self.call(run.log_metadata, key, _short(value))

    def diverged(self, message: str) -> None:
        """Fail the run as ``diverged`` (a NaN loss): the experiment learns to avoid the assignment."""
        self.run.fail_with(Diverged(message))

    def finish(self, error: BaseException | bool | None = None) -> None:
        """Training is over. A run the integration started ends here; a failure is recorded first. The
        next :meth:`start` resolves the run again.

        Args:
            error: The exception training raised, or True when the framework only says it failed
                (the exception being handled, if any, is then classified), or None.
        """
        run = self._run
        if run is None:
            return
        if error is True:
            error = sys.exc_info()[1] or RuntimeError(f"{self._framework} reported that training failed")
        if isinstance(error, BaseException):
            run.fail_with(error)
        if self._owned:
            run.end()
            self._owned = False
        # Forgotten whoever started it: a callback reused across an experiment loop's iterations records
        # each training into that iteration's run, not the first one's.
        self._run = None


def params(values: Mapping[str, Any]) -> dict[str, ParamValue]:
    """The entries of ``values`` a run can hold as parameters: scalars as they are, a list or other
    object as its text (cut to 500 characters), None and bad names left out."""
    clean: dict[str, ParamValue] = {}
    for key, value in values.items():
        if value is None or not isinstance(key, str) or not 0 < len(key) <= MAX_NAME_LENGTH or not key.isprintable():
            continue
        try:
            clean[key] = to_param(value, key)
        except SigOptError:
            # A number a run refuses (an int past 64 bits, such as xgboost's 2**64 - 1 sentinels; NaN) is kept as text.
            text = _short(str(value) if isinstance(value, (int, float)) else value)
            if text is not None:
                clean[key] = text
    return clean


def numbers(values: Mapping[str, Any]) -> dict[str, float]:
    """The entries of ``values`` that are numbers (NaN included), under names a run accepts."""
    clean: dict[str, float] = {}
    accepted = _accepted_names
    for key, value in values.items():
        if type(value) is float and type(key) is str and key in accepted:  # the hot path: a name seen before
            clean[key] = value
            continue
        if value is None or isinstance(value, (str, bytes)) or not isinstance(key, str):
            continue
        if not 0 < len(key) <= MAX_NAME_LENGTH or not key.isprintable():
            continue
        try:
            clean[key] = to_number(value, key)
        except SigOptError:
            continue
        if type(key) is str and len(accepted) < _NAMES_KEPT:
            accepted.add(key)
    return clean


# Names numbers() accepted (a name's rules do not change), so that each step's values skip the checks.
_accepted_names: set[str] = set()
_NAMES_KEPT = 10_000


def checkpoint_period(total: int | None, period: int = 1, limit: int = MAX_CHECKPOINTS) -> int:
    """The period, at least ``period``, that records at most ``limit`` checkpoints over ``total`` steps."""
    period = max(1, int(period))
    if not total or total <= 0:
        return period
    return max(period, math.ceil(total / limit))


def _short(value: Any) -> str | int | float | bool | None:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:
        return None
    return text if len(text) <= 500 else text[:497] + "..."


def positive_int(value: Any, field: str) -> int:
    """``value``, an int >= 1 (not a bool), as a constructor argument must be.

    Raises:
        ValidationTypeError: It is not an int.
        ValidationError: It is below 1.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationTypeError(f"{field} must be a positive int, got {describe_value(value)}.")
    if value < 1:
        raise ValidationError(f"{field} must be a positive int, got {value}.")
    return value


def flag(value: Any, field: str) -> bool:
    """``value``, a bool, as a constructor argument must be (1 or "yes" are refused: a typo, not a choice)."""
    if not isinstance(value, bool):
        raise ValidationTypeError(f"{field} must be True or False, got {describe_value(value)}.")
    return value


def non_finite(values: Mapping[str, float]) -> str:
    """The NaN and infinite entries of ``values`` as ``name=value`` text, for a ``diverged`` message."""
    return ", ".join(f"{name}={value}" for name, value in values.items() if not math.isfinite(value))


def importances(scores: Mapping[str, Any], limit: int = 50) -> dict[str, float]:
    """The ``limit`` highest of a model's feature importances as metadata entries ``"importance/{feature}"``
    (ties by name; features whose entry name would be over 100 characters are left out)."""
    ranked = sorted(((float(v), str(k)) for k, v in scores.items()), reverse=True)
    entries = {f"importance/{name}": value for value, name in ranked}
    return dict(list((k, v) for k, v in entries.items() if len(k) <= MAX_NAME_LENGTH)[:limit])


class Closable:
    """A callback that can be used as ``with callback:`` around training.

    Frameworks call no callback when training raises; leaving the ``with`` block is where the
    exception is classified and recorded, and where a run the callback started ends. Subclasses set
    ``self._integration``.
    """

    _integration: IntegrationRun

    def close(self, error: BaseException | None = None) -> None:
        """Training is over: record ``error`` (if any) and end the run if the callback started it."""
        self._integration.finish(error)

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self.close(exc)

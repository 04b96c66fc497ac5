"""Experiments: suggestions evaluated as runs, until the budget is spent.

An :class:`Experiment` is a handle on a stored experiment; any number of processes may hold one
(``sigopt.get_experiment(id)``) and run :meth:`Experiment.loop` at once.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sigopt_ai import _config
from sigopt_ai._checks import describe_value, short_repr, to_number, to_seconds, to_seed
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import UsageError, ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._models import ExperimentRecord as StoredExperiment
from sigopt_ai._models import Observation, Progress, RunRecord, Suggestion
from sigopt_ai._types import ParamValue
from sigopt_ai.experiments._guard import MISSING_METRIC, REPEATS, RepeatGuard
from sigopt_ai.experiments._progress import ProgressLine
from sigopt_ai.runs._run import RunContext, _new_id
from sigopt_ai.runs._session import get_client

if TYPE_CHECKING:
    from sigopt_ai.optimizer import Strategy

logger = logging.getLogger("sigopt_ai")

DEFAULT_LEASE_TIMEOUT = 60.0
"""Seconds without a heartbeat after which a worker's suggestion is served again."""
MIN_LEASE_TIMEOUT = 1.0
"""The shortest lease: twice the default flush interval, at which the writer renews leases. A shorter
one expires under a live worker, and its suggestion is served to a second one."""


def _db() -> Any:
    """The experiment store functions (SQLAlchemy loads on first use, not at ``import sigopt_ai``)."""
    from sigopt_ai.backends.sql import _experiments

    return _experiments


_strategies: dict[tuple[str, str], Strategy] = {}
_strategy_lock = threading.Lock()
# Strategies are not thread-safe, and the store no longer serialises them (they run outside its write
# lock): threads of one process take turns here, which no other process's heartbeat waits for.
_suggest_lock = threading.Lock()


class Experiment:
    """A stored experiment. Get one from :func:`create_experiment` or :func:`get_experiment`."""

    def __init__(self, stored: StoredExperiment) -> None:
        from sigopt_ai.experiments._parse import parse_experiment

        self._stored = stored
        self.definition: ExperimentDefinition = parse_experiment(stored.definition)

    # -- identity -------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The experiment's id."""
        return self._stored.id

    @property
    def name(self) -> str:
        """The experiment's name."""
        return self._stored.name

    @property
    def project(self) -> str:
        """The experiment's project."""
        return self._stored.project

    @property
    def budget(self) -> int | None:
        """How many observations (failed ones included) the experiment may have."""
        return self.definition.budget

    @property
    def metric(self) -> str:
        """The first optimized metric's name."""
        metrics = self.definition.optimized_metrics or self.definition.constraint_metrics
        return metrics[0].name

    def __repr__(self) -> str:
        return f"<Experiment {self.id} {self.name!r}>"

    @property
    def _backend(self) -> Any:
        return get_client().backend

    # -- progress and results -------------------------------------------------------------------

    @property
    def progress(self) -> Progress:
        """Budget, finished, failed, active and remaining counts."""
        counts = _db().counts(self._backend, self.id)
        remaining = None if self.budget is None else max(0, self.budget - counts.finished - counts.active)
        return Progress(
            self.budget, counts.finished, counts.failed, counts.active, remaining, counts.failed_by_kind, counts.extra
        )

    def is_finished(self) -> bool:
        """Whether the budget is spent (or the experiment archived)."""
        if self._current_state() != "active":
            return True
        progress = self.progress
        return progress.budget is not None and progress.finished >= progress.budget

    def _current_state(self) -> str:
        stored = _db().get_experiment(self._backend, self.id)
        return "deleted" if stored is None else stored.state.value

    def observations(self) -> list[Observation]:
        """Every observation, oldest first."""
        observed: list[Observation] = _db().observations(self._backend, self.id)
        return observed

    def runs(self) -> list[RunRecord]:
        """The experiment's runs, newest first."""
        get_client().flush()
        return list(self._backend.list_runs(experiment=self.id))

    def best_observations(self) -> list[Observation]:
        """The best successful observations meeting every metric threshold (the Pareto front for two
        optimized metrics; the ``num_solutions`` best for several solutions)."""
        from sigopt_ai._best import best_observations

        return best_observations(self.definition, self.observations())

    def best_runs(self) -> list[RunRecord]:
        """The runs of :meth:`best_observations` (observations made outside runs are left out)."""
        get_client().flush()
        records = (self._backend.read_run(o.run) for o in self.best_observations() if o.run)
        return [r for r in records if r is not None]

    def archive(self) -> None:
        """Archive the experiment: loops stop serving suggestions."""
        _db().archive_experiment(self._backend, self.id)

    # -- suggestions ----------------------------------------------------------------------------

    def _strategy(self) -> Strategy:
        from sigopt_ai.optimizer import make_strategy

        key = (str(self._backend.url), self.id)
        with _strategy_lock:
            if key not in _strategies:
                _strategies[key] = make_strategy(self.definition, seed=self._stored.seed)
            return _strategies[key]

    def _suggest(
        self,
        observed: Sequence[Observation],
        pending: Sequence[Mapping[str, ParamValue]],
        index: int,
    ) -> dict[str, ParamValue]:

        history = list(observed)
        strategy = self._strategy()
        with _suggest_lock:
            return strategy.suggest(history, pending, index=index)

    def _serve(self, run_id: str | None) -> Suggestion | None:
        served: Suggestion | None = _db().serve(
            self._backend, self.id, run_id=run_id, budget=self.budget, suggest=self._suggest
        )
        return served

    def suggest(self) -> Suggestion:
        """Draw a suggestion to evaluate outside a run (core-module style).

        Raises:
            UsageError: The budget is spent or the experiment is archived.
        """
        served = self._serve(None)
        if served is None:
            raise UsageError(f"Experiment {self.id!r} has no budget left (or is archived); no suggestion to serve.")
        return served

    def observe(
        self,
        suggestion: Suggestion | str,
        *,
        values: Mapping[str, float] | Sequence[Mapping[str, Any]] | None = None,
        failed: bool = False,
    ) -> Observation:
        """Report the evaluation of a suggestion from :meth:`suggest`.

        Args:
            suggestion: The suggestion or its id.
            values: ``{"metric": value}`` or SigOpt's ``[{"name": ..., "value": ...}]``; every
                optimized metric is required unless ``failed``. Values are finite numbers: an
                evaluation that diverged is ``failed=True``.
            failed: The assignment failed (no values).

        Raises:
            ValidationError: The suggestion is not one of this experiment's, values and ``failed``
                disagree, a value is not a finite number, or a metric is missing or unknown.
            UsageError: The suggestion is not open.
        """
        sid = self._suggestion_id(suggestion)
        clean = self._check_values(values, failed)
        stored = _db().get_suggestion(self._backend, self.id, sid)
        if stored is None:
            raise ValidationError(f"suggestion: experiment {self.id!r} has no suggestion {sid!r}.")
        if stored.state.value == "open":
            kind = FailureKind.REPORTED.value if failed else None
            observed: Observation | None = _db().observe(
                self._backend, self.id, sid, run_id=None, values=clean, failure_kind=kind
            )
            if observed is not None:  # None: another caller closed it a moment ago
                return observed
        raise UsageError(f"Suggestion {sid!r} of experiment {self.id!r} is not open; it cannot be observed.")

    def _suggestion_id(self, suggestion: Any) -> str:
        """The id of a suggestion of this experiment, from a :class:`Suggestion` or an id."""
        if isinstance(suggestion, Suggestion):
            if suggestion.experiment != self.id:
                raise ValidationError(
                    f"suggestion: suggestion {suggestion.id!r} belongs to experiment {suggestion.experiment!r}, "
                    f"not to {self.id!r}; observe it through that experiment."
                )
            return suggestion.id
        if isinstance(suggestion, bool) or not isinstance(suggestion, (str, int)):
            raise ValidationTypeError(f"suggestion must be a Suggestion or its id, got {describe_value(suggestion)}.")
        try:
            text = str(suggestion)
        except ValueError:  # an int past Python's digit limit for text; no id is that long
            text = "-"
        if not (text.isascii() and text.isdigit()):
            raise ValidationError(f"suggestion: a suggestion id is a string of digits, got {short_repr(suggestion)}.")
        return text

    def _check_values(self, values: Any, failed: Any) -> dict[str, float] | None:
        if not isinstance(failed, bool):
            raise ValidationTypeError(f"failed must be True or False, got {type(failed).__name__}.")
        clean = None if values is None else _observed_values(values)
        if failed:
            if clean:
                raise ValidationError("values: a failed observation cannot have values.")
            return None
        if clean is None:
            raise ValidationError("values: an observation needs values unless failed=True.")
        known = {m.name for m in self.definition.metrics}
        if unknown := set(clean) - known:
            raise ValidationError(f"values: {_names(unknown)} are not metrics of this experiment ({sorted(known)!r}).")
        if missing := [m.name for m in self.definition.optimized_metrics if m.name not in clean]:
            raise ValidationError(f"values: optimized metric(s) {missing!r} are missing.")
        return clean

    # -- the loop -------------------------------------------------------------------------------

    def loop(self, *, name: str | None = None, progress: bool = True) -> Iterator[RunContext]:
        """Yield runs carrying suggested parameters until the budget is spent.

        Use each run as ``with run:``. Inside the loop, a failure of the assignment (out of memory,
        invalid assignment, divergence, ``log_failure``) becomes a failed observation and the loop
        goes on; an interrupt or infrastructure failure puts the suggestion back to be served again
        (Ctrl-C still stops the worker). A bug (kind ``error``, including the SDK's own
        ``ValidationError``/``UsageError`` from a bad call, and a run that completed without the
        experiment's metric) gives the suggestion back too, spending no budget, and stops the loop
        once it repeats three times in a row (same type and line of the user's code). When the rest
        of the budget is held by unobserved suggestions from :meth:`suggest`, the loop ends with a
        ``RuntimeWarning`` instead of waiting for them.

        Args:
            name: The runs' name (default: ``"<experiment name> #<suggestion id>"``).
            progress: Print a progress line after each run.

        Raises:
            ExperimentStopped: The same error repeated, instead of burning the budget.
        """
        guard = RepeatGuard()
        line = ProgressLine(self, enabled=progress)
        self._shorten_heartbeat()
        while True:
            run = self._next_run(name)
            if run is None:
                line.finish()
                return
            try:
                yield run
            except GeneratorExit:
                # The caller left the loop with this run unfinished: give the suggestion back.
                run._abandon()
                raise
            run.end()  # a run the body did not end (no `with run:`) ends as completed
            line.update(run)
            guard.check(run.failure, self)

    def _next_run(self, name: str | None) -> RunContext | None:
        run_id = _new_id()
        served = self._serve_or_wait(run_id)
        if served is None:
            return None
        run = RunContext(
            name or f"{self.name} #{served.id}",
            self.project,
            fixed_params=served.assignments,
            experiment=self.id,
            suggestion=served.id,
            run_id=run_id,
        )
        run._metric_name = self.metric
        run._end_hook = lambda r: self._record_result(r, served.id)
        run._absorbs = _absorbs
        return run

    def _serve_or_wait(self, run_id: str) -> Suggestion | None:
        """Serve a suggestion; while the rest of the budget is leased to other workers' runs, wait: one
        of them may die and its suggestion come back. Suggestions from :meth:`suggest` have no run and
        never come back by themselves, so the loop does not wait for them."""
        delay = 0.2
        while True:
            served = self._serve(run_id)
            if served is not None:
                return served
            counts = _db().counts(self._backend, self.id)
            if self._current_state() != "active" or self.budget is None or counts.active == 0:
                return None
            if counts.active == counts.manual:
                self._warn_held_by_manual_suggestions()
                return None
            time.sleep(delay)
            delay = min(2.0, delay * 1.5)

    def _warn_held_by_manual_suggestions(self) -> None:
        held = [s.id for s in _db().manual_suggestions(self._backend, self.id)]
        warnings.warn(
            f"Experiment {self.id!r}: the rest of the budget is held by {len(held)} suggestion(s) from "
            f"suggest() that were never observed (ids {held[:10]!r}); the loop ends here. Observe each with "
            "exp.observe(suggestion_id, values={...}) or exp.observe(suggestion_id, failed=True), and run the "
            "loop again for what is left.",
            RuntimeWarning,
            stacklevel=4,
        )

    def _shorten_heartbeat(self) -> None:
        client = get_client()
        client.heartbeat_interval = min(client.heartbeat_interval, self._stored.lease_timeout / 4)

    def _record_result(self, run: RunContext, suggestion_id: str) -> None:
        """Turn a finished loop run into an observation, or give its suggestion back.

        Assignment failures are failed observations. Any other failure gives the suggestion back, and
        so does a run that completed without the experiment's metric: that is a bug in the training
        code (a misspelt name, say), not a result of the assignment, so it spends no budget; the
        run is recorded failed with kind ``error`` and the loop's guard stops after three in a row.
        """
        values: dict[str, float] = {}
        if run.failure is None:
            values, missing, logged = self._metric_values(run)
            if missing:
                self._fail_missing_metric(run, missing, logged)
        failure = run.failure
        if failure is not None and not failure.kind.is_assignment_failure:
            _db().release(self._backend, suggestion_id, run.id, failure)
            return
        _db().observe(
            self._backend,
            self.id,
            suggestion_id,
            run_id=run.id,
            values=None if failure else values,
            failure_kind=failure.kind.value if failure else None,
            run_failure=failure,
        )

    def _fail_missing_metric(self, run: RunContext, missing: list[str], logged: list[str]) -> None:
        message = (
            f"The run completed without the experiment's metric(s) {missing!r}; it logged {_names(logged)}. "
            "Its suggestion goes back to be served again."
        )
        run._set_failure(FailureInfo(FailureKind.ERROR, type=MISSING_METRIC, message=message))
        warnings.warn(
            f"Run {run.id!r} of experiment {self.id!r}: {message} The loop stops after {REPEATS} such runs in a "
            "row; if some assignments cannot produce the metric, call run.log_failure() for them.",
            RuntimeWarning,
            stacklevel=4,
        )

    def _metric_values(self, run: RunContext) -> tuple[dict[str, float], list[str], list[str]]:
        """The experiment's metrics the run logged, the required ones it did not, and every name it logged."""
        record = self._backend.read_run(run.id)
        metrics = dict(record.metrics) if record is not None else {}
        required = self.definition.optimized_metrics + self.definition.constraint_metrics
        missing = [m.name for m in required if m.name not in metrics]
        known = {m.name for m in self.definition.metrics}
        return {k: v for k, v in metrics.items() if k in known}, missing, list(metrics)

    def optimize(self, function: Callable[..., Any], *, progress: bool = True) -> list[RunRecord]:
        """Call ``function(**suggested_params)`` for each suggestion until the budget is spent.

        ``function`` may be decorated with ``@sigopt.run`` (its return value is logged into the
        experiment's run) or plain (a numeric return is logged as the experiment's metric, a dict
        as several metrics).

        Returns:
            The best runs.
        """
        from sigopt_ai.runs._decorator import _log_result

        for run in self.loop(progress=progress):
            with run:
                result = function(**run.params)
                if run._claim_for_function():  # a plain function: log what it returned
                    _log_result(run, self.metric, result)
        return self.best_runs()


_VALUE_KEYS = frozenset({"name", "value", "value_stddev"})


def _observed_values(values: Any) -> dict[str, float]:
    """``observe(values=...)`` as ``{metric: finite float}``: a mapping, or SigOpt's list of
    ``{"name": ..., "value": ...}``."""
    if isinstance(values, Mapping):
        pairs = list(values.items())
    elif isinstance(values, (list, tuple)):
        pairs = [_named_value(item, i) for i, item in enumerate(values)]
    else:
        raise ValidationTypeError(
            "values must be a mapping {metric: number} or a list of {'name': ..., 'value': ...}, "
            f"got {type(values).__name__} ({short_repr(values)})."
        )
    clean: dict[str, float] = {}
    for name, value in pairs:
        if not isinstance(name, str):
            raise ValidationTypeError(f"values: a metric name must be a string, got {type(name).__name__}.")
        if name in clean:
            raise ValidationError(f"values: metric {short_repr(name)} is given twice.")
        clean[name] = _finite(value, f"values[{short_repr(name)}]")
    return clean


def _named_value(item: Any, index: int) -> tuple[Any, Any]:
    if not (isinstance(item, Mapping) and "name" in item and "value" in item and set(item) <= _VALUE_KEYS):
        raise ValidationTypeError(
            f"values[{index}] must be a mapping with 'name' and 'value' (and optionally 'value_stddev'), "
            f"got {short_repr(item)}."
        )
    return item["name"], item["value"]


def _finite(value: Any, field: str) -> float:
    """A metric value of an observation: a finite number (a diverged evaluation is ``failed=True``)."""
    number = to_number(value, field)
    if not math.isfinite(number):
        raise ValidationError(
            f"{field} must be a finite number, got {number!r}; report a diverged evaluation with failed=True."
        )
    return number


def _names(names: Any) -> str:
    """A few names, shortened, for a message."""
    listed = sorted(names)
    shown = ", ".join(short_repr(n) for n in listed[:5])
    return f"[{shown}{', ...' if len(listed) > 5 else ''}]"


def _absorbs(failure: FailureInfo) -> bool:
    """Failures the loop absorbs; an interrupt (Ctrl-C, SIGTERM) stops the worker."""
    return failure.kind is not FailureKind.INTERRUPTED


def create_experiment(
    name: str | None = None,
    *,
    project: str | None = None,
    parameters: Sequence[Mapping[str, Any]] | None = None,
    metrics: Sequence[Mapping[str, Any] | str] | None = None,
    file: str | os.PathLike[str] | None = None,
    lease_timeout: float = DEFAULT_LEASE_TIMEOUT,
    seed: int | None = None,
    **options: Any,
) -> Experiment:
    """Create an experiment in the store.

    Args:
        name: The experiment's name.
        project: The project (default: ``SIGOPT_PROJECT``, else the working directory's name).
        parameters: SigOpt parameter definitions (``name``, ``type``, ``bounds``, ...).
        metrics: SigOpt metric definitions (``name``, ``objective``, ``strategy``, ``threshold``).
        file: A SigOpt ``experiment.yml`` to load the definition from instead.
        lease_timeout: Seconds without a heartbeat after which a worker's suggestion is re-served
            (at least 1).
        seed: Seed of the suggestion sequence (default: random).
        **options: ``budget``, ``parallel_bandwidth``, ``conditionals``, ``linear_constraints``,
            ``num_solutions``, ``metadata``, ``type`` (``offline``: Bayesian; ``random``: Sobol).

    Returns:
        The experiment.

    Raises:
        ValidationError: The definition breaks a rule; the message names the field.

    Example:
        >>> exp = sigopt.create_experiment(
        ...     name="tune", parameters=[dict(name="lr", type="double", bounds=dict(min=1e-4, max=1))],
        ...     metrics=[dict(name="error", objective="minimize")], budget=20)
    """
    from sigopt_ai.experiments._parse import definition_to_json, load_experiment_file, parse_experiment

    if file is not None:
        definition = load_experiment_file(file)
    else:
        body = {"name": name, "parameters": parameters, "metrics": metrics, **options}
        definition = parse_experiment({k: v for k, v in body.items() if v is not None})
    lease_timeout = to_seconds(lease_timeout, "lease_timeout")
    if lease_timeout < MIN_LEASE_TIMEOUT:
        raise ValidationError(
            f"lease_timeout must be at least {MIN_LEASE_TIMEOUT:g} second: the writer renews leases every "
            f"flush interval (0.5 s by default), so a shorter one expires under a live worker; got {lease_timeout!r}."
        )
    seed = None if seed is None else to_seed(seed)
    stored = _db().create_experiment(
        get_client().backend,
        project=_config.check_project(project) if project is not None else _config.default_project(),
        name=definition.name,
        definition=definition_to_json(definition),
        seed=random.SystemRandom().randrange(2**31) if seed is None else int(seed),
        lease_timeout=float(lease_timeout),
    )
    return Experiment(stored)


def get_experiment(experiment_id: str) -> Experiment:
    """Attach to an existing experiment (from any process sharing the store).

    Raises:
        ValidationError: No experiment has this id.
    """
    stored = _db().get_experiment(get_client().backend, str(experiment_id))
    if stored is None:
        raise ValidationError(f"There is no experiment with id {experiment_id!r}.")
    return Experiment(stored)


__all__ = ["Experiment", "Observation", "Progress", "Suggestion", "create_experiment", "get_experiment"]

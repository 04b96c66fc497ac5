"""Experiments: suggestions evaluated as runs, until the budget is spent.

An :class:`Experiment` is a handle on a stored experiment; any number of processes may hold one
(``sigopt.get_experiment(id)``) and run :meth:`Experiment.loop` at once.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sigopt_ai._checks import check_run_name, describe_value, short_repr, to_seconds
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import UsageError, ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._models import (
    ExperimentRecord,
    ExperimentState,
    Observation,
    Progress,
    RunRecord,
    Suggestion,
    SuggestionState,
)
from sigopt_ai._objects import wrap
from sigopt_ai.backends import Backend
from sigopt_ai.experiments._guard import REPEATS, RepeatGuard
from sigopt_ai.experiments._progress import ProgressLine
from sigopt_ai.experiments._update import update_experiment
from sigopt_ai.experiments._values import missing_metric_failure, names, observed_values, run_values
from sigopt_ai.runs._api import checked_metadata
from sigopt_ai.runs._decorator import log_result
from sigopt_ai.runs._detached import detached_params
from sigopt_ai.runs._run import LoopBinding, RunContext, abandon, claim_for_function, new_run_id
from sigopt_ai.runs._session import get_session

logger = logging.getLogger("sigopt_ai")

DEFAULT_LEASE_TIMEOUT = 60.0
"""Seconds without a heartbeat after which a worker's suggestion is served again."""
MIN_LEASE_TIMEOUT = 1.0
"""The shortest lease: twice the default flush interval, at which the writer renews leases. A shorter
one expires under a live worker, and its suggestion is served to a second one."""


class Experiment:
    """A stored experiment. Get one from :func:`create_experiment` or :func:`get_experiment`."""

    def __init__(self, stored: ExperimentRecord) -> None:
        self._stored = stored
        self.definition: ExperimentDefinition = ExperimentDefinition.from_json(stored.definition)

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

    @property
    def state(self) -> str:
        """``"active"``, or ``"deleted"`` once archived (as of the last :meth:`refresh`), as text as
        sigopt-python gives it (an :class:`ExperimentState` value)."""
        return self._stored.state.value

    @property
    def created(self) -> float:
        """When the experiment was created (seconds since the epoch)."""
        return self._stored.created

    @property
    def observation_budget(self) -> int | None:
        """The budget, under the core module's name."""
        return self.definition.budget

    @property
    def parameters(self) -> list[Any]:
        """The parameter definitions as sigopt-python's objects: ``exp.parameters[0].bounds.min``."""
        return self._definition_field("parameters", "[parameter]")

    @property
    def metrics(self) -> list[Any]:
        """The metric definitions as sigopt-python's objects: ``exp.metrics[0].objective``."""
        return self._definition_field("metrics", "[metric]")

    @property
    def conditionals(self) -> list[Any]:
        """The conditionals as sigopt-python's objects (``[]`` when there are none)."""
        return self._definition_field("conditionals", "[conditional]")

    @property
    def linear_constraints(self) -> list[Any]:
        """The linear constraints as sigopt-python's objects (``[]`` when there are none)."""
        return self._definition_field("linear_constraints", "[linear_constraint]")

    @property
    def metadata(self) -> dict[str, Any]:
        """The experiment's metadata (a copy)."""
        return dict(self.definition.metadata)

    @property
    def parallel_bandwidth(self) -> int:
        """How many workers the experiment expects at once."""
        return self.definition.parallel_bandwidth

    @property
    def num_solutions(self) -> int:
        """How many best solutions the experiment looks for."""
        return self.definition.num_solutions

    @property
    def type(self) -> str:
        """``offline`` (Bayesian), ``random`` or ``grid``."""
        return self.definition.type

    def _definition_field(self, key: str, spec: str) -> list[Any]:
        # wrap() views a copy: sigopt-python's objects can be edited (to send to update()); the
        # stored definition cannot.
        return list(wrap(self._stored.definition.get(key) or [], spec))

    def refresh(self) -> None:
        """Read the experiment again from its store (its state, name and metadata may have changed).

        Raises:
            ValidationError: The experiment is no longer in the store.
        """
        self._reload(self._backend.get_experiment(self.id))

    def _reload(self, stored: ExperimentRecord | None) -> None:
        if stored is None:
            raise ValidationError(f"There is no experiment with id {short_repr(self.id)} any more.")
        self._stored = stored
        self.definition = ExperimentDefinition.from_json(stored.definition)

    def update(self, **fields: Any) -> Experiment:
        """Change the experiment, as sigopt-python's ``update`` does: ``name``, ``metadata``,
        ``budget``, ``parallel_bandwidth``, the bounds of its ``parameters`` (every other field of a
        parameter stays), and ``state`` (``"deleted"`` archives, ``"active"`` unarchives). Other fields
        may be given with their current values (an object read back and sent again); changing them is
        refused. Every worker searches new bounds from its next suggestion on.

        Returns:
            This experiment, refreshed.

        Raises:
            ValidationError: A field cannot change, or breaks a rule; the message names it.
        """
        self._reload(update_experiment(self._backend, self._stored, fields))
        return self

    def __repr__(self) -> str:
        return f"<Experiment {self.id} {self.name!r}>"

    def _repr_html_(self) -> str:
        """Jupyter's summary: name, counts, failures by kind, best value and assignments, and the
        history plot as an inline SVG (no JavaScript, so it shows in untrusted notebooks too)."""
        from sigopt_ai.analysis._repr import experiment_html  # analysis loads only when a notebook draws

        get_session().flush()  # runs this process just ended count in the summary
        return experiment_html(self._stored, self.observations(), self.progress, self.best_observations())

    @property
    def _backend(self) -> Backend:
        return get_session().backend

    # -- progress and results -------------------------------------------------------------------

    @property
    def progress(self) -> Progress:
        """Budget, finished, failed, active and remaining counts."""
        progress = self._backend.progress(self.id)
        if progress is None:  # the experiment is gone from its store
            return Progress(self.budget, 0, 0, 0, None if self.budget is None else 0, {})
        return progress

    def is_finished(self) -> bool:
        """Whether the budget is spent (or the experiment archived)."""
        if not self._is_active():
            return True
        progress = self.progress
        return progress.budget is not None and progress.finished >= progress.budget

    def _is_active(self) -> bool:
        stored = self._backend.get_experiment(self.id)
        return stored is not None and stored.state is ExperimentState.ACTIVE

    def observations(self, *, after: str | None = None) -> list[Observation]:
        """Every observation, oldest first (or those after the one with id ``after``)."""
        return self._backend.observations(self.id, after=after)

    def runs(self) -> list[RunRecord]:
        """The experiment's runs, newest first."""
        get_session().flush()
        return self._backend.list_runs(experiment=self.id)

    def best_observations(self) -> list[Observation]:
        """The best successful observations meeting every metric threshold (the Pareto front for two
        optimized metrics; the ``num_solutions`` best for several solutions)."""
        return self._backend.best_observations(self.id)

    def best_runs(self) -> list[RunRecord]:
        """The runs of :meth:`best_observations` (observations made outside runs are left out)."""
        get_session().flush()
        records = (self._backend.read_run(o.run) for o in self.best_observations() if o.run)
        return [r for r in records if r is not None]

    def get_runs(self) -> list[RunRecord]:
        """The experiment's runs, newest first (sigopt-python's name for :meth:`runs`)."""
        return self.runs()

    def get_best_runs(self) -> list[RunRecord]:
        """The best runs (sigopt-python's name for :meth:`best_runs`)."""
        return self.best_runs()

    def archive(self) -> None:
        """Archive the experiment: loops stop serving suggestions."""
        self._backend.archive_experiment(self.id)
        self.refresh()

    # -- suggestions ----------------------------------------------------------------------------

    def _serve(self, run_id: str | None) -> Suggestion | None:
        return self._backend.serve_suggestion(self.id, run_id=run_id)

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
        stored = self._backend.get_suggestion(self.id, sid)
        if stored is None:
            raise ValidationError(f"suggestion: experiment {self.id!r} has no suggestion {sid!r}.")
        if stored.state is SuggestionState.OPEN:
            kind = FailureKind.REPORTED.value if failed else None
            observed = self._backend.observe(self.id, sid, run_id=None, values=clean, failure_kind=kind)
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
        clean = None if values is None else observed_values(values)
        if failed:
            if clean:
                raise ValidationError("values: a failed observation cannot have values.")
            return None
        if clean is None:
            raise ValidationError("values: an observation needs values unless failed=True.")
        known = {m.name for m in self.definition.metrics}
        if unknown := set(clean) - known:
            raise ValidationError(f"values: {names(unknown)} are not metrics of this experiment ({sorted(known)!r}).")
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
                abandon(run)
                raise
            run.end()  # a run the body did not end (no `with run:`) ends as completed
            line.update(run)
            guard.check(run.failure, self.id)

    def _next_run(self, name: str | None) -> RunContext | None:
        run_id = new_run_id()
        served = self._serve_or_wait(run_id)
        return None if served is None else self._run_for(served, run_id, name, _absorbs)

    def _run_for(
        self, served: Suggestion, run_id: str, name: str | None, absorbs: Callable[[FailureInfo], bool]
    ) -> RunContext:
        """The run evaluating ``served``: when it ends it becomes an observation, or gives the
        suggestion back (see :meth:`_record_result`)."""
        return RunContext(
            name or f"{self.name} #{served.id}",
            self.project,
            fixed_params=served.assignments,
            experiment=self.id,
            suggestion=served.id,
            run_id=run_id,
            binding=LoopBinding(self.metric, lambda r: self._record_result(r, served.id), absorbs),
        )

    def create_run(self, name: str | None = None, metadata: Mapping[str, Any] | None = None) -> RunContext:
        """A run holding the next suggestion, as sigopt-python's ``AIExperimentContext.create_run``:
        ``run.params`` are the suggested values (read-only; parameters set on ``sigopt.params``
        outside any run fill in the others), and when the run ends its result is
        observed exactly as in :meth:`loop` (a failure of the assignment is a failed observation;
        an interrupted run, or a bug, gives the suggestion back). An exception leaving its ``with``
        block propagates: no loop goes on here.

        Args:
            name: The run's name (default: ``"<experiment name> #<suggestion id>"``).
            metadata: Metadata to record at the start.

        Raises:
            ValidationError: ``name`` or ``metadata`` breaks a rule.
            UsageError: No suggestion can be served: the budget is spent (or leased to other
                workers' runs), or the experiment is archived.
        """
        check_run_name(name)
        entries = checked_metadata(metadata)
        run_id = new_run_id()
        served = self._serve(run_id)
        if served is None:
            raise UsageError(
                f"Experiment {self.id!r} has no suggestion to serve: its budget is spent or held by "
                "other runs, or it is archived."
            )
        self._shorten_heartbeat()
        run = self._run_for(served, run_id, name, _never)
        run.params.setdefaults(detached_params().as_dict())  # sigopt-python's defaults; suggestions win
        for key, value in entries.items():
            run.log_metadata(key, value)
        return run

    def resume_run(self, suggestion: Suggestion | str, name: str | None = None) -> RunContext | None:
        """A new run for a suggestion served earlier and still open, such as one whose worker died
        after saving what it was evaluating; when the run ends its result is observed as with
        :meth:`create_run`.

        Args:
            suggestion: The suggestion or its id.
            name: The run's name (default: ``"<experiment name> #<suggestion id>"``).

        Returns:
            The run, or None when the suggestion is no longer open (it was observed or given back).

        Raises:
            ValidationError: ``suggestion`` is not one of this experiment's, or ``name`` breaks a rule.
        """
        check_run_name(name)
        sid = self._suggestion_id(suggestion)
        stored = self._backend.get_suggestion(self.id, sid)
        if stored is None:
            raise ValidationError(f"suggestion: experiment {self.id!r} has no suggestion {sid!r}.")
        if stored.state is not SuggestionState.OPEN:
            return None
        self._shorten_heartbeat()
        return self._run_for(stored, new_run_id(), name, _never)

    def _serve_or_wait(self, run_id: str) -> Suggestion | None:
        """Serve a suggestion; while the rest of the budget is leased to other workers' runs, wait: one
        of them may die and its suggestion come back. Suggestions from :meth:`suggest` have no run and
        never come back by themselves, so the loop does not wait for them."""
        delay = 0.2
        while True:
            served = self._serve(run_id)
            if served is not None:
                return served
            progress = self.progress
            if not self._is_active() or self.budget is None or progress.active == 0:
                return None
            if progress.active == progress.manual:
                self._warn_held_by_manual_suggestions()
                return None
            time.sleep(delay)
            delay = min(2.0, delay * 1.5)

    def _warn_held_by_manual_suggestions(self) -> None:
        held = [s.id for s in self._backend.open_suggestions(self.id) if s.leased and s.run is None]
        warnings.warn(
            f"Experiment {self.id!r}: the rest of the budget is held by {len(held)} suggestion(s) from "
            f"suggest() that were never observed (ids {held[:10]!r}); the loop ends here. Observe each with "
            "exp.observe(suggestion_id, values={...}) or exp.observe(suggestion_id, failed=True), and run the "
            "loop again for what is left.",
            RuntimeWarning,
            stacklevel=4,
        )

    def _shorten_heartbeat(self) -> None:
        session = get_session()
        session.heartbeat_interval = min(session.heartbeat_interval, self._stored.lease_timeout / 4)

    def _record_result(self, run: RunContext, suggestion_id: str) -> FailureInfo | None:
        """Turn a finished loop run into an observation, or give its suggestion back.

        Assignment failures are failed observations. Any other failure gives the suggestion back, and
        so does a run that completed without the experiment's metric: that is a bug in the training
        code (a misspelt name, say), not a result of the assignment, so it spends no budget; the
        run is recorded failed with kind ``error`` and the loop's guard stops after three in a row.
        """
        values: dict[str, float] = {}
        failure = run.failure
        if failure is None:
            values, missing, logged = self._metric_values(run)
            if missing:
                failure = self._missing_metric(run, missing, logged)
        if failure is not None and not failure.kind.is_assignment_failure:
            self._backend.release(self.id, suggestion_id, run.id, failure.to_json())
            return failure
        self._backend.observe(
            self.id,
            suggestion_id,
            run_id=run.id,
            values=None if failure else values,
            failure_kind=failure.kind.value if failure else None,
            run_failure=None if failure is None else failure.to_json(),
        )
        return failure

    def _missing_metric(self, run: RunContext, missing: list[str], logged: list[str]) -> FailureInfo:
        failure = missing_metric_failure(missing, logged)
        warnings.warn(
            f"Run {run.id!r} of experiment {self.id!r}: {failure.message} The loop stops after {REPEATS} such runs "
            "in a row; if some assignments cannot produce the metric, call run.log_failure() for them.",
            RuntimeWarning,
            stacklevel=4,
        )
        return failure

    def _metric_values(self, run: RunContext) -> tuple[dict[str, float], list[str], list[str]]:
        """The experiment's metrics the run logged, the required ones it did not, and every name it logged."""
        record = self._backend.read_run(run.id)
        metrics = dict(record.metrics) if record is not None else {}
        values, missing = run_values(self.definition, metrics)
        return values, missing, list(metrics)

    def optimize(self, function: Callable[..., Any], *, progress: bool = True) -> list[RunRecord]:
        """Call ``function(**suggested_params)`` for each suggestion until the budget is spent.

        ``function`` may be decorated with ``@sigopt.run`` (its return value is logged into the
        experiment's run) or plain (a numeric return is logged as the experiment's metric, a dict
        as several metrics).

        Returns:
            The best runs.
        """
        for run in self.loop(progress=progress):
            with run:
                result = function(**run.params)
                if claim_for_function(run) is not None:  # a plain function: log what it returned
                    log_result(run, self.metric, result)
        return self.best_runs()


def _absorbs(failure: FailureInfo) -> bool:
    """Failures the loop absorbs; an interrupt (Ctrl-C, SIGTERM) stops the worker."""
    return failure.kind is not FailureKind.INTERRUPTED


def _never(failure: FailureInfo) -> bool:
    """A run from :meth:`Experiment.create_run` absorbs nothing: no loop goes on after it."""
    del failure
    return False


def check_lease_timeout(value: Any, field: str = "lease_timeout") -> float:
    """A suggestion lease in seconds: a finite number of at least :data:`MIN_LEASE_TIMEOUT`.

    Raises:
        ValidationError: It is not one; the message names ``field``.
    """
    lease_timeout = to_seconds(value, field)
    if lease_timeout < MIN_LEASE_TIMEOUT:
        raise ValidationError(
            f"{field} must be at least {MIN_LEASE_TIMEOUT:g} second: the writer renews leases every "
            f"flush interval (0.5 s by default), so a shorter one expires under a live worker; got {lease_timeout!r}."
        )
    return lease_timeout


__all__ = ["DEFAULT_LEASE_TIMEOUT", "MIN_LEASE_TIMEOUT", "Experiment", "check_lease_timeout"]

"""Ray Tune: :class:`SigOptSearch`, the searcher Ray removed when SigOpt's service closed, given back.

Each Tune trial evaluates one suggestion of a sigopt_ai experiment, recorded as one of the
experiment's runs: its config is the suggestion's assignments, Tune's results are its checkpoints,
the last result its metrics. A trial that errors is classified from its exception, as a run leaving
``with run:`` is: a failure of the assignment (out of memory, an invalid assignment, divergence) is a
failed observation the optimizer learns from; a bug, an interrupted trial or a lost Ray worker gives
the suggestion back, to be served again, spending no budget.

Only the driver, where Tune runs the searcher, talks to the store: the embedded SQLite file on one
machine, or the server named by ``SIGOPT_API_URL`` across a Ray cluster. Trainables report through
``tune.report`` and need no access to it.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sigopt_ai._checks import describe_value, short_repr
from sigopt_ai._exceptions import UsageError, ValidationError, ValidationTypeError
from sigopt_ai._failures import register_failure_type
from sigopt_ai.experiments._api import create_experiment, get_experiment
from sigopt_ai.experiments._experiment import Experiment
from sigopt_ai.experiments._parse import parse_experiment
from sigopt_ai.integrations._require import require
from sigopt_ai.integrations._run import MAX_CHECKPOINTS, IntegrationRun, positive_int
from sigopt_ai.runs._run import RunContext, abandon

ray = require("ray", "ray", minimum="2.9")

from ray import exceptions as ray_errors  # noqa: E402
from ray.tune import Callback  # noqa: E402
from ray.tune.result import AUTO_RESULT_KEYS  # noqa: E402
from ray.tune.search import Searcher  # noqa: E402

__all__ = ["SigOptSearch", "TrialError"]

logger = logging.getLogger("sigopt_ai.integrations")

_MODES = {"max": {"objective": "maximize"}, "min": {"objective": "minimize"}, "obs": {"strategy": "store"}}
"""Tune's modes as SigOpt metric fields: ``obs`` (a list's entry only) is a stored, unoptimized metric."""

# Keys Ray adds to every result: not the trainable's numbers, so neither checkpoints nor metrics.
_RAY_KEYS = frozenset(AUTO_RESULT_KEYS) | {
    "done",
    "trial_id",
    "experiment_tag",
    "should_checkpoint",
    "warmup_time",
    "experiment_id",
}

_GIVE_UPS = 3
"""Suggestions given back in a row (bugs, lost workers) after which the searcher stops serving: a
repeating error would otherwise be served again forever, as the embedded loop's guard stops it."""

# A trial whose Ray worker or node died, or whose result was lost, failed for no fault of its
# assignment: its suggestion is served again. (Ray's own OutOfMemoryError, raised when its memory
# monitor kills a worker, is none of these: its name makes it ``oom``.)
for _lost in (
    ray_errors.RayActorError,
    ray_errors.NodeDiedError,
    ray_errors.WorkerCrashedError,
    ray_errors.ObjectLostError,
    ray_errors.LocalRayletDiedError,
):
    register_failure_type(_lost, "infrastructure")


class TrialError(RuntimeError):
    """A Tune trial errored and Tune did not say why: :attr:`SigOptSearch.callback` was not passed
    to ``RunConfig(callbacks=[...])`` (classified ``error``: its suggestion is served again)."""


class SigOptSearch(Searcher):
    """A Ray Tune searcher whose suggestions come from a sigopt_ai experiment.

    It has the signature of the ``SigOptSearch`` Ray removed, with ``space`` a list of SigOpt
    parameter dicts, and serves suggestions until the experiment's budget is spent (then Tune is told
    the search is finished: run Tune with ``num_samples=-1``). Pass :attr:`callback` to
    ``RunConfig(callbacks=[...])`` too: Tune tells a searcher only *that* a trial errored, and the
    callback lets it read *why*, so that an out-of-memory trial becomes a failed observation while a
    bug gives its suggestion back.

    Args:
        space: SigOpt parameter definitions (``name``, ``type``, ``bounds``, ...) of a new
            experiment. Give exactly one of ``space`` and ``experiment_id``.
        name: The new experiment's name.
        max_concurrent: Trials run at once (the experiment's ``parallel_bandwidth``); a
            ``ConcurrencyLimiter`` around the searcher overrides it.
        experiment_id: Serve the suggestions of this existing experiment instead.
        observation_budget: The new experiment's budget (observations, failed ones included).
            Required with more than one optimized metric.
        project: The new experiment's project (default: ``SIGOPT_PROJECT``, else the working
            directory's name).
        metric: The result key to optimize, or a list of them (several metrics). May be left to
            ``TuneConfig(metric=...)`` when Tune passes it (with a ``param_space``).
        mode: ``"min"`` or ``"max"``, or a list as long as ``metric`` of ``"min"``, ``"max"`` and
            ``"obs"`` (recorded, not optimized). Ignored with ``experiment_id``: the experiment's
            metrics say it.
        points_to_evaluate: Must be None or empty: the store serves the optimizer's suggestions
            only, never chosen assignments.

    Raises:
        ValidationError: An argument breaks a rule (the message names it), the parameters do not
            define an experiment, or ``experiment_id`` names no experiment.

    Example:
        >>> from ray import tune
        >>> from sigopt_ai.integrations.ray import SigOptSearch
        >>> search = SigOptSearch(
        ...     [{"name": "lr", "type": "double", "bounds": {"min": 1e-4, "max": 1.0}}],
        ...     metric="loss", mode="min", max_concurrent=2, observation_budget=8)
        >>> tuner = tune.Tuner(train, tune_config=tune.TuneConfig(search_alg=search, num_samples=-1),
        ...                    run_config=tune.RunConfig(callbacks=[search.callback]))
        >>> tuner.fit()
    """

    def __init__(
        self,
        space: Sequence[Mapping[str, Any]] | None = None,
        name: str = "Default Tune Experiment",
        max_concurrent: int = 1,
        experiment_id: str | None = None,
        observation_budget: int | None = None,
        project: str | None = None,
        metric: str | Sequence[str] | None = None,
        mode: str | Sequence[str] | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        _check_extra(kwargs, points_to_evaluate)
        if (space is None) == (experiment_id is None):
            raise ValidationError("space: give exactly one of space (a new experiment) and experiment_id.")
        self._max_concurrent = positive_int(max_concurrent, "max_concurrent")
        self._space = None if space is None else [dict(p) for p in _list_of_mappings(space, "space")]
        self._name = name
        self._budget = None if observation_budget is None else positive_int(observation_budget, "observation_budget")
        self._project = project
        self._metrics, self._modes = _metrics_and_modes(metric, mode)
        self._experiment_id = None if experiment_id is None else _text(experiment_id, "experiment_id")
        self._experiment: Experiment | None = None
        self._live: dict[str, IntegrationRun] = {}
        self._steps: dict[str, int] = {}
        self._given_back = 0
        self._finished = False
        self._trials: Sequence[Any] = ()
        self._callback = _TrialErrors(self)
        if self._experiment_id is not None:
            self._experiment = _existing(self._experiment_id)
            metrics = self._experiment.definition.metrics
            self._metrics = [m.name for m in metrics]
            self._modes = [_mode_of(m.strategy, m.objective) for m in metrics]
        else:
            # Checked now, where the user made a mistake, not when Tune asks for the first trial.
            parse_experiment(self._definition(self._metrics or ["objective"], self._modes or ["max"]))
        super().__init__(metric=None, mode=None)
        self._set_tune_metric()

    # -- what Tune calls --------------------------------------------------------------------

    @property
    def callback(self) -> Callback:
        """A ``ray.tune.Callback`` to pass to ``RunConfig(callbacks=[...])``: through it the searcher
        reads the exception an errored trial raised, and classifies it."""
        return self._callback

    @property
    def experiment(self) -> Experiment | None:
        """The experiment served (None until the first trial of a new one)."""
        return self._experiment

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any) -> bool:
        """Take Tune's ``metric`` and ``mode`` where none were given. A ``param_space`` holding search
        domains is refused (the search space is ``space``); constants in it reach every trial."""
        del spec
        if _has_domains(config):
            return False
        if self._experiment is None and not self._metrics and metric:
            self._metrics, self._modes = _metrics_and_modes(metric, mode)
            self._set_tune_metric()
        return True

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """``ConcurrencyLimiter``'s limit replaces ``max_concurrent``."""
        self._max_concurrent = positive_int(max_concurrent, "max_concurrent")
        return True

    # Ray annotates Optional[Dict], yet its searchers return Searcher.FINISHED (a str) when done.
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:  # type: ignore[override]
        """The next suggestion's assignments as the trial's config; None while ``max_concurrent``
        trials run or the rest of the budget is held by running trials; ``FINISHED`` once the budget
        is spent (or the experiment archived)."""
        if self._finished:
            return Searcher.FINISHED
        if len(self._live) >= self._max_concurrent:
            return None
        experiment = self._served()
        try:
            run = experiment.create_run(name=f"{experiment.name} {trial_id}")
        except UsageError:
            # Nothing to serve: finished, or the rest of the budget is leased to running trials
            # (this driver's or other workers'), one of which may give its suggestion back.
            return Searcher.FINISHED if experiment.is_finished() else None
        self._live[trial_id] = self._record(run, trial_id)
        _watch_exit(self)
        return dict(run.params)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """Record the trial's numbers as a checkpoint at its ``training_iteration`` (the first
        :data:`~sigopt_ai.integrations._run.MAX_CHECKPOINTS` results of a trial; the last result
        always becomes its metrics)."""
        record = self._live.get(trial_id)
        if record is None:
            return
        count = self._steps.get(trial_id, 0)
        if count >= MAX_CHECKPOINTS:
            return
        self._steps[trial_id] = count + 1
        step = result.get("training_iteration")
        record.checkpoint(_own_numbers(result), step if isinstance(step, int) else None)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """End the trial's run: its last result's numbers as metrics (the experiment's metric is
        observed), or its classified failure (a failed observation, or the suggestion given back)."""
        record = self._live.pop(trial_id, None)
        self._steps.pop(trial_id, None)
        if record is None:
            return
        run = record.run
        if error:
            record.finish(self._trial_exception(trial_id))
        elif result:
            record.log_metrics(_own_numbers(result))
        else:
            # Removed before it reported anything (Tune stopped the experiment): not the assignment's fault.
            abandon(run)
        run.end()
        self._count(run)

    def save(self, checkpoint_path: str) -> None:
        """Write the experiment's id and the running trials' suggestions to ``checkpoint_path``."""
        state = {
            "experiment": self._experiment.id if self._experiment is not None else None,
            "trials": {trial: record.run.suggestion for trial, record in self._live.items()},
            "max_concurrent": self._max_concurrent,
            "metrics": self._metrics,
            "modes": self._modes,
        }
        with open(checkpoint_path, "w", encoding="utf-8") as file:
            json.dump(state, file)

    def restore(self, checkpoint_path: str) -> None:
        """Serve the experiment :meth:`save` wrote again. Each trial that was running gets a new run
        for its suggestion, which Tune's resumed trial completes (the run of the driver that saved is
        declared lost once its lease expires, its suggestion observed by the resumed trial)."""
        with open(checkpoint_path, encoding="utf-8") as file:
            state = json.load(file)
        experiment_id = state.get("experiment")
        if experiment_id is None:
            return
        self._experiment = experiment = _existing(str(experiment_id))
        self._experiment_id = experiment.id
        self._metrics, self._modes = state.get("metrics") or self._metrics, state.get("modes")
        self._max_concurrent = int(state.get("max_concurrent") or self._max_concurrent)
        for trial_id, suggestion_id in (state.get("trials") or {}).items():
            if trial_id in self._live:
                continue
            # None: a suggestion observed since the save (the trial completed before the driver died) is done.
            run = experiment.resume_run(str(suggestion_id), f"{experiment.name} {trial_id}")
            if run is not None:
                self._live[trial_id] = self._record(run, trial_id)
                _watch_exit(self)

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its configuration (tuner.pkl) before any trial: live runs and Tune's trial
        # list stay in this process; save() and restore() carry the running trials.
        state = dict(self.__dict__)
        state.update(_experiment=None, _live={}, _steps={}, _trials=())
        return state

    # -- inside -----------------------------------------------------------------------------

    @staticmethod
    def _record(run: RunContext, trial_id: str) -> IntegrationRun:
        record = IntegrationRun(run, framework="ray")
        record.start()
        record.log_metadata({"ray_trial_id": trial_id})
        return record

    def _set_tune_metric(self) -> None:
        """The metric and mode Tune's own reporting reads (``Searcher.metric``): lists for several
        metrics, as Ray's multi-metric searchers hold them (Ray annotates them as str only)."""
        metrics, modes = self._metrics, self._modes
        if len(metrics) > 1:
            self._metric, self._mode = list(metrics), list(modes) if modes else None  # type: ignore[assignment]
        else:
            self._metric = metrics[0] if metrics else None
            self._mode = modes[0] if modes and modes[0] in ("min", "max") else None

    def _definition(self, metrics: Sequence[str], modes: Sequence[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self._name,
            "parameters": self._space,
            "metrics": [{"name": m, **_MODES[mode]} for m, mode in zip(metrics, modes, strict=True)],
            "parallel_bandwidth": self._max_concurrent,
        }
        if self._budget is not None:
            body["budget"] = self._budget
        return body

    def _served(self) -> Experiment:
        """The experiment, created at the first trial (Tune may pass the metric until then)."""
        if self._experiment is None and self._experiment_id is not None:  # an unpickled copy
            self._experiment = _existing(self._experiment_id)
        if self._experiment is None:
            if not self._metrics or not self._modes:
                raise ValidationError(
                    "metric: SigOptSearch needs the metric to optimize and its mode: give metric= and "
                    "mode= to SigOptSearch (or to TuneConfig together with a param_space)."
                )
            definition = self._definition(self._metrics, self._modes)
            definition.pop("name")
            self._experiment = create_experiment(self._name, project=self._project, **definition)
            self._experiment_id = self._experiment.id
        return self._experiment

    def _trial_exception(self, trial_id: str) -> BaseException:
        """The exception trial ``trial_id`` raised, as its driver-side error file holds it, without
        Ray's wrapper; a :class:`TrialError` when Tune's trials were not seen (no :attr:`callback`)."""
        trial = next((t for t in self._trials if getattr(t, "trial_id", None) == trial_id), None)
        if trial is None:
            logger.warning(
                "sigopt_ai: trial %s errored and SigOptSearch cannot see why: pass "
                "RunConfig(callbacks=[search.callback]) so that its exception is classified.",
                trial_id,
            )
            return TrialError(f"Tune trial {trial_id} errored (its exception was not available to SigOptSearch).")
        exc = _read_error(trial)
        if exc is None:
            text = _read_text(getattr(trial, "error_file", None))
            return TrialError(text or f"Tune trial {trial_id} errored without an exception Ray could pickle.")
        return _unwrap(exc)

    def _count(self, run: RunContext) -> None:
        """Stop serving after :data:`_GIVE_UPS` suggestions in a row given back."""
        failure = run.failure
        if failure is None or failure.kind.is_assignment_failure:
            self._given_back = 0
            return
        if failure.kind.value == "interrupted":
            return  # Tune stopping its trials is no error of the training code
        self._given_back += 1
        if self._given_back >= _GIVE_UPS:
            self._finished = True
            logger.error(
                "sigopt_ai: %d Tune trials in a row failed for reasons that are not their assignments' "
                "(the last: %s: %s); SigOptSearch serves no more suggestions instead of serving them "
                "again forever. Fix the trainable and run Tune again: the experiment keeps its budget.",
                self._given_back,
                failure.type,
                failure.message[:300],
            )


_searchers: weakref.WeakSet[SigOptSearch] = weakref.WeakSet()


def _watch_exit(search: SigOptSearch) -> None:
    """At exit, give back the suggestions of trials still running (the driver stopped mid-search)
    instead of letting the session end their runs ``completed`` without a metric. Registered after
    the session exists, so that this runs before its exit hook (atexit runs the last one first)."""
    if not _searchers:
        atexit.register(_abandon_live)
    _searchers.add(search)


def _abandon_live() -> None:
    for search in list(_searchers):
        for record in search._live.values():
            abandon(record.run)
        search._live.clear()
    _searchers.clear()


class _TrialErrors(Callback):
    """Shows the searcher Tune's trials, so that it can read why one errored: Tune calls the
    searcher with ``error=True`` after writing the trial's error file, and passes no exception."""

    def __init__(self, search: SigOptSearch) -> None:
        self._search = search

    def on_step_begin(self, iteration: int, trials: Sequence[Any], **info: Any) -> None:
        # Tune's own list of trials, the same object at every step: new trials appear in it.
        self._search._trials = trials

    def on_trial_start(self, iteration: int, trials: Sequence[Any], trial: Any, **info: Any) -> None:
        self._search._trials = trials


def _mode_of(strategy: str, objective: str) -> str:
    """Tune's mode for an experiment's metric (``obs``: stored, not optimized)."""
    if strategy == "store":
        return "obs"
    return "max" if objective == "maximize" else "min"


def _read_error(trial: Any) -> BaseException | None:
    path = getattr(trial, "pickled_error_file", None)
    if not path or not os.path.exists(path):
        return None
    try:
        from ray import cloudpickle

        with open(path, "rb") as file:
            exc = cloudpickle.load(file)
    except Exception:  # an exception that cannot be unpickled here is described by its text
        logger.debug("sigopt_ai: cannot read %s", path, exc_info=True)
        return None
    return exc if isinstance(exc, BaseException) else None


def _read_text(path: str | None) -> str | None:
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as file:
        return file.read()[-4000:]


def _unwrap(exc: BaseException) -> BaseException:
    """The trainable's own exception inside Ray's ``RayTaskError`` (``.cause``), so that the run
    records its type, message and kind."""
    seen = 0
    while isinstance(exc, ray_errors.RayTaskError) and isinstance(exc.cause, BaseException) and seen < 10:
        exc, seen = exc.cause, seen + 1
    return exc


def _own_numbers(result: Mapping[str, Any]) -> dict[str, Any]:
    """The trainable's entries of a result: Ray's bookkeeping and the flattened config left out."""
    return {k: v for k, v in result.items() if k not in _RAY_KEYS and not k.startswith("config/")}


def _has_domains(config: Mapping[str, Any] | None) -> bool:
    from ray.tune.search.sample import Domain

    def walk(value: Any) -> bool:
        if isinstance(value, Domain):
            return True
        if isinstance(value, Mapping):
            return any(walk(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return any(walk(v) for v in value)
        return False

    return walk(config or {})


def _existing(experiment_id: str) -> Experiment:
    try:
        return get_experiment(experiment_id)
    except ValidationError as exc:
        raise ValidationError(f"experiment_id: {exc}") from None


def _check_extra(kwargs: Mapping[str, Any], points_to_evaluate: Any) -> None:
    if "connection" in kwargs:
        raise ValidationError(
            "connection: SigOptSearch talks to sigopt_ai's store (the embedded file, or the server "
            "SIGOPT_API_URL names); there is no SigOpt connection to pass."
        )
    if kwargs:
        raise ValidationError(f"{sorted(kwargs)[0]}: SigOptSearch takes no such argument.")
    if points_to_evaluate is not None and (not isinstance(points_to_evaluate, Sequence) or len(points_to_evaluate)):
        raise ValidationError(
            "points_to_evaluate must be None or empty: the store serves the optimizer's suggestions "
            f"only, never chosen assignments; got {short_repr(points_to_evaluate)}."
        )


def _text(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value):
        raise ValidationTypeError(f"{field} must be a non-empty str, got {describe_value(value)}.")
    return str(value)


def _list_of_mappings(value: Any, field: str) -> list[Mapping[str, Any]]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ValidationTypeError(f"{field} must be a list of SigOpt parameter dicts, got {describe_value(value)}.")
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ValidationTypeError(f"{field}[{i}] must be a dict, got {describe_value(item)}.")
    return list(value)


def _metrics_and_modes(metric: Any, mode: Any) -> tuple[list[str], list[str] | None]:
    """``metric`` and ``mode`` as lists of equal length (mode None: to be given later)."""
    if metric is None:
        if mode is not None and mode not in ("min", "max"):
            raise ValidationError(f"mode must be 'min' or 'max', got {short_repr(mode)}.")
        return [], [mode] if mode is not None else None
    many = not isinstance(metric, str)
    metrics = [metric] if not many else list(_strings(metric, "metric"))
    if not metrics or any(not m for m in metrics):
        raise ValidationError(f"metric must be a non-empty str or a list of them, got {short_repr(metric)}.")
    if mode is None:
        return metrics, None
    modes = [mode] if isinstance(mode, str) else list(_strings(mode, "mode"))
    if many != (not isinstance(mode, str)) or len(modes) != len(metrics):
        raise ValidationError(
            f"mode must match metric: a str for one metric, a list as long as metric's for several; "
            f"got metric={short_repr(metric)}, mode={short_repr(mode)}."
        )
    allowed = ("min", "max", "obs") if many else ("min", "max")
    for m in modes:
        if m not in allowed:
            raise ValidationError(f"mode must be one of {list(allowed)!r}, got {short_repr(m)}.")
    return metrics, modes


def _strings(value: Any, field: str) -> list[str]:
    if not isinstance(value, Sequence) or isinstance(value, bytes):
        raise ValidationTypeError(f"{field} must be a str or a list of str, got {describe_value(value)}.")
    for item in value:
        if not isinstance(item, str):
            raise ValidationTypeError(f"{field} must be a str or a list of str, got an item {describe_value(item)}.")
    return list(value)

"""sigopt-python's XGBoost helpers, ``sigopt.xgboost.run`` and ``sigopt.xgboost.experiment``, on sigopt_ai.

Users import them as sigopt-python's users did, with the package renamed::

    import sigopt_ai.xgboost
    ctx = sigopt_ai.xgboost.run(params, dtrain, num_boost_round=50, evals=[(dtest, "test")])
    ctx.model.predict(dtest)          # the trained xgboost.Booster
    sigopt_ai.get_run(ctx.run.id)     # what was recorded

They record what sigopt-python's recorded, under the same names: the parameters (the user's, then
``num_boost_round``, ``early_stopping_rounds`` and xgboost's own defaults), the metrics (``"Training
time"``, each eval set's last ``"{dataset}-{metric}"``, ``num_boost_round_before_stopping`` under early
stopping, and accuracy/F1/precision/recall or mean absolute/squared error computed on each eval set),
the checkpoints, the metadata, and training's stdout and stderr. The checkpoints are recorded by
:class:`sigopt_ai.integrations.xgboost.SigOptCallback` (each eval set's ``"{dataset}-{metric}"`` at the
round's step, every ``period`` rounds and at the last; at most 200), which also records what it always
does: the booster's configuration as parameters (``objective`` and ``eval_metric`` included), and
``num_boosted_rounds`` (``best_iteration``, ``best_score``) as metadata; a NaN or infinite evaluation
stops training there and fails the run ``diverged``. Where sigopt-python's behaviour was a bug, these
do what it meant (each is said where it happens):

- A run that :func:`run` starts is ended by it: completed, or failed with the classified kind when
  training raises (sigopt-python left it active, and left it active on an exception too). Its users'
  ``ctx.run.end()`` still works: ending is idempotent.
- Inside an open run (an experiment loop's ``with run:``, ``with sigopt.run():``) :func:`run` records
  into that run; ``run_options["name"]`` names the run it starts when there is none.
- Regression metrics are computed on the predictions as they are (sigopt-python rounded them to
  integers first, which made the mean squared error of a target in ``[0, 1)`` meaningless).
- ``binary:logitraw`` margins are classified at 0, not rounded.
- The parameters given and the metadata are recorded before training (sigopt-python recorded them
  after it): a run whose training fails shows what it tried.
- Feature importances go to the run's metadata as ``"importance/{feature}"`` (there is no
  ``sys_metadata`` writer for users here; a feature whose entry name would be over 100 characters is
  left out, where sigopt-python skipped them all with a warning), and there is no ``dev_metadata``:
  ``_IS_XGB_RUN`` is not recorded. Parameters have no "source" (sigopt-python's "User Specified"/"XGBoost Defaults").
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import inspect
import io
import json
import logging
import platform
import sys
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from sigopt_ai.integrations._require import require

xgb = require("xgboost", "xgboost", minimum="2")

from sigopt_ai._checks import describe_value, short_repr  # noqa: E402  (after the framework's check)
from sigopt_ai._exceptions import ValidationError, ValidationTypeError  # noqa: E402
from sigopt_ai.integrations._run import (  # noqa: E402
    IntegrationRun,
    checkpoint_period,
    flag,
    importances,
    positive_int,
)
from sigopt_ai.integrations.xgboost import SigOptCallback, booster_params  # noqa: E402
from sigopt_ai.runs._run import RunContext  # noqa: E402

__all__ = ["XGBRun", "experiment", "run"]

logger = logging.getLogger("sigopt_ai.integrations")

DEFAULT_EVALS_NAME = "TestSet"
"""The name of an eval set given as a bare ``DMatrix`` (sigopt-python's)."""
DEFAULT_CHECKPOINT_PERIOD = 5
DEFAULT_NUM_BOOST_ROUND = 10
DEFAULT_EARLY_STOPPING_ROUNDS = 10
DEFAULT_ITERS_PER_DIM = 10
MAX_BO_ITERATIONS = 200
FEATURE_IMPORTANCES_MAX_NUM_FEATURE = 50

DEFAULT_RUN_OPTIONS: dict[str, Any] = {
    "autolog_checkpoints": True,
    "autolog_feature_importances": True,
    "autolog_metrics": True,
    "autolog_stdout": True,
    "autolog_stderr": True,
    "autolog_sys_info": True,
    "autolog_xgboost_defaults": True,
    "name": None,
    "run": None,
}
PARAMS_LOGGED_AS_METADATA: tuple[str, ...] = ("eval_metric", "interaction_constraints", "monotone_constraints")
PARAMS_LOGGED_AS_METADATA += ("num_class", "objective", "updater")
SUPPORTED_OBJECTIVE_PREFIXES = ("binary", "multi", "reg")

CLASSIFICATION_METRIC_CHOICES = ("accuracy", "F1", "precision", "recall")
REGRESSION_METRIC_CHOICES = ("mean absolute error", "mean squared error")
METRICS_OPTIMIZATION_STRATEGY = {
    **dict.fromkeys(CLASSIFICATION_METRIC_CHOICES, "maximize"),
    **dict.fromkeys(REGRESSION_METRIC_CHOICES, "minimize"),
}
DEFAULT_SEARCH_PARAMS = ("eta", "gamma", "max_depth", "min_child_weight", "num_boost_round")
# xgboost's general parameters that experiment() knows: their type, and for some the bounds it fills
# in when the experiment's definition leaves them out (sigopt-python's table).
PARAMETER_INFORMATION: dict[str, dict[str, Any]] = {
    "eta": {"type": "double", "bounds": {"min": 0.001, "max": 1}, "transformation": "log"},
    "max_delta_step": {"type": "double", "bounds": {"min": 0.001, "max": 10}, "transformation": "log"},
    "alpha": {"type": "double", "bounds": {"min": 0, "max": 10}},
    "gamma": {"type": "double", "bounds": {"min": 0, "max": 5}},
    "lambda": {"type": "double", "bounds": {"min": 0, "max": 10}},
    "max_depth": {"type": "int", "bounds": {"min": 2, "max": 16}},
    "min_child_weight": {"type": "double", "bounds": {"min": 0, "max": 10}},
    "num_boost_round": {"type": "int", "bounds": {"min": 10, "max": 200}},
    "colsample_bylevel": {"type": "double", "bounds": {"min": 0.5, "max": 1}},
    "colsample_bynode": {"type": "double", "bounds": {"min": 0.5, "max": 1}},
    "colsample_bytree": {"type": "double", "bounds": {"min": 0.5, "max": 1}},
    "subsample": {"type": "double", "bounds": {"min": 0.5, "max": 1}},
    "max_bin": {"type": "int"},
    "max_leaves": {"type": "int"},
    "num_parallel_tree": {"type": "int"},
    "scale_pos_weight": {"type": "double"},
    "sketch_eps": {"type": "double"},
    "grow_policy": {"type": "categorical"},
    "predictor": {"type": "categorical"},
    "process_type": {"type": "categorical"},
    "sampling_method": {"type": "categorical"},
    "tree_method": {"type": "categorical"},
    "updater": {"type": "categorical"},
}
XGB_EXPERIMENT_KEYWORD = "_IS_XGB_EXPERIMENT"
_LOG_LIMIT = 1_000_000  # characters of training's stdout/stderr kept (a run's file holds 4 MiB at most)


class XGBRun:
    """What :func:`run` returns, as sigopt-python's ``XGBRun``: the run recorded into and the booster.

    Attributes:
        run: The :class:`~sigopt_ai.RunContext` recorded into (ended already when :func:`run` started it).
        model: The trained ``xgboost.Booster``.

    Example:
        >>> ctx = sigopt_ai.xgboost.run({"objective": "binary:logistic"}, dtrain, evals=[(dtest, "test")])
        >>> sigopt_ai.get_run(ctx.run.id).metrics["test-accuracy"]
        0.95
    """

    __slots__ = ("model", "run")

    def __init__(self, run: RunContext, model: Any) -> None:
        self.run = run
        self.model = model

    def __repr__(self) -> str:
        return f"XGBRun(run={self.run.id!r}, model={type(self.model).__name__})"


def run(
    params: Mapping[str, Any],
    dtrain: Any,
    num_boost_round: int = DEFAULT_NUM_BOOST_ROUND,
    evals: Any = None,
    early_stopping_rounds: int | None = None,
    evals_result: dict[str, Any] | None = None,
    verbose_eval: bool | int = True,
    callbacks: list[Any] | None = None,
    xgb_model: Any = None,
    run_options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> XGBRun:
    """Train with ``xgboost.train`` and record the training as a run, as sigopt-python's ``sigopt.xgboost.run``.

    The arguments are ``xgboost.train``'s. The run's own parameters win over ``params``: inside an
    experiment loop the suggested values are the ones trained with (``num_boost_round`` and
    ``early_stopping_rounds`` too, when the run has them).

    Args:
        params: xgboost's booster parameters.
        dtrain: The training ``xgboost.DMatrix``.
        num_boost_round: Boosting rounds (a run parameter of that name wins).
        evals: A ``DMatrix`` (named ``"TestSet"``) or a list of ``(DMatrix, name)`` pairs to evaluate on.
        early_stopping_rounds: Stop after that many rounds without improvement on the last eval set.
        evals_result: A dict that receives the evaluation history, as in ``xgboost.train``.
        verbose_eval: Print evaluations every round (True) or every that many rounds; also the
            checkpoint period (else 5, or a given ``EvaluationMonitor``'s), raised to keep at most 200.
        callbacks: xgboost callbacks (the list is not changed).
        xgb_model: A booster to continue training.
        run_options: ``autolog_checkpoints``, ``autolog_feature_importances``, ``autolog_metrics``,
            ``autolog_stdout``, ``autolog_stderr``, ``autolog_sys_info``, ``autolog_xgboost_defaults``
            (bools, default True); ``run`` (a RunContext to record into) or ``name`` (of the run
            started when there is no current run).
        **kwargs: Other ``xgboost.train`` arguments (``obj``, ``custom_metric``, ``maximize``); one
            this xgboost's ``train`` does not take is dropped with a ``RuntimeWarning``.

    Returns:
        The run and the trained booster. A run that ``run()`` started has ended (sigopt-python left it
        active until ``ctx.run.end()``, which still works); to record more into the same run, open it
        yourself: call ``run()`` inside ``with sigopt_ai.run() as r:``, or give ``run_options={"run": r}``.

    Raises:
        ValidationError: An argument breaks a rule (the message names it): ``run_options`` holds an
            unknown key or a non-bool ``autolog_*``, both ``run`` and ``name``, or ``evals`` is neither
            a DMatrix nor a list of pairs (``ValidationTypeError``, a ``TypeError``, as sigopt-python raised).
        Exception: What training raised, after the run recorded it as its failure.

    Example:
        >>> import sigopt_ai.xgboost
        >>> ctx = sigopt_ai.xgboost.run({"eta": 0.1}, dtrain, num_boost_round=20, evals=[(dtest, "test")])
        >>> ctx.model.num_boosted_rounds()
        20
    """
    options = parse_run_options(run_options)
    training = _Training(
        params=_check_params(params),
        dtrain=_check_dmatrix(dtrain, "dtrain"),
        num_boost_round=num_boost_round,
        evals=_validation_sets(evals),
        early_stopping_rounds=early_stopping_rounds,
        evals_result=evals_result,
        verbose_eval=verbose_eval,
        callbacks=list(callbacks or ()),
        xgb_model=xgb_model,
        kwargs=_train_kwargs(kwargs),
        options=options,
    )
    recorder = IntegrationRun(options["run"], name=options["name"], framework="XGBoost")
    context = recorder.start()
    try:
        booster = training.train(recorder)
    except BaseException as exc:
        recorder.finish(exc)
        raise
    try:
        training.record(recorder, booster)
    except Exception:  # a metric that cannot be computed must not cost the user the trained booster
        logger.warning("sigopt_ai: recording XGBoost's results into run %s failed", context.id, exc_info=True)
    recorder.finish()
    return XGBRun(context, booster)


def parse_run_options(run_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``run_options`` with the defaults filled in, checked as sigopt-python checked them.

    Raises:
        ValidationTypeError: ``run_options`` is not a mapping, an ``autolog_*`` value is not a bool,
            or ``run`` is not a RunContext.
        ValidationError: An unknown key, or both ``run`` and ``name``.
    """
    if run_options is None:
        return dict(DEFAULT_RUN_OPTIONS)
    if not isinstance(run_options, Mapping):
        raise ValidationTypeError(f"run_options must be a dict, got {describe_value(run_options)}.")
    unknown = sorted(str(key) for key in run_options.keys() - DEFAULT_RUN_OPTIONS.keys())
    if unknown:
        raise ValidationError(
            f"run_options has unsupported keys {unknown}; the keys are {sorted(DEFAULT_RUN_OPTIONS)}."
        )
    for key, value in run_options.items():
        if key.startswith("autolog"):
            flag(value, f"run_options[{key!r}]")
    if run_options.get("run") is not None and run_options.get("name") is not None:
        raise ValidationError("run_options cannot have both 'run' and 'name': 'name' names a new run.")
    given = run_options.get("run")
    if given is not None and not isinstance(given, RunContext):
        raise ValidationTypeError(f"run_options['run'] must be a sigopt_ai.RunContext, got {type(given).__name__}.")
    return {**DEFAULT_RUN_OPTIONS, **run_options}


def _check_params(params: Any) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise ValidationTypeError(f"params must be a dict of xgboost parameters, got {describe_value(params)}.")
    return dict(params)


def _check_dmatrix(value: Any, field: str) -> Any:
    if not isinstance(value, xgb.DMatrix):
        raise ValidationTypeError(f"{field} must be an xgboost.DMatrix, got {describe_value(value)}.")
    return value


def _validation_sets(evals: Any) -> list[tuple[Any, str]] | None:
    """``evals`` as xgboost takes it: a bare DMatrix is named ``"TestSet"``, as in sigopt-python."""
    if evals is None:
        return None
    if isinstance(evals, xgb.DMatrix):
        return [(evals, DEFAULT_EVALS_NAME)]
    rule = "evals must be an xgboost.DMatrix or a list of (xgboost.DMatrix, name) pairs"
    if not isinstance(evals, Sequence) or isinstance(evals, str):
        raise ValidationTypeError(f"{rule}, got {describe_value(evals)}.")
    for pair in evals:
        if not (isinstance(pair, Sequence) and len(pair) == 2 and isinstance(pair[0], xgb.DMatrix)):
            raise ValidationTypeError(f"{rule}, got an item {short_repr(pair)}.")
        if not isinstance(pair[1], str) or not pair[1]:
            raise ValidationTypeError(f"{rule}; a name is a non-empty str, got {describe_value(pair[1])}.")
    return [(matrix, name) for matrix, name in evals]


def _train_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments this xgboost's ``train`` takes; another is dropped with a RuntimeWarning."""
    accepted = inspect.signature(xgb.train).parameters
    for key in [key for key in kwargs if key not in accepted]:
        warnings.warn(
            f"The argument `{key}` is not supported by this version of XGBoost, and has been ignored",
            RuntimeWarning,
            stacklevel=3,
        )
        del kwargs[key]
    return kwargs


@dataclasses.dataclass(kw_only=True)
class _Training:
    """One call of :func:`run`: the arguments, the training, and what is recorded after it."""

    params: dict[str, Any]
    dtrain: Any
    num_boost_round: int
    evals: list[tuple[Any, str]] | None
    early_stopping_rounds: int | None
    evals_result: dict[str, Any] | None
    verbose_eval: bool | int
    callbacks: list[Any]
    xgb_model: Any
    kwargs: dict[str, Any]
    options: dict[str, Any]
    train_seconds: float = 0.0

    def checkpoint_period(self) -> int:
        """sigopt-python's period: the verbose period, else a given EvaluationMonitor's, else 5; raised
        so that at most 200 checkpoints are recorded (one per period, and the last round)."""
        period = DEFAULT_CHECKPOINT_PERIOD
        for callback in self.callbacks:
            if isinstance(callback, xgb.callback.EvaluationMonitor):
                period = int(getattr(callback, "period", period))
        if self.verbose_eval:
            period = 1 if self.verbose_eval is True else int(self.verbose_eval)
        return checkpoint_period(int(self.num_boost_round) + 1, period)

    def train(self, recorder: IntegrationRun) -> Any:
        """``xgboost.train`` with the run's parameters over ``params``; training's output is kept."""
        run_params = dict(recorder.run.params)
        params = {**self.params, **run_params}
        # Run parameters of these names are train()'s arguments, not the booster's.
        self.num_boost_round = int(params.pop("num_boost_round", self.num_boost_round))
        if "early_stopping_rounds" in params:
            stopping = params.pop("early_stopping_rounds")
            self.early_stopping_rounds = None if stopping is None else int(stopping)
        # Recorded before training (sigopt-python recorded them after): a run that fails shows what it tried.
        self._metadata(recorder)
        self._given_params(recorder)
        callbacks = list(self.callbacks)
        if self.options["autolog_checkpoints"] and self.evals:
            callbacks.append(self._checkpoints(recorder))
        arguments: dict[str, Any] = {
            "num_boost_round": self.num_boost_round,
            "early_stopping_rounds": self.early_stopping_rounds,
            "verbose_eval": self.verbose_eval,
            "xgb_model": self.xgb_model,
            "callbacks": callbacks,
            **self.kwargs,
        }
        if self.evals is not None:
            self.evals_result = {} if self.evals_result is None else self.evals_result
            arguments.update(evals=self.evals, evals_result=self.evals_result)
        with self._output(recorder):
            started = time.perf_counter()
            booster = xgb.train(params, self.dtrain, **arguments)
            self.train_seconds = time.perf_counter() - started
        return booster

    def _checkpoints(self, recorder: IntegrationRun) -> Any:
        return SigOptCallback(
            recorder.run,
            period=self.checkpoint_period(),
            num_boost_round=max(1, self.num_boost_round),
            log_feature_importances=False,  # record() does it, with or without checkpoints
        )

    @contextlib.contextmanager
    def _output(self, recorder: IntegrationRun) -> Iterator[None]:
        """Training's stdout and stderr still reach the console, and are stored with the run after."""
        streams = {"stdout": self.options["autolog_stdout"], "stderr": self.options["autolog_stderr"]}
        with contextlib.ExitStack() as stack:
            tees: dict[str, _Tee] = {}
            if streams["stdout"]:
                tees["stdout"] = _Tee(sys.stdout)
                stack.enter_context(contextlib.redirect_stdout(tees["stdout"]))
            if streams["stderr"]:
                tees["stderr"] = _Tee(sys.stderr)
                stack.enter_context(contextlib.redirect_stderr(tees["stderr"]))
            try:
                yield
            finally:
                for name, tee in tees.items():
                    text = tee.text()
                    if text:
                        store = functools.partial(recorder.run.log_file, name=name, content_type="text/plain")
                        recorder.call(store, text.encode("utf-8", "replace"))

    # -- after training -----------------------------------------------------------------------------

    def record(self, recorder: IntegrationRun, booster: Any) -> None:
        """xgboost's defaults, the metrics and the importances, after training (what the run refuses is dropped)."""
        # The model's type again: the checkpoint callback, started inside training, named it "xgboost".
        recorder.call(recorder.run.log_model, "XGBoost")
        if self.options["autolog_xgboost_defaults"]:
            defaults = booster_params(booster)
            recorder.log_params({k: v for k, v in defaults.items() if k not in PARAMS_LOGGED_AS_METADATA})
        self._metrics(recorder, booster)
        if self.options["autolog_feature_importances"]:
            try:
                scores = booster.get_score(importance_type="weight")
            except Exception:  # a booster this xgboost cannot count splits of
                scores = {}
            recorder.log_metadata(importances(scores, FEATURE_IMPORTANCES_MAX_NUM_FEATURE))

    def _metadata(self, recorder: IntegrationRun) -> None:
        entries: dict[str, Any] = {}
        if self.options["autolog_sys_info"]:
            entries.update({"Python Version": platform.python_version(), "XGBoost Version": xgb.__version__})
        entries.update({"Dataset columns": self.dtrain.num_col(), "Dataset rows": self.dtrain.num_row()})
        entries.update({name: self.params[name] for name in PARAMS_LOGGED_AS_METADATA if name in self.params})
        if self.evals is not None:
            entries["Number of Test Sets"] = len(self.evals)
            for _, name in self.evals:
                recorder.call(recorder.run.log_dataset, name)
        recorder.log_metadata(entries)

    def _given_params(self, recorder: IntegrationRun) -> None:
        # setdefaults: a suggested or user-set value is never replaced.
        values = {k: v for k, v in self.params.items() if k not in PARAMS_LOGGED_AS_METADATA}
        values["num_boost_round"] = self.num_boost_round
        if self.early_stopping_rounds is not None:
            values["early_stopping_rounds"] = self.early_stopping_rounds
        recorder.log_params(values)

    def _metrics(self, recorder: IntegrationRun, booster: Any) -> None:
        metrics: dict[str, Any] = {}
        if self.options["autolog_metrics"]:
            metrics["Training time"] = self.train_seconds
        rounds = 0
        for dataset, series in (self.evals_result or {}).items():
            for metric, values in series.items():
                if values:
                    last = values[-1]
                    metrics[f"{dataset}-{metric}"] = last[0] if isinstance(last, tuple) else last
                    rounds = len(values)
        if self.evals_result is not None and self.early_stopping_rounds:
            metrics["num_boost_round_before_stopping"] = rounds
        objective = _objective(booster)
        if self.options["autolog_metrics"] and self.evals and objective.startswith(SUPPORTED_OBJECTIVE_PREFIXES):
            for matrix, name in self.evals:
                metrics.update(evaluation_metrics(booster, matrix, name, objective))
        recorder.log_metrics(metrics)


class _Tee(io.TextIOBase):
    """A text stream that writes through to ``stream`` and keeps the first million characters."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._parts: list[str] = []
        self._kept = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._kept < _LOG_LIMIT:
            part = text[: _LOG_LIMIT - self._kept]
            self._parts.append(part)
            self._kept += len(part)
        self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def text(self) -> str:
        return "".join(self._parts)


def _objective(booster: Any) -> str:
    try:
        return str(json.loads(booster.save_config())["learner"]["objective"]["name"])
    except (KeyError, TypeError, ValueError):
        return ""


def evaluation_metrics(booster: Any, matrix: Any, name: str, objective: str) -> dict[str, float]:
    """sigopt-python's computed metrics of ``booster`` on one eval set: ``"{name}-accuracy"``, ``-F1``,
    ``-recall`` and ``-precision`` (weighted by class support) for a classifier, else ``"{name}-mean
    absolute error"`` and ``-mean squared error``. A diverged model's NaN predictions give NaN errors,
    which fail the run ``diverged``."""
    predictions = np.asarray(booster.predict(matrix), dtype=np.float64)
    labels = np.asarray(matrix.get_label(), dtype=np.float64)
    with np.errstate(all="ignore"):  # inf - inf in a diverged model's predictions is its result, not a warning
        if objective.startswith("reg"):
            errors = labels - predictions
            return {
                f"{name}-mean absolute error": float(np.mean(np.abs(errors))),
                f"{name}-mean squared error": float(np.mean(errors**2)),
            }
        if predictions.ndim == 2:
            predicted = np.argmax(predictions, axis=1).astype(np.float64)
        elif objective == "binary:logitraw":
            predicted = (predictions > 0).astype(np.float64)
        else:
            predicted = np.round(predictions)
    return classification_metrics(labels, predicted, name)


def classification_metrics(labels: Any, predicted: Any, name: str) -> dict[str, float]:
    """Accuracy, and F1, recall and precision averaged over the true classes weighted by support."""
    total = len(labels)
    if total == 0:
        return {}
    scores = {"F1": 0.0, "recall": 0.0, "precision": 0.0}
    for label in np.unique(labels):
        truth, guess = labels == label, predicted == label
        hits = int(np.count_nonzero(truth & guess))
        false_pos = int(np.count_nonzero(~truth & guess))
        false_neg = int(np.count_nonzero(truth & ~guess))
        weight = np.count_nonzero(truth) / total
        scores["precision"] += weight * (hits / (hits + false_pos) if hits + false_pos else 0.0)
        scores["recall"] += weight * (hits / (hits + false_neg) if hits + false_neg else 0.0)
        half = hits + 0.5 * (false_pos + false_neg)
        scores["F1"] += weight * (hits / half if half else 0.0)
    accuracy = np.count_nonzero(labels == predicted) / total
    return {f"{name}-accuracy": float(accuracy), **{f"{name}-{key}": float(v) for key, v in scores.items()}}


# -- experiment() -----------------------------------------------------------------------------------


class _DefaultEarlyStoppingRounds:
    """experiment()'s default for ``early_stopping_rounds``, told apart from an explicit 10 or None."""

    def __repr__(self) -> str:
        return str(DEFAULT_EARLY_STOPPING_ROUNDS)


_DEFAULT_EARLY_STOPPING = _DefaultEarlyStoppingRounds()


def experiment(
    experiment_config: Mapping[str, Any],
    dtrain: Any,
    evals: Any,
    params: Mapping[str, Any],
    num_boost_round: int | None = None,
    early_stopping_rounds: int | None | _DefaultEarlyStoppingRounds = _DEFAULT_EARLY_STOPPING,
    run_options: Mapping[str, Any] | None = None,
) -> Any:
    """Tune xgboost: create an experiment and train one :func:`run` per suggestion until its budget is
    spent, as sigopt-python's ``sigopt.xgboost.experiment``.

    The definition is completed as sigopt-python completed it: the metric to optimize defaults to
    ``accuracy`` for a ``binary:``/``multi:`` objective, else ``mean squared error``, and is computed on
    the first eval set (its name is prefixed: ``"test-accuracy"``); without ``parameters`` the search
    space is ``eta`` (log 0.001-1), ``gamma`` (0-5), ``max_depth`` (2-16), ``min_child_weight`` (0-10)
    and ``num_boost_round`` (10-200); a known xgboost parameter given without type or bounds gets them;
    ``budget`` defaults to 10 per parameter (at most 200), ``parallel_bandwidth`` to 1, ``type`` to
    ``"offline"``. A run whose training raises an assignment's failure (an invalid value: xgboost's
    error; a diverged model: NaN evaluations) becomes a failed observation and the loop goes on.

    Args:
        experiment_config: The experiment's definition (``name``, ``parameters``, ``metrics``, ``budget``,
            ... as for :func:`sigopt_ai.create_experiment`, and ``project``); ``metrics`` may also be one
            of the metric names above, or a list whose ``optimize`` metric is one of them.
        dtrain: The training ``xgboost.DMatrix``.
        evals: A ``DMatrix`` (named ``"TestSet"``) or a list of ``(DMatrix, name)`` pairs; the metric is
            computed on the first.
        params: Fixed booster parameters (none of them may be searched).
        num_boost_round: Fixed boosting rounds (default: searched, or 10 when not in the search space).
        early_stopping_rounds: Stop a run after that many rounds without improvement (default 10;
            None: no early stopping).
        run_options: As for :func:`run` (``run`` and ``name`` are the loop's).

    Returns:
        The :class:`~sigopt_ai.Experiment`, its budget spent.

    Raises:
        ValidationError: The definition or an argument breaks a rule; the message names it.

    Example:
        >>> import sigopt_ai.xgboost
        >>> exp = sigopt_ai.xgboost.experiment(
        ...     {"name": "tune", "budget": 10}, dtrain, [(dtest, "test")], {"objective": "binary:logistic"})
        >>> exp.best_runs()[0].metrics["test-accuracy"]
        0.97
    """
    from sigopt_ai.experiments import create_experiment

    options = parse_run_options(run_options)
    for key in ("run", "name"):
        if options[key] is not None:
            raise ValidationError(f"run_options[{key!r}] cannot be given to experiment(): each run is the loop's.")
    fixed = _check_params(params)
    sets = _validation_sets(evals)
    if not sets:
        raise ValidationError("evals must name at least one eval set: experiment() computes its metric on the first.")
    _check_dmatrix(dtrain, "dtrain")
    if num_boost_round is not None:
        positive_int(num_boost_round, "num_boost_round")
    stopping = (
        DEFAULT_EARLY_STOPPING_ROUNDS if early_stopping_rounds is _DEFAULT_EARLY_STOPPING else early_stopping_rounds
    )
    config = experiment_definition(experiment_config, fixed, sets[0][1], num_boost_round)
    created = create_experiment(**config)
    for trial in created.loop():
        with trial:
            rounds = num_boost_round or trial.params.get("num_boost_round", DEFAULT_NUM_BOOST_ROUND)
            run(
                fixed,
                dtrain,
                num_boost_round=int(rounds),  # type: ignore[arg-type]
                evals=sets,
                early_stopping_rounds=stopping,  # type: ignore[arg-type]
                verbose_eval=False,
                run_options={**options, "run": trial},
            )
    return created


def experiment_definition(
    experiment_config: Any, params: Mapping[str, Any], first_eval: str, num_boost_round: int | None
) -> dict[str, Any]:
    """The definition :func:`experiment` creates, completed from ``experiment_config`` as sigopt-python did.

    Raises:
        ValidationError: An unsupported metric, a parameter whose type contradicts xgboost's, one without
            bounds or values that cannot be filled in, a parameter both searched and fixed.
    """
    if not isinstance(experiment_config, Mapping):
        raise ValidationTypeError(f"experiment_config must be a dict, got {describe_value(experiment_config)}.")
    config = copy.deepcopy(dict(experiment_config))
    config["metrics"] = _metrics_definition(config.get("metrics"), params, first_eval)
    config["parameters"] = _parameters_definition(config.get("parameters"))
    searched = {p.get("name") for p in config["parameters"] if isinstance(p, Mapping)}
    overlap = sorted(str(name) for name in searched & set(params))
    if overlap:
        raise ValidationError(f"params fixes {overlap}, which experiment_config's parameters also search: pick one.")
    if num_boost_round and "num_boost_round" in searched:
        raise ValidationError(
            f"num_boost_round is searched by experiment_config's parameters and fixed to {num_boost_round}: pick one."
        )
    config.setdefault("name", "XGBoost experiment")
    config.setdefault("budget", min(DEFAULT_ITERS_PER_DIM * len(config["parameters"]), MAX_BO_ITERATIONS))
    config.setdefault("parallel_bandwidth", 1)
    config.setdefault("type", "offline")
    metadata = config.get("metadata")
    config["metadata"] = {**(metadata if isinstance(metadata, Mapping) else {}), XGB_EXPERIMENT_KEYWORD: "True"}
    return config


def _metrics_definition(metrics: Any, params: Mapping[str, Any], first_eval: str) -> list[dict[str, Any]]:
    """The metrics, the optimized one named after the first eval set (``"test-accuracy"``)."""
    supported = ", ".join(repr(m) for m in METRICS_OPTIMIZATION_STRATEGY)
    if metrics is None or isinstance(metrics, str):
        if metrics is None:
            objective = str(params.get("objective", ""))
            metrics = "accuracy" if objective.split(":")[0] in ("binary", "multi") else "mean squared error"
        if metrics not in METRICS_OPTIMIZATION_STRATEGY:
            raise ValidationError(
                f"experiment_config['metrics'] must be one of {supported}, got {short_repr(metrics)}."
            )
        metrics = [{"name": metrics, "objective": METRICS_OPTIMIZATION_STRATEGY[metrics]}]
    if not isinstance(metrics, Sequence):
        raise ValidationTypeError(
            f"experiment_config['metrics'] must be a metric name or a list of metrics, got {describe_value(metrics)}."
        )
    completed = []
    for metric in metrics:
        if not isinstance(metric, Mapping):
            raise ValidationTypeError(f"each of experiment_config['metrics'] must be a dict, got {short_repr(metric)}.")
        metric = dict(metric)
        if metric.get("strategy", "optimize") == "optimize":
            name = metric.get("name")
            if name not in METRICS_OPTIMIZATION_STRATEGY:
                raise ValidationError(f"The metric to optimize must be one of {supported}, got {short_repr(name)}.")
            metric.setdefault("objective", METRICS_OPTIMIZATION_STRATEGY[name])
            metric["name"] = f"{first_eval}-{name}"
        completed.append(metric)
    return completed


def _parameters_definition(parameters: Any) -> list[Any]:
    """The search space: sigopt-python's default, or the given one with known types and bounds filled in."""
    if parameters is None:
        return [_known_parameter(name) for name in DEFAULT_SEARCH_PARAMS]
    if not isinstance(parameters, Sequence) or isinstance(parameters, str):
        raise ValidationTypeError(
            f"experiment_config['parameters'] must be a list of parameter dicts, got {describe_value(parameters)}."
        )
    completed: list[Any] = []
    for parameter in parameters:
        info = PARAMETER_INFORMATION.get(str(parameter.get("name"))) if isinstance(parameter, Mapping) else None
        if info is None:
            completed.append(parameter)  # the experiment's own checks name what is wrong with it
            continue
        parameter = dict(parameter)
        name, kind = parameter["name"], info["type"]
        if parameter.setdefault("type", kind) != kind:
            raise ValidationError(
                f"Parameter {name!r} has type {short_repr(parameter['type'])} in experiment_config; xgboost's "
                f"{name} is {kind!r}."
            )
        if kind == "categorical":
            if "categorical_values" not in parameter:
                raise ValidationError(f"Parameter {name!r} needs categorical_values: they are not filled in.")
        elif "bounds" not in parameter and "grid" not in parameter:
            if "bounds" not in info:
                raise ValidationError(f"Parameter {name!r} needs bounds: they are not filled in for {name}.")
            parameter = {**parameter, **_known_parameter(name)}
        completed.append(parameter)
    return completed


def _known_parameter(name: str) -> dict[str, Any]:
    info = PARAMETER_INFORMATION[name]
    known = {"name": name, "type": info["type"], "bounds": dict(info["bounds"])}
    if "transformation" in info:
        known["transformation"] = info["transformation"]
    return known

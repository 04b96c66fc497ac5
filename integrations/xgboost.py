"""XGBoost: :class:`SigOptCallback`, a ``xgboost.callback.TrainingCallback`` that records training into a run.

What it records, for ``xgb.train`` and ``xgb.cv`` alike:

- parameters: the booster's configuration (``eta``, ``max_depth``, ``objective``, ``eval_metric``, ...),
  and ``num_boost_round`` when the callback is told it. A value the run already has (a suggested or
  user-set one) is kept.
- checkpoints: every ``period`` rounds (every 5 rounds by default, as sigopt-python's callback did), each
  evaluation result as ``"{dataset}-{metric}"`` at step = the boosting round (0-based, as XGBoost
  counts), and always at the last round. Given ``num_boost_round``, the period is raised so that a
  run gets at most 200 checkpoints; without it, the period doubles as checkpoints accumulate, with
  the same bound. ``xgb.cv`` gives each result as a mean and a standard deviation: the mean is
  ``"{dataset}-{metric}"``, the deviation ``"{dataset}-{metric}-std"``.
- metrics, when training ends: the last value of each ``"{dataset}-{metric}"`` (with its standard
  deviation under ``xgb.cv``), or, when early stopping found a best round, the values at that round,
  the model XGBoost keeps.
- metadata: ``best_iteration`` and ``best_score`` under early stopping, ``num_boosted_rounds``, and the
  50 most used features as ``"importance/{feature}"`` (XGBoost's ``weight`` importance).

A NaN or infinite evaluation result fails the run as ``diverged`` and stops training at that round,
recorded or not (XGBoost has no ``TerminateOnNaN``): in an experiment loop the assignment becomes a
failed observation. A round that is not recorded costs only that check.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from sigopt_ai.integrations._require import require

xgb = require("xgboost", "xgboost", minimum="2")

from xgboost.callback import TrainingCallback  # noqa: E402  (after the framework's check)

from sigopt_ai.integrations._run import (  # noqa: E402
    MAX_CHECKPOINTS,
    Closable,
    IntegrationRun,
    checkpoint_period,
    flag,
    importances,
    non_finite,
    positive_int,
)
from sigopt_ai.runs._run import RunContext  # noqa: E402

__all__ = ["SigOptCallback", "booster_params"]

# Configuration entries that are not choices a user makes: aliases of another entry (XGBoost stores
# both ``eta`` and ``learning_rate``), bookkeeping, and how many threads ran (not the model).
_SKIPPED_PARAMS = frozenset(
    {
        "learning_rate",
        "reg_alpha",
        "reg_lambda",
        "min_split_loss",
        "random_state",
        "n_jobs",
        "nthread",
        "updater_seq",
        "debug_synchronize",
        "max_cached_hist_node",
        "fail_on_invalid_gpu_id",
        "validate_parameters",
        "disable_default_eval_metric",
        "num_trees",
        "num_feature",
        "num_target",
        "boost_from_average",
    }
)

# One evaluation round's results, XGBoost's ``EvalsLog``: per dataset, per metric, the series of
# numbers, or of ``(mean, std)`` under ``xgb.cv``.
Log = Mapping[str, Mapping[str, Any]]


class SigOptCallback(Closable, TrainingCallback):
    """Record XGBoost training into a sigopt_ai run (see the module's text for what is recorded).

    Pass it in ``callbacks=[...]`` of ``xgb.train`` or ``xgb.cv``. It records into ``run``, else the
    current run (the one an experiment loop opened), else a run it starts when training starts and
    ends when training ends. XGBoost calls no callback when training raises: use the callback as
    ``with SigOptCallback() as callback:`` around training to record the failure (classified: an
    ``XGBoostError`` saying ``bad_malloc``/``std::bad_alloc`` is ``oom``) and end the run it started;
    without ``with``, such a run stays open until the process exits.

    Args:
        run: The run to record into (default: the current run, else a new one).
        name: The name of a run the callback starts itself.
        project: The project of a run the callback starts itself.
        period: Record a checkpoint every ``period`` rounds (default 5, as sigopt-python's callback; raised
            to keep 200 at most). The last round is always recorded.
        num_boost_round: The rounds training will run, as given to ``xgb.train``: XGBoost does not
            tell callbacks, and the period needs it to spread 200 checkpoints over the whole
            training. It is also recorded as the parameter ``num_boost_round``.
        log_feature_importances: Record the 50 most used features as metadata when training ends.

    Raises:
        ValidationError: An argument breaks its rule; the message names it.

    Example:
        >>> from sigopt_ai.integrations.xgboost import SigOptCallback
        >>> for run in experiment.loop():
        ...     with run:
        ...         booster = xgb.train(
        ...             {"eta": run.params.eta, "max_depth": run.params.max_depth},
        ...             dtrain, num_boost_round=100, evals=[(dvalid, "valid")],
        ...             callbacks=[SigOptCallback(num_boost_round=100)],
        ...         )
        # each run has the checkpoint "valid-rmse" every 5 rounds and the metric "valid-rmse"
    """

    def __init__(
        self,
        run: RunContext | None = None,
        *,
        name: str | None = None,
        project: str | None = None,
        period: int = 5,
        num_boost_round: int | None = None,
        log_feature_importances: bool = True,
    ) -> None:
        super().__init__()
        self._integration = IntegrationRun(run, name=name, project=project, framework="xgboost")
        self._period = positive_int(period, "period")
        self._rounds = None if num_boost_round is None else positive_int(num_boost_round, "num_boost_round")
        self._importances = flag(log_feature_importances, "log_feature_importances")
        self._reset()

    def _reset(self) -> None:
        self._every = checkpoint_period(self._rounds, self._period)
        self._recorded = 0
        self._thin_at = MAX_CHECKPOINTS // 2
        self._first = 0
        self._log: Log = {}
        self._pending: int | None = None  # the last round seen, when it was not checkpointed
        self._diverged = False

    # -- XGBoost's hooks ------------------------------------------------------------------------

    def before_training(self, model: Any) -> Any:
        """Resolve the run and record the booster's parameters."""
        self._reset()
        integration = self._integration
        integration.begin()  # not a previous loop run that training left by raising
        self._first = model.num_boosted_rounds()  # training continued from a model starts there
        booster = _booster(model)
        values: dict[str, Any] = {}
        try:
            values = {k: v for k, v in booster_params(booster).items() if k not in _SKIPPED_PARAMS}
            values["eval_metric"] = ",".join(_metric_names(booster)) or None
        except Exception:  # a configuration this version cannot read must not stop training
            values = {}
        values["num_boost_round"] = self._rounds
        integration.log_params(values)
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: TrainingCallback.EvalsLog) -> bool:
        """Checkpoint the round's results when the period says so; stop training when one is NaN or infinite."""
        self._log = evals_log
        if not evals_log:
            return False
        if (epoch - self._first + 1) % self._every and _finite_at_end(evals_log):
            self._pending = epoch  # not recorded: names are built for recorded rounds only
            return False
        latest = _values_at(evals_log, -1)
        self._record(latest, epoch)
        if all(math.isfinite(v) for v in latest.values()):
            return False
        self._diverged = True
        self._integration.diverged(f"XGBoost's evaluation result was not finite at round {epoch}: {non_finite(latest)}")
        if _is_cv(model) and model.attr("best_iteration") is None:
            # xgb.cv cuts its results to best_iteration when a callback stops it, and has none
            # without early stopping: it is set to the last round, so every result is kept.
            model.set_attr(best_iteration=str(epoch))
        return True

    def after_training(self, model: Any) -> Any:
        """Record the final metrics and metadata, and end a run the callback started."""
        integration = self._integration
        if not integration.started:  # the run was closed already (close() inside training)
            return model
        if self._pending is not None:
            self._record(_values_at(self._log, -1), self._pending)
        best = model.attr("best_iteration")
        metadata: dict[str, Any] = {"num_boosted_rounds": model.num_boosted_rounds()}
        index = -1
        if best is not None and not self._diverged:  # after divergence, xgb.cv's is the one set above
            metadata["best_iteration"] = int(best)
            metadata["best_score"] = _number(model.attr("best_score"))
            index = int(best) - self._first
        self._final_metrics(index)
        if self._importances and not _is_cv(model):
            try:
                metadata.update(importances(model.get_score(importance_type="weight")))
            except Exception:  # a gblinear booster has no splits to count
                pass
        integration.log_metadata(metadata)
        self.close()
        return model

    def close(self, error: BaseException | None = None) -> None:
        """Training is over: record the last round seen if its checkpoint is still due, then ``error``
        (if any), and end the run if the callback started it."""
        if self._pending is not None and self._integration.started:
            self._record(_values_at(self._log, -1), self._pending)
        super().close(error)

    # -- recording ------------------------------------------------------------------------------

    def _record(self, values: Mapping[str, float], epoch: int) -> None:
        """One checkpoint; without ``num_boost_round``, the period doubles each time half of what is
        left of the 200 is used, so the bound holds however long training runs."""
        self._pending = None
        if self._recorded >= MAX_CHECKPOINTS:
            return
        self._integration.checkpoint(values, epoch)
        self._recorded += 1
        if self._rounds is None and self._recorded >= self._thin_at:
            self._every *= 2
            self._thin_at += max(1, (MAX_CHECKPOINTS - self._thin_at) // 2)

    def _final_metrics(self, index: int) -> None:
        values: dict[str, float] = {}
        stddevs: dict[str, float] = {}
        for dataset, metrics in self._log.items():
            for metric, scores in metrics.items():
                if scores and -len(scores) <= index < len(scores):
                    score = scores[index]
                    name = f"{dataset}-{metric}"
                    values[name], std = score if isinstance(score, tuple) else (score, None)
                    if std is not None:
                        stddevs[name] = std
        self._integration.log_metrics(values, stddevs)


def _booster(model: Any) -> Any:
    """The booster whose configuration is recorded: ``xgb.cv``'s folds share one configuration."""
    return model.cvfolds[0].bst if _is_cv(model) else model


def _is_cv(model: Any) -> bool:
    return hasattr(model, "cvfolds")


def _metric_names(booster: Any) -> list[str]:
    return [str(m["name"]) for m in json.loads(booster.save_config())["learner"].get("metrics", [])]


def _finite_at_end(evals_log: Log) -> bool:
    """Whether each series' latest value (mean and deviation under ``xgb.cv``) is a finite number."""
    isfinite = math.isfinite
    for metrics in evals_log.values():
        for scores in metrics.values():
            score = scores[-1]
            if isinstance(score, tuple):
                if not (isfinite(score[0]) and isfinite(score[1])):
                    return False
            elif not isfinite(score):
                return False
    return True


def _values_at(evals_log: Log, index: int) -> dict[str, float]:
    """Each series' value at ``index`` as ``"{dataset}-{metric}"`` (and ``"-std"`` under ``xgb.cv``)."""
    values: dict[str, float] = {}
    for dataset, metrics in evals_log.items():
        for metric, scores in metrics.items():
            score = scores[index]
            if isinstance(score, tuple):
                values[f"{dataset}-{metric}"] = float(score[0])
                values[f"{dataset}-{metric}-std"] = float(score[1])
            else:
                values[f"{dataset}-{metric}"] = float(score)
    return values


def _number(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def booster_params(booster: Any) -> dict[str, Any]:
    """Every parameter in the booster's configuration (``*_param`` sections of ``save_config``),
    as numbers where the text is one."""
    found: dict[str, Any] = {}
    stack = [json.loads(booster.save_config())]
    while stack:
        section = stack.pop()
        for key, value in section.items():
            if key.endswith("_param") and isinstance(value, Mapping):
                found.update(value)
            elif isinstance(value, Mapping):
                stack.append(value)
    return {key: _parse_number(value) for key, value in found.items()}


def _parse_number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        pass
    try:
        # xgboost keeps float32: "0.300000012" is the 0.3 the user set, and 7 digits say so.
        return float(f"{float(value):.7g}")
    except ValueError:
        return value

"""LightGBM: :class:`SigOptCallback`, a callback for ``callbacks=[...]`` that records training into a run.

What it records, for ``lgb.train`` and ``lgb.cv`` alike:

- parameters: the training parameters (``learning_rate``, ``num_leaves``, ``objective``, ...) and
  ``num_boost_round``. A value the run already has (a suggested or user-set one) is kept.
- checkpoints: every ``period`` iterations (every 5 iterations by default, as sigopt-python's XGBoost
  callback did), each evaluation result as ``"{dataset}-{metric}"`` at step = the iteration (0-based,
  as LightGBM counts), and always at the last one. The period is raised so that a run gets at most
  200 checkpoints. ``lgb.cv`` gives each result as a mean and a standard deviation: the mean is
  ``"{dataset}-{metric}"``, the deviation ``"{dataset}-{metric}-std"``.
- metrics: used as ``with SigOptCallback() as callback:``, leaving the block records the last
  iteration's checkpoint if it was not recorded, and the metrics: the values at the best iteration
  that early stopping found (the model LightGBM keeps), with ``best_iteration`` as metadata, else
  the last iteration's values. Without ``with``, the values of each recorded checkpoint are logged
  as the metrics too: LightGBM tells callbacks nothing when early stopping ends training (its
  ``EarlyStopException`` is raised by the early-stopping callback, after this one, and caught by
  the training loop, which calls no callback again), so the metrics are then those of the last
  recorded checkpoint, up to ``period - 1`` iterations before the one where training stopped.
- metadata when training ends: the 50 most used features as ``"importance/{feature}"`` (LightGBM's
  ``split`` importance).

A NaN or infinite evaluation result fails the run as ``diverged`` and stops training at that iteration,
recorded or not (by raising LightGBM's own ``EarlyStopException``): in an experiment loop the
assignment becomes a failed observation. An iteration that is not recorded costs only that check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sigopt_ai.integrations._require import require

lgb = require("lightgbm", "lightgbm", minimum="4")

from lightgbm.callback import CallbackEnv, EarlyStopException  # noqa: E402  (after the framework's check)

from sigopt_ai.integrations._run import (  # noqa: E402
    Closable,
    IntegrationRun,
    checkpoint_period,
    flag,
    importances,
    non_finite,
    positive_int,
)
from sigopt_ai.runs._run import RunContext  # noqa: E402

__all__ = ["SigOptCallback"]

# LightGBM runs callbacks by ``order``: log_evaluation is 10, record_evaluation 20, early_stopping 30.
# Before early stopping, so that the iteration where it stops training is recorded too.
ORDER = 25


class SigOptCallback(Closable):
    """Record LightGBM training into a sigopt_ai run (see the module's text for what is recorded).

    Pass it in ``callbacks=[...]`` of ``lgb.train`` or ``lgb.cv``. It records into ``run``, else the
    current run (the one an experiment loop opened), else a run it starts when training starts and
    ends after the last iteration. LightGBM calls no callback when training raises or when early
    stopping ends it: use the callback as ``with SigOptCallback() as callback:`` around training to
    record the failure (classified) or the best iteration's values, and to end the run it started;
    without ``with``, such a run stays open until the process exits.

    Args:
        run: The run to record into (default: the current run, else a new one).
        name: The name of a run the callback starts itself.
        project: The project of a run the callback starts itself.
        period: Record a checkpoint every ``period`` iterations (default 5, as sigopt-python's XGBoost
            callback; raised to keep 200 at most). The last iteration is always recorded.
        log_feature_importances: Record the 50 most used features as metadata when training ends.

    Raises:
        ValidationError: An argument breaks its rule; the message names it.

    Example:
        >>> from sigopt_ai.integrations.lightgbm import SigOptCallback
        >>> for run in experiment.loop():
        ...     with run, SigOptCallback() as callback:
        ...         lgb.train(
        ...             {"learning_rate": run.params.learning_rate, "num_leaves": run.params.num_leaves},
        ...             train, num_boost_round=100, valid_sets=[valid], valid_names=["valid"],
        ...             callbacks=[callback, lgb.early_stopping(10)],
        ...         )
        # each run has the checkpoint "valid-l2" every 5 iterations and the metric "valid-l2"
    """

    order = ORDER
    before_iteration = False

    def __init__(
        self,
        run: RunContext | None = None,
        *,
        name: str | None = None,
        project: str | None = None,
        period: int = 5,
        log_feature_importances: bool = True,
    ) -> None:
        self._integration = IntegrationRun(run, name=name, project=project, framework="lightgbm")
        self._period = positive_int(period, "period")
        self._importances = flag(log_feature_importances, "log_feature_importances")
        self._every = self._period
        self._model: Any = None
        self._scoped = False  # inside `with callback:`, which ends training's recording
        self._diverged = False  # the callback stopped training: its best_iteration is not early stopping's
        self._last: tuple[int, Sequence[Any]] | None = None  # the last iteration seen, and its results
        self._checkpointed = -1  # the last iteration recorded as a checkpoint
        self._measured = -1  # the iteration whose values are the run's metrics

    def __call__(self, env: CallbackEnv) -> None:
        """Record one iteration's results (LightGBM calls this after each iteration)."""
        iteration = env.iteration
        if iteration == env.begin_iteration or not self._integration.started:
            self._start(env)
        results = env.evaluation_result_list or ()
        self._last = (iteration, results)
        last = iteration == env.end_iteration - 1
        if not last and (iteration - env.begin_iteration + 1) % self._every and _finite(results):
            return  # not recorded: names are built for recorded iterations only
        latest = _values(results)
        finite = all(math.isfinite(v) for v in latest.values())
        self._checkpoint(iteration, latest)
        if not (self._scoped and finite):  # inside `with`, close() logs the metrics, once
            self._log_metrics(iteration, latest)
        if not finite:
            self._diverged = True
            message = f"LightGBM's result was not finite at iteration {iteration}: {non_finite(latest)}"
            self._integration.diverged(message)
            if not self._scoped:
                self._finish(None)
            # LightGBM's own way for a callback to stop training; the engine catches it.
            raise EarlyStopException(iteration, list(results))
        if last and not self._scoped:
            # Inside `with`, close() ends it: early stopping may still pick a best iteration now.
            self._finish(None)

    def _checkpoint(self, iteration: int, latest: dict[str, float]) -> None:
        self._checkpointed = iteration
        self._integration.checkpoint(latest, iteration)

    def _log_metrics(self, iteration: int, latest: dict[str, float]) -> None:
        self._measured = iteration
        # Under lgb.cv, "-std" is the spread of the mean of the same name: the metric's deviation.
        means = {name: value for name, value in latest.items() if not (name.endswith("-std") and name[:-4] in latest)}
        stddevs = {name: latest[f"{name}-std"] for name in means if f"{name}-std" in latest}
        self._integration.log_metrics(means, stddevs)

    def _start(self, env: CallbackEnv) -> None:
        integration = self._integration
        integration.begin()  # not a previous loop run that training left by raising
        self._model = env.model
        self._diverged = False
        self._last = None
        self._checkpointed = self._measured = -1
        rounds = env.end_iteration - env.begin_iteration
        self._every = checkpoint_period(rounds, self._period)
        integration.log_params({**env.params, "num_boost_round": rounds})

    def __enter__(self) -> SigOptCallback:
        self._scoped = True
        return self

    def close(self, error: BaseException | None = None) -> None:
        """Training is over: record the last iteration seen if its checkpoint is still due, the metrics
        (the best iteration's values under early stopping, else the last iteration's) and ``error``,
        and end the run if the callback started it."""
        self._scoped = False
        if self._integration.started:
            self._finish(error)

    def _finish(self, error: BaseException | None) -> None:
        integration = self._integration
        model = self._model
        best = getattr(model, "best_iteration", 0) or 0
        early = error is None and best > 0 and not self._diverged
        # Set by LightGBM after early stopping (1-based); best_score holds that iteration's values. lgb.cv's
        # CVBooster has none (the attribute is a function that calls each fold's booster): its metrics stay
        # the last iteration's.
        scores = getattr(model, "best_score", None) if early else None
        scores = scores if isinstance(scores, Mapping) else {}
        if self._last is not None:  # from close(): the iteration where training ended, stopped or failed
            iteration, results = self._last
            self._last = None
            measure = iteration != self._measured and not scores
            if iteration != self._checkpointed or measure:
                latest = _values(results)
                if iteration != self._checkpointed:
                    self._checkpoint(iteration, latest)
                if measure:
                    self._log_metrics(iteration, latest)
        if early:
            integration.log_metadata({"best_iteration": best - 1})
            integration.log_metrics({f"{d}-{m}": v for d, results in scores.items() for m, v in results.items()})
        if self._importances and isinstance(model, lgb.Booster):
            try:
                split = model.feature_importance(importance_type="split")
                integration.log_metadata(importances(dict(zip(model.feature_name(), split, strict=False))))
            except Exception:  # a model without trees: nothing to rank
                pass
        self._model = None
        integration.finish(error)


def _finite(results: Sequence[Any]) -> bool:
    """Whether each result's value (and deviation, under ``lgb.cv``) is a finite number."""
    isfinite = math.isfinite
    for result in results:
        if not isfinite(result[2]) or (len(result) > 4 and result[4] is not None and not isfinite(result[4])):
            return False
    return True


def _values(results: Sequence[Any]) -> dict[str, float]:
    """``"{dataset}-{metric}"`` for each result (and ``"-std"`` under ``lgb.cv``). A result is LightGBM's
    ``EvalResult`` or, before 4.7, a tuple in the same order."""
    values: dict[str, float] = {}
    for result in results:
        name = f"{result[0]}-{result[1]}"
        values[name] = float(result[2])
        if len(result) > 4 and result[4] is not None:
            values[f"{name}-std"] = float(result[4])
    return values

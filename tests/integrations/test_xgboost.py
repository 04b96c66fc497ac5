"""sigopt_ai.integrations.xgboost: real XGBoost training on tiny data, recorded into a real SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai import ValidationError
from sigopt_ai.integrations._run import MAX_CHECKPOINTS
from tests.conftest import run_python
from tests.integrations._examples import run_example

xgb = pytest.importorskip("xgboost")

from sigopt_ai.integrations.xgboost import SigOptCallback  # noqa: E402

QUIET = {"nthread": 1, "verbosity": 0}


def _data(rows: int = 240, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    features = rng.random((rows, 5))
    target = 3 * features[:, 0] + features[:, 1] + 0.1 * rng.random(rows)
    cut = rows * 3 // 4
    train = xgb.DMatrix(features[:cut], label=target[:cut])
    valid = xgb.DMatrix(features[cut:], label=target[cut:])
    return train, valid


def _train(callback: SigOptCallback, rounds: int = 10, **params: Any) -> Any:
    train, valid = _data()
    return xgb.train(
        {"max_depth": 3, **QUIET, **params},
        train,
        rounds,
        evals=[(train, "train"), (valid, "valid")],
        verbose_eval=False,
        callbacks=[callback],
    )


def test_an_owned_run_records_params_checkpoints_metrics_and_importances() -> None:
    _train(SigOptCallback(name="boost", num_boost_round=10), eta=0.3, eval_metric=["rmse", "mae"])

    [run] = sigopt.list_runs()
    assert run.name == "boost" and run.state == "completed" and run.ended is not None and run.failure is None
    assert run.params["eta"] == 0.3 and run.params["max_depth"] == 3 and run.params["num_boost_round"] == 10
    assert run.params["objective"] == "reg:squarederror" and run.params["eval_metric"] == "rmse,mae"
    assert "learning_rate" not in run.params  # XGBoost's alias of eta, recorded once
    assert [c.step for c in run.checkpoints] == [4, 9]  # every 5 rounds by default, as sigopt-python's callback
    assert set(run.checkpoints[0].values) == {"train-rmse", "train-mae", "valid-rmse", "valid-mae"}
    assert run.metrics["valid-rmse"] == run.checkpoints[-1].values["valid-rmse"]
    assert run.metadata["num_boosted_rounds"] == 10
    assert run.metadata["importance/f0"] >= 1  # the feature the target depends on most is split on
    assert run.model == "xgboost"


def test_the_checkpoint_period_keeps_200_at_most_and_the_last_round() -> None:
    _train(SigOptCallback(num_boost_round=450, period=2), rounds=450, eta=0.1, max_depth=1)

    [run] = sigopt.list_runs()
    steps = [c.step for c in run.checkpoints]
    assert len(steps) == 150  # max(2, ceil(450 / 200)) = 3: rounds 2, 5, ..., 449
    assert steps[:2] == [2, 5] and steps[-1] == 449


def test_the_last_round_is_recorded_off_the_period() -> None:
    _train(SigOptCallback(num_boost_round=12), rounds=12)

    [run] = sigopt.list_runs()
    assert [c.step for c in run.checkpoints] == [4, 9, 11]
    assert run.metrics["valid-rmse"] == run.checkpoints[-1].values["valid-rmse"]


def test_without_num_boost_round_the_period_doubles_to_stay_within_200() -> None:
    _train(SigOptCallback(log_feature_importances=False), rounds=600, eta=0.05, max_depth=1)

    [run] = sigopt.list_runs()
    steps = [c.step for c in run.checkpoints]
    assert len(steps) <= MAX_CHECKPOINTS and steps[-1] == 599
    assert steps[:3] == [4, 9, 14] and steps == sorted(steps)
    # 100 checkpoints (half of 200) every 5 rounds, then every 10
    assert steps[99] == 499 and steps[100] == 509
    assert "importance/f0" not in run.metadata


def test_early_stopping_records_the_best_round() -> None:
    train, valid = _data()
    history: dict[str, Any] = {}
    booster = xgb.train(
        {"eta": 0.9, "max_depth": 4, **QUIET},
        train,
        200,
        evals=[(valid, "valid")],
        early_stopping_rounds=3,
        evals_result=history,
        verbose_eval=False,
        callbacks=[SigOptCallback(num_boost_round=200)],
    )

    [run] = sigopt.list_runs()
    best = booster.best_iteration
    assert booster.num_boosted_rounds() < 200 and run.metadata["best_iteration"] == best
    assert run.metrics["valid-rmse"] == history["valid"]["rmse"][best] == run.metadata["best_score"]
    assert run.checkpoints[-1].step == booster.num_boosted_rounds() - 1  # where it stopped, off the period too
    for checkpoint in run.checkpoints:
        assert checkpoint.values["valid-rmse"] == history["valid"]["rmse"][checkpoint.step]


def test_cv_records_means_and_deviations() -> None:
    train, _ = _data()
    results = xgb.cv({"eta": 0.3, "max_depth": 2, **QUIET}, train, 8, nfold=3, callbacks=[SigOptCallback(period=4)])

    [run] = sigopt.list_runs()
    assert [c.step for c in run.checkpoints] == [3, 7]
    last = run.checkpoints[-1].values
    assert last["test-rmse"] == pytest.approx(results["test-rmse-mean"].iloc[-1])
    assert last["test-rmse-std"] == pytest.approx(results["test-rmse-std"].iloc[-1])
    assert run.metrics["test-rmse"] == pytest.approx(results["test-rmse-mean"].iloc[-1])
    assert sigopt.metric_history(run.id, "test-rmse")[-1].stddev == pytest.approx(last["test-rmse-std"])
    assert not any(key.startswith("importance/") for key in run.metadata)  # cv keeps no model


def test_the_scikit_learn_interface_names_its_eval_sets_validation_n() -> None:
    rng = np.random.default_rng(0)
    features = rng.random((200, 4))
    model = xgb.XGBRegressor(n_estimators=6, n_jobs=1, callbacks=[SigOptCallback(num_boost_round=6)])
    model.fit(features[:150], features[:150, 0], eval_set=[(features[150:], features[150:, 0])], verbose=False)

    [run] = sigopt.list_runs()
    assert (
        run.state == "completed" and [c.step for c in run.checkpoints] == [4, 5] and run.params["num_boost_round"] == 6
    )
    assert set(run.metrics) == {"validation_0-rmse"}


def test_cv_divergence_fails_the_run_and_keeps_every_result() -> None:
    train, _ = _data()
    with np.errstate(invalid="ignore"):  # numpy's std of infinite fold results, inside xgb.cv
        results = xgb.cv({"eta": 1000.0, "max_depth": 3, **QUIET}, train, 30, nfold=3, callbacks=[SigOptCallback()])

    [run] = sigopt.list_runs()
    assert run.failure is not None and run.failure.kind == "diverged" and "best_iteration" not in run.metadata
    assert len(results) == run.checkpoints[-1].step + 1 < 30


def test_a_diverging_learning_rate_fails_the_run_and_stops_training() -> None:
    booster = _train(SigOptCallback(num_boost_round=50), rounds=50, eta=1000.0)

    [run] = sigopt.list_runs()
    assert run.state == "failed" and run.failure is not None and run.failure.kind == "diverged"
    assert run.ended is not None  # the run the callback started is ended, not left open
    assert "valid-rmse=inf" in run.failure.message
    assert booster.num_boosted_rounds() < 50  # stopped at the first infinite result
    assert run.checkpoints[-1].step == booster.num_boosted_rounds() - 1


def test_a_nan_off_the_period_stops_training_at_that_round() -> None:
    # A custom metric that is NaN from round 7 on: 7 is not a recorded round (4, 9, 14, 19).
    rounds: list[int] = []

    def metric(predt: Any, dtrain: Any) -> tuple[str, float]:
        rounds.append(len(rounds))
        return "odd", float("nan") if len(rounds) > 7 else 1.0

    train, valid = _data()
    booster = xgb.train(
        {"max_depth": 2, **QUIET},
        train,
        20,
        evals=[(valid, "valid")],
        custom_metric=metric,
        verbose_eval=False,
        callbacks=[SigOptCallback(num_boost_round=20)],
    )

    [run] = sigopt.list_runs()
    assert booster.num_boosted_rounds() == 8  # rounds 0 to 7: stopped at the first NaN
    assert run.state == "failed" and run.failure is not None and run.failure.kind == "diverged"
    assert "at round 7" in run.failure.message and "valid-odd=nan" in run.failure.message
    assert [c.step for c in run.checkpoints] == [4, 7]


def test_a_training_error_inside_with_fails_and_ends_the_owned_run() -> None:
    train, _ = _data()
    with pytest.raises(xgb.core.XGBoostError), SigOptCallback() as callback:
        xgb.train({"objective": "no:such", **QUIET}, train, 3, callbacks=[callback])

    [run] = sigopt.list_runs()
    assert run.state == "failed" and run.failure is not None
    # XGBoostError is a ValueError: an objective XGBoost refuses is an invalid assignment.
    assert run.failure.kind == "invalid_assignment" and "no:such" in run.failure.message


class _RaiseAt(xgb.callback.TrainingCallback):
    def __init__(self, epoch: int, error: BaseException) -> None:
        super().__init__()
        self.epoch, self.error = epoch, error

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        if epoch == self.epoch:
            raise self.error
        return False


def test_a_failure_inside_with_records_the_last_round_seen() -> None:
    train, valid = _data()
    with pytest.raises(MemoryError), SigOptCallback(name="boom") as callback:
        callbacks = [callback, _RaiseAt(7, MemoryError("cap"))]
        xgb.train(QUIET, train, 10, evals=[(valid, "valid")], verbose_eval=False, callbacks=callbacks)
    [run] = sigopt.list_runs()
    assert run.state == "failed" and run.failure is not None and run.failure.kind == "oom"
    assert [c.step for c in run.checkpoints] == [4, 7]  # the round where it failed, off the period


def test_an_explicit_run_is_recorded_into_and_left_open() -> None:
    with sigopt.run(name="outer") as outer:
        _train(SigOptCallback(run=outer, num_boost_round=5), rounds=5)
        assert outer.state == "active"
        outer.log_metric("extra", 1.0)
    [run] = sigopt.list_runs()
    assert run.name == "outer" and run.state == "completed"
    assert run.metrics.keys() >= {"valid-rmse", "extra"} and [c.step for c in run.checkpoints] == [4]


def test_one_callback_reused_across_loop_runs_records_each_after_a_failed_one() -> None:
    experiment = sigopt.create_experiment(
        name="reuse",
        parameters=[{"name": "max_depth", "type": "int", "bounds": {"min": 1, "max": 4}}],
        metrics=[{"name": "valid-rmse", "objective": "minimize"}],
        budget=3,
    )
    callback = SigOptCallback()
    for number, run in enumerate(experiment.loop(progress=False)):
        with run:
            objective = "no:such" if number == 0 else "reg:squarederror"  # the first training raises
            _train(callback, rounds=3, objective=objective, max_depth=run.params.max_depth)
    kinds = [o.failure_kind for o in experiment.observations()]
    assert sorted(kinds, key=str) == sorted(["invalid_assignment", None, None], key=str)
    assert all("valid-rmse" in o.values for o in experiment.observations() if not o.failed)


def test_a_suggested_value_is_not_replaced_by_the_booster_config() -> None:
    with sigopt.run() as run:
        run.params.eta = 0.25
        _train(SigOptCallback(), rounds=2, eta=0.5)
    assert sigopt.get_run(run.id).params["eta"] == 0.25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": 0}, "period must be a positive int, got 0"),
        ({"period": 1.5}, "period must be a positive int"),
        ({"period": True}, "period must be a positive int"),
        ({"num_boost_round": -3}, "num_boost_round must be a positive int, got -3"),
        ({"log_feature_importances": 1}, "log_feature_importances must be True or False"),
        ({"run": "abc"}, "run must be a sigopt_ai.RunContext"),
        ({"name": ""}, "name must be a non-empty string"),
    ],
)
def test_bad_constructor_input_names_the_argument(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        SigOptCallback(**kwargs)


@settings(max_examples=40, deadline=None)
@given(period=st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=True), st.none(), st.text(max_size=3)))
def test_period_is_a_positive_int_or_refused(period: Any) -> None:
    if isinstance(period, int) and period >= 1:
        assert SigOptCallback(period=period)._period == period
    else:
        with pytest.raises(ValidationError, match="period must be a positive int"):
            SigOptCallback(period=period)


# A real allocation failure: the loop runs in a child process whose address space is capped, while it
# trains, a little above what it uses already (RLIMIT_AS). Deep trees over many bins
# need histograms the cap does not leave room for, and XGBoost raises its own XGBoostError
# "bad_malloc: Failed to allocate N bytes", which the loop records as an `oom` failed observation.
# Learning rates from about 100 up make XGBoost's float32 predictions overflow to inf within 20
# rounds: the callback fails those runs `diverged`.
_CAPPED_LOOP = """
import resource, sys
import numpy as np, xgboost as xgb
import sigopt_ai as sigopt
from sigopt_ai.integrations.xgboost import SigOptCallback

rng = np.random.default_rng(0)
features = rng.random((2000, 10)).astype(np.float32)
target = 3 * features[:, 0] + rng.random(2000)
train = xgb.DMatrix(features[:1500], label=target[:1500])
valid = xgb.DMatrix(features[1500:], label=target[1500:])
fixed = {"nthread": 1, "verbosity": 0, "max_bin": 2048}
xgb.train({**fixed, "max_depth": 2}, train, 2)  # the libraries' own first allocations happen here
exp = sigopt.create_experiment(
    name="capped", budget=10, seed=3,
    parameters=[
        {"name": "eta", "type": "double", "bounds": {"min": 0.01, "max": 10000}, "transformation": "log"},
        {"name": "max_depth", "type": "int", "bounds": {"min": 2, "max": 11}},
    ],
    metrics=[{"name": "valid-rmse", "objective": "minimize"}],
)
print(exp.id, flush=True)
unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
for run in exp.loop(progress=False):
    with run:
        pages = int(open("/proc/self/statm").read().split()[0])
        resource.setrlimit(resource.RLIMIT_AS, (pages * resource.getpagesize() + 64 * 2**20, resource.RLIM_INFINITY))
        try:
            xgb.train(
                {**fixed, "eta": run.params.eta, "max_depth": run.params.max_depth},
                train, 20, evals=[(valid, "valid")], verbose_eval=False,
                callbacks=[SigOptCallback(num_boost_round=20)],
            )
        finally:
            resource.setrlimit(resource.RLIMIT_AS, unlimited)  # the cap is the training's, not the optimizer's
"""


def test_an_experiment_loop_learns_from_real_oom_and_divergence(store: Path) -> None:
    done = run_python(_CAPPED_LOOP, env={"SIGOPT_AI_DB": str(store)}, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    experiment = sigopt.get_experiment(done.stdout.split()[0])

    observations = experiment.observations()
    assert len(observations) == 10 and experiment.progress.finished == 10 and experiment.progress.remaining == 0
    kinds = {o.failure_kind for o in observations if o.failed}
    assert kinds == {"oom", "diverged"}
    runs = {run.id: run for run in experiment.runs()}
    for observation in observations:
        run = runs[observation.run]
        if observation.failure_kind == "oom":
            assert run.failure is not None and "Failed to allocate" in run.failure.message
            assert observation.assignments["max_depth"] >= 7
        elif observation.failure_kind == "diverged":
            assert observation.assignments["eta"] > 10
            assert run.failure is not None and "inf" in run.failure.message
        else:
            assert np.isfinite(observation.values["valid-rmse"]) and run.state == "completed"
    assert any(not o.failed for o in observations)


def test_the_example_runs(tmp_path: Path) -> None:
    done = run_example("xgboost_example.py", tmp_path)
    assert "best" in done.stdout.lower() and "valid-rmse" in done.stdout

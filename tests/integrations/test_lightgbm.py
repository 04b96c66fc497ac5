"""sigopt_ai.integrations.lightgbm: real LightGBM training on tiny data, recorded into a real SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai import ValidationError
from tests.integrations._examples import run_example

lgb = pytest.importorskip("lightgbm")

from sigopt_ai.integrations.lightgbm import SigOptCallback  # noqa: E402

QUIET = {"verbosity": -1, "num_threads": 1}


def _data(rows: int = 240, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    features = rng.random((rows, 5))
    target = 3 * features[:, 0] + features[:, 1] + 0.1 + rng.random(rows)  # positive: the gamma objective's domain
    cut = rows * 3 // 4
    train = lgb.Dataset(features[:cut], target[:cut])
    return train, lgb.Dataset(features[cut:], target[cut:], reference=train)


def _train(callbacks: list[Any], rounds: int = 10, **params: Any) -> Any:
    train, valid = _data()
    return lgb.train(
        {**QUIET, **params},
        train,
        rounds,
        valid_sets=[train, valid],
        valid_names=["train", "valid"],
        callbacks=callbacks,
    )


def test_an_owned_run_records_params_checkpoints_metrics_and_importances() -> None:
    _train([SigOptCallback(name="gbm")], learning_rate=0.3, num_leaves=7)

    [run] = sigopt.list_runs()
    assert (
        run.name == "gbm"
        and run.state == "completed"
        and run.ended is not None
        and run.failure is None
        and run.model == "lightgbm"
    )
    assert run.params["learning_rate"] == 0.3 and run.params["num_leaves"] == 7 and run.params["num_boost_round"] == 10
    assert [c.step for c in run.checkpoints] == [4, 9]  # every 5 iterations by default
    assert set(run.checkpoints[0].values) == {"train-l2", "valid-l2"}
    assert run.metrics["valid-l2"] == run.checkpoints[-1].values["valid-l2"]
    assert run.metadata["importance/Column_0"] >= 1


def test_the_checkpoint_period_keeps_200_at_most_and_the_last_iteration() -> None:
    _train([SigOptCallback(period=2)], rounds=450, learning_rate=0.05, num_leaves=2)

    [run] = sigopt.list_runs()
    steps = [c.step for c in run.checkpoints]
    assert len(steps) == 150 and steps[:2] == [2, 5] and steps[-1] == 449  # period max(2, ceil(450 / 200)) = 3


def test_the_last_iteration_is_recorded_off_the_period() -> None:
    _train([SigOptCallback()], rounds=12)

    [run] = sigopt.list_runs()
    assert [c.step for c in run.checkpoints] == [4, 9, 11]
    assert run.metrics["valid-l2"] == run.checkpoints[-1].values["valid-l2"]


def test_inside_with_the_metrics_are_logged_once_when_training_ends() -> None:
    with SigOptCallback() as callback:
        _train([callback], rounds=12)

    [run] = sigopt.list_runs()
    assert [c.step for c in run.checkpoints] == [4, 9, 11] and run.state == "completed"
    history = sigopt.metric_history(run.id, "valid-l2")
    assert len(history) == 1 and run.metrics["valid-l2"] == run.checkpoints[-1].values["valid-l2"]


def test_without_with_each_recorded_checkpoint_logs_the_metrics() -> None:
    _train([SigOptCallback()], rounds=12)

    [run] = sigopt.list_runs()
    assert len(sigopt.metric_history(run.id, "valid-l2")) == 3  # at iterations 4, 9 and 11


def test_cv_early_stopping_inside_with_keeps_the_last_values_as_metrics() -> None:
    train, _ = _data()
    with SigOptCallback() as callback:
        lgb.cv(
            {**QUIET, "learning_rate": 0.9},
            train,
            200,
            nfold=3,
            stratified=False,
            callbacks=[callback, lgb.early_stopping(3, verbose=False)],
        )

    [run] = sigopt.list_runs()
    last = run.checkpoints[-1]
    assert run.state == "completed" and run.metadata["best_iteration"] == last.step - 3
    assert run.metrics["valid-l2"] == last.values["valid-l2"]  # a CVBooster has no best_score


def test_early_stopping_inside_with_records_the_best_iteration() -> None:
    train, valid = _data()
    history: dict[str, Any] = {}
    with SigOptCallback() as callback:
        booster = lgb.train(
            {**QUIET, "learning_rate": 0.9},
            train,
            200,
            valid_sets=[valid],
            valid_names=["valid"],
            callbacks=[callback, lgb.early_stopping(3, verbose=False), lgb.record_evaluation(history)],
        )

    [run] = sigopt.list_runs()
    best = booster.best_iteration - 1  # LightGBM counts it from 1, checkpoints from 0
    assert run.state == "completed" and run.metadata["best_iteration"] == best
    assert run.checkpoints[-1].step == best + 3  # the iteration where early stopping stopped is recorded
    assert run.metrics["valid-l2"] == history["valid"]["l2"][best] == booster.best_score["valid"]["l2"]
    for checkpoint in run.checkpoints:
        assert checkpoint.values["valid-l2"] == history["valid"]["l2"][checkpoint.step]


def test_early_stopping_without_with_keeps_the_latest_values_as_metrics() -> None:
    with sigopt.run() as outer:
        _train([SigOptCallback(), lgb.early_stopping(3, verbose=False)], rounds=200, learning_rate=0.9)
    run = sigopt.get_run(outer.id)
    # LightGBM tells no callback that early stopping stopped: the metrics are the last recorded checkpoint's.
    assert run.state == "completed" and run.metrics["valid-l2"] == run.checkpoints[-1].values["valid-l2"]
    assert all(c.step % 5 == 4 for c in run.checkpoints)


def test_cv_records_means_and_deviations() -> None:
    train, _ = _data()
    results = lgb.cv(
        {**QUIET, "learning_rate": 0.3}, train, 8, nfold=3, stratified=False, callbacks=[SigOptCallback(period=4)]
    )

    [run] = sigopt.list_runs()
    assert [c.step for c in run.checkpoints] == [3, 7] and run.state == "completed"
    last = run.checkpoints[-1].values
    assert last["valid-l2"] == pytest.approx(results["valid l2-mean"][-1])
    assert last["valid-l2-std"] == pytest.approx(results["valid l2-stdv"][-1])
    assert set(run.metrics) == {"valid-l2"}  # with its deviation over the folds
    assert sigopt.metric_history(run.id, "valid-l2")[-1].stddev == pytest.approx(last["valid-l2-std"])
    assert not any(key.startswith("importance/") for key in run.metadata)  # cv keeps no single model


def test_a_diverging_learning_rate_fails_the_run_and_stops_training() -> None:
    booster = _train([SigOptCallback()], rounds=30, objective="gamma", learning_rate=1e4)

    [run] = sigopt.list_runs()
    assert run.state == "failed" and run.failure is not None and run.failure.kind == "diverged"
    assert run.ended is not None  # the run the callback started is ended, not left open
    assert "valid-gamma=nan" in run.failure.message
    assert booster.current_iteration() < 30 and run.checkpoints[-1].step == booster.current_iteration() - 1


def test_a_nan_off_the_period_stops_training_at_that_iteration() -> None:
    # A custom metric that is NaN from iteration 7 on: 7 is not a recorded iteration (4, 9, 14, 19).
    iterations: list[int] = []

    def metric(predictions: Any, data: Any) -> tuple[str, float, bool]:
        iterations.append(len(iterations))  # called once per iteration: one validation set
        return "odd", float("nan") if len(iterations) > 7 else 1.0, False

    train, valid = _data()
    booster = lgb.train(
        {**QUIET, "metric": "None"},
        train,
        20,
        valid_sets=[valid],
        valid_names=["valid"],
        feval=metric,
        callbacks=[SigOptCallback()],
    )

    [run] = sigopt.list_runs()
    assert booster.current_iteration() == 8  # iterations 0 to 7: stopped at the first NaN
    assert run.state == "failed" and run.failure is not None and run.failure.kind == "diverged"
    assert "at iteration 7" in run.failure.message and "valid-odd=nan" in run.failure.message
    assert [c.step for c in run.checkpoints] == [4, 7]


def test_divergence_inside_with_records_no_best_iteration() -> None:
    with SigOptCallback() as callback:
        _train([callback], rounds=30, objective="gamma", learning_rate=1e4)
    [run] = sigopt.list_runs()
    assert run.failure is not None and run.failure.kind == "diverged" and "best_iteration" not in run.metadata


def test_the_scikit_learn_interface_names_its_eval_sets_valid_n() -> None:
    rng = np.random.default_rng(0)
    features = rng.random((200, 4))
    model = lgb.LGBMRegressor(n_estimators=6, verbosity=-1, n_jobs=1)
    model.fit(
        features[:150],
        features[:150, 0],
        eval_X=(features[150:],),
        eval_y=(features[150:, 0],),
        callbacks=[SigOptCallback()],
    )

    [run] = sigopt.list_runs()
    assert (
        run.state == "completed" and [c.step for c in run.checkpoints] == [4, 5] and run.params["num_boost_round"] == 6
    )
    assert set(run.metrics) == {"valid_0-l2"}


def test_a_training_error_inside_with_fails_and_ends_the_owned_run() -> None:
    train, valid = _data()
    with pytest.raises(lgb.basic.LightGBMError), SigOptCallback() as callback:
        lgb.train({**QUIET, "objective": "no_such"}, train, 3, callbacks=[callback])
    # LightGBM refused the objective before the first iteration: no run was started, none is left open.
    assert sigopt.list_runs() == []
    with pytest.raises(MemoryError), SigOptCallback(name="boom") as callback:
        lgb.train({**QUIET}, train, 5, valid_sets=[valid], callbacks=[callback, _raise_at(2, MemoryError("cap"))])
    [run] = sigopt.list_runs()
    assert run.name == "boom" and run.state == "failed" and run.failure is not None and run.failure.kind == "oom"
    assert [c.step for c in run.checkpoints] == [2]  # the iteration where it failed, off the period


def _raise_at(iteration: int, error: BaseException) -> Any:
    def callback(env: Any) -> None:
        if env.iteration == iteration:
            raise error

    callback.order = 40  # type: ignore[attr-defined]
    return callback


def test_an_explicit_run_is_recorded_into_and_left_open() -> None:
    with sigopt.run(name="outer") as outer:
        _train([SigOptCallback(run=outer)], rounds=5)
        assert outer.state == "active"
    run = sigopt.get_run(outer.id)
    assert run.state == "completed" and [c.step for c in run.checkpoints] == [4] and "valid-l2" in run.metrics


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": 0}, "period must be a positive int, got 0"),
        ({"period": "5"}, "period must be a positive int"),
        ({"log_feature_importances": None}, "log_feature_importances must be True or False"),
        ({"run": 3}, "run must be a sigopt_ai.RunContext"),
        ({"project": ""}, "project"),
    ],
)
def test_bad_constructor_input_names_the_argument(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SigOptCallback(**kwargs)


@settings(max_examples=30, deadline=None)
@given(flag=st.one_of(st.booleans(), st.integers(), st.none(), st.text(max_size=2)))
def test_log_feature_importances_is_a_bool_or_refused(flag: Any) -> None:
    if isinstance(flag, bool):
        SigOptCallback(log_feature_importances=flag)
    else:
        with pytest.raises(ValidationError, match="log_feature_importances must be True or False"):
            SigOptCallback(log_feature_importances=flag)


# The memory cap is declared: LightGBM keeps one histogram per leaf, about 24 bytes per feature bin
# (sums of gradients and hessians, and a count), and an assignment whose histograms would not fit a
# 3 MiB cap raises MemoryError before training, as a real allocation would. No real cap is used:
# under RLIMIT_AS LightGBM's native code crashed the process (segmentation fault) instead of raising.
# The gamma objective's log link makes predictions overflow for large learning rates: LightGBM's
# own evaluation gives NaN or inf, and the callback fails those runs `diverged`.
CAP = 3 * 2**20


def test_an_experiment_loop_learns_from_oom_and_real_divergence() -> None:
    experiment = sigopt.create_experiment(
        name="gbm",
        parameters=[
            {"name": "learning_rate", "type": "double", "bounds": {"min": 0.01, "max": 1e4}, "transformation": "log"},
            {"name": "num_leaves", "type": "int", "bounds": {"min": 2, "max": 256}},
        ],
        metrics=[{"name": "valid-gamma", "objective": "minimize"}],
        budget=10,
        seed=1,
    )
    for run in experiment.loop(progress=False):
        with run:
            train, valid = _data()
            histograms = run.params.num_leaves * 5 * 255 * 24
            if histograms > CAP:
                raise MemoryError(f"the histograms need {histograms} bytes, over the declared cap of {CAP}")
            lgb.train(
                {
                    **QUIET,
                    "objective": "gamma",
                    "learning_rate": run.params.learning_rate,
                    "num_leaves": run.params.num_leaves,
                },
                train,
                20,
                valid_sets=[valid],
                valid_names=["valid"],
                callbacks=[SigOptCallback()],
            )

    observations = experiment.observations()
    assert len(observations) == 10 and experiment.progress.finished == 10 and experiment.progress.remaining == 0
    assert {o.failure_kind for o in observations if o.failed} == {"oom", "diverged"}
    runs = {run.id: run for run in experiment.runs()}
    for observation in observations:
        if observation.failure_kind == "oom":
            assert observation.assignments["num_leaves"] * 5 * 255 * 24 > CAP
        elif observation.failure_kind == "diverged":
            assert observation.assignments["learning_rate"] > 5
            failure = runs[observation.run].failure
            assert failure is not None and "not finite" in failure.message
        else:
            assert np.isfinite(observation.values["valid-gamma"])
    assert any(not o.failed for o in observations)


def test_the_example_runs(tmp_path: Path) -> None:
    done = run_example("lightgbm_example.py", tmp_path)
    assert "best run" in done.stdout and "valid-" in done.stdout

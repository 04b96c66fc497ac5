"""sigopt-python's XGBoost helpers as ``sigopt_ai.xgboost``: real boosters trained on tiny data, and what
they recorded read back through the public API.

``run()`` records what sigopt-python's recorded (its integration_test/test_xgboost_run.py's checks), ends
the run it started (sigopt-python left it active), and leaves a run it was given or found open. In an
experiment loop, assignments that really fail (a learning rate whose boosting really overflows to
inf/NaN; a declared memory cap raising xgboost's own error class with an allocation failure's text;
an invalid value xgboost itself refuses) become failed observations of their kind.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification, make_regression

import sigopt_ai as sigopt
import sigopt_ai.xgboost
from sigopt_ai.integrations import _xgboost_compat as compat
from sigopt_ai.integrations._run import MAX_CHECKPOINTS
from tests.conftest import run_python
from tests.integrations._examples import run_example

# One thread: xgboost's default (every core) is many times slower on a busy two-core machine.
ONE = {"nthread": 1}


def _split(x: Any, y: Any, at: int) -> tuple[Any, Any]:
    return xgb.DMatrix(x[:at], label=y[:at]), xgb.DMatrix(x[at:], label=y[at:])


@pytest.fixture(scope="module")
def binary() -> tuple[Any, Any]:
    x, y = make_classification(n_samples=240, n_features=6, n_informative=4, random_state=0)
    return _split(x, y, 180)


@pytest.fixture(scope="module")
def multiclass() -> tuple[Any, Any]:
    x, y = make_classification(n_samples=240, n_features=8, n_informative=6, n_classes=3, random_state=1)
    return _split(x, y, 180)


@pytest.fixture(scope="module")
def regression() -> tuple[Any, Any]:
    x, y = make_regression(n_samples=240, n_features=6, noise=0.2, random_state=2)
    return _split(x, y, 180)


# --- run(): what is recorded -------------------------------------------------------------------------


def test_run_records_params_metrics_metadata_and_checkpoints_and_ends_its_run(binary: tuple[Any, Any]) -> None:
    dtrain, dtest = binary
    params = {"objective": "binary:logistic", "eval_metric": ["logloss", "error"], "max_depth": 3, "alpha": 0.01, **ONE}
    history: dict[str, Any] = {}
    ctx = sigopt_ai.xgboost.run(
        params,
        dtrain,
        num_boost_round=12,
        evals=[(dtrain, "train"), (dtest, "test")],
        evals_result=history,
        verbose_eval=False,
        run_options={"name": "xgb compat"},
    )
    assert isinstance(ctx, sigopt_ai.xgboost.XGBRun) and isinstance(ctx.model, xgb.Booster)
    assert ctx.model.num_boosted_rounds() == 12
    ctx.run.end()  # what sigopt-python's users wrote: harmless, the run has ended already
    record = sigopt.get_run(ctx.run.id)
    assert record.state is sigopt.RunState.COMPLETED and record.name == "xgb compat"
    # Parameters: the user's (eval_metric and objective go to metadata), num_boost_round, xgboost's defaults.
    assert record.params["max_depth"] == 3 and record.params["alpha"] == 0.01
    assert record.params["num_boost_round"] == 12
    assert record.params["eta"] == 0.3 and record.params["lambda"] == 1  # float32 "0.300000012" read as 0.3
    assert "early_stopping_rounds" not in record.params
    # Metrics: each eval set's last values, the computed ones, the training time.
    for dataset in ("train", "test"):
        for metric in ("logloss", "error"):
            assert record.metrics[f"{dataset}-{metric}"] == pytest.approx(history[dataset][metric][-1])
        for metric in compat.CLASSIFICATION_METRIC_CHOICES:
            assert 0.5 < record.metrics[f"{dataset}-{metric}"] <= 1
    labels, predicted = dtest.get_label(), np.round(ctx.model.predict(dtest))
    assert record.metrics["test-accuracy"] == pytest.approx(np.mean(labels == predicted))
    assert record.metrics["Training time"] > 0
    assert "num_boost_round_before_stopping" not in record.metrics
    # Metadata, datasets, model.
    assert record.metadata["Dataset rows"] == 180 and record.metadata["Dataset columns"] == 6
    assert record.metadata["Number of Test Sets"] == 2
    assert record.metadata["objective"] == "binary:logistic"
    assert record.metadata["eval_metric"] == str(params["eval_metric"])
    assert record.metadata["XGBoost Version"] == xgb.__version__
    assert set(record.datasets) == {"train", "test"} and record.model == "XGBoost"
    importances = {k.removeprefix("importance/"): v for k, v in record.metadata.items() if k.startswith("importance/")}
    assert importances == ctx.model.get_score(importance_type="weight")
    # Checkpoints: every 5 rounds (verbose_eval=False; SigOptCallback records each period's last round), and the last.
    assert [c.step for c in record.checkpoints] == [4, 9, 11]
    assert set(record.checkpoints[-1].values) == {"train-logloss", "train-error", "test-logloss", "test-error"}
    assert record.checkpoints[-1].values["test-logloss"] == pytest.approx(history["test"]["logloss"][-1])
    assert sigopt.list_files(record.id) == []  # verbose_eval=False printed nothing


def test_multiclass_and_regression_metrics(multiclass: tuple[Any, Any], regression: tuple[Any, Any]) -> None:
    dtrain, dtest = multiclass
    params = {"objective": "multi:softprob", "num_class": 3, "max_depth": 2, **ONE}
    ctx = sigopt_ai.xgboost.run(params, dtrain, num_boost_round=5, evals=dtest, verbose_eval=False)
    record = sigopt.get_run(ctx.run.id)
    predicted = np.argmax(ctx.model.predict(dtest), axis=1)
    assert record.metrics["TestSet-accuracy"] == pytest.approx(np.mean(predicted == dtest.get_label()))
    assert record.metadata["num_class"] == 3 and record.datasets == ("TestSet",)

    dtrain, dtest = regression
    ctx = sigopt_ai.xgboost.run({"objective": "reg:squarederror", **ONE}, dtrain, num_boost_round=5, evals=dtest)
    record = sigopt.get_run(ctx.run.id)
    errors = dtest.get_label() - ctx.model.predict(dtest)  # not rounded first, as sigopt-python did
    assert record.metrics["TestSet-mean absolute error"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-5)
    assert record.metrics["TestSet-mean squared error"] == pytest.approx(np.mean(errors**2), rel=1e-5)
    assert "TestSet-accuracy" not in record.metrics
    (stdout,) = sigopt.list_files(record.id)  # verbose_eval=True printed each round; the console got it too
    text = sigopt.read_file(stdout.id).decode()
    assert stdout.name == "stdout" and text.count("TestSet-rmse") == 5


def test_run_options_turn_the_autologging_off(binary: tuple[Any, Any]) -> None:
    dtrain, dtest = binary
    off = {key: False for key in compat.DEFAULT_RUN_OPTIONS if key.startswith("autolog")}
    params = {"objective": "binary:logistic", "eval_metric": ["logloss"], "max_depth": 2, **ONE}
    ctx = sigopt_ai.xgboost.run(params, dtrain, num_boost_round=4, evals=[(dtest, "test")], run_options=off)
    record = sigopt.get_run(ctx.run.id)
    assert record.checkpoints == ()
    assert set(record.metrics) == {"test-logloss"}
    assert dict(record.params) == {"max_depth": 2, "nthread": 1, "num_boost_round": 4}
    assert not any(key.startswith("importance/") or key.endswith("Version") for key in record.metadata)
    assert sigopt.list_files(record.id) == []  # autolog_stdout off: printed, not stored


def test_checkpoints_stay_within_200_and_follow_verbose_eval(binary: tuple[Any, Any]) -> None:
    dtrain, dtest = binary
    params = {"objective": "binary:logistic", "max_depth": 1, **ONE}
    quiet = {"autolog_metrics": False, "autolog_stdout": False, "autolog_xgboost_defaults": False}
    ctx = sigopt_ai.xgboost.run(params, dtrain, 1000, evals=[(dtest, "test")], verbose_eval=False, run_options=quiet)
    steps = [c.step for c in sigopt.get_run(ctx.run.id).checkpoints]
    assert len(steps) <= MAX_CHECKPOINTS and steps[-1] == 999
    assert steps[1] - steps[0] == math.ceil(1001 / MAX_CHECKPOINTS)  # sigopt-python's period: 6 here

    monitor = xgb.callback.EvaluationMonitor(period=3)
    ctx = sigopt_ai.xgboost.run(params, dtrain, 7, evals=[(dtest, "test")], verbose_eval=False, callbacks=[monitor])
    assert [c.step for c in sigopt.get_run(ctx.run.id).checkpoints] == [2, 5, 6]


def test_early_stopping_records_the_rounds_before_stopping() -> None:
    x = np.linspace(0, 1, 100)[:, None]
    y = (x[:, 0] >= 0.5).astype(float)  # learnt in a round or two, then nothing improves
    dtrain, dtest = xgb.DMatrix(x[::2], label=y[::2]), xgb.DMatrix(x[1::2], label=y[1::2])
    params = {"objective": "binary:logistic", "eval_metric": "error", **ONE}
    ctx = sigopt_ai.xgboost.run(params, dtrain, 100, evals=dtest, early_stopping_rounds=2, verbose_eval=False)
    record = sigopt.get_run(ctx.run.id)
    assert record.params["early_stopping_rounds"] == 2
    assert 0 < record.metrics["num_boost_round_before_stopping"] < 100
    assert record.metrics["num_boost_round_before_stopping"] == ctx.model.num_boosted_rounds()


# --- run(): which run --------------------------------------------------------------------------------


def test_a_given_run_is_recorded_into_its_params_win_and_it_stays_open(binary: tuple[Any, Any]) -> None:
    dtrain, dtest = binary
    given = sigopt.create_run(name="given")
    given.params.update({"max_depth": 3, "num_boost_round": 7})
    ctx = sigopt_ai.xgboost.run(
        {"max_depth": 9, **ONE}, dtrain, evals=[(dtest, "test")], verbose_eval=False, run_options={"run": given}
    )
    assert ctx.run is given and given.state is sigopt.RunState.ACTIVE
    config = json.loads(ctx.model.save_config())
    assert config["learner"]["gradient_booster"]["tree_train_param"]["max_depth"] == "3"
    assert ctx.model.num_boosted_rounds() == 7
    given.log_metric("after", 1.0)  # still the user's to record into and to end
    given.end()
    record = sigopt.get_run(given.id)
    assert record.params["max_depth"] == 3 and record.params["num_boost_round"] == 7
    assert record.metrics["after"] == 1.0 and record.state is sigopt.RunState.COMPLETED


def test_inside_an_open_run_it_records_there(binary: tuple[Any, Any]) -> None:
    dtrain, dtest = binary
    with sigopt.run(name="outer") as outer:
        ctx = sigopt_ai.xgboost.run({"max_depth": 2, **ONE}, dtrain, 3, evals=dtest, verbose_eval=False)
        assert ctx.run is outer and outer.state is sigopt.RunState.ACTIVE
    assert [r.name for r in sigopt.list_runs()] == ["outer"]


def test_the_run_it_started_fails_with_the_classified_kind(binary: tuple[Any, Any]) -> None:
    dtrain, _ = binary
    with pytest.raises(xgb.core.XGBoostError, match="max_depth"):
        sigopt_ai.xgboost.run({"max_depth": -1}, dtrain, 3, run_options={"name": "refused"})
    (record,) = sigopt.list_runs()
    assert record.name == "refused" and record.state is sigopt.RunState.FAILED
    assert record.failure is not None and record.failure.kind is sigopt.FailureKind.INVALID_ASSIGNMENT


def test_kwargs_xgboost_train_takes_pass_others_are_dropped_with_a_warning(regression: tuple[Any, Any]) -> None:
    dtrain, dtest = regression

    def squared_error(predt: Any, data: Any) -> tuple[Any, Any]:
        return predt - data.get_label(), np.ones_like(predt)

    with pytest.warns(RuntimeWarning, match="`not_an_argument` is not supported"):
        ctx = sigopt_ai.xgboost.run(
            {"base_score": 0.0, **ONE}, dtrain, 3, evals=dtest, verbose_eval=False, obj=squared_error, not_an_argument=1
        )
    assert ctx.model.num_boosted_rounds() == 3


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_options", "error", "named"),
    [
        ([("name", "x")], sigopt.ValidationTypeError, "run_options must be a dict"),
        ({"autolog_everything": True}, sigopt.ValidationError, "unsupported keys ['autolog_everything']"),
        ({"autolog_metrics": 1}, sigopt.ValidationTypeError, "run_options['autolog_metrics'] must be True or False"),
        ({"run": "abc"}, sigopt.ValidationTypeError, "run_options['run'] must be a sigopt_ai.RunContext"),
    ],
)
def test_bad_run_options_are_refused_naming_the_key(
    binary: tuple[Any, Any], run_options: Any, error: type[Exception], named: str
) -> None:
    with pytest.raises(error) as raised:
        sigopt_ai.xgboost.run({}, binary[0], 2, run_options=run_options)
    assert named in str(raised.value)
    assert sigopt.list_runs() == []  # refused before any run started


def test_run_and_name_together_and_bad_evals_are_refused(binary: tuple[Any, Any]) -> None:
    dtrain, _ = binary
    with sigopt.run() as given, pytest.raises(sigopt.ValidationError, match="both 'run' and 'name'"):
        sigopt_ai.xgboost.run({}, dtrain, 2, run_options={"run": given, "name": "other"})
    with pytest.raises(TypeError, match="evals must be an xgboost.DMatrix"):  # sigopt-python's test_wrong_dtrain_type
        sigopt_ai.xgboost.run({}, dtrain, 2, evals=np.zeros((5, 3)))
    with pytest.raises(TypeError, match="a name is a non-empty str"):
        sigopt_ai.xgboost.run({}, dtrain, 2, evals=[(dtrain, 3)])
    with pytest.raises(sigopt.ValidationTypeError, match="dtrain must be an xgboost.DMatrix"):
        sigopt_ai.xgboost.run({}, np.zeros((5, 3)))
    with pytest.raises(sigopt.ValidationTypeError, match="params must be a dict"):
        sigopt_ai.xgboost.run(None, dtrain)  # type: ignore[arg-type]


_OPTION_VALUES = st.one_of(st.booleans(), st.none(), st.integers(), st.text(max_size=5))


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from([*compat.DEFAULT_RUN_OPTIONS, "autolog", "Name", ""]), _OPTION_VALUES))
def test_run_options_are_accepted_exactly_when_sigopt_python_accepted_them(options: dict[str, Any]) -> None:
    unknown = set(options) - set(compat.DEFAULT_RUN_OPTIONS)
    bad_bool = any(k.startswith("autolog") and not isinstance(v, bool) for k, v in options.items() if k not in unknown)
    bad_run = options.get("run") is not None  # only a RunContext is a run, and none is drawn here
    if unknown or bad_bool or bad_run:
        with pytest.raises(sigopt.ValidationError, match=r"run_options"):
            compat.parse_run_options(options)
    else:
        parsed = compat.parse_run_options(options)
        assert parsed.keys() == compat.DEFAULT_RUN_OPTIONS.keys()
        assert all(parsed[k] == options.get(k, default) for k, default in compat.DEFAULT_RUN_OPTIONS.items())


# --- experiments ---------------------------------------------------------------------------------------


class DeclaredMemoryCap(xgb.callback.TrainingCallback):
    """A declared memory cap (no GPU, and no real allocation worth failing, on this machine): a model
    whose trees would hold more than ``cap`` nodes fails as xgboost fails when an allocation does, with
    xgboost's own error class carrying the C++ ``std::bad_alloc`` text."""

    def __init__(self, depth: int, rounds: int, cap: int) -> None:
        super().__init__()
        self.nodes = (2 ** (depth + 1) - 1) * rounds
        self.cap = cap

    def before_training(self, model: Any) -> Any:
        if self.nodes > self.cap:
            raise xgb.core.XGBoostError(f"std::bad_alloc: {self.nodes} tree nodes exceed the declared cap {self.cap}")
        return model


def test_experiment_loop_over_run_learns_from_oom_and_diverged_assignments(regression: tuple[Any, Any]) -> None:
    dtrain, dtest = regression
    exp = sigopt.create_experiment(
        name="xgb loop",
        parameters=[
            # Boosting squared error with eta over ~60 overflows float32 within 20 rounds: rmse inf, then NaN.
            {"name": "eta", "type": "double", "bounds": {"min": 0.01, "max": 1e6}, "transformation": "log"},
            {"name": "max_depth", "type": "int", "bounds": {"min": 1, "max": 10}},
        ],
        metrics=[{"name": "test-rmse", "objective": "minimize"}],
        budget=8,
        seed=3,
    )
    for run in exp.loop(progress=False):
        with run:
            cap = DeclaredMemoryCap(int(run.params["max_depth"]), rounds=20, cap=20 * 255)  # depth 8 and up
            sigopt_ai.xgboost.run(
                {"objective": "reg:squarederror", **ONE},
                dtrain,
                20,
                evals=[(dtest, "test")],
                verbose_eval=False,
                callbacks=[cap],
            )
    observations = exp.observations()
    assert len(observations) == 8 and exp.progress.finished == 8 and exp.progress.active == 0
    kinds = {o.failure_kind for o in observations if o.failed}
    assert {"oom", "diverged"} <= kinds, [(o.assignments, o.failure_kind) for o in observations]
    for o in observations:
        if o.failed:
            continue
        assert math.isfinite(o.values["test-rmse"])
        assert o.assignments["max_depth"] < 8 and o.assignments["eta"] < 100
    for record in exp.runs():
        if record.failure is not None and record.failure.kind is sigopt.FailureKind.DIVERGED:
            assert record.params["eta"] > 10 and not math.isfinite(record.metrics["test-rmse"])


def test_a_real_allocation_failure_under_a_memory_cap_is_an_oom_observation(tmp_path: Path) -> None:
    """Under a real address-space cap (RLIMIT_AS, in a fresh interpreter), an assignment whose gradient
    buffers (rows x classes) cannot be allocated fails inside xgboost with ``std::bad_alloc``: xgboost's
    own XGBoostError, which the run classifies ``oom``; the loop goes on to the next grid point."""
    code = """
import json, os, resource
import numpy as np, xgboost as xgb
import sigopt_ai as sigopt, sigopt_ai.xgboost

x = np.random.RandomState(0).rand(200, 5)
y = (x[:, 0] > 0.5).astype(float)
dtrain, dtest = xgb.DMatrix(x[:150], label=y[:150]), xgb.DMatrix(x[150:], label=y[150:])
exp = sigopt.create_experiment(
    name="memory cap",
    parameters=[{"name": "num_class", "type": "int", "grid": [2, 3, 1_000_000_000]}],
    metrics=[{"name": "test-mlogloss", "objective": "minimize"}],
    type="grid",
    budget=3,
)
used = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (used + 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
for run in exp.loop(progress=False):
    with run:  # the run's num_class goes to xgboost, as sigopt-python's run() merged run params
        sigopt_ai.xgboost.run({"objective": "multi:softprob", "nthread": 1}, dtrain, 3, evals=[(dtest, "test")], verbose_eval=False)
print(json.dumps([[o.assignments["num_class"], o.failure_kind, o.values.get("test-mlogloss")] for o in exp.observations()]))
print(json.dumps([[r.params["num_class"], r.failure and r.failure.message] for r in exp.runs()]))
"""
    done = run_python(code, env={"SIGOPT_AI_DB": str(tmp_path / "cap.db"), "OMP_NUM_THREADS": "1"}, timeout=120)
    assert done.returncode == 0, done.stderr
    observed, runs = (json.loads(line) for line in done.stdout.splitlines()[-2:])
    assert sorted(o[:2] for o in observed) == [[2, None], [3, None], [1_000_000_000, "oom"]]
    assert all(value is not None and math.isfinite(value) for n, _, value in observed if n < 100)
    assert [message for n, message in runs if n == 1_000_000_000] == ["std::bad_alloc"]


def test_experiment_completes_the_definition_and_spends_the_budget_on_real_failures(
    regression: tuple[Any, Any],
) -> None:
    dtrain, dtest = regression
    config = {
        "name": "xgb experiment",
        "parameters": [
            {"name": "eta", "bounds": {"min": 0.01, "max": 1e6}, "transformation": "log"},  # type filled in
            {"name": "subsample", "type": "double", "bounds": {"min": 0.6, "max": 1.2}},  # xgboost refuses > 1
            {"name": "max_depth"},  # type and bounds filled in: 2 to 16
        ],
        "budget": 8,
        "seed": 5,
    }
    params = {"objective": "reg:squarederror", **ONE}
    exp = sigopt_ai.xgboost.experiment(config, dtrain, [(dtest, "test")], params, num_boost_round=15)
    assert isinstance(exp, sigopt.Experiment) and exp.is_finished()
    assert exp.metadata == {"_IS_XGB_EXPERIMENT": "True"} and exp.type == "offline" and exp.parallel_bandwidth == 1
    assert [(m.name, m.objective) for m in exp.metrics] == [("test-mean squared error", "minimize")]
    depth = next(p for p in exp.parameters if p.name == "max_depth")
    assert (depth.type, depth.bounds.min, depth.bounds.max) == ("int", 2, 16)
    observations = exp.observations()
    assert len(observations) == 8 and exp.progress.finished == 8 and len(exp.runs()) == 8
    kinds = {o.failure_kind for o in observations if o.failed}
    assert {"diverged", "invalid_assignment"} <= kinds, [(o.assignments, o.failure_kind) for o in observations]
    succeeded = [o for o in observations if not o.failed]
    assert succeeded and all(math.isfinite(o.values["test-mean squared error"]) for o in succeeded)
    for record in exp.runs():
        assert record.params["num_boost_round"] == 15 and record.params["early_stopping_rounds"] == 10
        if record.failure is not None and record.failure.kind is sigopt.FailureKind.INVALID_ASSIGNMENT:
            assert record.params["subsample"] > 1 and "subsample" in record.failure.message


def test_experiment_definition_defaults_as_sigopt_python(binary: tuple[Any, Any]) -> None:
    config = compat.experiment_definition({"name": "x"}, {"objective": "binary:logistic"}, "valid", None)
    assert config["metrics"] == [{"name": "valid-accuracy", "objective": "maximize"}]
    assert [p["name"] for p in config["parameters"]] == list(compat.DEFAULT_SEARCH_PARAMS)
    assert config["parameters"][0] == {
        "name": "eta",
        "type": "double",
        "bounds": {"min": 0.001, "max": 1},
        "transformation": "log",
    }
    assert (config["budget"], config["parallel_bandwidth"], config["type"]) == (50, 1, "offline")
    regression = compat.experiment_definition({"metrics": "mean absolute error"}, {}, "TestSet", None)
    assert regression["metrics"] == [{"name": "TestSet-mean absolute error", "objective": "minimize"}]
    listed = [{"name": "F1", "objective": "maximize"}, {"name": "Training time", "strategy": "store"}]
    config = compat.experiment_definition({"metrics": listed, "parameters": [{"name": "gamma"}]}, {}, "v", 20)
    assert config["metrics"] == [{"name": "v-F1", "objective": "maximize"}, listed[1]]
    assert config["budget"] == 10 and listed[0]["name"] == "F1"  # the user's definition is not changed
    exp = sigopt.create_experiment(**config)  # what experiment() creates is a valid definition
    assert exp.metric == "v-F1"


@pytest.mark.parametrize(
    ("config", "params", "rounds", "named"),
    [
        ({"metrics": "auc"}, {}, None, "experiment_config['metrics'] must be one of"),
        ({"metrics": [{"name": "auc", "strategy": "optimize"}]}, {}, None, "The metric to optimize must be one of"),
        ({"parameters": [{"name": "eta", "type": "int"}]}, {}, None, "Parameter 'eta' has type 'int'"),
        ({"parameters": [{"name": "max_bin"}]}, {}, None, "Parameter 'max_bin' needs bounds"),
        ({"parameters": [{"name": "grow_policy"}]}, {}, None, "Parameter 'grow_policy' needs categorical_values"),
        ({"parameters": [{"name": "gamma"}]}, {"gamma": 1.0}, None, "params fixes ['gamma']"),
        ({"parameters": [{"name": "num_boost_round"}]}, {}, 30, "num_boost_round is searched"),
        ("not a dict", {}, None, "experiment_config must be a dict"),
    ],
)
def test_experiment_refuses_a_bad_definition_naming_the_field(
    binary: tuple[Any, Any], config: Any, params: dict[str, Any], rounds: int | None, named: str
) -> None:
    dtrain, dtest = binary
    with pytest.raises(sigopt.ValidationError) as raised:
        sigopt_ai.xgboost.experiment(config, dtrain, dtest, params, num_boost_round=rounds)
    assert named in str(raised.value)


def test_experiment_refuses_bad_arguments(binary: tuple[Any, Any]) -> None:
    dtrain, dtest = binary
    with pytest.raises(sigopt.ValidationError, match="evals must name at least one eval set"):
        sigopt_ai.xgboost.experiment({}, dtrain, None, {})
    with pytest.raises(sigopt.ValidationError, match=r"run_options\['name'\] cannot be given to experiment"):
        sigopt_ai.xgboost.experiment({}, dtrain, dtest, {}, run_options={"name": "mine"})
    with pytest.raises(sigopt.ValidationError, match="num_boost_round must be a positive int, got 0"):
        sigopt_ai.xgboost.experiment({}, dtrain, dtest, {}, num_boost_round=0)
    with pytest.raises(sigopt.ValidationTypeError, match="params must be a dict"):
        sigopt_ai.xgboost.experiment({}, dtrain, dtest, [("eta", 0.1)])  # type: ignore[arg-type]


_KNOWN = sorted(compat.PARAMETER_INFORMATION)


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(_KNOWN),
    st.sampled_from([None, "double", "int", "categorical", "grid"]),
    st.booleans(),
)
def test_known_parameters_are_completed_or_refused_by_name(name: str, kind: str | None, bounded: bool) -> None:
    parameter: dict[str, Any] = {"name": name}
    if kind is not None:
        parameter["type"] = kind
    if bounded:
        parameter["bounds"] = {"min": 1, "max": 2}
    info = compat.PARAMETER_INFORMATION[name]
    fillable = info["type"] != "categorical" and (bounded or "bounds" in info)
    if kind not in (None, info["type"]) or not fillable:
        with pytest.raises(sigopt.ValidationError, match=f"Parameter '{name}'"):
            compat.experiment_definition({"parameters": [parameter]}, {}, "v", None)
        return
    (completed,) = compat.experiment_definition({"parameters": [parameter]}, {}, "v", None)["parameters"]
    assert completed["type"] == info["type"]
    assert completed["bounds"] == (parameter["bounds"] if bounded else info["bounds"])


# --- packaging and the example -------------------------------------------------------------------------


def test_the_example_runs_and_sigopt_ai_xgboost_imports_xgboost_only_when_used(tmp_path: Path) -> None:
    """In a fresh interpreter, ``import sigopt_ai.xgboost`` leaves xgboost alone and a missing xgboost names
    the extra to install; then the example runs in another, without this environment's SIGOPT_ settings."""
    code = """
import sys
import sigopt_ai, sigopt_ai.xgboost
assert "xgboost" not in sys.modules, "import sigopt_ai.xgboost imported xgboost"
assert {"XGBRun", "experiment", "run"} <= set(dir(sigopt_ai.xgboost))
sys.modules["xgboost"] = None  # as if it were not installed: the first use says which extra installs it
try:
    sigopt_ai.xgboost.run
except sigopt_ai.MissingDependency as exc:
    assert 'pip install "sigopt-ai[xgboost]"' in str(exc), exc
else:
    raise AssertionError("no MissingDependency")
"""
    checked = run_python(code, env={"SIGOPT_AI_DB": str(tmp_path / "check.db")})
    assert checked.returncode == 0, checked.stderr
    done = run_example(
        "xgboost_compat_example.py", tmp_path, timeout=120, drop=[k for k in os.environ if k.startswith("SIGOPT_")]
    )
    assert "best run" in done.stdout and "test-accuracy" in done.stdout
    assert "observations 6 of 6" in done.stdout

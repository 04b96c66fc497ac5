"""The behaviour every integration shares (IntegrationRun), and the lazy, extra-naming framework import."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai.integrations._require import require
from sigopt_ai.integrations._run import MAX_CHECKPOINTS, IntegrationRun, checkpoint_period, numbers, params
from tests.conftest import run_python

FRAMEWORKS = ["xgboost", "lightgbm", "lightning", "keras", "transformers", "sklearn", "ray"]


def test_records_into_the_current_run_and_leaves_it_open() -> None:
    with sigopt.run(name="outer") as run:
        helper = IntegrationRun(framework="xgboost")
        helper.log_params({"eta": 0.1, "nthread": None, "eval_metric": ["rmse", "mae"]})
        helper.checkpoint({"valid-rmse": 0.5, "note": "text"}, step=3)
        helper.log_metrics({"valid-rmse": 0.4})
        helper.finish()
        assert helper.run is run and not helper.owned
        run.log_metric("after", 1.0)  # still open: the integration did not end the user's run
    record = sigopt.get_run(run.id)
    assert record.params == {"eta": 0.1, "eval_metric": "['rmse', 'mae']"}
    assert record.metrics == {"valid-rmse": 0.4, "after": 1.0}
    assert [(c.step, c.values) for c in record.checkpoints] == [(3, {"valid-rmse": 0.5})]
    assert record.state is sigopt.RunState.COMPLETED


def test_suggested_and_user_set_params_win_over_the_frameworks() -> None:
    exp = sigopt.create_experiment(
        name="p",
        parameters=[{"name": "eta", "type": "double", "bounds": {"min": 0.01, "max": 0.5}}],
        metrics=[{"name": "value", "objective": "minimize"}],
        budget=1,
    )
    for run in exp.loop(progress=False):
        with run:
            run.params.max_depth = 3
            helper = IntegrationRun(framework="xgboost")
            helper.log_params({"eta": 0.3, "max_depth": 6, "subsample": 1.0})  # the framework's own view
            run.log_metric("value", 1.0)
    record = exp.runs()[0]
    assert record.params["eta"] == record.assignments["eta"] != 0.3
    assert record.params["max_depth"] == 3 and record.params["subsample"] == 1.0


def test_explicit_run_wins_over_the_current_run() -> None:
    target = sigopt.create_run(name="target")
    with sigopt.run(name="current"):
        helper = IntegrationRun(target, framework="keras")
        helper.log_metrics({"acc": 0.9})
    target.end()
    assert sigopt.get_run(target.id).metrics == {"acc": 0.9}


def test_starts_and_ends_its_own_run_when_there_is_none() -> None:
    helper = IntegrationRun(name="own", project="framework-runs", framework="lightgbm")
    helper.checkpoint({"loss": 1.0})
    run_id = helper.run.id
    assert helper.owned
    helper.finish()
    sigopt.flush()
    record = sigopt.get_run(run_id)
    assert (record.name, record.project, record.state) == ("own", "framework-runs", sigopt.RunState.COMPLETED)
    assert record.model == "lightgbm"


@pytest.mark.parametrize(
    ("error", "kind"),
    [(MemoryError(), "oom"), (ValueError("bad combination"), "invalid_assignment"), (KeyError("bug"), "error")],
)
def test_a_failure_is_classified_as_when_it_leaves_a_run(error: BaseException, kind: str) -> None:
    helper = IntegrationRun(framework="lightning")
    run_id = helper.run.id
    helper.finish(error)
    record = sigopt.get_run(run_id)
    assert record.state is sigopt.RunState.FAILED and record.failure is not None
    assert record.failure.kind.value == kind


def test_a_framework_that_only_says_failed_classifies_the_exception_being_handled() -> None:
    helper = IntegrationRun(framework="lightning")
    run_id = helper.run.id
    try:
        raise MemoryError("allocating the batch")
    except MemoryError:
        helper.finish(True)  # Lightning calls finalize("failed") from inside its except block
    record = sigopt.get_run(run_id)
    assert record.failure is not None and record.failure.kind is sigopt.FailureKind.OOM


def test_a_nan_checkpoint_or_diverged_call_fails_the_run_diverged() -> None:
    with sigopt.run() as run:
        helper = IntegrationRun(framework="keras")
        assert helper.checkpoint({"loss": 0.5}) is False
        assert helper.checkpoint({"loss": float("nan")}) is True
    assert sigopt.get_run(run.id).failure.kind is sigopt.FailureKind.DIVERGED  # type: ignore[union-attr]
    with sigopt.run() as other:
        IntegrationRun(framework="keras").diverged("loss was nan at epoch 2")
    failure = sigopt.get_run(other.id).failure
    assert failure is not None and failure.kind is sigopt.FailureKind.DIVERGED and "epoch 2" in failure.message


def test_logging_into_an_ended_run_never_stops_training(caplog: pytest.LogCaptureFixture) -> None:
    with sigopt.run() as run:
        helper = IntegrationRun(framework="xgboost")
        helper.start()
    with caplog.at_level(logging.WARNING, logger="sigopt_ai.integrations"):
        helper.log_metrics({"late": 1.0})  # the run ended before the framework's last callback
        helper.checkpoint({"late": 1.0})
    assert "could not record" in caplog.text and caplog.text.count("could not record") == 1
    assert "late" not in sigopt.get_run(run.id).metrics


def test_bad_constructor_input_names_the_field() -> None:
    with pytest.raises(sigopt.ValidationTypeError, match="run must be a sigopt_ai.RunContext"):
        IntegrationRun("run-id", framework="x")  # type: ignore[arg-type]
    with pytest.raises(sigopt.ValidationError, match="project"):
        IntegrationRun(project="", framework="x")
    with pytest.raises(sigopt.ValidationError, match="name"):
        IntegrationRun(name="x" * 1000, framework="x")


def test_numbers_and_params_keep_what_a_run_can_hold() -> None:
    assert numbers({"a": np.float32(0.5), "b": "0.1", "c": None, "d": [1.0], "": 1.0, "e": np.int64(3)}) == {
        "a": 0.5,
        "e": 3.0,
    }
    assert math.isnan(numbers({"loss": float("nan")})["loss"])
    assert params({"lr": np.float64(0.1), "layers": (64, 32), "cb": None, 3: "x", "flag": True}) == {
        "lr": 0.1,
        "layers": "(64, 32)",
        "flag": True,
    }


@pytest.mark.parametrize(
    ("total", "period", "expected"), [(None, 5, 5), (100, 1, 1), (1000, 1, 5), (1001, 1, 6), (10_000, 100, 100)]
)
def test_checkpoint_period_bounds_the_count(total: int | None, period: int, expected: int) -> None:
    got = checkpoint_period(total, period)
    assert got == expected
    if total:
        assert math.ceil(total / got) <= MAX_CHECKPOINTS


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.binary(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.one_of(st.text(), st.integers()), _values, max_size=6))
def test_hostile_values_never_raise_and_what_is_kept_is_recordable(values: dict[object, object]) -> None:
    kept_params = params(values)  # type: ignore[arg-type]
    kept_numbers = numbers(values)  # type: ignore[arg-type]
    with sigopt.run() as run:
        run.params.update(kept_params)  # what the helper keeps, the run accepts
        run.log_checkpoint({k: v for k, v in kept_numbers.items() if math.isfinite(v)})
    assert set(kept_params) <= {k for k in values if isinstance(k, str)}


@pytest.mark.parametrize("extra", FRAMEWORKS)
def test_a_missing_framework_names_the_extra_to_install(extra: str) -> None:
    module = {"sklearn": "sklearn", "ray": "ray.tune"}.get(extra, extra)
    result = run_python(
        f"""
        import sys
        sys.modules[{module.partition(".")[0]!r}] = None  # as if it were not installed
        import sigopt_ai
        try:
            import sigopt_ai.integrations.{extra}
        except sigopt_ai.MissingDependency as exc:
            assert isinstance(exc, ImportError)
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert f'pip install "sigopt-ai[{extra}]"' in result.stdout


def test_importing_the_package_or_the_integrations_imports_no_framework() -> None:
    result = run_python(
        "import sys, json, sigopt_ai, sigopt_ai.integrations, sigopt_ai.integrations._run;"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = set(json.loads(result.stdout))
    assert not loaded & {"xgboost", "lightgbm", "lightning", "keras", "transformers", "sklearn", "ray", "torch"}


def test_require_raises_missing_dependency_with_the_minimum_version() -> None:
    with pytest.raises(sigopt.MissingDependency, match=r"needs no_such_framework>=1\.2.*sigopt-ai\[nosuch\]"):
        require("no_such_framework.sub", "nosuch", minimum="1.2")

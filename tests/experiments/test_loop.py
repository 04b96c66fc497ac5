"""The optimization loop on the embedded store: observations, failures, guards, best runs."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest

import sigopt_ai as sigopt

PARAMETERS = [
    dict(name="lr", type="double", bounds=dict(min=1e-4, max=1.0), transformation="log"),
    dict(name="width", type="int", bounds=dict(min=16, max=512)),
    dict(name="activation", type="categorical", categorical_values=["relu", "tanh"]),
]


def make(budget: int = 10, **options) -> sigopt.Experiment:  # type: ignore[no-untyped-def]
    options.setdefault("type", "random")
    return sigopt.create_experiment(
        name="tune",
        project="exp",
        parameters=PARAMETERS,
        metrics=[dict(name="error", objective="minimize")],
        budget=budget,
        seed=3,
        **options,
    )


def error(lr: float) -> float:
    return abs(math.log10(lr) + 2.0)


def test_loop_turns_runs_into_observations_until_the_budget() -> None:
    exp = make(budget=8)
    seen = []
    for run in exp.loop(progress=False):
        with run:
            assert run.params.is_fixed("lr")
            seen.append(dict(run.params))
            run.log_metric("error", error(run.params.lr))
    assert len(seen) == 8
    progress = exp.progress
    assert (progress.budget, progress.finished, progress.failed, progress.active, progress.remaining) == (
        8,
        8,
        0,
        0,
        0,
    )
    observations = exp.observations()
    assert [o.assignments for o in observations] == seen
    runs = exp.runs()
    assert len(runs) == 8 and all(r.experiment == exp.id and r.state is sigopt.RunState.COMPLETED for r in runs)
    best = exp.best_runs()
    assert len(best) == 1
    assert best[0].metrics["error"] == min(error(s["lr"]) for s in seen)
    assert exp.is_finished()
    assert list(exp.loop(progress=False)) == []


def test_assignment_failures_become_failed_observations_and_the_loop_goes_on() -> None:
    exp = make(budget=12)
    kinds = []
    for run in exp.loop(progress=False):
        with run:
            if run.params.width > 380:
                bytearray(1 << 55)  # a real MemoryError from the allocator
            if run.params.lr > 0.1:
                run.log_metric("error", float("nan"))  # diverged: never raises
            elif run.params.activation == "tanh" and run.params.width < 64:
                raise sigopt.InvalidAssignment("tanh needs width >= 64")
            else:
                run.log_metric("error", error(run.params.lr))
        kinds.append(run.failure.kind.value if run.failure else "ok")
    observations = exp.observations()
    assert len(observations) == 12
    failed = [o for o in observations if o.failed]
    assert failed, "the seed must produce failures"
    assert {o.failure_kind for o in failed} <= {"oom", "diverged", "invalid_assignment"}
    assert sorted(o.failure_kind or "ok" for o in observations) == sorted(kinds)
    for o in failed:
        assert o.values == {}
        record = sigopt.get_run(o.run)  # type: ignore[arg-type]
        assert record.state is sigopt.RunState.FAILED
    assert exp.progress.failed == len(failed)
    assert sum(exp.progress.failed_by_kind.values()) == len(failed)


def test_a_repeating_bug_stops_the_loop_after_three_runs() -> None:
    exp = make(budget=20)
    calls = 0
    with pytest.raises(sigopt.ExperimentStopped, match="the same error ended 3 runs in a row") as stopped:
        for run in exp.loop(progress=False):
            with run:
                calls += 1
                run.params.lr + "oops"  # type: ignore[operator]  # a TypeError: a bug
    assert calls == 3
    assert "TypeError" in str(stopped.value)
    progress = exp.progress
    assert progress.finished == 0 and progress.active == 0  # the budget was not burnt
    assert all(r.failure and r.failure.kind is sigopt.FailureKind.ERROR for r in exp.runs())


def test_identical_failures_of_the_first_three_runs_stop_the_loop() -> None:
    exp = make(budget=20)
    with pytest.raises(sigopt.ExperimentStopped, match="the first 3 runs failed identically"):
        for run in exp.loop(progress=False):
            with run:
                raise MemoryError("the model does not fit at all")
    assert exp.progress.failed == 3  # assignment failures still count against the budget


def test_interrupt_releases_the_suggestion_and_propagates() -> None:
    exp = make(budget=3)
    with pytest.raises(KeyboardInterrupt):
        for run in exp.loop(progress=False):
            with run:
                interrupted = dict(run.params)
                raise KeyboardInterrupt
    assert exp.progress.finished == 0 and exp.progress.active == 0
    loop = exp.loop(progress=False)
    first = next(loop)
    with first:
        assert dict(first.params) == interrupted  # the same suggestion, served again
        first.log_metric("error", 1.0)
    loop.close()
    assert sigopt.get_run(run.id).failure.kind is sigopt.FailureKind.INTERRUPTED  # type: ignore[union-attr]


def test_infrastructure_failure_is_served_again_without_stopping() -> None:
    exp = make(budget=3)
    served = []
    for run in exp.loop(progress=False):
        with run:
            served.append(dict(run.params))
            if len(served) == 1:
                raise ConnectionResetError("lost the parameter server")
            run.log_metric("error", 0.5)
    assert served[0] == served[1]
    assert len(exp.observations()) == 3 and not any(o.failed for o in exp.observations())


def test_leaving_the_loop_gives_the_unfinished_suggestion_back() -> None:
    exp = make(budget=2)
    for run in exp.loop(progress=False):
        abandoned = dict(run.params)
        break
    assert exp.progress.active == 0 and exp.progress.finished == 0
    assert sigopt.get_run(run.id).failure.kind is sigopt.FailureKind.INTERRUPTED  # type: ignore[union-attr]
    assert dict(exp.suggest().assignments) == abandoned


def test_runs_missing_the_metric_give_the_suggestion_back_and_stop_the_loop_after_three() -> None:
    exp = make(budget=8)
    with (
        pytest.warns(
            RuntimeWarning, match=r"without the experiment's metric\(s\) \['error'\]; it logged \['valloss'\]"
        ),
        pytest.raises(sigopt.ExperimentStopped, match="3 runs in a row completed without") as stopped,
    ):
        for run in exp.loop(progress=False):
            with run:
                run.log_metric("valloss", 0.9)  # a misspelt metric name: a bug, not a result
    assert "['error']" in str(stopped.value) and "['valloss']" in str(stopped.value)
    assert exp.observations() == [] and exp.progress.remaining == 8  # no budget spent
    runs = exp.runs()
    assert len(runs) == 3
    assert all(r.state is sigopt.RunState.FAILED and r.failure.kind is sigopt.FailureKind.MISSING_METRIC for r in runs)  # type: ignore[union-attr]


def test_optimize_with_a_decorated_and_a_plain_function() -> None:
    @sigopt.run
    def train(lr: float, width: int, activation: str) -> float:
        sigopt.log_metadata("activation_seen", activation)
        return error(lr)

    exp = make(budget=6)
    best = exp.optimize(train, progress=False)
    runs = exp.runs()
    assert len(runs) == 6  # the decorator recorded into the experiment's runs, no nested runs
    assert len(sigopt.list_runs(project="exp")) == 6
    assert all(r.metrics["error"] == pytest.approx(error(r.params["lr"])) for r in runs)
    assert best[0].metrics["error"] == min(r.metrics["error"] for r in runs)

    exp2 = make(budget=4)
    exp2.optimize(lambda lr, width, activation: {"error": error(lr), "width_used": width}, progress=False)
    assert all(not o.failed and set(o.values) == {"error"} for o in exp2.observations())


def test_core_style_suggest_and_observe() -> None:
    exp = make(budget=3)
    s1 = exp.suggest()
    assert set(s1.assignments) == {"lr", "width", "activation"}
    exp.observe(s1, values={"error": 0.3})
    s2 = exp.suggest()
    exp.observe(s2.id, failed=True)
    s3 = exp.suggest()
    exp.observe(s3, values=[{"name": "error", "value": 0.1}])
    with pytest.raises(sigopt.UsageError, match="no budget left"):
        exp.suggest()
    with pytest.raises(sigopt.UsageError, match="is not open"):
        exp.observe(s3, values={"error": 0.2})
    assert [o.failed for o in exp.observations()] == [False, True, False]
    assert exp.best_observations()[0].values == {"error": 0.1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(failed=True, values={"error": 1.0}), "a failed observation cannot have values"),
        (dict(), "an observation needs values unless failed=True"),
        (dict(values={"loss": 1.0}), r"\['loss'\] are not metrics of this experiment"),
    ],
)
def test_observe_validation(kwargs, message) -> None:  # type: ignore[no-untyped-def]
    exp = make(budget=2)
    with pytest.raises(sigopt.ValidationError, match=message):
        exp.observe(exp.suggest(), **kwargs)


def test_two_metrics_give_a_pareto_front_and_thresholds_filter() -> None:
    exp = sigopt.create_experiment(
        name="pareto",
        parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
        metrics=[
            dict(name="acc", objective="maximize"),
            dict(name="latency", objective="minimize"),
            dict(name="mem", objective="minimize", strategy="constraint", threshold=10),
        ],
        budget=5,
        type="random",
    )
    points = [(0.9, 5.0, 1.0), (0.8, 3.0, 1.0), (0.7, 4.0, 1.0), (0.95, 1.0, 50.0), (0.85, 2.0, 1.0)]
    for acc, latency, mem in points:
        exp.observe(exp.suggest(), values={"acc": acc, "latency": latency, "mem": mem})
    front = [(o.values["acc"], o.values["latency"]) for o in exp.best_observations()]
    assert front == [(0.9, 5.0), (0.85, 2.0)]  # (0.95, 1.0) breaks the mem threshold; (0.8,3) is dominated


def test_another_handle_attaches_and_archive_stops_the_loop() -> None:
    exp = make(budget=10)
    same = sigopt.get_experiment(exp.id)
    assert same.definition == exp.definition and same.name == "tune" and same.project == "exp"
    same.archive()
    assert list(exp.loop(progress=False)) == []
    with pytest.raises(sigopt.ValidationError, match="There is no experiment with id '999'"):
        sigopt.get_experiment("999")


def test_experiment_from_a_sigopt_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "experiment.yml"
    path.write_text(
        "name: From YAML\n"
        "metrics:\n  - name: accuracy\n    objective: maximize\n"
        "parameters:\n  - name: lr\n    type: double\n    bounds: {min: 1.0e-4, max: 0.1}\n    transformation: log\n"
        "budget: 2\n"
    )
    exp = sigopt.create_experiment(file=path, project="yaml")
    assert exp.name == "From YAML" and exp.budget == 2
    for run in exp.loop(progress=False):
        with run:
            run.log_metric("accuracy", 1 - run.params.lr)
    assert exp.progress.finished == 2


def test_bad_definition_raises_at_create() -> None:
    with pytest.raises(sigopt.ValidationError, match="bounds"):
        sigopt.create_experiment(
            name="bad", parameters=[dict(name="x", type="double")], metrics=[dict(name="m")], budget=3
        )
    with pytest.raises(sigopt.ValidationError, match="lease_timeout"):
        make(lease_timeout=0)


def test_progress_line_shows_failures_by_kind_and_best(capsys: pytest.CaptureFixture[str]) -> None:
    exp = make(budget=3)
    for i, run in enumerate(exp.loop()):
        with run:
            if i == 0:
                raise MemoryError("cap")
            run.log_metric("error", 0.25 * i)
    err = capsys.readouterr().err
    assert "tune 3/3 done" in err and "1 failed (oom 1)" in err and "best error 0.25" in err and "finished" in err


def test_bayesian_default_strategy_runs_in_the_loop() -> None:
    exp = sigopt.create_experiment(
        name="bo",
        parameters=PARAMETERS[:1],
        metrics=[dict(name="error", objective="minimize")],
        budget=12,
        seed=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for run in exp.loop(progress=False):
            with run:
                run.log_metric("error", error(run.params.lr))
    assert exp.best_observations()[0].values["error"] < 0.3


def test_the_optimizer_is_told_why_each_run_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    from sigopt_ai.optimizer import BayesianOptimizer

    told: list[list[str | None]] = []
    real_suggest = BayesianOptimizer.suggest

    def spy(self, observations, pending, *, index):  # type: ignore[no-untyped-def]
        told.append([o.failure_kind for o in observations])
        return real_suggest(self, observations, pending, index=index)

    monkeypatch.setattr(BayesianOptimizer, "suggest", spy)
    exp = make(budget=10, type="offline")
    for run in exp.loop(progress=False):
        with run:
            if run.params.width > 300:
                bytearray(1 << 55)
            run.log_metric("error", float("nan") if run.params.lr > 0.05 else error(run.params.lr))
    stored = [o.failure_kind for o in exp.observations()]
    assert {"oom", "diverged"} <= set(stored), "the seed must produce both kinds"
    # The last suggestion saw every earlier observation with the kind the store recorded.
    assert told[-1] == stored[: len(told[-1])] and len(told[-1]) == len(stored) - 1

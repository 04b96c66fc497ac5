"""sigopt-python's module-level names, called as its users call them, on a real store (and the ones that
write through a backend, through a live server too)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sigopt_ai as sigopt
from sigopt_ai import _version
from sigopt_ai.exception import (
    ApiException,
    ConflictingProjectException,
    ConnectionException,
    ProjectNotFoundException,
    SigOptException,
)
from tests.live_server import LiveServer

X = [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}]

# --- coercion, as sigopt-python's sanitize_number ------------------------------------------------


def test_metric_values_take_float_as_sigopt_python_coerces_them() -> None:
    with sigopt.create_run(name="coerced") as run:
        sigopt.log_metric("acc", "0.9", stddev="0.01")  # type: ignore[arg-type]
        sigopt.log_metric("flag", True)
        sigopt.log_metrics({"f1": "0.5"}, recall=False)  # type: ignore[dict-item]
        sigopt.log_checkpoint({"loss": "1.5"})  # type: ignore[dict-item]
    record = sigopt.get_run(run.id)
    assert record.metrics == {"acc": 0.9, "flag": 1.0, "f1": 0.5, "recall": 0.0}
    assert record.metric_stddevs == {"acc": 0.01}
    assert record.checkpoints[0].values == {"loss": 1.5}
    assert record.state is sigopt.RunState.COMPLETED


def test_text_that_is_not_a_number_is_still_refused_naming_the_metric() -> None:
    with sigopt.create_run(name="strict") as run:
        with pytest.raises(sigopt.ValidationTypeError, match="metric 'acc' must be a number, got 'high'"):
            sigopt.log_metric("acc", "high")  # type: ignore[arg-type]
        with pytest.raises(sigopt.ValidationTypeError, match="checkpoint metric 'loss' must be a number"):
            run.log_checkpoint({"loss": "low"})  # type: ignore[dict-item]
    assert sigopt.get_run(run.id).metrics == {}


def test_nan_given_as_text_is_stored_and_fails_the_run_diverged() -> None:
    # sigopt-python raises for NaN; this library keeps it and fails the run (README migration table).
    with sigopt.create_run(name="nan") as run:
        sigopt.log_metric("loss", "nan")  # type: ignore[arg-type]
    record = sigopt.get_run(run.id)
    assert math.isnan(record.metrics["loss"])
    assert record.failure is not None and record.failure.kind is sigopt.FailureKind.DIVERGED


def test_settings_and_observations_still_take_numbers_only() -> None:
    with pytest.raises(sigopt.ValidationTypeError, match="lease_timeout must be a number"):
        sigopt.create_experiment(name="e", parameters=X, metrics=["m"], lease_timeout="5")  # type: ignore[arg-type]


# --- create_run, get_run_id, records -------------------------------------------------------------


def test_create_run_takes_sigopt_pythons_name_and_metadata() -> None:
    run = sigopt.create_run("legacy", {"framework": "xgboost", "depth": 3})
    assert sigopt.get_run_id() is None  # created, not entered: module-level calls have no run
    with run:
        assert sigopt.get_run_id() == run.id
        run.params.lr = 0.1
        run.log_metric("loss", 0.25, stddev=0.5)
    record = sigopt.get_run(run.id)
    assert record.name == "legacy"
    assert record.metadata == {"framework": "xgboost", "depth": 3}
    assert record.assignments == {"lr": 0.1}
    assert record.values["loss"].value == 0.25
    assert record.values["loss"].value_stddev == 0.5
    assert record.values["loss"].name == "loss"


def test_log_model_takes_sigopt_pythons_type_keyword() -> None:
    with sigopt.create_run() as run:
        sigopt.log_model(type_="xgboost")
        with pytest.raises(sigopt.ValidationError, match="model type: give it once"):
            run.log_model("a", type_="b")
    assert sigopt.get_run(run.id).model == "xgboost"
    with sigopt.create_run() as other:
        other.log_model(type_="lightgbm")
    assert sigopt.get_run(other.id).model == "lightgbm"


def test_examples_franke_function_is_sigopt_pythons() -> None:
    from sigopt_ai.examples import FRANKE_EXPERIMENT_DEFINITION, franke_function

    assert franke_function(0.2, 0.2) == pytest.approx(1.2185807041679817)
    assert franke_function(0.7, 0.3) == pytest.approx(0.6136367282612284)
    exp = sigopt.create_experiment(metrics=["value"], **FRANKE_EXPERIMENT_DEFINITION)
    assert [p.name for p in exp.parameters] == ["x", "y"]


def test_create_run_with_bad_metadata_records_no_run() -> None:
    with pytest.raises(sigopt.ValidationTypeError, match="metadata must be a mapping"):
        sigopt.create_run(metadata=["framework"])  # type: ignore[arg-type]
    with pytest.raises(sigopt.ValidationError, match="metadata key must be 1 to 100"):
        sigopt.create_run(metadata={"": 1})
    assert sigopt.list_runs() == []


def test_create_run_in_a_project() -> None:
    with sigopt.create_run(name="elsewhere", project="other") as run:
        pass
    assert sigopt.get_run(run.id).project == "other"


# --- projects ------------------------------------------------------------------------------------


def test_create_project_makes_it_the_default_and_a_second_call_conflicts() -> None:
    project = sigopt.create_project("mnist", name="MNIST digits")
    assert (project.id, project.name) == ("mnist", "MNIST digits")
    assert sigopt.get_default_project() == "mnist"
    with sigopt.create_run() as run:
        pass
    assert sigopt.get_run(run.id).project == "mnist"
    with pytest.raises(ConflictingProjectException, match="project: the project with id 'mnist' already exists"):
        sigopt.create_project()
    # sigopt-python's users catch it and go on; it is one of ours too.
    assert issubclass(ConflictingProjectException, sigopt.ValidationError)


def test_create_project_of_the_default_project_is_named_by_its_id() -> None:
    project = sigopt.create_project()
    assert (project.id, project.name) == ("tests", "tests")  # SIGOPT_PROJECT of the test fixture


def test_set_project_overrides_the_environment_and_is_checked() -> None:
    assert sigopt.get_default_project() == "tests"
    sigopt.set_project("vision")
    assert sigopt.get_default_project() == sigopt.config.project == "vision"
    exp = sigopt.create_aiexperiment(name="e", parameters=X, metrics=[{"name": "m"}])
    assert exp.project == "vision"
    with pytest.raises(sigopt.ValidationError, match="project must be 1 to 100 lower-case"):
        sigopt.set_project("Not Valid")
    assert sigopt.get_default_project() == "vision"


def test_set_project_inside_a_run_warns_that_the_run_keeps_its_project() -> None:
    with sigopt.create_run() as run:
        with pytest.warns(UserWarning, match="set_project does not move the run"):
            sigopt.set_project("later")
    assert sigopt.get_run(run.id).project == "tests"
    assert sigopt.get_default_project() == "later"


# --- archiving -----------------------------------------------------------------------------------


def test_archive_and_unarchive_run() -> None:
    with sigopt.create_run(name="old") as old:
        pass
    with sigopt.create_run(name="new") as new:
        pass
    sigopt.archive_run(old.id)
    assert [r.id for r in sigopt.list_runs()] == [new.id]
    assert sigopt.get_run(old.id).archived
    sigopt.unarchive_run(old.id)
    assert {r.id for r in sigopt.list_runs()} == {old.id, new.id}
    assert not sigopt.get_run(old.id).archived


def test_archiving_a_run_that_does_not_exist_names_it() -> None:
    with pytest.raises(sigopt.ValidationError, match="run id: there is no run with id 'nope'"):
        sigopt.archive_run("nope")
    with pytest.raises(sigopt.ValidationTypeError, match="run id must be a string"):
        sigopt.unarchive_run(7)  # type: ignore[arg-type]


def make_experiment(budget: int = 4) -> sigopt.Experiment:
    return sigopt.create_aiexperiment(
        name="archive me",
        parameters=[{"name": "x", "type": "int", "bounds": {"min": 0, "max": 9}}],
        metrics=[{"name": "y", "objective": "maximize"}],
        budget=budget,
        type="random",
    )


def test_archive_aiexperiment_with_its_runs_and_unarchive_it() -> None:
    exp = make_experiment()
    with exp.create_run() as run:
        run.log_metric("y", 1.0)
    sigopt.archive_aiexperiment(exp.id, include_runs=True)
    assert sigopt.get_aiexperiment(exp.id).state == "deleted"
    assert exp.is_finished()
    assert sigopt.list_runs() == []
    assert sigopt.get_run(run.id).archived
    sigopt.unarchive_aiexperiment(exp.id)
    assert sigopt.get_aiexperiment(exp.id).state == "active"
    with exp.create_run() as again:  # it serves suggestions again while budget remains
        again.log_metric("y", 2.0)
    assert exp.progress.finished == 2


def test_archive_experiment_leaves_its_runs_listed() -> None:
    exp = make_experiment()
    with exp.create_run() as run:
        run.log_metric("y", 1.0)
    sigopt.archive_experiment(exp.id)
    sigopt.unarchive_experiment(exp.id)
    sigopt.archive_experiment(exp.id)
    assert [r.id for r in sigopt.list_runs()] == [run.id]
    with pytest.raises(sigopt.UsageError, match="no suggestion to serve"):
        exp.create_run()


def test_archiving_an_experiment_that_does_not_exist_names_it() -> None:
    with pytest.raises(sigopt.ValidationError, match="There is no experiment with id '999'"):
        sigopt.archive_experiment("999")
    with pytest.raises(sigopt.ValidationError, match="There is no experiment with id 999"):
        sigopt.unarchive_aiexperiment(999)  # type: ignore[arg-type]
    with pytest.raises(sigopt.ValidationTypeError, match="include_runs must be True or False"):
        sigopt.archive_experiment("1", include_runs="yes")  # type: ignore[arg-type]


# --- upload_runs ---------------------------------------------------------------------------------


def integration_test_body(n: int) -> dict[str, Any]:
    """sigopt-python's integration_test/test_sigopt.py builds its uploads like this."""
    return {
        "name": f"batch-{n}",
        "assignments": {"x": n, "y": n * n},
        "values": {"r0": dict(value=n * n + n), "r1": dict(value=n**2)},
        "state": "completed" if (n % 2 == 0) else "failed",
    }


@pytest.mark.parametrize(("n", "max_batch_size"), [(10, 3), (11, 2), (11, 20)])
def test_upload_runs_as_sigopt_pythons_integration_test(n: int, max_batch_size: int) -> None:
    uploaded = sigopt.upload_runs([integration_test_body(i) for i in range(n)], max_batch_size)
    assert len(uploaded) == n
    stored = {r.id: r for r in sigopt.list_runs()}
    assert set(stored) == {r.id for r in uploaded}
    for i, run in enumerate(uploaded):
        record = stored[run.id]
        assert record.name == f"batch-{i}"
        assert record.assignments == {"x": i, "y": i * i}
        assert (record.values["r0"].value, record.values["r1"].value) == (i * i + i, i**2)
        assert record.state is (sigopt.RunState.COMPLETED if i % 2 == 0 else sigopt.RunState.FAILED)
        if i % 2:
            assert record.failure is not None and record.failure.kind is sigopt.FailureKind.REPORTED


def test_upload_runs_takes_what_a_local_run_context_records() -> None:
    # sigopt-python's LocalRunContext.get() after log_metric, log_metadata, params, log_model...
    body = {
        "name": "offline",
        "assignments": {"lr": 0.1, "optimizer": "adam"},
        "values": {"loss": {"value": 0.2, "value_stddev": 0.01}},
        "metadata": {"host": "gpu-1", "epochs": 3},
        "datasets": {"mnist": {}},
        "model": {"type": "xgboost"},
        "assignments_meta": {"lr": {"source": "manual"}},
        "logs": {"stdout": {"content": "ok"}},
    }
    [run] = sigopt.upload_runs([body])
    record = sigopt.get_run(run.id)
    assert record.state is sigopt.RunState.COMPLETED  # a body without state describes a finished run
    assert record.project == "tests"
    assert record.params == {"lr": 0.1, "optimizer": "adam"}
    assert record.metrics == {"loss": 0.2} and record.metric_stddevs == {"loss": 0.01}
    assert record.metadata == {"host": "gpu-1", "epochs": 3}
    assert record.datasets == ("mnist",)
    assert record.model == "xgboost"


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([{"name": "a"}, {"values": {"loss": {"value": "low"}}}], r"runs\[2\]: training_run.values\['loss'\].value"),
        ([{"bogus": 1}], r"runs\[1\].'bogus': not a field of a training run"),
        ([{"assignments": {"lr": [1]}}], r"runs\[1\]: training_run.assignments\['lr'\]"),
        ([{"assignments": {"lr": math.inf}}], r"runs\[1\]: training_run.assignments\['lr'\] must be a finite"),
        ([{"state": "running"}], r"runs\[1\]: training_run.state: expected one of"),
        ([{"values": {"loss": {"value": 1, "value_stddev": -1}}}], r"training_run.values\['loss'\].value_stddev"),
        ([{"name": "x" * 101}], r"runs\[1\]: name must be at most 100"),
        ([{"project": "Bad Project"}], r"runs\[1\]: training_run.project must be"),
        (["not a body"], r"runs\[1\] must be a training run body"),
        ({"name": "a"}, "runs must be a list of training run bodies"),
    ],
)
def test_a_bad_body_is_named_and_nothing_is_stored(runs: Any, message: str) -> None:
    with pytest.raises(sigopt.ValidationError, match=message):
        sigopt.upload_runs([integration_test_body(0), *runs] if isinstance(runs, list) else runs)
    assert sigopt.list_runs() == []


def test_max_batch_size_is_checked() -> None:
    with pytest.raises(sigopt.ValidationError, match="max_batch_size must be from 1 to 10,000"):
        sigopt.upload_runs([], 0)
    with pytest.raises(sigopt.ValidationTypeError, match="max_batch_size must be an int"):
        sigopt.upload_runs([], 2.5)  # type: ignore[arg-type]


# --- config, VERSION, exceptions -----------------------------------------------------------------


def test_config_tells_the_settings_in_force(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sigopt.config.api_url is None
    assert sigopt.config.db == str(store)
    monkeypatch.delenv("SIGOPT_API_TOKEN", raising=False)
    assert sigopt.config.api_token is None
    monkeypatch.setenv("SIGOPT_API_TOKEN", "tok")
    assert sigopt.config.api_token == "tok"
    assert sigopt.config.cell_tracking_enabled is False
    sigopt.config.set_user_agent_info(["xgboost", "1.0"])
    assert sigopt.config.get_user_agent_info() == ["xgboost", "1.0"]


def test_version_and_sigopt_pythons_exception_names() -> None:
    assert sigopt.VERSION == sigopt.__version__ == _version.__version__
    assert SigOptException is sigopt.SigOptError
    assert ApiException is sigopt.BackendRejected
    assert ConnectionException is sigopt.TransportError
    assert ApiException(404, "gone").status_code == 404
    assert issubclass(ProjectNotFoundException, SigOptException)
    assert sigopt.exception.ConflictingProjectException is ConflictingProjectException


# --- the same through a live server --------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(str(tmp_path_factory.mktemp("server") / "server.db")) as live:
        yield live


def test_projects_archives_and_uploads_through_a_server(server: LiveServer, tmp_path: Path) -> None:
    sigopt.configure(api_url=server.api_url, api_token=server.token, spool=tmp_path / "spool.db")
    try:
        project = sigopt.create_project("served", name="Through HTTP")
        assert (project.id, project.name) == ("served", "Through HTTP")
        with pytest.raises(ConflictingProjectException):
            sigopt.create_project("served")
        uploaded = sigopt.upload_runs([integration_test_body(i) for i in range(5)], 2)
        assert sigopt.get_run(uploaded[3].id).values["r0"].value == 12
        sigopt.archive_run(uploaded[0].id)
        assert {r.id for r in sigopt.list_runs("served")} == {r.id for r in uploaded[1:]}
        sigopt.unarchive_run(uploaded[0].id)
        assert len(sigopt.list_runs("served")) == 5
        exp = make_experiment()
        sigopt.archive_experiment(exp.id)
        assert sigopt.get_experiment(exp.id).state == "deleted"
        sigopt.unarchive_experiment(exp.id)
        assert sigopt.get_experiment(exp.id).state == "active"
    finally:
        sigopt.configure(api_url="")

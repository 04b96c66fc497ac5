"""An experiment as sigopt-python's ``AIExperimentContext`` offers it: its definition as attribute objects,
progress under SigOpt's names, ``create_run``, ``get_runs``/``get_best_runs``, ``refresh`` and ``update``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sigopt_ai as sigopt
from tests.live_server import LiveServer

PARAMETERS: list[dict[str, Any]] = [
    {"name": "lr", "type": "double", "bounds": {"min": 0.001, "max": 0.1}},
    {"name": "depth", "type": "int", "bounds": {"min": 1, "max": 8}},
    {"name": "act", "type": "categorical", "categorical_values": ["relu", "tanh"]},
]


def make(budget: int = 3, **options: Any) -> sigopt.Experiment:
    return sigopt.create_aiexperiment(
        name="compat",
        parameters=PARAMETERS,
        metrics=[{"name": "accuracy", "objective": "maximize"}],
        budget=budget,
        parallel_bandwidth=2,
        metadata={"team": "vision"},
        type="random",
        **options,
    )


def test_the_definition_reads_as_sigopt_pythons_objects() -> None:
    exp = make()
    assert [p.name for p in exp.parameters] == ["lr", "depth", "act"]
    assert (exp.parameters[0].bounds.min, exp.parameters[0].bounds.max) == (0.001, 0.1)
    assert exp.parameters[1].type == "int"
    assert [v.name for v in exp.parameters[2].categorical_values] == ["relu", "tanh"]
    assert exp.parameters[0].categorical_values is None  # a field SigOpt has, absent here
    assert (exp.metrics[0].name, exp.metrics[0].objective) == ("accuracy", "maximize")
    assert exp.state == "active" == sigopt.ExperimentState.ACTIVE.value
    assert f"state {exp.state}" == "state active"  # printed as sigopt-python prints it
    assert exp.parallel_bandwidth == 2
    assert exp.observation_budget == exp.budget == 3
    assert exp.conditionals == [] and exp.linear_constraints == []
    assert exp.metadata == {"team": "vision"}
    assert exp.num_solutions == 1
    assert exp.type == "random"


def test_the_attribute_objects_are_views_not_the_stored_definition() -> None:
    exp = make()
    parameters = exp.parameters
    parameters[0].bounds.min = 0.5  # sigopt-python's objects can be edited, to send to update()
    assert parameters[0].to_json()["bounds"]["min"] == 0.5
    assert exp.parameters[0].bounds.min == 0.001
    assert sigopt.get_aiexperiment(exp.id).parameters[0].bounds.min == 0.001
    exp.metadata["team"] = "audio"
    assert sigopt.get_aiexperiment(exp.id).metadata == {"team": "vision"}


def test_progress_has_sigopt_pythons_counts() -> None:
    exp = make(budget=3)
    progress = exp.progress
    assert (progress.remaining_budget, progress.total_run_count, progress.finished_run_count) == (3, 0, 0)
    run = exp.create_run()
    with run:
        during = exp.progress
        assert (during.active_run_count, during.total_run_count, during.remaining_budget) == (1, 1, 2)
        run.log_metric("accuracy", 0.5)
    after = exp.progress
    assert (after.finished_run_count, after.active_run_count, after.remaining_budget) == (1, 0, 2)
    assert (after.observation_count, after.observation_budget_consumed, after.observation_budget) == (1, 1, 3)


def test_create_run_holds_a_suggestion_and_is_observed_when_it_ends() -> None:
    exp = make(budget=2)
    with exp.create_run(name="first", metadata={"gpu": "a100"}) as run:
        assert set(run.params) == {"lr", "depth", "act"}
        assert run.params.is_fixed("lr")
        with pytest.raises(sigopt.ValidationError, match="suggested by the experiment"):
            run.params.lr = 1.0
        sigopt.log_metric("accuracy", 0.75)  # module-level calls record into the entered run
    [observation] = exp.observations()
    assert observation.values == {"accuracy": 0.75} and observation.run == run.id
    record = sigopt.get_run(run.id)
    assert record.name == "first"
    assert record.metadata == {"gpu": "a100"}
    assert record.experiment == exp.id
    assert record.assignments == dict(run.params)


def test_a_failed_assignment_is_a_failed_observation_and_a_bug_gives_the_suggestion_back() -> None:
    exp = make(budget=2)
    with exp.create_run() as failed:
        failed.log_failure("too deep")
    assert exp.observations()[0].failed
    buggy = exp.create_run()
    with pytest.raises(KeyError):  # no loop goes on here: the exception propagates
        with buggy:
            dict[str, int]()["missing"]
    assert len(exp.observations()) == 1  # the suggestion went back, no budget spent
    assert sigopt.get_run(buggy.id).failure.kind is sigopt.FailureKind.ERROR  # type: ignore[union-attr]
    with exp.create_run() as again:
        assert again.params.as_dict() == buggy.params.as_dict()  # served again
        again.log_metric("accuracy", 0.5)
    assert exp.is_finished()


def test_create_run_with_no_budget_left_is_refused() -> None:
    exp = make(budget=1)
    with exp.create_run() as run:
        run.log_metric("accuracy", 0.1)
    with pytest.raises(sigopt.UsageError, match="has no suggestion to serve"):
        exp.create_run()
    with pytest.raises(sigopt.ValidationError, match="metadata key must be 1 to 100"):
        exp.create_run(metadata={"": 1})


def test_sigopt_pythons_loop_over_create_run() -> None:
    # AIExperimentContext.loop() is `while not is_finished(): yield create_run()`.
    exp = make(budget=3)
    while not exp.is_finished():
        with exp.create_run() as run:
            run.log_metric("accuracy", run.params.lr)  # type: ignore[arg-type]
    runs = exp.get_runs()
    assert len(runs) == 3 and all(r.state is sigopt.RunState.COMPLETED for r in runs)
    [best] = exp.get_best_runs()
    assert best.values["accuracy"].value == max(r.values["accuracy"].value for r in runs)


def test_refresh_sees_what_another_handle_changed() -> None:
    exp = make()
    other = sigopt.get_aiexperiment(exp.id)
    other.update(name="renamed", metadata={"team": "audio"})
    assert exp.name == "compat"
    exp.refresh()
    assert (exp.name, exp.metadata) == ("renamed", {"team": "audio"})
    sigopt.archive_aiexperiment(exp.id)
    exp.refresh()
    assert exp.state == "deleted"


def test_update_changes_name_metadata_and_state_and_returns_the_experiment() -> None:
    exp = make()
    assert exp.update(state="deleted") is exp
    assert exp.state == "deleted" and exp.is_finished()
    exp.update(state="active", name="back", budget=3, parallel_bandwidth=2, project=exp.project, id=exp.id)
    assert (exp.state, exp.name) == ("active", "back")
    assert not exp.is_finished()


def test_update_takes_the_definition_read_back_and_refuses_an_edited_one() -> None:
    # sigopt-python's integration test sends exp.parameters back with the name; unchanged, they pass.
    exp = make()
    exp.update(name="same space", parameters=exp.parameters, metrics=exp.metrics, budget=exp.budget)
    assert exp.name == "same space"
    edited = exp.metrics
    edited[0].objective = "minimize"
    with pytest.raises(sigopt.ValidationError, match="metrics: an experiment's metrics cannot change"):
        exp.update(metrics=edited)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"type": "offline"}, sigopt.ValidationError, "type: an experiment's type cannot change"),
        ({"budget": 0}, sigopt.ValidationError, "budget"),
        ({"budget": 4, "observation_budget": 5}, sigopt.ValidationError, "observation_budget: this is an alias"),
        ({"parallel_bandwidth": "two"}, sigopt.ValidationError, "parallel_bandwidth"),
        ({"parameters": []}, sigopt.ValidationError, "parameters: "),
        ({"state": "paused"}, sigopt.ValidationError, "state: expected one of"),
        ({"state": 1}, sigopt.ValidationTypeError, "state: expected one of"),
        ({"name": ""}, sigopt.ValidationError, "name"),
        ({"metadata": {"k": [1]}}, sigopt.ValidationError, "metadata"),
    ],
)
def test_update_refuses_what_cannot_change_naming_it(
    fields: dict[str, object], error: type[sigopt.SigOptError], message: str
) -> None:
    exp = make()
    with pytest.raises(error, match=message):
        exp.update(**fields)
    exp.refresh()
    assert (exp.name, exp.metadata, exp.state) == ("compat", {"team": "vision"}, "active")
    assert (exp.budget, exp.parallel_bandwidth) == (3, 2)


def test_update_changes_the_budget_and_parallel_bandwidth_as_sigopt_pythons_integration_test() -> None:
    exp = make(budget=1)
    with exp.create_run() as run:
        run.log_metric("accuracy", 0.5)
    assert exp.is_finished()
    exp.update(name="more", budget=3, parallel_bandwidth=4)
    assert (exp.name, exp.budget, exp.observation_budget, exp.parallel_bandwidth) == ("more", 3, 3, 4)
    assert sigopt.get_aiexperiment(exp.id).budget == 3
    assert exp.progress.remaining_budget == 2 and not exp.is_finished()
    for run in exp.loop(progress=False):
        with run:
            run.log_metric("accuracy", 0.1)
    assert exp.progress.finished == 3
    exp.update(observation_budget=2)  # below what is done: nothing is left, nothing is undone
    assert exp.progress.remaining_budget == 0 and exp.progress.finished == 3


def test_refresh_of_an_experiment_gone_from_its_store_says_so() -> None:
    exp = make()
    sigopt.configure(db=str(sigopt.config.db) + ".other")
    with pytest.raises(sigopt.ValidationError, match="There is no experiment with id"):
        exp.refresh()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(str(tmp_path_factory.mktemp("server") / "server.db")) as live:
        yield live


def test_the_same_through_a_server(server: LiveServer, tmp_path: Path) -> None:
    sigopt.configure(api_url=server.api_url, api_token=server.token, spool=tmp_path / "spool.db")
    try:
        exp = make(budget=2)
        assert exp.parameters[0].bounds.max == 0.1
        with exp.create_run(metadata={"where": "server"}) as run:
            run.log_metric("accuracy", 0.5)
        assert exp.progress.finished_run_count == 1
        [stored] = exp.get_runs()
        assert (stored.id, stored.metadata) == (run.id, {"where": "server"})
        assert [r.id for r in exp.get_best_runs()] == [run.id]
        sigopt.get_aiexperiment(exp.id).update(name="via http", state="deleted")
        exp.refresh()
        assert (exp.name, exp.state) == ("via http", "deleted")
        exp.update(state="active", budget=3, parallel_bandwidth=3)
        assert (exp.state, exp.budget, exp.parallel_bandwidth) == ("active", 3, 3)
        assert sigopt.get_aiexperiment(exp.id).progress.remaining_budget == 2
    finally:
        sigopt.configure(api_url="")

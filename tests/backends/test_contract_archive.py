"""The backend contract for archiving and projects: on SQLite, PostgreSQL and a real server over HTTP.

An archived run leaves ``list_runs`` and is still read by id, marked ``archived``; archiving is
undone by ``archive_run(id, False)``. An archived experiment serves nothing until it is unarchived.
A project is created once; ``get_project`` names one by its id unless it was given a name.
"""

from __future__ import annotations

from sigopt_ai._models import ExperimentState, Op
from sigopt_ai.backends import Backend
from tests.backends.test_contract_experiments import create


def start(run_id: str, created: float, project: str = "p", experiment: str | None = None) -> Op:
    return ("start", run_id, project, f"run {run_id}", created, experiment, None)


def test_an_archived_run_leaves_the_lists_and_is_still_read(backend: Backend) -> None:
    backend.write([start("r1", 1.0), start("r2", 2.0), start("r3", 3.0, project="q")])
    assert backend.archive_run("r2") is True
    assert [r.id for r in backend.list_runs()] == ["r3", "r1"]
    assert [r.id for r in backend.list_runs(project="p")] == ["r1"]
    assert [r.id for r in backend.list_runs(limit=1)] == ["r3"]
    archived = backend.read_run("r2")
    assert archived is not None and archived.archived is True
    live = backend.read_run("r1")
    assert live is not None and live.archived is False


def test_unarchiving_brings_a_run_back(backend: Backend) -> None:
    backend.write([start("r1", 1.0), start("r2", 2.0)])
    assert backend.archive_run("r1") and backend.archive_run("r1")  # twice is the same
    assert backend.archive_run("r1", False) is True
    assert [r.id for r in backend.list_runs()] == ["r2", "r1"]
    run = backend.read_run("r1")
    assert run is not None and run.archived is False


def test_an_archived_run_keeps_recording(backend: Backend) -> None:
    backend.write([start("r1", 1.0)])
    backend.archive_run("r1")
    backend.write([("metric", "r1", "loss", 0.5, None, 2.0), ("end", "r1", "completed", 3.0)])
    run = backend.read_run("r1")
    assert run is not None and run.archived and run.metrics == {"loss": 0.5} and run.state.is_finished()


def test_archiving_no_run_is_false(backend: Backend) -> None:
    assert backend.archive_run("no-such-run") is False
    assert backend.archive_run("no-such-run", False) is False
    assert backend.archive_run("") is False


def test_archived_runs_of_an_experiment_leave_its_list(backend: Backend) -> None:
    experiment = create(backend)
    backend.write([start("r1", 1.0, experiment=experiment.id), start("r2", 2.0, experiment=experiment.id)])
    backend.archive_run("r2")
    assert [r.id for r in backend.list_runs(experiment=experiment.id)] == ["r1"]


def test_an_unarchived_experiment_serves_again(backend: Backend) -> None:
    experiment = create(backend, budget=2)
    backend.archive_experiment(experiment.id)
    assert backend.serve_suggestion(experiment.id, run_id=None) is None
    backend.unarchive_experiment(experiment.id)
    record = backend.get_experiment(experiment.id)
    assert record is not None and record.state is ExperimentState.ACTIVE
    assert backend.serve_suggestion(experiment.id, run_id=None) is not None
    assert backend.serve_suggestion(experiment.id, run_id=None) is not None
    assert backend.serve_suggestion(experiment.id, run_id=None) is None  # the budget still holds


def test_unarchiving_an_active_experiment_changes_nothing(backend: Backend) -> None:
    experiment = create(backend)
    backend.unarchive_experiment(experiment.id)
    assert backend.get_experiment(experiment.id) == experiment


def test_a_project_is_created_once(backend: Backend) -> None:
    assert backend.get_project("vision") is None
    assert backend.create_project("vision", "Vision models") is True
    assert backend.create_project("vision", "Another name") is False
    project = backend.get_project("vision")
    assert project is not None and (project.id, project.name) == ("vision", "Vision models")
    assert project.created > 0


def test_a_project_without_a_name_is_named_by_its_id(backend: Backend) -> None:
    assert backend.create_project("plain") is True
    project = backend.get_project("plain")
    assert project is not None and project.name == "plain"


def test_a_project_a_run_started_in_exists(backend: Backend) -> None:
    backend.write([start("r1", 1.0, project="implicit")])
    assert backend.create_project("implicit") is False
    project = backend.get_project("implicit")
    assert project is not None and project.name == "implicit"

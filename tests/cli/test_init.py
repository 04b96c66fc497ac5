"""``sigopt-ai init``: templates that the other commands accept, and existing files kept."""

from __future__ import annotations

from pathlib import Path

from sigopt_ai.cli._runfile import load_run_file
from sigopt_ai.experiments import create_experiment
from tests.cli.conftest import sigopt_ai, write


def test_init_writes_run_yml_and_experiment_yml_that_the_commands_accept(store: Path, work: Path) -> None:
    result = sigopt_ai("init", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Wrote run.yml", "Wrote experiment.yml"]
    run_file = load_run_file(work / "run.yml")
    assert run_file.name == "My Run" and run_file.run == "python model.py"
    experiment = create_experiment(file=work / "experiment.yml")
    assert experiment.name == "My Experiment" and experiment.budget == 10
    assert [p.name for p in experiment.definition.parameters] == ["learning_rate", "layers"]


def test_init_keeps_existing_files_and_says_so_unless_forced(store: Path, work: Path) -> None:
    write(work, "run.yml", "name: mine\n")
    result = sigopt_ai("init", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Kept run.yml: it already exists (sigopt-ai init --force replaces it).",
        "Wrote experiment.yml",
    ]
    assert (work / "run.yml").read_text() == "name: mine\n"
    forced = sigopt_ai("init", "--force", store=store, cwd=work)
    assert forced.stdout.splitlines() == ["Replaced run.yml", "Replaced experiment.yml"]
    assert load_run_file(work / "run.yml").name == "My Run"


def test_init_refuses_a_directory_in_the_way(store: Path, work: Path) -> None:
    (work / "run.yml").mkdir()
    result = sigopt_ai("init", store=store, cwd=work)
    assert result.returncode == 1
    assert "run.yml already exists and is not a file" in result.stderr

"""``sigopt-ai create experiment``, ``experiments list|show``, ``archive|unarchive``, the tables at 80
columns, and the messages for bad run.yml and experiment.yml files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai.cli import main
from sigopt_ai.cli._runfile import command_argv, load_run_file
from tests.cli.conftest import experiment_file, sigopt_ai, write


def invoke(*args: str, cwd: Path) -> Result:
    """Argument and file checks only: nothing here starts a command."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        return CliRunner().invoke(main, list(args), env={"COLUMNS": "80"})


def test_create_experiment_prints_how_to_start_workers(store: Path, work: Path) -> None:
    experiment_file(work, budget=4)
    result = sigopt_ai("create", "experiment", "-p", "tuning", store=store, cwd=work)
    assert result.returncode == 0, result.stderr
    [experiment_id] = re.findall(r"Created experiment (\S+)\.", result.stdout)
    assert f"sigopt-ai start-worker {experiment_id} -- python model.py" in result.stdout
    experiment = sigopt.get_experiment(experiment_id)
    assert (experiment.name, experiment.project, experiment.budget) == ("cli-test", "tuning", 4)


def test_create_project_as_sigopt_python_does(store: Path, work: Path) -> None:
    result = invoke("create", "project", "-p", "tutorial", "--project-name", "The Tutorial", cwd=work)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Project 'tutorial' created."
    assert "export SIGOPT_PROJECT='tutorial'" in result.output
    again = invoke("create", "project", "-p", "tutorial", cwd=work)
    assert again.exit_code != 0 and "tutorial" in again.output  # sigopt-python: ConflictingProjectException
    bad = invoke("create", "project", "-p", "Not A Project", cwd=work)
    assert bad.exit_code == 2 and "'Not A Project'" in bad.output


def test_experiments_list_and_show(store: Path, work: Path) -> None:
    experiment = sigopt.create_experiment(file=experiment_file(work, budget=3), project="listing")
    suggestion = experiment.suggest()
    experiment.observe(suggestion, values={"accuracy": 0.75})
    listed = invoke("experiments", "list", "-p", "listing", cwd=work)
    assert listed.exit_code == 0, listed.output
    assert re.search(rf"│ {experiment.id} +│ cli-test +│ listing +│ active +│ 1/3 ", listed.output)
    shown = invoke("experiments", "show", experiment.id, cwd=work)
    assert shown.exit_code == 0, shown.output
    assert "accuracy (maximize)" in shown.output and "double [0.001, 0.1]" in shown.output
    assert "int [1, 4]" in shown.output
    assert "1 observations, 0 failed, budget 3." in shown.output
    missing = invoke("experiments", "show", "999", cwd=work)
    assert missing.exit_code == 2 and "no experiment with id '999'" in missing.output


def test_run_ids_never_wrap_at_80_columns(store: Path, work: Path) -> None:
    ids = []
    for index in range(3):
        with sigopt.run(name=f"a rather long run name number {index} that must fold", project="wide") as run:
            run.log_metrics(accuracy=0.9, loss=0.123456, learning_rate_schedule_factor=0.5)
        ids.append(run.id)
    result = invoke("runs", "list", "-p", "wide", cwd=work)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for run_id in ids:
        assert re.search(rf"^│ {run_id} │", result.output, re.MULTILINE), result.output


def test_archive_and_unarchive_runs_and_experiments(store: Path, work: Path) -> None:
    runs = []
    for _ in range(2):
        with sigopt.run(project="archiving") as run:
            run.log_metric("accuracy", 0.5)
        runs.append(run.id)
    archived = invoke("archive", "run", *runs, cwd=work)
    assert archived.exit_code == 0, archived.output
    assert archived.output.splitlines() == [f"Archived run {run_id}" for run_id in runs]
    assert sigopt.list_runs("archiving") == []
    assert invoke("unarchive", "run", "-p", "archiving", runs[0], cwd=work).exit_code == 0  # sigopt-python's -p
    assert [r.id for r in sigopt.list_runs("archiving")] == [runs[0]]
    unknown = invoke("archive", "run", "nope", cwd=work)
    assert unknown.exit_code == 2 and "run nope:" in unknown.output

    experiment = sigopt.create_experiment(file=experiment_file(work, budget=3))
    assert invoke("archive", "experiment", experiment.id, cwd=work).exit_code == 0
    assert experiment.is_finished()  # archived: it serves nothing
    assert invoke("unarchive", "experiment", experiment.id, cwd=work).exit_code == 0
    assert not experiment.is_finished()


# -- bad input: the message names the file and the field -------------------------------------------


@pytest.mark.parametrize(
    ("run_yml", "message"),
    [
        ("run: 5\n", "Run file 'run.yml': field 'run' must be a command line"),
        ("run: []\n", "Run file 'run.yml': field 'run' must be a command line"),
        ("name: 7\nrun: python model.py\n", "Run file 'run.yml': field 'name': name must be a non-empty string"),
        ("run: python model.py\nepochs: 3\n", "Run file 'run.yml': unknown field(s) ['epochs']"),
        ("resources: 3\nrun: x\n", "Run file 'run.yml': field 'resources' must be a mapping"),
        ("- just\n- a list\n", "Run file 'run.yml' must hold a mapping of run fields, got ['just', 'a list'] (list)"),
        ("run: [unclosed\n", "Run file 'run.yml' is not valid YAML"),
    ],
)
def test_a_bad_run_yml_is_refused_naming_the_file_and_the_field(work: Path, run_yml: str, message: str) -> None:
    write(work, "run.yml", run_yml)
    result = invoke("run", cwd=work)
    assert result.exit_code == 2
    assert message in result.output
    assert sigopt.list_runs() == []  # refused before any run was made


def test_a_named_run_file_must_exist(work: Path) -> None:
    result = invoke("run", "-r", "missing.yml", "true", cwd=work)
    assert result.exit_code == 2 and "Run file 'missing.yml' does not exist" in result.output


def test_a_missing_command_is_a_usage_error(work: Path) -> None:
    result = invoke("run", cwd=work)
    assert result.exit_code == 2 and "Missing command" in result.output


def test_optimize_needs_an_existing_experiment_yml(work: Path) -> None:
    result = invoke("optimize", "python", "model.py", cwd=work)
    assert result.exit_code == 2 and "'experiment.yml' does not exist" in result.output


@pytest.mark.parametrize(
    ("experiment_yml", "message"),
    [
        ("[]\n", "Experiment file 'experiment.yml' must hold a mapping of experiment fields"),
        (
            "name: x\nmetrics: [{name: a}]\nparameters: [{name: lr, type: double, bounds: {min: 2, max: 1}}]\n",
            "Experiment file 'experiment.yml': parameters[0].bounds",
        ),
        ("name: x\nproject: p\n", "Experiment file 'experiment.yml' sets 'project'"),
    ],
)
def test_a_bad_experiment_yml_is_refused_naming_the_file_and_the_field(
    work: Path, experiment_yml: str, message: str
) -> None:
    write(work, "experiment.yml", experiment_yml)
    for args in (("optimize", "true"), ("create", "experiment")):
        result = invoke(*args, cwd=work)
        assert result.exit_code == 2, result.output
        assert message in result.output


_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.dictionaries(st.sampled_from(["name", "run", "image", "resources", "other"]), _yaml_values))
def test_any_run_yml_loads_or_is_refused_with_a_validation_error_naming_the_file(
    work: Path, document: dict[str, object]
) -> None:
    path = work / "any.yml"
    path.write_text(yaml.safe_dump(document))
    try:
        loaded = load_run_file(path)
    except sigopt.ValidationError as exc:
        assert str(exc).startswith("Run file ")
        return
    assert loaded.run is None or isinstance(loaded.run, (str, tuple))
    assert command_argv(("true",), loaded) == ["true"]

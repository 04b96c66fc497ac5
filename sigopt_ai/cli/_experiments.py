"""``sigopt-ai create experiment``, ``experiments list|show`` and ``archive|unarchive experiment|run``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

import sigopt_ai as sigopt
from sigopt_ai import _config
from sigopt_ai._definition import Metric, Parameter
from sigopt_ai._models import ExperimentRecord
from sigopt_ai.cli._errors import CliError, errors
from sigopt_ai.cli._options import experiment_file_option, project_option
from sigopt_ai.cli._summary import format_value, summary_lines
from sigopt_ai.cli._tables import table_with_ids, when
from sigopt_ai.runs._session import get_session


def start_worker_help(experiment_id: str) -> str:
    """What to run next for a new experiment."""
    return f"""Created experiment {experiment_id}.

Start workers for it (each runs the command for one suggestion at a time):
  sigopt-ai start-worker {experiment_id} -- python model.py

Or from Python:
  import sigopt_ai as sigopt
  experiment = sigopt.get_experiment({experiment_id!r})
  for run in experiment.loop():
      with run:
          ...
"""


def _progress(record: ExperimentRecord) -> str:
    progress = get_session().backend.progress(record.id)
    if progress is None:
        return "-"
    budget = "" if progress.budget is None else f"/{progress.budget}"
    failed = f" ({progress.failed} failed)" if progress.failed else ""
    return f"{progress.finished}{budget}{failed}"


def register(main: click.Group) -> None:
    """Add ``create``, ``experiments``, ``archive`` and ``unarchive`` to ``main``."""

    @main.group()
    def create() -> None:
        """Create projects and experiments."""

    @create.command("project")
    @click.option("-p", "--project", help="The project's id (default: SIGOPT_PROJECT, else the directory's name).")
    @click.option("--project-name", help="Its display name (default: its id).")
    @errors
    def create_project(project: str | None, project_name: str | None) -> None:
        """Create a project (an existing one is an error, as in sigopt-python)."""
        created = sigopt.create_project(project, project_name)
        click.echo(f"Project {created.id!r} created.")
        click.echo("To use this project, set the SIGOPT_PROJECT environment variable:")
        click.echo(f"> export SIGOPT_PROJECT={created.id!r}")

    @create.command("experiment")
    @experiment_file_option
    @project_option
    @errors
    def create_experiment(experiment_file: str, project: str | None) -> None:
        """Create the experiment of experiment.yml, and say how to start workers for it."""
        experiment = sigopt.create_experiment(file=experiment_file, project=project)
        click.echo(start_worker_help(experiment.id))

    @main.group()
    def experiments() -> None:
        """Inspect experiments."""

    @experiments.command("list")
    @click.option("--project", "-p", help="Only experiments of this project.")
    @click.option("--limit", "-n", default=50, show_default=True, help="How many experiments to show.")
    @errors
    def experiments_list(project: str | None, limit: int) -> None:
        """List experiments, newest first."""
        if project is not None:
            _config.check_project(project)
        sigopt.flush()
        records = get_session().backend.list_experiments(project=project, limit=limit)
        table = table_with_ids(
            f"Experiments{f' in {project}' if project else ''}",
            [r.id for r in records],
            ("name", "project", "state", "observations", "created"),
        )
        for record in records:
            table.add_row(
                record.id, record.name, record.project, record.state.value, _progress(record), when(record.created)
            )
        Console().print(table)

    @experiments.command("show")
    @click.argument("experiment_id")
    @errors
    def experiments_show(experiment_id: str) -> None:
        """Show one experiment: its definition, progress and best assignments."""
        experiment = sigopt.get_experiment(experiment_id)
        record = get_session().backend.get_experiment(experiment.id)
        assert record is not None  # get_experiment raised otherwise
        table = Table(title=f"Experiment {experiment.id}", show_header=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        definition = experiment.definition
        rows = [
            ("name", experiment.name),
            ("project", experiment.project),
            ("state", record.state.value),
            ("created", when(record.created)),
            ("observations", _progress(record)),
            ("metrics", ", ".join(_metric(m) for m in definition.metrics)),
        ]
        rows += [(f"parameter {p.name}", _parameter(p)) for p in definition.parameters]
        for field, value in rows:
            table.add_row(field, value)
        Console().print(table)
        click.echo("\n".join(summary_lines(experiment, experiment.best_runs())))

    for verb, archived in (("archive", True), ("unarchive", False)):
        _register_archiving(main, verb, archived)


def _metric(metric: Metric) -> str:
    """``accuracy (maximize)``; ``memory (constraint, minimize, threshold 512)``; ``loss (store)``."""
    if metric.strategy == "store":
        return f"{metric.name} (store)"
    parts: list[str] = [metric.objective] if metric.strategy == "optimize" else [metric.strategy, metric.objective]
    if metric.threshold is not None:
        parts.append(f"threshold {format_value(metric.threshold)}")
    return f"{metric.name} ({', '.join(parts)})"


def _parameter(parameter: Parameter) -> str:
    """``double [0.0001, 0.1] log``; ``categorical {adam, sgd}``; ``int grid [16, 32]``."""
    text: str = parameter.type
    if parameter.grid:
        text += f" grid [{', '.join(format_value(v) for v in parameter.grid)}]"
    elif parameter.bounds is not None:
        text += f" [{format_value(parameter.bounds.min)}, {format_value(parameter.bounds.max)}]"
    if parameter.categorical_values:
        text += " {" + ", ".join(parameter.categorical_values) + "}"
    if parameter.is_log:
        text += " log"
    return text


def _archiver(kind: str, archived: bool) -> Callable[[str], Any]:
    """The module-level function that archives (or unarchives) one experiment or run."""
    if kind == "experiment":
        return sigopt.archive_experiment if archived else sigopt.unarchive_experiment
    return sigopt.archive_run if archived else sigopt.unarchive_run


def _register_archiving(main: click.Group, verb: str, archived: bool) -> None:
    @main.group(verb)
    def group() -> None:
        pass

    group.help = f"{verb.capitalize()} experiments or runs."

    for kind in ("experiment", "run"):

        def command(ids: tuple[str, ...], project: str | None, kind: str = kind) -> None:
            act = _archiver(kind, archived)
            for object_id in ids:
                try:
                    act(object_id)
                except sigopt.SigOptError as exc:
                    raise CliError(exc, f"{kind} {object_id}: ") from exc
                click.echo(f"{'Archived' if archived else 'Unarchived'} {kind} {object_id}")

        command.__doc__ = f"{verb.capitalize()} the {kind}s with these IDS."
        project = click.option(
            "-p", "--project", help="Accepted as sigopt-python's command takes it; ids are unique across projects."
        )
        group.command(kind)(project(click.argument("ids", nargs=-1, required=True)(command)))

"""``sigopt-ai``: run training commands as recorded runs and experiments, and inspect the store."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

import sigopt_ai as sigopt
from sigopt_ai.cli import _dashboard, _db, _experiments, _init, _launch, _server, _sync
from sigopt_ai.cli._errors import errors
from sigopt_ai.cli._summary import format_value
from sigopt_ai.cli._tables import table_with_ids, when


def _pairs(items: Iterable[tuple[str, Any]]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in items) or "-"


_STATE_STYLE = {"active": "cyan", "completed": "green", "failed": "red"}


def _state(record: sigopt.RunRecord) -> str:
    """The state, with why a run failed, or ``lost`` for an active run whose process stopped."""
    text = record.state.value
    if record.failure is not None:
        text += f" ({record.failure.kind.value})"
    if record.lost:
        return f"[yellow]{text} (lost)[/]"
    return f"[{_STATE_STYLE[record.state.value]}]{text}[/]"


def _heartbeat(record: sigopt.RunRecord) -> str:
    """When an active run's process last said it was alive."""
    text = when(record.heartbeat)
    if record.lost and record.heartbeat is not None:
        text += f" (lost: no heartbeat for {time.time() - record.heartbeat:.0f} s, its process is gone)"
    return text


def _files(run_id: str) -> str:
    """The run's files (the output of ``sigopt-ai run`` among them) with their sizes and ids."""
    files = sigopt.list_files(run_id)
    return ", ".join(f"{f.name} ({f.size} bytes, id {f.id})" for f in files) or "-"


@click.group()
@click.option("--db", envvar="SIGOPT_AI_DB", help="Store: a SQLite path or SQLAlchemy URL.")
@click.version_option(sigopt.__version__, prog_name="sigopt-ai")
def main(db: str | None) -> None:
    """Record training runs and optimize hyperparameters (sigopt-ai)."""
    if db:
        sigopt.configure(db=db)


@main.command("version")
def version() -> None:
    """Show the installed sigopt-ai version (as sigopt-python's ``sigopt version``)."""
    click.echo(sigopt.__version__)


@main.group()
def runs() -> None:
    """Inspect recorded runs."""


@runs.command("list")
@click.option("--project", "-p", help="Only runs of this project.")
@click.option("--limit", "-n", default=50, show_default=True, help="How many runs to show.")
@errors
def runs_list(project: str | None, limit: int) -> None:
    """List runs, newest first."""
    records = sigopt.list_runs(project, limit=limit)
    table = table_with_ids(
        f"Runs{f' in {project}' if project else ''}",
        [r.id for r in records],
        ("name", "project", "state", "metrics", "created"),
    )
    for record in records:
        table.add_row(
            record.id,
            record.name,
            record.project,
            _state(record),
            _pairs(sorted(record.metrics.items())),
            when(record.created),
        )
    Console().print(table)


@runs.command("show")
@click.argument("run_id")
@errors
def runs_show(run_id: str) -> None:
    """Show one run: parameters, metrics, metadata, failure."""
    record = sigopt.get_run(run_id)
    table = Table(title=f"Run {record.id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows: list[tuple[str, str]] = [
        ("name", record.name),
        ("project", record.project),
        ("state", _state(record)),
        ("created", when(record.created)),
        ("ended", when(record.ended)),
        ("params", _pairs(sorted(record.params.items()))),
        ("metrics", _pairs(sorted(record.metrics.items()))),
        ("checkpoints", str(len(record.checkpoints))),
        ("metadata", _pairs(sorted(record.metadata.items()))),
        ("datasets", ", ".join(record.datasets) or "-"),
        ("model", record.model or "-"),
        ("files", _files(record.id)),
    ]
    if record.state is sigopt.RunState.ACTIVE:
        rows.append(("heartbeat", _heartbeat(record)))
    if record.experiment:
        rows.append(("experiment", f"{record.experiment} (suggestion {record.suggestion})"))
    for key in ("host", "python", "git_commit", "peak_rss_bytes", "duration_seconds"):
        if key in record.sys_metadata:
            rows.append((key, str(record.sys_metadata[key])))
    if record.failure is not None:
        rows += [("failure", f"{record.failure.kind.value}: {record.failure.type or ''} {record.failure.message}")]
    for field, value in rows:
        table.add_row(field, value)
    Console().print(table)


_init.register(main)
_launch.register(main)
_experiments.register(main)
_server.register(main)
_dashboard.register(main)
_sync.register(main)
_db.register(main)

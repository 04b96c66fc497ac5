"""``sigopt-ai run``, ``optimize`` and ``start-worker``: a training command run as a recorded run.

This process creates the run, makes it durable and starts the command with the run in
``SIGOPT_AI_RUN`` (see :mod:`sigopt_ai.runs._launched`). When the command has exited it takes what
the command recorded (its failure, its metrics), reads its exit status as a failure where the
command recorded none, stores its output, and ends the run; in an experiment, the loop's rules then
apply as for a run in this process.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

import sigopt_ai as sigopt
from sigopt_ai import _config
from sigopt_ai._checks import MAX_FILE_BYTES
from sigopt_ai.cli._child import ChildExit, CommandNotStarted, run_child, signal_name
from sigopt_ai.cli._errors import errors
from sigopt_ai.cli._options import experiment_file_option, project_option
from sigopt_ai.cli._runfile import RunFile, command_argv, load_run_file
from sigopt_ai.cli._summary import print_summary
from sigopt_ai.runs._launched import LAUNCH_ENV, LaunchSpec

if TYPE_CHECKING:  # experiments import scipy: loaded when a command needs them
    from sigopt_ai.experiments import Experiment

TEXT = "text/plain; charset=utf-8"

EXIT_STATUS_HELP = """
\b
Exit status:
  0        the run completed (optimize, start-worker: the budget is spent)
  1        the run failed (its kind is printed), or sigopt-ai could not do its part
  2        bad usage: an option, run.yml or experiment.yml is wrong
  3        the experiment loop stopped: the same bug failed runs repeatedly
  126/127  the command cannot be run / was not found
  128+N    interrupted by signal N (130: Ctrl-C, 143: SIGTERM); the suggestion is served again
           (a command that catches the signal and ends its run: 0 or 1 as that run ended)
"""

EXIT_FAILED = 1
EXIT_STOPPED = 3

_LAUNCH_SETTINGS: dict[str, Any] = {"allow_interspersed_args": False, "ignore_unknown_options": True}


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.argument("command", nargs=-1, type=click.UNPROCESSED)(func)
    func = click.option(
        "-s",
        "--source-file",
        type=click.Path(exists=True, dir_okay=False),
        help="A file of the run's source code, stored with the run.",
    )(func)
    return click.option(
        "-r",
        "--run-file",
        type=click.Path(dir_okay=False),
        help="A YAML file naming the run and its command (default: ./run.yml if there is one).",
    )(func)


def register(main: click.Group) -> None:
    """Add ``run``, ``optimize`` and ``start-worker`` to ``main``."""

    @main.command("run", context_settings=_LAUNCH_SETTINGS, epilog=EXIT_STATUS_HELP)
    @_common
    @project_option
    @errors
    def run_command(
        command: tuple[str, ...], run_file: str | None, source_file: str | None, project: str | None
    ) -> None:
        """Run COMMAND as a recorded run.

        The command comes after the options (use -- before it if it starts with a dash), or from
        'run' in run.yml. A Python command records into the run with the module-level API
        (sigopt.log_metric, sigopt.params). Its output is shown and stored with the run.
        """
        spec = load_run_file(run_file)
        argv = command_argv(command, spec)
        project = _config.check_project(project) if project is not None else None
        source = read_source_file(source_file)
        with sigopt.RunContext(spec.name, project) as run:
            result = launch(run, argv, source)
        _report(run, result)

    @main.command("optimize", context_settings=_LAUNCH_SETTINGS, epilog=EXIT_STATUS_HELP)
    @experiment_file_option
    @_common
    @project_option
    @errors
    def optimize_command(
        command: tuple[str, ...],
        experiment_file: str,
        run_file: str | None,
        source_file: str | None,
        project: str | None,
    ) -> None:
        """Create the experiment of experiment.yml and run COMMAND for each suggestion until its budget
        is spent, then print the best assignments."""
        spec = load_run_file(run_file)
        argv = command_argv(command, spec)
        source = read_source_file(source_file)
        experiment = sigopt.create_experiment(file=experiment_file, project=project)
        click.echo(f"Created experiment {experiment.id} ({experiment.name}).", err=True)
        _loop(experiment, argv, spec, source)

    @main.command("start-worker", context_settings=_LAUNCH_SETTINGS, epilog=EXIT_STATUS_HELP)
    @click.argument("experiment_id")
    @_common
    @errors
    def start_worker_command(
        experiment_id: str, command: tuple[str, ...], run_file: str | None, source_file: str | None
    ) -> None:
        """Run COMMAND for suggestions of experiment EXPERIMENT_ID until its budget is spent (any number
        of workers may run at once)."""
        spec = load_run_file(run_file)
        argv = command_argv(command, spec)
        source = read_source_file(source_file)
        _loop(sigopt.get_experiment(experiment_id), argv, spec, source)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The ``--source-file`` to store with each run: its file name and contents."""

    name: str
    data: bytes


def read_source_file(path: str | None) -> SourceFile | None:
    """Read ``--source-file`` once, before any run or experiment exists, so that a file too large to
    store is a usage error rather than a failure of every run.

    Raises:
        ValidationError: The file cannot be read or is over the file limit.
    """
    if path is None:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise sigopt.ValidationError(f"--source-file {path!r} cannot be read: {exc.strerror or exc}.") from None
    if len(data) > MAX_FILE_BYTES:
        raise sigopt.ValidationError(
            f"--source-file {path!r} is {len(data)} bytes; a file stored with a run may be at most "
            f"{MAX_FILE_BYTES} bytes (4 MiB)."
        )
    return SourceFile(os.path.basename(path), data)


def launch(run: sigopt.RunContext, argv: Sequence[str], source: SourceFile | None) -> ChildExit | CommandNotStarted:
    """Run ``argv`` as ``run``'s process; take what it recorded and what its exit says into ``run``.

    Returns:
        How the command ended, or why it could not be started (then the run has failed ``error``).
    """
    if source is not None:
        run.log_file(source.data, name=source.name, content_type=TEXT)
    sigopt.flush()  # the command's process records into a run that must exist
    try:
        result = run_child(argv, _child_env(run))
    except CommandNotStarted as exc:
        click.echo(f"sigopt-ai: {exc}", err=True)
        run.adopt(sigopt.get_run(run.id), _not_started_failure(str(exc)))
        return exc
    for name, data in (("stdout", result.stdout), ("stderr", result.stderr)):
        if data:  # a command that printed nothing leaves no empty file behind
            run.log_file(data, name=name, content_type=TEXT)
    run.adopt(sigopt.get_run(run.id), result.failure(), peak_rss=result.memory.peak_rss)  # get_run flushes first
    return result


def _not_started_failure(message: str) -> sigopt.FailureInfo:
    return sigopt.FailureInfo(sigopt.FailureKind.ERROR, type="CommandNotStarted", message=message)


def _child_env(run: sigopt.RunContext) -> dict[str, str]:
    """Our environment, with the run and the store this process resolved."""
    settings = _config.current()
    env = dict(os.environ)
    spec = LaunchSpec(
        id=run.id,
        name=run.name,
        project=run.project,
        experiment=run.experiment,
        suggestion=run.suggestion,
        params={name: value for name, value in run.params.items() if run.params.is_fixed(name)},
    )
    env[LAUNCH_ENV] = spec.to_env()
    env[_config.PROJECT_ENV] = run.project
    api_url = settings.resolved_api_url()
    if api_url:
        env[_config.API_URL_ENV] = api_url
        env[_config.API_TOKEN_ENV] = settings.resolved_api_token()
        env[_config.SPOOL_ENV] = str(settings.resolved_spool())  # absolute: the command may change directory
    else:
        env[_config.DB_ENV] = absolute_db(settings.resolved_local_db())
    env[_config.INTERVAL_ENV] = repr(settings.resolved_interval())
    env[_config.FLUSH_TIMEOUT_ENV] = repr(settings.resolved_flush_timeout())
    env.setdefault("PYTHONUNBUFFERED", "1")  # its output reaches the terminal as it is written
    return env


def absolute_db(db: str) -> str:
    """``db`` with a relative SQLite database path made absolute, as a path or in a ``sqlite://`` URL
    (the command may change directory); any other URL as it is."""
    if "://" not in db:
        return os.path.abspath(db)
    from sqlalchemy.engine import make_url  # the CLI's import, not the SDK's

    url = make_url(db)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return db
    if os.path.isabs(database):
        return db
    return url.set(database=os.path.abspath(database)).render_as_string(hide_password=False)


def _report(run: sigopt.RunContext, result: ChildExit | CommandNotStarted) -> None:
    """Say how the run ended; leave with the exit status when it did not complete."""
    record = sigopt.get_run(run.id)
    if record.failure is None:
        click.echo(f"sigopt-ai: run {run.id} completed. Show it: sigopt-ai runs show {run.id}", err=True)
        return
    failure = record.failure
    click.echo(
        f"sigopt-ai: run {run.id} failed ({failure.kind.value}): {failure.message} "
        f"Show it: sigopt-ai runs show {run.id}",
        err=True,
    )
    exit_with(_stop_status(result, failure) or EXIT_FAILED)


def _interrupting_signal(result: ChildExit) -> int | None:
    """The signal that interrupted the command: the one ``sigopt-ai`` forwarded, else the SIGINT,
    SIGTERM or SIGHUP it died of; None when none did."""
    if result.received is not None:
        return result.received
    if result.returncode in (-signal.SIGINT, -signal.SIGTERM, -signal.SIGHUP):
        return -result.returncode
    return None


def _stop_status(result: ChildExit | CommandNotStarted, failure: sigopt.FailureInfo | None) -> int | None:
    """Whether to stop at once, and with which exit status, given the run's recorded ``failure``.

    126/127 for a command that cannot run. Once a signal interrupted the command: 128 + the signal
    when the run is recorded ``interrupted``; else what was recorded, since the command caught the
    signal and ended on its own terms: 0 when the run completed, 1 when it failed. None otherwise.
    """
    if isinstance(result, CommandNotStarted):
        return result.status
    signum = _interrupting_signal(result)
    if signum is None:
        return None
    if failure is None:
        return 0
    return 128 + signum if failure.kind is sigopt.FailureKind.INTERRUPTED else EXIT_FAILED


def _loop(experiment: Experiment, argv: Sequence[str], spec: RunFile, source: SourceFile | None) -> None:
    """Run the command for each suggestion, under the loop's rules; then print the summary."""
    try:
        for run in experiment.loop(name=spec.name):
            result: ChildExit | CommandNotStarted | None = None
            with run:  # the loop may absorb an error here (a store failure): then there is no result
                result = launch(run, argv, source)
            status = _stop_status(result, run.failure) if result is not None else None
            if status is not None:
                if isinstance(result, ChildExit):
                    _say_stopped(run, result, status)
                if status == 0:
                    print_summary(experiment)
                exit_with(status)
    except sigopt.ExperimentStopped as exc:
        click.echo(f"sigopt-ai: {exc}", err=True)
        print_summary(experiment)
        exit_with(EXIT_STOPPED)
    print_summary(experiment)


def _say_stopped(run: sigopt.RunContext, result: ChildExit, status: int) -> None:
    """Say what became of the run a signal interrupted, and that the loop stops."""
    name = signal_name(_interrupting_signal(result) or 0)
    failure = run.failure
    if failure is None:
        what = f"completed after {name} (the command caught it); its observation is recorded"
    elif failure.kind is sigopt.FailureKind.INTERRUPTED:
        what = f"was interrupted ({name}); its suggestion will be served again"
    else:
        what = f"failed ({failure.kind.value}) after {name}: {failure.message}"
    click.echo(f"sigopt-ai: run {run.id} {what}. Stopping.", err=True)


def exit_with(status: int) -> NoReturn:
    """Leave with ``status`` (the run is already recorded)."""
    sys.stdout.flush()
    raise click.exceptions.Exit(status)

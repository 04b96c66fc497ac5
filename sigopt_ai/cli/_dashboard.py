"""``sigopt-ai dashboard`` (the embedded store's pages, read-only, on loopback) and ``sigopt-ai report``
(one experiment's page as a self-contained HTML file).

FastAPI and uvicorn are imported inside the commands: ``sigopt-ai runs list`` must not load them.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sigopt_ai._exceptions import ConfigError, SigOptError
from sigopt_ai.cli._server import _DB_HELP, _db

if TYPE_CHECKING:
    import uvicorn

__all__ = ["INSTALL_HINT", "LOOPBACK", "is_loopback", "register"]

LOOPBACK = "127.0.0.1"
"""Where the dashboard listens unless ``--host`` says otherwise."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address of this machine only (``localhost``, 127.0.0.0/8, ``::1``).

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0"), is_loopback("localhost")
        (True, False, True)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any address
        return False


INSTALL_HINT = 'pip install "sigopt-ai[dashboard]"'
"""What installs the libraries that serve the dashboard and write reports (FastAPI, uvicorn)."""


def _check_extra() -> None:
    """Refuse with the install command when the dashboard extra is missing (a plain install lacks it).

    Raises:
        click.ClickException: FastAPI or uvicorn cannot be imported.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise click.ClickException(f"{exc.name or 'FastAPI'} is not installed: {INSTALL_HINT}") from exc


def _check_store(url: str) -> None:
    """Refuse a SQLite file that does not exist: opening it would create an empty store, and the
    dashboard writes nothing.

    Raises:
        ConfigError: There is no such file.
    """
    from sigopt_ai.backends.sql._engine import make_engine, sqlite_file

    engine = make_engine(url)  # connects nothing
    path = sqlite_file(engine)
    engine.dispose()
    if path is not None and not path.exists():
        raise ConfigError(f"--db: no store at {path} (run something with sigopt-ai first, or name the store).")


def _announce(server: uvicorn.Server, host: str, open_browser: bool) -> None:
    """Once the server listens: say where (its port too, when it chose one) and open a browser there."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1] if server.servers else server.config.port
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    click.echo(f"sigopt-ai dashboard: {url} (read-only; Ctrl-C stops it)", err=True)
    if open_browser:
        webbrowser.open(url)


@click.command()
@click.option("--db", help=_DB_HELP)
@click.option(
    "--host",
    help=f"The address to listen on (default {LOOPBACK}). The dashboard has no login: on any other address, "
    "whoever reaches it reads every experiment of the store.",
)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="The port (0: any).")
@click.option("--open/--no-open", "open_browser", default=True, show_default=True, help="Open a browser on it.")
@click.pass_context
def dashboard(ctx: click.Context, db: str | None, host: str | None, port: int, open_browser: bool) -> None:
    """Serve the dashboard of the store, read-only and without a login, on this machine."""
    _check_extra()
    import uvicorn

    from sigopt_ai.dashboard import mount
    from sigopt_ai.server import create_app

    bind = host or LOOPBACK
    if not is_loopback(bind):
        if ctx.get_parameter_source("host") is not click.core.ParameterSource.COMMANDLINE:
            # Only an address typed on the command line may expose the store: not one from a default map.
            raise click.UsageError(f"--host {bind} is not a loopback address: give it on the command line.")
        click.echo(
            f"sigopt-ai dashboard: warning: listening on {bind}, with no authentication: anyone who can reach "
            "this address and port reads every experiment and run of the store.",
            err=True,
        )
    url = _db(db)
    try:
        _check_store(url)
        app = create_app(url, local=True, pages=mount)
    except SigOptError as exc:
        click.echo(f"sigopt-ai dashboard: {exc}", err=True)
        sys.exit(1)
    server = uvicorn.Server(uvicorn.Config(app, host=bind, port=port, log_level="warning"))
    threading.Thread(target=_announce, args=(server, bind, open_browser), daemon=True).start()
    server.run()


@click.command()
@click.argument("experiment_id")
@click.option(
    "-o",
    "--output",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The HTML file to write.",
)
@click.option("--db", help=_DB_HELP)
def report(experiment_id: str, output: Path, db: str | None) -> None:
    """Write one experiment's page as a self-contained HTML file (it opens with no network)."""
    _check_extra()
    from sigopt_ai.dashboard.report import write_report

    url = _db(db)
    try:
        _check_store(url)
        path = write_report(url, experiment_id, output)
    except SigOptError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {path} ({path.stat().st_size:,} bytes).")


def register(group: click.Group) -> None:
    """Add ``dashboard`` and ``report`` to the ``sigopt-ai`` command group."""
    group.add_command(dashboard)
    group.add_command(report)

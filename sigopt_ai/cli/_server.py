"""``sigopt-ai server`` and ``sigopt-ai token create|revoke``: serve a store over the SigOpt v1 REST API.

FastAPI and uvicorn are imported inside the commands: ``sigopt-ai runs list`` must not load them.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from sigopt_ai import _config
from sigopt_ai._exceptions import SigOptError

if TYPE_CHECKING:
    from sigopt_ai.server._store import ServerStore

__all__ = ["register"]

_DB_HELP = "The store: a SQLite path or SQLAlchemy URL (default: sigopt-ai's --db / SIGOPT_AI_DB)."


def _db(db: str | None) -> str:
    return db or _config.current().resolved_local_db()  # the database, even when SIGOPT_API_URL is set


def _store(db: str) -> ServerStore:
    """The server store of ``db``, created or upgraded to the migration head first."""
    from sigopt_ai.backends.sql import SQLBackend
    from sigopt_ai.backends.sql._migrate import upgrade
    from sigopt_ai.server._store import ServerStore

    upgrade(db)
    return ServerStore(SQLBackend(db, upgrade=False))


@click.command()
@click.option("--db", help=_DB_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 512), help="Server processes.")
@click.option(
    "--max-body",
    default=8 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(1),
    help="The largest request body accepted, in bytes (larger ones get 413).",
)
def server(db: str | None, host: str, port: int, workers: int, max_body: int) -> None:
    """Serve the store over the SigOpt v1 REST API (the official `sigopt` client works with it)."""
    import uvicorn

    from sigopt_ai.dashboard import mount
    from sigopt_ai.server import create_app
    from sigopt_ai.server._app import DB_ENV, MAX_BODY_ENV

    url = _db(db)
    try:
        app = create_app(url, max_body=max_body, pages=mount)
    except SigOptError as exc:
        click.echo(f"sigopt-ai server: {exc}", err=True)
        sys.exit(1)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    os.environ[DB_ENV] = url
    os.environ[MAX_BODY_ENV] = str(max_body)
    uvicorn.run(
        "sigopt_ai.dashboard:app_from_env", factory=True, host=host, port=port, workers=workers, log_level="warning"
    )


@click.group()
def token() -> None:
    """Make and revoke the API tokens of a server's clients."""


@token.command("create")
@click.option("--client", "client", required=True, help="The client's name (created if new).")
@click.option("--db", help=_DB_HELP)
def token_create(client: str, db: str | None) -> None:
    """Print a new API token of a client; only its hash is stored, so keep it."""
    try:
        click.echo(_store(_db(db)).create_token(client))
    except SigOptError as exc:
        raise click.ClickException(str(exc)) from exc


@token.command("revoke")
@click.argument("token_text", metavar="TOKEN")
@click.option("--db", help=_DB_HELP)
def token_revoke(token_text: str, db: str | None) -> None:
    """Revoke an API token: requests with it get 401 within 5 s (how long a server process trusts a
    token it has checked; SIGOPT_AI_SERVER_TOKEN_CACHE on the server sets it)."""
    try:
        revoked = _store(_db(db)).revoke_token(token_text)
    except SigOptError as exc:
        raise click.ClickException(str(exc)) from exc
    if not revoked:
        raise click.ClickException("No valid token like this one: nothing was revoked.")
    click.echo("Revoked.")


def register(group: click.Group) -> None:
    """Add ``server`` and ``token`` to the ``sigopt-ai`` command group."""
    group.add_command(server)
    group.add_command(token)

"""``sigopt-ai db upgrade``: create a store or upgrade its schema to this version's revision.

SQLAlchemy and Alembic are imported inside the command: ``sigopt-ai runs list`` must not load them.
"""

from __future__ import annotations

import click

from sigopt_ai import _config
from sigopt_ai._exceptions import SigOptError

__all__ = ["register"]


@click.group()
def db() -> None:
    """Manage the store's schema."""


@db.command()
@click.option(
    "--db", "url", help="The store: a SQLite path or SQLAlchemy URL (default: sigopt-ai's --db / SIGOPT_AI_DB)."
)
def upgrade(url: str | None) -> None:
    """Create the store, or upgrade it to the schema this version uses; prints its revision before and after.

    A server refuses a store that is not upgraded; the SDK's embedded store upgrades itself.
    """
    from sigopt_ai.backends.sql import _migrate
    from sigopt_ai.backends.sql._engine import url_without_password

    url = url or _config.current().resolved_local_db()  # the database, even when SIGOPT_API_URL is set
    try:
        before = _migrate.revision(url)
        after = _migrate.upgrade(url)
    except SigOptError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"store: {url_without_password(url)}")
    click.echo(f"revision before: {before or 'none'}")
    click.echo(f"revision after: {after}")


def register(group: click.Group) -> None:
    """Add ``db`` to the ``sigopt-ai`` command group."""
    group.add_command(db)

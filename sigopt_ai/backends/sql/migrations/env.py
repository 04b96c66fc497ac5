"""Alembic's environment for the SQL store's migrations (see :mod:`sigopt_ai.backends.sql._migrate`).

The configuration is built in code, so users need no ``alembic.ini``. ``_migrate`` passes the
connection to migrate as ``config.attributes["connection"]``, inside a transaction that holds the
store's write lock, and commits it. Without one (an ``alembic`` command run by a developer through
``_migrate.alembic_config(url=...)``, e.g. to autogenerate a revision), this connects to
``sqlalchemy.url`` and commits at the end.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from sigopt_ai.backends.sql._engine import make_engine
from sigopt_ai.backends.sql._schema import metadata


def _run_migrations(connection: Connection) -> None:
    # Batch mode: SQLite alters a table only by copying it, which batch operations do when needed.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("The store's migrations run on a live connection only (no --sql mode).")
    given = context.config.attributes.get("connection")
    if given is not None:
        _run_migrations(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("Set sqlalchemy.url (a SQLite path or SQLAlchemy URL) or pass a connection.")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _run_migrations(connection)
    finally:
        engine.dispose()


_main()

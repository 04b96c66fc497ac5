"""Schema revisions of the SQL store: checking a store's revision, creating it, upgrading it.

A store records its revision in Alembic's ``alembic_version`` table; the revisions are the scripts
in ``migrations/versions``. Opening a store at :data:`HEAD` costs two small queries and imports
nothing from Alembic. A new, empty store gets today's tables directly (``metadata.create_all``) and is
stamped :data:`HEAD`, also without Alembic. Alembic runs only to upgrade a store made by an older
version, inside the caller's write transaction: SQLite's write lock, or a PostgreSQL advisory lock,
keeps two processes from upgrading one store at once.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sigopt_ai._exceptions import ConfigError, StoreError
from sigopt_ai.backends.sql._engine import READ_BUSY_MS, make_engine, sqlite_file, url_without_password
from sigopt_ai.backends.sql._schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD",
    "alembic_config",
    "ensure_current",
    "revision",
    "stored_revision",
    "upgrade",
    "upgrade_needed",
]

HEAD = "0003"
"""The newest revision in ``migrations/versions``: what this version of sigopt-ai reads and writes
(a test checks that it is Alembic's head)."""

MIGRATIONS = Path(__file__).with_name("migrations")
"""Alembic's script directory."""

_ADVISORY_LOCK = 0x5167_0A1D_B5C4_E3A1
"""The key of the PostgreSQL advisory lock held while a store's schema is checked and upgraded."""

_LEGACY_TABLES = frozenset({"projects", "runs", "experiments"})
"""Tables every store made before migrations has: such a store without ``alembic_version`` is old,
not empty."""

# Alembic's own version table, as ``alembic stamp`` creates it, to stamp a new store without Alembic.
_version = sa.Table(
    "alembic_version",
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def stored_revision(conn: Connection) -> str | None:
    """The revision recorded in the store (None: none is, in an empty store or one made before migrations)."""
    if not conn.dialect.has_table(conn, _version.name):
        return None
    return conn.execute(sa.select(_version.c.version_num)).scalar()


def ensure_current(conn: Connection, *, upgrade: bool, store: str) -> str:
    """Bring the store to :data:`HEAD` in this write transaction, or say why it cannot be used.

    Args:
        conn: A connection in a write transaction (on SQLite, one that holds the write lock).
        upgrade: Whether to create or upgrade the store; when False, a store not at :data:`HEAD`
            raises.
        store: The store's path or URL without its password, for the message.

    Returns:
        The store's revision: :data:`HEAD`.

    Raises:
        ConfigError: The store is not at :data:`HEAD` and ``upgrade`` is False, or it is at a
            revision this version does not know (written by a newer sigopt-ai).
    """
    if conn.dialect.name == "postgresql":
        # Held until this transaction ends; a second process waits here, then finds the store current.
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_ADVISORY_LOCK)))
    found = stored_revision(conn)
    if found == HEAD:
        return HEAD
    tables = set(sa.inspect(conn).get_table_names())
    legacy = found is None and bool(_LEGACY_TABLES & tables)
    if found is not None:
        _check_known(found, store)
    if not upgrade:
        raise upgrade_needed(store, found or ("made before migrations" if legacy else "empty"))
    if found is None and not legacy:
        metadata.create_all(conn, checkfirst=bool(tables & metadata.tables.keys()))
        _version.create(conn)
        conn.execute(_version.insert().values(version_num=HEAD))
    else:
        _run_alembic_upgrade(conn)
    return HEAD


def upgrade_needed(store: str, at: str) -> ConfigError:
    """The error for a store at revision ``at`` that must be upgraded before this version uses it."""
    return ConfigError(
        f"The store at {store} is at revision {at}, and this version of sigopt-ai needs revision {HEAD}: "
        f"run `sigopt-ai db upgrade --db {shlex.quote(store)}`."
    )


def _check_known(found: str, store: str) -> None:
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if found not in known:
        raise ConfigError(
            f"The store at {store} is at revision {found}, which this version of sigopt-ai (revision {HEAD}) "
            "does not know: a newer sigopt-ai upgraded it. Use that version."
        )


def _run_alembic_upgrade(conn: Connection) -> None:
    """Run the migrations from the store's revision to :data:`HEAD` (from the start for a store made
    before migrations, whose first revision creates only what it lacks)."""
    from alembic import command

    command.upgrade(alembic_config(connection=conn), "head")


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    """Alembic's configuration for the store's migrations, built in code (no ``alembic.ini``).

    Args:
        connection: Migrate on this connection, in its open transaction (the caller commits).
        url: Else, connect to this SQLite path or SQLAlchemy URL.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _opened(url: str) -> Iterator[Engine]:
    """An engine for the store at ``url``, disposed of after; the database's errors become ours.

    Raises:
        ConfigError: ``url`` names no database SQLAlchemy can open (e.g. a server's ``http://`` URL).
        StoreError: The store failed.
    """
    store = url_without_password(url)
    try:
        engine = make_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"{store} is not a SQLite path or a SQLAlchemy database URL: {exc}") from exc
    try:
        yield engine
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        raise StoreError(f"The store at {store} failed: {exc}") from exc
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    """The revision of the store at ``url`` (None: it records none, being empty or made before migrations).

    Raises:
        ConfigError: ``url`` names no database.
        StoreError: The store cannot be read.
    """
    with _opened(url) as engine:
        path = sqlite_file(engine)
        if path is not None and not path.exists():
            return None  # reading would create the file
        with engine.connect() as conn, conn.begin():
            return stored_revision(conn)


def upgrade(url: str) -> str:
    """Create the store at ``url`` or upgrade it to :data:`HEAD`; returns its revision.

    Raises:
        ConfigError: ``url`` names no database, or a newer sigopt-ai upgraded the store.
        StoreError: The store cannot be read or written.
    """
    with _opened(url) as engine:
        path = sqlite_file(engine)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        with engine.connect() as conn:
            conn = conn.execution_options(sigopt_write=True, sigopt_busy_ms=READ_BUSY_MS)
            with conn.begin():
                return ensure_current(conn, upgrade=True, store=url_without_password(url))

"""Engines for the SQL store: a SQLite file (with the pragmas the store relies on) or any SQLAlchemy URL."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

READ_BUSY_MS = 60_000
"""How long a reader (or an experiment's transaction) waits for another process's write lock."""
WRITE_BUSY_MS = 5_000
"""How long one attempt of the writer thread waits for the lock; it retries after, keeping the records."""
_LOCK_POLL_S = 0.001
"""How often a writer waiting for another connection's write lock tries again."""


def make_engine(url: str) -> Engine:
    """An engine for a SQLAlchemy URL or a SQLite file path, with the pragmas the store relies on.

    Nothing is opened yet: SQLAlchemy connects on first use. A relative SQLite path is resolved now,
    so the store stays the same file if the process changes its working directory.
    """
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().absolute()}"
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def url_without_password(url: str) -> str:
    """A store's path or URL as messages and commands may show it: a SQLite path made absolute, a
    URL without its password (the driver takes it from the environment, e.g. ``PGPASSWORD``)."""
    if "://" not in url:
        return str(Path(url).expanduser().absolute())
    try:
        parts = sa.engine.make_url(url)
    except sa.exc.ArgumentError:  # not a URL: show its scheme only, the rest may hold a password
        return f"{url.split('://', 1)[0]}://..."
    bare = sa.engine.URL.create(
        parts.drivername,
        username=parts.username,
        host=parts.host,
        port=parts.port,
        database=parts.database,
        query=parts.query,
    )
    return bare.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN ourselves so that writers
    # take the write lock up front (BEGIN IMMEDIATE) and never deadlock upgrading a read lock.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={READ_BUSY_MS}")
        _set_wal(cur, READ_BUSY_MS)
        cur.execute("PRAGMA synchronous=NORMAL")  # durable across process kills in WAL mode
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        busy_ms = options.get("sigopt_busy_ms", READ_BUSY_MS)
        write = bool(options.get("sigopt_write"))
        # A writer polls for the lock itself (SQLite then must not wait inside BEGIN); a reader lets
        # SQLite wait, which in WAL mode happens only while a database is being recovered.
        timeout = 0 if write else busy_ms
        info = conn.connection.info
        if info.get("busy_ms", READ_BUSY_MS) != timeout:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(timeout)}")
            info["busy_ms"] = timeout
        if write:
            _begin_immediate(conn, busy_ms)
        else:
            conn.exec_driver_sql("BEGIN DEFERRED")


def _set_wal(cur: Any, busy_ms: float) -> None:
    """Put the file in WAL mode, trying again for ``busy_ms`` while it is locked.

    Switching a file to WAL needs a moment when no other connection holds a lock on it, and SQLite
    answers "database is locked" at once instead of waiting: a second process opening a store that
    another is creating or upgrading would otherwise fail. A file already in WAL mode needs no switch.
    """
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def _begin_immediate(conn: Connection, busy_ms: float) -> None:
    """``BEGIN IMMEDIATE``, trying again every millisecond for ``busy_ms`` while another connection
    holds the write lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, ... ms between its tries, so a lock held
    for 3 ms could cost a waiter 18 ms: a flush waited that long behind a worker's short suggestion
    transaction. Trying every millisecond costs a waiter about the time the lock is held.
    """
    driver = conn.connection.driver_connection
    deadline = time.monotonic() + busy_ms / 1000
    while time.monotonic() < deadline:
        try:
            driver.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                break  # not a lock: the last try below raises it as SQLAlchemy's error
        time.sleep(_LOCK_POLL_S)
    conn.exec_driver_sql("BEGIN IMMEDIATE")  # the last try: a failure is SQLAlchemy's OperationalError


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite store (None for another database or an in-memory one)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).absolute()


def file_identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of ``path``, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def dialect_insert(conn: Connection) -> Any:
    """The INSERT construct with ON CONFLICT support for this database (SQLite and PostgreSQL have it)."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


class Store(Protocol):
    """What the store's modules need of the backend: its transactions."""

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Connection]:
        """One transaction (a write one takes the store's write lock)."""


_MAX_ID = 2**63


def row_id(text: str) -> int | None:
    """The row id an experiment, suggestion or observation id names, or None if it names none."""
    text = str(text)
    if not (text.isascii() and text.isdigit()) or int(text) >= _MAX_ID:
        return None
    return int(text)

"""Engines for the SQL store: a SQLite file (with the pragmas the store relies on) or any SQLAlchemy URL."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

READ_BUSY_MS = 60_000
"""How long a reader (or an experiment's transaction) waits for another process's write lock."""
WRITE_BUSY_MS = 5_000
"""How long one attempt of the writer thread waits for the lock; it retries after, keeping the records."""


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


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN ourselves so that writers
    # take the write lock up front (BEGIN IMMEDIATE) and never deadlock upgrading a read lock.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable across process kills in WAL mode
        cur.execute(f"PRAGMA busy_timeout={READ_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        busy_ms = options.get("sigopt_busy_ms", READ_BUSY_MS)
        info = conn.connection.info
        if info.get("busy_ms", READ_BUSY_MS) != busy_ms:  # the writer waits less than readers do
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_ms)}")
            info["busy_ms"] = busy_ms
        mode = "IMMEDIATE" if options.get("sigopt_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


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

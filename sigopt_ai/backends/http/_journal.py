"""The offline journal: batches a server did not take yet, kept in a SQLite file until it does.

One table, ``batches(id, api_url, key, body, created)``: a batch's JSON body and its idempotency
key, for the server at ``api_url``. The file is written with ``synchronous=FULL`` in WAL mode, so
each append is on disk (fsynced) when :meth:`Journal.append` returns, and several processes can
append and replay at once (SQLite's file locks order them).

Replaying (see :mod:`sigopt_ai.backends.http._backend`) reads rows in id order and deletes a row
only after the server acknowledged it. Two processes replaying at once may both send a row; the
server applies a key once, so the second send changes nothing. Ids are ``AUTOINCREMENT``: never
reused, so a batch appended later always sorts after every batch before it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sigopt_ai._exceptions import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    api_url TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL
)
"""
_BUSY_TIMEOUT_S = 30.0  # another process's append or delete holds the file's write lock this long at most


@dataclass(frozen=True, slots=True)
class Entry:
    """A journaled batch: its row id, idempotency key and JSON body."""

    id: int
    key: str
    body: str


class Journal:
    """The journal file at ``path``; nothing is opened (or created) before the first use that needs it.

    Safe to use from several threads (one connection, behind a lock) and several processes.
    Every failure raises :class:`~sigopt_ai.StoreError`, chained to SQLite's.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def append(self, api_url: str, key: str, body: str) -> None:
        """Keep a batch for ``api_url``; it is on disk when this returns.

        Raises:
            StoreError: The file cannot be written (a full disk, a read-only directory).
        """
        with self._guard("keep a batch in") as conn:
            conn.execute(
                "INSERT INTO batches (api_url, key, body, created) VALUES (?, ?, ?, ?)",
                (api_url, key, body, time.time()),
            )

    def entries(self, api_url: str, limit: int = 100) -> list[Entry]:
        """The oldest ``limit`` batches kept for ``api_url``, oldest first."""
        if not self.path.exists():
            return []
        with self._guard("read") as conn:
            rows = conn.execute(
                "SELECT id, key, body FROM batches WHERE api_url = ? ORDER BY id LIMIT ?", (api_url, limit)
            ).fetchall()
        return [Entry(int(row[0]), str(row[1]), str(row[2])) for row in rows]

    def delete(self, entry_id: int) -> None:
        """Forget a batch the server acknowledged."""
        with self._guard("delete a sent batch from") as conn:
            conn.execute("DELETE FROM batches WHERE id = ?", (entry_id,))

    def count(self, api_url: str | None = None) -> int:
        """How many batches are kept (for ``api_url``, or for every server)."""
        if not self.path.exists():
            return 0
        with self._guard("read") as conn:
            if api_url is None:
                row = conn.execute("SELECT count(*) FROM batches").fetchone()
            else:
                row = conn.execute("SELECT count(*) FROM batches WHERE api_url = ?", (api_url,)).fetchone()
        return int(row[0])

    def api_urls(self) -> list[str]:
        """The servers that batches are kept for, in the order their oldest batch was kept."""
        if not self.path.exists():
            return []
        with self._guard("read") as conn:
            rows = conn.execute("SELECT api_url FROM batches GROUP BY api_url ORDER BY min(id)").fetchall()
        return [str(row[0]) for row in rows]

    def after_fork(self) -> None:
        """In a forked child: forget the parent's connection (SQLite's must not cross a fork) and lock."""
        self._lock = threading.Lock()
        self._conn = None

    def close(self) -> None:
        """Close the connection; the next use opens a new one."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def _guard(self, doing: str) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; SQLite's and the file system's errors become StoreError."""
        with self._lock:
            try:
                yield self._connect()
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(f"Cannot {doing} the journal {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")  # each commit is fsynced: a kept batch survives a crash
                conn.execute(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

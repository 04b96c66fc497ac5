"""Files stored with runs in the SQL store: the ``file`` write operation, reads, and the server's
two-step upload (a row made first, its bytes sent later to a URL holding a single-use secret)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sigopt_ai._models import FileRecord, Op
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._engine import Store, dialect_insert

__all__ = [
    "UPLOAD_SECONDS",
    "complete_upload",
    "list_files",
    "read_file",
    "reserve_upload",
    "secret_hash",
    "upload_waits",
    "write_files",
]

UPLOAD_SECONDS = 3_600.0
"""How long a reservation waits for its bytes: later, its upload URL is refused and its row deleted."""

_DESCRIPTION = (
    t.files.c.id,
    t.files.c.run_id,
    t.files.c.name,
    t.files.c.content_type,
    t.files.c.size,
    t.files.c.created,
    t.files.c.sha256,
)


def secret_hash(secret: str) -> str:
    """The SHA-256 (hex) of an upload secret: the only form of it the store keeps."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def write_files(conn: Connection, ops: Sequence[Op]) -> None:
    """Insert the files of ``("file", run_id, file_id, name, content_type, data, timestamp)``
    operations; a file id stored already is left as it is (a batch written twice)."""
    rows = [
        {
            "id": file_id,
            "run_id": run_id,
            "name": name,
            "content_type": content_type,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "created": ts,
            "data": bytes(data),
            "upload_secret": None,
        }
        for _, run_id, file_id, name, content_type, data, ts in ops
    ]
    insert = dialect_insert(conn)(t.files)
    conn.execute(insert.on_conflict_do_nothing(index_elements=["id"]), rows)


def _record(row: Any) -> FileRecord:
    return FileRecord(
        id=row.id,
        run=row.run_id,
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        created=row.created,
        sha256=row.sha256,
    )


def list_files(store: Store, run_id: str) -> list[FileRecord]:
    """The run's files whose bytes are stored, oldest first."""
    query = (
        sa.select(*_DESCRIPTION)
        .where((t.files.c.run_id == run_id) & t.files.c.data.is_not(None))
        .order_by(t.files.c.created, t.files.c.id)
    )
    with store.transaction(write=False) as conn:
        return [_record(row) for row in conn.execute(query)]


def file_record(store: Store, file_id: str) -> FileRecord | None:
    """The description of a file whose bytes are stored, or None."""
    query = sa.select(*_DESCRIPTION).where((t.files.c.id == file_id) & t.files.c.data.is_not(None))
    with store.transaction(write=False) as conn:
        row = conn.execute(query).first()
    return None if row is None else _record(row)


def read_file(store: Store, file_id: str) -> bytes | None:
    """The bytes of a file, or None (no such file, or its upload has not come)."""
    with store.transaction(write=False) as conn:
        data = conn.execute(sa.select(t.files.c.data).where(t.files.c.id == file_id)).scalar()
    return None if data is None else bytes(data)


def reserve_upload(store: Store, *, run_id: str, file_id: str, name: str, content_type: str, secret: str) -> FileRecord:
    """Make the row of a file whose bytes come later, to the upload URL holding ``secret``; the
    reservations older than :data:`UPLOAD_SECONDS` whose bytes never came go in the same transaction."""
    now = time.time()
    with store.transaction() as conn:
        conn.execute(sa.delete(t.files).where(_pending() & (t.files.c.created < now - UPLOAD_SECONDS)))
        conn.execute(
            t.files.insert().values(
                id=file_id,
                run_id=run_id,
                name=name,
                content_type=content_type,
                size=0,
                sha256="",
                created=now,
                data=None,
                upload_secret=secret_hash(secret),
            )
        )
    return FileRecord(id=file_id, run=run_id, name=name, content_type=content_type, size=0, created=now, sha256="")


def _pending() -> sa.ColumnElement[bool]:
    """Reservations: rows waiting for their bytes.

    Said as ``> ''`` (every secret's hash is; NULL is not), which the unique index on the secret
    answers: SQLite scans the whole table for ``IS NOT NULL``, reading every file's bytes, as the
    column comes after them.
    """
    return t.files.c.upload_secret > ""


def _waiting(secret: str) -> sa.ColumnElement[bool]:
    """The reservation ``secret`` opened, if it has not expired."""
    return (t.files.c.upload_secret == secret_hash(secret)) & (t.files.c.created >= time.time() - UPLOAD_SECONDS)


def upload_waits(store: Store, secret: str) -> bool:
    """Whether a reservation waits for its bytes at ``secret`` (a cheap check before reading them)."""
    with store.transaction(write=False) as conn:
        return conn.execute(sa.select(t.files.c.id).where(_waiting(secret))).first() is not None


def complete_upload(store: Store, secret: str, data: bytes) -> FileRecord | None:
    """Store the bytes of the file reserved with ``secret`` and forget the secret (it works once);
    None when no file waits for it (unknown, used, or expired).

    One ``UPDATE ... WHERE upload_secret = ...``: of two requests with one secret, the database lets
    one change the row, and the other then finds the secret gone.
    """
    update = (
        t.files.update()
        .where(_waiting(secret))
        .values(data=data, size=len(data), sha256=hashlib.sha256(data).hexdigest(), upload_secret=None)
        .returning(*_DESCRIPTION)
    )
    with store.transaction() as conn:
        row = conn.execute(update).first()
    return None if row is None else _record(row)

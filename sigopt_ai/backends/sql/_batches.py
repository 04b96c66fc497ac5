"""Idempotent write batches: a batch written with a key is applied once, however often it is sent.

The key is inserted into ``applied_batches`` first, in the batch's own transaction: if the insert
finds the key there, the batch was applied (and committed) before and is skipped; if the transaction
fails, the key goes with it, and the batch can be sent again. Two processes racing with one key are
ordered by the key's primary key: PostgreSQL makes the second insert wait for the first transaction
and then finds the key; SQLite's write lock lets one transaction in at a time.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sigopt_ai._checks import check_text, describe_value
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._engine import dialect_insert

MAX_KEY_LENGTH = 200
KEEP_SECONDS = 7 * 86_400.0
"""How long a key is remembered: a batch sent again later than this is applied again."""
PRUNE_EVERY = 3_600.0
"""How often (seconds) a process deletes the keys older than :data:`KEEP_SECONDS`."""


def check_key(key: object) -> str:
    """A batch key: 1 to :data:`MAX_KEY_LENGTH` characters of valid text."""
    if not isinstance(key, str):
        raise ValidationTypeError(f"key must be a string, got {describe_value(key)}.")
    if not key:
        raise ValidationError("key must be 1 to 200 characters, got an empty string.")
    return check_text(key, "key", MAX_KEY_LENGTH)


def claim(conn: Connection, key: str) -> bool:
    """Record ``key`` in this transaction; False when a committed batch had it (skip this one)."""
    insert = dialect_insert(conn)(t.applied_batches)
    # RETURNING rather than rowcount, which psycopg leaves at -1 here: no row back means a conflict.
    inserted = insert.values(key=key, created=time.time()).on_conflict_do_nothing().returning(t.applied_batches.c.key)
    return conn.execute(inserted).first() is not None


def prune(conn: Connection) -> None:
    """Forget the keys older than :data:`KEEP_SECONDS`."""
    conn.execute(sa.delete(t.applied_batches).where(t.applied_batches.c.created < time.time() - KEEP_SECONDS))

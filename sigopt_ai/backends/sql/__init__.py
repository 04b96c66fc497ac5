"""The SQL store: a SQLite file (the embedded default) or PostgreSQL, through SQLAlchemy Core."""

from __future__ import annotations

from sigopt_ai.backends.sql._backend import SQLBackend

__all__ = ["SQLBackend"]

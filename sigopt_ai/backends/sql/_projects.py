"""Projects in the SQL store: made explicitly here, or implicitly by a run's or experiment's start."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sigopt_ai._models import ProjectRecord
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._engine import Store, dialect_insert

__all__ = ["create_project", "get_project", "insert_project"]


def insert_project(conn: Connection, project: str, created: float, name: str | None = None) -> bool:
    """Insert a project unless one has this id, in the caller's transaction; True when it was inserted.

    The one way a project is made: by :func:`create_project`, and by the first run or experiment in it.
    """
    statement = dialect_insert(conn)(t.projects).values(id=project, created=created, name=name)
    # RETURNING says whether the row went in (the drivers' rowcount does not agree on a conflict).
    inserted = conn.execute(statement.on_conflict_do_nothing(index_elements=["id"]).returning(t.projects.c.id))
    return inserted.first() is not None


def create_project(store: Store, project: str, name: str | None) -> bool:
    """Insert a project unless one has this id; True when it was inserted."""
    with store.transaction() as conn:
        return insert_project(conn, project, time.time(), name)


def get_project(store: Store, project: str) -> ProjectRecord | None:
    """The project with this id, or None; a project made by a run's start is named by its id."""
    query = sa.select(t.projects.c.id, t.projects.c.name, t.projects.c.created).where(t.projects.c.id == project)
    with store.transaction(write=False) as conn:
        row = conn.execute(query).first()
    return None if row is None else ProjectRecord(id=row.id, name=row.name or row.id, created=row.created)

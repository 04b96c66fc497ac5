"""Fresh SQL stores of each kind, for the tests of what only the SQL backend does (migrations, keyed
writes): ``@pytest.mark.parametrize("kind", SQL_KINDS)`` and ``sql_store(kind, request, tmp_path)``."""

from __future__ import annotations

from pathlib import Path

import pytest

SQL_KINDS = ["sqlite", "postgresql"]


def sql_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty store: a SQLite file in ``tmp_path``, or a database on the session's
    PostgreSQL server (the ``postgres_url`` fixture)."""
    if kind == "sqlite":
        return str(tmp_path / "store" / "sigopt_ai.db")
    return str(request.getfixturevalue("postgres_url"))

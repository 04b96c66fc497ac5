"""A real PostgreSQL server for the store contract tests, started once per session in a temp dir."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigopt_ai.backends import Backend, make_backend


def _initdb() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return found[-1] if found else shutil.which("initdb")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; CI and these machines run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The base URL of a throwaway PostgreSQL cluster on 127.0.0.1 (skips only where none is installed)."""
    initdb = _initdb()
    if initdb is None or os.environ.get("SIGOPT_AI_SKIP_POSTGRES"):
        pytest.skip("PostgreSQL is not installed here (.ci/run installs it)")
    pytest.importorskip("psycopg")
    bindir = os.path.dirname(initdb)
    data = tempfile.mkdtemp(prefix="sigopt-pg-")
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([initdb, "-D", data, "-A", "trust", "-U", "postgres"]), check=True, capture_output=True)
    subprocess.run(
        _as_postgres(
            [
                os.path.join(bindir, "pg_ctl"),
                "-D",
                data,
                "-w",
                "-l",
                os.path.join(data, "log"),
                "-o",
                f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh database on the session's server."""
    return create_database(postgres_server)


def create_database(postgres_server: str) -> str:
    """The URL of a new, empty database on the server at ``postgres_server``."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    for _ in range(50):
        try:
            with psycopg.connect(f"{dsn}/postgres", autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            break
        except psycopg.OperationalError:
            time.sleep(0.1)
    return f"{postgres_server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh store of each kind every backend must serve."""
    if request.param == "sqlite":
        return str(tmp_path / "contract.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def backend(store_url: str) -> Iterator[Backend]:
    """A backend built from the URL, as the SDK builds it."""
    built = make_backend(store_url)
    yield built
    built.close()

"""The stores of the contract suite: SQLite, a real PostgreSQL server (started once per session in a temp
dir), and a real ``sigopt-ai server`` over HTTP (once per session)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sigopt_ai.backends import Backend, make_backend
from tests.live_server import LiveServer


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
    with postgres_cluster(initdb) as url:
        yield url


@contextmanager
def postgres_cluster(initdb: str | None = None) -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 while the block runs (its base URL); benchmarks use it too.

    Raises:
        RuntimeError: PostgreSQL is not installed.
    """
    initdb = initdb or _initdb()
    if initdb is None:
        raise RuntimeError("PostgreSQL is not installed here (no initdb)")
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


# Contract tests that cannot apply to a server, with the reason pytest prints.
_NOT_OVER_HTTP = {
    "test_the_store_asks_its_service_and_reads_only_what_is_new": (
        "a server makes suggestions with its own service; a client cannot give it one"
    ),
    "test_a_worker_that_keeps_losing_races_does_not_insert_the_winners_point": (
        "a server makes suggestions with its own service; a client cannot give it one"
    ),
    "test_list_runs_is_newest_first_filtered_and_limited_and_keeps_each_runs_fields": (
        "its runs name an experiment that does not exist, which a server refuses (404): to a client, a missing "
        "experiment and another client's look alike"
    ),
}
# What a contract test may not see of the tests before it on the shared server: every table but the
# server's clients and tokens (and the projects, which the server may know by id).
_KEPT_TABLES = frozenset({"clients", "tokens", "projects", "alembic_version"})


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real ``sigopt-ai server`` over a SQLite store, for the contract suite over HTTP."""
    db = tmp_path_factory.mktemp("http-contract") / "server.db"
    with LiveServer(str(db)) as server:
        yield server


def _empty_store(db: str) -> None:
    """Delete every record of the tests before from the server's store (the run ids repeat across tests,
    and a run id belongs to one client)."""
    from sigopt_ai.backends.sql._schema import metadata

    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name not in _KEPT_TABLES:
                    conn.execute(table.delete())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "http"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh store of each kind every backend must serve (``http``: a real server on
    127.0.0.1, with its token and a journal of the test's own in the environment)."""
    if request.param == "sqlite":
        return str(tmp_path / "contract.db")
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    reason = _NOT_OVER_HTTP.get(request.node.originalname)
    if reason is not None:
        pytest.skip(f"not over HTTP: {reason}")
    return str(request.getfixturevalue("http_url"))


@pytest.fixture
def http_url(http_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session's server, emptied of the tests before, with its token in ``SIGOPT_API_TOKEN`` and a
    journal of the test's own in ``SIGOPT_AI_SPOOL``."""
    _empty_store(http_server.db)
    monkeypatch.setenv("SIGOPT_API_TOKEN", http_server.token)
    monkeypatch.setenv("SIGOPT_AI_SPOOL", str(tmp_path / "spool.db"))
    return http_server.url


@pytest.fixture
def backend(store_url: str) -> Iterator[Backend]:
    """A backend built from the URL, as the SDK builds it."""
    built = make_backend(store_url)
    yield built
    built.close()


@dataclass
class Received:
    """A request a :class:`ScriptedServer` received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ScriptedServer:
    """A real HTTP server on 127.0.0.1 (a thread) that answers the next scripted replies first, then as a
    healthy SigOpt server answers the token and batch endpoints (and 404 to the rest).

    Each scripted reply is ``(status, headers, body)``; every request is recorded in ``received``.
    """

    replies: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def batches(self) -> list[Received]:
        """The batch requests received, in arrival order."""
        return [r for r in self.received if r.path == "/v1/sigopt_ai/batches"]

    def start(self) -> None:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                scripted.received.append(
                    Received(self.command, self.path, dict(self.headers.items()), body, time.monotonic())
                )
                status, headers, reply = scripted.replies.pop(0) if scripted.replies else scripted.healthy(self.path)
                payload = json.dumps(reply).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @staticmethod
    def healthy(path: str) -> tuple[int, dict[str, str], Any]:
        if path == "/v1/tokens/self":
            return 200, {}, {"object": "token", "client": "1"}
        if path == "/v1/sigopt_ai/batches":
            return 200, {}, {"object": "batch", "count": 1}
        return 404, {}, {"object": "error", "message": "No such thing.", "status": 404}

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    """A :class:`ScriptedServer`, started."""
    server = ScriptedServer()
    server.start()
    yield server
    server.stop()

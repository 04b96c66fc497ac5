"""A real ``sigopt-ai server`` on 127.0.0.1, as a subprocess, for tests of the server and the HTTP backend."""

from __future__ import annotations

import base64
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TypeVar

__all__ = ["LiveDashboard", "LiveServer", "free_port", "sigopt_ai_cli"]

START_TIMEOUT_S = 60.0
_Server = TypeVar("_Server", bound="LiveServer")  # what ``with`` gives back: the subclass it was called on


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sigopt_ai_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``sigopt-ai ARGS`` in a fresh interpreter of this Python (the console script may be elsewhere)."""
    return subprocess.run(
        [sys.executable, "-c", "from sigopt_ai.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class LiveServer:
    """A real ``sigopt-ai server`` subprocess on 127.0.0.1 (a free port) over ``db`` (SQLite path or PG URL).

    The server runs in its own process group, so :meth:`kill` and :meth:`stop` reach every worker.

    Attributes:
        url: ``http://127.0.0.1:PORT``.
        api_url: The same: what ``SIGOPT_API_URL`` takes.
        db: The store.
        token: A token of client ``alpha``, made with ``sigopt-ai token create --client alpha``.
        log: The file the server's stdout and stderr go to.
    """

    def __init__(self, db: str, *, workers: int = 1, port: int | None = None) -> None:
        self.db = db
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.url
        self.log = Path(tempfile.mkdtemp(prefix="sigopt-live-")) / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.token = self.make_token("alpha")

    def make_token(self, client: str) -> str:
        """A new token of ``client`` (created if new), made with ``sigopt-ai token create``."""
        done = sigopt_ai_cli("token", "create", "--client", client, "--db", self.db)
        if done.returncode != 0:
            raise RuntimeError(f"sigopt-ai token create failed ({done.returncode}): {done.stderr}")
        return done.stdout.strip().splitlines()[-1]

    def env(self) -> dict[str, str]:
        """The environment that points the SDK and the official client at this server."""
        return {"SIGOPT_API_URL": self.url, "SIGOPT_API_TOKEN": self.token}

    def start(self) -> None:
        """Start the server (again: same port, same store); returns once ``GET /v1/tokens/self`` answers.

        Raises:
            RuntimeError: The server exited, or did not answer within a minute (its log is in the message).
        """
        if self._process is not None and self._process.poll() is None:
            return
        command = [sys.executable, "-c", "from sigopt_ai.cli import main; main()", *self._arguments()]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"The server exited with {self._process.returncode}:\n{self.log.read_text()}")
            if self._answers():
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"The server did not answer within {START_TIMEOUT_S:.0f} s:\n{self.log.read_text()}")

    def _arguments(self) -> list[str]:
        """The ``sigopt-ai`` command line that serves."""
        return ["server", "--db", self.db, "--port", str(self.port), "--workers", str(self.workers)]

    @property
    def pid(self) -> int | None:
        """The server's main process (its workers are its children), or None when it is not running."""
        return None if self._process is None else self._process.pid

    def _headers(self) -> dict[str, str]:
        """What a request needs to be let in: the token."""
        return {"Authorization": "Basic " + base64.b64encode(f"{self.token}:".encode()).decode()}

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/v1/tokens/self", headers=self._headers())
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def kill(self) -> None:
        """``kill -9`` every process of the server, and wait for them."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM every process of the server, and wait for them (SIGKILL after 30 s)."""
        self._signal(signal.SIGTERM)

    def _signal(self, signum: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._reap_group(process.pid)

    @staticmethod
    def _reap_group(pgid: int) -> None:
        """Wait until no process of the group is left (workers outlive their parent for a moment)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        os.killpg(pgid, signal.SIGKILL)

    def __enter__(self: _Server) -> _Server:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class LiveDashboard(LiveServer):
    """A real ``sigopt-ai dashboard`` subprocess on 127.0.0.1 (a free port): the local, read-only mode over ``db``,
    with no token (:attr:`token` is empty)."""

    def make_token(self, client: str) -> str:
        """No token: the local dashboard lets every request in as the local tenant."""
        return ""

    def _arguments(self) -> list[str]:
        return ["dashboard", "--db", self.db, "--port", str(self.port), "--no-open"]

    def _headers(self) -> dict[str, str]:
        return {}

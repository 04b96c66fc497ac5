"""Training code in real child processes for the fault and load tests: start one, follow what it prints."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer

__all__ = ["Child", "children", "sdk_env"]


def sdk_env(server: LiveServer, spool: Path, project: str, **extra: str) -> dict[str, str]:
    """The environment of a process whose SDK talks to ``server``, with its own journal ``spool``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGOPT_AI_", "SIGOPT_API_"))}
    return {
        **env,
        **server.env(),
        "SIGOPT_AI_SPOOL": str(spool),
        "SIGOPT_AI_FLUSH_INTERVAL": "0.1",
        "SIGOPT_PROJECT": project,
        **extra,
    }


class Child:
    """``code`` run by a fresh interpreter in ``cwd``; the JSON lines it prints are read by a thread, so
    waiting for one can time out, and a child that dies early fails the test with its stderr."""

    def __init__(self, code: str, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-c", textwrap.dedent(code), *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._pump = threading.Thread(target=self._read_stdout, daemon=True)
        self._pump.start()
        self._stderr: str | None = None

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self._lines.put(json.loads(line))
        self._lines.put(None)

    def next(self, timeout: float = 60) -> dict[str, Any]:
        """The next JSON line the child prints."""
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"the child printed nothing for {timeout:g} s")
        if item is None:
            pytest.fail(f"the child exited ({self.proc.wait()}) early:\n{self.stderr()[-3000:]}")
        return item

    def ready(self) -> list[dict[str, Any]]:
        """The JSON lines printed since the last call, without waiting (an exit shows as ``{"exit": True}``)."""
        out: list[dict[str, Any]] = []
        while True:
            try:
                item = self._lines.get_nowait()
            except queue.Empty:
                return out
            out.append({"exit": True} if item is None else item)

    def stderr(self) -> str:
        """Everything the child wrote on stderr (waits for it to exit)."""
        if self._stderr is None:
            assert self.proc.stderr is not None
            self._stderr = self.proc.stderr.read()
            self.proc.wait()
        return self._stderr

    def finish(self, timeout: float = 60) -> str:
        """Wait for the child to exit 0 without a traceback; returns its stderr."""
        self.proc.wait(timeout=timeout)
        err = self.stderr()
        assert self.proc.returncode == 0, err[-5000:]
        assert "Traceback" not in err, err[-5000:]
        return err

    def close(self) -> None:
        """Kill the child if it still runs, and close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._pump.join(timeout=10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """Start children in ``tmp_path``: ``children(code, args, env)``; all are killed and closed at the end."""
    started: list[Child] = []

    def start(code: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(code, args, env, tmp_path)
        started.append(child)
        return child

    yield start
    for child in started:
        child.close()

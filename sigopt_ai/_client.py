"""The process-wide client: one store, one writer thread, the runs this process has open.

It is created on first use and replaced after ``fork`` (a child must not share the parent's thread
or database connections). At interpreter exit it ends the runs still open and flushes.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

from sigopt_ai import _config
from sigopt_ai._records import Op
from sigopt_ai._syncer import Syncer

if TYPE_CHECKING:
    from sigopt_ai._backends._sql import SQLBackend
    from sigopt_ai._run import RunContext

logger = logging.getLogger("sigopt_ai")

HEARTBEAT_INTERVAL = 5.0
"""Seconds between heartbeats of active runs (an experiment's lease is renewed by them)."""


class Client:
    """A store, its writer thread, and the runs this process has open.

    Args:
        db: A SQLAlchemy URL or SQLite path.
        interval: Seconds between background writes.
    """

    def __init__(self, db: str, interval: float) -> None:
        from sigopt_ai._backends._sql import SQLBackend  # SQLAlchemy loads with the first run

        self.backend: SQLBackend = SQLBackend(db)
        self.active: dict[str, RunContext] = {}
        self._last_heartbeat = 0.0
        self.heartbeat_interval = HEARTBEAT_INTERVAL
        self.syncer = Syncer(self.backend, interval=interval, on_tick=self._tick)
        self.syncer.start()
        self.submit = self.syncer.submit  # type: ignore[method-assign]

    def _tick(self) -> list[Op]:
        now = time.time()
        runs = list(self.active.values())
        for run in runs:
            run._sample_memory()
        if not runs or now - self._last_heartbeat < self.heartbeat_interval:
            return []
        self._last_heartbeat = now
        return [("heartbeat", tuple(r.id for r in runs), now)]

    def submit(self, op: Op) -> None:
        """Queue a write."""
        self.syncer.submit(op)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Make every queued write durable; False if the store failed (never raises)."""
        return self.syncer.flush(timeout)

    def shutdown(self) -> None:
        """End open runs, flush and stop the writer."""
        for run in list(self.active.values()):
            run.end()  # a run from create_run() that was never ended
        if not self.syncer.close(timeout=30.0) and self.syncer.last_error is not None:
            logger.error(
                "sigopt_ai: %d records could not be written at exit: %s",
                self.syncer.pending,
                self.syncer.last_error,
            )
        self.backend.close()


_client: Client | None = None
_lock = threading.Lock()


def get_client() -> Client:
    """The process's client, created on first use."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                settings = _config.current()
                _client = Client(settings.resolved_db(), settings.resolved_interval())
                _install_exit_hooks()
    return _client


def peek_client() -> Client | None:
    """The client if one was created."""
    return _client


def reset_client() -> None:
    """Shut the client down; the next use creates a new one (after :func:`sigopt_ai.configure`)."""
    global _client
    with _lock:
        if _client is not None:
            _client.shutdown()
        _client = None


def _after_fork_in_child() -> None:
    global _client, _lock
    _client = None  # the parent's writer thread does not exist here; its queue belongs to the parent
    _lock = threading.Lock()


_hooks_installed = False


def _install_exit_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    previous = sys.excepthook

    def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        # An uncaught exception ends the process: open runs (from create_run) fail with it.
        if _client is not None:
            for run in list(_client.active.values()):
                run._fail_with(exc)
        previous(exc_type, exc, tb)

    sys.excepthook = _excepthook


def _at_exit() -> None:
    if _client is not None:
        _client.shutdown()


os.register_at_fork(after_in_child=_after_fork_in_child)

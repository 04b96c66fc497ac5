"""The process-wide session: one store, one writer thread, the runs this process has open.

It is created on first use. At interpreter exit it ends the runs still open and flushes.

After ``fork`` the child keeps the same session object, because the runs it inherited hold it (and
its queue's submit function), but makes it its own: a new writer thread, new locks, new store
connections, an empty queue (what the parent had queued is the parent's to write), and no open
runs. The parent's runs stay loggable from the child, into the same run ids; only the runs the
child creates are ended at its exit. A ``multiprocessing`` child, which leaves with ``os._exit``
and so skips ``atexit``, is shut down by a ``multiprocessing`` finalizer instead.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from types import ModuleType, TracebackType
from typing import Protocol

from sigopt_ai import _config
from sigopt_ai._failures import FailureInfo
from sigopt_ai._models import Op
from sigopt_ai.backends import Backend, make_backend
from sigopt_ai.runs._writer import Syncer

logger = logging.getLogger("sigopt_ai")

HEARTBEAT_INTERVAL = 5.0
"""Seconds between heartbeats of active runs (an experiment's lease is renewed by them)."""


class OpenRun(Protocol):
    """What the process needs of a run it has open (:class:`~sigopt_ai.RunContext` is one).

    The session heartbeats it, samples memory for it and ends it at exit; the exit hooks fail it
    with an uncaught exception; the SIGTERM handler (:mod:`sigopt_ai.runs._signals`) interrupts it.
    """

    @property
    def id(self) -> str:
        """The run's id."""

    def sample_memory(self) -> None:
        """Note the process's resident set now, for the run's peak."""

    def fail_with(self, exc: BaseException) -> None:
        """Record ``exc`` as the run's failure, unless it has ended or already failed."""

    def interrupt(self, failure: FailureInfo, *, stop: bool) -> None:
        """Fail the run with ``failure``; with ``stop``, its next logging call raises."""

    def end(self) -> object:
        """End the run and make what it recorded durable."""


class Session:
    """A store, its writer thread, and the runs this process has open.

    Args:
        db: A SQLAlchemy URL or SQLite path.
        interval: Seconds between background writes.
    """

    def __init__(self, db: str, interval: float) -> None:
        self.backend: Backend = make_backend(db)
        self.active: dict[str, OpenRun] = {}
        """The runs this process has open, by id (see :meth:`add_run`)."""
        self._starts: dict[str, Op] = {}  # their start records, queued again in a forked child
        self._last_heartbeat = 0.0
        self.heartbeat_interval = HEARTBEAT_INTERVAL
        self.syncer = Syncer(self.backend, interval=interval, on_tick=self._tick)
        self.syncer.start()
        self.submit = self.syncer.submit  # type: ignore[method-assign,assignment]

    def add_run(self, run: OpenRun, start: Op) -> None:
        """Keep ``run`` open until :meth:`remove_run`: heartbeat it, sample memory for it, end it at exit.

        Args:
            run: The run.
            start: Its start record, queued again in a forked child (see the module's docstring).
        """
        self._starts[run.id] = start
        self.active[run.id] = run

    def remove_run(self, run_id: str) -> None:
        """Forget a run that has ended."""
        self.active.pop(run_id, None)
        self._starts.pop(run_id, None)

    def _tick(self) -> list[Op]:
        now = time.time()
        runs = list(self.active.values())
        for run in runs:
            run.sample_memory()
        if not runs or now - self._last_heartbeat < self.heartbeat_interval:
            return []
        self._last_heartbeat = now
        return [("heartbeat", tuple(r.id for r in runs), now)]

    def after_fork(self) -> None:
        """Make this session the forked child's own (see the module's docstring)."""
        starts = list(self._starts.values())
        self.active.clear()  # the parent's runs: the parent heartbeats and ends them
        self._starts.clear()
        self.backend.after_fork()  # the parent's connections, and a lock its writer may have held
        self.syncer.after_fork()
        # The parent may not have written these starts yet; records the child logs into the runs
        # need them first (writing a start twice is a no-op).
        for start in starts:
            self.submit(start)

    def submit(self, op: Op) -> None:
        """Queue a write."""
        self.syncer.submit(op)

    def flush(self, timeout: float | None = None) -> bool:
        """Make every queued write durable; False if the store failed (never raises).

        ``timeout`` defaults to the ``flush_timeout`` setting (see :meth:`Syncer.flush`)."""
        return self.syncer.flush(timeout)

    def shutdown(self) -> None:
        """End open runs, flush and stop the writer."""
        for run in list(self.active.values()):
            run.end()  # a run from create_run() that was never ended
        if not self.syncer.close() and self.syncer.last_error is not None:
            logger.error(
                "sigopt_ai: %d records could not be written at exit: %s",
                self.syncer.pending,
                self.syncer.last_error,
            )
        self.report_undelivered()
        self.backend.close()

    def report_undelivered(self) -> None:
        """Say on stderr how many batches wait in the server's offline journal, if any (never raises)."""
        try:
            note = self.backend.undelivered()
        except Exception:  # a report must not fail the exit or the run's end
            logger.debug("sigopt_ai: reading the journal failed", exc_info=True)
            return
        if note:
            print(note, file=sys.stderr, flush=True)


_session: Session | None = None
_lock = threading.Lock()


def get_session() -> Session:
    """The process's session, created on first use."""
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                settings = _config.current()
                _session = Session(settings.resolved_db(), settings.resolved_interval())
                _install_exit_hooks()
    return _session


def peek_session() -> Session | None:
    """The session if one was created."""
    return _session


def reset_session() -> None:
    """Shut the session down; the next use creates a new one (after :func:`sigopt_ai.configure`)."""
    global _session
    with _lock:
        if _session is not None:
            _session.shutdown()
        _session = None


_multiprocessing_hook = False


def _before_fork() -> None:
    global _multiprocessing_hook
    # multiprocessing imports its util module before it forks. Its children exit with os._exit, so
    # atexit never runs there; an after-fork hook registered once here (and inherited by every
    # descendant) gives each such child a finalizer that shuts the session down instead.
    util = sys.modules.get("multiprocessing.util")
    if util is not None and not _multiprocessing_hook:
        _multiprocessing_hook = True
        # The registry calls the hook with the object registered: the module itself, so that the
        # hook need not import it.
        util.register_after_fork(util, _finalize_at_multiprocessing_exit)


def _finalize_at_multiprocessing_exit(util: ModuleType) -> None:
    """In a ``multiprocessing`` child: shut the session down when it exits (``util`` is
    ``multiprocessing.util``)."""
    util.Finalize(None, _at_exit, exitpriority=0)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    if _session is not None:
        _session.after_fork()


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
        if _session is not None:
            for run in list(_session.active.values()):
                run.fail_with(exc)
        previous(exc_type, exc, tb)

    sys.excepthook = _excepthook


def _at_exit() -> None:
    if _session is not None:
        _session.shutdown()


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)

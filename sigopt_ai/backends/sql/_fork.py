"""``fork`` waits for the store's write transactions, so that a child never inherits one.

SQLite keeps the lock state of every connection in process memory. A child forked while one of the
parent's connections holds the write lock inherits that state: its own connections then believe a
connection of their process still holds the lock, and every write fails with "database is locked"
until the child exits. The same holds for SQLite's internal mutexes, which a thread of the parent
may hold inside a transaction. So write transactions enter :data:`FORK_GATE`, and ``fork`` (through
:func:`os.register_at_fork`) waits until none is open and keeps new ones out until it returns.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger("sigopt_ai")

FORK_WAIT = 1.0
"""Seconds ``fork`` waits for open write transactions. One that holds the lock takes milliseconds;
one still open after this is waiting for another process's lock, which it does not hold yet, so the
fork is safe then (forking during that wait was checked to leave the child able to write)."""


class ForkGate:
    """Write transactions open concurrently; ``fork`` waits until none is open.

    Args:
        wait: Seconds ``fork`` waits before it goes ahead anyway.
    """

    def __init__(self, wait: float = FORK_WAIT) -> None:
        self.wait = wait
        self._warned = False
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._open = 0
        self._forking = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the gate open for one write transaction (waits only while a fork is under way)."""
        with self._cond:
            while self._forking:
                self._cond.wait()
            self._open += 1
        try:
            yield
        finally:
            with self._cond:
                self._open -= 1
                if not self._open:
                    self._cond.notify_all()

    def before_fork(self) -> None:
        """Called before ``fork``: keep new transactions out and wait for the open ones."""
        with self._cond:
            self._forking += 1
            if not self._cond.wait_for(lambda: not self._open, self.wait) and not self._warned:
                self._warned = True  # a store locked for long would otherwise warn at every fork
                logger.warning(
                    "sigopt_ai: fork() waited %.1f s for a store transaction of this process and went ahead; "
                    "if that transaction held the store's lock, the child cannot write its records",
                    self.wait,
                )

    def after_fork_in_parent(self) -> None:
        """Called in the parent after ``fork``: let transactions in again."""
        with self._cond:
            self._forking -= 1
            self._cond.notify_all()

    def after_fork_in_child(self) -> None:
        """Called in the child: only the forking thread exists here, so nothing is open."""
        self._reset()


FORK_GATE = ForkGate()
"""The process's gate: every write transaction of a SQL store enters it."""

os.register_at_fork(
    before=FORK_GATE.before_fork,
    after_in_parent=FORK_GATE.after_fork_in_parent,
    after_in_child=FORK_GATE.after_fork_in_child,
)

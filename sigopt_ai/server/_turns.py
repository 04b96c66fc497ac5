"""Server processes over one SQLite file take turns writing through a file lock, not by polling.

SQLite has one write lock per file, and a connection waiting for it polls (every millisecond, see
``backends/sql/_engine.py``): two server workers committing groups back to back left the lock idle
most of each millisecond, and served a third of what one worker does. Each process's group commit
takes an exclusive ``flock`` on a file beside the store first, so the kernel wakes the next worker
the moment one is done, and the SQLite lock is free when it asks. The SQLite lock still guards the
data (the SDK and the server's other routes do not take turns here), and the kernel releases the
``flock`` of a process that dies.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; the group commit polls for SQLite's lock as everything else does
    fcntl = None  # type: ignore[assignment]

__all__ = ["Turns", "no_turns"]


def no_turns() -> AbstractContextManager[None]:
    """No turns to take (a store other than a SQLite file)."""
    return nullcontext()


class Turns:
    """The turns of the server processes writing to the SQLite file ``store``.

    Args:
        store: The SQLite file; the lock file is ``<store>.turns`` beside it.
    """

    def __init__(self, store: Path) -> None:
        self.path = Path(f"{store}.turns")
        self._fd: int | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        """Hold this process's turn (waiting for another process's to end)."""
        fd = self._descriptor()
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _descriptor(self) -> int | None:
        """This process's descriptor of the lock file (None where there is no flock, or it cannot
        be opened: turns are a speed-up, never a condition of writing)."""
        if fcntl is None:
            return None
        with self._lock:
            if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
                try:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError:
                    return None
                self._pid = os.getpid()
            return self._fd

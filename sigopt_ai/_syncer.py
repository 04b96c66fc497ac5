"""The background writer: one daemon thread, one queue, one stop event.

Logging calls append operations to a deque (an atomic, lock-free append under the GIL) and return.
The thread wakes every ``interval`` seconds, or at once on :meth:`Syncer.flush`, and hands what is
queued to the backend in batches. A failed batch is kept and retried on the next tick, so a store
outage delays records but loses none while the process lives.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from sigopt_ai._backends._base import Backend
from sigopt_ai._records import Op

logger = logging.getLogger("sigopt_ai")

MAX_BATCH = 50_000
"""Operations written in one transaction."""

DEFAULT_INTERVAL = 0.5
"""Seconds between writes: the most a ``kill -9`` can lose."""

_RETRY_BACKOFF_MAX = 5.0


class Syncer:
    """Moves queued operations to a backend from one background thread.

    Args:
        backend: Where operations go.
        interval: Seconds between writes.
        on_tick: Called on the writer thread before each write, returning operations to append
            (heartbeats of the process's active runs).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        interval: float = DEFAULT_INTERVAL,
        on_tick: Callable[[], list[Op]] | None = None,
    ) -> None:
        self.backend = backend
        self.interval = interval
        self._on_tick = on_tick
        self._queue: deque[Op | threading.Event] = deque()
        # The hot path: bind the deque's C-level append directly, no Python frame per logged value.
        self.submit = self._queue.append  # type: ignore[method-assign,assignment]
        self._retry: list[Op] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # serialises drains between the thread and a synchronous flush
        self.last_error: BaseException | None = None
        self.error_count = 0
        self.written = 0

    def submit(self, op: Op) -> None:
        """Queue one operation. Never blocks, never raises."""
        self._queue.append(op)

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="sigopt-ai-writer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._delay())
            self._wake.clear()
            self._drain_once()
        self._drain_once()  # final flush

    def _delay(self) -> float:
        if self._retry:
            return float(min(_RETRY_BACKOFF_MAX, self.interval * 2 ** min(self.error_count, 4)))
        return self.interval

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Write everything queued before this call.

        Returns:
            True when it is durable; False if the store failed or ``timeout`` passed
            (``last_error`` says why). Never raises.
        """
        if self._thread is None or not self._thread.is_alive() or threading.current_thread() is self._thread:
            self._drain_once()
            return not self._retry and not self._queue
        done = threading.Event()
        self._queue.append(done)
        self._wake.set()
        return done.wait(timeout) and not self._retry

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flush and stop the thread. Returns whether everything was written."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._drain_once()
        return not self._retry and not self._queue

    def _take(self) -> tuple[list[Op], list[threading.Event]]:
        batch, events = self._retry, []
        self._retry = []
        popleft = self._queue.popleft
        while len(batch) < MAX_BATCH:
            try:
                item = popleft()
            except IndexError:
                break
            if isinstance(item, threading.Event):
                events.append(item)
                break  # a flush marker: write what came before it now
            batch.append(item)
        return batch, events

    def _drain_once(self) -> None:
        with self._lock:
            if self._on_tick is not None:
                self._queue.extend(self._safe_tick())
            while True:
                batch, events = self._take()
                if batch and not self._write(batch):
                    for event in events:
                        self._queue.appendleft(event)  # the flush waits for the retry, or times out
                    return
                for event in events:
                    event.set()
                if not self._queue:
                    return

    def _safe_tick(self) -> list[Op]:
        try:
            return self._on_tick() if self._on_tick else []
        except Exception:  # a heartbeat problem must not stop the writer
            logger.warning("sigopt_ai: collecting heartbeats failed", exc_info=True)
            return []

    def _write(self, batch: list[Op]) -> bool:
        try:
            self.backend.write(batch)
        except Exception as exc:
            self._retry = batch
            self.error_count += 1
            if self.last_error is None or type(exc) is not type(self.last_error):
                logger.warning("sigopt_ai: writing %d records failed; will retry", len(batch), exc_info=True)
            self.last_error = exc
            return False
        self.written += len(batch)
        self.error_count = 0
        self.last_error = None
        return True

    @property
    def pending(self) -> int:
        """Operations not yet written."""
        return len(self._queue) + len(self._retry)

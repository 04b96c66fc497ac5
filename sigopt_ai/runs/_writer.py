"""The background writer: one daemon thread, one queue, and a spool file for store outages.

Logging calls append operations to a deque and return. The thread wakes every ``interval`` seconds,
or at once on :meth:`Syncer.flush`, and hands what is queued to the backend in batches.

A batch can fail for two reasons, handled differently:

* The store is unavailable (locked, busy, unable to open, read-only, full): the batch is kept and
  retried with backoff, so an outage delays records but loses none while the process lives. Past
  ``high_water`` queued operations, the queue is spilled to a spool file in the temp directory
  instead of growing, and the spool is written back, in order, when the store returns. An outage
  that fills the spool (``SPOOL_LIMIT_BYTES``) costs metric history and files, reported once, never a
  run's other records.
* A record holds a value the store cannot take (an integer past 64 bits, text UTF-8 cannot encode,
  an object the driver cannot bind): retrying cannot help, so the batch is split in halves until
  the bad record is alone. Every other record is written; the bad one is repaired if its text was
  the problem, else set aside in the backend's dead letters, and reported once.

When the writer is healthy but slower than a tight logging loop, :meth:`Syncer.submit` makes the
producer wait until the writer has caught up (backpressure), which bounds both memory and what a
``kill -9`` can lose; files (:meth:`Syncer.submit_sized`) count by their bytes too, past
``high_water_bytes``, so that a stream of images cannot grow memory either. Once a queue that went
past ``high_water`` is flushed, the memory it used is given back to the operating system before the
flush returns.
"""

from __future__ import annotations

import logging
import math
import pickle
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO

from sigopt_ai import _config
from sigopt_ai._models import Op
from sigopt_ai.backends._base import Backend
from sigopt_ai.backends._dead_letters import causes, escape_text, repair
from sigopt_ai.runs._sysinfo import give_memory_back

logger = logging.getLogger("sigopt_ai")

MAX_BATCH = 50_000
"""Operations written in one transaction."""

DEFAULT_INTERVAL = 0.5
"""Seconds between writes: the most a ``kill -9`` can lose while the writer keeps up."""

HIGH_WATER = 100_000
"""Queued operations past which a producer waits for the writer (or, with the store down, spills)."""

HIGH_WATER_BYTES = 32 * 2**20
"""Bytes of file contents queued in memory past which a producer waits for the writer (or, with the
store down, spills): operations are counted, but a few files can weigh more than 100,000 metrics."""

MAX_BATCH_BYTES = 4 * 2**20
"""File contents in one write (or one spooled chunk), unless it holds a single file: a server takes
a batch in one request body (8 MiB by default, which base64 makes about 6 MiB of file contents)."""

SPOOL_LIMIT_BYTES = 1 << 30
"""The most the spool file holds; past it, metric points and checkpoints are dropped (and reported)."""

_SPOOL_MEMORY_LIMIT = 200_000  # operations kept in memory when the temp directory takes no more
# Dropped once the spool is full: history, and files (kept in memory they would have no bound); a
# run's other records are kept.
_DROPPABLE = frozenset({"metric", "checkpoint", "heartbeat", "file"})
_RETRY_BACKOFF_MAX = 5.0
_BACKPRESSURE_MAX_WAIT = 5.0  # a writer this slow is treated as down: the producer spills instead
_BACKPRESSURE_POLL = 0.05
# A waiting producer resumes once the queue is down to this fraction of high_water: producer and
# writer compete for the GIL, so taking turns in long stretches writes faster than alternating often.
_RESUME_FRACTION = 0.1
_REASON_LENGTH = 200


class Syncer:
    """Moves queued operations to a backend from one background thread.

    Args:
        backend: Where operations go.
        interval: Seconds between writes.
        on_tick: Called on the writer thread before each write, returning operations to append
            (heartbeats of the process's active runs).
        flush_timeout: Seconds :meth:`flush` waits by default (default: the ``flush_timeout`` setting).
        high_water: Queued operations past which :meth:`submit` applies backpressure or spills.
        high_water_bytes: Queued file bytes past which :meth:`submit_sized` applies backpressure or spills.
        spool_limit: Bytes the spool file may hold.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        interval: float = DEFAULT_INTERVAL,
        on_tick: Callable[[], list[Op]] | None = None,
        flush_timeout: float | None = None,
        high_water: int = HIGH_WATER,
        high_water_bytes: int = HIGH_WATER_BYTES,
        spool_limit: int = SPOOL_LIMIT_BYTES,
    ) -> None:
        if flush_timeout is None:
            flush_timeout = _config.current().resolved_flush_timeout()
        self.backend = backend
        self.interval = interval
        self.flush_timeout = flush_timeout
        self.high_water = high_water
        self.high_water_bytes = high_water_bytes
        self.spool_limit = spool_limit
        self._on_tick = on_tick
        self._queue: deque[Op | threading.Event] = deque()
        self.submit = self._make_submit()
        self._init_state()

    def _init_state(self) -> None:
        """Everything but the queue: set up once, and again in a forked child (see :meth:`after_fork`)."""
        self._retry: list[Op] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # serialises drains between the thread and a synchronous flush
        self._spool_lock = threading.Lock()  # orders spills against the writer taking from the queue
        self._spool = _Spool(self.spool_limit)
        self._spool_events: list[threading.Event] = []  # flush markers spilled with the queue
        self._bytes = 0  # file contents in the queue (see submit_sized)
        self._bytes_lock = threading.Lock()
        self._progress = threading.Event()  # set each time the writer finishes a batch
        self._attempt_done = threading.Condition()
        self._attempts = 0
        self._failing = False  # the last write failed because of the store
        self._down = False  # a flush timed out while failing: later flushes wait for one attempt only
        self._backlog = False  # the queue went past high_water since memory was last given back
        self.last_error: BaseException | None = None
        self.error_count = 0
        self.written = 0
        self.dead_letters = 0
        self.repaired = 0
        self.dropped = 0
        self._reported: set[tuple[object, object]] = set()

    submit: Callable[[Op], None]
    """Queue one operation. Never raises; waits only while a healthy writer is behind.

    A closure over the deque's C-level ``append``, made in ``__init__``: the hot path costs one call,
    one append and one length check."""

    def _make_submit(self) -> Callable[[Op], None]:
        queue, append, high_water = self._queue, self._queue.append, self.high_water

        def submit(op: Op) -> None:
            append(op)
            if len(queue) > high_water:
                self._over_high_water()

        return submit

    def submit_sized(self, op: Op, size: int) -> None:
        """Queue an operation that carries ``size`` bytes of file contents (a ``file`` record).

        Like :meth:`submit`, but the queue is bounded by bytes too: past ``high_water_bytes``, the
        producer waits for a healthy writer, or spills the queue to the spool file while the store
        is down, so that a stream of images cannot grow memory without bound.
        """
        with self._bytes_lock:
            self._bytes += size
        self.submit(op)
        if self._bytes > self.high_water_bytes:
            self._over_high_water()

    def _taken(self, op: Op) -> int:
        """Count the contents of a ``file`` record just taken from the queue out of the queued bytes."""
        size = len(op[5])
        with self._bytes_lock:
            # Never below zero, even for a file record queued through plain submit (never counted).
            self._bytes = max(0, self._bytes - size)
        return size

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if not self._writer_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="sigopt-ai-writer", daemon=True)
            self._thread.start()

    def _writer_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._delay())
            self._wake.clear()
            self._drain_once()
        self._drain_once()  # final flush

    def _delay(self) -> float:
        if self._failing:
            return float(min(_RETRY_BACKOFF_MAX, self.interval * 2 ** min(self.error_count, 4)))
        return self.interval

    # -- backpressure and spilling (on the producer's thread) ---------------------------------------

    def _over_high_water(self) -> None:
        """Wait for a healthy writer to drain most of the queue; spill it if the store is failing."""
        if threading.current_thread() is self._thread:
            return
        self._backlog = True
        deadline = time.monotonic() + _BACKPRESSURE_MAX_WAIT
        resume_at = self.high_water * _RESUME_FRACTION
        resume_bytes = self.high_water_bytes * _RESUME_FRACTION
        while len(self._queue) > resume_at or self._bytes > resume_bytes:
            if self._failing or not self._writer_alive() or time.monotonic() > deadline:
                self._spill()
                return
            self._progress.clear()
            self._wake.set()
            self._progress.wait(_BACKPRESSURE_POLL)

    def _spill(self) -> None:
        """Move everything queued to the spool file, oldest first, so memory stays bounded."""
        with self._spool_lock:
            popleft = self._queue.popleft
            chunk: list[Op] = []
            chunk_bytes = 0
            while True:
                try:
                    item = popleft()
                except IndexError:
                    break
                if isinstance(item, threading.Event):
                    self._spool_events.append(item)  # set once everything spilled before it is written
                    continue
                if item[0] == "file":
                    size = self._taken(item)
                    if chunk_bytes and chunk_bytes + size > MAX_BATCH_BYTES:
                        self._spool_chunk(chunk)  # a chunk is written back as one batch
                        chunk, chunk_bytes = [], 0
                    chunk_bytes += size
                chunk.append(item)
                if len(chunk) == MAX_BATCH:
                    self._spool_chunk(chunk)
                    chunk, chunk_bytes = [], 0
            self._spool_chunk(chunk)

    def _spool_chunk(self, chunk: list[Op]) -> None:
        if self._spool.append(chunk):
            return
        # The spool is full: an outage this long costs metric history, never a run's other records.
        kept = [op for op in chunk if op[0] not in _DROPPABLE]
        if self.dropped == 0:
            logger.error(
                "sigopt_ai: the store has been unavailable for so long that %d bytes of records wait in a "
                "spool file; metric points, checkpoints and files logged from now until it is back are dropped "
                "(see Syncer.dropped); the runs' other records are kept",
                self.spool_limit,
            )
        self.dropped += len(chunk) - len(kept)
        self._spool.append(kept, force=True)

    # -- flush and close ------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything queued before this call.

        Args:
            timeout: Seconds to wait (default ``flush_timeout``; ``math.inf`` waits until written).
                While the store is known to be down (an earlier flush timed out on it), the wait
                ends with the writer's next attempt.

        Returns:
            True when it is durable; False if the store failed or ``timeout`` passed
            (``last_error`` says why). Never raises.
        """
        wait = self.flush_timeout if timeout is None else timeout
        limit = None if math.isinf(wait) else max(0.0, wait)
        if not self._writer_alive() or threading.current_thread() is self._thread:
            self._drain_once()
            return self.pending == 0
        with self._attempt_done:
            attempts = self._attempts
        done = threading.Event()
        self._queue.append(done)
        self._wake.set()
        if self._down and self._wait_one_attempt(attempts, limit):
            return done.is_set()
        if done.wait(limit):
            return True
        if self._failing:
            self._down = True
        return False

    def _wait_one_attempt(self, attempts: int, limit: float | None) -> bool:
        """Wait (at most ``limit``) for a write attempt after ``attempts``; True if it failed."""
        with self._attempt_done:
            self._attempt_done.wait_for(lambda: self._attempts > attempts, limit)
        return self._failing

    def close(self, timeout: float | None = None) -> bool:
        """Flush and stop the thread. Returns whether everything was written."""
        wait = self.flush_timeout if timeout is None else timeout
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(None if math.isinf(wait) else wait)
            if thread.is_alive():  # stuck in an attempt on a store that is down
                return False
        if thread is None or thread is threading.current_thread():  # else the thread's last drain was the flush
            self._drain_once()
        written = self.pending == 0
        if written:
            self._spool.close()
        return written

    # -- the writer -----------------------------------------------------------------------------

    def _drain_once(self) -> None:
        with self._lock:
            try:
                if self._on_tick is not None:
                    self._queue.extend(self._safe_tick())
                self._drain()
            finally:
                with self._attempt_done:
                    self._attempts += 1
                    self._attempt_done.notify_all()

    def _drain(self) -> None:
        while True:
            batch, events = self._take()
            if batch and not self._write(batch):
                for event in reversed(events):
                    self._queue.appendleft(event)  # the flush waits for the retry, or times out
                return
            drained = not batch and not events
            del batch  # written: its records are freed before memory is given back
            self._flushed(events)
            self._progress.set()
            if drained:
                return

    def _flushed(self, events: list[threading.Event]) -> None:
        """Tell the flushes waiting on ``events`` that what they waited for is written; first give
        the memory of a queue that went past ``high_water`` back, so that it is back when they return."""
        if events and self._backlog:
            self._backlog = False
            give_memory_back()
        for event in events:
            event.set()

    def _take(self) -> tuple[list[Op], list[threading.Event]]:
        """The next batch in logging order (a failed batch, then the spool, then the queue), and the
        flush markers to set once it is written."""
        with self._spool_lock:
            events: list[threading.Event] = []
            if self._retry:
                batch, self._retry = self._retry, []
                return batch, events
            if self._spool or self._spool_events:  # a spill can move flush markers without records
                batch = self._spool.take() if self._spool else []
                if not self._spool:
                    events, self._spool_events = self._spool_events, []
                return batch, events
            batch = []
            batch_bytes = 0
            popleft = self._queue.popleft
            while len(batch) < MAX_BATCH:
                try:
                    item = popleft()
                except IndexError:
                    break
                if isinstance(item, threading.Event):
                    events.append(item)
                    break  # a flush marker: write what came before it now
                if item[0] == "file":
                    if batch_bytes and batch_bytes + len(item[5]) > MAX_BATCH_BYTES:
                        self._queue.appendleft(item)  # the next batch's first (producers append on the right)
                        break
                    batch_bytes += self._taken(item)
                batch.append(item)
            return batch, events

    def _safe_tick(self) -> list[Op]:
        try:
            return self._on_tick() if self._on_tick else []
        except Exception:  # a heartbeat problem must not stop the writer
            logger.warning("sigopt_ai: collecting heartbeats failed", exc_info=True)
            return []

    def _attempt(self, batch: list[Op]) -> BaseException | None:
        """Write ``batch`` once; the error if it failed.

        The error is returned, not handled in an ``except`` block, so that an outage raised by a later
        write (while the batch is split) does not chain to the record's error and pass for it.
        """
        try:
            self.backend.write(batch)
        except Exception as exc:
            return exc
        self._store_ok(len(batch))
        return None

    def _write(self, batch: list[Op]) -> bool:
        """Write ``batch``; False (the batch kept for a retry) if the store is unavailable."""
        error = self._attempt(batch)
        if error is None:
            return True
        if self._rejects(error):
            self._store_ok(0)  # the store answered: it is up, even if no record of the batch is written
            return self._write_apart(batch, error)
        self._retry = batch
        self._store_failed(error, len(batch))
        return False

    def _write_apart(self, batch: list[Op], error: BaseException) -> bool:
        """Write a batch that the store rejected, in halves, until each bad record is alone and set aside.

        Order is kept: the halves are written left to right. If the store becomes unavailable on
        the way, what is left is kept for a retry and False is returned.
        """
        parts, part_error = [batch], error
        first = True
        while parts:
            part = parts.pop()
            if not first:
                failed = self._attempt(part)
                if failed is None:
                    continue
                part_error = failed
            first = False
            if not self._rejects(part_error):
                return self._keep_for_retry(part, parts, part_error)
            if len(part) > 1:
                middle = len(part) // 2
                parts += [part[middle:], part[:middle]]
            elif (outage := self._set_aside(part[0], part_error)) is not None:
                return self._keep_for_retry(part, parts, outage)
        return True

    def _keep_for_retry(self, part: list[Op], rest: list[list[Op]], error: BaseException) -> bool:
        self._retry = part + [op for later in reversed(rest) for op in later]
        self._store_failed(error, len(self._retry))
        return False

    def _rejects(self, error: BaseException) -> bool:
        try:
            return self.backend.rejects(error)
        except Exception:  # a classification bug must not lose records: treat it as an outage
            return False

    def _set_aside(self, op: Op, error: BaseException) -> BaseException | None:
        """Store a repaired copy of a rejected record, else keep it as a dead letter; report it once.

        Returns the error if the store became unavailable meanwhile (the record is then kept for a retry).
        """
        repaired = repair(op)
        if repaired is not None:
            try:
                self.backend.write([repaired])
            except Exception as exc:
                if not self._rejects(exc):
                    return exc
            else:
                self._store_ok(1)
                self.repaired += 1
                self._report(op, error, "stored it with the text UTF-8 cannot encode escaped")
                return None
        try:
            where = self.backend.dead_letter(op, error)
        except Exception as exc:
            logger.error("sigopt_ai: a record the store rejected could not be kept anywhere (%s); it is lost", exc)
            where = None
        self.dead_letters += 1
        if where is not None:
            self._report(op, error, f"set it aside in {where}; the other records were written")
        return None

    def _report(self, op: Op, error: BaseException, outcome: str) -> None:
        """Warn about a rejected record, once per run and kind of record."""
        kind, run_id = op[0] if op else "?", op[1] if len(op) > 1 else None
        if (run_id, kind) in self._reported:
            return
        self._reported.add((run_id, kind))
        logger.warning(
            "sigopt_ai: a %r record of run %s cannot be stored as logged (%s); %s.",
            kind,
            escape_text(str(run_id)),
            _reason(error),
            outcome,
        )

    def _store_failed(self, exc: BaseException, count: int) -> None:
        self.error_count += 1
        self._failing = True
        if self.last_error is None or type(exc) is not type(self.last_error):
            logger.warning("sigopt_ai: writing %d records failed; will retry: %s", count, _reason(exc))
        self.last_error = exc

    def _store_ok(self, count: int) -> None:
        self.written += count
        self.error_count = 0
        self.last_error = None
        self._failing = False
        self._down = False

    @property
    def pending(self) -> int:
        """Operations not yet written."""
        return len(self._queue) + len(self._retry) + len(self._spool)

    @property
    def in_memory(self) -> int:
        """Operations waiting in memory (the rest of :attr:`pending` is spooled to a temp file)."""
        return len(self._queue) + len(self._retry)

    @property
    def queued_bytes(self) -> int:
        """File contents waiting in the queue (see :meth:`submit_sized`)."""
        return self._bytes

    @property
    def spooled(self) -> int:
        """Operations spilled to the spool file while the store was down or the writer stuck."""
        return len(self._spool)

    def after_fork(self) -> None:
        """Make this syncer the forked child's own: fresh locks and events, no backlog, a new thread.

        Called in the child right after ``fork``, where only the forking thread exists: the parent's
        writer thread is gone and a lock it held would stay held forever. What was queued or spooled
        belongs to the parent, which writes it. The deque itself is kept (emptied) because runs hold
        :attr:`submit`, which appends to it.
        """
        self._queue.clear()
        self._init_state()
        self.start()


class _Spool:
    """Operations moved out of memory while the store is down, oldest first.

    Chunks are pickled into one anonymous temp file (unlinked at creation, so nothing is left behind
    even after ``kill -9``) of at most ``limit_bytes``; a chunk that cannot be pickled or written stays
    in memory, up to a limit too.

    Args:
        limit_bytes: The most the file holds.
    """

    def __init__(self, limit_bytes: int) -> None:
        self._chunks: deque[tuple[int, int, int] | list[Op]] = deque()  # (offset, size, count) in the file
        self._file: IO[bytes] | None = None
        self._limit_bytes = limit_bytes
        self._count = 0
        self._in_memory = 0

    def __len__(self) -> int:
        return self._count

    def append(self, ops: list[Op], *, force: bool = False) -> bool:
        """Add ``ops`` after those already spooled; False (nothing added) if the spool is full, unless
        ``force`` keeps them in memory anyway."""
        if not ops:
            return True
        try:
            data = pickle.dumps(ops, protocol=pickle.HIGHEST_PROTOCOL)
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="sigopt-ai-spool-")
            offset = self._file.seek(0, 2)
            if offset + len(data) <= self._limit_bytes:
                self._file.write(data)
                self._chunks.append((offset, len(data), len(ops)))
                self._count += len(ops)
                return True
            full = True
        except Exception:  # unpicklable, or the temp directory is full: memory is the last resort
            full = self._in_memory + len(ops) > _SPOOL_MEMORY_LIMIT
        if full and not force:
            return False
        self._chunks.append(ops)
        self._in_memory += len(ops)
        self._count += len(ops)
        return True

    def take(self) -> list[Op]:
        """Remove and return the oldest chunk."""
        chunk = self._chunks.popleft()
        if isinstance(chunk, list):
            ops, count = chunk, len(chunk)
            self._in_memory -= count
        else:
            offset, size, count = chunk
            ops = self._read(offset, size, count)
        self._count -= count
        if not self._chunks and self._file is not None:
            self._file.truncate(0)
        return ops

    def _read(self, offset: int, size: int, count: int) -> list[Op]:
        assert self._file is not None
        try:
            self._file.seek(offset)
            ops: list[Op] = pickle.loads(self._file.read(size))
        except Exception as exc:  # the temp file failed under us: these records cannot come back
            logger.error("sigopt_ai: %d records spooled to a temp file could not be read back: %s", count, exc)
            return []
        return ops

    def close(self) -> None:
        """Drop the file (after everything was taken)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _reason(error: BaseException) -> str:
    """The root cause of ``error`` in one short line."""
    root = list(causes(error))[-1]
    text = f"{type(root).__name__}: {root}".splitlines()[0] if str(root) else type(root).__name__
    return escape_text(text if len(text) <= _REASON_LENGTH else f"{text[: _REASON_LENGTH - 3]}...")

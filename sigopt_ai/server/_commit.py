"""Group commit: the run updates of concurrent requests written in one store transaction.

A run update (MERGE, PUT, a checkpoint) is a handful of write operations, and a transaction of its
own costs far more than they do (a SQLite commit, a PostgreSQL round trip). Each server process has
one :class:`GroupCommit` writer thread: requests hand it their operations and wait; it takes every
update queued meanwhile and, in one write transaction, reads whose runs they name (each request's
must be its client's) and the metrics' standard deviations that a MERGE of a value alone keeps, then
applies all of them, and answers each request. A request is answered only once the transaction
holding its operations has committed, so a 204 still means the update is stored; and the owner of a
run is checked in the transaction that writes to it.

If the store refuses a record of the combined transaction, nothing of it was applied, and each
request's operations are written again alone (``Backend.write``): the request with the bad record
fails, the others do not. A store that fails (down, locked) fails every request of the group, as it would have alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol

from sigopt_ai._exceptions import StoreError
from sigopt_ai._models import Op
from sigopt_ai.backends import Backend
from sigopt_ai.server._op_checks import check_ops

__all__ = ["MAX_GROUP", "ApplyGroup", "GroupCommit", "Writer", "run_ids"]

MAX_GROUP = 512
"""Requests applied in one transaction at most: a bound on its size and on the wait of the last one."""


class Writer(Protocol):
    """What the group commit needs of a request's tenant."""

    def owns(self, stored_project: str) -> bool:
        """Whether a store project belongs to the request's client."""

    def write(self, ops: Sequence[Op], *, key: str | None = None) -> None:
        """Apply operations alone, mapping a record the store refuses to bad input."""


Build = Callable[[dict[str, str], dict[tuple[str, str], float]], list[Op]]
ApplyGroup = Callable[[Iterable[str], Build], None]
"""``apply(run_ids, build)``: in one write transaction, read the store project of each of these runs
that exists and the stddev of each of their metrics that has one (by ``(run, metric)``), and write
the operations that ``build(projects, stddevs)`` returns (``ServerStore.apply_run_updates``)."""


@dataclass
class _Update:
    who: Writer
    ops: Sequence[Op]
    verify: bool
    inherit: frozenset[str]  # metrics whose points without a stddev keep the stored one (MERGE)
    future: concurrent.futures.Future[None] | asyncio.Future[None]
    loop: asyncio.AbstractEventLoop | None = None  # the asyncio future's
    error: BaseException | None = None  # the outcome, once settled: None is success
    settled: bool = False

    def fail(self, error: BaseException) -> None:
        self.error, self.settled = error, True

    def succeed(self) -> None:
        self.settled = True


def run_ids(ops: Iterable[Op]) -> set[str]:
    """The runs that operations name."""
    return {run_id for op in ops for run_id in (op[1] if op[0] == "heartbeat" else (op[1],))}


def _combined(updates: Sequence[_Update]) -> list[Op]:
    """The operations of several requests as one batch, ordered by run (each run's in request order)
    with the heartbeats as one at the end.

    Two server processes' transactions then lock the rows of their runs in the same order, which
    PostgreSQL needs to not find them deadlocked; runs are independent, so only each run's own order
    matters. A heartbeat only renews active runs, so where it falls changes nothing, and one
    statement renews them all."""
    ops: list[Op] = []
    beats: set[str] = set()
    latest = 0.0
    for update in updates:
        for op in update.ops:
            if op[0] == "heartbeat":
                beats.update(op[1])
                latest = max(latest, op[2])
            else:
                ops.append(op)
    ops.sort(key=lambda op: str(op[1]))  # stable: each run's operations keep their order
    if beats:
        ops.append(("heartbeat", tuple(sorted(beats)), latest))
    return ops


class GroupCommit:
    """One writer thread per server process that applies the run updates of concurrent requests in
    one transaction (see the module's docstring).

    Args:
        backend: The server's store (a request whose record it refuses is written alone with it).
        apply: Reads the runs' owners and stddevs and writes a group, in one transaction.
        missing: The exception for a run that is not the request's client's (404, as a missing one).
        max_group: Requests applied in one transaction at most.
        turns: Held around each group's transaction: the server processes' turns on a SQLite file
            (see :mod:`._turns`).
    """

    def __init__(
        self,
        backend: Backend,
        apply: ApplyGroup,
        missing: Callable[[str], Exception],
        *,
        max_group: int = MAX_GROUP,
        turns: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self._backend = backend
        self._apply = apply
        self._missing = missing
        self._max_group = max_group
        self._turns = turns
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Update | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(
        self, who: Writer, ops: Sequence[Op], *, verify: bool = True, inherit: Iterable[str] = ()
    ) -> concurrent.futures.Future[None]:
        """Queue operations on existing runs of ``who``'s client; the future is done once they are
        stored (or failed: 404 for a run not the client's, 400 for a record the store refuses, a
        :class:`StoreError` when the store fails).

        Args:
            verify: Check that every run the operations name is the client's (False when the
                request has just read the run as the client's).
            inherit: Metrics whose points here without a standard deviation take the one stored
                for the metric when they are written (a MERGE of ``{"value": v}`` keeps it).

        Raises:
            ValidationError: A value breaks the SDK's rules (checked here, before it is queued).
        """
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._put(_Update(who, ops, verify, frozenset(inherit), future))
        return future

    def submit_async(
        self, who: Writer, ops: Sequence[Op], *, verify: bool = True, inherit: Iterable[str] = ()
    ) -> asyncio.Future[None]:
        """:meth:`submit` from a coroutine of the running event loop: an asyncio future, which the
        writer completes with those of the other requests of its group in one wake-up of the loop.

        Raises:
            ValidationError: A value breaks the SDK's rules (checked here, before it is queued).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._put(_Update(who, ops, verify, frozenset(inherit), future, loop))
        return future

    def write(self, who: Writer, ops: Sequence[Op], *, verify: bool = True, inherit: Iterable[str] = ()) -> None:
        """:meth:`submit`, waiting for the outcome in this thread (raises the request's error)."""
        self.submit(who, ops, verify=verify, inherit=inherit).result()

    def _put(self, update: _Update) -> None:
        check_ops(update.ops)
        if not update.ops:
            update.succeed()
            _settle([update])
            return
        self._ensure_thread()
        self._queue.put(update)

    def close(self) -> None:
        """Apply what is queued, then stop the writer thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and self._pid == os.getpid():
            self._queue.put(None)
            thread.join()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread and queue are not here
                self._queue = queue.SimpleQueue()
                self._thread = None
                self._pid = os.getpid()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sigopt-ai-group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self._max_group:
                try:
                    update = self._queue.get_nowait()
                except queue.Empty:
                    break
                if update is None:
                    stop = True
                    break
                group.append(update)
            try:
                with self._turns():
                    self._commit(group)
            except BaseException as exc:  # never leave a request waiting, whatever failed
                for update in group:
                    if not update.settled:
                        update.fail(exc)
            _settle(group)
            if stop:
                return

    def _commit(self, group: Sequence[_Update]) -> None:
        """Apply a group, recording each update's outcome (:func:`_settle` delivers them)."""
        ready: list[_Update] = []

        def build(owners: dict[str, str], stddevs: dict[tuple[str, str], float]) -> list[Op]:
            ready[:] = self._checked(group, owners, stddevs)
            return _combined(ready)

        try:
            self._apply(run_ids(op for update in group for op in update.ops), build)
        except StoreError as exc:
            if not (ready and self._backend.rejects(exc)):
                for update in group:
                    if not update.settled:
                        update.fail(exc)
                return
            # A record of one request was refused and nothing was applied: each alone now, so that
            # only the request with that record fails.
            for update in ready:
                try:
                    update.who.write(update.ops)
                except Exception as error:
                    update.fail(error)
                else:
                    update.succeed()
            return
        for update in ready:
            update.succeed()

    def _checked(
        self, group: Sequence[_Update], owners: dict[str, str], stddevs: dict[tuple[str, str], float]
    ) -> list[_Update]:
        """The updates to write, their inherited stddevs filled in; those naming a run that is not
        their client's have failed as not found."""
        ready: list[_Update] = []
        for update in group:
            if update.verify:
                foreign = sorted(r for r in run_ids(update.ops) if not update.who.owns(owners.get(r, "")))
                if foreign:
                    update.fail(self._missing(foreign[0]))
                    continue
            update.ops = _with_stddevs(update.ops, update.inherit, stddevs)
            ready.append(update)
        return ready


def _settle(updates: Sequence[_Update]) -> None:
    """Deliver the outcomes: a thread's future at once, the asyncio futures of each event loop in
    one call in that loop (one wake-up for the whole group rather than one per request)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Update]] = {}
    for update in updates:
        if update.loop is None:
            _deliver(update)
        else:
            by_loop.setdefault(update.loop, []).append(update)
    for loop, waiting in by_loop.items():
        try:
            loop.call_soon_threadsafe(_deliver_all, waiting)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass


def _deliver_all(updates: Sequence[_Update]) -> None:
    for update in updates:
        _deliver(update)


def _deliver(update: _Update) -> None:
    future = update.future
    if future.done():  # an asyncio future whose request was cancelled (the client went away)
        return
    if update.error is None:
        future.set_result(None)
    else:
        future.set_exception(update.error)


def _with_stddevs(ops: Sequence[Op], inherit: frozenset[str], stddevs: dict[tuple[str, str], float]) -> list[Op]:
    """``ops`` with the stored stddev in each point of an ``inherit`` metric that has none; ``stddevs``
    is updated with every point's, so that a later request of the group inherits this one's."""
    out: list[Op] = []
    for op in ops:
        if op[0] == "metric":
            _, run_id, name, value, stddev, timestamp = op
            if stddev is None and name in inherit:
                stddev = stddevs.get((run_id, name))
                op = ("metric", run_id, name, value, stddev, timestamp)
            if stddev is None:
                stddevs.pop((run_id, name), None)
            else:
                stddevs[(run_id, name)] = stddev
        out.append(op)
    return out

"""SIGTERM during a run: every open run ends ``interrupted``, its records are written, and the process
still dies by the signal.

The handler is installed from the main thread, when ``sigopt_ai`` is imported or a run starts there,
and only where nobody installed one before us. With no active run it restores the default action and
re-sends the signal, so a process that is not training dies exactly as it would without us.

With runs active, every open run is failed ``interrupted`` at once (whatever the training code then
catches), and :class:`~sigopt_ai.Terminated` is raised in the main thread (Python runs signal
handlers there), which unwinds the ``with`` blocks that thread is in. Runs open elsewhere (other
threads, other asyncio tasks, runs from ``create_run()``) are also stopped: their next logging call
raises ``Terminated`` in their own thread, so a training thread ends instead of keeping the process
alive. Once the runs are ended and written at exit, the process kills itself with the same signal,
so that its parent sees what it sent (exit status ``-15``, or 143 in a shell).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from types import FrameType
from typing import Any

from sigopt_ai._exceptions import Terminated
from sigopt_ai._failures import FailureInfo, describe
from sigopt_ai.runs._session import OpenRun, peek_session

EnteredRuns = Callable[[], Collection[object]]
"""The runs entered in the calling thread or task (the handler asks on the main thread)."""

_installed = False
_entered_runs: EnteredRuns = tuple
_received: int | None = None  # the signal that arrived during a run
_exiting_by_signal = False  # it arrived after the main thread's code had finished


def _handler(signum: int, frame: FrameType | None) -> None:
    global _received, _exiting_by_signal
    session = peek_session()
    if session is None or not session.active:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _received = signum
    reason = f"The process received signal {signal.Signals(signum).name} during a run."
    loop = _running_event_loop()
    _interrupt_runs(session.active.values(), reason, frame, stop_all=loop is not None)
    if loop is not None:
        # Raised here, it could land inside the event loop's own bookkeeping (after a task's step,
        # before its result is set), leaving a task that never finishes and asyncio.run() waiting
        # for it forever at exit. The loop raises it between two callbacks instead, and every task
        # with a run stops at its next log.
        loop.call_soon_threadsafe(_raise_terminated, reason)
        return
    if not threading.main_thread().is_alive():
        # The main thread's code has finished and the interpreter waits for other threads: an
        # exception here would only be printed as ignored. Those threads stop at their next log.
        _exiting_by_signal = True
        return
    raise Terminated(reason)


def _interrupt_runs(runs: Iterable[OpenRun], reason: str, frame: FrameType | None, *, stop_all: bool) -> None:
    """Fail every open run as interrupted; stop those the ``Terminated`` about to be raised here
    will not pass through (all of them with ``stop_all``). The main thread's runs get the stack it
    was interrupted at."""
    failure = describe(Terminated(reason))
    located = _at(frame, failure)
    here = _entered_runs()
    for run in list(runs):
        inside = any(run is entered for entered in here)
        run.interrupt(located if inside else failure, stop=stop_all or not inside)


def _running_event_loop() -> Any:
    """The asyncio event loop the main thread is running (the handler runs there), if any."""
    asyncio = sys.modules.get("asyncio")  # not imported: no loop runs
    if asyncio is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _raise_terminated(reason: str) -> None:
    raise Terminated(reason)


def _at(frame: FrameType | None, failure: FailureInfo) -> FailureInfo:
    """``failure`` with the traceback of where the main thread was when the signal arrived."""
    if frame is None:
        return failure
    stack = "".join(traceback.format_stack(frame))
    return replace(failure, traceback=f"Traceback (most recent call last):\n{stack}{failure.type}: {failure.message}\n")


def install_sigterm_handler(entered_runs: EnteredRuns) -> None:
    """Install the SIGTERM handler if we are on the main thread and SIGTERM has its default action.

    Args:
        entered_runs: The runs entered in the calling thread or task: the handler fails those
            with the stack the main thread was stopped at, and lets ``Terminated`` end them.
    """
    global _installed, _entered_runs
    _entered_runs = entered_runs
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _handler)
    except ValueError:  # a sub-interpreter's main thread: signals stay as they are
        pass


def _terminated_uncaught() -> bool:
    """Whether the process is exiting because the ``Terminated`` we raised was never caught."""
    return isinstance(getattr(sys, "last_value", None), Terminated) and not hasattr(sys, "ps1")


def _die_by_the_signal() -> None:
    """At exit, after the runs were ended and written: die by the signal that stopped the process."""
    if _received is None or not (_exiting_by_signal or _terminated_uncaught()):
        return
    # This hook runs after those registered later (the session's, which ends the runs), but before
    # those registered before sigopt_ai was imported; logging's is one, so flush it here.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    signal.signal(_received, signal.SIG_DFL)
    os.kill(os.getpid(), _received)


# Registered at import, before the session's exit hook, so that it runs after the runs are ended.
atexit.register(_die_by_the_signal)

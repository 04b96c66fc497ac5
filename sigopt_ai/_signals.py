"""SIGTERM inside a run: raise :class:`~sigopt_ai.Terminated` so the run records an interruption.

The handler is installed once, from the main thread, and only where nobody installed one before us.
With no active run it restores the default action and re-sends the signal, so a process that is not
training dies exactly as it would without us.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

from sigopt_ai._exceptions import Terminated

_installed = False


def _handler(signum: int, frame: FrameType | None) -> None:
    from sigopt_ai._client import peek_client

    client = peek_client()
    if client is not None and client.active:
        raise Terminated(f"The process received signal {signal.Signals(signum).name} during a run.")
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_sigterm_handler() -> None:
    """Install the SIGTERM handler if we are on the main thread and SIGTERM has its default action."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _handler)

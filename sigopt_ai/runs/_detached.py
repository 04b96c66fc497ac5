"""Module-level calls made where no run is recording, as sigopt-python answers them.

sigopt-python lets a script call ``sigopt.log_metric`` or ``sigopt.params.setdefault`` at its top with no
run: the script works and nothing is recorded. Here too, with one warning per process that says how to
record. Input is still validated, so a script that runs without a run also runs with one.
"""

from __future__ import annotations

import threading
import warnings

from sigopt_ai._types import ParamValue
from sigopt_ai.runs._params import RunParams

__all__ = ["detached_params", "warn_no_run"]

NO_RUN_MESSAGE = (
    "sigopt_ai: {what} outside any run records nothing. To record, run the script with "
    "`sigopt-ai run python <script>.py`, or wrap the training in `with sigopt.run():` "
    "(or decorate it with `@sigopt.run`)."
)

_warned = False
_lock = threading.Lock()


def warn_no_run(what: str, *, stacklevel: int = 3) -> None:
    """Warn, the first time in this process, that ``what`` (``"sigopt.log_metric()"``) records nothing.

    Args:
        what: The call, as the user wrote it.
        stacklevel: The user's frame, counted as ``warnings.warn`` counts (3: the caller of this
            function's caller).
    """
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    warnings.warn(NO_RUN_MESSAGE.format(what=what), UserWarning, stacklevel=stacklevel)


def _discard(changes: dict[str, ParamValue]) -> None:
    """Where the detached parameters' writes go: nowhere."""
    del changes


_detached = RunParams(_discard)


def detached_params() -> RunParams:
    """The process-wide parameters ``sigopt.params`` acts on while no run records: values set here are
    read back (``setdefault`` returns its default) and recorded nowhere."""
    return _detached

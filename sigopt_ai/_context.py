"""The current run, tracked with a ContextVar: every thread and asyncio task sees its own."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Literal, overload

from sigopt_ai._exceptions import UsageError

if TYPE_CHECKING:
    from sigopt_ai._run import RunContext

current_run_var: ContextVar[RunContext | None] = ContextVar("sigopt_ai_current_run", default=None)


@overload
def current_run(silent: Literal[False] = False) -> RunContext: ...
@overload
def current_run(silent: bool) -> RunContext | None: ...
def current_run(silent: bool = False) -> RunContext | None:
    """The run active in this thread or task.

    Args:
        silent: Return None instead of raising when there is no active run.

    Raises:
        UsageError: There is no active run and ``silent`` is false.

    Example:
        >>> with sigopt.run(name="demo"):
        ...     sigopt.current_run().log_metric("loss", 0.1)
    """
    run = current_run_var.get()
    if run is None and not silent:
        raise UsageError(
            "There is no active sigopt_ai run. Start one with `with sigopt.run():` or decorate the "
            "training function with `@sigopt.run`."
        )
    return run

"""The current run, tracked with a ContextVar: every thread and asyncio task sees its own.

Each context keeps the stack of runs entered in it, so that one run object, or one
``sigopt.run(...)`` spec, can be entered from several threads or tasks at once, nested or
concurrently: leaving a run restores what that context had before, whatever the others do.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Literal, overload

from sigopt_ai._exceptions import UsageError

if TYPE_CHECKING:
    from sigopt_ai.runs._run import RunContext

# Immutable tuples, so that a task created inside a run copies its parent's stack and changes only
# its own copy. The last one entered is the current run.
_entered: ContextVar[tuple[RunContext, ...]] = ContextVar("sigopt_ai_entered_runs", default=())


def push_run(run: RunContext) -> None:
    """Make ``run`` the current run of this thread or task."""
    _entered.set((*_entered.get(), run))


def pop_run(run: RunContext) -> None:
    """Leave ``run`` in this thread or task: the run entered before it becomes current again.

    A run entered in another context (a generator resumed elsewhere) is not in this one's stack;
    then there is nothing to restore here.
    """
    stack = _entered.get()
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is run:
            _entered.set(stack[:index] + stack[index + 1 :])
            return


def entered_runs() -> tuple[RunContext, ...]:
    """The runs entered in this thread or task, outermost first."""
    return _entered.get()


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
    stack = _entered.get()
    run = stack[-1] if stack else None
    if run is None and not silent:
        raise UsageError(
            "There is no active sigopt_ai run. Start one with `with sigopt.run():` or decorate the "
            "training function with `@sigopt.run`."
        )
    return run

"""What each thread and asyncio task has entered, kept in a ContextVar.

Each context keeps its own stack, so that one object (a run, or one ``sigopt.run(...)`` spec) can
be entered from several threads or tasks at once, nested or concurrently: leaving it restores what
that context had before, whatever the others do. :mod:`sigopt_ai.runs._run` keeps the stack of
entered runs with it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Generic, TypeVar

T = TypeVar("T")


class ContextStack(Generic[T]):
    """A stack of entered objects per thread or asyncio task; the last one entered is on top.

    The stacks are immutable tuples, so that a task created inside a ``with`` block copies its
    parent's stack and changes only its own copy.

    Args:
        name: The name of the ContextVar that holds the stacks.
    """

    __slots__ = ("_stack",)

    def __init__(self, name: str) -> None:
        self._stack: ContextVar[tuple[T, ...]] = ContextVar(name, default=())

    def push(self, item: T) -> None:
        """Enter ``item`` in this thread or task: it is now on top."""
        self._stack.set((*self._stack.get(), item))

    def pop(self, item: T) -> None:
        """Leave ``item`` in this thread or task: what was entered before it is on top again.

        An item entered in another context (a generator resumed elsewhere) is not in this one's
        stack; then there is nothing to restore here.
        """
        stack = self._stack.get()
        for index in range(len(stack) - 1, -1, -1):
            if stack[index] is item:
                self._stack.set(stack[:index] + stack[index + 1 :])
                return

    def entered(self) -> tuple[T, ...]:
        """What this thread or task has entered, outermost first."""
        return self._stack.get()

    def top(self) -> T | None:
        """The item entered last in this thread or task, or None."""
        stack = self._stack.get()
        return stack[-1] if stack else None

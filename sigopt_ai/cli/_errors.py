"""How the commands turn the SDK's errors into exit statuses and one-line messages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

import sigopt_ai as sigopt

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INTERRUPTED = 130
"""Ctrl-C outside the command's run (128 + SIGINT, as a shell reports it)."""
EXIT_TERMINATED = 143
"""SIGTERM outside the command's run, while a run was open here (128 + SIGTERM)."""


class CliError(click.ClickException):
    """A :class:`~sigopt_ai.SigOptError` shown as a one-line message with exit code 1 (2 for usage)."""

    def __init__(self, error: sigopt.SigOptError, context: str = "") -> None:
        super().__init__(f"{context}{error}")
        self._usage = isinstance(error, (sigopt.ValidationError, sigopt.UsageError))

    # click declares exit_code a class variable; the status depends on the error, so it is read here.
    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 2 if self._usage else 1


def errors(func: F) -> F:
    """Show a :class:`~sigopt_ai.SigOptError` as a :class:`CliError`; Ctrl-C leaves with exit status 130,
    SIGTERM (:class:`~sigopt_ai.Terminated`) with 143."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except sigopt.SigOptError as exc:
            raise CliError(exc) from exc
        except KeyboardInterrupt as exc:
            click.echo("sigopt-ai: interrupted.", err=True)
            status = EXIT_TERMINATED if isinstance(exc, sigopt.Terminated) else EXIT_INTERRUPTED
            raise click.exceptions.Exit(status) from None

    return wrapper  # type: ignore[return-value]

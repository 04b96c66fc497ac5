"""The exception tree of ``sigopt_ai``.

Every error the library raises derives from :class:`SigOptError`, split by who has to act::

    SigOptError
    ├── UsageError            (a caller bug: run already finished, no active run, ...)      RuntimeError
    ├── ValidationError       (bad input: a metric name, a parameter, an experiment field)   ValueError
    │   └── ValidationTypeError  (the input has the wrong type)                             TypeError
    ├── ConfigError           (missing or invalid settings)
    │   └── MissingDependency (an optional framework is not installed; names the extra)     ImportError
    ├── BackendError
    │   ├── TransportError    (network or timeout; retryable)
    │   ├── BackendRejected   (the server answered 4xx/5xx)
    │   └── StoreError        (SQLite/PostgreSQL failures)
    ├── ExperimentStopped     (the loop stopped itself, e.g. the same bug three times)
    └── AssignmentFailure     (raise it from training code: these hyperparameters failed)
        ├── InvalidAssignment (the assignment cannot be trained: kind ``invalid_assignment``)  ValueError
        └── Diverged          (training diverged: kind ``diverged``)                            FloatingPointError

One exception stands outside the tree on purpose: :class:`Terminated` (raised inside a run when the
process receives SIGTERM) derives from ``KeyboardInterrupt`` so that ``except Exception`` in training
code cannot swallow a shutdown.

Logging calls raise only :class:`ValidationError` (bad input, at the call) and :class:`UsageError`;
transport and store failures stay in the background writer and never reach training code.
"""

from __future__ import annotations

__all__ = [
    "AssignmentFailure",
    "BackendError",
    "BackendRejected",
    "ConfigError",
    "Diverged",
    "ExperimentStopped",
    "InvalidAssignment",
    "MissingDependency",
    "SigOptError",
    "StoreError",
    "Terminated",
    "TransportError",
    "UsageError",
    "ValidationError",
    "ValidationTypeError",
]


class SigOptError(Exception):
    """Root of every exception raised by ``sigopt_ai``."""


class UsageError(SigOptError, RuntimeError):
    """The library was called in a way that cannot work, such as logging to a finished run."""


class ValidationError(SigOptError, ValueError):
    """An argument breaks a rule; the message names the field and the rule."""


class ValidationTypeError(ValidationError, TypeError):
    """An argument has the wrong type; the message names the field and the expected type."""


class ConfigError(SigOptError):
    """A setting (argument or environment variable) is missing or invalid."""


class MissingDependency(ConfigError, ImportError):
    """An optional library is not installed; the message names the extra that installs it."""


class BackendError(SigOptError):
    """The store or the server could not complete a request."""


class TransportError(BackendError):
    """The server could not be reached or did not answer in time; retrying may help."""


class BackendRejected(BackendError):
    """The server answered with an error status.

    Args:
        status: The HTTP status code.
        message: The server's message.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"The server answered {status}: {message}")
        self.status = status
        self.message = message

    @property
    def status_code(self) -> int:
        """The HTTP status code, under sigopt-python's ``ApiException`` name."""
        return self.status


class StoreError(BackendError):
    """A database operation of the embedded or PostgreSQL store failed."""


class ExperimentStopped(SigOptError):
    """An experiment loop stopped itself instead of burning the budget (for example, a repeating bug)."""


class AssignmentFailure(SigOptError):
    """Raise from training code to say the suggested hyperparameters failed (a failed observation)."""


class InvalidAssignment(AssignmentFailure, ValueError):
    """The suggested assignment cannot be trained (classified as ``invalid_assignment``).

    Example:
        >>> if batch_size > len(dataset):
        ...     raise sigopt.InvalidAssignment("batch_size is larger than the dataset")
    """


class Diverged(AssignmentFailure, FloatingPointError):
    """Training diverged (classified as ``diverged``)."""


class Terminated(KeyboardInterrupt):
    """Raised inside an active run when the process receives SIGTERM (classified ``interrupted``).

    It derives from ``KeyboardInterrupt``, not from :class:`SigOptError`, so that a broad
    ``except Exception`` in training code lets the shutdown through.
    """

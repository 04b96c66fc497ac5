"""Failure classification: what an exception that leaves a run says about the assignment.

:func:`classify` is a pure function of the exception (and a registry of user rules). It looks through
the ``__cause__``/``__context__`` chain and matches by class name and message, so no framework is
imported: ``torch.cuda.OutOfMemoryError`` is recognised by its name, CUDA's "out of memory" by its text.
"""

from __future__ import annotations

import enum
import errno
import re
import traceback as _traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sigopt_ai._exceptions import (
    AssignmentFailure,
    Diverged,
    InvalidAssignment,
    Terminated,
    UsageError,
    ValidationError,
    ValidationTypeError,
)

__all__ = [
    "FailureInfo",
    "FailureKind",
    "FailureRegistry",
    "classify",
    "default_registry",
    "describe",
    "register_failure_classifier",
    "register_failure_type",
]


class FailureKind(str, enum.Enum):
    """Why a run failed, and so what an experiment loop does with its suggestion."""

    OOM = "oom"  # the assignment needs more memory than there is
    INVALID_ASSIGNMENT = "invalid_assignment"  # the assignment cannot be trained
    DIVERGED = "diverged"  # a metric went NaN/inf, or training raised FloatingPointError
    REPORTED = "reported"  # the user called log_failure()
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM: not the assignment's fault
    INFRASTRUCTURE = "infrastructure"  # network, disk, lost machine: not the assignment's fault
    ERROR = "error"  # a bug in the training code
    MISSING_METRIC = "missing_metric"  # an experiment's run completed without the experiment's metric: a bug

    @property
    def is_assignment_failure(self) -> bool:
        """Whether the suggested hyperparameters themselves failed (a failed observation)."""
        return self in _ASSIGNMENT_KINDS

    @property
    def retryable(self) -> bool:
        """Whether the suggestion should be evaluated again."""
        return self in (FailureKind.INTERRUPTED, FailureKind.INFRASTRUCTURE)

    @property
    def is_bug(self) -> bool:
        """Whether the training code is at fault: the suggestion is served again and a streak stops the loop."""
        return self in (FailureKind.ERROR, FailureKind.MISSING_METRIC)


_ASSIGNMENT_KINDS = frozenset(
    {FailureKind.OOM, FailureKind.INVALID_ASSIGNMENT, FailureKind.DIVERGED, FailureKind.REPORTED}
)

# When a chain holds several recognisable exceptions, the most specific kind wins: a ValueError raised
# while handling a CUDA OOM is an OOM. The SDK's own misuse errors rank above a plain ValueError: a
# bad call into the SDK is a bug even when it happened while handling the user's ValueError.
_PRIORITY = (
    FailureKind.OOM,
    FailureKind.DIVERGED,
    FailureKind.INTERRUPTED,
    FailureKind.INFRASTRUCTURE,
    FailureKind.ERROR,
    FailureKind.INVALID_ASSIGNMENT,
)

MAX_MESSAGE_LENGTH = 4_000
"""Characters of a failure message kept (the start and the end); a run stores one per failure."""

MAX_TRACEBACK_LENGTH = 20_000
"""Characters of a failure traceback kept (the start and the end)."""


@dataclass(frozen=True, slots=True)
class FailureInfo:
    """Why a run failed: the kind, and the exception that said so (absent for a reported failure)."""

    kind: FailureKind
    type: str | None = None
    message: str = ""
    traceback: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, FailureKind):
            raise ValidationError(
                f"{self.kind!r} is not a valid failure kind. It must be one of "
                f"{sorted(k.value for k in FailureKind)!r}."
            )
        if not isinstance(self.message, str):
            raise ValidationTypeError(f"failure message must be a string, got {type(self.message).__name__}.")
        # Stored as text by the writer: it must encode as UTF-8 and stay a bounded size.
        object.__setattr__(self, "message", storable_text(self.message, MAX_MESSAGE_LENGTH))
        if self.type is not None:
            object.__setattr__(self, "type", storable_text(str(self.type), 300))
        if self.traceback is not None:
            object.__setattr__(self, "traceback", storable_text(str(self.traceback), MAX_TRACEBACK_LENGTH))

    @property
    def retryable(self) -> bool:
        """Whether the suggestion should be evaluated again (interrupted or infrastructure)."""
        return self.kind.retryable

    def to_json(self) -> dict[str, str | None]:
        """The failure as JSON values, as write operations and the wire carry it."""
        return {"kind": self.kind.value, "type": self.type, "message": self.message, "traceback": self.traceback}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FailureInfo:
        """The failure :meth:`to_json` gave.

        Raises:
            ValidationError: ``data`` is not such a mapping (the field is named).
        """
        if not isinstance(data, Mapping) or "kind" not in data:
            raise ValidationError(f"failure must be a mapping with a 'kind', got {type(data).__name__}.")
        try:
            kind = FailureKind(data["kind"])
        except ValueError:
            raise ValidationError(
                f"failure.kind: {data['kind']!r} is not a failure kind; expected one of "
                f"{sorted(k.value for k in FailureKind)!r}."
            ) from None
        return cls(kind, type=data.get("type"), message=data.get("message") or "", traceback=data.get("traceback"))


def storable_text(text: str, limit: int) -> str:
    """``text`` as valid UTF-8 (lone surrogates, as ``os.fsdecode`` makes them, escaped as ``\\udcxx``),
    cut to at most about ``limit`` characters keeping its start and its end."""
    if len(text) > limit:
        # The marker counts towards the limit, so that cutting a cut text again changes nothing.
        cut = len(text) - limit
        while True:
            marker = f" [... {cut} characters cut ...] "
            keep = (limit - len(marker)) // 2
            if len(text) - 2 * keep == cut:
                break
            cut = len(text) - 2 * keep
        text = f"{text[:keep]}{marker}{text[-keep:]}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


Classifier = Callable[[BaseException], "FailureKind | str | None"]


@dataclass
class FailureRegistry:
    """User rules consulted before the built-in ones: exception types and classifier callables."""

    types: list[tuple[type[BaseException], FailureKind]] = field(default_factory=list)
    classifiers: list[Classifier] = field(default_factory=list)

    def match(self, exc: BaseException) -> FailureKind | None:
        """The kind a user rule gives ``exc``, or None."""
        for exc_type, kind in self.types:
            if isinstance(exc, exc_type):
                return kind
        for classifier in self.classifiers:
            answer = classifier(exc)
            if answer is not None:
                return _as_kind(answer, "the classifier's answer")
        return None


default_registry = FailureRegistry()


def _as_kind(value: FailureKind | str, what: str) -> FailureKind:
    try:
        return FailureKind(value)
    except ValueError:
        raise ValidationError(
            f"{value!r} ({what}) is not a valid failure kind. It must be one of "
            f"{sorted(k.value for k in FailureKind)!r}."
        ) from None


def register_failure_type(
    exc_type: type[BaseException], kind: FailureKind | str, *, registry: FailureRegistry | None = None
) -> type[BaseException]:
    """Classify exceptions of ``exc_type`` (and subclasses) as ``kind``.

    Args:
        exc_type: An exception class.
        kind: A :class:`FailureKind` or its value, such as ``"oom"``.
        registry: The registry to add to (default: the process-wide one).

    Returns:
        ``exc_type``, so the function can decorate an exception class.

    Raises:
        ValidationError: ``exc_type`` is not an exception class or ``kind`` is unknown.

    Example:
        >>> sigopt.register_failure_type(MyShardTooLarge, "oom")
    """
    if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
        raise ValidationError(f"exc_type must be an exception class, got {exc_type!r}.")
    (registry or default_registry).types.append((exc_type, _as_kind(kind, "kind")))
    return exc_type


def register_failure_classifier(classifier: Classifier, *, registry: FailureRegistry | None = None) -> Classifier:
    """Consult ``classifier(exc)`` before the built-in rules; it returns a kind, or None to pass.

    Args:
        classifier: A callable taking the exception and returning a kind (or its value) or None.
        registry: The registry to add to (default: the process-wide one).

    Returns:
        ``classifier``, so the function can be used as a decorator.
    """
    if not callable(classifier):
        raise ValidationError(f"classifier must be callable, got {classifier!r}.")
    (registry or default_registry).classifiers.append(classifier)
    return classifier


_OOM_NAMES = frozenset({"OutOfMemoryError", "ResourceExhaustedError", "OOMError", "CudaOutOfMemoryError"})
_OOM_TEXT = re.compile(
    r"out of memory|RESOURCE_EXHAUSTED|std::bad_alloc|OOM when allocating|CUBLAS_STATUS_ALLOC_FAILED"
    r"|Cannot allocate memory|failed to allocate",
    re.IGNORECASE,
)
# torch's anomaly detection (``torch.autograd.set_detect_anomaly``, Lightning's ``detect_anomaly=True``)
# reports a NaN gradient as a plain RuntimeError: the assignment diverged, not the code.
_ANOMALY_NAN = re.compile(r"returned nan values in its \d+\w* output")
# Frameworks whose native code reports allocation failures as their own error type with the C++
# text: XGBoost's XGBoostError and LightGBM's LightGBMError are ValueError/Exception subclasses.
_NATIVE_ERROR_NAMES = frozenset({"XlaRuntimeError", "XGBoostError", "LightGBMError"})
_INFRA_NAMES = frozenset(
    {
        "ConnectionError",
        "TimeoutError",
        "Timeout",
        "ConnectTimeout",
        "ReadTimeout",
        "ConnectError",
        "RemoteProtocolError",
        "TransportError",
        "DistBackendError",
        "DistNetworkError",
        "NCCLError",
    }
)
_INFRA_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EPIPE,
        errno.EDQUOT,
        errno.ECONNRESET,
        errno.ECONNREFUSED,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ESTALE,
    }
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _builtin_kind(exc: BaseException) -> FailureKind | None:
    names = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, MemoryError) or names & _OOM_NAMES or _is_errno(exc, {errno.ENOMEM}):
        return FailureKind.OOM
    if isinstance(exc, (RuntimeError, OSError)) or names & _NATIVE_ERROR_NAMES:
        if _OOM_TEXT.search(_text_of(exc) or ""):
            return FailureKind.OOM
    if isinstance(exc, (FloatingPointError, Diverged)):
        return FailureKind.DIVERGED
    if isinstance(exc, RuntimeError) and _ANOMALY_NAN.search(_text_of(exc) or ""):
        return FailureKind.DIVERGED
    if isinstance(exc, (KeyboardInterrupt, Terminated)):
        return FailureKind.INTERRUPTED
    if isinstance(exc, (ConnectionError, TimeoutError)) or names & _INFRA_NAMES:
        return FailureKind.INFRASTRUCTURE
    if _is_errno(exc, _INFRA_ERRNOS):
        return FailureKind.INFRASTRUCTURE
    if isinstance(exc, (ValidationError, UsageError)):
        return FailureKind.ERROR  # the SDK was called wrongly: a bug in the calling code, not the assignment
    if isinstance(exc, (InvalidAssignment, ValueError, ArithmeticError)):
        return FailureKind.INVALID_ASSIGNMENT
    if isinstance(exc, AssignmentFailure):
        return FailureKind.REPORTED
    return None


def _text_of(exc: BaseException) -> str | None:
    """``str(exc)``, or None when its ``__str__`` raises: a broken exception must not hide the failure."""
    try:
        return str(exc)
    except Exception:
        return None


def _is_errno(exc: BaseException, codes: frozenset[int] | set[int]) -> bool:
    return isinstance(exc, OSError) and exc.errno in codes


def classify(exc: BaseException, *, registry: FailureRegistry | None = None) -> FailureKind:
    """Classify an exception that left a run.

    User rules win; then, over the whole ``__cause__``/``__context__`` chain, the most specific
    built-in kind (oom > diverged > interrupted > infrastructure > error > invalid_assignment); else
    ``error``. The SDK's own :class:`ValidationError` and :class:`UsageError` (a bad logging call, a
    suggested parameter assigned) are ``error``: bugs in the calling code, so the suggestion goes back
    instead of spending budget. A user's own ``ValueError`` and :class:`InvalidAssignment` stay
    ``invalid_assignment``.

    Args:
        exc: The exception.
        registry: User rules (default: the process-wide registry).

    Returns:
        The failure kind.
    """
    registry = registry or default_registry
    found: set[FailureKind] = set()
    for link in _chain(exc):
        user_kind = registry.match(link)
        if user_kind is not None:
            return user_kind
        kind = _builtin_kind(link)
        if kind is not None:
            found.add(kind)
    return next((k for k in _PRIORITY if k in found), FailureKind.ERROR)


def describe(exc: BaseException, *, registry: FailureRegistry | None = None) -> FailureInfo:
    """A :class:`FailureInfo` for ``exc``: its kind, qualified type name, message and traceback.

    The message and traceback are made storable (valid UTF-8, long ones cut in the middle), and an
    exception whose ``str()`` itself raises still gets described.
    """
    cls = type(exc)
    type_name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    message = _text_of(exc)
    if message is None:
        message = f"<{type_name}: str() of the exception failed>"
    return FailureInfo(
        kind=classify(exc, registry=registry),
        type=type_name,
        message=message,
        traceback="".join(_traceback.format_exception(cls, exc, exc.__traceback__)),
    )

"""Checks for values passed to logging calls. Each raises at the caller with the field and the rule."""

from __future__ import annotations

import math
from typing import Any

from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._types import MetadataValue, ParamValue

MAX_NAME_LENGTH = 100
_checked_names: set[str] = set()
_CACHE_LIMIT = 10_000


def check_name(name: Any, field: str) -> str:
    """A metric, parameter or metadata name: a non-empty string of at most 100 characters."""
    if name in _checked_names:  # the hot path: a name logged before
        return str(name)
    if not isinstance(name, str):
        raise ValidationTypeError(f"{field} must be a string, got {name!r} ({type(name).__name__}).")
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise ValidationError(f"{field} must be 1 to {MAX_NAME_LENGTH} printable characters, got {name!r}.")
    if len(_checked_names) < _CACHE_LIMIT:
        _checked_names.add(name)
    return name


def to_number(value: Any, field: str) -> float:
    """A metric value as a float: ints, floats and numeric scalars (numpy, torch); not bools."""
    if isinstance(value, bool) or isinstance(value, (str, bytes)):
        raise ValidationTypeError(f"{field} must be a number, got {value!r} ({type(value).__name__}).")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationTypeError(f"{field} must be a number, got {value!r} ({type(value).__name__}).") from None


def check_stddev(stddev: Any, field: str) -> float:
    """A standard deviation: a finite number >= 0."""
    value = to_number(stddev, field)
    if not (math.isfinite(value) and value >= 0):
        raise ValidationError(f"{field} must be a finite number >= 0, got {stddev!r}.")
    return value


def to_param(value: Any, field: str) -> ParamValue:
    """A parameter value: int, float, str, bool or None (numpy scalars are unwrapped)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", 0) == 0:
        unwrapped = item()
        if isinstance(unwrapped, (bool, int, float, str)):
            return unwrapped
    raise ValidationTypeError(
        f"{field} must be an int, float, str, bool or None, got {value!r} ({type(value).__name__})."
    )


def to_metadata(value: Any) -> MetadataValue:
    """A metadata value: scalars as they are, anything else as its ``str`` (SigOpt's rule)."""
    try:
        return to_param(value, "metadata")
    except ValidationError:
        return str(value)

"""Checks for values passed to logging calls. Each raises at the caller with the field and the rule.

The rules keep every accepted value writable by the store and sendable to SigOpt: names follow
SigOpt's 100-character limit, strings are valid Unicode text (no lone surrogates, which UTF-8
cannot encode) of at most SigOpt's 500 characters for metadata and parameter values, integers fit a
signed 64-bit column, and parameter floats are finite. Error messages show user values through
:func:`short_repr`, so a 1 MB string is never echoed back.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._types import MetadataValue, ParamValue

MAX_NAME_LENGTH = 100
"""SigOpt's limit on metric, parameter, metadata key, dataset and run names."""
MAX_TEXT_LENGTH = 500
"""SigOpt's limit on string values of metadata and parameters (also used for a model type)."""
MAX_FILE_BYTES = 4 * 2**20
"""The largest file a run can store (an image, a process's captured output), in bytes."""
MAX_FILE_NAME_LENGTH = 200
"""The store's limit on a file's name."""
MAX_CONTENT_TYPE_LENGTH = 200
"""The store's limit on a file's content type."""
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_checked_names: set[str] = set()
_CACHE_LIMIT = 10_000
_SHORT_LENGTH = 80
_NOT_SCALAR = object()


def short_repr(value: Any, limit: int = _SHORT_LENGTH) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages that echo user input.

    Never raises: a ``__repr__`` that fails (or an int past Python's digit limit) gives
    ``<type object>`` instead.
    """
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__} object>"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def describe_value(value: Any) -> str:
    """The value and its type for an error message: ``'high' (str)``."""
    return f"{short_repr(value)} ({type(value).__name__})"


def check_name(name: Any, field: str) -> str:
    """A metric, parameter or metadata name: a non-empty string of at most 100 printable characters.

    Printable excludes lone surrogates, so a valid name is always valid UTF-8.
    """
    try:
        if name in _checked_names:  # the hot path: a name logged before
            return str(name)
    except TypeError:  # unhashable: not a name; the checks below say why
        pass
    if not isinstance(name, str):
        raise ValidationTypeError(f"{field} must be a string, got {describe_value(name)}.")
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise ValidationError(
            f"{field} must be 1 to {MAX_NAME_LENGTH} printable characters, got {len(name)}: {short_repr(name)}."
        )
    if len(_checked_names) < _CACHE_LIMIT:
        _checked_names.add(name)
    return name


def check_text(text: str, field: str, max_length: int | None = None) -> str:
    """A string that UTF-8 can encode (no lone surrogates), of at most ``max_length`` characters if given."""
    if max_length is not None and len(text) > max_length:
        raise ValidationError(f"{field} must be at most {max_length} characters, got {len(text)}: {short_repr(text)}.")
    position = _surrogate_at(text)
    if position is not None:
        raise ValidationError(
            f"{field} must be valid Unicode text, but character {position} is a lone surrogate "
            f"({text[position]!r}): {short_repr(text)}."
        )
    return text


def is_text(value: Any) -> bool:
    """Whether ``value`` is a str that UTF-8 can encode: something the store can look up."""
    return isinstance(value, str) and _surrogate_at(value) is None


def _surrogate_at(text: str) -> int | None:
    """The index of the first lone surrogate in ``text``, or None when UTF-8 can encode it."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def check_file_name(name: Any, field: str) -> str:
    """A file's name: 1 to :data:`MAX_FILE_NAME_LENGTH` printable characters.

    Printable excludes control characters (NUL, newlines, escapes: no store or terminal showing the
    name should get them) and lone surrogates (UTF-8 cannot encode them).
    """
    if not isinstance(name, str):
        raise ValidationTypeError(f"{field} must be a string, got {describe_value(name)}.")
    if not name or len(name) > MAX_FILE_NAME_LENGTH or not name.isprintable():
        raise ValidationError(
            f"{field} must be 1 to {MAX_FILE_NAME_LENGTH} printable characters (no control characters), "
            f"got {len(name)}: {short_repr(name)}."
        )
    return name


def check_content_type(content_type: Any, field: str) -> str:
    """A file's content type: a MIME type (``type/subtype``, parameters allowed) of 1 to
    :data:`MAX_CONTENT_TYPE_LENGTH` printable ASCII characters, not starting with a space: a server
    sends it back as an HTTP header, which takes nothing else."""
    if not isinstance(content_type, str):
        raise ValidationTypeError(f"{field} must be a str, got {describe_value(content_type)}.")
    valid = (
        0 < len(content_type) <= MAX_CONTENT_TYPE_LENGTH
        and content_type.isascii()
        and content_type.isprintable()
        and not content_type.startswith(" ")
        and "/" in content_type.split(";", 1)[0]
    )
    if not valid:
        raise ValidationError(
            f"{field} must be a MIME type such as 'text/plain; charset=utf-8' (printable ASCII, at most "
            f"{MAX_CONTENT_TYPE_LENGTH} characters), got {short_repr(content_type)}."
        )
    return content_type


def check_file_size(size: Any, field: str) -> int:
    """A file's size in bytes: an int from 0 to :data:`MAX_FILE_BYTES`."""
    if isinstance(size, bool) or not isinstance(size, int):
        raise ValidationTypeError(f"{field} must be an int >= 0, got {describe_value(size)}.")
    if size < 0:
        raise ValidationError(f"{field} must be an int >= 0, got {size}.")
    if size > MAX_FILE_BYTES:
        raise ValidationError(
            f"{field} must be at most {MAX_FILE_BYTES} bytes ({MAX_FILE_BYTES // 2**20} MiB), got {size}."
        )
    return size


def check_limit(limit: Any) -> int | None:
    """A row limit: None, or an int from 0 to 2**63 - 1."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValidationTypeError(f"limit must be an int or None, got {describe_value(limit)}.")
    if not 0 <= limit <= INT64_MAX:
        raise ValidationError(f"limit must be from 0 to 2**63 - 1, got {short_repr(limit)}.")
    return limit


def check_run_name(name: Any) -> str | None:
    """A run name given by the user: None (the default name) or 1 to 100 characters of valid text."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise ValidationTypeError(f"name must be a non-empty string, got {describe_value(name)}.")
    if not name:
        raise ValidationError("name must be a non-empty string, got ''.")
    return check_text(name, "name", MAX_NAME_LENGTH)


def check_int64(value: int, field: str) -> int:
    """An int that fits the store's signed 64-bit integer columns."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValidationError(
            f"{field} must be within the signed 64-bit range [-2**63, 2**63 - 1], got {short_repr(value)}."
        )
    return value


def check_step(step: Any) -> int:
    """A checkpoint step: an int (or integer scalar) from 0 to 2**63 - 1."""
    number = step if isinstance(step, int) else _unwrap_scalar(step)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValidationTypeError(f"step must be an int >= 0, got {describe_value(step)}.")
    if not 0 <= number <= INT64_MAX:
        raise ValidationError(f"step must be an int >= 0 and at most 2**63 - 1, got {short_repr(step)}.")
    return number


def to_seconds(value: Any, field: str) -> float:
    """A duration: a finite number of seconds > 0 (not a bool, not a string)."""
    seconds = to_real(value, field)
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValidationError(f"{field} must be a finite number of seconds > 0, got {short_repr(value)}.")
    return seconds


def to_seed(value: Any, field: str = "seed") -> int:
    """A random seed: an int (or numpy integer) from 0 to 2**63 - 1, as a signed 64-bit column stores it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValidationTypeError(f"{field} must be an int, got {describe_value(value)}.")
    seed = int(value)
    if not 0 <= seed <= INT64_MAX:
        raise ValidationError(f"{field} must be from 0 to 2**63 - 1, got {short_repr(seed)}.")
    return seed


def to_number(value: Any, field: str) -> float:
    """A logged metric value as a float, coerced as sigopt-python's ``sanitize_number`` does: whatever
    ``float()`` takes, so ``"0.9"`` is 0.9 and ``True`` is 1.0 (a numpy or torch scalar too).

    NaN and infinities pass (they mark a run diverged); an int too large for a float does not, nor
    text that is not a number.
    """
    try:
        return float(value)
    except OverflowError:
        raise ValidationError(
            f"{field} must be a number within the 64-bit float range (about ±1.8e308), got {short_repr(value)}."
        ) from None
    except Exception:  # whatever a foreign object's __float__ raises, it is not a number
        raise ValidationTypeError(f"{field} must be a number, got {describe_value(value)}.") from None


def to_real(value: Any, field: str) -> float:
    """A number given as one (an int, a float or a numeric scalar; not a bool or text), as a float.

    For settings and observations, where SigOpt's API takes numbers only; logged metric values take
    :func:`to_number`'s coercion instead.
    """
    if isinstance(value, (bool, str, bytes, bytearray)):
        raise ValidationTypeError(f"{field} must be a number, got {describe_value(value)}.")
    return to_number(value, field)


def check_stddev(stddev: Any, field: str) -> float:
    """A standard deviation: a finite number >= 0."""
    value = to_number(stddev, field)
    if not (math.isfinite(value) and value >= 0):
        raise ValidationError(f"{field} must be a finite number >= 0, got {short_repr(stddev)}.")
    return value


def to_metrics(metrics: Any, kwargs: Mapping[str, Any]) -> dict[str, float]:
    """The metrics of ``log_metrics(metrics, **kwargs)``, all checked before any is logged."""
    if metrics is not None and not isinstance(metrics, Mapping):
        raise ValidationTypeError(
            f"metrics must be a mapping of metric names to numbers, got {describe_value(metrics)}."
        )
    checked: dict[str, float] = {}
    for source in (metrics or {}, kwargs):
        for name, value in source.items():
            check_name(name, "metric name")  # before the value's message shows the name
            checked[name] = to_number(value, f"metric {name!r}")
    return checked


def _unwrap_scalar(value: Any) -> Any:
    """The Python value of a numpy or torch scalar (``.item()`` of a 0-d value), else a sentinel."""
    try:
        item = getattr(value, "item", None)
        if callable(item) and getattr(value, "ndim", 0) == 0:
            return item()
    except Exception:  # a foreign object's attributes may raise anything; it is then not a scalar
        pass
    return _NOT_SCALAR


def _scalar(value: Any) -> Any:
    """``value`` if it is None, bool, int, float or str; a numpy/torch scalar unwrapped; else a sentinel."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    unwrapped = _unwrap_scalar(value)
    return unwrapped if unwrapped is None or isinstance(unwrapped, (bool, int, float, str)) else _NOT_SCALAR


def to_param(value: Any, field: str) -> ParamValue:
    """A parameter value: int (64-bit), finite float, str (valid text, at most 500 characters), bool or None.

    Numpy and torch scalars are unwrapped.
    """
    scalar = _scalar(value)
    if scalar is _NOT_SCALAR:
        raise ValidationTypeError(f"{field} must be an int, float, str, bool or None, got {describe_value(value)}.")
    if isinstance(scalar, bool) or scalar is None:
        return scalar
    if isinstance(scalar, int):
        return check_int64(scalar, field)
    if isinstance(scalar, float):
        if not math.isfinite(scalar):
            raise ValidationError(f"{field} must be a finite number, got {scalar!r}.")
        return scalar
    return check_text(scalar, field, MAX_TEXT_LENGTH)


def is_param(name: Any, value: Any) -> bool:
    """Whether ``to_param`` and ``check_name`` accept this entry (for recording function arguments)."""
    try:
        check_name(name, "parameter name")
        to_param(value, "parameter")
    except ValidationError:
        return False
    return True


def to_metadata(value: Any, field: str) -> MetadataValue:
    """A metadata value as SigOpt stores it: a number if it is one, else its ``str``.

    Scalars that are representable (ints in 64 bits, finite floats) stay as they are; anything else
    (a dict, NaN, a huge int) is stored as its ``str``, which must be valid text of at most 500
    characters (SigOpt's limit).
    """
    scalar = _scalar(value)
    if scalar is None or isinstance(scalar, (bool, str)):
        return scalar if not isinstance(scalar, str) else check_text(scalar, field, MAX_TEXT_LENGTH)
    if isinstance(scalar, int) and INT64_MIN <= scalar <= INT64_MAX:
        return scalar
    if isinstance(scalar, float) and math.isfinite(scalar):
        return scalar
    return check_text(_as_text(value, field), field, MAX_TEXT_LENGTH)


def to_text(value: Any, field: str, max_length: int) -> str:
    """``str(value)`` as valid text of at most ``max_length`` characters (SigOpt's ``str`` rule)."""
    return check_text(_as_text(value, field), field, max_length)


def _as_text(value: Any, field: str) -> str:
    try:
        text = str(value)
    except Exception:  # a __str__ that raises, or an int past Python's digit limit
        raise ValidationTypeError(f"{field} has no text form (str() failed) for {describe_value(value)}.") from None
    return text


def model_type(type: Any, type_: Any) -> Any:
    """The model type of ``log_model(type)`` or sigopt-python's ``log_model(type_=...)``: one of the two.

    Raises:
        ValidationError: Both are given.
    """
    if type is not None and type_ is not None:
        raise ValidationError("model type: give it once, as type or as sigopt-python's type_, not both.")
    return type if type_ is None else type_

"""What every rule group shares: failing with a field path, reading JSON-shaped values, and the name limits."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from sigopt_ai._checks import check_text, short_repr
from sigopt_ai._definition import Conditional, Metric, Parameter
from sigopt_ai._exceptions import ValidationError

NAME_MAX_LENGTH = 100
CATEGORICAL_VALUE_MAX_LENGTH = 50

_T = TypeVar("_T")
Parameters = tuple[Parameter, ...]
Conditionals = tuple[Conditional, ...]
Metrics = tuple[Metric, ...]
Conditions = dict[str, tuple[str, ...]]


def fail(path: str, message: str) -> NoReturn:
    """Raise the :class:`ValidationError` for the field at ``path``: ``"{path}: {message}"``."""
    raise ValidationError(f"{path}: {message}")


def describe(value: Any) -> str:
    """A value and its type for a message: ``null`` or ``int (5)``."""
    return "null" if value is None else f"{type(value).__name__} ({short_repr(value)})"


def as_written(value: float) -> str:
    """A number as users wrote it: ``5`` rather than ``5.0``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def as_mapping(value: Any, path: str) -> Mapping[str, Any]:
    """The value as a mapping, or fail."""
    if not isinstance(value, Mapping):
        fail(path, f"expected a mapping, got {describe(value)}.")
    return value


def as_list(value: Any, path: str) -> Sequence[Any]:
    """The value as a list (a sequence, but not text), or fail."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        fail(path, f"expected a list, got {describe(value)}.")
    return value


def non_empty_list(value: Any, path: str, what: str) -> Sequence[Any]:
    """A required list of at least one ``what``, or fail."""
    if value is None:
        fail(path, "this field is required.")
    items = as_list(value, path)
    if not items:
        fail(path, f"at least one {what} is required, got an empty list.")
    return items


def required(obj: Mapping[str, Any], key: str, path: str) -> Any:
    """The value of ``obj[key]``, failing when it is missing or null."""
    value = obj.get(key)
    if value is None:
        fail(path, "this field is required.")
    return value


def check_keys(obj: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    """Fail on the first key of ``obj`` outside ``allowed``."""
    # Null fields and SigOpt's ``object`` tags are what the API emits, so they are not errors.
    for key, value in obj.items():
        if value is not None and key != "object" and key not in allowed:
            fail(path, f"unknown field {short_repr(key)}. Valid fields are {sorted(allowed)!r}.")


def as_string(value: Any, path: str) -> str:
    """The value as a string, or fail."""
    if not isinstance(value, str):
        fail(path, f"expected a string, got {describe(value)}.")
    return value


def check_name(value: Any, path: str, max_length: int = NAME_MAX_LENGTH) -> str:
    """A name of 1 to ``max_length`` characters that UTF-8 can encode, or fail."""
    text = as_string(value, path)
    if not 1 <= len(text) <= max_length:
        fail(path, f"must be 1 to {max_length} characters long, got {len(text)} ({short_repr(text)}).")
    return check_text(text, path)


def choice(value: Any, path: str, choices: Mapping[str, _T], what: str, default: _T) -> _T:
    """The choice that ``value`` names, ``default`` when it is null, or fail."""
    if value is None:
        return default
    if not isinstance(value, str) or value not in choices:
        fail(path, f"{short_repr(value)} is not a valid {what}. It must be one of {sorted(choices)!r}.")
    return choices[value]


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (a bool is not)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_integral(value: Any) -> bool:
    """Whether ``value`` is an integer or a finite integral real (``3.0``)."""
    if isinstance(value, numbers.Integral):
        return not isinstance(value, bool)
    if not is_real(value):
        return False
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and number.is_integer()


def as_float(value: Any, path: str) -> float:
    """A real number as a float; one beyond the float range fails here instead of overflowing later."""
    try:
        return float(value)
    except OverflowError:
        pass
    fail(path, f"expected a number within the 64-bit float range (about ±1.8e308), got {short_repr(value)}.")


def as_number(value: Any, path: str) -> float:
    """A finite real number as a float, or fail."""
    if not is_real(value):
        fail(path, f"expected a number, got {describe(value)}.")
    number = as_float(value, path)
    if not math.isfinite(number):
        fail(path, f"expected a finite number, got {number!r}.")
    return number


def check_unique(names: Sequence[str], path: str, rule: str) -> None:
    """Fail on the first name of ``names`` that repeats an earlier one."""
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            fail(f"{path}[{index}].name", f"{rule}: {name!r} is also the name of {path}[{seen[name]}].")
        seen[name] = index


def value_names(value: Any, path: str, owner: str) -> tuple[str, ...]:
    """Category or conditional values given as ``["a"]`` or ``[{"name": "a"}]``, unique."""
    items = as_list(value, path)
    names = tuple(_value_name(item, f"{path}[{i}]") for i, item in enumerate(items))
    for index, name in enumerate(names):
        if name in names[:index]:
            fail(f"{path}[{index}]", f"{owner} lists the value {name!r} twice.")
    return names


def _value_name(item: Any, path: str) -> str:
    if isinstance(item, Mapping):
        check_keys(item, frozenset({"name", "enum_index"}), path)
        return check_name(required(item, "name", f"{path}.name"), f"{path}.name", CATEGORICAL_VALUE_MAX_LENGTH)
    return check_name(item, path, CATEGORICAL_VALUE_MAX_LENGTH)

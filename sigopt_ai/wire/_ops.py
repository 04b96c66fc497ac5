"""A batch of runs' write operations as JSON, both ways and exactly: ``ops_from_json(ops_to_json(b)) == b``.

An operation (``sigopt_ai._models.Op``) is a tuple of JSON values; it travels as a JSON array. Three
things JSON lacks are written as one-key objects whose key starts with ``$``:

- a tuple inside an operation (the run ids of a heartbeat): ``{"$tuple": [...]}``;
- a float that is not finite (a diverged metric): ``{"$float": "nan"}``, ``"inf"`` or ``"-inf"``;
- bytes (a file's data): ``{"$bytes": "<base64>"}``, standard alphabet with padding.

A mapping of the operation's own (a user's metadata) that happens to have one such key alone is
wrapped as ``{"$dict": {...}}``, so it is never read as one of them. A NaN comes back as NaN (its sign
and payload are not kept, and Python compares no NaN equal, so ``==`` holds for the rest).

Reading also checks each operation's shape against the table below, since a server takes the
batch from the network: the operation must be known, have its number of items, and each item its
type. The values themselves (a metric's name, a metadata value's length) are the store's to check.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sigopt_ai._checks import describe_value
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureInfo
from sigopt_ai._models import Op

__all__ = ["ops_from_json", "ops_to_json"]

_TUPLE, _FLOAT, _DICT, _BYTES = "$tuple", "$float", "$dict", "$bytes"
_TAGS = frozenset({_TUPLE, _FLOAT, _DICT, _BYTES})
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def ops_to_json(ops: Iterable[Op]) -> list[list[Any]]:
    """The operations as JSON arrays, ready for ``json.dumps(..., allow_nan=False)``.

    Raises:
        ValidationTypeError: An operation holds something that is not a JSON value, a tuple or a
            float (the message names the operation and the item).
    """
    batch = []
    for index, op in enumerate(ops):
        try:
            batch.append([_encode(item) for item in op])
        except _NotJSON:
            raise _unencodable(op, index) from None
    return batch


def ops_from_json(data: Any) -> list[Op]:
    """The operations that :func:`ops_to_json` gave.

    Raises:
        ValidationError: ``data`` is not a list of operations, or one has an unknown name, the
            wrong number of items or an item of the wrong type (the message names it).
    """
    if not isinstance(data, list):
        raise ValidationTypeError(f"ops: expected a JSON array of operations, got {describe_value(data)}.")
    return [_read_op(item, index) for index, item in enumerate(data)]


class _NotJSON(Exception):
    """A value an operation cannot carry; the message says which."""


def _unencodable(op: Op, index: int) -> ValidationTypeError:
    """The error for an operation that :func:`_encode` refused, naming the item it refused."""
    for at, item in enumerate(op):
        try:
            _encode(item)
        except _NotJSON as exc:
            return ValidationTypeError(f"ops[{index}][{at}] of a {op[0]!r} operation: {exc}")
    raise AssertionError("not reached: the operation was refused")


def _encode(value: Any) -> Any:
    # Ordered by how often each comes: a batch is mostly metric points.
    if isinstance(value, (str, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {_FLOAT: "nan" if math.isnan(value) else str(value)}
    if isinstance(value, Mapping):
        body = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJSON(f"a mapping key must be a string, got {describe_value(key)}.")
            body[key] = _encode(item)
        return {_DICT: body} if len(body) == 1 and next(iter(body)) in _TAGS else body
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    raise _NotJSON(f"expected a JSON value, a tuple, a float or bytes, got {describe_value(value)}.")


def _decode(value: Any, index: int, at: int) -> Any:
    """``value`` with its tags read; ``index`` and ``at`` place it in the batch for an error."""
    if isinstance(value, list):
        return [_decode(item, index, at) for item in value]
    if not isinstance(value, dict):
        return value  # json.loads gives nothing else
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == _TUPLE and isinstance(inner, list):
            return tuple(_decode(item, index, at) for item in inner)
        if tag == _FLOAT and isinstance(inner, str) and inner in _NON_FINITE:
            return _NON_FINITE[inner]
        if tag == _DICT and isinstance(inner, dict):
            return {key: _decode(item, index, at) for key, item in inner.items()}
        if tag == _BYTES and isinstance(inner, str):
            try:
                return base64.b64decode(inner, validate=True)
            except binascii.Error:
                pass  # refused below
        if tag in _TAGS:
            raise ValidationError(f"ops[{index}][{at}]: {value!r} is not a valid {tag!r} value.")
    return {key: _decode(item, index, at) for key, item in value.items()}


# --- the shapes of the operations (sigopt_ai._models lists them)
_Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _optional_number(value: Any) -> bool:
    return value is None or _number(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(value: Any) -> bool:
    return isinstance(value, dict)


def _metric_values(value: Any) -> bool:
    return isinstance(value, dict) and all(_number(item) for item in value.values())


def _section(value: Any) -> bool:
    return value in ("params", "metadata", "sys_metadata", "datasets", "model")


def _end_state(value: Any) -> bool:
    return value in ("completed", "failed")


def _run_ids(value: Any) -> bool:
    # A tuple as the writer makes it, or an array as a batch that went through plain JSON has it.
    return isinstance(value, (tuple, list)) and all(isinstance(item, str) for item in value)


def _bytes(value: Any) -> bool:
    return isinstance(value, bytes)


def _failure(value: Any) -> bool:
    try:
        FailureInfo.from_json(value)
    except ValidationError:
        return False
    return True


_RUN_ID = ("run id", _text, "a string")
_TIMESTAMP = ("timestamp", _number, "a number")
_SHAPES: dict[str, tuple[tuple[str, _Check, str], ...]] = {
    "start": (
        _RUN_ID,
        ("project", _text, "a string"),
        ("name", _text, "a string"),
        ("created", _number, "a number"),
        ("experiment id", _optional_text, "a string or null"),
        ("suggestion id", _optional_text, "a string or null"),
    ),
    "fields": (
        _RUN_ID,
        ("section", _section, "'params', 'metadata', 'sys_metadata', 'datasets' or 'model'"),
        ("values", _mapping, "a JSON object"),
    ),
    "metric": (
        _RUN_ID,
        ("name", _text, "a string"),
        ("value", _number, "a number"),
        ("stddev", _optional_number, "a number or null"),
        _TIMESTAMP,
    ),
    "checkpoint": (
        _RUN_ID,
        ("step", _integer, "an integer"),
        ("values", _metric_values, "a JSON object of numbers"),
        _TIMESTAMP,
    ),
    "failure": (_RUN_ID, ("failure", _failure, "a failure (kind, type, message, traceback)"), _TIMESTAMP),
    "end": (_RUN_ID, ("state", _end_state, "'completed' or 'failed'"), _TIMESTAMP),
    "heartbeat": (("run ids", _run_ids, "an array of strings"), _TIMESTAMP),
    "file": (
        _RUN_ID,
        ("file id", _text, "a string"),
        ("name", _text, "a string"),
        ("content type", _text, "a string"),
        ("data", _bytes, 'bytes, as {"$bytes": "<base64>"}'),
        _TIMESTAMP,
    ),
}


def _read_op(data: Any, index: int) -> Op:
    if not (isinstance(data, list) and data and isinstance(data[0], str) and data[0] in _SHAPES):
        raise ValidationError(
            f"ops[{index}]: expected an operation, a JSON array whose first item is one of {sorted(_SHAPES)!r}, "
            f"got {describe_value(data)}."
        )
    name, *items = data
    shape = _SHAPES[name]
    if len(items) != len(shape):
        raise ValidationError(f"ops[{index}]: a {name!r} operation has {len(shape) + 1} items, got {len(data)}.")
    op = [name]
    for at, (item, (what, check, expected)) in enumerate(zip(items, shape, strict=True), start=1):
        # Most items are scalars, which JSON gives as they were sent.
        value = _decode(item, index, at) if isinstance(item, (list, dict)) else item
        if not check(value):
            raise ValidationError(
                f"ops[{index}][{at}] ({what} of a {name!r} operation): expected {expected}, "
                f"got {describe_value(value)}."
            )
        op.append(value)
    return tuple(op)

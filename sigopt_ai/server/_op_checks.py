"""The values of write operations that came over the network, checked by the SDK's own rules.

``wire.ops_from_json`` checks each operation's shape; the SDK checks values before it makes an
operation, so a store never sees a bad one from it, but a server takes them from anyone. The checks
here are the SDK's (:mod:`sigopt_ai._checks`), so the server stores exactly what an embedded store
would, and a value the store could not hold (a 300-character metric name, a step past 64 bits) is
a 400 naming it rather than a driver's error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sigopt_ai._checks import (
    MAX_TEXT_LENGTH,
    check_content_type,
    check_file_name,
    check_file_size,
    check_name,
    check_run_name,
    check_step,
    check_text,
    short_repr,
    to_metadata,
    to_param,
)
from sigopt_ai._exceptions import ValidationError
from sigopt_ai._models import Op

__all__ = ["MAX_RUN_ID_LENGTH", "check_ops"]

MAX_RUN_ID_LENGTH = 40
"""The store's limit on a run id (and a file id)."""


def check_ops(ops: Sequence[Op]) -> None:
    """Check the values of each operation.

    Raises:
        ValidationError: A value breaks the SDK's rules; the message starts with ``ops[i]``.
    """
    for index, op in enumerate(ops):
        where = f"ops[{index}] ({op[0]!r} operation)"
        try:
            _CHECKS[op[0]](op)
        except ValidationError as exc:
            raise type(exc)(f"{where}: {exc}") from None


def _run_ids(*run_ids: str) -> None:
    for run_id in run_ids:
        if not run_id or len(run_id) > MAX_RUN_ID_LENGTH:
            raise ValidationError(f"run id must be 1 to {MAX_RUN_ID_LENGTH} characters, got {short_repr(run_id)}.")
        check_text(run_id, "run id")


def _time(value: float, field: str = "timestamp") -> None:
    if not math.isfinite(value):
        raise ValidationError(f"{field} must be a finite number, got {value!r}.")


def _start(op: Op) -> None:
    _, run_id, _project, name, created, experiment, suggestion = op
    _run_ids(run_id)
    check_run_name(name)
    _time(created, "created")
    for field, value in (("experiment id", experiment), ("suggestion id", suggestion)):
        if value is not None:
            check_text(value, field, MAX_RUN_ID_LENGTH)


def _entries(values: Mapping[str, Any], field: str, check: Callable[[Any, str], Any] | None) -> None:
    for key, value in values.items():
        check_name(key, f"{field} name")
        if check is not None:
            check(value, f"{field} {key!r}")


def _model(value: Any, field: str) -> None:
    if value is not None:
        if not isinstance(value, str):
            raise ValidationError(f"{field} must be a string, got {short_repr(value)}.")
        check_text(value, field, MAX_TEXT_LENGTH)


_SECTION_CHECKS: dict[str, Callable[[Any, str], Any] | None] = {
    "params": to_param,
    "metadata": to_metadata,
    "sys_metadata": None,
    "datasets": None,
    "model": _model,
}


def _fields(op: Op) -> None:
    _, run_id, section, values = op
    _run_ids(run_id)
    _entries(values, section, _SECTION_CHECKS[section])


def _metric(op: Op) -> None:
    _, run_id, name, _value, stddev, timestamp = op
    _run_ids(run_id)
    check_name(name, "metric name")
    if stddev is not None and not (math.isfinite(stddev) and stddev >= 0):
        raise ValidationError(f"stddev must be a finite number >= 0, got {stddev!r}.")
    _time(timestamp)


def _checkpoint(op: Op) -> None:
    _, run_id, step, values, timestamp = op
    _run_ids(run_id)
    check_step(step)
    _entries(values, "checkpoint metric", None)
    _time(timestamp)


def _end(op: Op) -> None:
    _run_ids(op[1])
    _time(op[-1])


def _file(op: Op) -> None:
    _, run_id, file_id, name, content_type, data, timestamp = op
    _run_ids(run_id)
    if not file_id or len(file_id) > MAX_RUN_ID_LENGTH:
        raise ValidationError(f"file id must be 1 to {MAX_RUN_ID_LENGTH} characters, got {short_repr(file_id)}.")
    check_text(file_id, "file id")
    check_file_name(name, "file name")
    check_content_type(content_type, "file content type")
    check_file_size(len(data), "file data")
    _time(timestamp)


def _heartbeat(op: Op) -> None:
    _run_ids(*op[1])
    _time(op[2])


_CHECKS: dict[str, Callable[[Op], None]] = {
    "start": _start,
    "fields": _fields,
    "metric": _metric,
    "checkpoint": _checkpoint,
    "failure": _end,
    "end": _end,
    "heartbeat": _heartbeat,
    "file": _file,
}

"""Records a store rejects: telling them from store outages, repairing them, keeping them as text.

A write can fail because the store is unavailable (locked, full, read-only, gone), which retrying
fixes, or because one record holds a value the database cannot take (an integer past 64 bits, a
string with a lone surrogate, an object the driver cannot bind), which retrying never fixes. The
writer retries the first kind and sets the second aside (see :mod:`sigopt_ai.runs._writer`); this module
holds the parts of that which do not depend on a database.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sigopt_ai._models import Op

_RECORD_ERRORS = (ArithmeticError, LookupError, TypeError, ValueError, AttributeError)
"""Raised while a record's values are converted (packing, JSON, binding): the record is at fault."""

DEAD_LETTER_FILE = "sigopt_ai-dead-letters.jsonl"


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_record_error(exc: BaseException) -> bool:
    """Whether ``exc`` says a record's own value cannot be written (so retrying cannot help).

    An operating-system error anywhere in the chain (a full disk, a missing directory) means the
    store is at fault, even when it surfaced while a value was converted.
    """
    chain = list(causes(exc))
    if any(isinstance(e, OSError) for e in chain):
        return False
    return any(isinstance(e, _RECORD_ERRORS) for e in chain)


def escape_text(text: str) -> str:
    """``text`` with lone surrogates (which UTF-8 cannot encode) written as ``\\udcxx`` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def repair(op: Op) -> Op | None:
    """A storable copy of ``op`` if text is what made it unstorable, else None.

    Lone surrogates in strings (a run name, a failure message holding a non-UTF-8 file name) are
    escaped.
    """
    repaired = _repair_value(op)
    return None if repaired == op else tuple(repaired)


def _repair_value(value: Any) -> Any:
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, tuple):
        return tuple(_repair_value(v) for v in value)
    if isinstance(value, list):
        return [_repair_value(v) for v in value]
    if isinstance(value, dict):
        return {_repair_value(k): _repair_value(v) for k, v in value.items()}
    return value


def dead_letter_row(op: Op, error: BaseException) -> dict[str, Any]:
    """A rejected record as text: when, whose, what kind, the record and why it was rejected.

    The record is its ``repr``, but bytes (a file's contents) as ``base64.b64decode('...')``, so the
    text stays within 4/3 of the file's size and gives the file back.
    """
    run_id = op[1] if len(op) > 1 and isinstance(op[1], str) else None
    return {
        "created": time.time(),
        "run_id": None if run_id is None else escape_text(run_id),
        "kind": escape_text(str(op[0]))[:32] if op else "?",
        "record": escape_text(_record_repr(op)),
        "error": escape_text(f"{type(error).__name__}: {error}"),
    }


class _Base64:
    """Bytes shown as the expression that makes them again from base64: 4/3 of their size, where
    ``repr`` of binary data takes up to 4 characters a byte (16 MB of text for a 4 MiB file)."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.text = base64.b64encode(data).decode("ascii")

    def __repr__(self) -> str:
        return f"base64.b64decode({self.text!r})"


def _record_repr(op: Op) -> str:
    """``op`` as Python text, its bytes (a file's) as base64."""
    return _safe_repr(tuple(_Base64(v) if isinstance(v, (bytes, bytearray, memoryview)) else v for v in op))


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a value whose repr fails (or an int past Python's digit limit)
        return f"<unprintable {type(value).__name__}: {type(exc).__name__}>"


def append_dead_letter(row: dict[str, Any], near: Path | None = None) -> Path:
    """Append ``row`` as one JSON line to the dead-letter file next to ``near`` (or in the temp
    directory when that fails), and return the file's path.

    Raises:
        OSError: Neither place could be written.
    """
    line = json.dumps(row) + "\n"
    places = [near.parent / f"{near.name}.dead-letters.jsonl"] if near is not None else []
    places.append(Path(tempfile.gettempdir()) / DEAD_LETTER_FILE)
    error: OSError | None = None
    for path in places:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
            return path
        except OSError as exc:
            error = exc
    assert error is not None
    raise error

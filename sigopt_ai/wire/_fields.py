"""Reading and writing the fields of SigOpt v1 JSON objects, with errors that name the field.

:class:`Fields` reads one object: each accessor checks the type of one field and raises
:class:`ValidationError` (or :class:`ValidationTypeError`) whose message starts with the field's path,
``training_run.values['loss'].value: expected a number, got 'high' (str).``
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

from sigopt_ai._checks import describe_value
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._types import ParamValue

__all__ = ["EXTENSION", "JSON", "Fields", "evaluation_to_json", "metric_to_json", "seconds"]

JSON = dict[str, Any]
"""A JSON object as Python gives it."""

EXTENSION = "sigopt_ai"
"""The field of every object that holds what we store and SigOpt's object lacks."""

# A metric value is always a number, so these strings cannot be mistaken for a logged value. They are
# JavaScript's spellings, which Python's float() also reads.
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_State = TypeVar("_State", bound=enum.Enum)


def seconds(timestamp: float) -> int:
    """SigOpt's form of a timestamp: whole seconds since the epoch."""
    return math.floor(timestamp)


def metric_to_json(value: float) -> float | str:
    """A metric value as JSON: the number, or ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def evaluation_to_json(name: str, value: float | None, stddev: float | None = None) -> JSON:
    """SigOpt's ``metric_evaluation`` object: one metric's value and standard deviation."""
    return {
        "object": "metric_evaluation",
        "name": name,
        "value": None if value is None else metric_to_json(value),
        "value_stddev": None if stddev is None else metric_to_json(stddev),
    }


class Fields:
    """One JSON object being read; ``path`` names it in error messages.

    Args:
        value: What should be a JSON object.
        path: Its name in messages, such as ``"experiment"`` or ``"training_run.sigopt_ai"``.
        kind: The ``object`` it must say it is, when it says (SigOpt's ``"object": "experiment"``).

    Raises:
        ValidationTypeError: ``value`` is not a mapping.
        ValidationError: Its ``object`` field names another kind.
    """

    __slots__ = ("obj", "path")

    def __init__(self, value: Any, path: str, kind: str | None = None) -> None:
        if not isinstance(value, Mapping):
            raise ValidationTypeError(f"{path}: expected a JSON object, got {describe_value(value)}.")
        self.obj: Mapping[str, Any] = value
        self.path = path
        if kind is not None and value.get("object", kind) != kind:
            self.fail("object", f"expected {kind!r}", value["object"], ValidationError)

    def fail(self, key: str, expected: str, got: Any, error: type[ValidationError] = ValidationTypeError) -> NoReturn:
        """Raise ``error`` naming field ``key``: ``path.key: expected ..., got ...``."""
        raise error(f"{self.path}.{key}: {expected}, got {describe_value(got)}.")

    def required(self, key: str) -> Any:
        """The field's value; it must be present."""
        if key not in self.obj:
            raise ValidationError(f"{self.path}.{key}: the field is required.")
        return self.obj[key]

    def text(self, key: str) -> str:
        """A string field."""
        value = self.required(key)
        if not isinstance(value, str):
            self.fail(key, "expected a string", value)
        return value

    def optional_text(self, key: str) -> str | None:
        """A string field that may be null or absent."""
        value = self.obj.get(key)
        if value is not None and not isinstance(value, str):
            self.fail(key, "expected a string or null", value)
        return value

    def number(self, key: str) -> float:
        """A number field (an int or a float, not a bool), returned as given."""
        value = self.required(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, "expected a number", value)
        return value

    def optional_number(self, key: str) -> float | None:
        """A number field that may be null or absent."""
        return None if self.obj.get(key) is None else self.number(key)

    def integer(self, key: str) -> int:
        """An integer field."""
        value = self.required(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, "expected an integer", value)
        return value

    def optional_integer(self, key: str) -> int | None:
        """An integer field that may be null or absent."""
        return None if self.obj.get(key) is None else self.integer(key)

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean field; ``default`` when absent."""
        value = self.obj.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, "expected true or false", value)
        return value

    def metric(self, key: str) -> float:
        """A metric value: a number, or ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``."""
        value = self.required(key)
        if isinstance(value, str) and value in _NON_FINITE:
            return _NON_FINITE[value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, "expected a number, 'NaN', 'Infinity' or '-Infinity'", value)
        return value

    def optional_metric(self, key: str) -> float | None:
        """A metric value that may be null or absent."""
        return None if self.obj.get(key) is None else self.metric(key)

    def child(self, key: str, kind: str | None = None) -> Fields:
        """A nested object field."""
        return Fields(self.required(key), f"{self.path}.{key}", kind)

    def mapping(self, key: str) -> dict[str, Any]:
        """A JSON object field whose values are taken as they are; null or absent gives ``{}``."""
        value = self.obj.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(key, "expected a JSON object or null", value)
        return dict(value)

    def scalars(self, key: str) -> dict[str, ParamValue]:
        """A JSON object field of scalars (assignments, metadata); null or absent gives ``{}``."""
        body = self.mapping(key)
        for name, value in body.items():
            if value is not None and not isinstance(value, (str, int, float)):
                raise ValidationTypeError(
                    f"{self.path}.{key}[{name!r}]: expected a string, number, boolean or null, "
                    f"got {describe_value(value)}."
                )
        return body

    def items(self, key: str) -> list[Any]:
        """A JSON array field; null or absent gives ``[]``."""
        value = self.obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, "expected a JSON array or null", value)
        return value

    def extension(self) -> Fields:
        """The object's :data:`EXTENSION` field (empty when absent)."""
        return Fields(self.obj.get(EXTENSION) or {}, f"{self.path}.{EXTENSION}")

    def time(self, key: str) -> float:
        """A timestamp: the exact one in the extension, else SigOpt's whole seconds."""
        exact = self.extension()
        return exact.number(key) if key in exact.obj else self.integer(key)

    def optional_time(self, key: str) -> float | None:
        """A timestamp that may be null or absent."""
        exact = self.extension()
        return exact.optional_number(key) if key in exact.obj else self.optional_integer(key)

    def state(self, states: type[_State]) -> _State:
        """The ``state`` field, one of the values of the enum ``states``."""
        value = self.required("state")
        try:
            return states(value)
        except ValueError:
            self.fail("state", f"expected one of {[s.value for s in states]!r}", value, ValidationError)

    def evaluations(self, key: str, *, keyed: bool = False) -> dict[str, tuple[float | None, float | None]]:
        """``metric_evaluation`` objects as ``{name: (value, stddev)}``.

        The field is a list of them (observations, checkpoints), or with ``keyed`` a map from each
        one's name (training runs), where a value may also be null.
        """
        raw = self.mapping(key) if keyed else dict(enumerate(self.items(key)))
        found: dict[str, tuple[float | None, float | None]] = {}
        for at, item in raw.items():
            evaluation = Fields(item, f"{self.path}.{key}[{at!r}]", "metric_evaluation")
            name = evaluation.text("name")
            if keyed and name != at:
                evaluation.fail("name", f"expected the key it is under, {at!r}", name, ValidationError)
            if name in found:
                evaluation.fail("name", "expected each metric once", name, ValidationError)
            value = evaluation.optional_metric("value") if keyed else evaluation.metric("value")
            found[name] = (value, evaluation.optional_metric("value_stddev"))
        return found

    def metrics(self, key: str) -> dict[str, float]:
        """A list of ``metric_evaluation`` objects as ``{name: value}`` (a ``value_stddev`` is not kept)."""
        return {name: value for name, (value, _) in self.evaluations(key).items() if value is not None}

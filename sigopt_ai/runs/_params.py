"""Run parameters: a mapping with attribute access whose suggested entries are read-only."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from sigopt_ai._checks import check_name, short_repr, to_param
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._types import ParamValue

Recorder = Callable[[dict[str, ParamValue]], None]


class RunParams(MutableMapping[str, ParamValue]):
    """The parameters of a run: ``params.lr`` and ``params["lr"]``.

    Values suggested by an experiment are fixed: writing a different value raises. Every change is
    recorded with the run.

    Example:
        >>> run.params.setdefaults(lr=0.01, epochs=3)
        >>> run.params.lr
        0.01
    """

    __slots__ = ("_fixed", "_record", "_values")
    _fixed: frozenset[str]
    _record: Recorder
    _values: dict[str, ParamValue]

    def __init__(self, record: Recorder, fixed: Mapping[str, ParamValue] | None = None) -> None:
        object.__setattr__(self, "_record", record)
        object.__setattr__(self, "_values", dict(fixed or {}))
        object.__setattr__(self, "_fixed", frozenset(fixed or {}))

    def __getattr__(self, name: str) -> ParamValue:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"There is no parameter named {name!r}.") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        del self[name]

    def __getitem__(self, name: str) -> ParamValue:
        return self._values[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def __delitem__(self, name: str) -> None:
        check_name(name, "parameter name")
        self._check_writable(name, None)
        del self._values[name]
        self._record({name: None})

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"RunParams({self._values!r})"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._values))

    def is_fixed(self, name: str) -> bool:
        """Whether ``name`` was suggested by an experiment (and so cannot change)."""
        return name in self._fixed

    def _check_writable(self, name: str, value: ParamValue) -> None:
        if name in self._fixed and self._values[name] != value:
            raise ValidationError(
                f"Parameter {name!r} was suggested by the experiment as {self._values[name]!r} and cannot "
                f"be changed to {short_repr(value)}."
            )

    def _validated(self, *args: Any, **kwargs: Any) -> dict[str, ParamValue]:
        try:
            given = dict(*args, **kwargs)
        except (TypeError, ValueError):  # what dict() says of a non-mapping is about dict, not parameters
            shown = ", ".join(short_repr(a) for a in args)
            raise ValidationTypeError(
                f"parameters must be given as a mapping or as name=value keywords, got {shown}."
            ) from None
        changes: dict[str, ParamValue] = {}
        for name, value in given.items():
            check_name(name, "parameter name")
            changes[name] = to_param(value, f"parameter {name!r}")
        return changes

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several parameters at once; nothing is set if any is invalid."""
        changes = self._validated(*args, **kwargs)
        for name, value in changes.items():
            self._check_writable(name, value)
        self._values.update(changes)
        if changes:
            self._record(changes)

    def setdefaults(self, *args: Any, **kwargs: Any) -> RunParams:
        """Set the parameters that have no value yet (suggested ones keep theirs); returns ``self``."""
        changes = {k: v for k, v in self._validated(*args, **kwargs).items() if k not in self._values}
        self.update(changes)
        return self

    def setdefault(self, name: str, default: Any = None) -> ParamValue:  # type: ignore[override]
        """The value of ``name``, set to ``default`` first if it has none."""
        self.setdefaults({check_name(name, "parameter name"): default})
        return self._values[name]

    def as_dict(self) -> dict[str, ParamValue]:
        """A copy of the parameters."""
        return dict(self._values)

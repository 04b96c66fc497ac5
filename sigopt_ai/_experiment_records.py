"""Values the experiment store returns (no SQLAlchemy here: ``import sigopt_ai`` stays light)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigopt_ai._types import ParamValue


@dataclass(frozen=True, slots=True)
class StoredExperiment:
    """An experiment row: its definition as SigOpt JSON, and bookkeeping."""

    id: str
    project: str
    name: str
    definition: Mapping[str, Any]
    state: str
    seed: int
    lease_timeout: float
    created: float


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A suggestion: an assignment to evaluate (``state`` is ``open`` until it is observed)."""

    id: str
    experiment: str
    assignments: Mapping[str, ParamValue]
    state: str
    serve_count: int


@dataclass(frozen=True, slots=True)
class Observation:
    """A finished evaluation: ``values`` is empty when it ``failed`` (then ``failure_kind`` says why)."""

    id: str
    suggestion: str | None
    run: str | None
    assignments: Mapping[str, ParamValue]
    values: Mapping[str, float]
    failed: bool
    failure_kind: str | None
    created: float


@dataclass(frozen=True, slots=True)
class Counts:
    """Observation and lease counts of an experiment."""

    finished: int
    failed: int
    active: int
    failed_by_kind: Mapping[str, int]

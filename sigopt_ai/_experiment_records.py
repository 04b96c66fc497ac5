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
    """A finished evaluation: ``values`` is empty when it ``failed`` (then ``failure_kind`` says why).

    ``extra`` marks a second result for a suggestion that already had one: a worker declared lost
    (no heartbeat for longer than the lease) that finished after all. The optimizer sees it; the
    budget does not count it.
    """

    id: str
    suggestion: str | None
    run: str | None
    assignments: Mapping[str, ParamValue]
    values: Mapping[str, float]
    failed: bool
    failure_kind: str | None
    created: float
    extra: bool = False


@dataclass(frozen=True, slots=True)
class Counts:
    """Observation and lease counts of an experiment.

    ``finished`` and ``failed`` count observed suggestions (what the budget spends); ``extra`` counts
    further results for suggestions already observed. ``active`` counts leased suggestions, of which
    ``manual`` were served by ``suggest()`` with no run (their leases never expire).
    """

    finished: int
    failed: int
    active: int
    failed_by_kind: Mapping[str, int]
    extra: int = 0
    manual: int = 0

"""Immutable values: the run lifecycle, what a store returns, and the write operations it accepts.

Records returned by a store (:class:`RunRecord`, :class:`Checkpoint`) are frozen dataclasses, shared
safely between the writer thread and the user's threads. Write operations are plain tuples built on
the training hot path, where a dataclass would cost more than the rest of ``log_metric`` together.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sigopt_ai import _config
from sigopt_ai._failures import FailureInfo
from sigopt_ai._types import MetadataValue, ParamValue

__all__ = ["Checkpoint", "MetricPoint", "Op", "RunRecord", "RunState", "is_lost"]


class RunState(str, enum.Enum):
    """The lifecycle of a run. Transitions follow SigOpt's precedence: failed > completed > active."""

    ACTIVE = "active"  # started, still recording
    COMPLETED = "completed"  # ended without a failure
    FAILED = "failed"  # ended (or marked) failed; stays failed

    def is_finished(self) -> bool:
        """Whether the run has ended."""
        return self is not RunState.ACTIVE

    @property
    def precedence(self) -> int:
        """SigOpt's order: a transition to a lower precedence is ignored."""
        return _PRECEDENCE[self]


_PRECEDENCE = {RunState.ACTIVE: 0, RunState.COMPLETED: 1, RunState.FAILED: 2}


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One logged value of a metric (NaN and infinities are kept as logged)."""

    value: float
    stddev: float | None
    created: float


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Metric values logged together at one step of training."""

    step: int
    values: Mapping[str, float]
    created: float


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as stored: what :func:`sigopt_ai.get_run` returns.

    ``metrics`` holds the last value logged for each metric; ``failure`` is None unless the run failed.
    ``lost`` is true for a run still ``active`` whose process stopped sending heartbeats for longer
    than its lease (killed, or its machine lost): nobody will end it.
    """

    id: str
    name: str
    project: str
    state: RunState
    created: float
    ended: float | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    metric_stddevs: Mapping[str, float] = field(default_factory=dict)
    checkpoints: tuple[Checkpoint, ...] = ()
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    sys_metadata: Mapping[str, Any] = field(default_factory=dict)
    datasets: tuple[str, ...] = ()
    model: str | None = None
    failure: FailureInfo | None = None
    experiment: str | None = None
    suggestion: str | None = None
    heartbeat: float | None = None
    lost: bool = False

    def __post_init__(self) -> None:
        if self.lost and self.state is not RunState.ACTIVE:
            raise ValueError(f"Run {self.id!r} is {self.state.value!r}; only an active run can be lost.")
        if self.state is RunState.FAILED and self.failure is None:
            raise ValueError(f"Run {self.id!r} is failed but has no failure information.")
        if self.failure is not None and self.state is not RunState.FAILED:
            raise ValueError(f"Run {self.id!r} has failure information but its state is {self.state.value!r}.")


LOST_AFTER_KEY = "lost_after"
"""The ``sys_metadata`` entry holding a run's lease: seconds without a heartbeat after which it is lost."""


def is_lost(state: RunState, heartbeat: float | None, sys_metadata: Mapping[str, Any]) -> bool:
    """Whether a run is active but sent no heartbeat for longer than its lease.

    The lease is the one the run's process recorded (``SIGOPT_AI_LOST_AFTER`` there, which also set how
    often it sent heartbeats); a run that recorded none gets this process's ``SIGOPT_AI_LOST_AFTER``.
    """
    if state is not RunState.ACTIVE or heartbeat is None:
        return False
    lease = sys_metadata.get(LOST_AFTER_KEY)
    if isinstance(lease, bool) or not isinstance(lease, (int, float)):
        lease = _config.lost_after()
    return time.time() - heartbeat > lease


# Write operations, in the order a run produces them. The first item names the operation:
#   ("start", run_id, project, name, created, experiment_id | None, suggestion_id | None)
#   ("fields", run_id, section, {key: value})     section: params | metadata | sys_metadata | datasets | model
#   ("metric", run_id, name, value, stddev | None, timestamp)
#   ("checkpoint", run_id, step, {name: value}, timestamp)
#   ("failure", run_id, FailureInfo, timestamp)    sets the state to failed
#   ("end", run_id, state, timestamp)              completed or failed; precedence is applied by the store
#   ("heartbeat", (run_id, ...), timestamp)
Op = tuple[Any, ...]

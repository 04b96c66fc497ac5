"""The data model: every value a store holds or returns, and the write operations it accepts.

Runs (:class:`RunRecord`, :class:`Checkpoint`, :class:`MetricPoint`) and experiments
(:class:`ExperimentRecord`, :class:`Suggestion`, :class:`Observation`, :class:`Progress`) are frozen
dataclasses, shared safely between the writer thread and the user's threads; states are enums.
Write operations are plain tuples of JSON values, built on the training hot path (where a dataclass
would cost more than the rest of ``log_metric`` together) and sent as they are to any backend.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from html import escape
from typing import Any

from sigopt_ai import _config
from sigopt_ai._failures import FailureInfo
from sigopt_ai._html import BOX, curve_svg, failure_html, table_html
from sigopt_ai._types import MetadataValue, ParamValue

__all__ = [
    "Checkpoint",
    "ExperimentRecord",
    "ExperimentState",
    "FileRecord",
    "MetricEvaluation",
    "MetricPoint",
    "Observation",
    "Op",
    "ProjectRecord",
    "Progress",
    "RunRecord",
    "RunState",
    "Suggestion",
    "SuggestionState",
    "is_lost",
]


class TextEnum(str, enum.Enum):
    """A state whose text is its value: ``str(RunState.COMPLETED)`` and ``f"{state}"`` give
    ``"completed"``, as sigopt-python's objects print their states."""

    def __str__(self) -> str:
        return str(self.value)


class RunState(TextEnum):
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
    than its lease (killed, or its machine lost): nobody will end it. ``archived`` runs (SigOpt's
    ``deleted``) are left out of run lists but can still be read by id.
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
    archived: bool = False

    def __post_init__(self) -> None:
        if self.lost and self.state is not RunState.ACTIVE:
            raise ValueError(f"Run {self.id!r} is {self.state.value!r}; only an active run can be lost.")
        if self.state is RunState.FAILED and self.failure is None:
            raise ValueError(f"Run {self.id!r} is failed but has no failure information.")
        if self.failure is not None and self.state is not RunState.FAILED:
            raise ValueError(f"Run {self.id!r} has failure information but its state is {self.state.value!r}.")

    @property
    def assignments(self) -> Mapping[str, ParamValue]:
        """The run's parameters under sigopt-python's ``TrainingRun`` name (the same as :attr:`params`)."""
        return self.params

    @property
    def values(self) -> dict[str, MetricEvaluation]:
        """Each metric's last value as sigopt-python's ``TrainingRun.values`` gives it:
        ``run.values["loss"].value`` and ``.value_stddev``."""
        return {
            name: MetricEvaluation(name, value, self.metric_stddevs.get(name)) for name, value in self.metrics.items()
        }

    def _repr_html_(self) -> str:
        """Jupyter's summary: name, state, params, metrics, the failure and the first checkpointed
        metric's curve, as static HTML and SVG (:mod:`sigopt_ai._html`; no script, so untrusted
        notebooks show it too)."""
        state = self.state.value + (" (lost: no heartbeat)" if self.lost else "")
        duration = "" if self.ended is None else f" · {self.ended - self.created:.1f} s"
        links = "".join(
            f" · {label} {escape(value)}"
            for label, value in (("experiment", self.experiment), ("suggestion", self.suggestion))
            if value
        )
        failure = self.failure
        names = list(dict.fromkeys(name for c in self.checkpoints for name in c.values))
        points = [(c.step, c.values[names[0]]) for c in self.checkpoints if names[0] in c.values] if names else []
        return "".join(
            [
                f"<div {BOX}>",
                f'<div><strong>{escape(self.name)}</strong> <span style="color:#666">run {escape(self.id)}'
                f" · project {escape(self.project)}{links}</span></div>",
                f"<div>state: <strong>{escape(state)}</strong>{escape(duration)}</div>",
                ""
                if failure is None
                else failure_html(failure.kind.value, failure.type, failure.message, failure.traceback),
                table_html("params", self.params),
                table_html("metrics", self.metrics),
                curve_svg(names[0], [s for s, _ in points], [v for _, v in points]) if points else "",
                "</div>",
            ]
        )


@dataclass(frozen=True, slots=True)
class MetricEvaluation:
    """One metric's value in :attr:`RunRecord.values` (SigOpt's ``metric_evaluation``)."""

    name: str
    value: float
    value_stddev: float | None = None


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file stored with a run (an image from ``log_image``, a process's captured output): its
    description, without the bytes (``Backend.read_file`` returns those)."""

    id: str
    run: str
    name: str
    content_type: str
    size: int
    created: float
    sha256: str


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    """A project: runs and experiments are grouped by its ``id``; ``name`` is for display."""

    id: str
    name: str
    created: float


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


class ExperimentState(TextEnum):
    """An experiment is ``active`` until it is archived (SigOpt calls that state ``deleted``)."""

    ACTIVE = "active"
    DELETED = "deleted"


class SuggestionState(TextEnum):
    """A suggestion is ``open`` until it has an observation, then ``closed``."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ExperimentRecord:
    """An experiment as stored: its definition as SigOpt JSON, and bookkeeping."""

    id: str
    project: str
    name: str
    definition: Mapping[str, Any]
    state: ExperimentState
    seed: int
    lease_timeout: float
    created: float

    @property
    def budget(self) -> int | None:
        """How many observations the experiment may have (None: no limit)."""
        budget = self.definition.get("budget")
        return None if budget is None else int(budget)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An assignment to evaluate: ``open`` until it is observed.

    ``leased`` tells whether a worker holds it now; ``run`` is the run evaluating it (None for one
    served by ``suggest()``, which no run holds and whose lease never expires).
    """

    id: str
    experiment: str
    assignments: Mapping[str, ParamValue]
    state: SuggestionState
    serve_count: int
    _: KW_ONLY
    run: str | None = None
    leased: bool = False
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class Observation:
    """A finished evaluation: ``values`` maps metric names to values, and is empty when ``failed``.

    ``failure_kind`` says why a failed observation failed (a :class:`~sigopt_ai.FailureKind` value
    such as ``"oom"``), or is None when nobody said. ``extra`` marks a second result for a suggestion
    that already had one: a worker declared lost (no heartbeat for longer than the lease) that
    finished after all. The optimizer sees it; the budget does not count it.

    A strategy is given observations with only the first four fields (the rest default).
    """

    assignments: Mapping[str, ParamValue]
    values: Mapping[str, float] = field(default_factory=dict)
    failed: bool = False
    failure_kind: str | None = None
    _: KW_ONLY
    id: str = ""
    suggestion: str | None = None
    run: str | None = None
    created: float = 0.0
    extra: bool = False


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an experiment stands: ``remaining = budget - finished - active`` (None without budget).

    ``finished`` counts observed suggestions, which is what the budget spends, and ``failed`` those
    of them that failed, by kind in ``failed_by_kind``. ``active`` counts leased suggestions, of which
    ``manual`` were served by ``suggest()`` (no run holds them, so their leases never expire);
    ``extra`` counts further results for suggestions already observed (kept for the optimizer, not
    counted against the budget).
    """

    budget: int | None
    finished: int
    failed: int
    active: int
    remaining: int | None
    failed_by_kind: Mapping[str, int]
    extra: int = 0
    manual: int = 0

    # sigopt-python's names for the same counts (its ``Progress`` and ``RunsProgress`` objects).

    @property
    def remaining_budget(self) -> int | None:
        """Budget left to serve: :attr:`remaining` (sigopt-python's ``loop()`` stops at 0)."""
        return self.remaining

    @property
    def finished_run_count(self) -> int:
        """Observed suggestions: :attr:`finished`."""
        return self.finished

    @property
    def active_run_count(self) -> int:
        """Suggestions being evaluated: :attr:`active`."""
        return self.active

    @property
    def total_run_count(self) -> int:
        """Finished and active together."""
        return self.finished + self.active

    @property
    def observation_budget(self) -> int | None:
        """The budget, under the core module's name."""
        return self.budget

    @property
    def observation_count(self) -> int:
        """Every observation, further results of a suggestion (:attr:`extra`) included."""
        return self.finished + self.extra

    @property
    def observation_budget_consumed(self) -> int:
        """Observations the budget counts: :attr:`finished`."""
        return self.finished


# Write operations, in the order a run produces them. The first item names the operation:
#   ("start", run_id, project, name, created, experiment_id | None, suggestion_id | None)
#   ("fields", run_id, section, {key: value})     section: params | metadata | sys_metadata | datasets | model
#   ("metric", run_id, name, value, stddev | None, timestamp)
#   ("checkpoint", run_id, step, {name: value}, timestamp)
#   ("failure", run_id, {kind, type, message, traceback}, timestamp)   FailureInfo.to_json(); sets the state to failed
#   ("end", run_id, state, timestamp)              "completed" or "failed"; precedence is applied by the store
#   ("heartbeat", (run_id, ...), timestamp)
#   ("file", run_id, file_id, name, content_type, data: bytes, timestamp)   file_id: 16 hex digits made by
#       the SDK, so a batch written twice stores the file once
Op = tuple[Any, ...]

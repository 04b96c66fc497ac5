"""The experiment service: where suggestions are made, for any store.

A store asks the service for each new suggestion of an experiment. The service builds the
experiment's strategy once, keeps it (and its warm caches), and keeps the history it has seen, so
that a store reads only what is new since the last suggestion: the observations made after the
last one it saw, the pending assignments and the sequence index. A store calls it outside any
transaction that other writers wait for (see :class:`~sigopt_ai.backends.Backend`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import ExperimentRecord, Observation
from sigopt_ai._types import ParamValue
from sigopt_ai.optimizer._base import Strategy

__all__ = ["Snapshot", "SuggestionService"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a store read for one suggestion, in one read transaction.

    Attributes:
        index: How many suggestions the experiment has made before this one.
        pending: The assignments of open suggestions (being evaluated, or waiting to be served).
        observation_count: How many observations the experiment has in all.
        observations: The observations after ``after`` (see :meth:`SuggestionService.after`),
            oldest first: all of them when ``after`` is None.
        after: The id of the last observation the service had seen, as the store was asked.
    """

    index: int
    pending: Sequence[Mapping[str, ParamValue]]
    observation_count: int
    observations: Sequence[Observation] = ()
    after: str | None = None


@dataclass
class _Experiment:
    strategy: Strategy
    made_for: tuple[float, int, str]  # see _made_for: which experiment of that id, and which definition
    seen: list[Observation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SuggestionService:
    """Builds, keeps and asks the strategy of each experiment of one store.

    Thread-safe: the threads of a process take turns per experiment (a strategy is not
    thread-safe); other experiments are not held up.
    """

    def __init__(self) -> None:
        self._experiments: dict[str, _Experiment] = {}
        self._lock = threading.Lock()

    def after(self, experiment: ExperimentRecord) -> str | None:
        """The id of the last observation seen: the store reads only those after it (None: all)."""
        seen = self._entry(experiment).seen
        return seen[-1].id if seen else None

    def suggest(self, experiment: ExperimentRecord, snapshot: Snapshot) -> dict[str, ParamValue] | None:
        """An assignment to serve next, or None when the snapshot does not continue the history seen
        (another reader's view, or a store rebuilt): the store reads again, everything this time.
        """
        entry = self._entry(experiment)
        with entry.lock:
            seen = self._extend(entry, snapshot)
            if seen is None:
                return None
            return entry.strategy.suggest(seen, snapshot.pending, index=snapshot.index)

    def after_fork(self) -> None:
        """In a forked child: start afresh. Another thread of the parent may have held a lock here (a
        suggestion being made as the process forked), which nobody would ever release in the child."""
        self._experiments = {}
        self._lock = threading.Lock()

    def forget(self, experiment_id: str) -> None:
        """Drop what is kept for an experiment (archived, or its store closed)."""
        with self._lock:
            self._experiments.pop(experiment_id, None)

    def _extend(self, entry: _Experiment, snapshot: Snapshot) -> list[Observation] | None:
        last = entry.seen[-1].id if entry.seen else None
        if snapshot.after != last:
            if snapshot.after is not None:
                return None
            entry.seen = []  # a full read replaces what was kept
        entry.seen.extend(snapshot.observations)
        if len(entry.seen) != snapshot.observation_count:
            entry.seen = []  # an observation committed out of id order: read everything again
            return None
        return entry.seen

    def _entry(self, experiment: ExperimentRecord) -> _Experiment:
        made_for = _made_for(experiment)
        with self._lock:
            entry = self._experiments.get(experiment.id)
        if entry is not None and entry.made_for == made_for:
            return entry
        built = _Experiment(_build(experiment), made_for)  # outside the lock: other experiments go on
        with self._lock:
            entry = self._experiments.get(experiment.id)
            if entry is None or entry.made_for != made_for:
                entry = self._experiments[experiment.id] = built
            return entry


def _made_for(experiment: ExperimentRecord) -> tuple[float, int, str]:
    """What a kept strategy must match to serve ``experiment``: its (created, seed), so that another
    experiment under a known id (its store file deleted and made again) gets its own strategy, and a
    digest of the definition the strategy reads, so that after an update (new bounds, budget) every
    process serving it builds the strategy anew from its next read of the record. The name and
    metadata are left out: changing them leaves the search as it is."""
    searched = {key: value for key, value in experiment.definition.items() if key not in ("name", "metadata")}
    digest = hashlib.sha256(json.dumps(searched, sort_keys=True).encode()).hexdigest()
    return experiment.created, experiment.seed, digest


def _build(experiment: ExperimentRecord) -> Strategy:
    # The strategies import numpy and scipy: loaded with an experiment's first suggestion.
    from sigopt_ai.optimizer._factory import make_strategy

    return make_strategy(ExperimentDefinition.from_json(experiment.definition), seed=experiment.seed)

"""The backend contract: everything the SDK asks of a store, for runs and for experiments.

Every store implements :class:`Backend`: the embedded SQLite file and PostgreSQL (``backends/sql``),
and a SigOpt v1 REST server over HTTP. Nothing outside ``sigopt_ai.backends`` knows which one it
talks to; ``tests/backends`` is the contract suite that each must pass.

Values in and out are the data model of :mod:`sigopt_ai._models`. Write operations are tuples of
plain JSON values, so that a batch crosses HTTP as it is.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import (
    ExperimentRecord,
    FileRecord,
    MetricPoint,
    Observation,
    Op,
    Progress,
    ProjectRecord,
    RunRecord,
    Suggestion,
)
from sigopt_ai.backends._dead_letters import append_dead_letter, dead_letter_row, is_record_error

DEFINITION_FIELDS = frozenset(f.name for f in dataclasses.fields(ExperimentDefinition))
"""The top-level fields of a stored definition, which :meth:`Backend.update_experiment` may replace."""


def check_definition_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` of :meth:`Backend.update_experiment` as a dict, checked to name definition fields only.

    Raises:
        ValueError: A key is not a field of the definition (a caller's bug: the values come validated).
    """
    if unknown := sorted(map(str, set(changes) - DEFINITION_FIELDS)):
        raise ValueError(
            f"Not fields of an experiment's definition: {unknown!r}; expected some of {sorted(DEFINITION_FIELDS)!r}."
        )
    return dict(changes)


class Backend(ABC):
    """A store of runs and experiments.

    Contract:
        * Runs. :meth:`write` is called by one writer thread per process, but several processes may
          write to one store at once; each call is one transaction: all of ``ops`` are applied, or
          none. Operations are applied in order. Writing the same batch twice after an error must
          not corrupt a run (``start`` is idempotent, field writes are upserts, ``end`` obeys the
          state precedence failed > completed > active); metric points may then appear twice, which
          only history readers see. A ``heartbeat`` operation renews the runs' leases on their
          experiments' suggestions. A ``file`` operation stores a file once per file id (a batch
          written again does not double it).
        * Experiments. Any number of processes serve suggestions of one experiment at once. The
          budget is exact: suggestions are served while observed plus leased ones are fewer than the
          budget. No two workers hold the same open suggestion. A suggestion whose run sent no
          heartbeat for longer than the experiment's lease timeout is served again (its run is
          failed as ``infrastructure``). Suggestions are made where the store is, by an experiment
          service, never while a lock that other writers wait for is held.
        * Reads may come from any thread and see every write that returned.
        * Failures raise :class:`~sigopt_ai.StoreError` (or another :class:`~sigopt_ai.BackendError`),
          chained to the driver's exception; no driver exception escapes. An id that names nothing
          gives None (or False, or an empty list), never an error.
    """

    url: str
    """Where the store is, for messages (a path or a URL without its password)."""

    # -- runs -----------------------------------------------------------------------------------

    @abstractmethod
    def write(self, ops: Sequence[Op], *, key: str | None = None) -> None:
        """Apply write operations (their shapes are listed in :mod:`sigopt_ai._models`).

        Args:
            ops: The batch, applied in one transaction.
            key: Makes the batch idempotent (1 to 200 characters, unique per batch, e.g. a UUID): a
                batch written again with a key already applied is skipped entirely, so a batch resent
                after a lost reply does not repeat its metric points. The key is recorded in the
                batch's transaction, so a batch that failed can be sent again with its key. Keys are
                remembered for at least a week.

        Raises:
            BackendError: Nothing was written.
            ValidationError: ``key`` is not 1 to 200 characters of text; nothing was written.
        """

    @abstractmethod
    def read_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""

    @abstractmethod
    def list_runs(
        self, *, project: str | None = None, experiment: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """Runs, newest first, optionally of one project or experiment, at most ``limit``; archived
        runs are left out (:meth:`read_run` still returns them)."""

    @abstractmethod
    def archive_run(self, run_id: str, archived: bool = True) -> bool:
        """Archive a run (SigOpt's ``deleted``), or with ``archived`` False bring it back; its records
        stay. Returns False when there is no such run."""

    @abstractmethod
    def list_files(self, run_id: str) -> list[FileRecord]:
        """The files stored with a run, oldest first ([] for no such run)."""

    @abstractmethod
    def read_file(self, file_id: str) -> bytes | None:
        """The bytes of a stored file, or None if there is none."""

    @abstractmethod
    def metric_history(self, run_id: str, name: str) -> list[MetricPoint]:
        """Every value logged for metric ``name`` of run ``run_id``, in logging order."""

    def rejects(self, error: BaseException) -> bool:
        """Whether ``error`` from :meth:`write` means a record cannot be stored (retrying cannot help),
        rather than that the store is unavailable for now."""
        return is_record_error(error)

    def dead_letter(self, op: Op, error: BaseException) -> str:
        """Keep a record the store rejected, as text; returns where it went.

        Raises:
            OSError: It could not be kept anywhere.
        """
        return str(append_dead_letter(dead_letter_row(op, error)))

    def dead_letters(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The records this store set aside (of one run), oldest first."""
        return []

    def undelivered(self) -> str | None:
        """A line for the user when batches that :meth:`write` accepted wait locally to be delivered
        (a server's offline journal), else None."""
        return None

    def after_fork(self) -> None:  # noqa: B027 (most stores need nothing here)
        """Called in a forked child before its first use: forget the parent's connections and locks."""

    # -- experiments ----------------------------------------------------------------------------

    @abstractmethod
    def create_experiment(
        self, *, project: str, name: str, definition: Mapping[str, Any], seed: int, lease_timeout: float
    ) -> ExperimentRecord:
        """Store a new experiment (``definition`` is its validated SigOpt JSON) and return it."""

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> ExperimentRecord | None:
        """The experiment with this id, or None."""

    @abstractmethod
    def list_experiments(self, *, project: str | None = None, limit: int | None = None) -> list[ExperimentRecord]:
        """Experiments, newest first, optionally of one project, at most ``limit``."""

    @abstractmethod
    def update_experiment(self, experiment_id: str, changes: Mapping[str, Any]) -> ExperimentRecord | None:
        """Replace top-level fields of an experiment's stored definition and return it as stored now,
        or None if there is none.

        ``changes`` maps a field of the definition (a key of
        :meth:`~sigopt_ai._definition.ExperimentDefinition.to_json`: ``name``, ``metadata``, ``budget``,
        ``parallel_bandwidth``, ``parameters``...) to its new value, already validated and in that
        canonical JSON; fields not named keep their value. The read, change and write happen under the
        experiment's lock, so that two updates of different fields at once both land. Every process
        serving the experiment uses the new definition from its next suggestion on.

        Raises:
            ValueError: A key is not a field of the definition.
        """

    @abstractmethod
    def archive_experiment(self, experiment_id: str) -> None:
        """Archive an experiment (SigOpt's ``deleted`` state): no suggestion is served any more."""

    @abstractmethod
    def unarchive_experiment(self, experiment_id: str) -> None:
        """Make an archived experiment ``active`` again: it serves suggestions while budget remains."""

    # -- projects -------------------------------------------------------------------------------

    @abstractmethod
    def create_project(self, project: str, name: str | None = None) -> bool:
        """Create a project (``name`` defaults to its id); True if created, False if it existed."""

    @abstractmethod
    def get_project(self, project: str) -> ProjectRecord | None:
        """The project with this id, or None."""

    # -- experiments' suggestions -----------------------------------------------------------------

    @abstractmethod
    def serve_suggestion(self, experiment_id: str, *, run_id: str | None) -> Suggestion | None:
        """Lease a suggestion to ``run_id`` (None: a ``suggest()`` outside runs, whose lease never
        expires), or None when the budget is spent or the experiment archived.

        A suggestion given back by an interrupted or lost worker is served before a new one is made.
        """

    @abstractmethod
    def get_suggestion(self, experiment_id: str, suggestion_id: str) -> Suggestion | None:
        """The suggestion with this id in this experiment, or None."""

    @abstractmethod
    def open_suggestions(self, experiment_id: str) -> list[Suggestion]:
        """The experiment's open suggestions, oldest first (leased or waiting to be served again)."""

    @abstractmethod
    def observe(
        self,
        experiment_id: str,
        suggestion_id: str,
        *,
        run_id: str | None,
        values: Mapping[str, float] | None,
        failure_kind: str | None = None,
        run_failure: Mapping[str, Any] | None = None,
    ) -> Observation | None:
        """Record an observation of a suggestion (``values`` None: failed) and close the suggestion.

        An observation outside runs (``run_id`` None) needs the suggestion open; else None is
        returned and nothing is written. A run's result is always recorded: when the suggestion is
        closed already (the run was declared lost and its suggestion served again), it is kept as an
        *extra* observation that the budget does not count. A run declared lost gets its real
        outcome back: ``run_failure`` (a :meth:`FailureInfo.to_json`), or active until its end is
        written.
        """

    @abstractmethod
    def release(
        self, experiment_id: str, suggestion_id: str, run_id: str, run_failure: Mapping[str, Any] | None = None
    ) -> bool:
        """Give a suggestion back to be served again, if ``run_id`` still holds its lease.

        ``run_failure`` replaces a lease expiry recorded for the run if it was declared lost.
        Returns whether the suggestion was given back.
        """

    @abstractmethod
    def progress(self, experiment_id: str) -> Progress | None:
        """Budget, observed, failed, leased and remaining counts, after expiring lost leases (None:
        no such experiment)."""

    @abstractmethod
    def observations(self, experiment_id: str, *, after: str | None = None) -> list[Observation]:
        """The experiment's observations after the one with id ``after`` (all when None), oldest first."""

    @abstractmethod
    def best_observations(self, experiment_id: str) -> list[Observation]:
        """The best successful observations meeting every metric threshold (SigOpt's best assignments:
        the Pareto front for two optimized metrics, the ``num_solutions`` best for several solutions)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections. The backend is unusable afterwards."""


__all__ = ["DEFINITION_FIELDS", "Backend", "check_definition_changes"]

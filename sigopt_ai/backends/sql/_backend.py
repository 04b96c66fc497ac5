"""The SQL store: SQLAlchemy Core over a SQLite file (embedded default) or PostgreSQL.

Constructing a backend never touches the database: the schema is created or upgraded on first use
(the writer thread's first write, or a first read; see :mod:`._migrate`), so a locked or missing
store cannot raise into the code that starts a run. Before each write a SQLite file store checks that
its file is still the one it opened; one deleted or replaced under it is recreated.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sigopt_ai._exceptions import StoreError
from sigopt_ai._models import (
    ExperimentRecord,
    ExperimentState,
    FileRecord,
    MetricPoint,
    Observation,
    Op,
    Progress,
    ProjectRecord,
    RunRecord,
    Suggestion,
)
from sigopt_ai.backends._base import Backend, check_definition_changes
from sigopt_ai.backends._dead_letters import append_dead_letter, causes, dead_letter_row
from sigopt_ai.backends.sql import _batches, _experiments, _files, _leases, _migrate, _projects, _runs, _serving
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._engine import (
    READ_BUSY_MS,
    WRITE_BUSY_MS,
    file_identity,
    make_engine,
    sqlite_file,
    url_without_password,
)
from sigopt_ai.backends.sql._fork import FORK_GATE
from sigopt_ai.optimizer import SuggestionService

logger = logging.getLogger("sigopt_ai")


class SQLBackend(Backend):
    """A store in any SQLAlchemy database; the schema is created or upgraded on first use.

    Args:
        url: A SQLAlchemy URL (``postgresql+psycopg://...``) or the path of a SQLite file.
        service: Makes the experiments' suggestions (default: a new :class:`SuggestionService`).
        upgrade: Create an empty store and upgrade one made by an older version on first use. When
            False (a server, whose operator upgrades with ``sigopt-ai db upgrade``), first use of a
            store not at the current revision raises :class:`~sigopt_ai.ConfigError`.
    """

    def __init__(self, url: str, *, service: SuggestionService | None = None, upgrade: bool = True) -> None:
        self._service = service or SuggestionService()
        self._engine = make_engine(url)
        # Messages name the store; a database URL's password must not reach them (nor the logs).
        self.url = self._engine.url.render_as_string(hide_password=True) if "://" in url else url
        self._upgrade = upgrade
        self._command_url = url_without_password(url)  # for the `sigopt-ai db upgrade` a message asks for
        self._next_prune = 0.0  # time.monotonic() after which a keyed write forgets week-old keys
        self._pid = os.getpid()
        self._file = sqlite_file(self._engine)
        self._file_id: tuple[int, int] | None = None  # of the file the schema was created in
        self._ready = False
        self._ready_lock = threading.Lock()
        # The last start of each run this process has open: rewritten into a recreated store file so
        # that the runs' later records land. Starts are rare, so keeping them costs nothing.
        self._starts: dict[str, Op] = {}
        self._restarts: list[Op] = []  # starts to rewrite with the next write

    def _ensure_ready(self, busy_ms: int = READ_BUSY_MS) -> None:
        """Create or upgrade the store (its directory, file and tables) unless done already.

        A store at the current revision is known by one read; only one that is not takes the write lock.

        Raises:
            StoreError: The store cannot be opened or created now (retry later).
            ConfigError: The store is not at the current revision and this backend may not upgrade it.
        """
        if self._ready:
            return
        if os.getpid() != self._pid:
            self.after_fork()
        with self._ready_lock:
            if self._ready:
                return
            if self._read_revision(busy_ms) != _migrate.HEAD:
                with self._scope(write=True, busy_ms=busy_ms, prepared=False) as conn:
                    _migrate.ensure_current(conn, upgrade=self._upgrade, store=self._command_url)
            if self._file is not None:
                self._file_id = file_identity(self._file)
                if self._file_id is None:  # deleted while it was being created: nothing could detect it later
                    self._engine.dispose()
                    raise StoreError(f"The store file {self._file} vanished while it was being created.")
            self._ready = True

    def _read_revision(self, busy_ms: int) -> str | None:
        """The store's revision (None for a SQLite file not made yet, whose directory this makes)."""
        if self._file is not None and not self._file.exists():
            self._make_directory()
            return None
        with self._scope(busy_ms=busy_ms, prepared=False) as conn:
            return _migrate.stored_revision(conn)

    def _make_directory(self) -> None:
        """Make the directory of a SQLite file not made yet; without ``upgrade``, refuse instead
        (opening the file would create an empty store)."""
        assert self._file is not None
        if not self._upgrade:
            raise _migrate.upgrade_needed(self._command_url, "empty (no file)")
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"The store at {self.url!r} cannot be created: {exc}") from exc

    def _recover_lost_file(self) -> None:
        """Recreate the store if its SQLite file was deleted or replaced since the schema was created.

        The engine's connections still write to the old file, which nobody can read; they are closed,
        the file and tables are created again, and the starts of this process's open runs are
        rewritten with the next batch.
        """
        if self._file is None or self._file_id is None or file_identity(self._file) == self._file_id:
            return
        self._engine.dispose()
        if not self._file.exists():
            for suffix in ("-wal", "-shm", "-journal"):  # the deleted database's; they must not pair with a new one
                Path(f"{self._file}{suffix}").unlink(missing_ok=True)
        self._ready = False
        self._file_id = None  # known lost: warn once, however many attempts recreating it takes
        self._restarts = list(self._starts.values())
        logger.warning(
            "sigopt_ai: the store file %s was deleted or replaced while this process was writing to it; "
            "recreated it. Records written to it before are gone; the %d runs still open in this process "
            "go on in the new file.",
            self._file,
            len(self._restarts),
        )

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (its connections are this process's own)."""
        if os.getpid() != self._pid:
            self.after_fork()
        return self._engine

    def after_fork(self) -> None:
        """Forget what belongs to the parent: its connections, locks its threads may have held, its runs."""
        self._engine.dispose(close=False)
        self._service.after_fork()
        self._ready_lock = threading.Lock()
        self._starts = {}
        self._restarts = []
        self._pid = os.getpid()

    @contextmanager
    def _scope(
        self, *, write: bool = False, busy_ms: int = READ_BUSY_MS, prepared: bool = True
    ) -> Iterator[Connection]:
        """One transaction (in a store whose tables exist, unless ``prepared`` is False); every
        SQLAlchemy error becomes a :class:`StoreError`."""
        if prepared:
            self._ensure_ready(busy_ms)
        try:
            with FORK_GATE.transaction() if write else nullcontext(), self.engine.connect() as conn:
                conn = conn.execution_options(sigopt_write=write, sigopt_busy_ms=busy_ms)
                if not write and conn.dialect.name == "postgresql":
                    # One snapshot for the whole read, as SQLite's read transactions have: a suggestion's
                    # observations, their count and the pending assignments must agree.
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"The store at {self.url!r} failed: {exc}") from exc

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Connection]:
        """One transaction, for the modules of this store (a write one takes the store's write lock)."""
        return self._scope(write=write)

    # -- runs -----------------------------------------------------------------------------------

    def write(self, ops: Sequence[Op], *, key: str | None = None) -> None:
        """Apply ``ops`` in one transaction, once per ``key`` (see :class:`Backend`).

        A key is remembered for a week (:data:`_batches.KEEP_SECONDS`); once an hour a keyed write
        also forgets the older ones.
        """
        if key is not None:
            _batches.check_key(key)
        if not ops:
            return
        self._recover_lost_file()
        restarts = self._restarts
        prune = key is not None and time.monotonic() >= self._next_prune
        with self._scope(write=True, busy_ms=WRITE_BUSY_MS) as conn:
            applied = key is None or _batches.claim(conn, key)
            if applied:
                if prune:
                    _batches.prune(conn)
                if restarts:
                    _runs.write_ops(conn, restarts)
                _runs.write_ops(conn, ops)
        if applied:
            self._restarts = []
            if prune:
                self._next_prune = time.monotonic() + _batches.PRUNE_EVERY
        for op in ops:
            if op[0] == "start":
                self._starts[op[1]] = op
            elif op[0] == "end":
                self._starts.pop(op[1], None)

    def rejects(self, error: BaseException) -> bool:
        """Whether ``error`` from :meth:`write` means a record cannot be stored (see :class:`Backend`).

        The database's own verdict comes first: an operational error (locked, busy, unable to open,
        disk I/O, read-only, full) is the store's; a constraint, data or binding error is the record's.
        """
        for exc in causes(error):
            if isinstance(exc, sa.exc.OperationalError) or getattr(exc, "connection_invalidated", False):
                return False
            if isinstance(exc, (sa.exc.IntegrityError, sa.exc.DataError)):
                return True
            if isinstance(exc, (sa.exc.InterfaceError, sa.exc.ProgrammingError)) and _is_binding_error(exc):
                return True
        return super().rejects(error)

    def dead_letter(self, op: Op, error: BaseException) -> str:
        """Keep a rejected record in the ``dead_letters`` table, or in a file next to the store when
        even that fails; returns where it went.

        Raises:
            OSError: It could not be kept anywhere.
        """
        row = dead_letter_row(op, error)
        try:
            with self._scope(write=True, busy_ms=WRITE_BUSY_MS) as conn:
                conn.execute(t.dead_letters.insert(), [row])
            return f"the dead_letters table of {self.url}"
        except Exception:
            return str(append_dead_letter(row, self._file))

    def dead_letters(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The records kept in the ``dead_letters`` table (of one run), oldest first."""
        query = sa.select(t.dead_letters).order_by(t.dead_letters.c.id)
        if run_id is not None:
            query = query.where(t.dead_letters.c.run_id == run_id)
        with self._scope() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def read_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        with self._scope() as conn:
            found = _runs.load_runs(conn, sa.select(t.runs).where(t.runs.c.id == run_id))
        return found[0] if found else None

    def list_runs(
        self, *, project: str | None = None, experiment: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """Runs, newest first, archived ones left out: four queries for a page of up to 500 runs, and
        three for each 500 more."""
        query = (
            sa.select(t.runs)
            .where(t.runs.c.archived == sa.false())
            .order_by(t.runs.c.created.desc(), t.runs.c.id.desc())
        )
        if project is not None:
            query = query.where(t.runs.c.project == project)
        if experiment is not None:
            query = query.where(t.runs.c.experiment_id == experiment)
        if limit is not None:
            query = query.limit(limit)
        with self._scope() as conn:
            return _runs.load_runs(conn, query)

    def run_page(
        self,
        experiment_id: str,
        *,
        offset: int,
        limit: int,
        sort: str,
        descending: bool,
        state: str | None = None,
        metric: str | None = None,
    ) -> tuple[int, list[RunRecord]]:
        """A page of an experiment's runs sorted by the database (the dashboard's runs table), and how
        many match: ``sort`` is one of ``created``, ``value`` (of ``metric``), ``state``, ``duration``,
        ``kind``, ``name``; keyless runs come last, ties newest first. Not part of the backend
        contract: only the SQL store serves the dashboard."""
        with self._scope() as conn:
            return _runs.run_page(
                conn,
                experiment_id,
                offset=offset,
                limit=limit,
                sort=sort,
                descending=descending,
                state=state,
                metric=metric,
            )

    def metric_history(self, run_id: str, name: str) -> list[MetricPoint]:
        """Every value logged for metric ``name`` of run ``run_id``, in logging order."""
        with self._scope() as conn:
            return _runs.metric_history(conn, run_id, name)

    def archive_run(self, run_id: str, archived: bool = True) -> bool:
        """Archive a run, or bring it back; False when there is no such run."""
        with self._scope(write=True) as conn:
            return _runs.archive_run(conn, run_id, archived)

    def list_files(self, run_id: str) -> list[FileRecord]:
        """The files stored with a run, oldest first."""
        return _files.list_files(self, run_id)

    def read_file(self, file_id: str) -> bytes | None:
        """The bytes of a stored file, or None."""
        return _files.read_file(self, file_id)

    # -- projects -------------------------------------------------------------------------------

    def create_project(self, project: str, name: str | None = None) -> bool:
        """Create a project; True if created, False if it existed."""
        return _projects.create_project(self, project, name)

    def get_project(self, project: str) -> ProjectRecord | None:
        """The project with this id, or None."""
        return _projects.get_project(self, project)

    # -- experiments ----------------------------------------------------------------------------

    def create_experiment(
        self, *, project: str, name: str, definition: Mapping[str, Any], seed: int, lease_timeout: float
    ) -> ExperimentRecord:
        """Store a new experiment (see :class:`Backend`)."""
        return _experiments.create_experiment(
            self, project=project, name=name, definition=definition, seed=seed, lease_timeout=lease_timeout
        )

    def get_experiment(self, experiment_id: str) -> ExperimentRecord | None:
        """The experiment with this id, or None."""
        return _experiments.get_experiment(self, experiment_id)

    def list_experiments(self, *, project: str | None = None, limit: int | None = None) -> list[ExperimentRecord]:
        """Experiments, newest first."""
        return _experiments.list_experiments(self, project=project, limit=limit)

    def update_experiment(self, experiment_id: str, changes: Mapping[str, Any]) -> ExperimentRecord | None:
        """Replace top-level fields of an experiment's definition (see :class:`Backend`)."""
        # The service keys what it keeps by the definition, so no process's strategy needs dropping.
        return _experiments.update_experiment(self, experiment_id, check_definition_changes(changes))

    def archive_experiment(self, experiment_id: str) -> None:
        """Archive an experiment."""
        _experiments.archive_experiment(self, experiment_id)
        self._service.forget(experiment_id)

    def unarchive_experiment(self, experiment_id: str) -> None:
        """Make an archived experiment active again."""
        _experiments.set_experiment_state(self, experiment_id, ExperimentState.ACTIVE)

    def serve_suggestion(self, experiment_id: str, *, run_id: str | None) -> Suggestion | None:
        """Lease a suggestion (see :class:`Backend`), made by this store's service."""
        return _serving.serve(self, self._service, experiment_id, run_id=run_id)

    def get_suggestion(self, experiment_id: str, suggestion_id: str) -> Suggestion | None:
        """The suggestion with this id in this experiment, or None."""
        return _experiments.get_suggestion(self, experiment_id, suggestion_id)

    def open_suggestions(self, experiment_id: str) -> list[Suggestion]:
        """The experiment's open suggestions, oldest first."""
        return _experiments.open_suggestions(self, experiment_id)

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
        """Record an observation of a suggestion (see :class:`Backend`)."""
        return _experiments.observe(
            self,
            experiment_id,
            suggestion_id,
            run_id=run_id,
            values=values,
            failure_kind=failure_kind,
            run_failure=run_failure,
        )

    def release(
        self, experiment_id: str, suggestion_id: str, run_id: str, run_failure: Mapping[str, Any] | None = None
    ) -> bool:
        """Give a suggestion back to be served again (see :class:`Backend`)."""
        return _leases.release(self, experiment_id, suggestion_id, run_id, run_failure)

    def progress(self, experiment_id: str) -> Progress | None:
        """Where an experiment stands, after expiring lost leases."""
        return _experiments.progress(self, experiment_id)

    def observations(self, experiment_id: str, *, after: str | None = None) -> list[Observation]:
        """The experiment's observations after the one with id ``after`` (all when None), oldest first."""
        return _experiments.observations(self, experiment_id, after=after)

    def best_observations(self, experiment_id: str) -> list[Observation]:
        """SigOpt's best assignments of an experiment."""
        return _experiments.best_observations(self, experiment_id)

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self._engine.dispose()


def _is_binding_error(exc: BaseException) -> bool:
    """A driver refusing a parameter's type (sqlite3: "Error binding parameter"; psycopg: "cannot adapt")."""
    text = str(exc).lower()
    return "binding parameter" in text or "cannot adapt" in text

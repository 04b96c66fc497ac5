"""The SQL store: SQLAlchemy Core over a SQLite file (embedded default) or PostgreSQL.

Constructing a backend never touches the database: the schema is created on first use (the writer
thread's first write, or a first read), so a locked or missing store cannot raise into the code
that starts a run. Before each write a SQLite file store checks that its file is still the one it
opened; one deleted or replaced under it is recreated.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import threading
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from sigopt_ai.backends.sql import _schema as t
from sigopt_ai._exceptions import StoreError
from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._models import Checkpoint, MetricPoint, Op, RunRecord, RunState, is_lost
from sigopt_ai.backends._base import Backend
from sigopt_ai.backends._dead_letters import append_dead_letter, causes, dead_letter_row
from sigopt_ai.backends.sql._fork import FORK_GATE

logger = logging.getLogger("sigopt_ai")

_SECTIONS = ("params", "metadata", "sys_metadata", "datasets", "model")

READ_BUSY_MS = 60_000
"""How long a reader (or an experiment's transaction) waits for another process's write lock."""
WRITE_BUSY_MS = 5_000
"""How long one attempt of the writer thread waits for the lock; it retries after, keeping the records."""


def make_engine(url: str) -> Engine:
    """An engine for a SQLAlchemy URL or a SQLite file path, with the pragmas the store relies on.

    Nothing is opened yet: SQLAlchemy connects on first use. A relative SQLite path is resolved now,
    so the store stays the same file if the process changes its working directory.
    """
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().absolute()}"
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN ourselves so that writers
    # take the write lock up front (BEGIN IMMEDIATE) and never deadlock upgrading a read lock.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable across process kills in WAL mode
        cur.execute(f"PRAGMA busy_timeout={READ_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        busy_ms = options.get("sigopt_busy_ms", READ_BUSY_MS)
        info = conn.connection.info
        if info.get("busy_ms", READ_BUSY_MS) != busy_ms:  # the writer waits less than readers do
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_ms)}")
            info["busy_ms"] = busy_ms
        mode = "IMMEDIATE" if options.get("sigopt_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite store (None for another database or an in-memory one)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).absolute()


def _file_identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of ``path``, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)


def _float_in(value: float) -> float | None:
    return None if math.isnan(value) else value


def _float_out(value: float | None) -> float:
    return math.nan if value is None else value


class SQLBackend(Backend):
    """A store in any SQLAlchemy database; the schema is created on first use.

    Args:
        url: A SQLAlchemy URL (``postgresql+psycopg://...``) or the path of a SQLite file.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._pid = os.getpid()
        self._file = _sqlite_file(self._engine)
        self._file_id: tuple[int, int] | None = None  # of the file the schema was created in
        self._ready = False
        self._ready_lock = threading.Lock()
        # The last start of each run this process has open: rewritten into a recreated store file so
        # that the runs' later records land. Starts are rare, so keeping them costs nothing.
        self._starts: dict[str, Op] = {}
        self._restarts: list[Op] = []  # starts to rewrite with the next write

    def _ensure_ready(self, busy_ms: int = READ_BUSY_MS) -> None:
        """Create the store (its directory, file and tables) unless done already.

        Raises:
            StoreError: The store cannot be opened or created now (retry later).
        """
        if self._ready:
            return
        if os.getpid() != self._pid:
            self._after_fork()
        with self._ready_lock:
            if self._ready:
                return
            if self._file is not None:
                try:
                    self._file.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"The store at {self.url!r} cannot be created: {exc}") from exc
            with self._scope(write=True, busy_ms=busy_ms, prepared=False) as conn:
                t.metadata.create_all(conn)
            if self._file is not None:
                self._file_id = _file_identity(self._file)
                if self._file_id is None:  # deleted while it was being created: nothing could detect it later
                    self._engine.dispose()
                    raise StoreError(f"The store file {self._file} vanished while it was being created.")
            self._ready = True

    def _recover_lost_file(self) -> None:
        """Recreate the store if its SQLite file was deleted or replaced since the schema was created.

        The engine's connections still write to the old file, which nobody can read; they are closed,
        the file and tables are created again, and the starts of this process's open runs are
        rewritten with the next batch.
        """
        if self._file is None or self._file_id is None or _file_identity(self._file) == self._file_id:
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
        """The SQLAlchemy engine (for the experiment backend that shares this store)."""
        if os.getpid() != self._pid:
            self._after_fork()
        return self._engine

    def _after_fork(self) -> None:
        """Forget what belongs to the parent: its connections, a lock its writer may have held, its runs."""
        self._engine.dispose(close=False)
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
                with conn.begin():
                    yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"The store at {self.url!r} failed: {exc}") from exc

    def transaction(self, *, write: bool = True) -> Any:
        """A transaction for callers that share the store (the experiment backend)."""
        return self._scope(write=write)

    # -- writes ---------------------------------------------------------------------------------

    def write(self, ops: Sequence[Op]) -> None:
        """Apply ``ops`` in one transaction (see :class:`Backend`); called by the writer thread."""
        if not ops:
            return
        self._recover_lost_file()
        restarts = self._restarts
        started: list[Op] = []
        ended: list[str] = []
        with self._scope(write=True, busy_ms=WRITE_BUSY_MS) as conn:
            if restarts:
                _write_start(conn, restarts)
            for group_kind, group in _groups(ops):
                _WRITERS[group_kind](conn, group)
                if group_kind == "start":
                    started += group
                elif group_kind == "end":
                    ended += [op[1] for op in group]
        self._restarts = []
        self._starts.update((op[1], op) for op in started)
        for run_id in ended:
            self._starts.pop(run_id, None)

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
            row = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).mappings().first()
            return None if row is None else _load_run(conn, row)

    def list_runs(
        self, *, project: str | None = None, experiment: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """Runs, newest first."""
        query = sa.select(t.runs).order_by(t.runs.c.created.desc(), t.runs.c.id.desc())
        if project is not None:
            query = query.where(t.runs.c.project == project)
        if experiment is not None:
            query = query.where(t.runs.c.experiment_id == experiment)
        if limit is not None:
            query = query.limit(limit)
        with self._scope() as conn:
            return [_load_run(conn, row) for row in conn.execute(query).mappings().all()]

    def metric_history(self, run_id: str, name: str) -> list[MetricPoint]:
        """Every value logged for metric ``name`` of run ``run_id``, in logging order."""
        query = (
            sa.select(t.metric_chunks.c["values"], t.metric_chunks.c.stddevs, t.metric_chunks.c.created)
            .where((t.metric_chunks.c.run_id == run_id) & (t.metric_chunks.c.name == name))
            .order_by(t.metric_chunks.c.id)
        )
        points: list[MetricPoint] = []
        with self._scope() as conn:
            for values, stddevs, created in conn.execute(query):
                sds = _unpack(stddevs) if stddevs is not None else [math.nan] * (len(values) // 8)
                points += [
                    MetricPoint(v, None if math.isnan(s) else s, c)
                    for v, s, c in zip(_unpack(values), sds, _unpack(created), strict=True)
                ]
        return points

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self._engine.dispose()


def _is_binding_error(exc: BaseException) -> bool:
    """A driver refusing a parameter's type (sqlite3: "Error binding parameter"; psycopg: "cannot adapt")."""
    text = str(exc).lower()
    return "binding parameter" in text or "cannot adapt" in text


def _groups(ops: Sequence[Op]) -> Iterator[tuple[str, list[Op]]]:
    """Consecutive operations of one kind, so each group is one executemany."""
    current: list[Op] = []
    for op in ops:
        if current and op[0] != current[0][0]:
            yield current[0][0], current
            current = []
        current.append(op)
    if current:
        yield current[0][0], current


def _write_start(conn: Connection, ops: list[Op]) -> None:
    for _, run_id, project, name, created, experiment, suggestion in ops:
        if conn.execute(sa.select(t.projects.c.id).where(t.projects.c.id == project)).first() is None:
            conn.execute(t.projects.insert().values(id=project, created=created))
        exists = conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id == run_id)).first()
        if exists is None:
            conn.execute(
                t.runs.insert().values(
                    id=run_id,
                    project=project,
                    name=name,
                    state=RunState.ACTIVE.value,
                    created=created,
                    heartbeat=created,
                    experiment_id=experiment,
                    suggestion_id=suggestion,
                )
            )


def _write_fields(conn: Connection, ops: list[Op]) -> None:
    merged: dict[tuple[str, str, str], Any] = {}
    for _, run_id, section, values in ops:
        for key, value in values.items():
            merged[(run_id, section, key)] = value
    rows = [{"run_id": r, "section": s, "key": k, "value": _dump(v)} for (r, s, k), v in merged.items()]
    insert = _dialect_insert(conn)(t.run_fields)
    upsert = insert.on_conflict_do_update(
        index_elements=["run_id", "section", "key"], set_={"value": insert.excluded.value}
    )
    conn.execute(upsert, rows)


def _dialect_insert(conn: Connection) -> Any:
    """The INSERT construct with ON CONFLICT support for this database (SQLite and PostgreSQL have it)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _pack(values: list[float]) -> bytes:
    packed = array("d", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _unpack(blob: bytes) -> list[float]:
    unpacked = array("d")
    unpacked.frombytes(blob)
    if sys.byteorder != "little":
        unpacked.byteswap()
    return unpacked.tolist()


def _write_metrics(conn: Connection, ops: list[Op]) -> None:
    series: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = {}
    for _, run_id, name, value, stddev, ts in ops:
        key = (run_id, name)
        if key not in series:
            series[key] = ([], [], [])
        values, stddevs, created = series[key]
        values.append(value)
        stddevs.append(math.nan if stddev is None else stddev)
        created.append(ts)
    conn.execute(
        t.metric_chunks.insert(),
        [
            {
                "run_id": run_id,
                "name": name,
                "count": len(values),
                "values": _pack(values),
                "stddevs": None if all(math.isnan(s) for s in stddevs) else _pack(stddevs),
                "created": _pack(created),
            }
            for (run_id, name), (values, stddevs, created) in series.items()
        ],
    )
    for run_id in {r for r, _ in series}:
        names = [n for r, n in series if r == run_id]
        conn.execute(t.run_metrics.delete().where((t.run_metrics.c.run_id == run_id) & t.run_metrics.c.name.in_(names)))
    conn.execute(
        t.run_metrics.insert(),
        [
            {
                "run_id": run_id,
                "name": name,
                "value": _float_in(values[-1]),
                "stddev": None if math.isnan(stddevs[-1]) else stddevs[-1],
                "updated": created[-1],
            }
            for (run_id, name), (values, stddevs, created) in series.items()
        ],
    )


def _write_checkpoints(conn: Connection, ops: list[Op]) -> None:
    conn.execute(
        t.checkpoints.insert(),
        [{"run_id": r, "step": step, "values": _dump(values), "created": ts} for _, r, step, values, ts in ops],
    )


def _write_failures(conn: Connection, ops: list[Op]) -> None:
    for _, run_id, failure, _ts in ops:
        # The first failure recorded explains the run; later ones (an exception after log_failure) do not.
        conn.execute(
            t.runs.update()
            .where((t.runs.c.id == run_id) & t.runs.c.failure_kind.is_(None))
            .values(
                state=RunState.FAILED.value,
                failure_kind=failure.kind.value,
                failure_type=failure.type,
                failure_message=failure.message,
                failure_traceback=failure.traceback,
            )
        )


def _write_ends(conn: Connection, ops: list[Op]) -> None:
    for _, run_id, state, ts in ops:
        query = t.runs.update().where(t.runs.c.id == run_id)
        if state is not RunState.FAILED:
            query = query.where(t.runs.c.state != RunState.FAILED.value)
        conn.execute(query.values(state=state.value))
        conn.execute(
            t.runs.update().where((t.runs.c.id == run_id) & t.runs.c.ended.is_(None)).values(ended=ts, heartbeat=ts)
        )


def _write_heartbeats(conn: Connection, ops: list[Op]) -> None:
    for _, run_ids, ts in ops:
        conn.execute(
            t.runs.update()
            .where(t.runs.c.id.in_(run_ids) & (t.runs.c.state == RunState.ACTIVE.value))
            .values(heartbeat=ts)
        )


_WRITERS = {
    "start": _write_start,
    "fields": _write_fields,
    "metric": _write_metrics,
    "checkpoint": _write_checkpoints,
    "failure": _write_failures,
    "end": _write_ends,
    "heartbeat": _write_heartbeats,
}


def _load_run(conn: Connection, row: Any) -> RunRecord:
    run_id = row["id"]
    fields: dict[str, dict[str, Any]] = {s: {} for s in _SECTIONS}
    for section, key, value in conn.execute(
        sa.select(t.run_fields.c.section, t.run_fields.c.key, t.run_fields.c.value).where(
            t.run_fields.c.run_id == run_id
        )
    ):
        fields.setdefault(section, {})[key] = json.loads(value)
    metrics, stddevs = {}, {}
    for name, value, stddev in conn.execute(
        sa.select(t.run_metrics.c.name, t.run_metrics.c.value, t.run_metrics.c.stddev).where(
            t.run_metrics.c.run_id == run_id
        )
    ):
        metrics[name] = _float_out(value)
        if stddev is not None:
            stddevs[name] = stddev
    checkpoints = tuple(
        Checkpoint(step=step, values=json.loads(values), created=created)
        for step, values, created in conn.execute(
            sa.select(t.checkpoints.c.step, t.checkpoints.c["values"], t.checkpoints.c.created)
            .where(t.checkpoints.c.run_id == run_id)
            .order_by(t.checkpoints.c.id)
        )
    )
    return RunRecord(
        id=run_id,
        name=row["name"],
        project=row["project"],
        state=RunState(row["state"]),
        created=row["created"],
        ended=row["ended"],
        params=fields["params"],
        metrics=metrics,
        metric_stddevs=stddevs,
        checkpoints=checkpoints,
        metadata=fields["metadata"],
        sys_metadata=fields["sys_metadata"],
        datasets=tuple(fields["datasets"]),
        model=fields["model"].get("type"),
        failure=_load_failure(row),
        experiment=row["experiment_id"],
        suggestion=row["suggestion_id"],
        heartbeat=row["heartbeat"],
        lost=is_lost(RunState(row["state"]), row["heartbeat"], fields["sys_metadata"]),
    )


def _load_failure(row: Any) -> FailureInfo | None:
    if row["failure_kind"] is None:
        return None
    return FailureInfo(
        kind=FailureKind(row["failure_kind"]),
        type=row["failure_type"],
        message=row["failure_message"] or "",
        traceback=row["failure_traceback"],
    )

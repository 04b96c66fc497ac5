"""What the server keeps beside the backend contract: clients, their API tokens, projects' metadata,
edits of runs that write operations cannot make, and files waiting for their upload. SQLAlchemy Core
on the store's own tables, through the SQL backend's transactions, so that a server process holds no
state of its own.

A token is never stored: its SHA-256 (hex) is, and a request's token is looked up by that hash and
then compared with :func:`hmac.compare_digest`, so neither the database nor the comparison tells an
attacker how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sigopt_ai._models import FileRecord, Op
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._files import complete_upload, file_record, reserve_upload, upload_waits
from sigopt_ai.backends.sql._runs import write_ops

__all__ = ["ClientRecord", "ProjectExists", "StoredProject", "ServerStore", "new_token", "token_hash"]


def token_hash(token: str) -> str:
    """The SHA-256 of an API token, in hex: the only form of it the store keeps."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    """A new API token: 256 random bits, URL-safe, never starting with ``-`` (a command line would
    read it as an option)."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


@dataclass(frozen=True)
class ClientRecord:
    """A client (SigOpt's team): everything its tokens can see."""

    id: str
    name: str
    created: float


@dataclass(frozen=True)
class StoredProject:
    """A project as the server stores it: ``id`` is the namespaced store id (``c1.my-project``), and
    it has metadata (the SDK's :class:`~sigopt_ai._models.ProjectRecord` has neither)."""

    id: str
    name: str | None
    created: float
    metadata: Mapping[str, Any] = field(default_factory=dict)


class ProjectExists(Exception):
    """A project with this id exists already (SigOpt answers 409)."""


class ServerStore:
    """Clients, tokens and projects, in the tables of the SQL store behind ``backend``.

    Args:
        backend: The server's store; its transactions are used, so the schema is the backend's.
    """

    def __init__(self, backend: SQLBackend) -> None:
        self._backend = backend

    def check(self) -> None:
        """Open the store now (a server checks it before it listens).

        Raises:
            ConfigError: The store's schema is not at the migration head (the message says what to run).
            StoreError: The store cannot be reached.
        """
        with self._backend.transaction(write=False) as conn:
            conn.execute(sa.select(t.clients.c.id).limit(1))

    # -- clients and tokens ----------------------------------------------------------------------

    def create_token(self, client_name: str) -> str:
        """A new API token for the client named ``client_name`` (created if new)."""
        token = new_token()
        now = time.time()
        with self._backend.transaction() as conn:
            client_id = conn.execute(sa.select(t.clients.c.id).where(t.clients.c.name == client_name)).scalar()
            if client_id is None:
                client_id = conn.execute(
                    t.clients.insert().values(name=client_name, created=now).returning(t.clients.c.id)
                ).scalar_one()
            conn.execute(t.tokens.insert().values(client_id=client_id, hash=token_hash(token), created=now))
        return token

    def revoke_token(self, token: str) -> bool:
        """Revoke a token; returns whether it was valid until now."""
        with self._backend.transaction() as conn:
            result = conn.execute(
                t.tokens.update()
                .where((t.tokens.c.hash == token_hash(token)) & t.tokens.c.revoked.is_(None))
                .values(revoked=time.time())
            )
        return bool(result.rowcount)

    def authenticate(self, token: str) -> str | None:
        """The id of the client a valid (not revoked) token belongs to, or None."""
        digest = token_hash(token)
        with self._backend.transaction(write=False) as conn:
            row = conn.execute(
                sa.select(t.tokens.c.hash, t.tokens.c.client_id, t.tokens.c.revoked).where(t.tokens.c.hash == digest)
            ).first()
        if row is None or row.revoked is not None or not hmac.compare_digest(row.hash, digest):
            return None
        return str(row.client_id)

    def client(self, client_id: str) -> ClientRecord | None:
        """The client with this id, or None."""
        if not client_id.isascii() or not client_id.isdigit() or len(client_id) > 18:
            return None
        with self._backend.transaction(write=False) as conn:
            row = conn.execute(sa.select(t.clients).where(t.clients.c.id == int(client_id))).first()
        return None if row is None else ClientRecord(id=str(row.id), name=row.name, created=row.created)

    # -- projects -------------------------------------------------------------------------------

    def create_project(self, project_id: str, *, name: str | None, metadata: Mapping[str, Any] | None) -> StoredProject:
        """Create a project (``project_id`` is the store's, namespaced) through the backend contract,
        then give it its metadata.

        Raises:
            ProjectExists: There is one with this id already.
        """
        if not self._backend.create_project(project_id, name):
            raise ProjectExists(project_id)
        project = self.update_project(project_id, metadata=metadata) if metadata is not None else None
        return project or self._created(project_id)

    def _created(self, project_id: str) -> StoredProject:
        record = self.project(project_id)
        if record is None:  # not reached: created above, and projects are never deleted
            raise ProjectExists(project_id)
        return record

    def project(self, project_id: str) -> StoredProject | None:
        """The project with this store id, or None."""
        with self._backend.transaction(write=False) as conn:
            row = conn.execute(sa.select(t.projects).where(t.projects.c.id == project_id)).first()
        return None if row is None else _project(row)

    def update_project(
        self, project_id: str, *, name: str | None = None, metadata: Mapping[str, Any] | None = None
    ) -> StoredProject | None:
        """Rename a project or replace its metadata (None leaves either as it is); None if there is none."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if metadata is not None:
            values["metadata"] = _dump_metadata(metadata)
        with self._backend.transaction() as conn:
            if values:
                conn.execute(t.projects.update().where(t.projects.c.id == project_id).values(**values))
            row = conn.execute(sa.select(t.projects).where(t.projects.c.id == project_id)).first()
        return None if row is None else _project(row)

    def projects(self, prefix: str, *, limit: int | None = None) -> list[StoredProject]:
        """The projects whose store id starts with ``prefix`` (a client's namespace), newest first."""
        query = (
            sa.select(t.projects)
            .where(t.projects.c.id.startswith(prefix, autoescape=True))
            .order_by(t.projects.c.created.desc(), t.projects.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._backend.transaction(write=False) as conn:
            return [_project(row) for row in conn.execute(query)]

    # -- runs -----------------------------------------------------------------------------------

    def run_projects(self, run_ids: Iterable[str]) -> dict[str, str]:
        """The store project of each of these runs that exists: a cheap ownership check."""
        ids = list(set(run_ids))
        found: dict[str, str] = {}
        with self._backend.transaction(write=False) as conn:
            for start in range(0, len(ids), _IDS_PER_QUERY):
                query = sa.select(t.runs.c.id, t.runs.c.project).where(
                    t.runs.c.id.in_(ids[start : start + _IDS_PER_QUERY])
                )
                found.update((row.id, row.project) for row in conn.execute(query))
        return found

    def apply_run_updates(
        self, run_ids: Iterable[str], build: Callable[[dict[str, str], dict[tuple[str, str], float]], list[Op]]
    ) -> None:
        """Write operations on existing runs, made from what the store holds, in one write transaction.

        ``build(projects, stddevs)`` gets the store project of each of these runs that exists and the
        standard deviation of each of their metrics that has one, by ``(run, metric)`` (a MERGE of a
        metric's value alone keeps it), and returns the operations to write. Read and write are one
        transaction, so what ``build`` checked (whose runs they are) still holds when they are written.

        Raises:
            StoreError: The store failed or refused a record; nothing was written.
        """
        ids = list(set(run_ids))
        projects: dict[str, str] = {}
        stddevs: dict[tuple[str, str], float] = {}
        with self._backend.transaction() as conn:
            for start in range(0, len(ids), _IDS_PER_QUERY):
                batch = {"ids": ids[start : start + _IDS_PER_QUERY]}
                projects.update((row.id, row.project) for row in conn.execute(_RUN_PROJECTS, batch))
                stddevs.update(((row.run_id, row.name), row.stddev) for row in conn.execute(_RUN_STDDEVS, batch))
            ops = build(projects, stddevs)
            if ops:
                write_ops(conn, ops)

    def edit_run(
        self, run_id: str, *, name: str | None, fields: Mapping[str, Iterable[str]], metrics: Iterable[str]
    ) -> None:
        """What write operations cannot do: rename a run, delete keys of its field sections
        (``{section: keys}``) and the last values of metrics (their history stays)."""
        with self._backend.transaction() as conn:
            if name is not None:
                conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(name=name))
            for section, keys in fields.items():
                conn.execute(
                    t.run_fields.delete().where(
                        (t.run_fields.c.run_id == run_id)
                        & (t.run_fields.c.section == section)
                        & t.run_fields.c.key.in_(list(keys))
                    )
                )
            if names := list(metrics):
                conn.execute(
                    t.run_metrics.delete().where((t.run_metrics.c.run_id == run_id) & t.run_metrics.c.name.in_(names))
                )

    # -- files ------------------------------------------------------------------------------------

    def reserve_upload(self, run_id: str, *, name: str, content_type: str) -> tuple[FileRecord, str]:
        """Make the row of a file whose bytes come later; returns it and the upload's single-use secret
        (256 random bits, URL-safe; only its hash is stored)."""
        secret = secrets.token_urlsafe(32)
        record = reserve_upload(
            self._backend,
            run_id=run_id,
            file_id=secrets.token_hex(8),
            name=name,
            content_type=content_type,
            secret=secret,
        )
        return record, secret

    def upload_waits(self, secret: str) -> bool:
        """Whether a file waits for its bytes at the upload URL holding ``secret``."""
        return upload_waits(self._backend, secret)

    def complete_upload(self, secret: str, data: bytes) -> FileRecord | None:
        """Store the bytes sent to an upload URL; None when its secret names no waiting file (unknown,
        used already, or expired)."""
        return complete_upload(self._backend, secret, data)

    def file(self, file_id: str) -> FileRecord | None:
        """The description of a stored file (its bytes arrived), or None."""
        return file_record(self._backend, file_id)


_IDS_PER_QUERY = 500
"""Ids bound in one ``IN (...)``, under every database's limit on a statement's parameters."""
# Built once: SQLAlchemy then keeps their cache keys, which building a statement per request costs.
_RUN_PROJECTS = sa.select(t.runs.c.id, t.runs.c.project).where(t.runs.c.id.in_(sa.bindparam("ids", expanding=True)))
_RUN_STDDEVS = sa.select(t.run_metrics.c.run_id, t.run_metrics.c.name, t.run_metrics.c.stddev).where(
    t.run_metrics.c.run_id.in_(sa.bindparam("ids", expanding=True)) & t.run_metrics.c.stddev.is_not(None)
)


def _dump_metadata(metadata: Mapping[str, Any] | None) -> str | None:
    return None if metadata is None else json.dumps(dict(metadata))


def _project(row: Any) -> StoredProject:
    metadata = json.loads(row.metadata) if row.metadata else {}
    return StoredProject(id=row.id, name=row.name, created=row.created, metadata=metadata)

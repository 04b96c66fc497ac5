"""Tables of the SQL store. Portable SQLAlchemy Core types only, so SQLite and PostgreSQL share them.

A change here needs a migration in ``migrations/versions`` (and ``_migrate.HEAD`` set to it):
``tests/backends/test_migrations.py`` checks that the migrated schema is this one.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

projects = Table(
    "projects",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("created", Float, nullable=False),
    Column("name", String(200)),  # set by the server's project API; the SDK names projects by id only
    Column("metadata", Text),  # JSON object, likewise
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("project", String(100), ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created", Float, nullable=False),
    Column("ended", Float),
    Column("heartbeat", Float),
    Column("experiment_id", String(40)),
    Column("suggestion_id", String(40)),
    Column("failure_kind", String(32)),
    Column("failure_type", String(300)),
    Column("failure_message", Text),
    Column("failure_traceback", Text),
    Column("archived", Boolean, nullable=False, server_default=false()),  # SigOpt's deleted: left out of lists
    Index("ix_runs_project_created", "project", "created"),
    Index("ix_runs_experiment", "experiment_id"),
)

# params, metadata, sys_metadata, datasets and model, one row per key; values are JSON text.
run_fields = Table(
    "run_fields",
    metadata,
    Column("run_id", String(40), ForeignKey("runs.id"), primary_key=True),
    Column("section", String(16), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text),
)

# The last value of each metric, kept so reading a run does not scan its history.
run_metrics = Table(
    "run_metrics",
    metadata,
    Column("run_id", String(40), ForeignKey("runs.id"), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", Float),  # NULL stands for NaN, which SQLite cannot store
    Column("stddev", Float),
    Column("updated", Float, nullable=False),
)

# The history of each metric, one row per (run, metric, write batch): float64 arrays packed little-endian.
# A row per point would cost the writer ~10 us per point in the driver; a chunk costs ~nothing per point.
metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("count", Integer, nullable=False),
    Column("values", LargeBinary, nullable=False),
    Column("stddevs", LargeBinary),  # NULL when no point of the chunk has one; NaN marks a missing one
    Column("created", LargeBinary, nullable=False),
    Index("ix_metric_chunks_run", "run_id", "name"),
)

# Files stored with a run (images, captured output). The server's upload flow makes a row before its
# bytes arrive: ``data`` is NULL until they do, and ``upload_secret`` holds the SHA-256 (hex) of the
# single-use secret of the upload URL, NULL once used.
files = Table(
    "files",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created", Float, nullable=False),
    Column("data", LargeBinary),
    Column("upload_secret", String(64), unique=True),
    Index("ix_files_run", "run_id", "created"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=False),
    Column("step", Integer, nullable=False),
    Column("values", Text, nullable=False),
    Column("created", Float, nullable=False),
    Index("ix_checkpoints_run", "run_id"),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(100), ForeignKey("projects.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("definition", Text, nullable=False),  # SigOpt-shaped JSON
    Column("state", String(16), nullable=False),  # active | deleted
    Column("seed", Integer, nullable=False),
    Column("suggestion_count", Integer, nullable=False),  # the quasi-random sequence's position
    Column("lease_timeout", Float, nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
)

# An open suggestion is either leased (a worker evaluates it) or waiting to be served (again).
suggestions = Table(
    "suggestions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("assignments", Text, nullable=False),
    Column("state", String(16), nullable=False),  # open | closed
    Column("lease_run_id", String(40)),  # the run evaluating it; NULL for a manual suggest()
    Column("leased_at", Float),  # NULL while waiting to be served
    Column("serve_count", Integer, nullable=False),
    Column("created", Float, nullable=False),
    Index("ix_suggestions_experiment_state", "experiment_id", "state"),
)

observations = Table(
    "observations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("suggestion_id", Integer, ForeignKey("suggestions.id")),
    Column("run_id", String(40)),
    Column("assignments", Text, nullable=False),
    Column("values", Text),  # {name: value}; NULL when failed
    Column("failed", Integer, nullable=False),
    Column("failure_kind", String(32)),
    Column("created", Float, nullable=False),
    Index("ix_observations_experiment", "experiment_id"),
    Index("ix_observations_suggestion", "suggestion_id"),  # whether a result is an extra one
)


# Records the writer could not store (a value the database rejects), kept as text so nothing is lost
# silently and one bad record never blocks the others; see sigopt_ai.runs._writer.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created", Float, nullable=False),
    Column("run_id", Text),
    Column("kind", String(32), nullable=False),
    Column("record", Text, nullable=False),  # repr() of the write operation, lone surrogates escaped
    Column("error", Text, nullable=False),
)


# -- the server's (sigopt_ai.server) --------------------------------------------------------------

# A client is SigOpt's team: its tokens see its projects, experiments and runs, and nobody else's.
clients = Table(
    "clients",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created", Float, nullable=False),
)

# API tokens are stored as the SHA-256 (hex) of the token, never as the token.
tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", Integer, ForeignKey("clients.id"), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("created", Float, nullable=False),
    Column("revoked", Float),  # when it was revoked; NULL while it is valid
)

# Keys of the idempotent write batches applied (Backend.write(ops, key=...)), written in the batch's
# own transaction; kept for a week (see _batches.py).
applied_batches = Table(
    "applied_batches",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("created", Float, nullable=False),
    Column("response", Text),  # what the server answered the first time, for a repeated request
    Index("ix_applied_batches_created", "created"),  # the weekly prune
)

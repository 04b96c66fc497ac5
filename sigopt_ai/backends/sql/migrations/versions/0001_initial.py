"""The store's schema before migrations (sigopt-ai at commit 11342f1): runs, experiments, dead letters.

A store made before migrations has no ``alembic_version`` table; it is brought to this revision by
running this one, which creates only what such a store lacks (``IF NOT EXISTS``): nothing for a store
made by that commit, and the indexes added since for an older one. The tables are spelt out here, not
taken from ``_schema.py``, so that this revision stays what it was when the schema changes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_RUN_ID = sa.String(40)


def upgrade() -> None:
    """Create the tables and indexes of the store made before migrations, where missing."""
    op.create_table(
        "projects",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("created", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "runs",
        sa.Column("id", _RUN_ID, primary_key=True),
        sa.Column("project", sa.String(100), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("ended", sa.Float),
        sa.Column("heartbeat", sa.Float),
        sa.Column("experiment_id", sa.String(40)),
        sa.Column("suggestion_id", sa.String(40)),
        sa.Column("failure_kind", sa.String(32)),
        sa.Column("failure_type", sa.String(300)),
        sa.Column("failure_message", sa.Text),
        sa.Column("failure_traceback", sa.Text),
        if_not_exists=True,
    )
    op.create_index("ix_runs_project_created", "runs", ["project", "created"], if_not_exists=True)
    op.create_index("ix_runs_experiment", "runs", ["experiment_id"], if_not_exists=True)
    op.create_table(
        "run_fields",
        sa.Column("run_id", _RUN_ID, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("section", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text),
        if_not_exists=True,
    )
    op.create_table(
        "run_metrics",
        sa.Column("run_id", _RUN_ID, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Float),
        sa.Column("stddev", sa.Float),
        sa.Column("updated", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "metric_chunks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", _RUN_ID, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("values", sa.LargeBinary, nullable=False),
        sa.Column("stddevs", sa.LargeBinary),
        sa.Column("created", sa.LargeBinary, nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_metric_chunks_run", "metric_chunks", ["run_id", "name"], if_not_exists=True)
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", _RUN_ID, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("values", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_checkpoints_run", "checkpoints", ["run_id"], if_not_exists=True)
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(100), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("suggestion_count", sa.Integer, nullable=False),
        sa.Column("lease_timeout", sa.Float, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("assignments", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lease_run_id", sa.String(40)),
        sa.Column("leased_at", sa.Float),
        sa.Column("serve_count", sa.Integer, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_suggestions_experiment_state", "suggestions", ["experiment_id", "state"], if_not_exists=True)
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("suggestion_id", sa.Integer, sa.ForeignKey("suggestions.id")),
        sa.Column("run_id", sa.String(40)),
        sa.Column("assignments", sa.Text, nullable=False),
        sa.Column("values", sa.Text),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("failure_kind", sa.String(32)),
        sa.Column("created", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_observations_experiment", "observations", ["experiment_id"], if_not_exists=True)
    op.create_index("ix_observations_suggestion", "observations", ["suggestion_id"], if_not_exists=True)
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("run_id", sa.Text),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    """Drop every table of the store (its records with them)."""
    for table in (
        "dead_letters",
        "observations",
        "suggestions",
        "experiments",
        "checkpoints",
        "metric_chunks",
        "run_metrics",
        "run_fields",
        "runs",
        "projects",
    ):
        op.drop_table(table)

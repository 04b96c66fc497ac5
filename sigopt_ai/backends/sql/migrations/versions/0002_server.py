"""The server's tables: clients, API tokens, applied idempotent batches; projects' names and metadata.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the server's tables and the projects' name and metadata columns."""
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("revoked", sa.Float),
    )
    op.create_table(
        "applied_batches",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("response", sa.Text),
    )
    op.create_index("ix_applied_batches_created", "applied_batches", ["created"])
    # ALTER TABLE in place on both databases, no batch mode: SQLite adds (and, since 3.35, drops) a
    # column itself, and batch mode's copy of ``projects`` would fail while foreign keys point at it.
    op.add_column("projects", sa.Column("name", sa.String(200)))
    op.add_column("projects", sa.Column("metadata", sa.Text))


def downgrade() -> None:
    """Drop the server's tables and columns (its clients, tokens and project names with them)."""
    op.drop_column("projects", "metadata")
    op.drop_column("projects", "name")
    op.drop_table("applied_batches")
    op.drop_table("tokens")
    op.drop_table("clients")

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
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("name", sa.String(200)))
        batch.add_column(sa.Column("metadata", sa.Text))


def downgrade() -> None:
    """Drop the server's tables and columns (its clients, tokens and project names with them)."""
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("metadata")
        batch.drop_column("name")
    op.drop_table("applied_batches")
    op.drop_table("tokens")
    op.drop_table("clients")

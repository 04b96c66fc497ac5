"""Runs can be archived (SigOpt's ``deleted``) and store files (images, captured output).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``runs.archived`` (false for every run there is) and the ``files`` table."""
    # In place, no batch mode, as in 0002: SQLite adds a column with a constant default itself.
    op.add_column("runs", sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "files",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("data", sa.LargeBinary),
        sa.Column("upload_secret", sa.String(64), unique=True),
    )
    op.create_index("ix_files_run", "files", ["run_id", "created"])


def downgrade() -> None:
    """Drop the files (their bytes with them) and the runs' archived flag."""
    op.drop_index("ix_files_run", table_name="files")
    op.drop_table("files")
    op.drop_column("runs", "archived")

"""Scenarios, runs and their tables.

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


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, index=True),
        sa.Column("uploaded_by", sa.String(200)),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("engine", sa.String(40), nullable=False, index=True),
        sa.Column("scenario_digest", sa.String(64), index=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "run_tables",
        sa.Column(
            "run_id",
            sa.String(80),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("spec", sa.String(120), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("parquet", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("run_tables")
    op.drop_table("runs")
    op.drop_table("scenarios")

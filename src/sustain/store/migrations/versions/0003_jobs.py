"""Runs as jobs: what was asked (the request, by whom), how far it has gone (progress), and
two more statuses: queued (waiting for a worker) and cancelled.

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
    with op.batch_alter_table("runs") as runs:
        runs.add_column(sa.Column("request", sa.JSON))
        runs.add_column(sa.Column("requested_by", sa.String(200)))
        runs.add_column(sa.Column("progress", sa.JSON))
    with op.batch_alter_table("scenarios") as scenarios:
        scenarios.add_column(sa.Column("info_run", sa.String(80)))


def downgrade() -> None:
    with op.batch_alter_table("scenarios") as scenarios:
        scenarios.drop_column("info_run")
    with op.batch_alter_table("runs") as runs:
        runs.drop_column("progress")
        runs.drop_column("requested_by")
        runs.drop_column("request")

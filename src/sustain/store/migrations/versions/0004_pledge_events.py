"""Pledge events: each step of a pledge's lifecycle as its donor recorded it, and the scenario
version it made. Append-only, like the audit log.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER pledge_events_no_{verb.lower()} BEFORE {verb} ON pledge_events
    BEGIN SELECT RAISE(ABORT, 'pledge events are append-only'); END"""
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION pledge_events_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'pledge events are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER pledge_events_append_only BEFORE UPDATE OR DELETE ON pledge_events
    FOR EACH ROW EXECUTE FUNCTION pledge_events_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "pledge_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("pledge", sa.String(200), nullable=False, index=True),
        sa.Column("donor", sa.String(40), nullable=False),
        # One event moves a version on: a second one from the same version is refused.
        sa.Column(
            "scenario_from",
            sa.Integer,
            sa.ForeignKey("scenarios.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("scenario_to", sa.Integer, sa.ForeignKey("scenarios.id"), nullable=False),
        sa.Column("event", sa.JSON, nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
    )
    triggers = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER pledge_events_append_only ON pledge_events")
        op.execute("DROP FUNCTION pledge_events_append_only()")
    op.drop_table("pledge_events")

"""Alembic's environment for the store: run on the connection the store hands it."""

from __future__ import annotations

from alembic import context

from sustain.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""The store's tables (SQLAlchemy 2 declarative models). The schema changes only through a
migration (sustain/store/migrations): a store is upgraded to the head revision when opened."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

RUN_STATUSES = ("queued", "running", "finished", "failed", "cancelled")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class ScenarioVersion(Base):
    """One version of a scenario as uploaded: its canonical digest (the same whatever the
    format) and the file as it came."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str | None] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    filename: Mapped[str] = mapped_column(String(500))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    info_run: Mapped[str | None] = mapped_column(String(80))  # what it holds, whose is whose


class RunRecord(Base):
    """A run: running while its engine works, then finished with its tables (in the same
    transaction as its status) or failed. A run left running by a process that is gone is
    shown as failed when the store is next opened."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    engine: Mapped[str] = mapped_column(String(40), index=True)
    scenario_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)  # Run.metadata(), once finished
    error: Mapped[str | None] = mapped_column(Text)
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a job's request (sustain.jobs)
    requested_by: Mapped[str | None] = mapped_column(String(200))
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # stage, done, total


class RunTable(Base):
    """One table of a finished run, as Parquet (types kept; conformed to its spec on read)."""

    __tablename__ = "run_tables"

    run_id: Mapped[str] = mapped_column(
        String(80), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    spec: Mapped[str] = mapped_column(String(120))
    rows: Mapped[int] = mapped_column(Integer)
    parquet: Mapped[bytes] = mapped_column(LargeBinary)


ROLES = ("coordinator", "planner", "viewer")


class Nation(Base):
    """A nation of the coalition (the owner of rows, the nation of users)."""

    __tablename__ = "nations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)


class User(Base):
    """A person: their nation and role (coordinator, planner or viewer)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    nation: Mapped[str] = mapped_column(String(40), ForeignKey("nations.id"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Token(Base):
    """A bearer token of a user, kept as its argon2 hash only; looked up by its public
    prefix."""

    __tablename__ = "tokens"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"))
    hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One change: who, when, what, before and after. Append-only: the database refuses to
    update or delete a row (a trigger, migration 0002)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    user: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(300))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PledgeEventRecord(Base):
    """One step of a pledge's lifecycle as its donor recorded it (who, when, what), and the
    scenario version it made from which. Append-only: the database refuses to update or delete
    a row (a trigger, migration 0004)."""

    __tablename__ = "pledge_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    user: Mapped[str] = mapped_column(String(200))
    pledge: Mapped[str] = mapped_column(String(200), index=True)
    donor: Mapped[str] = mapped_column(String(40))
    scenario_from: Mapped[int] = mapped_column(Integer, ForeignKey("scenarios.id"), unique=True)
    scenario_to: Mapped[int] = mapped_column(Integer, ForeignKey("scenarios.id"))
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

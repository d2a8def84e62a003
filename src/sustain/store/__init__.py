"""The run store: scenarios (every version uploaded) and runs (their metadata and tables) in a
database, SQLite in a file by default, PostgreSQL by URL (SQLAlchemy 2; the schema made and
changed by Alembic migrations, applied when a store is opened).

Writes are transactions: a run is recorded as running when its engine starts, and its tables
and its finished status are written in one transaction, so a process killed at any moment
leaves the run whole or without a table; a run left running by a process that is gone is
marked failed the next time the store is opened, never lost silently.

    store = Store.open("sqlite:///sustain.db")
    with store.recording(run_id, engine, digest) as finished:   # running
        finished(make_the_run())               # finished, with its tables, atomically
    store.run(run_id)                          # the same Run back
"""

from __future__ import annotations

import datetime as dt
import io
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
from alembic import command
from alembic.config import Config
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import Engine, create_engine, event, select, update
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sustain.results import Run
from sustain.results.io import check_manifest, run_of
from sustain.results.table_specs import spec
from sustain.scope import owners_of, visible
from sustain.store.schema import (
    ROLES,
    AuditEntry,
    Nation,
    RunRecord,
    RunTable,
    ScenarioVersion,
    Token,
    User,
)

__all__ = ["DEFAULT_URL", "ROLES", "Person", "RunSummary", "Store", "StoreError"]
HASHER = PasswordHasher()  # argon2id, the library's defaults

DEFAULT_URL = "sqlite:///sustain.db"


class StoreError(ValueError):
    """A request the store cannot meet (an unknown run, a run not finished): says which."""


@dataclass(frozen=True)
class Person:
    """A user as the store knows them."""

    name: str
    nation: str
    role: str


@dataclass(frozen=True)
class RunSummary:
    """A run as listed: no tables."""

    id: str
    engine: str
    status: str
    scenario_digest: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(when: dt.datetime) -> dt.datetime:
    """A time read back in UTC (SQLite keeps no time zone: the store writes UTC only)."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def _here() -> str:
    return socket.gethostname()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _sqlite_pragmas(engine: Engine) -> None:
    """Foreign keys enforced (SQLite leaves them off) and a busy wait rather than an error
    when another process holds the write lock."""

    @event.listens_for(engine, "connect")
    def _on_connect(connection: object, record: object) -> None:
        cursor = connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


class Store:
    """A store at a database URL; `Store.open` migrates it to the head revision first."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Whose rows are whose, per scenario digest: a scenario version's owners never change.
        self._owners: dict[str, dict[str, dict[str, str]]] = {}

    @classmethod
    def open(cls, url: str = DEFAULT_URL) -> Store:
        """The store at `url`, made or upgraded to the current schema, with the runs that a
        process now gone left running marked failed."""
        try:
            engine = create_engine(url)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(
                f"{url}: not a database URL this store can open (sqlite:///FILE, or "
                f"postgresql+psycopg://USER@HOST:PORT/NAME with sustain[postgres]): {exc}"
            ) from None
        if engine.dialect.name == "sqlite":
            _sqlite_pragmas(engine)
        try:
            migrate(engine)
        except OperationalError as exc:
            raise StoreError(f"cannot open the store at {url}: {exc.orig}") from None
        store = cls(engine)
        store.fail_orphans()
        return store

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # Scenarios

    def add_scenario(
        self, name: str, digest: str, filename: str, content: bytes, uploaded_by: str | None
    ) -> int:
        """Record a scenario version as uploaded; its id."""
        with self._session() as session:
            version = ScenarioVersion(
                name=name,
                digest=digest,
                filename=filename,
                content=content,
                uploaded_by=uploaded_by,
                uploaded_at=_now(),
            )
            session.add(version)
            session.flush()
            return int(version.id)

    # People

    def add_user(self, name: str, nation: str, role: str, *, by: str) -> Person:
        """A user of a nation with a role (the nation is added if new); audited."""
        if role not in ROLES:
            raise StoreError(f'unknown role "{role}": one of {", ".join(ROLES)}')
        with self._session() as session:
            if session.scalar(select(User).where(User.name == name)) is not None:
                raise StoreError(f'a user "{name}" exists already')
            if session.get(Nation, nation) is None:
                session.add(Nation(id=nation))
            session.add(User(name=name, nation=nation, role=role, created_at=_now()))
            after = {"name": name, "nation": nation, "role": role}
            self._audit(session, by, "add user", f"user {name}", None, after)
        return Person(name, nation, role)

    def issue_token(self, name: str, *, by: str) -> str:
        """A new bearer token for the user, returned once: the store keeps its hash only."""
        with self._session() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                raise StoreError(f'no user "{name}"')
            prefix = secrets.token_hex(8)
            token = f"{prefix}.{secrets.token_urlsafe(32)}"
            session.add(
                Token(prefix=prefix, user_id=user.id, hash=HASHER.hash(token), created_at=_now())
            )
            self._audit(session, by, "issue token", f"user {name}", None, {"prefix": prefix})
        return token

    def revoke_token(self, prefix: str, *, by: str) -> None:
        with self._session() as session:
            token = session.get(Token, prefix)
            if token is None or token.revoked_at is not None:
                raise StoreError(f"no live token {prefix}")
            token.revoked_at = _now()
            self._audit(session, by, "revoke token", f"token {prefix}", None, None)

    def person(self, token: str) -> Person | None:
        """Whose the token is, or None (unknown, revoked or wrong)."""
        prefix, _, _ = token.partition(".")
        with self._session() as session:
            found = session.get(Token, prefix)
            if found is None or found.revoked_at is not None:
                return None
            try:
                HASHER.verify(found.hash, token)
            except VerificationError:
                return None
            user = session.get(User, found.user_id)
            return None if user is None else Person(user.name, user.nation, user.role)

    @staticmethod
    def _audit(
        session: Session,
        user: str,
        action: str,
        target: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """One audit entry, in the transaction of the change it records."""
        entry = AuditEntry(
            at=_now(), user=user, action=action, target=target, before=before, after=after
        )
        session.add(entry)

    def audit(self) -> list[dict[str, object]]:
        """The audit log, oldest first."""
        with self._session() as session:
            return [
                {
                    "at": _utc(e.at),
                    "user": e.user,
                    "action": e.action,
                    "target": e.target,
                    "before": e.before,
                    "after": e.after,
                }
                for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            ]

    # Runs

    def begin(self, run_id: str, engine: str, scenario_digest: str | None) -> None:
        """Record a run as running (committed at once, so that it is never lost)."""
        with self._session() as session:
            session.add(
                RunRecord(
                    id=run_id,
                    engine=engine,
                    scenario_digest=scenario_digest,
                    status="running",
                    started_at=_now(),
                    host=_here(),
                    pid=os.getpid(),
                    meta={},
                )
            )

    def finish(self, run: Run) -> None:
        """The run's tables and its finished status, in one transaction (begun or not)."""
        blobs = []
        for name, table in run.tables.items():
            buffer = io.BytesIO()
            table.to_parquet(buffer, index=False)
            blobs.append((name, run.spec(name).name, len(table), buffer.getvalue()))
        with self._session() as session:
            record = session.get(RunRecord, run.id)
            if record is None:
                record = RunRecord(
                    id=run.id,
                    engine=run.engine,
                    scenario_digest=run.scenario.get("digest"),
                    started_at=run.started,
                    host=_here(),
                    pid=os.getpid(),
                    meta={},
                    status="running",
                )
                session.add(record)
            for name, spec_name, rows, blob in blobs:
                session.add(
                    RunTable(run_id=run.id, name=name, spec=spec_name, rows=rows, parquet=blob)
                )
            record.status = "finished"
            record.finished_at = _now()
            record.meta = run.metadata()

    @contextmanager
    def recording(
        self, run_id: str, engine: str, scenario_digest: str | None
    ) -> Iterator[Callable[[Run], None]]:
        """Record a run while its engine works: running on entry; the block hands its Run to
        the callable it is given (finished, with its tables); an exception out of the block
        marks the run failed with its message, and goes on."""
        self.begin(run_id, engine, scenario_digest)
        done = False

        def finished(run: Run) -> None:
            nonlocal done
            if run.id != run_id:
                raise StoreError(f"the run {run.id} is not the one recorded ({run_id})")
            self.finish(run)
            done = True

        try:
            yield finished
        except BaseException as exc:
            self.fail(run_id, f"{type(exc).__name__}: {exc}")
            raise
        if not done:
            self.fail(run_id, "the engine returned no run")

    def fail(self, run_id: str, error: str) -> None:
        with self._session() as session:
            session.execute(
                update(RunRecord)
                .where(RunRecord.id == run_id, RunRecord.status == "running")
                .values(status="failed", finished_at=_now(), error=error)
            )

    def fail_orphans(self) -> list[str]:
        """Mark failed the runs left running by a process of this host that is gone; their
        ids."""
        with self._session() as session:
            running = session.scalars(
                select(RunRecord).where(RunRecord.status == "running", RunRecord.host == _here())
            ).all()
            orphans = [r for r in running if not _alive(r.pid)]
            for record in orphans:
                record.status = "failed"
                record.finished_at = _now()
                record.error = f"its process ({record.pid}) ended before the run finished"
            return [r.id for r in orphans]

    def runs(self, engine: str | None = None) -> list[RunSummary]:
        """Every run, newest first."""
        query = select(RunRecord).order_by(RunRecord.started_at.desc())
        if engine is not None:
            query = query.where(RunRecord.engine == engine)
        with self._session() as session:
            return [
                RunSummary(
                    id=r.id,
                    engine=r.engine,
                    status=r.status,
                    scenario_digest=r.scenario_digest,
                    started_at=_utc(r.started_at),
                    finished_at=_utc(r.finished_at) if r.finished_at is not None else None,
                    error=r.error,
                )
                for r in session.scalars(query)
            ]

    def owners(self, scenario_digest: str) -> dict[str, dict[str, str]]:
        """Whose each site, formation, line and lane is, from the newest finished info run
        of the scenario in the store."""
        if scenario_digest in self._owners:
            return self._owners[scenario_digest]
        with self._session() as session:
            info = session.scalar(
                select(RunRecord.id)
                .where(
                    RunRecord.engine == "info",
                    RunRecord.status == "finished",
                    RunRecord.scenario_digest == scenario_digest,
                )
                .order_by(RunRecord.started_at.desc())
            )
        if info is None:
            raise StoreError(
                f"no info run of the scenario {scenario_digest[:12]} in the store: whose rows "
                "are whose is not known (store its info run first)"
            )
        found = owners_of(self.run(info).tables)
        self._owners[scenario_digest] = found
        return found

    def table(
        self, run_id: str, name: str, person: Person, *, offset: int = 0, limit: int | None = None
    ) -> pd.DataFrame:
        """The rows of a run's table that the person may see (sustain.scope), in order, from
        `offset`, at most `limit`. The one query every interface reads tables through."""
        with self._session() as session:
            spec_name, frame, digest = _table_of(session, run_id, name)
        table_spec = spec(spec_name)
        frame = table_spec.conform(frame)
        if person.role != "coordinator" and table_spec.scope:
            if digest is None:
                raise StoreError(
                    f"the run {run_id} names no scenario: its rows' owners are unknown"
                )
            shown = visible(frame, table_spec, person.nation, person.role, self.owners(digest))
            frame = frame[shown]
        end = None if limit is None else offset + limit
        return frame.iloc[offset:end].reset_index(drop=True)

    def run(self, run_id: str) -> Run:
        """A finished run, tables conformed to their specs."""
        with self._session() as session:
            record = session.get(RunRecord, run_id)
            if record is None:
                raise StoreError(f"no run {run_id} in the store")
            if record.status != "finished":
                raise StoreError(f"the run {run_id} is {record.status}, not finished")
            rows = session.scalars(select(RunTable).where(RunTable.run_id == run_id)).all()
            meta = dict(record.meta)
            blobs = {row.name: (row.spec, row.parquet) for row in rows}
        _, names = check_manifest(meta)
        tables = {
            name: spec(blobs[name][0]).conform(pd.read_parquet(io.BytesIO(blobs[name][1])))
            for name in names
        }
        return run_of(meta, tables)


def _table_of(session: Session, run_id: str, name: str) -> tuple[str, pd.DataFrame, str | None]:
    """A finished run's table: its spec's name, its rows as stored, the run's scenario."""
    record = session.get(RunRecord, run_id)
    if record is None:
        raise StoreError(f"no run {run_id} in the store")
    if record.status != "finished":
        raise StoreError(f"the run {run_id} is {record.status}, not finished")
    row = session.get(RunTable, (run_id, name))
    if row is None:
        raise StoreError(f"the run {run_id} has no table {name}")
    return row.spec, pd.read_parquet(io.BytesIO(row.parquet)), record.scenario_digest


def migrate(engine: Engine) -> None:
    """Upgrade the database to the head revision of the store's migrations."""
    config = Config()
    config.set_main_option("script_location", str(Path(str(files(__package__))) / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

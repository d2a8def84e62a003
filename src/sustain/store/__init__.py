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
import hashlib
import io
import os
import re
import secrets
import signal
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd
from alembic import command
from alembic.config import Config
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import Engine, create_engine, event, func, select, update
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, defer, sessionmaker

from sustain.arrays import BoolArray
from sustain.results import Run
from sustain.results.io import check_manifest, run_of
from sustain.results.table_specs import TableSpec, spec
from sustain.scope import Scope, aggregate, scope_of, visible
from sustain.store.schema import (
    ROLES,
    AuditEntry,
    Nation,
    PledgeEventRecord,
    RunRecord,
    RunTable,
    ScenarioVersion,
    Token,
    User,
)

__all__ = [
    "DEFAULT_URL",
    "ROLES",
    "ConflictError",
    "NotFoundError",
    "Person",
    "RunSummary",
    "ScenarioSummary",
    "Store",
    "StoreError",
    "TablePage",
]
HASHER = PasswordHasher()  # argon2id, the library's defaults

DEFAULT_URL = "sqlite:///sustain.db"
CACHED_ROWS = 5_000_000  # rows of finished runs' tables a server process keeps conformed
NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")  # a user's name: safe in a URL path
NATION = re.compile(r"[A-Z0-9-]{1,40}")  # as the scenarios write them: USA, POL, ...
K = TypeVar("K")
V = TypeVar("V")


class StoreError(ValueError):
    """A request the store cannot meet (an unknown run, a run not finished): says which."""


class NotFoundError(StoreError):
    """No such run, table, scenario, user or token."""


class ConflictError(StoreError):
    """Not now: a run not finished, a name taken, a run already over."""


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
    request: dict[str, Any] | None = None
    requested_by: str | None = None
    progress: dict[str, Any] | None = None
    tables: dict[str, int] | None = None  # name -> rows, once finished

    @classmethod
    def of(cls, record: RunRecord, tables: dict[str, int] | None = None) -> RunSummary:
        return cls(
            id=record.id,
            engine=record.engine,
            status=record.status,
            scenario_digest=record.scenario_digest,
            started_at=_utc(record.started_at),
            finished_at=_utc(record.finished_at) if record.finished_at is not None else None,
            error=record.error,
            request=record.request,
            requested_by=record.requested_by,
            progress=record.progress,
            tables=tables,
        )


@dataclass(frozen=True)
class TablePage:
    """Rows of a table as one person may see them, and how many they may see in all."""

    spec: TableSpec
    rows: pd.DataFrame
    total: int


@dataclass(frozen=True)
class ScenarioSummary:
    """A scenario version as listed: not its file."""

    id: int
    name: str
    digest: str
    filename: str
    uploaded_by: str | None
    uploaded_at: dt.datetime
    info_run: str | None
    size: int

    @classmethod
    def of(cls, version: ScenarioVersion, size: int) -> ScenarioSummary:
        return cls(
            id=version.id,
            name=version.name,
            digest=version.digest,
            filename=version.filename,
            uploaded_by=version.uploaded_by,
            uploaded_at=_utc(version.uploaded_at),
            info_run=version.info_run,
            size=size,
        )


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
        # Readers go on while a run's tables are written (one writer, many readers).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


class Store:
    """A store at a database URL; `Store.open` migrates it to the head revision first."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Whose rows are whose, per scenario digest: a scenario version's scope never changes.
        self._scopes: dict[str, Scope] = {}
        # Tokens whose argon2 hash this process has checked: SHA-256 of the token -> the hash.
        self._verified: dict[bytes, str] = {}
        self._checking: dict[bytes, threading.Lock] = {}  # one argon2 check at a time a token
        self._lock = threading.Lock()
        # A finished run's tables never change: each is read and conformed once, scoped
        # once per nation and summed once, and kept while used.
        self._tables: Recent[tuple[str, str], tuple[TableSpec, pd.DataFrame, str | None]]
        self._tables = Recent(CACHED_ROWS, weight=lambda found: len(found[1]))
        self._masks: Recent[tuple[str, str, str], BoolArray]
        self._masks = Recent(4 * CACHED_ROWS, weight=len)
        self._sums: Recent[tuple[str, str, bool], pd.DataFrame] = Recent(256)

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
        self,
        name: str,
        digest: str,
        filename: str,
        content: bytes,
        uploaded_by: str | None,
        info: Run | None = None,
        *,
        action: str = "upload scenario",
    ) -> int:
        """Record a scenario version as uploaded (or made by `action`, an import), with its
        info run (what it holds and whose each part is) in the same transaction; its id.
        Audited."""
        with self._session() as session:
            version = self._add_version(session, name, digest, filename, content, uploaded_by, info)
            after = {"name": name, "digest": digest, "filename": filename, "bytes": len(content)}
            self._audit(session, uploaded_by or "", action, f"scenario {version}", None, after)
            return version

    def add_pledge_event(
        self,
        scenario_from: int,
        made: tuple[str, str, bytes, Run],
        event: dict[str, Any],
        states: tuple[dict[str, Any], dict[str, Any]],
        *,
        donor: str,
        by: str,
    ) -> int:
        """A pledge event and the scenario version it makes (`made`: name, digest, its
        file, its info run), with the pledge's state before and after, in one transaction;
        the new version's id. Appended to the pledge events and the audit log."""
        try:
            with self._session() as session:
                name, digest, content, info = made
                before, after = states
                self._scenario_version(session, scenario_from)
                taken = session.scalar(
                    select(PledgeEventRecord.scenario_to).where(
                        PledgeEventRecord.scenario_from == scenario_from
                    )
                )
                if taken is not None:
                    raise ConflictError(
                        f"the scenario {scenario_from} has moved on: an event made its next "
                        f"version, {taken} (post to that one)"
                    )
                version = self._add_version(
                    session, name, digest, f"{name}.yaml", content, by, info
                )
                pledge = str(event["pledge"])
                session.add(
                    PledgeEventRecord(
                        at=_now(),
                        user=by,
                        pledge=pledge,
                        donor=donor,
                        scenario_from=scenario_from,
                        scenario_to=version,
                        event=event,
                        before=before,
                        after=after,
                    )
                )
                what = f"pledge {pledge} of scenario {scenario_from} (now scenario {version})"
                self._audit(session, by, f"pledge {event['status']}", what, before, after)
                return version
        except IntegrityError:  # another event made the next version first (a race)
            raise ConflictError(
                f"the scenario {scenario_from} has moved on: an event made its next version "
                "(post to that one)"
            ) from None

    def pledge_donor(self, scenario_id: int, pledge: str) -> str | None:
        """The donor of a pledge of a scenario version (from its info run), or None."""
        info = self.scenario(scenario_id).info_run
        if info is None:
            raise ConflictError(f"the scenario {scenario_id} has no info run")
        _, frame, _ = self._finished_table(info, "pledges")
        donors = frame.loc[frame["pledge"] == pledge, "donor"]
        return None if donors.empty else str(donors.iloc[0])

    def pledge_events(self, donor: str | None = None) -> list[dict[str, Any]]:
        """Every pledge event (or a donor's), oldest first."""
        query = select(PledgeEventRecord).order_by(PledgeEventRecord.id)
        if donor is not None:
            query = query.where(PledgeEventRecord.donor == donor)
        with self._session() as session:
            return [
                {
                    "at": _utc(e.at),
                    "user": e.user,
                    "pledge": e.pledge,
                    "donor": e.donor,
                    "scenario_from": e.scenario_from,
                    "scenario_to": e.scenario_to,
                    "event": e.event,
                    "before": e.before,
                    "after": e.after,
                }
                for e in session.scalars(query)
            ]

    def _add_version(
        self,
        session: Session,
        name: str,
        digest: str,
        filename: str,
        content: bytes,
        uploaded_by: str | None,
        info: Run | None,
    ) -> int:
        version = ScenarioVersion(
            name=name,
            digest=digest,
            filename=filename,
            content=content,
            uploaded_by=uploaded_by,
            uploaded_at=_now(),
            info_run=info.id if info is not None else None,
        )
        session.add(version)
        if info is not None:
            self._write_run(session, info)
        session.flush()
        return int(version.id)

    def scenarios(self, digest: str | None = None) -> list[ScenarioSummary]:
        """Every scenario version (or those of a digest), newest first; their files not
        read."""
        size = func.length(ScenarioVersion.content)
        query = select(ScenarioVersion, size).order_by(ScenarioVersion.id.desc())
        query = query.options(defer(ScenarioVersion.content))
        if digest is not None:
            query = query.where(ScenarioVersion.digest == digest)
        with self._session() as session:
            return [ScenarioSummary.of(v, int(n)) for v, n in session.execute(query)]

    def scenario(self, scenario_id: int) -> ScenarioSummary:
        """A scenario version (its file not read)."""
        size = func.length(ScenarioVersion.content)
        query = select(ScenarioVersion, size).where(ScenarioVersion.id == scenario_id)
        with self._session() as session:
            found = session.execute(query.options(defer(ScenarioVersion.content))).first()
        if found is None:
            raise NotFoundError(f"no scenario {scenario_id} in the store")
        return ScenarioSummary.of(found[0], int(found[1]))

    def scenario_file(self, scenario_id: int) -> tuple[str, bytes]:
        """A scenario version's file as uploaded: its name and bytes."""
        with self._session() as session:
            version = self._scenario_version(session, scenario_id)
            return version.filename, version.content

    @staticmethod
    def _scenario_version(session: Session, scenario_id: int) -> ScenarioVersion:
        version = session.get(ScenarioVersion, scenario_id)
        if version is None:
            raise NotFoundError(f"no scenario {scenario_id} in the store")
        return version

    # People

    def add_user(self, name: str, nation: str, role: str, *, by: str) -> Person:
        """A user of a nation with a role (the nation is added if new); audited."""
        if role not in ROLES:
            raise StoreError(f'unknown role "{role}": one of {", ".join(ROLES)}')
        if not NAME.fullmatch(name) or not NATION.fullmatch(nation):
            raise StoreError(
                f'a user\'s name is 1-100 letters, digits, ".", "_" or "-" ("{name}"), a '
                f'nation\'s id 1-40 upper-case letters, digits or "-" ("{nation}")'
            )
        try:
            with self._session() as session:
                if session.scalar(select(User).where(User.name == name)) is not None:
                    raise ConflictError(f'a user "{name}" exists already')
                if session.get(Nation, nation) is None:
                    session.add(Nation(id=nation))
                session.add(User(name=name, nation=nation, role=role, created_at=_now()))
                after = {"name": name, "nation": nation, "role": role}
                self._audit(session, by, "add user", f"user {name}", None, after)
        except IntegrityError:  # the same name (or nation) added at the same moment
            raise ConflictError(f'a user "{name}" exists already') from None
        return Person(name, nation, role)

    def issue_token(self, name: str, *, by: str) -> str:
        """A new bearer token for the user, returned once: the store keeps its hash only."""
        with self._session() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                raise NotFoundError(f'no user "{name}"')
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
                raise NotFoundError(f"no live token {prefix}")
            token.revoked_at = _now()
            self._audit(session, by, "revoke token", f"token {prefix}", None, None)

    def person(self, token: str) -> Person | None:
        """Whose the token is, or None (unknown, revoked or wrong). Revocation is read from
        the database every time; the argon2 check (tens of milliseconds, by design) is made
        once per token and process, remembered by the token's SHA-256."""
        prefix, _, _ = token.partition(".")
        seen = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        with self._session() as session:
            found = session.get(Token, prefix)
            if found is None or found.revoked_at is not None:
                return None
            if not self._checked(seen, found.hash, token):
                return None
            user = session.get(User, found.user_id)
            return None if user is None else Person(user.name, user.nation, user.role)

    def _checked(self, seen: bytes, stored: str, token: str) -> bool:
        """Whether the token matches its stored hash; checked once per token and process,
        one check at a time per token (fifty requests arriving with a new token wait for one
        argon2 check, not make fifty, each taking its memory)."""
        if self._verified.get(seen) == stored:
            return True
        with self._lock:
            lock = self._checking.setdefault(seen, threading.Lock())
        with lock:
            if self._verified.get(seen) == stored:
                return True
            try:
                HASHER.verify(stored, token)
            except VerificationError:
                with self._lock:  # a wrong token leaves nothing behind
                    self._checking.pop(seen, None)
                return False
            self._verified[seen] = stored
            return True

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

    def audit(self, nation: str | None = None) -> list[dict[str, object]]:
        """The audit log, oldest first: all of it, or the changes made by the planners and
        viewers of `nation`."""
        query = select(AuditEntry).order_by(AuditEntry.id)
        if nation is not None:  # not a coordinator's changes: they reach every nation's data
            query = query.join(User, User.name == AuditEntry.user).where(
                User.nation == nation, User.role != "coordinator"
            )
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
                for e in session.scalars(query)
            ]

    def users(self, nation: str | None = None) -> list[Person]:
        """Every user, or those of `nation`, by name."""
        query = select(User).order_by(User.name)
        if nation is not None:
            query = query.where(User.nation == nation)
        with self._session() as session:
            return [Person(u.name, u.nation, u.role) for u in session.scalars(query)]

    def nations(self) -> list[str]:
        with self._session() as session:
            return list(session.scalars(select(Nation.id).order_by(Nation.id)))

    def token_owner(self, prefix: str) -> str:
        """Whose the live token with this prefix is."""
        with self._session() as session:
            token = session.get(Token, prefix)
            user = None if token is None else session.get(User, token.user_id)
            if token is None or token.revoked_at is not None or user is None:
                raise NotFoundError(f"no live token {prefix}")
            return user.name

    # Runs

    def begin(self, run_id: str, engine: str, scenario_digest: str | None) -> None:
        """Record a run as running (committed at once, so that it is never lost)."""
        with self._session() as session:
            session.add(_record(run_id, engine, scenario_digest, "running"))

    def finish(self, run: Run) -> None:
        """The run's tables and its finished status, in one transaction (begun or not). A
        run no longer running (cancelled, failed) is not finished: ConflictError, nothing
        written."""
        with self._session() as session:
            self._write_run(session, run)

    @staticmethod
    def _write_run(session: Session, run: Run) -> None:
        blobs = []
        for name, table in run.tables.items():
            buffer = io.BytesIO()
            table.to_parquet(buffer, index=False)
            blobs.append((name, run.spec(name).name, len(table), buffer.getvalue()))
        if session.get(RunRecord, run.id) is None:
            begun = _record(run.id, run.engine, run.scenario.get("digest"), "running")
            begun.started_at = run.started
            session.add(begun)
            session.flush()
        # One conditional update: a cancel committed meanwhile wins, never overwritten.
        done = session.execute(
            update(RunRecord)
            .where(RunRecord.id == run.id, RunRecord.status == "running")
            .values(status="finished", finished_at=_now(), meta=run.metadata())
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError(f"the run {run.id} is no longer running: not finished")
        for name, spec_name, rows, blob in blobs:
            session.add(RunTable(run_id=run.id, name=name, spec=spec_name, rows=rows, parquet=blob))

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
                .where(RunRecord.id == run_id, RunRecord.status.in_(("queued", "running")))
                .values(status="failed", finished_at=_now(), error=error)
            )

    def runs(self, engine: str | None = None) -> list[RunSummary]:
        """Every run, newest first."""
        query = select(RunRecord).order_by(RunRecord.started_at.desc())
        if engine is not None:
            query = query.where(RunRecord.engine == engine)
        with self._session() as session:
            return [RunSummary.of(r) for r in session.scalars(query)]

    def run_summary(self, run_id: str) -> RunSummary:
        """A run as listed, with its tables' sizes once finished."""
        with self._session() as session:
            record = session.get(RunRecord, run_id)
            if record is None:
                raise NotFoundError(f"no run {run_id} in the store")
            tables = None
            if record.status == "finished":
                rows = session.execute(
                    select(RunTable.name, RunTable.rows).where(RunTable.run_id == run_id)
                ).all()
                tables = {name: count for name, count in rows}
            return RunSummary.of(record, tables)

    def fail_orphans(self) -> list[str]:
        """Mark failed the runs left queued or running by a process of this host that is
        gone; their ids."""
        with self._session() as session:
            waiting = session.scalars(
                select(RunRecord).where(
                    RunRecord.status.in_(("queued", "running")), RunRecord.host == _here()
                )
            ).all()
            orphans = [r for r in waiting if not _alive(r.pid)]
            for record in orphans:
                what = "ran" if record.status == "queued" else "finished"
                record.status = "failed"
                record.finished_at = _now()
                record.error = f"its process ({record.pid}) ended before the run {what}"
            return [r.id for r in orphans]

    # Runs as jobs (sustain.jobs): queued, then running in a worker, then over

    def submit(
        self, run_id: str, engine: str, scenario_digest: str, request: dict[str, Any], *, by: str
    ) -> None:
        """Record a run asked for, queued (by this process, until a worker starts it)."""
        with self._session() as session:
            queued = _record(run_id, engine, scenario_digest, "queued")
            queued.request, queued.requested_by = request, by
            session.add(queued)
            self._audit(session, by, "start run", f"run {run_id}", None, request)

    def start(self, run_id: str) -> bool:
        """A queued run taken by this process (running); False if it is queued no longer
        (cancelled meanwhile)."""
        with self._session() as session:
            taken = session.execute(
                update(RunRecord)
                .where(RunRecord.id == run_id, RunRecord.status == "queued")
                .values(status="running", host=_here(), pid=os.getpid(), started_at=_now())
            )
            return bool(taken.rowcount == 1)  # type: ignore[attr-defined]

    def set_progress(self, run_id: str, progress: dict[str, Any]) -> None:
        with self._session() as session:
            session.execute(
                update(RunRecord)
                .where(RunRecord.id == run_id, RunRecord.status == "running")
                .values(progress=progress)
            )

    def cancel(self, run_id: str, *, by: str) -> str:
        """Cancel a queued or running run; the run's status after (cancelled). The run is
        marked cancelled first, then its worker (on this host) is stopped: a worker finishing
        meanwhile cannot overwrite it. A run over already is a ConflictError. Audited."""
        for _ in range(3):  # queued -> running may happen between the read and the update
            with self._session() as session:
                record = session.get(RunRecord, run_id)
                if record is None:
                    raise NotFoundError(f"no run {run_id} in the store")
                before, host, pid = record.status, record.host, record.pid
                if before not in ("queued", "running"):
                    raise ConflictError(f"the run {run_id} is {before} already: nothing to cancel")
                stopped = session.execute(
                    update(RunRecord)
                    .where(RunRecord.id == run_id, RunRecord.status == before)
                    .values(status="cancelled", finished_at=_now(), error=f"cancelled by {by}")
                )
                if stopped.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                after = {"status": "cancelled"}
                self._audit(session, by, "cancel run", f"run {run_id}", {"status": before}, after)
            if before == "running" and host == _here() and pid != os.getpid():
                with suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)
            return "cancelled"
        raise ConflictError(f"the run {run_id} kept changing: try again")

    def scope(self, scenario_digest: str) -> Scope:
        """Whose each site, formation, line and lane is and who else it is released to, from
        the newest finished info run of the scenario in the store."""
        if scenario_digest in self._scopes:
            return self._scopes[scenario_digest]
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
        found = scope_of(self.run(info).tables)
        self._scopes[scenario_digest] = found
        return found

    def table(
        self, run_id: str, name: str, person: Person, *, offset: int = 0, limit: int | None = None
    ) -> pd.DataFrame:
        """The rows of a run's table that the person may see (sustain.scope), in order, from
        `offset`, at most `limit`."""
        return self.page(run_id, name, person, offset=offset, limit=limit).rows

    def page(
        self,
        run_id: str,
        name: str,
        person: Person,
        *,
        where: Mapping[str, str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> TablePage:
        """The rows of a run's table that the person may see (sustain.scope), those whose
        columns read as `where` says (column -> value as text), in order, from `offset`, at
        most `limit`; and how many there are in all. The one query every interface reads
        tables through."""
        table_spec, frame, _ = self._finished_table(run_id, name)
        if person.role != "coordinator" and table_spec.scope:
            frame = frame[self._visible_rows(run_id, name, person.nation)]
        for column, value in (where or {}).items():
            if column not in frame.columns:
                raise StoreError(
                    f'the table {name} has no column "{column}" (it has {", ".join(frame.columns)})'
                )
            frame = frame[_matching(frame[column], table_spec.column(column).type, value)]
        end = None if limit is None else offset + limit
        return TablePage(
            spec=table_spec, rows=frame.iloc[offset:end].reset_index(drop=True), total=len(frame)
        )

    def aggregate(self, run_id: str, name: str, person: Person) -> pd.DataFrame:
        """A run's table as anyone may see it whole: the sums its spec declares, over every
        row, by the columns it declares (sustain.scope.aggregate; cached)."""
        coordinator = person.role == "coordinator"

        def add_up() -> pd.DataFrame:
            table_spec, frame, _ = self._finished_table(run_id, name)
            if not table_spec.aggregate_by:
                raise NotFoundError(f"the table {name} declares no aggregate")
            return aggregate(frame, table_spec, coordinator=coordinator)

        return self._sums.get((run_id, name, coordinator), add_up)

    def _finished_table(self, run_id: str, name: str) -> tuple[TableSpec, pd.DataFrame, str | None]:
        """A finished run's table, conformed to its spec, and the run's scenario digest
        (cached: callers must not change the frame)."""

        def read() -> tuple[TableSpec, pd.DataFrame, str | None]:
            with self._session() as session:
                spec_name, frame, digest = _table_of(session, run_id, name)
            table_spec = spec(spec_name)
            return table_spec, table_spec.conform(frame), digest

        return self._tables.get((run_id, name), read)

    def _visible_rows(self, run_id: str, name: str, nation: str) -> BoolArray:
        """(rows,) which rows of a finished run's table someone of `nation` (not a
        coordinator) may see (cached)."""

        def work_out() -> BoolArray:
            table_spec, frame, digest = self._finished_table(run_id, name)
            if digest is None:
                raise StoreError(
                    f"the run {run_id} names no scenario: its rows' owners are unknown"
                )
            return visible(frame, table_spec, nation, "planner", self.scope(digest))

        return self._masks.get((run_id, name, nation), work_out)

    def run(self, run_id: str) -> Run:
        """A finished run, tables conformed to their specs."""
        with self._session() as session:
            record = session.get(RunRecord, run_id)
            if record is None:
                raise NotFoundError(f"no run {run_id} in the store")
            if record.status != "finished":
                raise ConflictError(f"the run {run_id} is {record.status}, not finished")
            rows = session.scalars(select(RunTable).where(RunTable.run_id == run_id)).all()
            meta = dict(record.meta)
            blobs = {row.name: (row.spec, row.parquet) for row in rows}
        _, names = check_manifest(meta)
        tables = {
            name: spec(blobs[name][0]).conform(pd.read_parquet(io.BytesIO(blobs[name][1])))
            for name in names
        }
        return run_of(meta, tables)


class Recent(Generic[K, V]):
    """The values made last, shared by a server's threads: at most `size` in all, each
    counting as `weight(value)` (1 by default), the least recently used let go first."""

    def __init__(self, size: int, weight: Callable[[V], int] = lambda _: 1) -> None:
        self.size, self.weight = size, weight
        self._values: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()
        self._making: dict[K, threading.Lock] = {}  # a lock per key being made

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for `key`, or the one `make` gives (kept; an exception is not).
        Threads asking for the same missing key wait for one `make`."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key][0]
            making = self._making.setdefault(key, threading.Lock())
        with making:
            with self._lock:
                if key in self._values:
                    return self._values[key][0]
            try:
                value = make()
            except BaseException:
                with self._lock:
                    self._making.pop(key, None)
                raise
            weight = self.weight(value)
            with self._lock:
                self._making.pop(key, None)
                self._values[key] = (value, weight)
                self._total += weight
                while self._total > self.size and len(self._values) > 1:
                    _, (_, dropped) = self._values.popitem(last=False)
                    self._total -= dropped
        return value


def _matching(values: pd.Series, kind: str, text: str) -> BoolArray:
    """(rows,) which values equal `text` read as the column's type says (5040 matches
    5040.0; a date is YYYY-MM-DD); a text that is not of that type is a StoreError."""
    if kind in ("int", "float"):
        try:
            number = float(text)
        except ValueError:
            raise StoreError(f'"{text}" is not a number (the column holds {kind}s)') from None
        return (values.astype("float64") == number).to_numpy(dtype=bool, na_value=False)
    if kind == "date":
        try:
            day = pd.Timestamp(dt.date.fromisoformat(text))
        except ValueError:
            raise StoreError(f'"{text}" is not a date written YYYY-MM-DD') from None
        return (values == day).to_numpy(dtype=bool, na_value=False)
    if kind == "bool":
        if text not in ("true", "false"):
            raise StoreError(f'"{text}" is not true or false')
        return (values == (text == "true")).to_numpy(dtype=bool, na_value=False)
    return (values.astype("string") == text).to_numpy(dtype=bool, na_value=False)


def _record(run_id: str, engine: str, scenario_digest: str | None, status: str) -> RunRecord:
    """A run's record as this process makes it, from now."""
    return RunRecord(
        id=run_id,
        engine=engine,
        scenario_digest=scenario_digest,
        status=status,
        started_at=_now(),
        host=_here(),
        pid=os.getpid(),
        meta={},
    )


def _table_of(session: Session, run_id: str, name: str) -> tuple[str, pd.DataFrame, str | None]:
    """A finished run's table: its spec's name, its rows as stored, the run's scenario."""
    record = session.get(RunRecord, run_id)
    if record is None:
        raise NotFoundError(f"no run {run_id} in the store")
    if record.status != "finished":
        raise ConflictError(f"the run {run_id} is {record.status}, not finished")
    row = session.get(RunTable, (run_id, name))
    if row is None:
        raise NotFoundError(f"the run {run_id} has no table {name}")
    return row.spec, pd.read_parquet(io.BytesIO(row.parquet)), record.scenario_digest


def migrate(engine: Engine) -> None:
    """Upgrade the database to the head revision of the store's migrations."""
    config = Config()
    config.set_main_option("script_location", str(Path(str(files(__package__))) / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

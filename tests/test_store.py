"""The run store: a run written is the same Run read back, a store opened is migrated to the
current schema, and a writer killed with SIGKILL at any moment leaves its run whole or without
a table, shown as failed when the store is next opened (never lost silently). Each against
SQLite in a file and a real PostgreSQL server (Debian's, started on loopback by
scripts/postgres.sh, installed by it where missing)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

import sustain
import sustain.store
from sustain import service
from sustain.store import Store, StoreError
from sustain.store.schema import AuditEntry, RunRecord, RunTable, Token
from tests.conftest import ROOT, TINY, new_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sustain.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture(scope="module")
def runs() -> list[sustain.results.Run]:
    scenario = sustain.load(TINY)
    return [
        service.info_run(scenario),
        service.plan_run(scenario),
        service.simulate_run(scenario, replications=16, seed=3),
    ]


def test_a_run_stored_is_the_same_run_read_back(url: str, runs: list) -> None:
    store = Store.open(url)
    for run in runs:
        store.begin(run.id, run.engine, run.scenario.get("digest"))
        store.finish(run)
    again = Store.open(url)  # another connection, as after a restart
    for run in runs:
        back = again.run(run.id)
        assert back.metadata() == run.metadata()
        assert list(back.tables) == list(run.tables)
        for name, table in run.tables.items():
            pd.testing.assert_frame_equal(back.tables[name], table, check_exact=True)
    listed = {r.id: r for r in again.runs()}
    assert {r.id for r in runs} == set(listed)
    assert all(r.status == "finished" and r.started_at.tzinfo is not None for r in listed.values())
    assert [r.engine for r in again.runs(engine="plan")] == ["plan"]


def test_opening_migrates_once_to_the_head_revision(url: str) -> None:
    first = Store.open(url)
    Store.open(url)  # nothing to do the second time, and no error
    with first.engine.connect() as connection:
        (version,) = connection.execute(text("SELECT version_num FROM alembic_version")).one()
    assert version == "0004"


def test_asking_for_what_is_not_there_is_a_clear_error(url: str) -> None:
    store = Store.open(url)
    with pytest.raises(StoreError, match="no run nope in the store"):
        store.run("nope")
    store.begin("plan-x", "plan", None)
    with pytest.raises(StoreError, match="plan-x is running, not finished"):
        store.run("plan-x")


def test_a_run_whose_engine_fails_is_recorded_failed_with_the_reason(url: str, runs: list) -> None:
    store = Store.open(url)
    with pytest.raises(RuntimeError), store.recording("plan-1", "plan", None):
        raise RuntimeError("HiGHS gave up")
    (failed,) = store.runs()
    assert failed.status == "failed" and failed.error == "RuntimeError: HiGHS gave up"
    run = runs[1]
    with store.recording(run.id, run.engine, run.scenario["digest"]) as finished:
        finished(run)
    assert store.run(run.id).metadata() == run.metadata()


def test_a_token_names_its_user_and_only_its_hash_is_kept(url: str) -> None:
    store = Store.open(url)
    store.add_user("ana", "POL", "planner", by="setup")
    token = store.issue_token("ana", by="setup")
    assert store.person(token) == sustain.store.Person("ana", "POL", "planner")
    prefix, _, secret = token.partition(".")
    assert store.person(f"{prefix}.{secret[:-1]}x") is None  # one character off
    assert store.person("nonsense") is None and store.person("") is None
    with store.engine.connect() as connection:
        stored = connection.execute(select(Token.hash)).scalar_one()
    assert secret not in stored and stored.startswith("$argon2id$")
    store.revoke_token(prefix, by="ana")
    assert store.person(token) is None
    with pytest.raises(StoreError, match="unknown role"):
        store.add_user("bob", "USA", "admin", by="setup")
    with pytest.raises(StoreError, match='"ana" exists'):
        store.add_user("ana", "USA", "viewer", by="setup")


def test_every_change_is_audited_and_the_audit_log_cannot_be_edited(url: str) -> None:
    store = Store.open(url)
    store.add_user("ana", "POL", "coordinator", by="setup")
    store.issue_token("ana", by="ana")
    log = store.audit()
    assert [(e["user"], e["action"], e["target"]) for e in log] == [
        ("setup", "add user", "user ana"),
        ("ana", "issue token", "user ana"),
    ]
    assert log[0]["after"] == {"name": "ana", "nation": "POL", "role": "coordinator"}
    for change in (
        update(AuditEntry).values(user="someone else"),
        AuditEntry.__table__.delete(),
    ):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as connection:
            connection.execute(change)
    assert store.audit() == log  # untouched


def writer(url: str, rows: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "store_writer.py"), url, str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
    )


def test_a_writer_killed_at_any_moment_leaves_its_run_whole_or_failed(url: str) -> None:
    Store.open(url)
    rng = random.Random(7)
    kills = 8
    for _ in range(kills):
        process = writer(url, 400_000)
        assert process.stdout is not None
        assert process.stdout.readline().startswith("begun ")
        assert process.stdout.readline() == "writing\n"
        time.sleep(rng.uniform(0.0, 1.0))  # somewhere in the tables' transaction, or after
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    whole = writer(url, 1_000)  # and one left to finish
    assert whole.wait(timeout=120) == 0, whole.stderr.read() if whole.stderr else ""
    store = Store.open(url)  # the restart: runs of processes gone are marked failed
    statuses = {r.id: r for r in store.runs()}
    assert len(statuses) == kills + 1
    with store.engine.connect() as connection:
        tables = dict(
            connection.execute(
                select(RunTable.run_id, func.count()).group_by(RunTable.run_id)
            ).all()
        )
        running = connection.execute(
            select(func.count()).where(RunRecord.status == "running")
        ).scalar_one()
    assert running == 0  # none left running, none lost
    failed = [r for r in statuses.values() if r.status == "failed"]
    finished = [r for r in statuses.values() if r.status == "finished"]
    assert failed, "no kill landed before the run finished: the test proves nothing"
    for run in failed:
        assert run.id not in tables, f"{run.id} failed but kept {tables[run.id]} tables"
        assert "ended before the run finished" in (run.error or "")
    for run in finished:
        assert tables.get(run.id) == 1  # whole: its one table
        assert len(store.run(run.id).tables["sites"]) in (400_000, 1_000)


def sustain_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sustain", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


def test_users_are_added_from_the_command_line_with_a_token_shown_once(tmp_path: Path) -> None:
    added = sustain_cli("users", "add", "ana", "--nation", "POL", "--role", "planner", "--json",
                        cwd=tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    document = json.loads(added.stdout)
    assert (document["user"], document["nation"], document["role"]) == ("ana", "POL", "planner")
    store = Store.open(f"sqlite:///{tmp_path / 'sustain.db'}")  # the default, where it ran
    assert store.person(document["token"]) == sustain.store.Person("ana", "POL", "planner")
    for args, message in [
        (["users", "add", "ana", "--nation", "POL", "--role", "viewer"], '"ana" exists'),
        (["users", "add", "bo", "--nation", "USA", "--role", "boss"], "unknown role"),
        (["users", "add", "bo", "--nation", "USA", "--role", "viewer", "--database", "nonsense"],
         "not a database URL"),
        (["users", "add", "bo", "--nation", "USA", "--role", "viewer",
          "--database", f"sqlite:///{tmp_path}/no/such/folder/x.db"], "cannot open the store"),
        (["serve", "--database", "nonsense"], "not a database URL"),
        (["serve", "--log-level", "loud"], "--log-level"),
    ]:  # fmt: skip
        refused = sustain_cli(*args, cwd=tmp_path)
        assert refused.returncode == 2, (args, refused.stderr)
        assert message in refused.stderr and "Traceback" not in refused.stderr, refused.stderr


def test_users_are_listed_given_tokens_and_revoked_from_the_command_line(tmp_path: Path) -> None:
    sustain_cli("users", "add", "ana", "--nation", "POL", "--role", "planner", cwd=tmp_path)
    listed = json.loads(sustain_cli("users", "list", "--json", cwd=tmp_path).stdout)
    assert listed == [{"name": "ana", "nation": "POL", "role": "planner"}]
    second = json.loads(sustain_cli("users", "token", "ana", "--json", cwd=tmp_path).stdout)
    store = Store.open(f"sqlite:///{tmp_path / 'sustain.db'}")
    assert store.person(second["token"]) is not None
    revoked = sustain_cli("users", "revoke", second["token"], cwd=tmp_path)  # the prefix is read
    assert revoked.returncode == 0, revoked.stderr
    assert store.person(second["token"]) is None
    again = sustain_cli("users", "revoke", second["token"].partition(".")[0], cwd=tmp_path)
    assert again.returncode == 2 and "no live token" in again.stderr
    bad = sustain_cli("users", "add", "a/b", "--nation", "pol", "--role", "viewer", cwd=tmp_path)
    assert bad.returncode == 2 and "letters, digits" in bad.stderr


def test_the_store_makes_a_missing_table_once_however_many_ask_and_keeps_what_fits() -> None:
    made = []

    def slow() -> list[int]:
        made.append(1)
        time.sleep(0.2)
        return [0] * 6

    kept: sustain.store.Recent[str, list[int]] = sustain.store.Recent(10, weight=len)
    threads = [threading.Thread(target=lambda: kept.get("a", slow)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1  # twenty asked, one made
    kept.get("b", lambda: [1] * 6)  # 12 > 10: the least recently used goes
    assert kept.get("a", slow) == [0] * 6 and len(made) == 2
    with pytest.raises(ValueError, match="no"):
        kept.get("c", lambda: (_ for _ in ()).throw(ValueError("no")))
    assert kept.get("c", lambda: [2]) == [2]  # a failed make is not kept

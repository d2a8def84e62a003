from __future__ import annotations

import csv
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

import sustain
from sustain.scenario.writers import write

# CI runs the same examples every time (a red build must be reproducible); locally they vary.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("thorough", max_examples=3000, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "tiny.yaml"
EXAMPLES = [ROOT / "examples" / "race-for-logistics", ROOT / "examples" / "grid-equipment.yaml"]


@pytest.fixture(scope="session")
def tiny() -> sustain.Scenario:
    return sustain.load(TINY)


def tiny_folder(tmp_path: Path, scenario: sustain.Scenario) -> Path:
    """The tiny scenario written as a CSV folder under tmp_path."""
    folder = tmp_path / "tiny"
    write(scenario.rows(), folder, "csv")
    return folder


def edit_csv(folder: Path, edits: Iterable[Mapping[str, object]]) -> None:
    """Set cells of a CSV folder: table, data row (from 0), column (added if new), value."""
    for edit in edits:
        path = folder / f"{edit['table']}.csv"
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        column = str(edit["column"])
        if column not in rows[0]:
            rows[0].append(column)
            for row in rows[1:]:
                row.append("")
        rows[int(str(edit["row"])) + 1][rows[0].index(column)] = str(edit["value"])
        with path.open("w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)


def problems_of(path: Path) -> list[str]:
    """The problems loading `path` reports, as text (fails if it loads)."""
    with pytest.raises(sustain.ScenarioError) as caught:
        sustain.load(path)
    return [str(p) for p in caught.value.problems]


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real local Ray cluster, started with the `ray` command and stopped after the tests."""
    ray_command = str(Path(sys.executable).parent / "ray")
    port = 6390 + os.getpid() % 100
    environment = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run(
        [
            ray_command,
            "start",
            "--head",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={tmp_path_factory.mktemp('ray')}",
        ],
        check=True,
        capture_output=True,
        env=environment,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray_command, "stop", "--force"], capture_output=True, env=environment)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of the project's own (scripts/postgres.sh installs and starts it
    on loopback), for the session; its base URL."""
    folder = tempfile.mkdtemp(prefix="sustain-pg-")  # not under pytest's root-only folders
    port = free_port()
    script = str(ROOT / "scripts" / "postgres.sh")
    subprocess.run(["sh", script, "start", folder, str(port)], check=True, timeout=600)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(["sh", script, "stop", folder], check=False, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


DATABASES = itertools.count()


def new_postgres_database(server: str) -> str:
    """A new, empty database on the server; its URL."""
    from sqlalchemy import create_engine, text

    name = f"store_{os.getpid()}_{next(DATABASES)}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"

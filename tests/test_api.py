"""The REST API over real HTTP: `sustain serve` as a subprocess, users made with `sustain
users add`, requests with httpx. Scenarios in each format, located problems as `sustain
validate` gives them, runs as jobs (finished, cancelled, killed), tables as JSON, CSV and
Parquet checked against the same engine run here, paging, filters, tokens."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import sustain
from sustain import service
from sustain.scenario.writers import write
from tests.api_server import SUSTAIN, Server, serving, upload, uploaded, wait_for, zipped
from tests.conftest import EXAMPLES, TINY, edit_csv, new_postgres_database

USERS = {
    "coord": ("UKR", "coordinator"),
    "pol-planner": ("POL", "planner"),
    "pol-viewer": ("POL", "viewer"),
    "usa-planner": ("USA", "planner"),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The server over a store of each kind: SQLite in a file, PostgreSQL on loopback."""
    database = None
    if request.param == "postgresql":
        database = new_postgres_database(request.getfixturevalue("postgres_server"))
    with serving(tmp_path_factory.mktemp("api"), USERS, database=database) as running:
        yield running


def worker_pids(run_id: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", f"sustain.jobs .* {run_id}"], capture_output=True)
    return [int(pid) for pid in found.stdout.split()]


def test_only_the_health_check_answers_without_a_token(server: Server) -> None:
    with httpx.Client(base_url=server.url) as anonymous:
        assert anonymous.get("/health").json()["status"] == "ok"
        schema = anonymous.get("/openapi.json").json()
        operations = 0
        for path, methods in schema["paths"].items():
            if path == "/health":
                continue
            concrete = path.replace("{scenario_id}", "1").replace("{run_id}", "x")
            concrete = concrete.replace("{name}", "x").replace("{prefix}", "x")
            for method in methods:
                for headers in ({}, {"Authorization": "Bearer nope.nope"}, {"Authorization": "x"}):
                    response = anonymous.request(method, concrete, headers=headers)
                    assert response.status_code == 401, (method, path, headers, response.text)
                    assert response.headers["www-authenticate"] == "Bearer"
                operations += 1
    assert operations >= 14


def test_a_scenario_uploads_in_each_format_as_one_version(server: Server, tmp_path: Path) -> None:
    scenario = sustain.load(TINY)
    write(scenario.rows(), tmp_path / "tiny.xlsx", "xlsx")
    write(scenario.rows(), tmp_path / "tiny", "csv")
    files = [
        ("tiny.yaml", TINY.read_bytes()),
        ("tiny.xlsx", (tmp_path / "tiny.xlsx").read_bytes()),
        ("tiny.zip", zipped(tmp_path / "tiny")),
    ]
    with server.client("coord") as client:
        answers = [upload(client, name, content) for name, content in files]
        listed = client.get("/scenarios").json()
        kept = client.get(f"/scenarios/{answers[0].json()['id']}/file")
    first = answers[0].json()
    assert first["digest"] == service.digest(scenario)
    assert answers[0].status_code in (200, 201)
    assert [a.status_code for a in answers[1:]] == [200, 200]  # the same scenario again
    assert {a.json()["id"] for a in answers} == {first["id"]}
    assert [s["id"] for s in listed].count(first["id"]) == 1
    assert first["info_run"].startswith("info-")
    assert kept.content == TINY.read_bytes()


def test_a_bad_scenario_gets_the_problems_sustain_validate_gives(
    server: Server, tmp_path: Path
) -> None:
    folder = tmp_path / "broken"
    write(sustain.load(TINY).rows(), folder, "csv")
    edit_csv(
        folder,
        [
            {"table": "lanes", "row": 0, "column": "capacity", "value": "-5 t/day"},
            {"table": "sites", "row": 1, "column": "nation", "value": "Atlantis"},
        ],
    )
    validated = subprocess.run(
        [SUSTAIN, "validate", str(folder), "--json"], capture_output=True, text=True
    )
    assert validated.returncode == 2
    expected = json.loads(validated.stdout)["problems"]
    with server.client("coord") as client:
        answer = upload(client, "broken.zip", zipped(folder))
        yaml_answer = upload(client, "bad.yaml", b"scenario: [1")
        other = upload(client, "notes.txt", b"hello")
    assert answer.status_code == 422
    assert answer.json()["problems"] == expected and len(expected) >= 2
    assert yaml_answer.status_code == 422
    assert yaml_answer.json()["problems"][0]["where"].startswith("bad.yaml:1")
    assert other.status_code == 422 and "not a scenario" in other.text


def test_a_plan_over_http_is_the_plan_made_here(server: Server) -> None:
    scenario_id = uploaded(server, TINY)
    here = service.plan_run(sustain.load(TINY))
    with server.client("coord") as client:
        started = client.post("/runs", json={"engine": "plan", "scenario": scenario_id})
        assert started.status_code == 202, started.text
        assert started.json()["status"] in ("queued", "running")
        run = wait_for(client, started.json()["id"], until=("finished", "failed"))
        assert run["status"] == "finished", run["error"]
        assert run["tables"] == {name: len(t) for name, t in here.tables.items()}
        listing = {t["name"]: t for t in client.get(f"/runs/{run['id']}/tables").json()}
        assert set(listing) == set(here.tables)
        url = f"/runs/{run['id']}/tables/shipments"
        as_json = client.get(url, params={"limit": 100_000}).json()
        as_csv = client.get(url, params={"format": "csv", "limit": 100_000})
        as_parquet = client.get(url, params={"format": "parquet", "limit": 100_000})
        pages = [
            client.get(url, params={"offset": offset, "limit": 7}).json()["rows"]
            for offset in range(0, as_json["total"], 7)
        ]
        lane = here["shipments"]["lane"].iloc[0]
        filtered = client.get(url, params={"where": [f"lane={lane}", "period=1"]}).json()
        bad_filter = client.get(url, params={"where": "nosuch=1"})
    expected = here["shipments"]
    assert as_json["total"] == len(expected) > 0
    from_json = pd.DataFrame(as_json["rows"])
    assert list(from_json.columns) == list(expected.columns)
    np.testing.assert_allclose(from_json["quantity"], expected["quantity"], rtol=1e-12)
    assert list(from_json["date"]) == list(expected["date"].dt.strftime("%Y-%m-%d"))
    from_csv = pd.read_csv(io.StringIO(as_csv.text))
    np.testing.assert_allclose(from_csv["tonnes"], expected["tonnes"], rtol=1e-12)
    assert as_csv.headers["x-total-count"] == str(len(expected))
    from_parquet = pd.read_parquet(io.BytesIO(as_parquet.content))  # dates in ms: Parquet's
    pd.testing.assert_frame_equal(here.spec("shipments").conform(from_parquet), expected)
    assert [row for page in pages for row in page] == as_json["rows"]
    wanted = expected[(expected["lane"] == lane) & (expected["period"] == 1)]
    assert filtered["total"] == len(wanted) and len(wanted) >= 1
    assert bad_filter.status_code == 400 and "no column" in bad_filter.text


def test_a_running_simulation_is_cancelled_and_its_worker_stopped(server: Server) -> None:
    scenario_id = uploaded(server, EXAMPLES[0])
    with server.client("pol-planner") as client:
        request = {"engine": "simulate", "scenario": scenario_id, "replications": 100_000}
        run_id = client.post("/runs", json=request).raise_for_status().json()["id"]
        running = wait_for(client, run_id, until=("running", "finished", "failed"))
        assert running["status"] == "running"
        deadline = time.monotonic() + 120
        while not (client.get(f"/runs/{run_id}").json()["progress"] or {}).get("done"):
            assert time.monotonic() < deadline, "no progress written"
            time.sleep(0.2)
        assert worker_pids(run_id)
        cancelled = client.post(f"/runs/{run_id}/cancel")
        again = client.post(f"/runs/{run_id}/cancel")
        tables = client.get(f"/runs/{run_id}/tables")
    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409 and "cancelled already" in again.text
    assert tables.status_code == 409
    deadline = time.monotonic() + 10
    while worker_pids(run_id):
        assert time.monotonic() < deadline, "the worker still runs"
        time.sleep(0.1)
    time.sleep(1)  # the server sees its worker end: the run stays cancelled
    with server.client("coord") as client:
        assert client.get(f"/runs/{run_id}").json()["status"] == "cancelled"
        audit = client.get("/audit").json()
    assert {"user": "pol-planner", "action": "cancel run", "target": f"run {run_id}"}.items() <= [
        e for e in audit if e["action"] == "cancel run"
    ][-1].items()


def test_a_killed_worker_leaves_its_run_failed_not_lost(server: Server) -> None:
    scenario_id = uploaded(server, EXAMPLES[0])
    with server.client("coord") as client:
        request = {"engine": "simulate", "scenario": scenario_id, "replications": 100_000}
        run_id = client.post("/runs", json=request).raise_for_status().json()["id"]
        wait_for(client, run_id, until=("running",))
        deadline = time.monotonic() + 60
        while not worker_pids(run_id):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        for pid in worker_pids(run_id):
            os.kill(pid, signal.SIGKILL)
        run = wait_for(client, run_id, until=("failed", "finished", "cancelled"), most=30)
    assert run["status"] == "failed"
    # Said by the server seeing its worker die, or by the next store opened seeing its pid gone.
    assert "exit code -9" in run["error"] or "ended before the run finished" in run["error"]


def test_a_revoked_token_stops_working_at_once(server: Server) -> None:
    with server.client("coord") as coord:
        made = coord.post("/users", json={"name": "temp", "nation": "GBR", "role": "viewer"})
        assert made.status_code == 201
        token, prefix = made.json()["token"], made.json()["prefix"]
        twice = coord.post("/users", json={"name": "temp", "nation": "GBR", "role": "viewer"})
    assert twice.status_code == 409
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers) as temp:
        assert temp.get("/me").json() == {"name": "temp", "nation": "GBR", "role": "viewer"}
        assert temp.delete(f"/tokens/{prefix}").json() == {"prefix": prefix, "revoked": True}
        assert temp.get("/me").status_code == 401


def test_bad_requests_get_clear_answers_not_server_errors(server: Server) -> None:
    scenario_id = uploaded(server, TINY)
    with server.client("coord") as client:
        unknown_engine = client.post("/runs", json={"engine": "nope", "scenario": scenario_id})
        bad_option = client.post(
            "/runs",
            json={"engine": "plan", "scenario": scenario_id, "options": {"lags": "sideways"}},
        )
        extra_option = client.post(
            "/runs", json={"engine": "plan", "scenario": scenario_id, "options": {"nope": 1}}
        )
        no_scenario = client.post("/runs", json={"engine": "plan", "scenario": 999_999})
        no_plan = client.post(
            "/runs", json={"engine": "simulate", "scenario": scenario_id, "plan": "plan-x"}
        )
        no_run = client.get("/runs/nope/tables/shortfall")
        limit = client.get("/runs/nope/tables/shortfall", params={"limit": 0})
    assert unknown_engine.status_code == 422
    assert bad_option.status_code == 422 and "sideways" in bad_option.text
    assert extra_option.status_code == 422 and "nope" in extra_option.text
    assert no_scenario.status_code == 404 and "no scenario 999999" in no_scenario.text
    assert no_plan.status_code == 404 and "plan-x" in no_plan.text
    assert no_run.status_code == 404
    assert limit.status_code == 422


def test_a_file_larger_than_a_scenario_may_be_is_refused_unread(tmp_path: Path) -> None:
    """The server's limit (SUSTAIN_MAX_FILE_MB, 1 MB here) holds for scenarios and for the
    files of an import alike: 413, saying the limit, and nothing stored."""
    users = {"chief": ("UKR", "coordinator")}
    limit = {"SUSTAIN_MAX_FILE_MB": "1"}
    with serving(tmp_path, users, environment=limit) as small:
        scenario = uploaded(small, TINY, "chief")
        big = b"#" * (1024 * 1024 + 1)
        with small.client("chief") as chief:
            upload_answer = upload(chief, "big.yaml", big)
            import_answer = chief.post(
                f"/scenarios/{scenario}/imports/kiel",
                files={"weapons": ("w.csv", big), "mapping": ("m.csv", b"kind,name,to\n")},
                data={"release": "r"},
            )
            versions = chief.get("/scenarios").json()
    for answer, name in ((upload_answer, "big.yaml"), (import_answer, "w.csv")):
        assert answer.status_code == 413
        assert answer.json()["detail"] == f"{name}: a file sent is at most 1 MB"
    assert [v["id"] for v in versions] == [scenario]

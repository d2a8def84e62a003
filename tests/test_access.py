"""Nation-scoped access through the API, over real HTTP: every endpoint x every role x every
nation of the example theatre (with some of its sites, formations and lines released to
others). No row of another nation leaves the server unless released to the caller (zero
leaks, counted over the whole matrix), none the caller may see is withheld, the aggregates
are the same for everyone and sum every row, and every change a role may not make gets 403
and changes nothing.

Whose each row is and who it is released to is read here off the scenario's CSV files, not
from the server's owners."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sustain.results.table_specs import spec
from tests.api_server import Server, serving, uploaded, wait_for
from tests.conftest import EXAMPLES, TINY, edit_csv
from tests.scope_reference import may_see, own_row, reference

ROLES = ("coordinator", "planner", "viewer")
RELEASES = [  # table, data row, value
    ("sites", "rzeszow", "all"),
    ("sites", "lviv", "POL;USA"),
    ("sites", "gdansk", "DEU"),
    ("formations", "bde-01", "POL"),
    ("formations", "ad-command", "USA;DEU"),
    ("production_lines", "de-155-unterluss", "all"),
]


def released_theatre(folder: Path) -> Path:
    """The example theatre with the releases above written into its CSV files."""
    target = folder / "theatre"
    shutil.copytree(EXAMPLES[0], target)
    edits = []
    for table, name, value in RELEASES:
        ids = list(pd.read_csv(target / f"{table}.csv")["id"])
        edits.append({"table": table, "row": ids.index(name), "column": "release", "value": value})
    edit_csv(target, edits)
    return target


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict, Path]]:
    folder = tmp_path_factory.mktemp("access")
    theatre = released_theatre(folder)
    nations = sorted(pd.read_csv(theatre / "nations.csv")["id"])
    with serving(folder, {"chief": ("UKR", "coordinator")}, jobs=2) as server:
        with server.client("chief") as chief:
            for nation in nations:
                for role in ROLES:
                    made = chief.post(
                        "/users", json={"name": f"{role}-{nation}", "nation": nation, "role": role}
                    ).raise_for_status()
                    server.tokens[f"{role}-{nation}"] = made.json()["token"]
            scenario_id = uploaded(server, theatre, "chief")
            requests = [
                {"engine": "plan"},
                {"engine": "simulate", "replications": 16, "seed": 3},
                {"engine": "industry"},
                {"engine": "resilience"},
            ]
            started = [
                chief.post("/runs", json={**r, "scenario": scenario_id}).raise_for_status().json()
                for r in requests
            ]
            runs = [
                wait_for(chief, r["id"], until=("finished", "failed"), most=900) for r in started
            ]
            assert [r["status"] for r in runs] == ["finished"] * 4, [r["error"] for r in runs]
            info = chief.get(f"/scenarios/{scenario_id}").json()["info_run"]
            runs.append(chief.get(f"/runs/{info}").json())
        yield server, {"nations": nations, "runs": runs, "scenario": scenario_id}, theatre


def rows_of(client: Any, run_id: str, name: str) -> list[dict[str, Any]]:
    answer = client.get(f"/runs/{run_id}/tables/{name}", params={"limit": 100_000})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == len(body["rows"])
    return list(body["rows"])


def test_no_row_of_another_nation_leaves_the_server_unless_released(
    workspace: tuple[Server, dict, Path],
) -> None:
    server, made, theatre = workspace
    ref = reference(theatre)
    leaks = withheld = checked = released_rows = 0
    with server.client("chief") as chief:
        every = {
            (run["id"], name): rows_of(chief, run["id"], name)
            for run in made["runs"]
            for name in run["tables"]
        }
    for run in made["runs"]:
        assert {name: len(every[run["id"], name]) for name in run["tables"]} == run["tables"]
    for nation in made["nations"]:
        for role in ROLES:
            with server.client(f"{role}-{nation}") as client:
                for run in made["runs"]:
                    for name in run["tables"]:
                        scope = spec(f"{run['engine']}.{name}").scope
                        shown = Counter(json.dumps(r) for r in rows_of(client, run["id"], name))
                        rows = every[run["id"], name]
                        if role == "coordinator" or not scope:
                            expected = Counter(json.dumps(r) for r in rows)
                        else:
                            seen = [r for r in rows if may_see(r, scope, nation, ref)]
                            expected = Counter(json.dumps(r) for r in seen)
                            released_rows += sum(not own_row(r, scope, nation, ref) for r in seen)
                        checked += sum(shown.values())
                        leaks += sum((shown - expected).values())
                        withheld += sum((expected - shown).values())
    assert checked > 100_000 and released_rows > 100  # the matrix is neither empty nor trivial
    assert leaks == 0 and withheld == 0


def test_aggregates_are_the_same_for_everyone_and_sum_every_row(
    workspace: tuple[Server, dict, Path],
) -> None:
    server, made, _ = workspace
    plan = next(r for r in made["runs"] if r["engine"] == "plan")
    with server.client("chief") as chief:
        full = pd.DataFrame(rows_of(chief, plan["id"], "shortfall"))
    by = ["family", "unit", "period", "date"]
    expected = full.groupby(by)[["demand", "shortfall"]].sum().reset_index()
    answers = []
    for user in ("planner-POL", "viewer-USA", "chief"):
        with server.client(user) as client:
            answer = client.get(f"/runs/{plan['id']}/tables/shortfall/aggregate")
            assert answer.status_code == 200
            answers.append(answer.json()["rows"])
    assert answers[0] == answers[1] == answers[2]
    got = pd.DataFrame(answers[0])
    assert len(got) == len(expected) > 10
    pd.testing.assert_series_equal(got["shortfall"], expected["shortfall"], rtol=1e-12)
    assert got["rows"].sum() == len(full)
    with server.client("viewer-POL") as client:
        none = client.get(f"/runs/{plan['id']}/tables/shipments/aggregate")
    assert none.status_code == 404 and "declares no aggregate" in none.text
    # Pledges by item: a sum of one donor's pledges would be that donor's figure, and goes to
    # coordinators only.
    info = made["runs"][-1]["id"]
    with server.client("chief") as chief:
        pledges = pd.DataFrame(rows_of(chief, info, "pledges"))
        everyone = chief.get(f"/runs/{info}/tables/pledges/aggregate").json()["rows"]
    with server.client("viewer-CAN") as client:
        canada = client.get(f"/runs/{info}/tables/pledges/aggregate").json()["rows"]
    donors = pledges.groupby("item")["donor"].nunique()
    assert {r["item"] for r in everyone} == set(donors.index)
    assert {r["item"] for r in canada} == set(donors[donors >= 2].index) != set(donors.index)
    assert all(r["nations"] >= 2 for r in canada)


def snapshot(server: Server) -> dict[str, Any]:
    """Everything a change could touch, as the coordinator sees it."""
    with server.client("chief") as chief:
        return {
            path: chief.get(path).json() for path in ("/scenarios", "/users", "/runs", "/audit")
        }


def test_every_change_a_role_may_not_make_gets_403_and_changes_nothing(
    workspace: tuple[Server, dict, Path], tmp_path: Path
) -> None:
    server, made, _ = workspace
    chiefs_run = made["runs"][0]["id"]
    with server.client("chief") as chief:
        victim = chief.post("/users", json={"name": "victim", "nation": "FRA", "role": "viewer"})
    prefix = victim.json()["prefix"]
    tiny = ("tiny.yaml", TINY.read_bytes())
    attempts = {  # what, and the roles that may
        "upload a scenario": (
            lambda c: c.post("/scenarios", files={"file": tiny}),
            ("coordinator",),
        ),
        "add a user": (
            lambda c: c.post("/users", json={"name": "new", "nation": "POL", "role": "planner"}),
            ("coordinator",),
        ),
        "issue a token for another": (lambda c: c.post("/users/victim/tokens"), ("coordinator",)),
        "revoke another's token": (lambda c: c.delete(f"/tokens/{prefix}"), ("coordinator",)),
        "read every nation's file": (
            lambda c: c.get(f"/scenarios/{made['scenario']}/file"),
            ("coordinator",),
        ),
        "start a run": (
            lambda c: c.post("/runs", json={"engine": "plan", "scenario": made["scenario"]}),
            ("coordinator", "planner"),
        ),
        "cancel another's run": (lambda c: c.post(f"/runs/{chiefs_run}/cancel"), ("coordinator",)),
        "move the USA's pledge on": (
            lambda c: c.post(
                f"/scenarios/{made['scenario']}/pledges/pl-us-155-pda/events",
                json={"date": "2023-02-20", "status": "shipped", "quantity": "100 rounds"},
            ),
            ("coordinator", "planner of USA"),
        ),
    }
    before = snapshot(server)
    refused = 0
    for nation in made["nations"]:
        for role in ("planner", "viewer"):
            with server.client(f"{role}-{nation}") as client:
                for what, (attempt, allowed) in attempts.items():
                    if role in allowed or f"{role} of {nation}" in allowed:
                        continue
                    answer = attempt(client)
                    assert answer.status_code == 403, (what, role, nation, answer.text)
                    refused += 1
    assert refused == len(made["nations"]) * (7 + 8) - 1  # the USA's planner may
    assert snapshot(server) == before  # nothing changed, not even the audit log


def test_people_and_the_audit_log_are_scoped_too(workspace: tuple[Server, dict, Path]) -> None:
    server, made, _ = workspace
    with server.client("planner-POL") as planner:  # a change of Poland's, in Poland's view
        planner.post("/users/planner-POL/tokens").raise_for_status()
    with server.client("chief") as chief:
        everyone = chief.get("/users").json()
        log = chief.get("/audit").json()
    # A coordinator's changes reach every nation's data: in no one else's view of the log.
    theirs = {u["name"]: u["nation"] for u in everyone if u["role"] != "coordinator"}
    for nation in made["nations"]:
        with server.client(f"viewer-{nation}") as client:
            users = client.get("/users").json()
            audit = client.get("/audit").json()
            me = client.get("/me").json()
        assert me == {"name": f"viewer-{nation}", "nation": nation, "role": "viewer"}
        assert {u["nation"] for u in users} == {nation}
        assert all(theirs[entry["user"]] == nation for entry in audit)
        assert audit == [e for e in log if theirs.get(e["user"]) == nation]
        assert (nation == "POL") == any(e["action"] == "issue token" for e in audit)
    assert len({u["nation"] for u in everyone}) == len(made["nations"])
    assert [e["action"] for e in log].count("add user") >= 27

"""The pledge lifecycle through the API, over real HTTP: the tiny scenario's pledge p1 (USA,
3,000 rounds committed, arriving at a Polish hub) moved on by its donor's planner, 300 shipped
then delivered; every step a new scenario version, appended to the pledge events and the
audit log; a step by anyone else refused with 403 and one that does not fit with 422, and
neither changes anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from tests.api_server import Server, serving, uploaded, wait_for
from tests.conftest import TINY

USERS = {
    "chief": ("UKR", "coordinator"),
    "usa-planner": ("USA", "planner"),
    "usa-viewer": ("USA", "viewer"),
    "pol-planner": ("POL", "planner"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("pledges"), USERS) as running:
        yield running


def state(server: Server, user: str, scenario: int) -> dict[str, float]:
    with server.client(user) as client:
        info = client.get(f"/scenarios/{scenario}").json()["info_run"]
        rows = client.get(f"/runs/{info}/tables/pledges").json()["rows"]
    (p1,) = [r for r in rows if r["pledge"] == "p1"]
    return {k: p1[k] for k in ("committed", "shipped", "delivered", "cancelled")}


def snapshot(server: Server) -> tuple[object, ...]:
    with server.client("chief") as chief:
        return tuple(chief.get(p).json() for p in ("/scenarios", "/pledge-events", "/audit"))


def test_a_donor_moves_its_pledge_on_one_event_at_a_time(server: Server) -> None:
    first = uploaded(server, TINY, "chief")
    url = f"/scenarios/{first}/pledges/p1/events"
    shipped = {
        "date": "2023-01-05",
        "status": "shipped",
        "quantity": "300 rounds",
        "arrives": "2023-01-09",
    }
    with server.client("usa-planner") as usa:
        answer = usa.post(url, json=shipped)
        assert answer.status_code == 201, answer.text
        step = answer.json()
        assert step["before"]["committed"] == 3000 and step["after"]["committed"] == 2700
        assert step["after"]["shipped"] == 300 and step["donor"] == "USA"
        second = step["scenario"]["id"]
        assert second != first and step["scenario"]["uploaded_by"] == "usa-planner"
        delivered = usa.post(
            f"/scenarios/{second}/pledges/p1/events",
            json={"date": "2023-01-09", "status": "delivered"},
        )
        assert delivered.status_code == 201, delivered.text
        third = delivered.json()["scenario"]["id"]
        own_events = usa.get("/pledge-events").json()
    assert state(server, "usa-planner", first) == {
        "committed": 3000,
        "shipped": 0,
        "delivered": 0,
        "cancelled": 0,
    }  # every version kept as it was
    assert state(server, "usa-planner", third) == {
        "committed": 2700,
        "shipped": 0,
        "delivered": 300,
        "cancelled": 0,
    }
    assert [(e["scenario_from"], e["scenario_to"]) for e in own_events] == [
        (first, second),
        (second, third),
    ]
    with server.client("chief") as chief:
        audit = chief.get("/audit").json()
        ledger_run = chief.get(f"/scenarios/{third}").json()["info_run"]
        by_donor = chief.get(f"/runs/{ledger_run}/tables/pledges_by_donor").json()["rows"]
    steps = [e for e in audit if e["action"].startswith("pledge ")]
    assert [e["action"] for e in steps] == ["pledge shipped", "pledge delivered"]
    assert steps[0]["user"] == "usa-planner" and steps[0]["after"]["shipped"] == 300
    assert [(r["date"], r["committed"], r["shipped"], r["delivered"]) for r in by_donor] == [
        ("2023-01-02", 3000, 0, 0),
        ("2023-01-05", 2700, 300, 0),
        ("2023-01-09", 2700, 0, 300),
    ]
    with server.client("pol-planner") as pol:
        assert pol.get("/pledge-events").json() == []  # another donor's events
    # Beside the events, what formations used of the USA's goods by each date (the plan's
    # provenance), ending where the plan's own per-nation ledger ends.
    with server.client("usa-planner") as usa:
        plan = usa.post("/runs", json={"engine": "plan", "scenario": third}).json()
        assert wait_for(usa, plan["id"], until=("finished", "failed"))["status"] == "finished"
        rows = usa.get(f"/scenarios/{third}/donors", params={"run": plan["id"]}).json()["rows"]
        nations = usa.get(f"/runs/{plan['id']}/tables/nations").json()["rows"]
    shells = [r for r in rows if r["item"] == "shell-155"]
    assert {r["donor"] for r in rows} == {"USA"}
    used = [r["used_by_formations"] for r in shells]
    assert used == sorted(used) and used[-1] > 0
    (ledger,) = [r for r in nations if r["nation"] == "USA" and r["item"] == "shell-155"]
    assert used[-1] == pytest.approx(ledger["delivered"], rel=1e-9)
    assert next(r["delivered"] for r in shells if r["date"] >= "2023-01-09") == 300
    with server.client("pol-planner") as pol:
        theirs = pol.get(f"/scenarios/{third}/donors", params={"run": plan["id"]}).json()["rows"]
    assert all(r["donor"] == "POL" for r in theirs)  # none of the USA's


def test_anyone_but_the_donor_is_refused_and_nothing_changes(server: Server) -> None:
    scenario = uploaded(server, TINY, "chief")
    url = f"/scenarios/{scenario}/pledges/p1/events"
    event = {"date": "2023-01-05", "status": "cancelled", "quantity": "100 rounds"}
    before = snapshot(server)
    for user in ("pol-planner", "usa-viewer"):
        with server.client(user) as client:
            answer = client.post(url, json=event)
            assert answer.status_code == 403, (user, answer.text)
    with server.client("usa-planner") as usa:
        too_much = usa.post(url, json={**event, "status": "shipped", "quantity": "5000 rounds"})
        wrong_unit = usa.post(url, json={**event, "quantity": "5 m3"})
        no_pledge = usa.post(f"/scenarios/{scenario}/pledges/p9/events", json=event)
        no_scenario = usa.post("/scenarios/999999/pledges/p1/events", json=event)
        backwards = usa.post(url, json={**event, "status": "offered"})
    assert too_much.status_code == 422
    assert too_much.json()["problems"] == [
        {
            "where": "event",
            "field": "quantity",
            "message": 'shipped 5,000 of pledge "p1" on 2023-01-05, but 3,000 of it is '
            "committed or pledged then",
        }
    ]
    assert wrong_unit.status_code == 422 and "not in a unit" in wrong_unit.text
    assert no_pledge.status_code == 403  # whether it is there is not the caller's to know
    with server.client("chief") as chief:
        unknown = chief.post(f"/scenarios/{scenario}/pledges/p9/events", json=event)
    assert unknown.status_code == 404 and "p9" in unknown.text
    assert no_scenario.status_code == 404
    assert backwards.status_code == 422  # not a step the schema has
    assert snapshot(server) == before


def test_a_version_moves_on_once_and_its_events_cannot_be_edited(
    server: Server, tmp_path: Path
) -> None:
    other = tmp_path / "tiny-2.yaml"  # a scenario of its own (another name, another digest)
    other.write_text(TINY.read_text().replace("name: tiny", "name: tiny-2", 1))
    scenario = uploaded(server, other, "chief")
    event = {"date": "2023-01-04", "status": "cancelled", "quantity": "1 rounds"}
    with server.client("chief") as chief:
        first = chief.post(f"/scenarios/{scenario}/pledges/p1/events", json=event)
        again = chief.post(f"/scenarios/{scenario}/pledges/p1/events", json=event)
    assert first.status_code == 201, first.text
    assert again.status_code == 409 and "moved on" in again.text  # post to the next version
    engine = sqlalchemy.create_engine(server.database)
    for statement in ("UPDATE pledge_events SET pledge = 'x'", "DELETE FROM pledge_events"):
        with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"), engine.begin() as db:
            db.execute(sqlalchemy.text(statement))
    engine.dispose()

"""Nation-scoped access to the store's tables: over every table of an info, plan and
simulation run of the example theatre, every one of its nations and every role, no row leaves
the store to someone of another nation (zero leaks, counted over the whole matrix) and none of
a nation's own rows is withheld from it. Whose each row is, is worked out here again from the
scenario's own CSV files, not from the store's owners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sustain
from sustain import service
from sustain.results import Run
from sustain.store import ROLES, Person, Store, StoreError
from tests.conftest import EXAMPLES

THEATRE = EXAMPLES[0]


def reference_owners(folder: Path = THEATRE) -> dict[str, dict[str, str]]:
    """Whose each site, formation, line and lane is, read off the CSV files as written (a
    line names its nation, or is its site's owner's)."""
    sites = pd.read_csv(folder / "sites.csv")
    site_nation = dict(zip(sites["id"], sites["nation"], strict=True))
    formations = pd.read_csv(folder / "formations.csv")
    lines = pd.read_csv(folder / "production_lines.csv")
    lanes = pd.read_csv(folder / "lanes.csv")
    return {
        "site": site_nation,
        "formation": dict(zip(formations["id"], formations["nation"], strict=True)),
        "line": {
            line: nation if isinstance(nation, str) and nation else site_nation[site]
            for line, site, nation in zip(lines["id"], lines["site"], lines["nation"], strict=True)
        },
        "lane": {lane: site_nation[o] for lane, o in zip(lanes["id"], lanes["from"], strict=True)},
    }


def row_nations(row: dict[str, Any], scope: tuple[tuple[str, str], ...], owners: dict) -> set[str]:
    found = set()
    for column, kind in scope:
        value = row[column]
        found.add(value if kind == "nation" else owners[kind].get(value))
    return found - {None}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[Run]]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('scope') / 'sustain.db'}")
    scenario = sustain.load(THEATRE)
    runs = [
        service.info_run(scenario),
        service.plan_run(scenario),
        service.simulate_run(scenario, replications=16, seed=2),
    ]
    for run in runs:
        with store.recording(run.id, run.engine, run.scenario["digest"]) as finished:
            finished(run)
    return store, runs


def test_no_row_of_another_nation_leaves_the_store(workspace: tuple[Store, list[Run]]) -> None:
    store, runs = workspace
    owners = reference_owners()
    nations = sorted(pd.read_csv(THEATRE / "nations.csv")["id"])
    leaks = withheld = checked = scoped_tables = 0
    for run in runs:
        for name, table in run.tables.items():
            scope = run.spec(name).scope
            scoped_tables += bool(scope)
            for nation in nations:
                for role in ROLES:
                    shown = store.table(run.id, name, Person(f"{role}-{nation}", nation, role))
                    rows = table.to_dict("records")
                    if role == "coordinator" or not scope:
                        assert len(shown) == len(table)
                        continue
                    theirs = [nation in row_nations(r, scope, owners) for r in rows]
                    for row in shown.to_dict("records"):
                        checked += 1
                        leaks += nation not in row_nations(row, scope, owners)
                    withheld += sum(theirs) - len(shown)
    assert scoped_tables >= 15 and checked > 10_000  # the matrix is not empty
    assert leaks == 0 and withheld == 0


def test_a_planner_sees_their_own_and_the_shared_tables(workspace: tuple[Store, list[Run]]) -> None:
    store, runs = workspace
    plan = runs[1]
    polish = Person("ana", "POL", "planner")
    shipments = store.table(plan.id, "shipments", polish)
    owners = reference_owners()["site"]
    assert len(shipments) and all(
        "POL" in (owners[a], owners[b])
        for a, b in zip(shipments["from"], shipments["to"], strict=True)
    )
    assert len(store.table(plan.id, "bottlenecks", polish)) == len(plan["bottlenecks"])  # shared
    page = store.table(plan.id, "shipments", polish, offset=2, limit=3)
    pd.testing.assert_frame_equal(page, shipments.iloc[2:5].reset_index(drop=True))


def test_without_the_scenarios_owners_nothing_scoped_is_shown(tmp_path: Path) -> None:
    """A run stored without its scenario's info run: whose rows are whose is unknown, so a
    planner is refused (a coordinator still reads it)."""
    store = Store.open(f"sqlite:///{tmp_path / 'sustain.db'}")
    run = service.plan_run(sustain.load(THEATRE.parent.parent / "tests" / "fixtures" / "tiny.yaml"))
    with store.recording(run.id, run.engine, run.scenario["digest"]) as finished:
        finished(run)
    with pytest.raises(StoreError, match="no info run of the scenario"):
        store.table(run.id, "shipments", Person("ana", "POL", "planner"))
    assert len(store.table(run.id, "shipments", Person("c", "USA", "coordinator"))) == len(
        run["shipments"]
    )

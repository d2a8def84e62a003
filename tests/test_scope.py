"""Nation-scoped access to the store's tables: over every table of an info, plan and
simulation run of the example theatre, every one of its nations and every role, no row leaves
the store to someone of another nation unless released to it (zero leaks, counted over the
whole matrix) and none of the rows a nation may see is withheld from it. Whose each row is and
who it is released to is worked out again from the scenario's own CSV files
(tests/scope_reference.py), not from the store's owners."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sustain
from sustain import service
from sustain.results import Run
from sustain.store import ROLES, Person, Store, StoreError
from tests.conftest import EXAMPLES
from tests.scope_reference import may_see, own_row, reference, reference_owners

THEATRE = EXAMPLES[0]


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
    ref = reference(THEATRE)
    nations = sorted(pd.read_csv(THEATRE / "nations.csv")["id"])
    leaks = withheld = checked = scoped_tables = released = 0
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
                    theirs = [may_see(r, scope, nation, ref) for r in rows]
                    released += sum(theirs) - sum(own_row(r, scope, nation, ref) for r in rows)
                    for row in shown.to_dict("records"):
                        checked += 1
                        leaks += not may_see(row, scope, nation, ref)
                    withheld += sum(theirs) - len(shown)
    # The matrix is not empty, and the example's releases (sites, brigades) are in it.
    assert scoped_tables >= 15 and checked > 10_000 and released > 1_000
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

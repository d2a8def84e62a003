"""The pledge lifecycle against answers worked out by hand on the tiny scenario, whose only
155 mm is then the pledge p1 (USA, 3,000 rounds at the hub from 10 January, committed: its
production line is taken out). Weekly periods from 2 January, placed "late": stock at the
hub on day d is used from the first week starting on or after d, and 2 days of rail later at
the front from the week after that; bde-1 uses 100 rounds a day, 400 from 16 January (week 2).
So p1 (day 8) reaches the front for week 3 only: 2,800 of its 3,000 delivered. What each
status means to the planner and the simulator, partial steps, the ledger, and located
problems for events that do not fit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import sustain
from sustain import service
from sustain.options import PlanOptions, SimulationOptions
from tests.conftest import TINY, problems_of


def tiny_with(
    tmp_path: Path, status: str = "committed", events: list[dict[str, Any]] | None = None
) -> Path:
    document = yaml.safe_load(TINY.read_text())
    document["pledges"][0]["status"] = status
    for table in ("production_lines", "capacity_changes", "orders"):
        document[table] = []  # p1 the only 155 mm
    if events:
        document["pledge_events"] = events
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def delivered_155(run: sustain.results.Run) -> float:
    table = run["shortfall_by_formation"]
    return float(table.loc[table["family"] == "155mm-NATO", "delivered"].sum())


def test_a_committed_pledge_is_delivered_and_an_offered_one_only_in_an_upside_run(
    tmp_path: Path,
) -> None:
    committed = sustain.load(tiny_with(tmp_path, "committed"))
    assert delivered_155(service.plan_run(committed)) == pytest.approx(2800)
    offered = sustain.load(tiny_with(tmp_path, "offered"))
    assert delivered_155(service.plan_run(offered)) == pytest.approx(0, abs=1e-6)
    upside = service.plan_run(offered, PlanOptions(upside=True))
    assert delivered_155(upside) == pytest.approx(2800)
    assert upside.options["upside"] is True
    with pytest.raises(ValueError, match="compiled without them"):
        sustain.plan.plan(sustain.compile_network(offered), PlanOptions(upside=True))


EVENTS = [  # 1,000 shipped on 5 Jan landing on the 6th and delivered; 500 cancelled
    {
        "pledge": "p1",
        "date": "2023-01-05",
        "status": "shipped",
        "quantity": "1000 rounds",
        "arrives": "2023-01-06",
    },
    {"pledge": "p1", "date": "2023-01-06", "status": "delivered"},
    {"pledge": "p1", "date": "2023-01-08", "status": "cancelled", "quantity": "500 rounds"},
]


def test_partial_steps_become_lots_the_engines_count(tmp_path: Path) -> None:
    scenario = sustain.load(tiny_with(tmp_path, "committed", EVENTS))
    network = sustain.compile_network(scenario)
    lots = {
        name: (float(q), int(day))
        for name, q, day in zip(
            network.pledges.names, network.pledge_quantity, network.pledge_day, strict=True
        )
    }
    # Delivered on day 4 (6 Jan from 2 Jan) at the hub; 1,500 still committed for the 10th.
    assert lots == {"p1/committed": (1500.0, 8), "p1/delivered": (1000.0, 4)}
    # The 1,000 delivered (hub week 1, front week 2) and the 1,500 committed (front week 3)
    # all meet demand (2,800 a week then).
    plan = service.plan_run(scenario)
    assert delivered_155(plan) == pytest.approx(2500)
    simulated = service.simulate_run(
        scenario, replications=4, seed=1, uncertainty=sustain.options.PRESETS["expected-value"]
    )
    usa = simulated["nations"].query("nation == 'USA' and item == 'shell-155'")
    assert float(usa["pledged"].sum()) == pytest.approx(2500)


def test_the_ledger_and_the_donor_totals_follow_the_events(tmp_path: Path) -> None:
    scenario = sustain.load(tiny_with(tmp_path, "committed", EVENTS))
    info = service.info_run(scenario)
    ledger = info["pledge_ledger"]
    states = {
        row.date.date(): (row.committed, row.shipped, row.delivered, row.cancelled)
        for row in ledger.itertuples()
    }
    assert states == {
        dt.date(2023, 1, 2): (3000, 0, 0, 0),  # as written, at the start
        dt.date(2023, 1, 5): (2000, 1000, 0, 0),
        dt.date(2023, 1, 6): (2000, 0, 1000, 0),
        dt.date(2023, 1, 8): (1500, 0, 1000, 500),
    }
    pledge = info["pledges"].iloc[0]
    assert (pledge.committed, pledge.delivered, pledge.cancelled, pledge.events) == (
        1500,
        1000,
        500,
        3,
    )
    by_donor = info["pledges_by_donor"]
    assert list(by_donor["donor"].unique()) == ["USA"]
    assert np.allclose(by_donor["committed"], [3000, 2000, 2000, 1500])


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (
            [
                {
                    "pledge": "p1",
                    "date": "2023-01-05",
                    "status": "shipped",
                    "quantity": "4000 rounds",
                }
            ],
            'quantity: shipped 4,000 of pledge "p1" on 2023-01-05, but 3,000 of it is '
            "committed or pledged then",
        ),
        (
            [{"pledge": "p1", "date": "2023-01-05", "status": "delivered"}],
            'quantity: delivered all of pledge "p1" on 2023-01-05, but 0 of it is shipped then',
        ),
        (
            [{"pledge": "p1", "date": "2023-01-05", "status": "offered"}],
            "status: a pledge's events move it on (committed, shipped, delivered or "
            'cancelled), not back to "offered"',
        ),
        (
            [{"pledge": "p1", "date": "2023-01-05", "status": "shipped", "quantity": "5 m3"}],
            'quantity: "5 m3" is not in a unit of item "shell-155", counted in "round"',
        ),
        (
            [{"pledge": "p1", "date": "2023-01-05", "status": "shipped", "arrives": "2023-01-03"}],
            "arrives: arrives 2023-01-03 before it was shipped, on 2023-01-05",
        ),
        (
            [{"pledge": "p9", "date": "2023-01-05", "status": "shipped"}],
            'pledge: unknown pledge "p9"',
        ),
    ],
)
def test_an_event_that_does_not_fit_is_a_located_problem(
    tmp_path: Path, events: list[dict[str, Any]], expected: str
) -> None:
    problems = problems_of(tiny_with(tmp_path, "committed", events))
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("tiny.yaml:") for p in problems), problems


def test_a_simulation_counts_offered_pledges_only_when_asked(tmp_path: Path) -> None:
    offered = sustain.load(tiny_with(tmp_path, "offered"))
    calm = sustain.options.PRESETS["expected-value"]
    runs = [
        service.simulate_run(
            offered, replications=2, uncertainty=calm, options=SimulationOptions(upside=upside)
        )
        for upside in (False, True)
    ]
    pledged = [float(r["nations"]["pledged"].sum()) for r in runs]
    assert pledged == [0.0, 3000.0]

"""Provenance in the simulator: each nation's goods (a stock's owner, a pledge's donor, a
line's nation) told apart day by day, mixed in proportion wherever they meet.

Checked against a hand-worked pool, against the planner's own tracing of a daily plan
replayed in the simulator (a second engine on the same flows), and by the ledger every nation
must balance in every replication under the theatre's noise."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sustain
from sustain.plan import plan
from sustain.results import read_run
from sustain.simulate import Simulation, SimulationOptions, Uncertainty, preset, simulate
from tests.conftest import EXAMPLES, FIXTURES, ROOT
from tests.scenarios import load_document, random_network

POOLED = FIXTURES / "pooled.yaml"
LEDGER_IN = ["held", "pledged", "produced"]
LEDGER_OUT = ["delivered", "used_in_repairs", "stock_at_end", "in_transit_at_end"]


def expected_value(path: Path, **options: Any) -> Simulation:
    network = sustain.compile_network(sustain.load(path))
    return simulate(
        network, 16, uncertainty=preset("expected-value"), options=SimulationOptions(**options)
    )


def test_a_pool_of_two_nations_delivers_in_their_proportions() -> None:
    """The depot holds 1,000 Polish rounds; 1,400 American ones arrive on day 7; the brigade
    fires 100 a day from the depot for 21 days. Days 0-6 use 700 Polish rounds, leaving 300;
    from day 7 the pool is 300 Polish + 1,400 American, and every round drawn from it is
    Polish with probability 300/1,700, so of the 1,400 used then 1400 x 300/1700 are Polish,
    and the 300 left at the end are mixed the same way."""
    run = expected_value(POOLED)
    ledger = run.nations().set_index("nation")
    polish = 300 / 1700
    assert ledger.loc["POL", "delivered"] == pytest.approx(700 + 1400 * polish)
    assert ledger.loc["USA", "delivered"] == pytest.approx(1400 * (1 - polish))
    assert ledger.loc["POL", "stock_at_end"] == pytest.approx(300 * polish)
    assert ledger.loc["USA", "stock_at_end"] == pytest.approx(300 * (1 - polish))
    assert ledger.loc["POL", "held"] == 1000 and ledger.loc["USA", "pledged"] == 1400
    used = run.deliveries_by_nation().set_index("nation")
    assert used["share"].sum() == pytest.approx(1.0)
    assert used.loc["POL", "share"] == pytest.approx((700 + 1400 * polish) / 2100)
    assert (used["p5"] == used["p95"]).all()  # no noise: every replication the same


def with_nations(seed: int, least_transit: int) -> dict[str, Any]:
    """A random layered network whose stocks belong to three nations, whose pledge is a
    fourth's and whose line a third's; every lane takes at least `least_transit` days."""
    document = random_network(seed)
    rng = random.Random(100 + seed)
    document["nations"] = [{"id": "A"}, {"id": "B"}, {"id": "C"}, {"id": "D"}]
    for stock in document["stocks"]:
        stock["nation"] = rng.choice(["A", "B", "C"])
    document["pledges"][0]["donor"] = "D"
    document["production_lines"][0]["nation"] = "C"
    for lane in document["lanes"]:
        days = int(lane["transit_time"].split()[0])
        lane["transit_time"] = f"{max(days, least_transit)} days"
    return document


@pytest.mark.parametrize("least_transit", [0, 1])
@pytest.mark.parametrize("seed", range(6))
def test_a_daily_plan_replayed_delivers_what_the_planner_traced(
    seed: int, least_transit: int
) -> None:
    """On daily periods the plan's pools are the simulator's days: the planner's tracing
    (proportional sharing over the LP's balance rows) and the simulator's day-by-day mixing
    of the same shipments must give each nation's deliveries alike, lanes of no transit
    (goods handed on the day they leave) included."""
    network = load_document(with_nations(seed, least_transit))
    made = plan(network)
    replay = simulate(
        network,
        1,
        uncertainty=Uncertainty(),
        options=SimulationOptions(policy="plan"),
        plan_tables=made.tables,
        executor="serial",
    )
    key = ["nation", "item"]
    planned = made.tables["nations"].set_index(key)
    replayed = replay.nations().set_index(key)
    # (Stock at the end is not compared: the plan's ledger holds only the stock at the sites
    # it can move goods between; the simulator's holds every site's.)
    for column in ("delivered", "used_in_repairs", "shipped"):
        both = pd.concat([planned[column], replayed[column]], axis=1, keys=["plan", "sim"])
        both = both.fillna(0.0)
        assert both["sim"].to_numpy() == pytest.approx(
            both["plan"].to_numpy(), rel=1e-6, abs=1e-6
        ), column
    assert replayed["delivered"].sum() > 0  # a case with deliveries to split


@pytest.fixture(scope="module")
def theatre() -> Simulation:
    network = sustain.compile_network(sustain.load(EXAMPLES[0]))
    return simulate(network, 48, seed=3)  # the theatre's noise: outages, surges, slips


def test_every_nations_goods_balance_in_every_replication(theatre: Simulation) -> None:
    merged = theatre._merged
    came = merged("origin_initial") + merged("origin_pledged") + merged("origin_produced")
    went = (
        merged("origin_consumed")
        + merged("origin_parts")
        + merged("origin_on_hand")
        + merged("origin_in_transit")
    )
    assert np.abs(came - went).max() <= 1e-9 * max(1.0, float(came.max()))
    # Split by nation, the figures add up to the simulator's own per item.
    assert merged("origin_consumed").sum(axis=1) + merged("origin_parts").sum(axis=1) == (
        pytest.approx(merged("consumed"), rel=1e-9, abs=1e-6)
    )
    for split, whole in [
        ("origin_on_hand", "on_hand"),
        ("origin_in_transit", "in_transit"),
        ("origin_produced", "produced"),
        ("origin_pledged", "pledged"),
        ("origin_initial", "initial"),
    ]:
        assert merged(split).sum(axis=1) == pytest.approx(merged(whole), rel=1e-9, abs=1e-6)
    ledger = theatre.nations()
    assert ledger[LEDGER_IN].sum(axis=1).to_numpy() == pytest.approx(
        ledger[LEDGER_OUT].sum(axis=1).to_numpy(), rel=1e-9
    )
    assert (ledger.select_dtypes("number") >= 0).all().all()
    # What formations used of each nation's goods, per formation, is what it used in all.
    used = theatre.deliveries_by_nation()
    assert used["share"].groupby([used["formation"], used["family"]]).sum().to_numpy() == (
        pytest.approx(1.0)
    )


def test_noise_spreads_what_each_nation_delivers(theatre: Simulation) -> None:
    ledger = theatre.nations()
    assert (ledger["p5_delivered"] <= ledger["delivered"] + 1e-9).all()
    assert (ledger["delivered"] <= ledger["p95_delivered"] + 1e-9).all()
    assert (ledger["p5_delivered"] < ledger["p95_delivered"]).any()


def test_telling_nations_apart_changes_no_other_figure() -> None:
    network = sustain.compile_network(sustain.load(EXAMPLES[0]))
    runs = [
        simulate(network, 32, seed=5, options=SimulationOptions(by_nation=by_nation))
        for by_nation in (True, False)
    ]
    tracked, untracked = (run.tables for run in runs)
    for name in ("shortfall", "daily", "stock", "fleet", "replications"):
        pd.testing.assert_frame_equal(tracked[name], untracked[name])
    assert untracked["nations"].empty and untracked["deliveries_by_nation"].empty
    assert not tracked["nations"].empty


def test_the_cli_writes_the_tables_and_can_leave_them_out(tmp_path: Path) -> None:
    def run(*extra: str) -> dict[str, Any]:
        out = tmp_path / f"run{len(extra)}"
        done = subprocess.run(
            [sys.executable, "-m", "sustain", "simulate", str(POOLED), "--replications", "16",
             "--uncertainty", "expected-value", "--out", str(out), "--json", *extra],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return {"stdout": json.loads(done.stdout), "run": read_run(out)}

    tracked = run()["run"]
    delivered = tracked["nations"].set_index("nation")["delivered"]
    assert delivered.to_dict() == pytest.approx(
        {"POL": 700 + 1400 * 300 / 1700, "USA": 1400 * 1400 / 1700}
    )
    untracked = run("--no-by-nation")["run"]
    assert untracked["nations"].empty
    assert untracked.options["by_nation"] is False

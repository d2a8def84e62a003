"""Provenance: the plan's flows split by the nation whose goods they are (a stock's owner, a
pledge's donor, a line's nation), by proportional sharing through every pool.

Known answers are worked by hand; on the bundled scenarios every nation's goods balance
(what it held, pledged and made equals what was delivered, used in repairs
and still in stock) and the split flows add up to the plan's own tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sustain
from sustain import service
from sustain.plan import Planner, provenance
from sustain.results import Run
from tests.conftest import EXAMPLES, FIXTURES, TINY

POOLED = FIXTURES / "pooled.yaml"


@pytest.fixture(scope="module")
def pooled() -> Run:
    return service.plan_run(sustain.load(POOLED))


def test_a_pool_of_two_nations_delivers_in_their_proportions(pooled: Run) -> None:
    """The depot holds 1,000 Polish rounds; 1,400 American ones arrive at the start of week 2;
    the brigade uses 700 a week from the depot. Week 1 is all Polish (700), leaving 300;
    weeks 2 and 3 draw on 300 + 1,400 mixed: 700 x 300/1,700 Polish each."""
    used = pooled["consumption_by_nation"].pivot_table(
        index="period", columns="nation", values="quantity", aggfunc="sum", fill_value=0.0
    )
    polish_share = 300 / 1700
    assert used.loc[0, "POL"] == pytest.approx(700.0)
    assert used.loc[0].get("USA", 0.0) == pytest.approx(0.0)
    for week in (1, 2):
        assert used.loc[week, "POL"] == pytest.approx(700 * polish_share)
        assert used.loc[week, "USA"] == pytest.approx(700 * (1 - polish_share))
    ledger = pooled["nations"].set_index("nation")
    # The 300 rounds left at the end are mixed as the pool was from week 2 on.
    assert ledger.loc["POL", "stock_at_end"] == pytest.approx(300 * polish_share)
    assert ledger.loc["USA", "stock_at_end"] == pytest.approx(300 * (1 - polish_share))
    assert ledger.loc["POL", "held"] == 1000.0 and ledger.loc["USA", "pledged"] == 1400.0


def test_goods_travel_with_their_nation_along_the_lanes(tmp_path: Path) -> None:
    """The same, with the brigade a lane away: what arrives is what left, nation by nation,
    however the planner times the shipments."""
    text = POOLED.read_text().replace(
        "{id: bde-1, nation: UKR, site: depot", "{id: bde-1, nation: UKR, site: front"
    )
    text = text.replace(
        "lanes:\n",
        "  - {id: front, kind: front, lat: 49.0, lon: 30.0, nation: UKR}\nlanes:\n"
        "  - {id: forward, from: depot, to: front, mode: road, capacity: 1000 t/day, "
        "transit_time: 0 days}\n",
    )
    path = tmp_path / "forward.yaml"
    path.write_text(text)
    made = service.plan_run(sustain.load(path))
    shipped = made["shipments_by_nation"]
    used = made["consumption_by_nation"]
    assert set(shipped["lane"]) == {"forward"}
    # Nothing is held at the front at the end beyond what was sent there and not used.
    ledger = made["nations"].set_index("nation")
    for nation in ("POL", "USA"):
        sent = shipped.loc[shipped["nation"] == nation, "quantity"].sum()
        delivered = used.loc[used["nation"] == nation, "quantity"].sum()
        assert delivered <= sent + 1e-6
        assert ledger.loc[nation, "delivered"] == pytest.approx(delivered)
    assert used["quantity"].sum() == pytest.approx(2100.0)


@pytest.fixture(scope="module", params=[TINY, *EXAMPLES], ids=["tiny", "race", "grid"])
def plan_of(request: pytest.FixtureRequest) -> Run:
    return service.plan_run(sustain.load(request.param))


def test_every_nations_goods_balance(plan_of: Run) -> None:
    ledger = plan_of["nations"]
    came = ledger[["held", "pledged", "produced"]].sum(axis=1)
    went = ledger[["delivered", "used_in_repairs", "stock_at_end"]].sum(axis=1)
    assert ((came - went).abs() <= 1e-6 * came.clip(lower=1.0)).all()
    assert (ledger.select_dtypes("number") >= -1e-9).all().all()


def test_split_flows_add_up_to_the_plans_tables(plan_of: Run) -> None:
    key = ["lane", "item", "period"]
    split = plan_of["shipments_by_nation"].groupby(key)["quantity"].sum()
    whole = plan_of["shipments"].set_index(key)["quantity"]
    pd.testing.assert_series_equal(
        split.reindex(whole.index, fill_value=0.0), whole, check_names=False, rtol=1e-6
    )
    key = ["formation", "item", "period"]
    split = plan_of["consumption_by_nation"].groupby(key)["quantity"].sum()
    whole = plan_of["consumption"].groupby(key)["quantity"].sum()
    pd.testing.assert_series_equal(
        split.reindex(whole.index, fill_value=0.0), whole, check_names=False, rtol=1e-6
    )
    delivered = plan_of["nations"].groupby("item")["delivered"].sum()
    assert delivered.sum() == pytest.approx(plan_of["consumption"]["quantity"].sum(), rel=1e-6)


def test_the_partners_own_stock_is_what_it_holds(plan_of: Run) -> None:
    """No nation's goods are created: what a nation delivers never exceeds what it held,
    pledged and made."""
    ledger = plan_of["nations"]
    bound = ledger[["held", "pledged", "produced"]].sum(axis=1)
    assert (ledger["delivered"] + ledger["used_in_repairs"] <= bound + 1e-6).all()


def test_goods_sent_round_a_loop_from_nowhere_are_no_nations() -> None:
    """Two sites with lanes both ways and no transit: an optimal plan may send 10 rounds round
    the loop in a period where neither holds anything (it costs nothing). Such a plan has no
    nation mix for the loop (the proportional system is singular there): tracing must skip it,
    not fail, and still balance every nation's goods."""
    network = sustain.compile_network(sustain.load(FIXTURES / "loop.yaml"))
    planner = Planner(network)
    solution = planner.resolve()
    model = planner.model
    x = solution.col_value.copy()
    ship = model.columns["ship"]
    last = network.n_periods - 1
    lanes = np.asarray(network.lanes.names, dtype=object)[model.ship_lane]
    loop = (model.ship_period == last) & np.isin(lanes, ["r2m", "m2r"])
    x[ship.start + np.flatnonzero(loop)] += 10.0
    balance = model.rows["balance"]
    rows = model.matrix.tocsr()[balance.start : balance.stop]
    assert np.allclose(rows @ x, model.row_lower[balance.start : balance.stop])  # still a plan
    traced = provenance.tables(model, x)
    ledger = traced["nations"]
    came = ledger[["held", "pledged", "produced"]].sum(axis=1)
    went = ledger[["delivered", "used_in_repairs", "stock_at_end"]].sum(axis=1)
    assert ((came - went).abs() <= 1e-6 * came.clip(lower=1.0)).all()

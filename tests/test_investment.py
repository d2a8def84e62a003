"""Capacity investments: the ramp profile, and an option worth it against one that is not."""

from __future__ import annotations

import numpy as np
import pytest

from sustain.industry import added_capacity, evaluate_investments, gap_closes, with_investments
from sustain.plan import PlanCheckError, Planner, PlanOptions, plan
from sustain.plan.check import check_plan
from tests.scenarios import base, formation, lane, load_document, mortar_family, site

EXACT = PlanOptions(lateness_weight=0.0, cost_weight=0.0)


def test_linear_ramp_profile() -> None:
    doc = base(days=28, period="week")
    site(doc, "plant", "factory")
    doc["production_lines"] = [
        {"id": "line", "site": "plant", "item": "shell", "capacity": "0 rounds/day"}
    ]
    doc["investments"] = [
        {
            "id": "more",
            "line": "line",
            "cost": "1 MEUR",
            "capacity": "70 rounds/day",
            "start": "2024-01-01",
            "ramp_time": "14 days",
        }
    ]
    network = load_document(doc)
    # Day d of the ramp makes 70 x d / 14: week one 5 x (0+...+6) = 105, week two 5 x (7+...+13).
    assert added_capacity(network, 0).tolist() == pytest.approx([105, 350, 490, 490])
    expanded = with_investments(network, [0])
    assert expanded.line_capacity[:, 0].tolist() == pytest.approx([105, 350, 490, 490])
    assert network.line_capacity[:, 0].tolist() == [0, 0, 0, 0]  # the original is untouched


def worth_it_case() -> dict:
    doc = base(days=10)
    mortar_family(doc)
    site(doc, "plant", "factory")
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    lane(doc, "rail", "plant", "front", "100 t/day")
    lane(doc, "road", "depot", "front", "100 t/day")
    doc["stocks"].append({"site": "depot", "item": "other", "quantity": "100000 rounds"})
    doc["production_lines"] = [
        {"id": "line", "site": "plant", "item": "shell", "capacity": "0 rounds/day"}
    ]
    doc["investments"] = [
        {
            "id": "shells",
            "line": "line",
            "cost": "1 MEUR",
            "capacity": "100 rounds/day",
            "start": "2024-01-01",
        },
        {
            "id": "mortar-bombs",
            "site": "plant",
            "item": "other",
            "cost": "2 MEUR",
            "capacity": "500 rounds/day",
            "start": "2024-01-01",
        },
    ]
    formation(doc, "bde", "front", guns=100)  # 100 shells a day, none in stock
    formation(doc, "mortars", "front", guns=10, system="mortar")  # plenty of bombs in stock
    return doc


def test_an_investment_worth_it_and_one_that_is_not() -> None:
    network = load_document(worth_it_case())
    table = evaluate_investments(network, EXACT).set_index("investment")
    shells = table.loc["shells"]
    assert shells["shortfall_avoided"] == pytest.approx(1000.0)  # 100 a day for 10 days
    assert shells["cost_per_unit_avoided"] == pytest.approx(1000.0)  # EUR a round
    assert shells["gap_closes"] == np.datetime64("2024-01-01")
    bombs = table.loc["mortar-bombs"]
    assert bombs["shortfall_avoided"] == pytest.approx(0.0, abs=1e-9)
    assert bombs["cost_per_unit_avoided"] == np.inf
    together = table.loc["all together"]
    assert together["cost_eur"] == pytest.approx(3e6)
    assert together["weighted_shortfall_avoided"] == pytest.approx(1000.0)
    # A new line joins the lines under the investment's name.
    assert "mortar-bombs" in with_investments(network, [1]).lines
    assert gap_closes(network, network.families["fam"]) is None


@pytest.mark.parametrize("mode", ["relax", "whole"])
def test_planner_chooses_investments_within_a_budget(mode: str) -> None:
    network = load_document(worth_it_case())
    free = plan(network, PlanOptions(lateness_weight=0.0, cost_weight=0.0, investments=mode))
    made = free.investments.set_index("investment")["made"]
    # The shell line removes all 1,000 rounds of shortfall; the mortar-bomb line removes none.
    assert made["shells"] == pytest.approx(1.0)
    assert made["mortar-bombs"] == pytest.approx(0.0, abs=1e-9)
    assert free.shortfall["shortfall"].sum() == pytest.approx(0.0, abs=1e-6)
    # Half the money: a relaxed plan makes half of it; a whole plan cannot make it at all.
    half = PlanOptions(lateness_weight=0.0, cost_weight=0.0, investments=mode, budget_eur=5e5)
    tight = plan(network, half)
    share = tight.investments.set_index("investment")["made"]["shells"]
    expected = 0.5 if mode == "relax" else 0.0
    assert share == pytest.approx(expected, abs=1e-9)
    assert tight.shortfall["shortfall"].sum() == pytest.approx(1000 * (1 - expected))


def test_checker_ties_production_to_the_investments_made() -> None:
    network = load_document(worth_it_case())
    half = PlanOptions(lateness_weight=0.0, cost_weight=0.0, investments="relax", budget_eur=5e5)
    planner = Planner(network, half)
    result = planner.solve()
    tables = {name: frame.copy() for name, frame in result.tables.items()}
    check_plan(planner.network, tables, (), planner.without_investments)
    # Claiming the option was not made leaves production over the line's own capacity.
    tables["investments"]["made"] = 0.0
    with pytest.raises(PlanCheckError, match="over its capacity"):
        check_plan(planner.network, tables, (), planner.without_investments)

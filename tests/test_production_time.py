"""Production takes time: the plan, the order books and the investments see output only a
production time after it was started, against figures worked out by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sustain.industry import evaluate_investments, race
from sustain.plan import PlanCheckError, Planner, PlanOptions, plan
from sustain.summary import supply_by_family
from tests.scenarios import base, formation, lane, load_document, site

EXACT = PlanOptions(lateness_weight=0.0, cost_weight=0.0)
YEAR = 365.25


def year_long_line(orders: list[dict[str, object]] | None = None) -> dict[str, object]:
    """A 52-week weekly scenario: a plant making 10 shells a day with lots taking 12 months,
    one lane to a front whose 100 guns fire 100 a day, nothing in stock."""
    doc = base(days=364, period="week")
    doc["nations"].append({"id": "B"})
    site(doc, "plant", "factory")
    site(doc, "front", "front")
    lane(doc, "rail", "plant", "front", "1000 t/day")
    doc["production_lines"] = [
        {
            "id": "line",
            "site": "plant",
            "item": "shell",
            "capacity": "10 rounds/day",
            "production_time": "12 months",
        }
    ]
    doc["orders"] = orders or []
    formation(doc, "bde", "front", guns=100)
    return doc


def test_a_12_month_line_gives_a_year_long_plan_only_the_lots_started_before_the_start() -> None:
    result = plan(load_document(year_long_line()), EXACT)
    # Finished on days 0..363: started on days -365.25 .. -1.25, all before the start.
    assert result.production["quantity"].sum() == pytest.approx(364 * 10)
    short = result.shortfall
    assert short["delivered"].sum() == pytest.approx(3640)
    assert short["shortfall"].sum() == pytest.approx(364 * 100 - 3640)


def test_lots_started_before_the_start_for_another_customer_are_theirs() -> None:
    # Nation B ordered 1,000 rounds 400 days before the start: its lots fill days -400 .. -300
    # at 10 a day, of which the 65.25 days from -365.25 on finish inside the horizon.
    order = {
        "id": "o1",
        "line": "line",
        "customer": "B",
        "quantity": "1000 rounds",
        "date": "2022-11-27",  # 400 days before 2024-01-01
        "priority": 0,
    }
    result = plan(load_document(year_long_line([order])), EXACT)
    assert result.production["quantity"].sum() == pytest.approx(3640 - 652.5)


def test_info_and_the_race_count_what_the_partner_can_get_with_gross_beside() -> None:
    order = {
        "id": "o1",
        "line": "line",
        "customer": "B",
        "quantity": "1000 rounds",
        "date": "2022-11-27",
        "priority": 0,
    }
    network = load_document(year_long_line([order]))
    supply = supply_by_family(network).set_index("family").loc["fam"]
    assert supply["production"] == pytest.approx(3640 - 652.5)
    assert supply["gross_production"] == pytest.approx(3640)
    assert supply["supply"] == pytest.approx(3640 - 652.5)
    summary = race(network)["race_summary"].set_index("family").loc["fam"]
    assert summary["production_per_day"] == pytest.approx((3640 - 652.5) / 364)
    assert summary["gross_production_per_day"] == pytest.approx(10)
    # B's lots finish in the first 65.25 days; the partner's output from then on.
    assert summary["production_per_day_at_end"] == pytest.approx(10)


def test_a_plan_that_ignores_production_time_fails_the_check() -> None:
    network = load_document(year_long_line())
    instant = np.full_like(network.line_capacity, 70.0 * 2)  # twice the real weekly output
    planner = Planner(dataclasses.replace(network, line_capacity=instant), EXACT)
    with pytest.raises(PlanCheckError, match="more than it can have started"):
        planner.solve()


def test_an_investment_is_worth_only_what_finishes_inside_the_horizon() -> None:
    doc = year_long_line()
    doc["investments"] = [
        {
            "id": "more",
            "line": "line",
            "cost": "1 MEUR",
            "capacity": "20 rounds/day",
            "start": "2024-01-01",
            "production_time": "100 days",
        },
        {
            "id": "slow",
            "line": "line",
            "cost": "1 MEUR",
            "capacity": "20 rounds/day",
            "start": "2024-01-01",  # the line's own 12 months: nothing inside the year
        },
    ]
    table = evaluate_investments(load_document(doc), EXACT).set_index("investment")
    # Started from day 0 at 20 a day, finished from day 100: days 100 .. 363.
    assert table.loc["more", "shortfall_avoided"] == pytest.approx(264 * 20)
    assert table.loc["slow", "shortfall_avoided"] == pytest.approx(0.0, abs=1e-6)

"""The planner against answers worked out by hand, and the checker against broken plans."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sustain
from sustain.plan import Closure, PlanCheckError, PlanError, Planner, PlanOptions, plan
from sustain.plan.check import check_plan
from tests.conftest import EXAMPLES, TINY
from tests.scenarios import (
    base,
    evacuation_case,
    formation,
    lane,
    load_document,
    mortar_family,
    repair_case,
    site,
)

# Plain weights: one weighted unit per unit short, nothing else, so optima are hand-computable.
EXACT = PlanOptions(lateness_weight=0.0, cost_weight=0.0, repair_weight=1.0)


def shortfall_by(result: sustain.plan.Plan, *keys: str) -> pd.Series:
    return result.shortfall.groupby(list(keys))["shortfall"].sum()


def test_single_lane_bottleneck() -> None:
    doc = base(days=10)
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    lane(doc, "rail", "depot", "front", "10 t/day")  # 200 rounds of 50 kg a day
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "10000 rounds"})
    formation(doc, "bde", "front", guns=300)  # 300 rounds a day
    result = plan(load_document(doc), EXACT)
    assert result.objective == pytest.approx(10 * 100)
    assert result.shortfall["shortfall"].sum() == pytest.approx(1000.0)
    top = result.bottlenecks.iloc[0]
    assert (top["kind"], top["name"], top["unit"]) == ("lane", "rail lane rail", "t/day")
    # +1 t/day is 20 more rounds on each of 10 days.
    assert top["value_per_unit"] == pytest.approx(200.0)
    assert top["binding_periods"] == 10
    assert (top["family"], top["family_unit"], top["equivalent"]) == ("fam", "round", 200.0)
    assert (
        "rail lane rail (+1 t/day removes at least 200 rounds of fam shortfall)"
        in result.explanation()
    )


def test_transit_lag() -> None:
    doc = base(days=10)
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    lane(doc, "road", "depot", "front", "100 t/day", transit="3 days")
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "5000 rounds"})
    formation(doc, "bde", "front", guns=100)
    result = plan(load_document(doc), EXACT)
    assert result.shortfall["shortfall"].to_numpy() == pytest.approx([100] * 3 + [0] * 7)
    ships = result.shipments
    assert (ships["arrival_period"] - ships["period"] == 3).all()
    assert ships["period"].max() == 6  # nothing leaves that would arrive after the horizon


def test_substitution_between_compatible_items_only() -> None:
    doc = base(days=10)
    doc["items"].append(
        {
            "id": "shell-b",
            "supply_class": "ammunition",
            "family": "fam",
            "unit": "round",
            "mass": "50 kg",
        }
    )
    mortar_family(doc)
    for name in ("d1", "d2"):
        site(doc, name, "depot")
    site(doc, "front", "front")
    site(doc, "front2", "front")
    lane(doc, "l1", "d1", "front", "100 t/day")
    lane(doc, "l2", "d2", "front", "100 t/day")
    lane(doc, "l3", "d1", "front2", "100 t/day")
    doc["stocks"] += [
        {"site": "d1", "item": "shell", "quantity": "500 rounds"},
        {"site": "d2", "item": "shell-b", "quantity": "500 rounds"},
        {"site": "d1", "item": "other", "quantity": "100000 rounds"},
    ]
    formation(doc, "bde", "front", guns=100)
    formation(doc, "bde2", "front2", guns=1, system="mortar")
    result = plan(load_document(doc), EXACT)
    assert result.objective == pytest.approx(0.0, abs=1e-9)
    used = result.consumption[result.consumption["formation"] == "bde"]
    assert used.groupby("item")["quantity"].sum().to_dict() == pytest.approx(
        {"shell": 500.0, "shell-b": 500.0}
    )
    assert "other" not in set(used["item"])  # plenty of it, but the guns cannot fire it


def test_binding_stock_floor() -> None:
    doc = base(days=5)
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    lane(doc, "rail", "depot", "front", "100 t/day")
    doc["stocks"].append(
        {"site": "depot", "item": "shell", "quantity": "1000 rounds", "floor": "800 rounds"}
    )
    formation(doc, "bde", "front", guns=100)  # 500 over the horizon, 200 above the floor
    result = plan(load_document(doc), EXACT)
    assert result.objective == pytest.approx(300.0)
    depot = result.inventory[result.inventory["site"] == "depot"]
    assert depot["quantity"].min() == pytest.approx(800.0)
    top = result.bottlenecks.iloc[0]
    assert top["name"] == "stock floor depot/shell"
    assert top["value_per_unit"] == pytest.approx(1.0)


def test_priorities_share_one_lane() -> None:
    doc = base(days=4)
    site(doc, "depot", "depot")
    site(doc, "hub", "hub")
    site(doc, "front-a", "front")
    site(doc, "front-b", "front")
    lane(doc, "bottleneck", "depot", "hub", "10 t/day")  # 200 rounds a day
    lane(doc, "to-a", "hub", "front-a", "100 t/day")
    lane(doc, "to-b", "hub", "front-b", "100 t/day")
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "100000 rounds"})
    formation(doc, "high", "front-a", guns=150, priority=2)
    formation(doc, "low", "front-b", guns=150, priority=1)
    result = plan(load_document(doc), EXACT)
    short = shortfall_by(result, "formation")
    assert short["high"] == pytest.approx(0.0, abs=1e-9)
    assert short["low"] == pytest.approx(4 * 100)
    assert result.objective == pytest.approx(400.0)


def fleet_by_hand(
    days: int, capacity: float, kits: float, size: float = 100, rate: float = 0.01, repair: int = 5
) -> dict[str, np.ndarray]:
    """The repair loop of `repair_case` with the brigade at its workshop, day by day: each day
    the share `rate` of the guns in service fails; the workshop repairs what waits, up to its
    capacity and the kits left; a repair is back in service `repair` days later."""
    available, waiting, left = size, 0.0, kits
    started: list[float] = []
    out: dict[str, list[float]] = {k: [] for k in ("failed", "waiting", "returned", "available")}
    for day in range(days):
        failed = rate * available
        waiting += failed
        repaired = min(capacity, waiting, left)
        waiting, left = waiting - repaired, left - repaired
        started.append(repaired)
        returned = started[day - repair] if day >= repair else 0.0
        available += returned - failed
        for key, value in zip(out, (failed, waiting, returned, available), strict=True):
            out[key].append(value)
    return {key: np.array(values) for key, values in out.items()}


def test_repair_loop_and_spare_parts_at_a_field_workshop() -> None:
    doc = repair_case()
    site(doc, "workshop", "repair_hub", repair_capacity="0.5 systems/day")
    lane(doc, "rail", "depot", "workshop", "100 t/day")
    formation(doc, "bde", "workshop", guns=100)  # the brigade has its workshop with it
    doc["stocks"][-1]["quantity"] = "3 kits"
    result = plan(load_document(doc), EXACT)
    # Half a repair a day is possible, but only 3 kits exist: 3 repairs in all.
    assert result.repairs["repaired"].sum() == pytest.approx(3.0)
    fleet = result.fleet.sort_values("period")
    by_hand = fleet_by_hand(10, capacity=0.5, kits=3)
    for column in ("failed", "waiting", "returned", "available"):
        assert fleet[column].to_numpy() == pytest.approx(by_hand[column]), column
    # With kits to spare, the hub repairs half a system a day: failures come from the guns in
    # service only (1 % a day of them), repaired guns return after the 5-day repair time.
    doc["stocks"][-1]["quantity"] = "100 kits"
    result = plan(load_document(doc), EXACT)
    fleet = result.fleet.sort_values("period")
    by_hand = fleet_by_hand(10, capacity=0.5, kits=100)
    for column in ("failed", "waiting", "returned", "available"):
        assert fleet[column].to_numpy() == pytest.approx(by_hand[column]), column
    assert fleet["in_repair"].to_numpy() == pytest.approx([0.5, 1, 1.5, 2, 2.5] + [2.5] * 5)
    assert fleet["available"].to_numpy() == pytest.approx(
        100 - fleet["waiting"].to_numpy() - fleet["in_repair"].to_numpy()
    )
    assert result.system_moves.empty
    assert result.bottlenecks.iloc[0]["name"] == "repair hub workshop"


def test_evacuation_lane_limits_repairs() -> None:
    result = plan(load_document(evacuation_case()), EXACT)
    moves = result.system_moves
    damaged = moves[moves["condition"] == "damaged"]
    # Half a hull a day leaves in periods 0..8 (a departure in 9 would arrive after the end).
    assert damaged.groupby("period")["quantity"].sum().to_numpy() == pytest.approx([0.5] * 9)
    assert (damaged["tonnes"] == 40 * damaged["quantity"]).all()
    repairs = result.repairs.groupby("period")["repaired"].sum()
    assert repairs.to_numpy() == pytest.approx([0.0] + [0.5] * 9)
    # Repaired in 1..3 are ready in 6..8, go back in a day and rejoin the brigade in 7..9.
    back = moves[moves["condition"] == "repaired"]
    assert back.groupby("period")["quantity"].sum().to_dict() == pytest.approx(
        {6: 0.5, 7: 0.5, 8: 0.5}
    )
    fleet = result.fleet.sort_values("period")
    assert fleet["returned"].to_numpy() == pytest.approx([0] * 7 + [0.5] * 3)
    # Each system out of action counts where it is: the columns add up to failures - returns.
    out = fleet[["waiting", "in_repair", "returning"]].sum(axis=1).to_numpy()
    assert out == pytest.approx(np.cumsum(fleet["failed"] - fleet["returned"]))
    top = result.bottlenecks.iloc[0]
    assert top["name"] == "rail lane evacuation"
    # The dual against a second solve: 0.4 t/day more on the evacuation lane (a hull every
    # hundred days) lowers the objective by 0.4 x the value per unit.
    wider = plan(load_document(evacuation_case("20.4 t/day")), EXACT)
    gained = result.objective - wider.objective
    assert top["value_per_unit"] == pytest.approx(gained / 0.4, rel=1e-6)


def test_checker_rejects_broken_fleet_plans() -> None:
    network = load_document(evacuation_case())
    tables = plan(network, EXACT).tables

    def broken(table: str, column: str, change: Any) -> dict[str, pd.DataFrame]:
        copied = {k: v.copy() for k, v in tables.items()}
        frame = copied[table]
        row = frame[frame[column] > 0].index[0] if column != "ready_period" else frame.index[3]
        frame.loc[row, column] = change(frame.loc[row, column])
        return copied

    for table, column, change in (
        ("system_positions", "quantity", lambda q: q - 0.25),  # a hull vanishes
        ("system_moves", "quantity", lambda q: q * 4),  # over the evacuation lane
        ("repairs", "ready_period", lambda p: p - 1),  # repaired too soon
        ("returns", "returned", lambda q: q + 1),  # a system from nowhere
        ("fleet", "waiting", lambda q: 0.0),  # the table hides the backlog
    ):
        with pytest.raises(PlanCheckError):
            check_plan(network, broken(table, column, change), ())
    check_plan(network, tables, ())


def test_systems_with_no_way_to_a_hub_wait_where_they_fail() -> None:
    doc = repair_case()
    site(doc, "front", "front")
    site(doc, "workshop", "repair_hub", repair_capacity="2 systems/day")
    lane(doc, "rail", "depot", "front", "100 t/day")
    formation(doc, "bde", "front", guns=100)
    result = plan(load_document(doc), EXACT)
    assert result.repairs["repaired"].sum() == pytest.approx(0.0)
    fleet = result.fleet.sort_values("period")
    # With no repair, 1 % of the guns in service fail each day: (1 - 0.99^d) of 100 wait.
    assert fleet["waiting"].to_numpy() == pytest.approx(100 * (1 - 0.99 ** np.arange(1, 11)))
    assert fleet["availability"].to_numpy() == pytest.approx(0.99 ** np.arange(1, 11))
    held = result.system_positions
    assert set(held.loc[held["quantity"] > 0, "site"]) == {"front"}


def test_a_hub_repairs_only_the_systems_it_lists() -> None:
    doc = repair_case()
    site(doc, "workshop", "repair_hub", repair_capacity="2 systems/day", repairs="other-gun")
    doc["systems"].append({"id": "other-gun", "standard": "nato", "families": "fam"})
    lane(doc, "rail", "depot", "workshop", "100 t/day")
    formation(doc, "bde", "workshop", guns=100)
    result = plan(load_document(doc), EXACT)
    assert result.repairs.empty
    assert result.fleet["waiting"].max() == pytest.approx(100 * (1 - 0.99**10))


@pytest.mark.parametrize("solver", ["simplex", "ipm-nox"])
def test_closure_of_an_asset_and_warm_resolve(solver: str) -> None:
    doc = base(days=10)
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    doc["assets"] = [{"id": "bridge", "kind": "bridge", "recovery_time": "4 days"}]
    lane(doc, "rail", "depot", "front", "100 t/day", assets="bridge")
    lane(doc, "road", "depot", "front", "2.5 t/day")  # 50 rounds a day
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "100000 rounds"})
    formation(doc, "bde", "front", guns=100)
    planner = Planner(load_document(doc), PlanOptions(**{**EXACT.__dict__, "solver": solver}))
    assert planner.solve().objective == pytest.approx(0.0, abs=1e-6)
    closed = planner.solve(closures=(Closure(start_day=0, end_day=4, asset="bridge"),))
    # Four days on the road alone from the start: 50 rounds short each day.
    assert closed.objective == pytest.approx(4 * 50)
    by_period = shortfall_by(closed, "period").to_numpy()
    assert by_period[:4].sum() == pytest.approx(200.0)
    assert by_period[4:] == pytest.approx([0.0] * 6, abs=1e-6)
    # A closure known in advance is bridged by stock moved forward before it.
    later = planner.solve(closures=(Closure(start_day=2, end_day=6, asset="bridge"),))
    assert later.objective == pytest.approx(0.0, abs=1e-6)
    front = later.inventory[(later.inventory["site"] == "front") & (later.inventory["period"] == 1)]
    assert front["quantity"].sum() >= 4 * 50 - 1e-6
    reopened = planner.solve(closures=())
    assert reopened.objective == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("solver", ["simplex", "ipm", "ipm-nox", "pdlp", "choose", "auto"])
def test_every_solver_finds_the_same_optimum(solver: str) -> None:
    network = sustain.compile_network(sustain.load(TINY))
    reference = plan(network, PlanOptions(solver="simplex"))
    result = plan(network, PlanOptions(solver=solver))
    assert result.objective == pytest.approx(reference.objective, rel=1e-5)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_plan_and_pass_the_checker(example: object) -> None:
    network = sustain.compile_network(sustain.load(str(example)))
    result = plan(network)
    assert result.timings["check_s"] > 0
    assert (result.shortfall["shortfall"] >= -1e-9).all()
    assert result.explanation().endswith(".")
    days = result.days_of_supply
    assert set(days["formation"]) <= set(network.formations.names)


def test_checker_rejects_broken_plans() -> None:
    network = sustain.compile_network(sustain.load(TINY))
    result = plan(network)
    tables = result.tables

    def broken(change: str) -> dict[str, pd.DataFrame]:
        copied = {k: v.copy() for k, v in tables.items()}
        if change == "ship more":
            copied["shipments"].loc[0, "quantity"] += 10.0
        elif change == "eat the floor":
            inv = copied["inventory"]
            floor = inv[inv["floor"] > 0].index[0]
            inv.loc[floor, "quantity"] = 0.0
        elif change == "wrong family":
            copied["consumption"].loc[0, "item"] = "shell-152"
        elif change == "overfill a lane":
            ships = copied["shipments"]
            rail = ships[ships["lane"] == "rail"].index[0]
            ships.loc[rail, "quantity"] *= 100
        elif change == "hide shortfall":
            copied["shortfall"].loc[0, "shortfall"] = 0.0
        return copied

    for change in (
        "ship more",
        "eat the floor",
        "wrong family",
        "overfill a lane",
        "hide shortfall",
    ):
        with pytest.raises(PlanCheckError):
            check_plan(network, broken(change), ())
    check_plan(network, copy.deepcopy(tables), ())  # the plan itself passes


def test_storage_smaller_than_initial_stock_is_a_clear_error() -> None:
    doc = base(days=3)
    site(doc, "depot", "depot", storage="10 t")
    site(doc, "front", "front")
    lane(doc, "rail", "depot", "front", "100 t/day")
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "1000 rounds"})  # 50 t
    formation(doc, "bde", "front", guns=1)
    with pytest.raises(PlanError, match=r"depot holds 50\.0 t against storage of 10\.0 t"):
        plan(load_document(doc))


def test_plan_tables_are_tidy(tmp_path: object) -> None:
    result = plan(sustain.compile_network(sustain.load(TINY)))
    expected = {
        "shipments",
        "inventory",
        "production",
        "consumption",
        "shortfall",
        "repairs",
        "system_moves",
        "system_positions",
        "returns",
        "fleet",
        "days_of_supply",
        "bottlenecks",
        "shipments_by_nation",
        "consumption_by_nation",
        "nations",
    }
    assert set(result.tables) == expected
    assert {"lane", "from", "to", "item", "period", "quantity", "tonnes"} <= set(
        result.shipments.columns
    )
    summary = result.summary()
    assert list(summary.columns[:4]) == ["formation", "family", "unit", "demand"]


def test_infeasible_model_names_the_constraints_involved() -> None:
    doc = base(days=5)
    site(doc, "depot", "depot", storage="10 t")
    site(doc, "front", "front")
    lane(doc, "rail", "depot", "front", "0.1 t/day")
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "10 rounds"})
    # 50 t arrive on day 3 where only 10 t fit and 0.1 t/day can leave.
    doc["pledges"] = [
        {
            "id": "big",
            "donor": "A",
            "item": "shell",
            "site": "depot",
            "quantity": "1000 rounds",
            "available": "2024-01-03",
        }
    ]
    formation(doc, "bde", "front", guns=1)
    with pytest.raises(PlanError) as caught:
        plan(load_document(doc))
    message = str(caught.value)
    assert "Infeasible" in message
    assert "storage at depot in period 2" in message
    assert "conservation of shell at depot in period 2" in message


def test_a_fleet_without_repair_decays_geometrically_and_never_below_zero() -> None:
    # A year in weeks at 1 % a day: failures taken from the whole fleet every week would
    # leave 100 - 364 guns; from the guns in service, 100 x 0.99^d remain after d days.
    doc = repair_case(days=364)
    doc["scenario"]["period"] = "week"
    site(doc, "front", "front")
    site(doc, "workshop", "repair_hub", repair_capacity="2 systems/day")  # out of reach
    lane(doc, "rail", "depot", "front", "100 t/day")
    formation(doc, "bde", "front", guns=100)
    network = load_document(doc)
    result = plan(network, EXACT)
    fleet = result.fleet.sort_values("period")
    days = 7 * np.arange(1, 53)
    assert fleet["availability"].to_numpy() == pytest.approx(0.99**days)
    assert fleet["failed"].sum() == pytest.approx(100 * (1 - 0.99**364))
    # The checker refuses a fleet table whose columns do not add up to the fleet.
    broken = {k: v.copy() for k, v in result.tables.items()}
    broken["fleet"]["available"] = broken["fleet"]["available"] - 10
    with pytest.raises(PlanCheckError) as refused:
        check_plan(network, broken, ())
    assert any("waiting + in repair + returning + available" in v for v in refused.value.violations)


def test_days_of_supply_share_a_stock_between_the_formations_drawing_on_it() -> None:
    # Two brigades of 10 guns at one front with 1,000 rounds there: 20 rounds a day in all,
    # so after day 0 the 980 left last 49 days for each (not 98 for each).
    doc = base(days=10)
    site(doc, "front", "front")
    doc["stocks"].append({"site": "front", "item": "shell", "quantity": "1000 rounds"})
    formation(doc, "one", "front", guns=10)
    formation(doc, "two", "front", guns=10)
    days = plan(load_document(doc), EXACT).days_of_supply
    first = days[days["period"] == 0].set_index("formation")
    assert first["stock"].tolist() == pytest.approx([980, 980])
    assert first["site_daily_demand"].tolist() == pytest.approx([20, 20])
    assert first["days_of_supply"].tolist() == pytest.approx([49, 49])


def two_formations_on_one_trunk(high_priority: float) -> sustain.Network:
    """Two formations of 100 rounds a day behind one 5 t/day trunk (100 rounds of 50 kg): half
    of what they need, for one day."""
    doc = base(days=1)
    site(doc, "depot", "depot")
    site(doc, "hub", "hub")
    site(doc, "a", "front")
    site(doc, "b", "front")
    lane(doc, "trunk", "depot", "hub", "5 t/day")
    lane(doc, "to-a", "hub", "a", "100 t/day")
    lane(doc, "to-b", "hub", "b", "100 t/day")
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "100000 rounds"})
    formation(doc, "high", "a", guns=100, priority=high_priority)
    formation(doc, "low", "b", guns=100, priority=1.0)
    return load_document(doc)


@pytest.mark.parametrize(
    ("high_priority", "allocation", "short_high", "short_low"),
    [
        # Priority: the higher served first, strictly.
        (2.0, "priority", 0.0, 100.0),
        # Fair: a unit short weighs priority x 1, 2, 3, 4 over the quarters of the share short.
        # The 100 rounds short go to the cheapest quarters: low's first (1), low's second and
        # high's first (2 each), low's third (3): high 25 short, low 75.
        (2.0, "fair", 25.0, 75.0),
        # Equal priority: half each (each formation's first two quarters, at 1 and 2).
        (1.0, "fair", 50.0, 50.0),
    ],
)
def test_priority_and_fair_allocation_by_hand(
    high_priority: float, allocation: str, short_high: float, short_low: float
) -> None:
    network = two_formations_on_one_trunk(high_priority)
    result = plan(network, PlanOptions(allocation=allocation))
    short = result.shortfall.groupby("formation")["shortfall"].sum()
    assert short["high"] == pytest.approx(short_high, abs=1e-6)
    assert short["low"] == pytest.approx(short_low, abs=1e-6)
    # The weighted shortfall reported is priority x shortfall under either rule.
    assert result.total_shortfall == pytest.approx(high_priority * short_high + short_low)


def test_an_unknown_allocation_is_refused() -> None:
    with pytest.raises(ValueError, match='unknown allocation "even"'):
        plan(two_formations_on_one_trunk(1.0), PlanOptions(allocation="even"))

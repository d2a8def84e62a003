"""Property tests of the planner on random small networks, and a cross-check against a second
formulation built by separate, plain code and solved with scipy's linprog."""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse import coo_array

import sustain
from sustain.plan import Planner, PlanOptions, plan
from tests import scenarios
from tests.conftest import EXAMPLES
from tests.scenarios import (
    base,
    evacuation_case,
    formation,
    load_document,
    random_network,
    site,
)

SEEDS = st.integers(0, 10**6)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(seed=SEEDS)
def test_random_plans_pass_the_checker_and_shortfall_is_never_negative(seed: int) -> None:
    result = plan(load_document(random_network(seed)))  # the checker runs inside plan()
    assert (result.shortfall["shortfall"] >= -1e-9).all()
    assert (result.shipments["quantity"] > 0).all()


@SETTINGS
@given(seed=SEEDS, lane_pick=st.integers(0, 100), factor=st.floats(1.0, 4.0))
def test_more_capacity_never_raises_the_shortfall(seed: int, lane_pick: int, factor: float) -> None:
    doc = random_network(seed)
    before = plan(load_document(doc)).parts["shortfall"]
    wider = copy.deepcopy(doc)
    chosen = wider["lanes"][lane_pick % len(wider["lanes"])]
    tonnes = float(chosen["capacity"].split()[0])
    chosen["capacity"] = f"{tonnes * factor!r} t/day"
    after = plan(load_document(wider)).parts["shortfall"]
    assert after <= before + 1e-6 * max(1.0, abs(before))


@SETTINGS
@given(seed=SEEDS, lane_pick=st.integers(0, 100))
def test_removing_a_lane_never_lowers_the_shortfall(seed: int, lane_pick: int) -> None:
    doc = random_network(seed)
    before = plan(load_document(doc)).parts["shortfall"]
    fewer = copy.deepcopy(doc)
    del fewer["lanes"][lane_pick % len(fewer["lanes"])]
    try:
        network = load_document(fewer)
    except sustain.ScenarioError as exc:  # the lane was the only way to reach a formation
        assert all("cannot be reached" in p.message for p in exc.problems)
        return
    assert plan(network).parts["shortfall"] >= before - 1e-6 * max(1.0, abs(before))


def independent_optimum(network: sustain.Network, options: PlanOptions) -> float:
    """The same planning problem, written out variable by variable with dictionaries and
    solved by scipy's linprog. No pruning of variables and no shared index code."""
    n = network
    periods = n.n_periods
    # Written for daily periods and lags of whole days: each lag is a whole number of periods.
    assert (n.period_length == 1).all()
    assert all(float(d).is_integer() for d in [*n.lane_transit_days, *n.system_repair_days])
    variables: dict[tuple[Any, ...], int] = {}
    cost: list[float] = []
    bounds: list[tuple[float, float | None]] = []

    def var(key: tuple[Any, ...], c: float, low: float = 0.0, high: float | None = None) -> int:
        variables[key] = len(cost)
        cost.append(c)
        bounds.append((low, high))
        return variables[key]

    initial: dict[tuple[int, int], float] = defaultdict(float)
    floor: dict[tuple[int, int], float] = defaultdict(float)
    for s, i, q, f in zip(n.stock_site, n.stock_item, n.stock_quantity, n.stock_floor, strict=True):
        initial[int(s), int(i)] += float(q)
        floor[int(s), int(i)] += float(f)
    criticality = defaultdict(float)
    for i in range(len(n.items)):
        m = int(n.item_family[i])
        criticality[m] = max(criticality[m], float(n.item_criticality[i]))

    for lane in range(len(n.lanes)):
        lag = int(n.lane_transit_days[lane])
        for i in range(len(n.items)):
            for t in range(periods - lag):
                c = options.cost_weight * float(n.lane_cost[lane]) * float(n.item_mass[i])
                var(("ship", lane, i, t), c)
    for s in range(len(n.sites)):
        for i in range(len(n.items)):
            keep = min(floor[s, i], initial[s, i])
            for t in range(periods):
                var(("inv", s, i, t), 0.0, keep)
    for k in range(len(n.lines)):
        for t in range(periods):
            var(("prod", k, t), 0.0, 0.0, float(n.line_capacity[t, k]))
    for f in range(len(n.formations)):
        usable = {
            int(m)
            for y in np.flatnonzero(n.holdings[f] > 0)
            for m in np.flatnonzero(n.system_family[y])
        }
        for t in range(periods):
            for m in usable:
                need = float(n.demand[t, f, m])
                if need <= 0:
                    continue
                late = 1 + options.lateness_weight * (periods - 1 - t) / max(periods - 1, 1)
                weight = options.shortfall_weight * float(n.formation_priority[f]) * criticality[m]
                var(("short", f, m, t), weight * late)
                for i in np.flatnonzero(n.item_family == m):
                    var(("use", f, int(i), t), 0.0)

    # Damaged ("d") and repaired ("r") systems, at every site, with no pruning.
    failure = n.system_breakdown_rate + n.system_damage_rate
    fleet = n.holdings.sum(axis=0)
    tracked = [
        int(y)
        for y in range(len(n.systems))
        if failure[y] > 0 and n.system_repair_days[y] > 0 and fleet[y] > 0
    ]
    demanded = {int(m) for m in np.flatnonzero(n.demand.sum(axis=(0, 1)) > 0)}
    for y in tracked:
        # A day out of action weighs the type's value: the scenario's, or the holders' mean
        # priority times the largest criticality of the demanded families it uses.
        value = float(n.system_value[y])
        if np.isnan(value):
            held = sum(float(n.holdings[f, y]) for f in range(len(n.formations)))
            priority = (
                sum(
                    float(n.holdings[f, y] * n.formation_priority[f])
                    for f in range(len(n.formations))
                )
                / held
            )
            uses = [criticality[m] for m in demanded if n.system_family[y, m]]
            value = priority * (max(uses) if uses else 1.0)
        per_day = options.repair_weight * value
        for t in range(periods):
            var(("avail", y, t), 0.0)
        for condition in "dr":
            for s in range(len(n.sites)):
                for t in range(periods):
                    var(("hold", s, y, condition, t), per_day * float(n.period_length[t]))
            for lane in range(len(n.lanes)):
                lag = int(n.lane_transit_days[lane])
                for t in range(periods - lag):
                    c = per_day * float(n.lane_transit_days[lane]) + options.cost_weight * float(
                        n.lane_cost[lane] * n.system_mass[y]
                    )
                    var(("move", lane, y, condition, t), c)
        for s in range(len(n.sites)):
            for t in range(periods):
                if n.site_repair_capacity[s] > 0 and n.site_repairs[s, y]:
                    var(("repair", s, y, t), 0.0)
                if any(
                    n.holdings[f, y] > 0 and n.formation_site[f] == s
                    for f in range(len(n.formations))
                ):
                    var(("return", s, y, t), 0.0)

    eq_rows: list[dict[int, float]] = []
    eq_rhs: list[float] = []
    ub_rows: list[dict[int, float]] = []
    ub_rhs: list[float] = []
    pledged: dict[tuple[int, int, int], float] = defaultdict(float)
    for s, i, q, p, status in zip(
        n.pledge_site,
        n.pledge_item,
        n.pledge_quantity,
        n.pledge_period,
        n.pledge_status,
        strict=True,
    ):
        if status != 4:  # cancelled
            pledged[int(s), int(i), int(p)] += float(q)
    for s in range(len(n.sites)):
        for i in range(len(n.items)):
            for t in range(periods):
                row: dict[int, float] = defaultdict(float)
                row[variables["inv", s, i, t]] += 1
                if t > 0:
                    row[variables["inv", s, i, t - 1]] -= 1
                for key, index in variables.items():
                    if key[0] == "ship" and key[2] == i:
                        lane, depart = key[1], key[3]
                        lag = int(n.lane_transit_days[lane])
                        if n.lane_origin[lane] == s and depart == t:
                            row[index] += 1
                        if n.lane_destination[lane] == s and depart + lag == t:
                            row[index] -= 1
                    elif key[0] == "prod" and key[2] == t:
                        if n.line_site[key[1]] == s and n.line_item[key[1]] == i:
                            row[index] -= 1
                    elif (
                        key[0] == "use"
                        and key[2] == i
                        and key[3] == t
                        and n.formation_site[key[1]] == s
                    ):
                        row[index] += 1
                    elif key[0] == "repair" and (key[1], key[3]) == (s, t):
                        part = float(n.system_spare_part[key[2]] == i)
                        row[index] += part * float(n.system_spare_parts_per_repair[key[2]])
                eq_rows.append(row)
                eq_rhs.append((initial[s, i] if t == 0 else 0.0) + pledged[s, i, t])
    for y in tracked:
        repair_lag = int(n.system_repair_days[y])
        # In service: A(t) = A(t - 1) (1 - h(t)) + returns, A(-1) the fleet, where h(t) is the
        # share failing over period t at the daily rate.
        hazard = [1 - (1 - float(failure[y])) ** float(n.period_length[t]) for t in range(periods)]
        for t in range(periods):
            row = defaultdict(float)
            row[variables["avail", y, t]] += 1
            if t > 0:
                row[variables["avail", y, t - 1]] -= 1 - hazard[t]
            for s in range(len(n.sites)):
                if ("return", s, y, t) in variables:
                    row[variables["return", s, y, t]] -= 1
            eq_rows.append(row)
            eq_rhs.append((1 - hazard[0]) * float(fleet[y]) if t == 0 else 0.0)
        for s in range(len(n.sites)):
            share = sum(
                float(n.holdings[f, y])
                for f in range(len(n.formations))
                if n.formation_site[f] == s
            ) / float(fleet[y])
            for condition in "dr":
                for t in range(periods):
                    row = defaultdict(float)
                    row[variables["hold", s, y, condition, t]] += 1
                    if t > 0:
                        row[variables["hold", s, y, condition, t - 1]] -= 1
                    for lane in range(len(n.lanes)):
                        lag = int(n.lane_transit_days[lane])
                        if (
                            n.lane_origin[lane] == s
                            and ("move", lane, y, condition, t) in variables
                        ):
                            row[variables["move", lane, y, condition, t]] += 1
                        if n.lane_destination[lane] == s and t - lag >= 0:
                            row[variables["move", lane, y, condition, t - lag]] -= 1
                    if condition == "d" and ("repair", s, y, t) in variables:
                        row[variables["repair", s, y, t]] += 1
                    if (
                        condition == "r"
                        and t - repair_lag >= 0
                        and ("repair", s, y, t - repair_lag) in variables
                    ):
                        row[variables["repair", s, y, t - repair_lag]] -= 1
                    if condition == "r" and ("return", s, y, t) in variables:
                        row[variables["return", s, y, t]] += 1
                    failing = share * hazard[t]
                    if condition == "d" and t > 0:
                        row[variables["avail", y, t - 1]] -= failing
                    eq_rows.append(row)
                    first = condition == "d" and t == 0
                    eq_rhs.append(failing * float(fleet[y]) if first else 0.0)
    for s in np.flatnonzero(n.site_repair_capacity > 0):
        for t in range(periods):
            row = defaultdict(float)
            for y in tracked:
                if ("repair", s, y, t) in variables:
                    row[variables["repair", s, y, t]] += 1
            if row:
                ub_rows.append(row)
                ub_rhs.append(float(n.site_repair_capacity[s] * n.period_length[t]))
    for key, index in list(variables.items()):
        if key[0] != "short":
            continue
        _, f, m, t = key
        row = defaultdict(float, {index: 1.0})
        for i in np.flatnonzero(n.item_family == m):
            row[variables["use", f, int(i), t]] += float(n.item_family_factor[i])
        eq_rows.append(row)
        eq_rhs.append(float(n.demand[t, f, m]))
    for lane in range(len(n.lanes)):
        for t in range(periods):
            row = defaultdict(float)
            for i in range(len(n.items)):
                if ("ship", lane, i, t) in variables:
                    row[variables["ship", lane, i, t]] += float(n.item_mass[i])
            for y in tracked:
                for condition in "dr":
                    if ("move", lane, y, condition, t) in variables:
                        row[variables["move", lane, y, condition, t]] += float(n.system_mass[y])
            if row:
                ub_rows.append(row)
                ub_rhs.append(float(n.lane_capacity[t, lane]))
    for s in np.flatnonzero(np.isfinite(n.site_throughput)):
        for t in range(periods):
            out_row: dict[int, float] = defaultdict(float)
            in_row: dict[int, float] = defaultdict(float)
            for key, index in variables.items():
                if key[0] == "ship":
                    lane, depart, tonnes = key[1], key[3], float(n.item_mass[key[2]])
                elif key[0] == "move":
                    lane, depart, tonnes = key[1], key[4], float(n.system_mass[key[2]])
                else:
                    continue
                lag = int(n.lane_transit_days[lane])
                if n.lane_origin[lane] == s and depart == t:
                    out_row[index] += tonnes
                if n.lane_destination[lane] == s and depart + lag == t:
                    in_row[index] += tonnes
            for row in (out_row, in_row):
                if row:
                    ub_rows.append(row)
                    ub_rhs.append(float(n.site_throughput[s] * n.period_length[t]))
    for s in np.flatnonzero(np.isfinite(n.site_storage)):
        for t in range(periods):
            ub_rows.append(
                {variables["inv", s, i, t]: float(n.item_mass[i]) for i in range(len(n.items))}
            )
            ub_rhs.append(float(n.site_storage[s]))

    def matrix(rows: list[dict[int, float]]) -> coo_array:
        r = [k for k, row in enumerate(rows) for _ in row]
        c = [j for row in rows for j in row]
        v = [x for row in rows for x in row.values()]
        return coo_array((v, (r, c)), shape=(len(rows), len(cost)))

    solved = linprog(
        np.array(cost),
        A_ub=matrix(ub_rows) if ub_rows else None,
        b_ub=np.array(ub_rhs) if ub_rows else None,
        A_eq=matrix(eq_rows),
        b_eq=np.array(eq_rhs),
        bounds=bounds,
        method="highs",
    )
    assert solved.status == 0, solved.message
    return float(solved.fun)


@pytest.mark.parametrize("seed", range(8))
def test_cross_check_against_a_second_formulation(seed: int) -> None:
    network = load_document(random_network(seed))
    # One solve of the weighted sum of the parts: the same optimum.
    options = PlanOptions(lexicographic=False)
    ours = plan(network, options).objective
    theirs = independent_optimum(network, options)
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-6)
    # Lexicographic: its first part is the second formulation's optimum of shortfall alone.
    first = plan(network).parts["shortfall"]
    alone = independent_optimum(network, PlanOptions(lateness_weight=0.0, cost_weight=0.0))
    assert first == pytest.approx(alone, rel=1e-6, abs=1e-6)


def with_lane_costs(doc: dict[str, Any], seed: int, scale: float) -> dict[str, Any]:
    """The document with a random transport cost on every lane, times `scale`."""
    rng = random.Random(seed)
    costed = copy.deepcopy(doc)
    for row in costed["lanes"]:
        row["cost"] = f"{rng.uniform(1, 200) * scale!r} EUR/t"
    return costed


@SETTINGS
@given(seed=SEEDS)
def test_costs_never_turn_into_shortfall(seed: int) -> None:
    doc = random_network(seed)
    free = plan(load_document(doc)).parts["shortfall"]
    for scale in (1.0, 1e3, 1e6):
        costed = plan(load_document(with_lane_costs(doc, seed, scale))).parts["shortfall"]
        assert costed == pytest.approx(free, rel=1e-7, abs=1e-6)


def test_a_blended_objective_trades_shortfall_for_cost_and_the_lexicographic_one_does_not() -> None:
    # One lane at 1e9 EUR/t: a round of 50 kg costs 5e7 EUR x 1e-6 = 50 in the blended sum,
    # more than the 1 its shortfall weighs, so one solve of the sum delivers nothing.
    doc = base(days=5)
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    scenarios.lane(doc, "road", "depot", "front", "100 t/day", cost="1e9 EUR/t")
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "1000 rounds"})
    formation(doc, "bde", "front", guns=10)
    network = load_document(doc)
    blended = plan(network, PlanOptions(lexicographic=False))
    assert blended.shortfall["shortfall"].sum() == pytest.approx(50)
    ordered = plan(network)
    assert ordered.shortfall["shortfall"].sum() == pytest.approx(0, abs=1e-6)  # the bound's slack
    assert ordered.parts["cost"] == pytest.approx(50 * 0.05 * 1e9 * 1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_a_solve_through_shortfall_stops_there_with_the_same_shortfall(seed: int) -> None:
    # The resilience sweep solves through the shortfall stage only: the same shortfall as the
    # whole lexicographic solve, and lateness and cost no lower (later stages only lower them).
    network = load_document(with_lane_costs(random_network(seed), seed, 1e3))
    whole = Planner(network).resolve()
    first = Planner(network).resolve(through="shortfall")
    assert whole.parts is not None and first.parts is not None
    assert first.parts["shortfall"] == pytest.approx(whole.parts["shortfall"], rel=1e-7, abs=1e-6)
    for part in ("lateness", "cost"):
        assert first.parts[part] >= whole.parts[part] - 1e-6 * max(1.0, abs(whole.parts[part]))
    with pytest.raises(ValueError, match='unknown part "waste"'):
        Planner(network).resolve(through="waste")


def physical_bound_violations(network: sustain.Network, table: Any) -> list[str]:
    """Bottleneck equivalents above what one more unit can carry over its binding periods:
    +1 unit/day of a line or +1 t/day of a lane for each binding period's days, one unit less
    of a floor once (in the family's units, each item counting its family factor)."""
    n = network
    longest = float(n.period_length.max())
    found = []
    for row in table.itertuples():
        if row.kind == "repair_hub":  # +1 repair a day, each back in service to the end
            most = row.binding_periods * longest * n.n_days
            if row.equivalent > most * (1 + 1e-6):
                found.append(f"{row.name}: {row.equivalent} > {most}")
            continue
        if row.family_unit == "system-day" and row.kind in ("lane", "site"):
            # +1 t/day moves 1/mass systems a day, each back in service to the end at most.
            lightest = float(n.system_mass[n.system_mass > 0].min())
            most = row.binding_periods * longest / lightest * n.n_days
            if row.equivalent > most * (1 + 1e-6):
                found.append(f"{row.name}: {row.equivalent} > {most} system-days")
            continue
        if not row.family or row.family_unit == "system-day" or np.isnan(row.equivalent):
            continue
        family = n.families[row.family]
        items = np.flatnonzero(n.item_family == family)
        per_unit = n.item_family_factor[items]  # family units an item counts for
        days = row.binding_periods * longest
        if row.kind == "production_line":
            most = days * float(per_unit.max())
        elif row.kind == "stock_floor":
            most = float(per_unit.max())
        elif row.kind in ("lane", "site"):
            lightest = float((n.item_mass[items] / per_unit).min())  # t per family unit
            most = days / lightest
        else:
            continue
        if row.equivalent > most * (1 + 1e-6) + 1e-6:
            found.append(f"{row.name}: {row.equivalent} > {most}")
    return found


@pytest.mark.parametrize("seed", range(10))
def test_bottleneck_equivalents_never_exceed_what_the_unit_can_carry(seed: int) -> None:
    network = load_document(random_network(seed))
    table = plan(network).bottlenecks
    assert not physical_bound_violations(network, table)


def test_the_examples_bottleneck_equivalents_can_happen() -> None:
    network = sustain.compile_network(sustain.load(EXAMPLES[0]))
    table = plan(network, PlanOptions(check=False)).bottlenecks
    lines = table[table["kind"] == "production_line"]
    assert len(lines) >= 3  # the 155 mm lines bind
    assert not physical_bound_violations(network, table)


def test_a_lane_carrying_systems_worth_more_per_tonne_counts_its_gain_in_system_days() -> None:
    # The evacuation lane also carries 2-t shells to a reserve at the workshop, while each
    # hull-day out of action weighs 100: one more t/day wins back hulls, worth 112 a tonne-day,
    # far more than the 4.5 rounds the extra tonne could carry over its 9 binding days.
    doc = evacuation_case()
    doc["systems"][0]["value"] = 100
    for item in doc["items"]:
        if item["id"] == "shell":
            item["mass"] = "2 t"
    formation(doc, "reserve", "workshop", guns=2)
    network = load_document(doc)
    exact = PlanOptions(lateness_weight=0.0, cost_weight=0.0, repair_weight=1.0)
    table = plan(network, exact).bottlenecks.set_index("name")
    evacuation = table.loc["rail lane evacuation"]
    assert evacuation["value_per_unit"] > 100
    assert evacuation["family_unit"] == "system-day"
    assert not physical_bound_violations(network, table.reset_index())


def _arrivals_by_full_scan(
    lengths: list[int], period: int, lag: float, lags: str
) -> list[tuple[int, float]]:
    """The checker's arrival rule, scanning the whole horizon from its first period."""
    first = float(sum(lengths[:period]))
    length = float(lengths[period])
    begin, end = first + lag, first + length + lag
    mean = (begin + end) / 2
    found, day = [], 0.0
    for t, days in enumerate(lengths):
        if lags == "mean" and day <= mean < day + days:
            found.append((t, 1.0))
        elif lags == "late" and day >= begin - 1e-9 and day + days >= end - 1e-9:
            return [(t, 1.0)]
        elif lags == "split":
            overlap = min(day + days, end) - max(day, begin)
            if overlap > 1e-12:
                found.append((t, overlap / length))
        day += days
    return found


@given(
    lengths=st.lists(st.sampled_from([1, 7, 30, 31]), min_size=1, max_size=30),
    period=st.integers(0, 29),
    lag=st.floats(0, 200, allow_nan=False),
    lags=st.sampled_from(["late", "split", "mean"]),
)
def test_the_checker_finds_arrivals_from_the_leaving_period_as_from_the_start(
    lengths: list[int], period: int, lag: float, lags: str
) -> None:
    from types import SimpleNamespace

    from sustain.plan.check import _arrivals

    period = period % len(lengths)
    grid = SimpleNamespace(
        period_length=np.array(lengths),
        period_first_day=np.cumsum([0, *lengths[:-1]]),
        n_periods=len(lengths),
    )
    expected = _arrivals_by_full_scan(lengths, period, lag, lags)
    assert _arrivals(grid, period, lag, lags) == expected  # type: ignore[arg-type]

"""The planning LP written the usual Pyomo way, for the build-time comparison only.

It is given the same variable index sets as Sustain's model (as Python tuples, prepared before
timing starts, which favours Pyomo) and builds the same variables, bounds, constraints and
objective with indexed `Var`s and rule-based `Constraint`s. It is not part of the package.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from sustain.plan.model import Model


@dataclass
class Sets:
    """The model's index sets and data as plain Python, prepared before timing."""

    ship: list[tuple[int, int, int]]
    inv: list[tuple[int, int, int]]
    prod: list[tuple[int, int]]
    use: list[tuple[int, int, int]]
    short: list[tuple[int, int, int]]
    ship_cost: dict[tuple[int, int, int], float]
    short_weight: dict[tuple[int, int, int], float]
    inv_floor: dict[tuple[int, int, int], float]
    prod_cap: dict[tuple[int, int], float]
    injection: dict[tuple[int, int, int], float]
    transit: list[int]
    origin: list[int]
    destination: list[int]
    mass: list[float]
    line_site: list[int]
    line_item: list[int]
    formation_site: list[int]
    item_family: list[int]
    factor: list[float]
    lane_cap: dict[tuple[int, int], float]
    demand: dict[tuple[int, int, int], float]
    handling: list[float]  # t per day, inf where unlimited
    period_length: list[float]


def prepare(model: Model) -> Sets:
    n = model.network
    c = model.columns
    ship = list(
        zip(
            model.ship_lane.tolist(),
            model.ship_item.tolist(),
            model.ship_period.tolist(),
            strict=True,
        )
    )
    inv = list(
        zip(
            model.inv_site.tolist(), model.inv_item.tolist(), model.inv_period.tolist(), strict=True
        )
    )
    prod = list(zip(model.prod_line.tolist(), model.prod_period.tolist(), strict=True))
    use = list(
        zip(
            model.use_formation.tolist(),
            model.use_item.tolist(),
            model.use_period.tolist(),
            strict=True,
        )
    )
    short = list(
        zip(
            model.short_formation.tolist(),
            model.short_family.tolist(),
            model.short_period.tolist(),
            strict=True,
        )
    )
    balance = model.rows["balance"]
    injection = dict(zip(inv, model.row_lower[balance.start : balance.stop].tolist(), strict=True))
    return Sets(
        ship=ship,
        inv=inv,
        prod=prod,
        use=use,
        short=short,
        ship_cost=dict(zip(ship, model.cost[c["ship"].slice()].tolist(), strict=True)),
        short_weight=dict(zip(short, model.cost[c["short"].slice()].tolist(), strict=True)),
        inv_floor=dict(zip(inv, model.col_lower[c["inv"].slice()].tolist(), strict=True)),
        prod_cap=dict(zip(prod, model.col_upper[c["prod"].slice()].tolist(), strict=True)),
        injection=injection,
        transit=n.lane_transit_periods.tolist(),
        origin=n.lane_origin.tolist(),
        destination=n.lane_destination.tolist(),
        mass=n.item_mass.tolist(),
        line_site=n.line_site.tolist(),
        line_item=n.line_item.tolist(),
        formation_site=n.formation_site.tolist(),
        item_family=n.item_family.tolist(),
        factor=n.item_family_factor.tolist(),
        lane_cap={
            (int(lane), int(t)): float(model.lane_capacity[t, lane])
            for lane, t in zip(model.lane_row_lane, model.lane_row_period, strict=True)
        },
        demand={k: float(n.demand[k[2], k[0], k[1]]) for k in short},
        handling=n.site_throughput.tolist(),
        period_length=n.period_length.tolist(),
    )


def build(s: Sets) -> pyo.ConcreteModel:
    """Build the Pyomo model (the timed part)."""
    m = pyo.ConcreteModel()
    m.SHIP = pyo.Set(initialize=s.ship, dimen=3)
    m.INV = pyo.Set(initialize=s.inv, dimen=3)
    m.PROD = pyo.Set(initialize=s.prod, dimen=2)
    m.USE = pyo.Set(initialize=s.use, dimen=3)
    m.SHORT = pyo.Set(initialize=s.short, dimen=3)
    m.ship = pyo.Var(m.SHIP, domain=pyo.NonNegativeReals)
    m.inv = pyo.Var(m.INV, bounds=lambda _, *k: (s.inv_floor[k], None))
    m.prod = pyo.Var(m.PROD, bounds=lambda _, *k: (0, s.prod_cap[k]))
    m.use = pyo.Var(m.USE, domain=pyo.NonNegativeReals)
    m.short = pyo.Var(m.SHORT, domain=pyo.NonNegativeReals)

    out_of: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    into: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    on_lane: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for lane, item, t in s.ship:
        out_of[s.origin[lane], item, t].append((lane, item, t))
        into[s.destination[lane], item, t + s.transit[lane]].append((lane, item, t))
        on_lane[lane, t].append((lane, item, t))
    made: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for line, t in s.prod:
        made[s.line_site[line], s.line_item[line], t].append((line, t))
    used: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    serves: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for f, item, t in s.use:
        used[s.formation_site[f], item, t].append((f, item, t))
        serves[f, s.item_family[item], t].append((f, item, t))

    def balance(m: Any, site: int, item: int, t: int) -> Any:
        previous = m.inv[site, item, t - 1] if t > 0 else 0
        return (
            m.inv[site, item, t]
            - previous
            - sum(m.ship[k] for k in into[site, item, t])
            + sum(m.ship[k] for k in out_of[site, item, t])
            - sum(m.prod[k] for k in made[site, item, t])
            + sum(m.use[k] for k in used[site, item, t])
            == s.injection[site, item, t]
        )

    m.balance = pyo.Constraint(m.INV, rule=balance)
    m.LANE_T = pyo.Set(initialize=list(on_lane), dimen=2)
    m.lane = pyo.Constraint(
        m.LANE_T,
        rule=lambda m, lane, t: (
            sum(s.mass[k[1]] * m.ship[k] for k in on_lane[lane, t]) <= s.lane_cap[lane, t]
        ),
    )
    leaving: dict[tuple[int, int], list[Any]] = defaultdict(list)
    arriving: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for lane, item, t in s.ship:
        if s.handling[s.origin[lane]] < float("inf"):
            leaving[s.origin[lane], t].append((lane, item, t))
        if s.handling[s.destination[lane]] < float("inf"):
            arriving[s.destination[lane], t + s.transit[lane]].append((lane, item, t))
    for name, groups in (("site_out", leaving), ("site_in", arriving)):
        index = pyo.Set(initialize=list(groups), dimen=2)
        m.add_component(f"{name}_set", index)
        m.add_component(
            name,
            pyo.Constraint(
                index,
                rule=lambda m, site, t, groups=groups: (
                    sum(s.mass[k[1]] * m.ship[k] for k in groups[site, t])
                    <= s.handling[site] * s.period_length[t]
                ),
            ),
        )
    m.demand = pyo.Constraint(
        m.SHORT,
        rule=lambda m, f, fam, t: (
            sum(s.factor[k[1]] * m.use[k] for k in serves[f, fam, t]) + m.short[f, fam, t]
            == s.demand[f, fam, t]
        ),
    )
    m.objective = pyo.Objective(
        expr=sum(s.short_weight[k] * m.short[k] for k in s.short)
        + sum(s.ship_cost[k] * m.ship[k] for k in s.ship),
        sense=pyo.minimize,
    )
    return m

"""A solved model as tidy tables, and the bottleneck ranking read off the duals."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sustain.arrays import FloatArray, IndexArray
from sustain.network import MODES, Network
from sustain.plan.fleet import CONDITIONS
from sustain.plan.model import Model
from sustain.plan.solve import Solution
from sustain.timegrid import place_lag

TOLERANCE = 1e-7
# What a repair hub or a lane carrying only systems limits: systems out of action.
FLEET = -2
FLEET_NAME = "systems out of action"


def _dates(network: Network, periods: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    return network.period_start[np.asarray(periods, dtype=np.int64)]


def _placed(
    model: Model, period: IndexArray, lag: FloatArray
) -> tuple[IndexArray, IndexArray, FloatArray, IndexArray]:
    """Flows leaving in `period` with `lag` days, placed as the model places them: their parts
    (flow, arrival period, share), and the period the first of each arrives in (the number of
    periods where none arrives inside the horizon)."""
    n = model.network
    flow, arrival, share = place_lag(n.period_edges, period, lag, model.options.lags)
    first = np.full(period.size, n.n_periods, dtype=np.int64)
    np.minimum.at(first, flow, arrival)
    return flow, arrival, share, first


def tables(model: Model, solution: Solution) -> dict[str, pd.DataFrame]:
    n = model.network
    x = solution.col_value
    col = model.columns
    out: dict[str, pd.DataFrame] = {}

    ship = x[col["ship"].slice()]
    moving = ship > TOLERANCE
    lane, item, period = model.ship_lane[moving], model.ship_item[moving], model.ship_period[moving]
    first_day = n.period_first_day[period] + n.lane_transit_days[lane]
    out["shipments"] = pd.DataFrame(
        {
            "lane": n.lanes.take(lane),
            "from": n.sites.take(n.lane_origin[lane]),
            "to": n.sites.take(n.lane_destination[lane]),
            "mode": [MODES[m] for m in n.lane_mode[lane]],
            "item": n.items.take(item),
            "period": period,
            "date": _dates(n, period),
            "arrival_period": _placed(model, period, n.lane_transit_days[lane])[3],
            "arrives": n.start + np.floor(first_day).astype("timedelta64[D]"),
            "quantity": ship[moving],
            "tonnes": ship[moving] * n.item_mass[item],
            "cost_eur": ship[moving] * n.item_mass[item] * n.lane_cost[lane],
        }
    )

    inv = x[col["inv"].slice()]
    out["inventory"] = pd.DataFrame(
        {
            "site": n.sites.take(model.inv_site),
            "item": n.items.take(model.inv_item),
            "period": model.inv_period,
            "date": _dates(n, model.inv_period),
            "quantity": inv,
            "floor": model.floor[model.inv_site, model.inv_item],
        }
    )

    prod = x[col["prod"].slice()]
    # Output finishing in a period was started a production time before it.
    lag = np.floor(n.line_production_days[model.prod_line]).astype("timedelta64[D]")
    out["production"] = pd.DataFrame(
        {
            "line": n.lines.take(model.prod_line),
            "item": n.items.take(n.line_item[model.prod_line]),
            "period": model.prod_period,
            "date": _dates(n, model.prod_period),
            "started_from": _dates(n, model.prod_period) - lag,
            "quantity": prod,
            "capacity": model.col_upper[col["prod"].slice()],
        }
    )

    use = x[col["use"].slice()]
    used = use > TOLERANCE
    out["consumption"] = pd.DataFrame(
        {
            "formation": n.formations.take(model.use_formation[used]),
            "item": n.items.take(model.use_item[used]),
            "family": n.families.take(n.item_family[model.use_item[used]]),
            "period": model.use_period[used],
            "date": _dates(n, model.use_period[used]),
            "quantity": use[used],
        }
    )

    short = x[col["short"].slice()]
    demand = n.demand[model.short_period, model.short_formation, model.short_family]
    out["shortfall"] = pd.DataFrame(
        {
            "formation": n.formations.take(model.short_formation),
            "family": n.families.take(model.short_family),
            "unit": [n.family_unit[m] for m in model.short_family],
            "period": model.short_period,
            "date": _dates(n, model.short_period),
            "demand": demand,
            "delivered": demand - short,
            "shortfall": short,
            "weighted_shortfall": short * model.short_weight,
        }
    )

    out.update(fleet_tables(model, x))
    invest = model.columns.get("invest")
    if invest is not None and invest.size:
        made = np.clip(x[invest.slice()], 0.0, 1.0) + 0.0  # no "-0.00" in the table
        out["investments"] = pd.DataFrame(
            {
                "investment": list(n.investments.names),
                "line": n.lines.take(model.invest_line_of),
                "made": made,
                "cost_eur": n.invest_cost * made,
            }
        )
    out["days_of_supply"] = days_of_supply(model, inv)
    out["bottlenecks"] = bottlenecks(model, solution)
    return out


def _in_flight(
    slots: IndexArray,
    start: IndexArray,
    end: IndexArray,
    quantity: FloatArray,
    shape: tuple[int, int],
) -> FloatArray:
    """(slots, periods): quantities under way at the end of each period, for things that start
    in period `start` and are done in period `end` (under way in start <= t < end)."""
    change = np.zeros((shape[0], shape[1] + 1))
    np.add.at(change, (slots, start), quantity)
    np.add.at(change, (slots, np.minimum(end, shape[1])), -quantity)
    return np.cumsum(change, axis=1)[:, : shape[1]]


def fleet_tables(model: Model, x: FloatArray) -> dict[str, pd.DataFrame]:
    """Repairs, moves and places of damaged and repaired systems, and per system type and period
    the fleet: failed, waiting (damaged, held or travelling), in repair, returning (repaired,
    held or travelling), returned, and available to formations."""
    n = model.network
    col = model.columns
    fleet = model.fleet
    assert fleet is not None
    k, periods = fleet.n_slots, model.n_periods
    cargo_system = np.tile(fleet.systems, 2)
    cargo_condition = np.repeat(np.array(CONDITIONS), k)
    out: dict[str, pd.DataFrame] = {}

    repaired = x[col["repair"].slice()]
    slot_of = np.full(len(n.systems), -1, dtype=np.int64)
    slot_of[fleet.systems] = np.arange(k)
    repair_slot = slot_of[model.repair_system]
    repair_days = fleet.repair_days[repair_slot]
    ready_part, part_ready, ready_share, ready = _placed(model, model.repair_period, repair_days)
    out["repairs"] = pd.DataFrame(
        {
            "hub": n.sites.take(model.repair_hub),
            "system": n.systems.take(model.repair_system),
            "period": model.repair_period,
            "date": _dates(n, model.repair_period),
            "repaired": repaired,
            "ready_period": ready,
        }
    )

    moved = x[col["move"].slice()]
    moving = moved > TOLERANCE
    lane, cargo, period = model.move_lane, model.move_cargo, model.move_period
    part, part_arrival, part_share, arrival = _placed(model, period, n.lane_transit_days[lane])
    mass = n.system_mass[cargo_system[cargo]]
    out["system_moves"] = pd.DataFrame(
        {
            "lane": n.lanes.take(lane[moving]),
            "from": n.sites.take(n.lane_origin[lane[moving]]),
            "to": n.sites.take(n.lane_destination[lane[moving]]),
            "system": n.systems.take(cargo_system[cargo[moving]]),
            "condition": cargo_condition[cargo[moving]],
            "period": period[moving],
            "date": _dates(n, period[moving]),
            "arrival_period": arrival[moving],
            "quantity": moved[moving],
            "tonnes": moved[moving] * mass[moving],
        }
    )
    held = x[col["hold"].slice()]
    out["system_positions"] = pd.DataFrame(
        {
            "site": n.sites.take(model.hold_site),
            "system": n.systems.take(cargo_system[model.hold_cargo]),
            "condition": cargo_condition[model.hold_cargo],
            "period": model.hold_period,
            "date": _dates(n, model.hold_period),
            "quantity": held,
        }
    )
    returned = x[col["return"].slice()]
    out["returns"] = pd.DataFrame(
        {
            "site": n.sites.take(model.return_site),
            "system": n.systems.take(fleet.systems[model.return_slot]),
            "period": model.return_period,
            "date": _dates(n, model.return_period),
            "returned": returned,
        }
    )

    shape = (k, periods)
    by_cargo = np.zeros((2 * k, periods))
    np.add.at(by_cargo, (model.hold_cargo, model.hold_period), held)
    # Under way at the end of a period: each part of a flow until the period it arrives in.
    travelling = _in_flight(
        cargo[part], period[part], part_arrival, moved[part] * part_share, (2 * k, periods)
    )
    out_of_action = by_cargo + travelling
    # In repair: started so far less ready so far (a part ready past the horizon is still in
    # repair at its end).
    in_repair = _in_flight(
        repair_slot, model.repair_period, np.full(repair_slot.size, periods), repaired, shape
    ) - _in_flight(
        repair_slot[ready_part],
        part_ready,
        np.full(ready_part.size, periods),
        repaired[ready_part] * ready_share,
        shape,
    )
    started = np.zeros(shape)
    np.add.at(started, (repair_slot, model.repair_period), repaired)
    back = np.zeros(shape)
    np.add.at(back, (model.return_slot, model.return_period), returned)
    size = fleet.size[:, None] * np.ones(shape)
    waiting, returning = out_of_action[:k], out_of_action[k:]
    available = x[col["avail"].slice()].reshape(shape)
    in_service_before = np.concatenate([fleet.size[:, None], available[:, :-1]], axis=1)
    failed = fleet.hazard * in_service_before
    slot, t = np.divmod(np.arange(k * periods), periods)
    out["fleet"] = pd.DataFrame(
        {
            "system": n.systems.take(fleet.systems[slot]),
            "period": t,
            "date": _dates(n, t),
            "fleet": size.ravel(),
            "failed": failed.ravel(),
            "repaired": started.ravel(),
            "waiting": waiting.ravel(),
            "in_repair": in_repair.ravel(),
            "returning": returning.ravel(),
            "returned": back.ravel(),
            "available": available.ravel(),
            "availability": (available / size).ravel(),
        }
    )
    return out


def days_of_supply(model: Model, inventory: FloatArray) -> pd.DataFrame:
    """For each formation and family: compatible stock at its supply point at the end of each
    period, in days of the next period's demand of every formation drawing on that site (the
    simulator's definition: a stock shared by brigades lasts as long for each of them)."""
    n = model.network
    n_periods = model.n_periods
    held = np.zeros((len(n.sites), len(n.families), n_periods))
    np.add.at(
        held,
        (model.inv_site, n.item_family[model.inv_item], model.inv_period),
        inventory * n.item_family_factor[model.inv_item],
    )
    daily = n.demand / n.period_length[:, None, None]  # (periods, formations, families)
    ahead = np.concatenate([daily[1:], daily[-1:]], axis=0)  # next period's daily demand
    at_site = np.zeros((len(n.sites), n_periods, len(n.families)))
    np.add.at(at_site, n.formation_site, ahead.transpose(1, 0, 2))  # (sites, periods, families)
    f_idx, m_idx = np.nonzero(n.demand.sum(axis=0) > 0)
    rows = []
    for f, m in zip(f_idx, m_idx, strict=True):
        stock = held[n.formation_site[f], m]
        need = at_site[n.formation_site[f], :, m]
        with np.errstate(divide="ignore"):
            days = np.where(need > 0, stock / np.where(need > 0, need, 1.0), np.inf)
        rows.append(
            pd.DataFrame(
                {
                    "formation": n.formations.names[f],
                    "family": n.families.names[m],
                    "period": np.arange(n_periods),
                    "date": n.period_start[:n_periods],
                    "stock": stock,
                    "site_daily_demand": need,
                    "days_of_supply": days,
                }
            )
        )
    columns = ["formation", "family", "period", "date", "stock", "site_daily_demand"]
    columns.append("days_of_supply")
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def bottlenecks(model: Model, solution: Solution) -> pd.DataFrame:
    """Every capacity, with the weighted shortfall (objective) one more unit of it removes.

    `family` is the item family the capacity serves most (by tonnes through it in the plan,
    or the family of its item), and `equivalent` the same value in units of that family's
    shortfall at the largest weight a unit of it carries, so at least what the unit buys and
    never more than it can carry: "+1 t/day removes at least 340 rounds of 155mm-NATO
    shortfall"."""
    n = model.network
    dual = solution.row_dual
    col_dual = solution.col_dual
    frames = []

    def rank(
        kind: str,
        names: list[str],
        unit: str | list[str],
        values: npt.ArrayLike,
        binding: npt.ArrayLike,
        family: npt.ArrayLike,
        day_value: npt.ArrayLike = np.nan,
    ) -> None:
        """`day_value`: the most a system-day out of action the capacity can win back weighs
        (the largest value among the types it serves); the fleet's largest where not given."""
        frames.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "name": names,
                    "unit": unit,
                    "value_per_unit": values,
                    "binding_periods": binding,
                    "family_index": family,
                    "day_value": day_value,
                }
            )
        )

    def summed(owner: IndexArray, weights: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
        return np.bincount(owner, weights=weights, minlength=size)

    top_weight = _family_top_weights(model)

    def dearest(owner: IndexArray, item: IndexArray, size: int) -> tuple[Any, Any]:
        """For each owner of tonnes (a lane, a site), the family whose unit short weighs the
        most per tonne among the items that can pass (-1 where none is demanded), and that
        weight per tonne (0 where none)."""
        weight = top_weight[n.item_family[item]]
        factor, mass = n.item_family_factor[item], n.item_mass[item]
        per_tonne = np.where(np.isnan(weight), -1.0, np.nan_to_num(weight) * factor / mass)
        order = np.lexsort((per_tonne, owner))  # by owner, dearest last
        best = np.full(size, -1, dtype=np.int64)
        best_per_tonne = np.zeros(size)
        last = order[np.r_[owner[order][1:] != owner[order][:-1], True]] if order.size else order
        found = per_tonne[last] >= 0
        best[owner[last][found]] = n.item_family[item[last][found]]
        best_per_tonne[owner[last][found]] = per_tonne[last][found]
        return best, best_per_tonne

    # Systems moved over a lane: a tonne of them wins back at most its type's value a day for
    # every day of the horizon, per tonne of system.
    fleet_index = model.fleet
    move_value = np.zeros(0)
    move_day_value = np.zeros(0)
    if fleet_index is not None and fleet_index.n_slots and model.move_lane.size:
        day_values = model.options.repair_weight * np.tile(fleet_index.value, 2)
        masses = np.tile(n.system_mass[fleet_index.systems], 2)
        mass = masses[model.move_cargo]
        # A type of no mass takes no tonnes: it is never what a tonne more buys.
        move_day_value = np.where(mass > 0, day_values[model.move_cargo], -np.inf)
        move_value = np.where(mass > 0, move_day_value * n.n_days / np.maximum(mass, 1e-300), 0.0)

    def dearest_use(
        owner: IndexArray, item: IndexArray, move_owner: IndexArray, size: int
    ) -> tuple[Any, Any]:
        """(family, day value) per owner of tonnes: the use a tonne through it is worth the most
        in at most (so the dual's worth in its units is at least what a tonne buys and never
        more than it can carry): the dearest family per tonne, or systems (FLEET, with the
        largest day value among the types that pass) where a tonne of them can be worth more."""
        family, per_tonne = dearest(owner, item, size)
        systems = np.zeros(size)
        day_value = np.full(size, np.nan)
        if move_value.size:
            np.maximum.at(systems, move_owner, move_value)
            day_value = np.full(size, -np.inf)
            np.maximum.at(day_value, move_owner, move_day_value)
            day_value[~np.isfinite(day_value)] = np.nan
        use = np.where(systems > per_tonne, FLEET, family)
        use = np.where(use >= 0, use, FLEET)  # no item passes: what it limits is systems' moves
        return use, np.where(use == FLEET, day_value, np.nan)

    origin = n.lane_origin[model.ship_lane]
    arrival_site = n.lane_destination[model.ship_lane]

    # Lanes: +1 t/day where the lane is open.
    d = -dual[model.rows["lane"].slice()]
    share = model.lane_capacity[model.lane_row_period, model.lane_row_lane] / np.maximum(
        n.lane_capacity[model.lane_row_period, model.lane_row_lane], 1e-300
    )
    size = len(n.lanes)
    rank(
        "lane",
        [f"{MODES[m]} lane {name}" for m, name in zip(n.lane_mode, n.lanes, strict=True)],
        "t/day",
        summed(model.lane_row_lane, d * n.period_length[model.lane_row_period] * share, size),
        summed(model.lane_row_lane, (d > TOLERANCE).astype(float), size),
        *dearest_use(model.ship_lane, model.ship_item, model.move_lane, size),
    )
    size = len(n.sites)
    for block, what, where, move_where in (
        ("site_out", "handling out of", origin, n.lane_origin[model.move_lane]),
        ("site_in", "handling into", arrival_site, n.lane_destination[model.move_lane]),
    ):
        owner = getattr(model, f"{block}_row_site")
        period = getattr(model, f"{block}_row_period")
        d = -dual[model.rows[block].slice()]
        rank(
            "site",
            [f"{what} {s}" for s in n.sites],
            "t/day",
            summed(owner, d * n.period_length[period], size),
            summed(owner, (d > TOLERANCE).astype(float), size),
            *dearest_use(where, model.ship_item, move_where, size),
        )
    d = -dual[model.rows["storage"].slice()]
    rank(
        "storage",
        [f"storage at {s}" for s in n.sites],
        "t",
        summed(model.storage_row_site, d, size),
        summed(model.storage_row_site, (d > TOLERANCE).astype(float), size),
        dearest(model.inv_site, model.inv_item, size)[0],
    )
    if "hub" in model.rows:
        d = -dual[model.rows["hub"].slice()]
        rank(
            "repair_hub",
            [f"repair hub {s}" for s in n.sites],
            "systems/day",
            summed(model.hub_row_site, d * n.period_length[model.hub_row_period], size),
            summed(model.hub_row_site, (d > TOLERANCE).astype(float), size),
            np.full(size, FLEET),
            _hub_day_values(model),
        )

    # Production lines: reduced cost of output at its upper bound, per +1 unit/day.
    d = -col_dual[model.columns["prod"].slice()]
    size = len(n.lines)
    rank(
        "production_line",
        [f"production line {name}" for name in n.lines],
        [f"{n.item_unit[i]}/day" for i in n.line_item],
        summed(model.prod_line, d * n.period_length[model.prod_period], size),
        summed(model.prod_line, (d > TOLERANCE).astype(float), size),
        n.item_family[n.line_item],
    )

    # Stock floors: releasing one unit of floor lowers the inventory bound in every period.
    d = col_dual[model.columns["inv"].slice()]
    at_floor = (model.floor[model.inv_site, model.inv_item] > 0) & (d > TOLERANCE)
    keys, inverse = np.unique(
        model.inv_site[at_floor] * len(n.items) + model.inv_item[at_floor], return_inverse=True
    )
    sites, items = keys // len(n.items), keys % len(n.items)
    rank(
        "stock_floor",
        [
            f"stock floor {n.sites.names[s]}/{n.items.names[i]}"
            for s, i in zip(sites, items, strict=True)
        ],
        [n.item_unit[i] for i in items],
        summed(inverse, d[at_floor], keys.size),
        np.bincount(inverse, minlength=keys.size).astype(float),
        n.item_family[items],
    )

    table = pd.concat(frames, ignore_index=True)
    table = table[table["value_per_unit"] > TOLERANCE]
    family = table["family_index"].to_numpy().astype(np.int64)
    weight = top_weight
    tracked = model.fleet
    # Spare parts no formation demands buy systems back into service: their gain is counted
    # in system-days, like a repair hub's.
    parts = np.zeros(len(n.families), dtype=bool)
    if tracked is not None and tracked.n_slots:
        used = n.system_spare_part[tracked.systems]
        parts[n.item_family[used[used >= 0]]] = True
    family = np.where(
        (family >= 0) & np.isnan(weight[np.maximum(family, 0)]) & parts[np.maximum(family, 0)],
        FLEET,
        family,
    )
    known = family >= 0
    fleet = family == FLEET
    value = table["value_per_unit"].to_numpy()
    # What one more unit buys, in physical units, at least: a unit of the family's shortfall
    # weighs at most its largest weight, a system-day out of action at most the largest type
    # value, so these figures never exceed what the extra capacity can carry (the dual's worth
    # spent all at the dearest rate).
    top_value = (
        float(model.options.repair_weight * tracked.value.max())
        if tracked is not None and tracked.n_slots
        else 1.0
    )
    day_value = table["day_value"].to_numpy(dtype=np.float64)
    system_days = value / np.maximum(np.where(np.isnan(day_value), top_value, day_value), 1e-300)
    per_unit = weight[np.maximum(family, 0)]
    table = table.assign(
        family=[
            n.families.names[f] if f >= 0 else FLEET_NAME if f == FLEET else "" for f in family
        ],
        family_unit=[
            n.family_unit[f] if f >= 0 else "system-day" if f == FLEET else "" for f in family
        ],
        equivalent=np.where(
            known & ~np.isnan(per_unit),
            value / np.where(np.isnan(per_unit), 1.0, per_unit),
            np.where(fleet, system_days, np.nan),
        ),
    ).drop(columns=["family_index", "day_value"])
    return table.sort_values("value_per_unit", ascending=False, ignore_index=True)


def _hub_day_values(model: Model) -> npt.NDArray[Any]:
    """(sites,) the largest weight of a system-day out of action among the types each site
    can repair; NaN where none."""
    fleet = model.fleet
    n_sites = len(model.network.sites)
    if fleet is None or not fleet.n_slots:
        return np.full(n_sites, np.nan)
    values = np.where(fleet.can_repair, fleet.value[None, :], -np.inf).max(axis=1)
    found: npt.NDArray[Any] = np.full(n_sites, np.nan)
    repairs = np.isfinite(values)
    found[repairs] = model.options.repair_weight * values[repairs]
    return found


def _family_top_weights(model: Model) -> npt.NDArray[Any]:
    """The largest weight one unit of each family's shortfall carries in the objective's
    shortfall part (the duals' units); NaN for a family no formation demands."""
    n_families = len(model.network.families)
    per_unit = model.objectives["shortfall"][model.columns["short"].slice()].copy()
    if model.columns["fair"].size:  # the last step of the fair penalty weighs the most
        np.add.at(
            per_unit, model.fair_short, model.objectives["shortfall"][model.columns["fair"].slice()]
        )
    top = np.full(n_families, -np.inf)
    np.maximum.at(top, model.short_family, per_unit)
    return np.where(np.isfinite(top) & (top > 0), top, np.nan)

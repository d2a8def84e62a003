"""A solved model as tidy tables, and the bottleneck ranking read off the duals."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sustain.network import MODES, Network
from sustain.plan.model import Model
from sustain.plan.solve import Solution

TOLERANCE = 1e-7
FloatArray = npt.NDArray[Any]
IndexArray = npt.NDArray[np.integer[Any]]


def _dates(network: Network, periods: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    return network.period_start[np.asarray(periods, dtype=np.int64)]


def tables(model: Model, solution: Solution) -> dict[str, pd.DataFrame]:
    n = model.network
    x = solution.col_value
    col = model.columns
    out: dict[str, pd.DataFrame] = {}

    ship = x[col["ship"].slice()]
    moving = ship > TOLERANCE
    lane, item, period = model.ship_lane[moving], model.ship_item[moving], model.ship_period[moving]
    transit = n.lane_transit_periods[lane]
    out["shipments"] = pd.DataFrame(
        {
            "lane": n.lanes.take(lane),
            "from": n.sites.take(n.lane_origin[lane]),
            "to": n.sites.take(n.lane_destination[lane]),
            "mode": [MODES[m] for m in n.lane_mode[lane]],
            "item": n.items.take(item),
            "period": period,
            "departs": _dates(n, period),
            "arrival_period": period + transit,
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
    out["production"] = pd.DataFrame(
        {
            "line": n.lines.take(model.prod_line),
            "item": n.items.take(n.line_item[model.prod_line]),
            "period": model.prod_period,
            "date": _dates(n, model.prod_period),
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

    repaired = x[col["repair"].slice()]
    backlog = x[col["backlog"].slice()]
    out["repairs"] = pd.DataFrame(
        {
            "hub": n.sites.take(model.repair_hub),
            "system": n.systems.take(model.repair_system),
            "period": model.repair_period,
            "repaired": repaired,
        }
    )
    out["repair_backlog"] = pd.DataFrame(
        {
            "system": n.systems.take(model.backlog_system),
            "period": model.backlog_period,
            "waiting": backlog,
        }
    )
    out["days_of_supply"] = days_of_supply(model, inv)
    out["bottlenecks"] = bottlenecks(model, solution)
    return out


def days_of_supply(model: Model, inventory: FloatArray) -> pd.DataFrame:
    """For each formation and family: compatible stock at its supply point at the end of each
    period, in days of that formation's demand in the next period."""
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
    f_idx, m_idx = np.nonzero(n.demand.sum(axis=0) > 0)
    rows = []
    for f, m in zip(f_idx, m_idx, strict=True):
        stock = held[n.formation_site[f], m]
        need = ahead[:, f, m]
        with np.errstate(divide="ignore"):
            days = np.where(need > 0, stock / np.where(need > 0, need, 1.0), np.inf)
        rows.append(
            pd.DataFrame(
                {
                    "formation": n.formations.names[f],
                    "family": n.families.names[m],
                    "period": np.arange(n_periods),
                    "stock": stock,
                    "daily_demand": need,
                    "days_of_supply": days,
                }
            )
        )
    columns = ["formation", "family", "period", "stock", "daily_demand", "days_of_supply"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def bottlenecks(model: Model, solution: Solution) -> pd.DataFrame:
    """Every capacity, with the weighted shortfall (objective) one more unit of it removes."""
    n = model.network
    dual = solution.row_dual
    col_dual = solution.col_dual
    frames = []

    def rank(
        kind: str, names: list[str], values: FloatArray, unit: str, periods: FloatArray
    ) -> None:
        frames.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "name": names,
                    "unit": unit,
                    "value_per_unit": values,
                    "binding_periods": periods,
                }
            )
        )

    def per_day(
        block: str, owner: IndexArray, period: IndexArray, size: int
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """Value of +1 unit/day of a capacity held by `owner` rows, summed over periods."""
        d = -dual[model.rows[block].slice()]
        value = np.bincount(owner, weights=d * n.period_length[period], minlength=size)
        binding = np.bincount(owner, weights=(d > TOLERANCE).astype(float), minlength=size)
        return value, binding

    # Lanes: +1 t/day where the lane is open.
    d = -dual[model.rows["lane"].slice()]
    share = model.lane_capacity[model.lane_row_period, model.lane_row_lane] / np.maximum(
        n.lane_capacity[model.lane_row_period, model.lane_row_lane], 1e-300
    )
    value = np.bincount(
        model.lane_row_lane,
        weights=d * n.period_length[model.lane_row_period] * share,
        minlength=len(n.lanes),
    )
    binding = np.bincount(
        model.lane_row_lane, weights=(d > TOLERANCE).astype(float), minlength=len(n.lanes)
    )
    rank(
        "lane",
        [f"{MODES[m]} lane {name}" for m, name in zip(n.lane_mode, n.lanes, strict=True)],
        value,
        "t/day",
        binding,
    )
    for block, what in (("site_out", "handling out of"), ("site_in", "handling into")):
        owner = getattr(model, f"{block}_row_site")
        value, binding = per_day(block, owner, getattr(model, f"{block}_row_period"), len(n.sites))
        rank("site", [f"{what} {s}" for s in n.sites], value, "t/day", binding)
    d = -dual[model.rows["storage"].slice()]
    value = np.bincount(model.storage_row_site, weights=d, minlength=len(n.sites))
    binding = np.bincount(
        model.storage_row_site, weights=(d > TOLERANCE).astype(float), minlength=len(n.sites)
    )
    rank("storage", [f"storage at {s}" for s in n.sites], value, "t", binding)
    if "hub" in model.rows:
        value, binding = per_day("hub", model.hub_row_site, model.hub_row_period, len(n.sites))
        rank("repair_hub", [f"repair hub {s}" for s in n.sites], value, "systems/day", binding)

    # Production lines: reduced cost of output at its upper bound.
    d = -col_dual[model.columns["prod"].slice()]
    value = np.bincount(
        model.prod_line, weights=d * n.period_length[model.prod_period], minlength=len(n.lines)
    )
    binding = np.bincount(
        model.prod_line, weights=(d > TOLERANCE).astype(float), minlength=len(n.lines)
    )
    units = [f"{n.item_unit[i]}/day" for i in n.line_item]
    frames.append(
        pd.DataFrame(
            {
                "kind": "production_line",
                "name": [f"production line {name}" for name in n.lines],
                "unit": units,
                "value_per_unit": value,
                "binding_periods": binding,
            }
        )
    )

    # Stock floors: releasing one unit of floor lowers the inventory bound in every period.
    d = col_dual[model.columns["inv"].slice()]
    at_floor = (model.floor[model.inv_site, model.inv_item] > 0) & (d > TOLERANCE)
    key = model.inv_site[at_floor] * len(n.items) + model.inv_item[at_floor]
    keys, inverse = np.unique(key, return_inverse=True)
    value = np.bincount(inverse, weights=d[at_floor], minlength=keys.size)
    binding = np.bincount(inverse, minlength=keys.size).astype(float)
    sites, items = keys // len(n.items), keys % len(n.items)
    frames.append(
        pd.DataFrame(
            {
                "kind": "stock_floor",
                "name": [
                    f"stock floor {n.sites.names[s]}/{n.items.names[i]}"
                    for s, i in zip(sites, items, strict=True)
                ],
                "unit": [n.item_unit[i] for i in items],
                "value_per_unit": value,
                "binding_periods": binding,
            }
        )
    )
    table = pd.concat(frames, ignore_index=True)
    table = table[table["value_per_unit"] > TOLERANCE]
    return table.sort_values("value_per_unit", ascending=False, ignore_index=True)

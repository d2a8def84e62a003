"""Donor stockpiles under a plan: when each reaches the floor its owner keeps, and how long
rebuilding it to its target takes at the owner's projected production."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sustain.network import Network

TOLERANCE = 1e-6


def stockpile_dates(network: Network, inventory: pd.DataFrame) -> pd.DataFrame:
    """Per stockpile (site, item): its floor and target, the date the planned drawdown brings
    it to its floor (NaT if never), its level at the end, and the days (and months) of the
    owner's production of that item it takes to rebuild to target (inf without production).

    `inventory` is a plan's inventory table (site, item, period, quantity)."""
    n = network
    keys = pd.DataFrame(
        {
            "site": n.sites.take(n.stock_site),
            "item": n.items.take(n.stock_item),
            "owner": n.nations.take(n.stock_nation),
            "initial": n.stock_quantity,
            "floor": n.stock_floor,
            "target": n.stock_target,
        }
    )
    stocks = keys.groupby(["site", "item"], as_index=False).agg(
        owner=("owner", lambda s: ";".join(sorted(set(s)))),
        initial=("initial", "sum"),
        floor=("floor", "sum"),
        target=("target", lambda s: s.sum(min_count=1)),
    )
    planned = {
        (str(site), str(item)): group.sort_values("period")["quantity"].to_numpy()
        for (site, item), group in inventory.groupby(["site", "item"])
    }
    # Production a day at the end of the horizon, by owner nation and item.
    last_rate = n.line_capacity[-1] / n.period_length[-1]
    made: dict[tuple[str, str], float] = {}
    for line in range(len(n.lines)):
        key = (n.nations.names[n.line_nation[line]], n.items.names[n.line_item[line]])
        made[key] = made.get(key, 0.0) + float(last_rate[line])
    period_end = n.period_start + n.period_length.astype("timedelta64[D]")

    reaches, final, rebuild = [], [], []
    for row in stocks.to_dict("records"):
        site, item, floor = str(row["site"]), str(row["item"]), float(row["floor"])
        series = planned.get((site, item))
        if series is None:  # off every path: untouched
            series = np.full(n.n_periods, float(row["initial"]))
        at_floor = np.flatnonzero(series <= floor + TOLERANCE * max(1.0, floor))
        reaches.append(period_end[at_floor[0]] if at_floor.size else np.datetime64("NaT"))
        final.append(float(series[-1]))
        target = float(row["target"])
        deficit = target - float(series[-1]) if np.isfinite(target) else 0.0
        rate = sum(made.get((owner, item), 0.0) for owner in str(row["owner"]).split(";"))
        if deficit <= TOLERANCE:
            rebuild.append(0.0)
        else:
            rebuild.append(deficit / rate if rate > 0 else float("inf"))
    stocks["reaches_floor"] = pd.to_datetime(np.array(reaches, dtype="datetime64[D]"))
    stocks["final"] = final
    stocks["rebuild_days"] = rebuild
    stocks["rebuild_months"] = stocks["rebuild_days"] / (365.25 / 12)
    return stocks

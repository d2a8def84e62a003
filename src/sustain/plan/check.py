"""An independent checker of plans.

It reads only the plan's tables (names, periods, quantities) and the Network's figures, looked
up by name, and recomputes every constraint its own way: ledgers keyed by names, not the model
builder's index arrays. A plan that fails any check is an error, never a result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from sustain.network import PLEDGE_STATUSES, Network
from sustain.plan.model import Closure

RELATIVE = 1e-6
ABSOLUTE = 1e-6


class PlanCheckError(RuntimeError):
    """The plan breaks constraints; `violations` lists each one."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        shown = "\n".join(violations[:20])
        more = f"\n... and {len(violations) - 20} more" if len(violations) > 20 else ""
        super().__init__(f"the plan failed {len(violations)} checks:\n{shown}{more}")


def _exceeds(value: float, limit: float, scale: float = 0.0) -> bool:
    return value > limit + ABSOLUTE + RELATIVE * max(abs(limit), abs(value), scale)


def _differs(a: float, b: float, scale: float = 0.0) -> bool:
    return abs(a - b) > ABSOLUTE + RELATIVE * max(abs(a), abs(b), scale)


def _transit_periods(days: float, period_days: int) -> int:
    return int(np.floor(days / period_days + 0.5))


def _open_share(network: Network, lane: str, period: int, closures: Iterable[Closure]) -> float:
    """The share of a period a lane is open, from the closures of its assets, day by day."""
    position = network.lanes[lane]
    incidence = network.lane_assets
    depends = incidence.indices[incidence.indptr[position] : incidence.indptr[position + 1]]
    assets = {network.assets.names[a] for a in depends}
    first = period * network.period_days
    days = int(network.period_length[period])
    closed_days = 0.0
    for day in range(first, first + days):
        for closure in closures:
            hit = closure.lane == lane or (closure.asset is not None and closure.asset in assets)
            if hit:
                overlap = min(day + 1, closure.end_day) - max(day, closure.start_day)
                if overlap > 0:
                    closed_days = closed_days + overlap
                    break
    return 1.0 - closed_days / days


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _total(rows: Iterable[dict[str, Any]], keys: tuple[str, ...], value: Any) -> dict[Any, float]:
    """Sum of `value(row)` by the tuple of `keys`."""
    sums: dict[Any, float] = defaultdict(float)
    for row in rows:
        sums[tuple(row[k] for k in keys)] += value(row)
    return sums


def check_plan(
    network: Network, tables: dict[str, pd.DataFrame], closures: Iterable[Closure]
) -> None:
    """Raise PlanCheckError listing every broken constraint of the plan."""
    closures = tuple(closures)
    n = network
    periods = n.n_periods
    problems: list[str] = []
    shipments = _records(tables["shipments"])
    inventory = _records(tables["inventory"])
    production = _records(tables["production"])
    consumption = _records(tables["consumption"])
    shortfall = _records(tables["shortfall"])
    repairs = _records(tables["repairs"])
    backlog = _records(tables["repair_backlog"])

    mass: dict[str, float] = dict(zip(n.items.names, n.item_mass.tolist(), strict=True))
    family_of = {i: n.families.names[m] for i, m in zip(n.items.names, n.item_family, strict=True)}
    factor = dict(zip(n.items.names, n.item_family_factor.tolist(), strict=True))

    # Non-negativity.
    for name, frame, column in (
        ("shipment", shipments, "quantity"),
        ("inventory", inventory, "quantity"),
        ("production", production, "quantity"),
        ("consumption", consumption, "quantity"),
        ("shortfall", shortfall, "shortfall"),
        ("repair", repairs, "repaired"),
        ("repair backlog", backlog, "waiting"),
    ):
        negative = [row for row in frame if row[column] < -ABSOLUTE]
        problems += [f"{name} is negative: {row}" for row in negative[:5]]

    # Transit and lane capacity.
    for row in shipments:
        lane = n.lanes[row["lane"]]
        expected = row["period"] + _transit_periods(float(n.lane_transit_days[lane]), n.period_days)
        if row["arrival_period"] != expected or row["arrival_period"] >= periods:
            problems.append(
                f"lane {row['lane']}: departure in {row['period']} arrives in "
                f"{row['arrival_period']}, not {expected}"
            )
        ends = (n.sites.names[n.lane_origin[lane]], n.sites.names[n.lane_destination[lane]])
        if ends != (row["from"], row["to"]):
            problems.append(f"lane {row['lane']}: wrong ends {row['from']} -> {row['to']}")

    def tonnes(row: dict[str, Any]) -> float:
        return float(row["quantity"]) * mass[row["item"]]

    for (lane_name, period), carried in _total(shipments, ("lane", "period"), tonnes).items():
        position = n.lanes[lane_name]
        share = _open_share(n, lane_name, period, closures)
        limit = float(n.lane_capacity[period, position]) * share
        if _exceeds(carried, limit):
            problems.append(
                f"lane {lane_name} carries {carried:.6g} t in period {period}, "
                f"over its {limit:.6g} t"
            )

    # Handling at sites.
    for column, period_column, what in (
        ("from", "period", "out of"),
        ("to", "arrival_period", "into"),
    ):
        for (site, period), handled in _total(shipments, (column, period_column), tonnes).items():
            limit = float(n.site_throughput[n.sites[site]]) * float(n.period_length[period])
            if _exceeds(handled, limit):
                problems.append(
                    f"handling {what} {site} is {handled:.6g} t in period {period}, "
                    f"over {limit:.6g} t"
                )

    # Initial stock, floors and pledges, by name.
    initial: dict[tuple[str, str], float] = defaultdict(float)
    floors: dict[tuple[str, str], float] = defaultdict(float)
    stock_rows = zip(n.stock_site, n.stock_item, n.stock_quantity, n.stock_floor, strict=True)
    for s, i, q, kept in stock_rows:
        stock_key = (n.sites.names[s], n.items.names[i])
        initial[stock_key] += float(q)
        floors[stock_key] += float(kept)
    injections: dict[tuple[str, str, int], float] = defaultdict(float)
    cancelled = PLEDGE_STATUSES.index("cancelled")
    for s, i, q, p, status in zip(
        n.pledge_site,
        n.pledge_item,
        n.pledge_quantity,
        n.pledge_period,
        n.pledge_status,
        strict=True,
    ):
        if status != cancelled and p < periods:
            injections[n.sites.names[s], n.items.names[i], int(p)] += float(q)

    # Conservation of every (site, item) in every period.
    flows: dict[tuple[str, str, int], float] = defaultdict(float)
    for row in shipments:
        flows[row["from"], row["item"], row["period"]] -= row["quantity"]
        flows[row["to"], row["item"], row["arrival_period"]] += row["quantity"]
    for row in production:
        line = n.lines[row["line"]]
        flows[n.sites.names[n.line_site[line]], row["item"], row["period"]] += row["quantity"]
        if _exceeds(row["quantity"], float(n.line_capacity[row["period"], line])):
            problems.append(
                f"line {row['line']} makes {row['quantity']:.6g} in period {row['period']}, "
                "over its capacity"
            )
    site_of_formation = {
        f: n.sites.names[s] for f, s in zip(n.formations.names, n.formation_site, strict=True)
    }
    for row in consumption:
        flows[site_of_formation[row["formation"]], row["item"], row["period"]] -= row["quantity"]
    for row in repairs:
        system = n.systems[row["system"]]
        part = int(n.system_spare_part[system])
        if part >= 0:
            used = row["repaired"] * float(n.system_spare_parts_per_repair[system])
            flows[row["hub"], n.items.names[part], row["period"]] -= used

    held: dict[tuple[str, str], list[float]] = {}
    for row in inventory:
        series = held.setdefault((row["site"], row["item"]), [0.0] * periods)
        series[row["period"]] = float(row["quantity"])
    touched = {(s, i) for (s, i, _) in flows} | {(s, i) for (s, i, _) in injections}
    key: tuple[str, str]
    for key in touched | set(held):
        levels = held.get(key)
        previous = initial.get(key, 0.0)
        for t in range(periods):
            moved = flows.get((*key, t), 0.0)
            change = moved + injections.get((*key, t), 0.0)
            level = levels[t] if levels is not None else previous + change
            if levels is None and abs(moved) > ABSOLUTE:  # a pledge may rest where it is
                problems.append(f"{key[1]} moves at {key[0]} in period {t} without inventory")
            if _differs(level, previous + change, scale=abs(change)):
                problems.append(
                    f"conservation fails for {key[1]} at {key[0]} in period {t}: "
                    f"{previous:.6g} + {change:.6g} != {level:.6g}"
                )
            kept = min(floors.get(key, 0.0), initial.get(key, 0.0))
            if level < kept - ABSOLUTE - RELATIVE * abs(level):
                problems.append(
                    f"{key[1]} at {key[0]} falls to {level:.6g} in period {t}, "
                    "below the floor its owner keeps"
                )
            previous = level

    # Storage.
    listed = set(held)
    resting: dict[str, float] = defaultdict(float)
    for (site, item), q in initial.items():
        if (site, item) not in listed:
            resting[site] += q * mass[item]
    for (site, period), weight in _total(inventory, ("site", "period"), tonnes).items():
        capacity = float(n.site_storage[n.sites[site]])
        if _exceeds(weight + resting[site], capacity):
            problems.append(
                f"storage at {site} holds {weight:.6g} t in period {period}, over {capacity:.6g} t"
            )

    # Demand, compatibility and shortfall.
    usable: dict[str, set[str]] = defaultdict(set)
    for f, formation in enumerate(n.formations.names):
        for y in np.flatnonzero(n.holdings[f] > 0):
            usable[formation] |= {n.families.names[m] for m in np.flatnonzero(n.system_family[y])}
    delivered: dict[tuple[str, str, int], float] = defaultdict(float)
    for row in consumption:
        family = family_of[row["item"]]
        if family != row["family"] or family not in usable[row["formation"]]:
            problems.append(f"{row['formation']} cannot use {row['item']} ({family})")
        delivered[row["formation"], family, row["period"]] += row["quantity"] * factor[row["item"]]
    reported: set[tuple[str, str, int]] = set()
    for row in shortfall:
        need_key = (row["formation"], row["family"], row["period"])
        reported.add(need_key)
        formation, family, period = need_key
        need = float(n.demand[period, n.formations[formation], n.families[family]])
        got = delivered.get(need_key, 0.0)
        if _differs(got + row["shortfall"], need):
            problems.append(
                f"{formation} {family} period {period}: delivered {got:.6g} + short "
                f"{row['shortfall']:.6g} != {need:.6g}"
            )
    for t, f, m in zip(*np.nonzero(n.demand > ABSOLUTE), strict=True):
        who, what = n.formations.names[f], n.families.names[m]
        if (who, what, int(t)) not in reported:
            problems.append(f"demand of {who} for {what} in period {t} is not accounted for")
    for consumed, amount in delivered.items():
        if consumed not in reported and amount > ABSOLUTE:
            problems.append(
                f"{consumed[0]} consumes {consumed[1]} in period {consumed[2]} with no demand"
            )

    # Repairs: hub capacity and the backlog of systems waiting.
    def repaired(row: dict[str, Any]) -> float:
        return float(row["repaired"])

    for (hub, period), done in _total(repairs, ("hub", "period"), repaired).items():
        limit = float(n.site_repair_capacity[n.sites[hub]]) * float(n.period_length[period])
        if _exceeds(done, limit):
            problems.append(
                f"repair hub {hub} repairs {done:.6g} in period {period}, over {limit:.6g}"
            )
    done_by = _total(repairs, ("system", "period"), repaired)
    waiting: dict[str, float] = defaultdict(float)
    for row in sorted(backlog, key=lambda r: (r["system"], r["period"])):
        system, period = row["system"], row["period"]
        kind = n.systems[system]
        rate = float(n.system_breakdown_rate[kind] + n.system_damage_rate[kind])
        fails = float(n.holdings[:, kind].sum()) * rate * float(n.period_length[period])
        expected = waiting[system] + fails - done_by.get((system, period), 0.0)
        if _differs(row["waiting"], expected, scale=fails):
            problems.append(
                f"repair backlog of {system} in period {period} is {row['waiting']:.6g}, "
                f"not {expected:.6g}"
            )
        waiting[system] = float(row["waiting"])

    if problems:
        raise PlanCheckError(problems)

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

from sustain.capacity import added_capacity
from sustain.network import PLEDGE_STATUSES, Network
from sustain.options import Closure

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


def _arrivals(network: Network, period: int, lag: float, lags: str) -> list[tuple[int, float]]:
    """(period, share) of what leaves during `period`, spread over its days, and arrives `lag`
    days later, worked out period by period: "split", the share of [start + lag, end + lag) in
    each period; "mean", all of it in the period holding start + lag + length / 2; "late", all
    of it in the first period that starts at start + lag or later and ends at end + lag or
    later."""
    first = float(network.period_first_day[period])
    length = float(network.period_length[period])
    begin, end = first + lag, first + length + lag
    mean = (begin + end) / 2
    found = []
    day = first  # nothing arrives before it leaves: the scan starts at its own period
    for t in range(period, network.n_periods):
        days = float(network.period_length[t])
        if day >= end and lags != "late":
            break  # past the arrivals: the rest of the horizon is not scanned
        if lags == "mean":
            if day <= mean < day + days:
                found.append((t, 1.0))
        elif lags == "late":
            if day >= begin - 1e-9 and day + days >= end - 1e-9:
                return [(t, 1.0)]
        else:
            overlap = min(day + days, end) - max(day, begin)
            if overlap > 1e-12:
                found.append((t, overlap / length))
        day += days
    return found


def _delivery_period(network: Network, day: int, lags: str) -> int | None:
    """The period a delivery on `day` counts in: the one holding it; under "late" the first
    that starts on it or after. None past the horizon."""
    for t, (first, days) in enumerate(
        zip(network.period_first_day.tolist(), network.period_length.tolist(), strict=True)
    ):
        if (first >= day) if lags == "late" else (first <= day < first + days):
            return t
    return None


def _open_share(network: Network, lane: str, period: int, closures: Iterable[Closure]) -> float:
    """The share of a period a lane is open, from the closures of its assets, day by day."""
    position = network.lanes[lane]
    incidence = network.lane_assets
    depends = incidence.indices[incidence.indptr[position] : incidence.indptr[position + 1]]
    assets = {network.assets.names[a] for a in depends}
    first = int(network.period_first_day[period])
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


def _line_capacity(
    network: Network, tables: dict[str, pd.DataFrame], before: Network | None
) -> dict[str, list[float]]:
    """Each line's capacity by period. With investments decided by the plan, it is the line's
    capacity `before` them plus what each option adds times the share of it the plan made."""
    capacity = {
        name: network.line_capacity[:, k].tolist() for k, name in enumerate(network.lines.names)
    }
    if before is None or "investments" not in tables:
        return capacity
    capacity = {name: [0.0] * network.n_periods for name in capacity}
    for k, name in enumerate(before.lines.names):
        capacity[name] = before.line_capacity[:, k].tolist()
    made = dict(
        zip(tables["investments"]["investment"], tables["investments"]["made"], strict=True)
    )
    for k, option in enumerate(before.investments.names):
        target = int(before.invest_line[k])
        line = before.lines.names[target] if target >= 0 else option
        for t, added in enumerate(added_capacity(before, k)):
            capacity[line][t] += float(made[option]) * float(added)
    return capacity


def _rate_on(base: float, changes: list[tuple[int, int, float]], day: int) -> float:
    """The rate a line starts units at on a day: its base rate, then its capacity changes
    `(day, position, rate)` in date order (a later one of the same date wins)."""
    rate = base
    for change_day, _, change_rate in changes:
        if change_day > day:
            break
        rate = change_rate
    return rate


def _ramp_on(network: Network, option: int, day: int) -> float:
    """The rate an investment option adds on a day, rising linearly over its ramp."""
    since = day - int(network.invest_start_day[option])
    ramp = float(network.invest_ramp_days[option])
    if since < 0:
        return 0.0
    return float(network.invest_rate[option]) * (1.0 if ramp <= 0 else min(since / ramp, 1.0))


def _finished_in(rate: Any, production_days: float, first: int, days: int) -> float:
    """Units finished on days first .. first + days - 1 of lots started at `rate(day)` (evenly
    over each day), each taking `production_days`: the starts over [k - p, k + 1 - p) per day k."""
    total = 0.0
    for k in range(first, first + days):
        begin, end = k - production_days, k + 1 - production_days
        for d in range(int(np.floor(begin)), int(np.ceil(end))):
            overlap = min(d + 1, end) - max(d, begin)
            if overlap > 0:
                total += overlap * rate(d)
    return total


def _most_output(network: Network, before: Network | None) -> dict[tuple[str, int], float]:
    """The most each line can finish in each period: started its production time earlier at
    its rate (before the scenario start too), with every investment option on it made in full.
    An upper bound worked out from the scenario's figures day by day, whatever the order books
    take; it is what makes a plan that ignores production time fail."""
    scenario = before if before is not None else network
    base_lines = len(scenario.lines) - int(
        sum(name in scenario.investments for name in scenario.lines.names)
    )
    bound: dict[tuple[str, int], float] = defaultdict(float)
    starts = [int(d) for d in network.period_first_day]
    lengths = [int(x) for x in network.period_length]
    changes: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for k, line in enumerate(scenario.line_change_line.tolist()):
        changes[line].append(
            (int(scenario.line_change_day[k]), k, float(scenario.line_change_rate[k]))
        )
    for line in range(base_lines):
        name = scenario.lines.names[line]
        days = float(scenario.line_production_days[line])
        base, steps = float(scenario.line_base_rate[line]), sorted(changes[line])
        for t, (first, length) in enumerate(zip(starts, lengths, strict=True)):
            bound[name, t] += _finished_in(
                lambda d, base=base, steps=steps: _rate_on(base, steps, d), days, first, length
            )
    for k, option in enumerate(scenario.investments.names):
        target = int(scenario.invest_line[k])
        name = scenario.lines.names[target] if target >= 0 else option
        days = float(scenario.invest_production_days[k])
        for t, (first, length) in enumerate(zip(starts, lengths, strict=True)):
            bound[name, t] += _finished_in(
                lambda d, k=k: _ramp_on(scenario, k, d), days, first, length
            )
    return bound


def check_plan(
    network: Network,
    tables: dict[str, pd.DataFrame],
    closures: Iterable[Closure],
    without_investments: Network | None = None,
    lags: str = "late",
) -> None:
    """Raise PlanCheckError listing every broken constraint of the plan. When the plan decided
    investments, `network` has every option made and `without_investments` has none. `lags`
    says how the plan placed lags that are not whole periods (PlanOptions.lags)."""
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
    moves = _records(tables["system_moves"])
    positions = _records(tables["system_positions"])
    returns = _records(tables["returns"])
    fleet = _records(tables["fleet"])

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
        ("system move", moves, "quantity"),
        ("system position", positions, "quantity"),
        ("return", returns, "returned"),
    ):
        negative = [row for row in frame if row[column] < -ABSOLUTE]
        problems += [f"{name} is negative: {row}" for row in negative[:5]]

    # Transit and lane capacity, for items and systems alike. Each row's arrivals, split over
    # the periods they fall in, are kept in "parts" for the ledgers below.
    for row in shipments + moves:
        lane = n.lanes[row["lane"]]
        row["parts"] = _arrivals(n, row["period"], float(n.lane_transit_days[lane]), lags)
        expected = row["parts"][0][0] if row["parts"] else periods
        arrived = sum(share for _, share in row["parts"])
        if row["arrival_period"] != expected or _differs(arrived, 1.0):
            problems.append(
                f"lane {row['lane']}: departure in {row['period']} arrives from "
                f"{row['arrival_period']}, not {expected}, or not all inside the horizon"
            )
        ends = (n.sites.names[n.lane_origin[lane]], n.sites.names[n.lane_destination[lane]])
        if ends != (row["from"], row["to"]):
            problems.append(f"lane {row['lane']}: wrong ends {row['from']} -> {row['to']}")

    system_mass: dict[str, float] = dict(zip(n.systems.names, n.system_mass.tolist(), strict=True))

    def tonnes(row: dict[str, Any]) -> float:
        if "system" in row:
            return float(row["quantity"]) * system_mass[row["system"]]
        return float(row["quantity"]) * mass[row["item"]]

    carried = shipments + moves
    for (lane_name, period), weight in _total(carried, ("lane", "period"), tonnes).items():
        position = n.lanes[lane_name]
        share = _open_share(n, lane_name, period, closures)
        limit = float(n.lane_capacity[period, position]) * share
        if _exceeds(weight, limit):
            problems.append(
                f"lane {lane_name} carries {weight:.6g} t in period {period}, "
                f"over its {limit:.6g} t"
            )

    # Handling at sites: out when leaving, in as the parts arrive.
    arriving = [
        {**row, "arrival": t, "quantity": row["quantity"] * share}
        for row in carried
        for t, share in row["parts"]
    ]
    for rows, column, period_column, what in (
        (carried, "from", "period", "out of"),
        (arriving, "to", "arrival", "into"),
    ):
        for (site, period), handled in _total(rows, (column, period_column), tonnes).items():
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
    for s, i, q, day, status in zip(
        n.pledge_site,
        n.pledge_item,
        n.pledge_quantity,
        n.pledge_day,
        n.pledge_status,
        strict=True,
    ):
        p = _delivery_period(n, int(day), lags)
        if status != cancelled and p is not None:
            injections[n.sites.names[s], n.items.names[i], p] += float(q)

    # Conservation of every (site, item) in every period.
    flows: dict[tuple[str, str, int], float] = defaultdict(float)
    for row in shipments:
        flows[row["from"], row["item"], row["period"]] -= row["quantity"]
        for t, share in row["parts"]:
            flows[row["to"], row["item"], t] += row["quantity"] * share
    line_capacity = _line_capacity(n, tables, without_investments)
    most_output = _most_output(n, without_investments)
    for row in production:
        line = n.lines[row["line"]]
        flows[n.sites.names[n.line_site[line]], row["item"], row["period"]] += row["quantity"]
        if _exceeds(row["quantity"], line_capacity[row["line"]][row["period"]]):
            problems.append(
                f"line {row['line']} makes {row['quantity']:.6g} in period {row['period']}, "
                "over its capacity"
            )
        most = most_output.get((row["line"], row["period"]), 0.0)
        if _exceeds(row["quantity"], most):
            problems.append(
                f"line {row['line']} finishes {row['quantity']:.6g} in period {row['period']}, "
                f"more than it can have started a production time earlier ({most:.6g})"
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

    problems += _check_fleet(n, repairs, moves, positions, returns, fleet, lags)

    if problems:
        raise PlanCheckError(problems)


def _check_fleet(
    n: Network,
    repairs: list[dict[str, Any]],
    moves: list[dict[str, Any]],
    positions: list[dict[str, Any]],
    returns: list[dict[str, Any]],
    fleet: list[dict[str, Any]],
    lags: str,
) -> list[str]:
    """Repairs within hub capacity and the hub's trade; every damaged and repaired system
    accounted for at every site and period; the fleet table adding up."""
    problems: list[str] = []
    periods = n.n_periods

    def repaired(row: dict[str, Any]) -> float:
        return float(row["repaired"])

    for (hub, period), done in _total(repairs, ("hub", "period"), repaired).items():
        limit = float(n.site_repair_capacity[n.sites[hub]]) * float(n.period_length[period])
        if _exceeds(done, limit):
            problems.append(
                f"repair hub {hub} repairs {done:.6g} in period {period}, over {limit:.6g}"
            )

    # Failures where the formations are, by name: of the systems of a type in service at the
    # start of a period (the fleet table's available at the end of the one before), the share
    # that fails over its days at the daily rate, spread over the holders' sites by holdings.
    in_service = {(row["system"], int(row["period"])): float(row["available"]) for row in fleet}
    held_by_site: dict[tuple[str, str], float] = defaultdict(float)
    for f, formation_site in enumerate(n.formation_site):
        for y, system in enumerate(n.systems.names):
            if n.holdings[f, y] > 0:
                held_by_site[n.sites.names[formation_site], system] += float(n.holdings[f, y])
    holders = set(held_by_site)
    size = {system: float(n.holdings[:, y].sum()) for y, system in enumerate(n.systems.names)}
    fails: dict[tuple[str, str, str, int], float] = defaultdict(float)
    tracked = {row["system"] for row in fleet}
    for (site, system), held in held_by_site.items():
        if system not in tracked:
            continue
        y = n.systems[system]
        rate = min(float(n.system_breakdown_rate[y] + n.system_damage_rate[y]), 1.0)
        for t in range(periods):
            surviving = 1.0
            for _ in range(int(n.period_length[t])):
                surviving *= 1.0 - rate
            before = size[system] if t == 0 else in_service.get((system, t - 1), 0.0)
            fails[site, system, "damaged", t] += held / size[system] * (1 - surviving) * before

    flows: dict[tuple[str, str, str, int], float] = defaultdict(float)
    for row in moves:
        flows[row["from"], row["system"], row["condition"], row["period"]] -= row["quantity"]
        for t, share in row["parts"]:
            flows[row["to"], row["system"], row["condition"], t] += row["quantity"] * share
    for row in repairs:
        kind = n.systems[row["system"]]
        hub = n.sites[row["hub"]]
        if not n.site_repairs[hub, kind] and row["repaired"] > ABSOLUTE:
            problems.append(f"repair hub {row['hub']} does not repair {row['system']}")
        flows[row["hub"], row["system"], "damaged", row["period"]] -= row["repaired"]
        row["parts"] = _arrivals(n, row["period"], float(n.system_repair_days[kind]), lags)
        ready = row["parts"][0][0] if row["parts"] else periods
        if ready != row["ready_period"]:
            problems.append(f"repair of {row['system']} in {row['period']} ready in {ready}")
        for t, share in row["parts"]:
            flows[row["hub"], row["system"], "repaired", t] += row["repaired"] * share
    for row in returns:
        if (row["site"], row["system"]) not in holders and row["returned"] > ABSOLUTE:
            problems.append(f"{row['system']} returned at {row['site']}, where none is held")
        flows[row["site"], row["system"], "repaired", row["period"]] -= row["returned"]

    held_at: dict[tuple[str, str, str], list[float]] = {}
    for row in positions:
        series = held_at.setdefault((row["site"], row["system"], row["condition"]), [0.0] * periods)
        series[row["period"]] = float(row["quantity"])
    touched = {key[:3] for key in flows} | {key[:3] for key in fails}
    for place in touched | set(held_at):
        levels = held_at.get(place)
        previous = 0.0
        for t in range(periods):
            change = flows.get((*place, t), 0.0) + fails.get((*place, t), 0.0)
            level = levels[t] if levels is not None else 0.0
            if _differs(level, previous + change, scale=abs(change)):
                problems.append(
                    f"{place[2]} {place[1]} at {place[0]} in period {t}: "
                    f"{previous:.6g} + {change:.6g} != {level:.6g}"
                )
            previous = level

    # The fleet table: out of action = failed so far - returned so far, split as it should be.
    waiting: dict[tuple[str, int], float] = defaultdict(float)
    returning: dict[tuple[str, int], float] = defaultdict(float)
    for row in positions:
        into = waiting if row["condition"] == "damaged" else returning
        into[row["system"], row["period"]] += row["quantity"]
    for row in moves:
        into = waiting if row["condition"] == "damaged" else returning
        for arrival, share in row["parts"]:
            for t in range(row["period"], arrival):
                into[row["system"], t] += row["quantity"] * share
    in_repair: dict[tuple[str, int], float] = defaultdict(float)
    for row in repairs:
        ready = dict(row["parts"])
        left = 1.0  # the share not ready yet at the end of each period
        for t in range(row["period"], periods):
            left -= ready.get(t, 0.0)
            in_repair[row["system"], t] += row["repaired"] * left
    back = _total(returns, ("system", "period"), lambda row: float(row["returned"]))
    failed_so_far: dict[str, float] = defaultdict(float)
    for row in sorted(fleet, key=lambda r: (r["system"], r["period"])):
        system, t = row["system"], row["period"]
        failed = sum(
            fails.get((s, kind, "damaged", t), 0.0) for s, kind in holders if kind == system
        )
        failed_so_far[system] += failed - back.get((system, t), 0.0)
        whole = size[system]
        expected = {
            "fleet": whole,
            "failed": failed,
            "waiting": waiting[system, t],
            "in_repair": in_repair[system, t],
            "returning": returning[system, t],
            "available": whole - failed_so_far[system],
        }
        for column, value in expected.items():
            if _differs(float(row[column]), value, scale=whole * 1e-3):
                problems.append(
                    f"fleet of {system} in period {t}: {column} is {row[column]:.6g}, "
                    f"not {value:.6g}"
                )
        accounted = row["waiting"] + row["in_repair"] + row["returning"] + row["available"]
        if _differs(float(accounted), whole, scale=whole * 1e-3):
            problems.append(
                f"fleet of {system} in period {t}: waiting + in repair + returning + available "
                f"is {accounted:.6g}, not the fleet of {whole:.6g}"
            )
        if row["available"] < -ABSOLUTE * whole or _exceeds(float(row["available"]), whole):
            problems.append(
                f"fleet of {system} in period {t}: {row['available']:.6g} available of {whole:.6g}"
            )
    return problems

"""What every replication shares: the Network's figures per day, the replenishment policy or
the plan to execute, and the scripted disruptions; computed once per run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from sustain.arrays import BoolArray, FloatArray, IntArray
from sustain.facts import closed_lanes, item_sinks
from sustain.graph import reachable
from sustain.network import PLEDGE_STATUSES, Network
from sustain.options import SimulationOptions
from sustain.simulate.compiled import Inputs
from sustain.simulate.repair import RepairSetup, repair_setup

# What a lane of no transit time counts in the distance from a source: a chain of such lanes
# still has a direction, so that no two sites supply each other.
HOP_DAYS = 1e-3


@dataclass(frozen=True)
class Setup:
    """Daily figures and index arrays for the kernel."""

    network: Network
    options: SimulationOptions
    n_days: int
    demand: FloatArray  # (days, formations, families) expected family units a day
    initial: FloatArray  # (sites, items)
    floor: FloatArray  # (sites, items)
    pair_formation: IntArray  # (formation, family) pairs with demand, reported on
    pair_family: IntArray
    formation_order: IntArray  # formations served first to last at a shared site (priority)
    family_items: tuple[IntArray, ...]  # items of each family
    # Policy: the lane each (site, item) orders on, its order-up-to and reorder levels.
    supplier_lane: IntArray  # (sites, items), -1 where the pair does not order
    order_up_to: FloatArray  # (sites, items)
    reorder_at: FloatArray  # (sites, items)
    served: FloatArray  # (sites, items) daily demand each pair serves downstream, item units
    repair: RepairSetup
    inputs: Inputs  # all of the above as the compiled kernel reads it
    origins: IntArray  # the nations whose goods the kernel tells apart (none: not asked)

    @property
    def repair_types(self) -> IntArray:
        """System types in the repair loop, sorted."""
        return np.unique(self.repair.system)


def _per_day(per_period: FloatArray, network: Network) -> FloatArray:
    """Per-period totals spread evenly over the days of each period."""
    day_period = network.day_period
    daily: FloatArray = per_period[day_period] / network.period_length[day_period].reshape(
        (-1,) + (1,) * (per_period.ndim - 1)
    )
    return daily


class Levels(NamedTuple):
    """What each (site, item) does under a replenishment policy."""

    supplier: IntArray  # (sites, items) its first supplier lane, -1 where it does not order
    up_to: FloatArray  # (sites, items) order-up-to level, on its position
    reorder: FloatArray  # (sites, items) reorder level, on its position
    distance: FloatArray  # (sites, items) days from the nearest source, inf where none reaches
    # Every supplier lane of every pair that orders, a pair's first supplier first.
    supply_site: IntArray
    supply_item: IntArray
    supply_lane: IntArray
    supply_share: FloatArray  # of the pair's demand passed up the lane (by capacity)
    served: FloatArray  # (sites, items) daily demand the pair serves downstream, item units


def policy_sources(network: Network) -> BoolArray:
    """(items, sites): where a replenishment policy takes an item without ordering it: the
    lines that make it, the pledges not cancelled, and the donors' stockpiles above their
    floors (stock owned by a nation none of the formations belongs to). The partner's own
    stock orders like any other site on the way to a formation, whether or not it starts with
    stock; it is a source only where none of those reaches it and no other such stock of the
    item lies upstream of it (it runs down and nothing refills it)."""
    n = network
    sources = np.zeros((len(n.items), len(n.sites)), dtype=bool)
    sources[n.line_item, n.line_site] = True
    live = n.pledge_status != PLEDGE_STATUSES.index("cancelled")
    sources[n.pledge_item[live], n.pledge_site[live]] = True
    above_floor = n.stock_quantity > n.stock_floor
    partners = n.partner()[n.stock_nation]
    donor = above_floor & ~partners
    sources[n.stock_item[donor], n.stock_site[donor]] = True
    own = above_floor & partners
    reached = reachable(len(n.sites), n.lane_origin, n.lane_destination, sources)
    # The partner's stock no line, pledge or donor can reach: a source only where no other
    # such stock of the item reaches it (it is then the top of its part of the network),
    # unless that one can also be reached from it (both are sources then).
    unreached = np.flatnonzero(own & ~reached[n.stock_item, n.stock_site])
    if unreached.size:
        site, item = n.stock_site[unreached], n.stock_item[unreached]
        seeds = np.zeros((unreached.size, len(n.sites)), dtype=bool)
        seeds[np.arange(unreached.size), site] = True
        reach = reachable(len(n.sites), n.lane_origin, n.lane_destination, seeds)
        for a in range(unreached.size):
            others = (item == item[a]) & (site != site[a])
            above = others & reach[:, site[a]] & ~reach[a, site]
            if not above.any():
                sources[item[a], site[a]] = True
    return sources


def _policy_levels(
    network: Network, demand: FloatArray, repair: RepairSetup, options: SimulationOptions
) -> Levels:
    """Each (site, item) on a path to a formation (or to a repair hub, for its spare parts)
    orders from every upstream neighbour nearer a source of the item (in transit days, a
    lane of no transit counting a thousandth of a day), the neighbour on its shortest path
    first: the kernel splits each order among them by the stock they can spare that day.
    Its order-up-to level is the daily demand it serves downstream times (cover days + the
    transit of its lanes, weighted by their shares); at a repair hub, the demand for a spare
    part is the repairs it expects (the fleets it serves failing at their rates) times the
    parts per repair. The demand a site serves is passed up to its suppliers in proportion
    to their lanes' capacities. Echelon levels are the sums of the installation levels of the
    sites each site supplies through its first supplier, itself included."""
    n = network
    n_sites, n_items = len(n.sites), len(n.items)
    sources = policy_sources(n)
    lane_days = np.maximum(n.lane_transit_days, 0.0) + HOP_DAYS
    distance = source_distance(
        n_sites,
        n.lane_origin.astype(np.int64),
        n.lane_destination.astype(np.int64),
        lane_days,
        sources,
    )
    sinks = item_sinks(n)
    downstream_of_sink = reachable(n_sites, n.lane_destination, n.lane_origin, sinks)
    # Supplier lanes of each (item, destination): from a site strictly nearer a source (so
    # that they make no cycle), into a site that serves a formation and is no source.
    o, d = n.lane_origin, n.lane_destination
    supplying = (
        (distance[:, o] < distance[:, d])
        & downstream_of_sink[:, d]
        & (distance[:, d] > 0)
        & np.isfinite(distance[:, d])
    )
    s_item, s_lane = np.nonzero(supplying)
    s_site = d[s_lane]
    # The first supplier: on the shortest path (nearest origin + transit), the widest lane
    # among equals; then the others, widest first.
    width = n.lane_capacity.mean(axis=0) if n.n_periods else np.zeros(len(n.lanes))
    via = distance[s_item, o[s_lane]] + lane_days[s_lane]
    best_via = np.full((n_sites, n_items), np.inf)
    np.minimum.at(best_via, (s_site, s_item), via)
    on_path = via <= best_via[s_site, s_item] + 1e-12
    order = np.lexsort((s_lane, -width[s_lane], ~on_path, s_item, s_site))
    s_site, s_item, s_lane = s_site[order], s_item[order], s_lane[order]
    pair_key = s_site * n_items + s_item
    first = np.ones(pair_key.size, dtype=bool)
    first[1:] = pair_key[1:] != pair_key[:-1]
    supplier = np.full((n_sites, n_items), -1, dtype=np.int64)
    supplier[s_site[first], s_item[first]] = s_lane[first]
    # Each lane's share of its pair's demand: by capacity (equal where none has any).
    pair_of_lane = np.cumsum(first) - 1
    weight = np.maximum(width[s_lane], 0.0)
    pair_weight = np.bincount(pair_of_lane, weights=weight)
    count = np.bincount(pair_of_lane).astype(np.float64)
    share = np.where(
        pair_weight[pair_of_lane] > 0,
        weight / np.maximum(pair_weight[pair_of_lane], 1e-300),
        1.0 / count[pair_of_lane],
    )
    # Daily demand each (site, item) serves: the formations' family demand at their sites,
    # shared evenly among the family's items that can get there, and the spare parts of the
    # repairs each hub expects; then up to the suppliers, farthest from a source first.
    reach = np.isfinite(distance)
    mean_demand = demand.mean(axis=0)  # (formations, families)
    served = np.zeros((n_sites, n_items))
    for f in range(len(n.formations)):
        site = int(n.formation_site[f])
        for m in np.flatnonzero(mean_demand[f] > 0):
            items = np.flatnonzero(n.item_family == m)
            items = items[reach[items, site]]
            if items.size:
                served[site, items] += mean_demand[f, m] / items.size / n.item_family_factor[items]
    with_part = (repair.part >= 0) & (repair.hub >= 0)
    hub, part = repair.hub[with_part], repair.part[with_part]
    parts_a_day = (repair.fleet * repair.rate * repair.parts_per_repair)[with_part]
    reached = reach[part, hub]
    np.add.at(served, (hub[reached], part[reached]), parts_a_day[reached])
    distance_of = distance.T  # (sites, items)
    farthest = np.argsort(-distance_of[s_site, s_item], kind="stable")
    for e in farthest:  # a pair's own demand is complete before it is passed up
        served[o[s_lane[e]], s_item[e]] += served[s_site[e], s_item[e]] * share[e]
    # A pair that serves no demand has nothing to order up to: it never orders, and its
    # lanes carry nothing of the item (only rounding could make a position fall below 0).
    keep = served[s_site, s_item] > 0.0
    s_site, s_item, s_lane, share = s_site[keep], s_item[keep], s_lane[keep], share[keep]
    supplier[served <= 0.0] = -1
    transit = np.zeros((n_sites, n_items))
    np.add.at(transit, (s_site, s_item), share * np.maximum(n.lane_transit_days[s_lane], 0.0))
    up_to = served * (options.cover_days + transit)
    reorder = served * (options.reorder_days + transit)
    if options.policy == "base-stock":
        reorder = up_to.copy()
    up_to[supplier < 0] = 0.0
    reorder[supplier < 0] = 0.0
    if options.position == "echelon":
        below = np.zeros((n_sites, n_items))  # the installation levels of the sites supplied
        e_site, e_item = np.nonzero(supplier >= 0)
        for e in np.argsort(-distance_of[e_site, e_item], kind="stable"):
            upstream = n.lane_origin[supplier[e_site[e], e_item[e]]]
            below[upstream, e_item[e]] += up_to[e_site[e], e_item[e]] + below[e_site[e], e_item[e]]
        up_to = np.where(supplier >= 0, up_to + below, 0.0)
        reorder = np.where(supplier >= 0, reorder + below, 0.0)
    if options.scenario_levels:
        _set_levels(n, supplier, up_to, reorder)
    return Levels(
        supplier,
        up_to,
        reorder,
        distance_of,
        s_site.astype(np.int64),
        s_item.astype(np.int64),
        s_lane.astype(np.int64),
        share,
        served,
    )


def source_distance(
    n_sites: int,
    origin: IntArray,
    destination: IntArray,
    days: FloatArray,
    sources: BoolArray,
) -> FloatArray:
    """(items, sites): the shortest time from a source of each item along the lanes (inf where
    none reaches, 0 at the sources); parallel lanes count their quickest."""
    key = origin.astype(np.int64) * n_sites + destination
    pairs, where = np.unique(key, return_inverse=True)
    quickest = np.full(pairs.size, np.inf)
    np.minimum.at(quickest, where, days)
    graph = csr_array((quickest, (pairs // n_sites, pairs % n_sites)), shape=(n_sites, n_sites))
    distance = np.full(sources.shape, np.inf)
    for item in np.flatnonzero(sources.any(axis=1)):
        distance[item] = dijkstra(
            graph, directed=True, indices=np.flatnonzero(sources[item]), min_only=True
        )
    return distance


def _set_levels(
    network: Network, supplier: IntArray, up_to: FloatArray, reorder: FloatArray
) -> None:
    """The levels the scenario's policies table sets, in place of the days-of-cover rule;
    a row for a pair that cannot order (a source of the item, or a site no demand is served
    from) is an error, not a level silently unused."""
    n = network
    site, item = n.policy_site, n.policy_item
    wrong = [
        f"{n.policy_where[k]} policies: {n.sites.names[site[k]]} does not order "
        f"{n.items.names[item[k]]}"
        " (it is a source of it, or no formation's demand is served through it)"
        for k in np.flatnonzero(supplier[site, item] < 0)
    ]
    if wrong:
        raise ValueError("; ".join(wrong))
    up_to[site, item] = n.policy_level
    reorder[site, item] = np.where(np.isnan(n.policy_reorder), n.policy_level, n.policy_reorder)


def _stock_cells(
    network: Network,
    initial: FloatArray,
    pledges: Pledges,
    order_cells: IntArray,
    flow_from: IntArray,
    flow_destination: IntArray,
) -> IntArray:
    """The cells that can ever hold stock: where it starts, is made, pledged, ordered, or
    leaves or reaches a flow (sorted)."""
    n = network
    n_items = len(n.items)
    flow_to = flow_destination * n_items + flow_from % n_items
    cells = np.concatenate(
        [
            np.flatnonzero(initial.ravel() > 0),
            n.line_site.astype(np.int64) * n_items + n.line_item,
            pledges.cell,
            order_cells,
            flow_from,
            flow_to,
        ]
    )
    return np.unique(cells.astype(np.int64))


def _first(wrong: BoolArray) -> int | None:
    """The first row where `wrong` holds, if any."""
    return int(np.flatnonzero(wrong)[0]) if wrong.any() else None


def _misfit(what: str) -> ValueError:
    return ValueError(f"the plan does not fit this scenario: {what} (plan it again)")


def _check_plan_fits(network: Network, tables: dict[str, pd.DataFrame]) -> None:
    """A plan made for another time grid or another network is refused, not replayed on
    periods, lanes or formations it does not name."""
    n = network
    starts = n.period_start.astype("datetime64[D]")
    indexes = {"lane": n.lanes, "formation": n.formations, "item": n.items}
    named = {
        "shipments": ("lane", "item"),
        "consumption": ("formation", "item"),
        "production": ("item",),
    }
    for table, columns in named.items():
        rows = tables[table]
        period = rows["period"].to_numpy(dtype=np.int64)
        if (k := _first((period < 0) | (period >= n.n_periods))) is not None:
            raise _misfit(
                f"its {table} row {k + 1} is in period {period[k]}, and this scenario has "
                f"{n.n_periods} periods"
            )
        dates = rows["date"].to_numpy().astype("datetime64[D]")
        if (k := _first(dates != starts[period])) is not None:
            raise _misfit(
                f"its {table} row {k + 1} has period {period[k]} starting {dates[k]}, here it "
                f"starts {starts[period[k]]}"
            )
        for column in columns:
            if (
                k := _first(~rows[column].isin(list(indexes[column].names)).to_numpy())
            ) is not None:
                raise _misfit(
                    f"its {table} row {k + 1} names {column} {rows[column].iloc[k]!r}, which "
                    "this scenario has not"
                )
    ship = tables["shipments"]
    lane = n.lanes.positions(ship["lane"])
    site_names = np.asarray(n.sites.names, dtype=object)
    for end, sites in (("from", n.lane_origin), ("to", n.lane_destination)):
        if (k := _first(ship[end].to_numpy(dtype=object) != site_names[sites[lane]])) is not None:
            raise _misfit(
                f"its shipments row {k + 1} has lane {ship['lane'].iloc[k]!r} {end} "
                f"{ship[end].iloc[k]!r}, here it runs {end} {site_names[sites[lane[k]]]!r}"
            )


def _plan_arrays(
    network: Network, tables: dict[str, pd.DataFrame]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The plan's departures, consumption and production, per day (each period's spread evenly
    over its days)."""
    n = network
    _check_plan_fits(n, tables)
    periods = n.n_periods
    ship = np.zeros((periods, len(n.lanes), len(n.items)))
    s = tables["shipments"]
    np.add.at(
        ship,
        (s["period"].to_numpy(), n.lanes.positions(s["lane"]), n.items.positions(s["item"])),
        s["quantity"].to_numpy(),
    )
    use = np.zeros((periods, len(n.formations), len(n.items)))
    c = tables["consumption"]
    np.add.at(
        use,
        (
            c["period"].to_numpy(),
            n.formations.positions(c["formation"]),
            n.items.positions(c["item"]),
        ),
        c["quantity"].to_numpy(),
    )
    made = np.zeros((periods, len(n.lines)))
    p = tables["production"]
    known = p["line"].isin(list(n.lines.names)).to_numpy()
    np.add.at(
        made,
        (p["period"].to_numpy()[known], n.lines.positions(p["line"][known])),
        p["quantity"].to_numpy()[known],
    )
    return _per_day(ship, n), _per_day(use, n), _per_day(made, n)


def prepare(
    network: Network,
    options: SimulationOptions,
    plan_tables: dict[str, pd.DataFrame] | None = None,
    line_capacity: FloatArray | None = None,
) -> Setup:
    """`line_capacity` (periods, lines) is what the lines can make for the partner (the
    planner's free capacity after order books); the Network's capacity by default."""
    if options.policy == "plan" and plan_tables is None:
        raise ValueError("the plan policy needs a plan")
    n = network
    unknown = [f for f, _ in options.family_shortage_costs if f not in n.families.names]
    if unknown:
        raise ValueError(
            f'no family "{unknown[0]}" for a shortage cost: the families are '
            f"{', '.join(n.families.names)}"
        )
    days = n.n_days
    n_sites, n_items = len(n.sites), len(n.items)
    demand = _per_day(n.demand, n)
    capacity = n.line_capacity if line_capacity is None else line_capacity
    initial = np.zeros((n_sites, n_items))
    np.add.at(initial, (n.stock_site, n.stock_item), n.stock_quantity)
    floor = np.zeros((n_sites, n_items))
    np.add.at(floor, (n.stock_site, n.stock_item), n.stock_floor)
    floor = np.minimum(floor, initial)
    pledges = _pledges_by_day(n)
    lane_closed = np.zeros((days, len(n.lanes)), dtype=bool)
    for closure in options.closures:
        lanes = closed_lanes(n, closure)
        first, last = int(np.floor(closure.start_day)), int(np.ceil(closure.end_day))
        lane_closed[max(first, 0) : max(min(last, days), 0), lanes] = True
    repair = repair_setup(n)
    levels = _policy_levels(n, demand, repair, options)
    pair_formation, pair_family = np.nonzero(n.demand.sum(axis=0) > 0)
    formation_order = np.argsort(-n.formation_priority, kind="stable").astype(np.int64)
    family_items = tuple(
        np.flatnonzero(n.item_family == m).astype(np.int64) for m in range(len(n.families))
    )
    pairs = Pairs(pair_formation.astype(np.int64), pair_family.astype(np.int64))
    inputs = _kernel_inputs(
        n,
        options,
        demand,
        _per_day(capacity, n),
        initial,
        floor,
        pledges,
        lane_closed,
        levels,
        pairs,
        formation_order,
        family_items,
        _plan_arrays(n, plan_tables) if plan_tables is not None else None,
        repair,
    )
    origins = tracked_origins(n, pledges) if options.by_nation else np.zeros(0, np.int64)
    if origins.size:
        inputs = inputs._replace(**_origin_inputs(n, pledges, origins, inputs.stock_cell))
    return Setup(
        network=n,
        options=options,
        n_days=days,
        demand=demand,
        initial=initial,
        floor=floor,
        pair_formation=pairs.formation,
        pair_family=pairs.family,
        formation_order=formation_order,
        family_items=family_items,
        supplier_lane=levels.supplier,
        order_up_to=levels.up_to,
        reorder_at=levels.reorder,
        served=levels.served,
        repair=repair,
        inputs=inputs,
        origins=origins,
    )


@dataclass(frozen=True)
class Pledges:
    """What arrives from pledges, per day, cell (site x items + item) and donor, by day."""

    day_start: IntArray  # (days + 1,) the run of each day's arrivals
    cell: IntArray
    donor: IntArray  # nation
    quantity: FloatArray


def _pledges_by_day(network: Network) -> Pledges:
    """The pledges not cancelled, due inside the horizon, summed per day, cell and donor."""
    n = network
    n_cells, n_nations = len(n.sites) * len(n.items), len(n.nations)
    live = n.pledge_status != PLEDGE_STATUSES.index("cancelled")
    day = n.pledge_day[live].astype(np.int64)
    cell = n.pledge_site[live].astype(np.int64) * len(n.items) + n.pledge_item[live]
    donor = n.pledge_donor[live].astype(np.int64)
    inside = day < n.n_days
    key = (day[inside] * n_cells + cell[inside]) * n_nations + donor[inside]
    keys, where = np.unique(key, return_inverse=True)
    quantity = np.bincount(where, weights=n.pledge_quantity[live][inside], minlength=keys.size)
    kept = quantity != 0.0
    day_cell, donors = np.divmod(keys[kept], n_nations)
    days, cells = np.divmod(day_cell, n_cells)
    return Pledges(
        day_start=np.searchsorted(days, np.arange(n.n_days + 1)).astype(np.int64),
        cell=cells.astype(np.int64),
        donor=donors.astype(np.int64),
        quantity=quantity[kept].astype(np.float64),
    )


def tracked_origins(network: Network, pledges: Pledges) -> IntArray:
    """The nations whose goods a run tells apart: every one that holds stock, pledges
    something arriving within the horizon, or has a line."""
    n = network
    held = n.stock_nation[n.stock_quantity > 0]
    return np.unique(np.concatenate([held, pledges.donor, n.line_nation])).astype(np.int64)


def _origin_inputs(
    network: Network, pledges: Pledges, origins: IntArray, stock_cells: IntArray
) -> dict[str, Any]:
    """The kernel's provenance inputs: the row of each cell that can hold stock, each such
    cell's initial stock by origin (its stocks' owners), each line's and pledge's origin."""
    n = network
    origin_of = np.full(len(n.nations), -1, dtype=np.int64)
    origin_of[origins] = np.arange(origins.size)
    row = np.full(len(n.sites) * len(n.items), -1, dtype=np.int64)
    row[stock_cells] = np.arange(stock_cells.size)
    initial = np.zeros((stock_cells.size, origins.size))
    held = n.stock_quantity > 0
    cell = n.stock_site[held].astype(np.int64) * len(n.items) + n.stock_item[held]
    np.add.at(initial, (row[cell], origin_of[n.stock_nation[held]]), n.stock_quantity[held])
    return {
        "n_origins": int(origins.size),
        "origin_row": row,
        "initial_origin": initial,
        "line_origin": origin_of[n.line_nation],
        "pledge_origin": origin_of[pledges.donor],
    }


@dataclass(frozen=True)
class Pairs:
    """The (formation, family) pairs with demand."""

    formation: IntArray
    family: IntArray


def _csr(
    groups: npt.NDArray[np.integer[Any]],
    members: npt.NDArray[np.integer[Any]],
    n_groups: int,
    n_members: int,
) -> tuple[IntArray, IntArray]:
    """Members listed by group: (start of each group's run, plus the end; the members)."""
    listing = csr_array((np.ones(groups.size), (groups, members)), shape=(n_groups, n_members))
    return listing.indptr.astype(np.int64), listing.indices.astype(np.int64)


def _kernel_inputs(
    n: Network,
    options: SimulationOptions,
    demand: FloatArray,
    line_rate: FloatArray,
    initial: FloatArray,
    floor: FloatArray,
    pledges: Pledges,
    lane_closed: BoolArray,
    levels: Levels,
    pairs: Pairs,
    formation_order: IntArray,
    family_items: tuple[IntArray, ...],
    plan: tuple[FloatArray, FloatArray, FloatArray] | None,
    repair: RepairSetup,
) -> Inputs:
    """The shared figures flattened to what the compiled kernel loops over: only the (lane,
    item) flows that can carry something (the supplier lanes of the pairs that order under a
    policy, the lanes the plan uses under a plan) and the lanes, sites and cells they use,
    pledges as a list per day, demand pairs with their items."""
    days = n.n_days
    n_sites, n_items = len(n.sites), len(n.items)
    supplier, up_to, reorder = levels.supplier, levels.up_to, levels.reorder
    plan_mode = options.policy == "plan"
    if plan_mode:
        assert plan is not None
        plan_ship_dense, plan_use_dense, plan_production = plan
        flow_lane, flow_item = np.nonzero(plan_ship_dense.sum(axis=0) > 0)
        order_site = order_item = np.zeros(0, dtype=np.int64)
        order_in_start = np.zeros(1, dtype=np.int64)
        flow_share = np.zeros(flow_lane.size)
    else:
        order_site, order_item = np.nonzero(supplier >= 0)
        # Farthest from a source first: a site's position then counts what the sites it
        # supplies ordered today, so demand reaches the top of a chain the day it is seen.
        farthest_first = np.lexsort(
            (order_item, order_site, -levels.distance[order_site, order_item])
        )
        order_site, order_item = order_site[farthest_first], order_item[farthest_first]
        # Each pair's supplier lanes, its first supplier first, pair after pair: the flows.
        supply_key = levels.supply_site * n_items + levels.supply_item  # sorted, runs by pair
        order_key = order_site * n_items + order_item
        run_first = np.searchsorted(supply_key, order_key, side="left")
        run_last = np.searchsorted(supply_key, order_key, side="right")
        order_in_start = np.concatenate([[0], np.cumsum(run_last - run_first)]).astype(np.int64)
        runs = np.concatenate(
            [np.arange(a, b) for a, b in zip(run_first, run_last, strict=True)]
            or [np.zeros(0, dtype=np.int64)]
        ).astype(np.int64)
        flow_lane, flow_item = levels.supply_lane[runs], levels.supply_item[runs]
        flow_share = levels.supply_share[runs]
        plan_production = np.zeros((0, len(n.lines)))
    flow_lane, flow_item = flow_lane.astype(np.int64), flow_item.astype(np.int64)
    flow_origin = n.lane_origin[flow_lane].astype(np.int64)
    flow_from = flow_origin * n_items + flow_item
    used_lanes, flow_used_lane = np.unique(flow_lane, return_inverse=True)
    sending_sites, flow_sender = np.unique(flow_origin, return_inverse=True)
    source_cells, flow_source = np.unique(flow_from, return_inverse=True)
    flow_destination = n.lane_destination[flow_lane].astype(np.int64)

    # What each ordering pair owes the sites it supplies (the flows leaving its cell), and the
    # ordering pair that supplies it (-1 where a source does), for echelon positions.
    order_cells = order_site * n_items + order_item
    leaving = np.argsort(flow_from, kind="stable")
    out_first = np.searchsorted(flow_from[leaving], order_cells, side="left")
    out_last = np.searchsorted(flow_from[leaving], order_cells, side="right")
    order_out_start = np.concatenate([[0], np.cumsum(out_last - out_first)]).astype(np.int64)
    order_out_flow = np.concatenate(
        [leaving[a:b] for a, b in zip(out_first, out_last, strict=True)]
        or [np.zeros(0, dtype=np.int64)]
    ).astype(np.int64)
    pair_of_cell = np.full(n_sites * n_items, -1, dtype=np.int64)
    pair_of_cell[order_cells] = np.arange(order_cells.size)
    primary = order_in_start[:-1]
    order_parent = pair_of_cell[flow_from[primary]] if primary.size else primary
    # What a source cannot spare today is taken back, to be ordered from the suppliers that
    # can: it orders nothing itself (only lines and pledges refill it).
    source_cancellable = pair_of_cell[source_cells] < 0
    # What no supplier can spare today is ordered from the depots among them (sites that
    # order for themselves) by their lanes' shares, else from the first supplier.
    flow_rest_share = np.zeros(flow_lane.size)
    if not plan_mode:
        from_depot = pair_of_cell[flow_from] >= 0
        weight = np.where(from_depot, flow_share, 0.0)
        for j in range(primary.size):
            run = slice(order_in_start[j], order_in_start[j + 1])
            total = weight[run].sum()
            if total > 0:
                flow_rest_share[run] = weight[run] / total
            else:
                flow_rest_share[order_in_start[j]] = 1.0
    # Holding cost per unit a day in each cell: the site's rate, or the run's where it names
    # none, by the item's mass.
    site_rate = np.where(np.isnan(n.site_holding_cost), options.holding_cost, n.site_holding_cost)
    cell_holding = (site_rate[:, None] * n.item_mass[None, :]).ravel()

    # Backordered family demand counts against each ordering pair's position, shared evenly
    # among the family's items: the demand pairs of formations at the pair's site.
    factor = n.item_family_factor
    pair_site = n.formation_site[pairs.formation].astype(np.int64)
    order_family = n.item_family[order_item]
    family_size = np.array([family_items[m].size for m in order_family], dtype=np.float64)
    pair_key = pair_site * len(n.families) + pairs.family
    order_key = order_site * len(n.families) + order_family
    match_order, match_pair = np.nonzero(order_key[:, None] == pair_key[None, :])
    backorder_start, backorder_pair = _csr(
        match_order, match_pair, order_site.size, pairs.family.size
    )

    # Pairs in the order they are served: by formation priority, then family.
    rank = np.empty(len(n.formations), dtype=np.int64)
    rank[formation_order] = np.arange(len(n.formations))
    serve_order = np.lexsort((pairs.family, rank[pairs.formation])).astype(np.int64)
    slots = [family_items[m] for m in pairs.family]
    slot_start = np.zeros(pairs.family.size + 1, dtype=np.int64)
    np.cumsum([s.size for s in slots], out=slot_start[1:])
    slot_item = np.concatenate(slots) if slots else np.zeros(0, dtype=np.int64)
    slot_pair = np.repeat(np.arange(pairs.family.size), np.diff(slot_start))
    expected = demand[:, pairs.formation, pairs.family]  # (days, P)
    # The demand of all the formations at each pair's site, in the pair's family.
    at_pair_site = (n.formation_site[None, :] == pair_site[:, None]).astype(np.float64)
    site_need = np.einsum("pf,dfp->dp", at_pair_site, demand[:, :, pairs.family])

    asset_lane, asset = csr_array(n.lane_assets[used_lanes]).nonzero()
    lane_asset_start, lane_asset = _csr(asset_lane, asset, used_lanes.size, len(n.assets))
    types = np.unique(repair.system)
    type_of_pair = np.searchsorted(types, repair.system).astype(np.int64)
    with_part = (repair.part >= 0) & (repair.hub >= 0)
    return Inputs(
        n_days=days,
        n_items=n_items,
        n_sites=n_sites,
        plan_mode=plan_mode,
        backorders=options.backorders,
        echelon=options.position == "echelon",
        counts_holding=bool((cell_holding != 0.0).any()),
        initial=initial.ravel().copy(),
        floor=floor.ravel().copy(),
        cell_holding=cell_holding.astype(np.float64),
        flow_lane=flow_lane,
        flow_item=flow_item,
        flow_from=flow_from,
        flow_to=flow_destination * n_items + flow_item,
        flow_mass=n.item_mass[flow_item].astype(np.float64),
        flow_used_lane=flow_used_lane.astype(np.int64),
        flow_sender=flow_sender.astype(np.int64),
        flow_source=flow_source.astype(np.int64),
        used_lanes=used_lanes.astype(np.int64),
        sending_sites=sending_sites.astype(np.int64),
        source_cells=source_cells.astype(np.int64),
        source_cancellable=source_cancellable,
        lane_rate=np.ascontiguousarray(_per_day(n.lane_capacity[:, used_lanes], n)),
        lane_closed=np.ascontiguousarray(lane_closed[:, used_lanes]),
        lane_asset_start=lane_asset_start,
        lane_asset=lane_asset,
        site_throughput=n.site_throughput.astype(np.float64),
        line_cell=(n.line_site * n_items + n.line_item).astype(np.int64),
        line_item=n.line_item.astype(np.int64),
        line_rate=np.ascontiguousarray(line_rate),
        plan_production=np.ascontiguousarray(plan_production),
        pledge_start=pledges.day_start,
        pledge_cell=pledges.cell,
        pledge_item=pledges.cell % n_items,
        pledge_quantity=pledges.quantity,
        order_cell=order_cells.astype(np.int64),
        order_in_start=order_in_start,
        flow_rest_share=flow_rest_share,
        order_out_start=order_out_start,
        order_out_flow=order_out_flow,
        order_parent=order_parent.astype(np.int64),
        order_level=reorder[order_site, order_item],
        order_target=up_to[order_site, order_item],
        order_per_item=1.0 / (family_size * factor[order_item]),
        order_backorder_start=backorder_start,
        order_backorder_pair=backorder_pair,
        plan_ship=(
            np.ascontiguousarray(plan_ship_dense[:, flow_lane, flow_item])
            if plan_mode
            else np.zeros((0, flow_lane.size))
        ),
        pair_formation=pairs.formation,
        pair_site=pair_site,
        pair_weight=n.formation_priority[pairs.formation] * n.family_criticality()[pairs.family],
        expected=np.ascontiguousarray(expected),
        site_need=np.ascontiguousarray(site_need),
        serve_order=serve_order,
        slot_start=slot_start,
        slot_item=slot_item.astype(np.int64),
        slot_factor=factor[slot_item].astype(np.float64),
        plan_use=(
            np.ascontiguousarray(plan_use_dense[:, pairs.formation[slot_pair], slot_item])
            if plan_mode
            else np.zeros((0, slot_item.size))
        ),
        repair_hub=repair.hub,
        repair_to_days=repair.to_days,
        repair_days=repair.repair_days,
        repair_back_days=repair.back_days,
        repair_rate=repair.rate.astype(np.float64),
        repair_fleet=repair.fleet.astype(np.float64),
        repair_part_cell=np.where(
            with_part, repair.hub * n_items + np.maximum(repair.part, 0), -1
        ).astype(np.int64),
        repair_part_item=np.maximum(repair.part, 0).astype(np.int64),
        repair_parts_per_repair=repair.parts_per_repair.astype(np.float64),
        repair_type=type_of_pair,
        type_fleet=np.bincount(type_of_pair, weights=repair.fleet, minlength=types.size).astype(
            np.float64
        ),
        hub_capacity=repair.hub_capacity.astype(np.float64),
        stock_cell=_stock_cells(n, initial, pledges, order_cells, flow_from, flow_destination),
    )

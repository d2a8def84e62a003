"""The planning LP, assembled straight from the Network's index arrays.

Variables (each a block of columns, described by index arrays):

- `ship`    quantity of item i leaving on lane l in period t, spread over its days and arriving
            the lane's transit later (split between the periods its arrivals fall in);
- `inv`     inventory of item i at site s at the end of period t (lower bound: the floor);
- `prod`    output of production line k in period t (upper bound: its capacity);
- `use`     consumption of item i by formation f in period t (only items of a family the
            formation's systems can use);
- `short`   shortfall of family m at formation f in period t;
- `repair`  systems of type y repaired at repair hub h in period t (using spare parts there),
            ready at the hub after the repair time;
- `move`    damaged or repaired systems of type y leaving on lane l in period t (see fleet.py);
- `hold`    damaged or repaired systems of type y at site s at the end of period t;
- `return`  repaired systems of type y handed back to formations at site s in period t;
- `avail`   systems of type y in service at the end of period t.

Constraints (each a block of rows): conservation of every (site, item) in every period with
transit lags; conservation of damaged and repaired systems (failures, a share of the systems in
service, appear at the formations' sites); systems in service (less failures, plus returns);
lane capacity (mass of items and systems together, scaled by the open share of the
period); site handling in and out; storage; demand = use + shortfall per family; repair-hub
capacity.

Objective, in order of importance (weights in PlanOptions): priority-weighted shortfall
(formation priority x family criticality), made up to `lateness_weight` dearer in the first
period than in the last (a unit delivered earlier is worth more); systems out of action other
other than in repair (damaged and waiting or travelling, repaired and not yet back), by the
grid's count of days; transport cost.

Only (lane, item) pairs that lie on some path from a source of the item to a place that can use
it get shipment variables, and only (site, item) pairs on such paths get inventory: this keeps
the model to what can matter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csc_array

from sustain.arrays import BoolArray, FloatArray, IndexArray, IntArray
from sustain.capacity import added_capacity
from sustain.facts import open_share, paths_to_demand
from sustain.network import PLEDGE_STATUSES, Network
from sustain.options import PlanOptions
from sustain.plan.fleet import DAMAGED, REPAIRED, FleetIndex, fleet_index
from sustain.timegrid import arrival_bucket, days_away, departures_inside, place_lag

STAGES = ("shortfall", "lateness", "cost")
# Under the fair allocation, each formation's share short in a period costs more the larger it
# is: the marginal weight of a unit short is 1, 2, ... FAIR_STEPS times the linear one over
# successive equal steps of the share (a convex piecewise-linear penalty).
FAIR_STEPS = 4


@dataclass(frozen=True)
class Block:
    """A contiguous range of columns or rows."""

    start: int
    size: int

    @property
    def stop(self) -> int:
        return self.start + self.size

    def slice(self) -> slice:
        return slice(self.start, self.stop)

    def positions(self) -> IntArray:
        """The block's column (or row) positions."""
        return np.arange(self.start, self.stop)


def _no_index() -> IndexArray:
    return np.zeros(0, np.int64)


def _no_values() -> FloatArray:
    return np.zeros(0)


@dataclass
class Model:
    """The LP in arrays, and the index arrays that say what each column and row is."""

    network: Network
    options: PlanOptions
    n_periods: int
    # columns
    ship_lane: IndexArray = field(default_factory=_no_index)
    ship_item: IndexArray = field(default_factory=_no_index)
    ship_period: IndexArray = field(default_factory=_no_index)
    inv_site: IndexArray = field(default_factory=_no_index)
    inv_item: IndexArray = field(default_factory=_no_index)
    inv_period: IndexArray = field(default_factory=_no_index)
    prod_line: IndexArray = field(default_factory=_no_index)
    prod_period: IndexArray = field(default_factory=_no_index)
    use_formation: IndexArray = field(default_factory=_no_index)
    use_item: IndexArray = field(default_factory=_no_index)
    use_period: IndexArray = field(default_factory=_no_index)
    short_formation: IndexArray = field(default_factory=_no_index)
    short_family: IndexArray = field(default_factory=_no_index)
    short_period: IndexArray = field(default_factory=_no_index)
    short_weight: FloatArray = field(default_factory=_no_values)
    fair_short: IndexArray = field(default_factory=_no_index)  # the short column's position
    fair_step: IndexArray = field(default_factory=_no_index)  # 1 .. FAIR_STEPS - 1
    repair_hub: IndexArray = field(default_factory=_no_index)
    repair_system: IndexArray = field(default_factory=_no_index)
    repair_period: IndexArray = field(default_factory=_no_index)
    move_lane: IndexArray = field(default_factory=_no_index)
    move_cargo: IndexArray = field(default_factory=_no_index)  # see FleetIndex.cargo
    move_period: IndexArray = field(default_factory=_no_index)
    hold_site: IndexArray = field(default_factory=_no_index)
    hold_cargo: IndexArray = field(default_factory=_no_index)
    hold_period: IndexArray = field(default_factory=_no_index)
    return_site: IndexArray = field(default_factory=_no_index)
    return_slot: IndexArray = field(default_factory=_no_index)
    return_period: IndexArray = field(default_factory=_no_index)
    avail_slot: IndexArray = field(default_factory=_no_index)
    avail_period: IndexArray = field(default_factory=_no_index)
    fleet: FleetIndex | None = None
    columns: dict[str, Block] = field(default_factory=dict)
    rows: dict[str, Block] = field(default_factory=dict)
    # rows that carry capacities (for bottlenecks and re-solves)
    lane_row_lane: IndexArray = field(default_factory=_no_index)
    lane_row_period: IndexArray = field(default_factory=_no_index)
    site_out_row_site: IndexArray = field(default_factory=_no_index)
    site_out_row_period: IndexArray = field(default_factory=_no_index)
    site_in_row_site: IndexArray = field(default_factory=_no_index)
    site_in_row_period: IndexArray = field(default_factory=_no_index)
    storage_row_site: IndexArray = field(default_factory=_no_index)
    storage_row_period: IndexArray = field(default_factory=_no_index)
    hub_row_site: IndexArray = field(default_factory=_no_index)
    hub_row_period: IndexArray = field(default_factory=_no_index)
    # the LP
    # The objective's parts (STAGES), each a cost per column, minimised in order.
    objectives: dict[str, FloatArray] = field(default_factory=dict)
    col_lower: FloatArray = field(default_factory=_no_values)
    col_upper: FloatArray = field(default_factory=_no_values)
    row_lower: FloatArray = field(default_factory=_no_values)
    row_upper: FloatArray = field(default_factory=_no_values)
    matrix: csc_array | None = None
    lane_capacity: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    invest_added: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))  # (options, T)
    invest_line_of: IndexArray = field(default_factory=_no_index)
    initial: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))  # (sites, items)
    # What the conservation rows' right-hand sides are made of: each stock and pledge, its
    # row, its owner or donor nation, its quantity, and whether it is a pledge.
    injection_row: IndexArray = field(default_factory=_no_index)
    injection_nation: IndexArray = field(default_factory=_no_index)
    injection_quantity: FloatArray = field(default_factory=_no_values)
    injection_pledged: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    floor: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))  # (sites, items)

    @property
    def cost(self) -> FloatArray:
        """The objective's parts added up: the single objective of a blended solve."""
        total: FloatArray = sum(self.objectives.values(), start=np.zeros(self.col_lower.size))
        return total

    @property
    def n_columns(self) -> int:
        return int(self.col_lower.size)

    @property
    def n_rows(self) -> int:
        return int(self.row_lower.size)


def _expand(counts: IndexArray) -> tuple[IndexArray, IndexArray]:
    """For groups of sizes `counts`: (group of each element, position within its group)."""
    group = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(group.size) - starts[group]


class _Triplets:
    """Coefficients gathered block by block, turned into one sparse matrix at the end."""

    def __init__(self) -> None:
        self.rows: list[IndexArray] = []
        self.cols: list[IndexArray] = []
        self.vals: list[FloatArray] = []

    def add(self, rows: IndexArray, cols: IndexArray, vals: FloatArray | float) -> None:
        self.rows.append(np.asarray(rows, dtype=np.int64))
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), np.shape(rows)))

    def matrix(self, n_rows: int, n_cols: int) -> csc_array:
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, np.int64)
        cols = np.concatenate(self.cols) if self.cols else np.zeros(0, np.int64)
        vals = np.concatenate(self.vals) if self.vals else np.zeros(0)
        return csc_array((vals, (rows, cols)), shape=(n_rows, n_cols))


@dataclass(frozen=True)
class Arrivals:
    """Where flows arrive: one part per (flow, period its arrivals fall in)."""

    flow: IndexArray  # position of the flow in its block
    destination: IndexArray
    period: IndexArray
    share: FloatArray  # of the flow


def _stocks_and_flows(
    triplets: _Triplets,
    row_of: Callable[[IndexArray, IndexArray, IndexArray], IndexArray],
    stocks: tuple[IndexArray, IndexArray, IndexArray, IndexArray],
    flows: tuple[IndexArray, IndexArray, IndexArray, IndexArray],
    network: Network,
    lags: str,
) -> tuple[IndexArray, Arrivals]:
    """Coefficients of stocks (columns, site, cargo, period) carried from period to period, and
    of flows (columns, lane, cargo, period) leaving their origin and reaching their destination
    the lane's transit later (placed by `lags`, timegrid.place_lag), in the conservation rows
    `row_of(site, cargo, period)`. Returns each flow's origin, and its arrivals."""
    columns, site, cargo, period = stocks
    triplets.add(row_of(site, cargo, period), columns, 1.0)
    carry = period + 1 < network.n_periods
    triplets.add(row_of(site[carry], cargo[carry], period[carry] + 1), columns[carry], -1.0)
    columns, lane, cargo, period = flows
    origin = network.lane_origin[lane].astype(np.int64)
    flow, arrival, share = place_lag(
        network.period_edges, period, network.lane_transit_days[lane], lags
    )
    destination = network.lane_destination[lane[flow]].astype(np.int64)
    triplets.add(row_of(origin, cargo, period), columns, 1.0)
    triplets.add(row_of(destination, cargo[flow], arrival), columns[flow], -share)
    return origin, Arrivals(flow, destination, arrival, share)


INVESTMENT_MODES = ("none", "relax", "whole")


def _objectives(model: Model, n_cols: int) -> dict[str, FloatArray]:
    """The objective's parts per column. Shortfall: priority x criticality x shortfall_weight
    per unit short, and each system out of action its type's value a day (held at the end of a
    period for the period's days, on a lane for the transit). Lateness: the same shortfall
    weight x up to `lateness_weight` more in the first period than in the last, falling
    linearly. Cost: euros of transport and investment, each with its weight."""
    n, options, col = model.network, model.options, model.columns
    fleet = model.fleet
    assert fleet is not None
    shortfall, lateness, cost = np.zeros(n_cols), np.zeros(n_cols), np.zeros(n_cols)
    n_periods = model.n_periods
    shortfall[col["short"].slice()] = options.shortfall_weight * model.short_weight
    # Each excess over a step of the share short adds the linear weight once more.
    shortfall[col["fair"].slice()] = options.shortfall_weight * model.short_weight[model.fair_short]
    earliness = (n_periods - 1 - model.short_period) / max(n_periods - 1, 1)
    lateness[col["short"].slice()] = (
        options.shortfall_weight * model.short_weight * options.lateness_weight * earliness
    )
    # A system out of action other than in repair counts its days: held at the end of a period
    # for the period's days; on a lane from its period's start to the start of the period it
    # is placed in on arrival, as the lags rule places it (with the transit's days instead, a
    # rule that places arrivals later would make lanes a cheaper place to wait than holds).
    slot_value = options.repair_weight * np.tile(fleet.value, 2)  # per cargo
    shortfall[col["move"].slice()] = slot_value[model.move_cargo] * days_away(
        n.period_edges, model.move_period, n.lane_transit_days[model.move_lane], options.lags
    )
    shortfall[col["hold"].slice()] = (
        slot_value[model.hold_cargo] * n.period_length[model.hold_period]
    )
    system_mass = np.tile(n.system_mass[fleet.systems], 2)  # per cargo
    cost[col["ship"].slice()] = (
        options.cost_weight * n.lane_cost[model.ship_lane] * n.item_mass[model.ship_item]
    )
    cost[col["move"].slice()] = options.cost_weight * (
        n.lane_cost[model.move_lane] * system_mass[model.move_cargo]
    )
    cost[col["invest"].slice()] = options.investment_weight * n.invest_cost[: col["invest"].size]
    return dict(zip(STAGES, (shortfall, lateness, cost), strict=True))


class _Rows:
    """The rows of the LP gathered block by block: each block's bounds, and the coefficients
    of every block (one sparse matrix at the end)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.triplets = _Triplets()
        self.lower: list[FloatArray] = []
        self.upper: list[FloatArray] = []
        self.count = 0

    def add(self, name: str, lower: FloatArray, upper: FloatArray) -> int:
        """A block of rows with these bounds; returns the first row's index."""
        self.model.rows[name] = Block(self.count, int(lower.size))
        self.lower.append(lower)
        self.upper.append(upper)
        first = self.count
        self.count += int(lower.size)
        return first

    def coefficients(self, rows: IndexArray, cols: IndexArray, vals: FloatArray | float) -> None:
        self.triplets.add(rows, cols, vals)


@dataclass
class _Layout:
    """What the blocks of columns and rows share while the model is built: where each item
    and system can be, and the positions of the pairs the conservation rows are kept for."""

    on_path: BoolArray  # (items, sites)
    pair_id: IndexArray  # (sites, items) -> (site, item) pair of the conservation rows, or -1
    fleet_pair: IndexArray = field(default_factory=_no_index)  # (sites, cargoes) -> pair or -1
    repair_slot: IndexArray = field(default_factory=_no_index)  # per repair column
    # Filled by the conservation rows: each shipment's and system move's origin and arrivals.
    origin: IndexArray = field(default_factory=_no_index)
    arrivals: Arrivals | None = None
    move_origin: IndexArray = field(default_factory=_no_index)
    move_arrivals: Arrivals | None = None


def _columns(model: Model, block: str) -> IndexArray:
    return model.columns[block].positions()


def build(network: Network, options: PlanOptions, base_capacity: FloatArray | None = None) -> Model:
    """Assemble the LP for a Network. With investment decisions, `network` has every option
    made (sustain.capacity.with_investments) and `base_capacity` (periods, lines) is each
    line's capacity without them. Each family of columns and of rows is its own function
    (the module docstring lists them)."""
    model = Model(network=network, options=options, n_periods=network.n_periods)
    layout = _item_columns(model)
    _fleet_columns(model, layout)
    _lay_out_columns(model, base_capacity)
    rows = _Rows(model)
    _conservation_rows(model, rows, layout)
    _fleet_rows(model, rows, layout)
    _in_service_rows(model, rows)
    _lane_and_handling_rows(model, rows, layout)
    _storage_rows(model, rows, layout)
    _demand_rows(model, rows)
    _repair_hub_rows(model, rows)
    if base_capacity is not None and model.columns["invest"].size:
        _investment_rows(model, rows, base_capacity)
    model.row_lower = np.concatenate(rows.lower)
    model.row_upper = np.concatenate(rows.upper)
    model.matrix = rows.triplets.matrix(rows.count, model.n_columns)
    return model


def _item_columns(model: Model) -> _Layout:
    """Shipments, inventories, production, use and shortfall: only where an item can be, on a
    path from a source of it to a formation that uses it."""
    n, options, n_periods = model.network, model.options, model.n_periods
    n_sites, n_items = len(n.sites), len(n.items)
    on_path = paths_to_demand(n)
    initial = np.zeros((n_sites, n_items))
    np.add.at(initial, (n.stock_site, n.stock_item), n.stock_quantity)
    floor = np.zeros((n_sites, n_items))
    np.add.at(floor, (n.stock_site, n.stock_item), n.stock_floor)
    model.initial, model.floor = initial, np.minimum(floor, initial)

    # Shipments: (lane, item) pairs on a path, for every period whose arrival is in the horizon.
    usable = on_path[:, n.lane_origin].T & on_path[:, n.lane_destination].T  # (lanes, items)
    pair_lane, pair_item = np.nonzero(usable)
    departures = departures_inside(n.period_edges, n.lane_transit_days, options.lags)
    group, offset = _expand(departures[pair_lane])
    model.ship_lane, model.ship_item, model.ship_period = pair_lane[group], pair_item[group], offset

    inv_item_pair, inv_site_pair = np.nonzero(on_path)
    pair_id = np.full((n_sites, n_items), -1, dtype=np.int64)
    pair_id[inv_site_pair, inv_item_pair] = np.arange(inv_site_pair.size)
    model.inv_site = np.repeat(inv_site_pair, n_periods)
    model.inv_item = np.repeat(inv_item_pair, n_periods)
    model.inv_period = np.tile(np.arange(n_periods), inv_site_pair.size)

    lines = np.flatnonzero(on_path[n.line_item, n.line_site])
    model.prod_line = np.repeat(lines, n_periods)
    model.prod_period = np.tile(np.arange(n_periods), lines.size)

    demand = n.demand  # (periods, formations, families)
    d_t, d_f, d_m = np.nonzero(demand > 0)
    model.short_formation, model.short_family, model.short_period = d_f, d_m, d_t
    if options.allocation == "fair":
        steps = np.arange(1, FAIR_STEPS)
        model.fair_short = np.repeat(np.arange(d_t.size), steps.size)
        model.fair_step = np.tile(steps, d_t.size)
    # use: every item of the demanded family that can reach the formation's site
    item_of_family = [np.flatnonzero(n.item_family == m) for m in range(len(n.families))]
    use_pairs_f, use_pairs_i = [], []
    for f in range(len(n.formations)):
        for m in np.flatnonzero(demand[:, f, :].sum(axis=0) > 0):
            items = item_of_family[m]
            items = items[on_path[items, n.formation_site[f]]]
            use_pairs_f.append(np.full(items.size, f))
            use_pairs_i.append(items)
    uf = np.concatenate(use_pairs_f) if use_pairs_f else np.zeros(0, np.int64)
    ui = np.concatenate(use_pairs_i) if use_pairs_i else np.zeros(0, np.int64)
    model.use_formation = np.repeat(uf, n_periods).astype(np.int64)
    model.use_item = np.repeat(ui, n_periods).astype(np.int64)
    model.use_period = np.tile(np.arange(n_periods), uf.size)
    keep = demand[model.use_period, model.use_formation, n.item_family[model.use_item]] > 0
    model.use_formation, model.use_item = model.use_formation[keep], model.use_item[keep]
    model.use_period = model.use_period[keep]
    return _Layout(on_path=on_path, pair_id=pair_id)


def _fleet_columns(model: Model, layout: _Layout) -> None:
    """Damaged and repaired systems: repairs at hubs that can reach them (with parts on hand),
    their moves and holdings, returns to formations, and the systems in service."""
    n, options, n_periods = model.network, model.options, model.n_periods
    fleet = fleet_index(n, layout.on_path.T)
    model.fleet = fleet
    k = fleet.n_slots
    hub, slot = np.nonzero(fleet.can_repair)
    model.repair_hub = np.repeat(hub, n_periods).astype(np.int64)
    model.repair_system = np.repeat(fleet.systems[slot], n_periods)
    layout.repair_slot = np.repeat(slot, n_periods)
    model.repair_period = np.tile(np.arange(n_periods), hub.size)
    movable = (
        fleet.on_path[:, n.lane_origin].T & fleet.on_path[:, n.lane_destination].T
    )  # (lanes, cargoes)
    pair_lane, pair_cargo = np.nonzero(movable)
    departures = departures_inside(n.period_edges, n.lane_transit_days, options.lags)
    group, offset = _expand(departures[pair_lane])
    model.move_lane, model.move_cargo = pair_lane[group], pair_cargo[group]
    model.move_period = offset
    hold_cargo_pair, hold_site_pair = np.nonzero(fleet.on_path)
    layout.fleet_pair = np.full((len(n.sites), 2 * k), -1, dtype=np.int64)
    layout.fleet_pair[hold_site_pair, hold_cargo_pair] = np.arange(hold_site_pair.size)
    model.hold_site = np.repeat(hold_site_pair, n_periods)
    model.hold_cargo = np.repeat(hold_cargo_pair, n_periods)
    model.hold_period = np.tile(np.arange(n_periods), hold_site_pair.size)
    back_site, back_slot = np.nonzero(fleet.holds & fleet.on_path[k:].T)
    model.return_site = np.repeat(back_site, n_periods)
    model.return_slot = np.repeat(back_slot, n_periods)
    model.return_period = np.tile(np.arange(n_periods), back_site.size)
    model.avail_slot = np.repeat(np.arange(k), n_periods)
    model.avail_period = np.tile(np.arange(n_periods), k)


def _lay_out_columns(model: Model, base_capacity: FloatArray | None) -> None:
    """Every block of columns in order, their bounds and the objective's parts."""
    n = model.network
    sizes = {
        "ship": model.ship_lane.size,
        "inv": model.inv_site.size,
        "prod": model.prod_line.size,
        "use": model.use_item.size,
        "short": model.short_period.size,
        "repair": model.repair_hub.size,
        "move": model.move_lane.size,
        "hold": model.hold_site.size,
        "return": model.return_site.size,
        "avail": model.avail_slot.size,
        "invest": len(n.investments) if base_capacity is not None else 0,
        "fair": model.fair_short.size,
    }
    start = 0
    for name, size in sizes.items():
        model.columns[name] = Block(start, int(size))
        start += int(size)
    col = model.columns
    lower = np.zeros(start)
    upper = np.full(start, np.inf)
    model.col_lower = lower
    # Weighted shortfall: priority x criticality per unit short (lateness apart).
    model.short_weight = (
        n.formation_priority[model.short_formation] * n.family_criticality()[model.short_family]
    )
    model.objectives = _objectives(model, start)
    upper[col["invest"].slice()] = 1.0
    lower[col["inv"].slice()] = model.floor[model.inv_site, model.inv_item]
    upper[col["prod"].slice()] = n.line_capacity[model.prod_period, model.prod_line]
    model.col_lower, model.col_upper = lower, upper


def _conservation_rows(model: Model, rows: _Rows, layout: _Layout) -> None:
    """Conservation at every (site, item, period) on a path: stock carried in, arrivals,
    production, stocks and pledges placed there = stock carried on, departures, use, spare
    parts for repairs."""
    n, options, n_periods = model.network, model.options, model.n_periods
    pair_id = layout.pair_id
    n_pairs = model.inv_site.size // max(n_periods, 1)
    injection = np.zeros((n_pairs, n_periods))
    first_of_pair = model.inv_period == 0
    injection[:, 0] = model.initial[model.inv_site[first_of_pair], model.inv_item[first_of_pair]]
    live = n.pledge_status != PLEDGE_STATUSES.index("cancelled")
    p_pair = pair_id[n.pledge_site[live], n.pledge_item[live]]
    p_period = arrival_bucket(n.period_edges, n.pledge_day[live], options.lags)
    p_ok = (p_pair >= 0) & (p_period < n_periods)
    np.add.at(injection, (p_pair[p_ok], p_period[p_ok]), n.pledge_quantity[live][p_ok])
    base = rows.add("balance", injection.ravel(), injection.ravel())
    # Whose each injection is (a stock's owner, a pledge's donor): the plan's provenance.
    s_pair = pair_id[n.stock_site, n.stock_item]
    s_ok = s_pair >= 0
    model.injection_row = base + np.concatenate(
        [s_pair[s_ok] * n_periods, p_pair[p_ok] * n_periods + p_period[p_ok]]
    )
    model.injection_nation = np.concatenate(
        [n.stock_nation[s_ok], n.pledge_donor[live][p_ok]]
    ).astype(np.int64)
    model.injection_quantity = np.concatenate(
        [n.stock_quantity[s_ok], n.pledge_quantity[live][p_ok]]
    )
    model.injection_pledged = np.concatenate(
        [np.zeros(int(s_ok.sum()), dtype=bool), np.ones(int(p_ok.sum()), dtype=bool)]
    )

    def balance_row(site: IndexArray, item: IndexArray, period: IndexArray) -> IndexArray:
        return base + pair_id[site, item] * n_periods + period

    layout.origin, layout.arrivals = _stocks_and_flows(
        rows.triplets,
        balance_row,
        (_columns(model, "inv"), model.inv_site, model.inv_item, model.inv_period),
        (_columns(model, "ship"), model.ship_lane, model.ship_item, model.ship_period),
        n,
        options.lags,
    )
    rows.coefficients(
        balance_row(
            n.line_site[model.prod_line].astype(np.int64),
            n.line_item[model.prod_line].astype(np.int64),
            model.prod_period,
        ),
        _columns(model, "prod"),
        -1.0,
    )
    use_site = n.formation_site[model.use_formation].astype(np.int64)
    rows.coefficients(
        balance_row(use_site, model.use_item, model.use_period), _columns(model, "use"), 1.0
    )
    part = n.system_spare_part[model.repair_system].astype(np.int64)
    with_part = part >= 0
    rows.coefficients(
        balance_row(model.repair_hub[with_part], part[with_part], model.repair_period[with_part]),
        _columns(model, "repair")[with_part],
        n.system_spare_parts_per_repair[model.repair_system[with_part]],
    )


def _fleet_rows(model: Model, rows: _Rows, layout: _Layout) -> None:
    """Conservation of damaged and repaired systems at every (site, type, period) they can be:
    failures appear at the formations' sites, repairs turn damaged into repaired after the
    repair time, returns hand repaired systems back to formations. Failures come from the
    systems in service at the start of each period (the `avail` columns): in the first period
    from the whole fleet, a constant."""
    n, options, n_periods = model.network, model.options, model.n_periods
    fleet = model.fleet
    assert fleet is not None
    k = fleet.n_slots
    fleet_pair = layout.fleet_pair
    first_of_pair = model.hold_period == 0
    hold_site_pair, hold_cargo_pair = (
        model.hold_site[first_of_pair],
        model.hold_cargo[first_of_pair],
    )
    failing = np.zeros((hold_site_pair.size, n_periods))
    damaged = hold_cargo_pair < k  # the cargo is then the type's slot
    site, slot = hold_site_pair[damaged], hold_cargo_pair[damaged]
    failing[damaged, 0] = fleet.site_share[site, slot] * fleet.hazard[slot, 0] * fleet.size[slot]
    fleet_base = rows.add("fleet", failing.ravel(), failing.ravel())

    def fleet_row(site: IndexArray, cargo: IndexArray, period: IndexArray) -> IndexArray:
        return fleet_base + fleet_pair[site, cargo] * n_periods + period

    repair_cols = _columns(model, "repair")
    repair_slot = layout.repair_slot
    layout.move_origin, layout.move_arrivals = _stocks_and_flows(
        rows.triplets,
        fleet_row,
        (_columns(model, "hold"), model.hold_site, model.hold_cargo, model.hold_period),
        (_columns(model, "move"), model.move_lane, model.move_cargo, model.move_period),
        n,
        options.lags,
    )
    rows.coefficients(
        fleet_row(model.repair_hub, fleet.cargo(DAMAGED, repair_slot), model.repair_period),
        repair_cols,
        1.0,
    )
    # Repairs started over a period are ready the repair time later, split like arrivals.
    part, ready, share = place_lag(
        n.period_edges, model.repair_period, fleet.repair_days[repair_slot], options.lags
    )
    rows.coefficients(
        fleet_row(model.repair_hub[part], fleet.cargo(REPAIRED, repair_slot[part]), ready),
        repair_cols[part],
        -share,
    )
    rows.coefficients(
        fleet_row(model.return_site, fleet.cargo(REPAIRED, model.return_slot), model.return_period),
        _columns(model, "return"),
        1.0,
    )
    holder_site, holder_slot = np.nonzero(fleet.site_share > 0)
    group, offset = _expand(np.full(holder_site.size, max(n_periods - 1, 0)))
    site_of, slot_of, period_of = holder_site[group], holder_slot[group], offset + 1
    rows.coefficients(
        fleet_row(site_of, fleet.cargo(DAMAGED, slot_of), period_of),
        model.columns["avail"].start + slot_of * n_periods + period_of - 1,
        -fleet.site_share[site_of, slot_of] * fleet.hazard[slot_of, period_of],
    )


def _in_service_rows(model: Model, rows: _Rows) -> None:
    """Systems in service: available now = available before x (1 - hazard) + returns (the
    damaged rows of the holders' sites take their share of hazard x available before)."""
    fleet = model.fleet
    assert fleet is not None
    n_periods = model.n_periods
    avail_cols = _columns(model, "avail")
    survive = 1.0 - fleet.hazard[model.avail_slot, model.avail_period]
    in_service = np.zeros(model.avail_slot.size)
    first_period = model.avail_period == 0
    in_service[first_period] = survive[first_period] * fleet.size[model.avail_slot[first_period]]
    avail_base = rows.add("available", in_service, in_service)
    rows.coefficients(avail_base + np.arange(avail_cols.size), avail_cols, 1.0)
    later = ~first_period
    rows.coefficients(avail_base + np.flatnonzero(later), avail_cols[later] - 1, -survive[later])
    rows.coefficients(
        avail_base + model.return_slot * n_periods + model.return_period,
        _columns(model, "return"),
        -1.0,
    )


def _lane_and_handling_rows(model: Model, rows: _Rows, layout: _Layout) -> None:
    """Lane capacity (the mass of every item and system leaving on a lane in a period, scaled
    by the share of the period it is open), and handling at sites with a throughput limit:
    out (departures) and in (arrivals)."""
    n, n_periods = model.network, model.n_periods
    fleet, arrivals, move_arrivals = model.fleet, layout.arrivals, layout.move_arrivals
    assert fleet is not None and arrivals is not None and move_arrivals is not None
    ship_cols, move_cols = _columns(model, "ship"), _columns(model, "move")
    carried_lane = np.concatenate([model.ship_lane, model.move_lane])
    carried_period = np.concatenate([model.ship_period, model.move_period])
    carried_cols = np.concatenate([ship_cols, move_cols])
    mass = n.item_mass[model.ship_item]
    system_mass = np.tile(n.system_mass[fleet.systems], 2)  # per cargo
    carried_mass = np.concatenate([mass, system_mass[model.move_cargo]])
    model.lane_capacity = n.lane_capacity * open_share(n, model.options.closures)
    keys, lane_row = np.unique(carried_lane * n_periods + carried_period, return_inverse=True)
    model.lane_row_lane, model.lane_row_period = keys // n_periods, keys % n_periods
    first = rows.add(
        "lane",
        np.full(keys.size, -np.inf),
        model.lane_capacity[model.lane_row_period, model.lane_row_lane],
    )
    rows.coefficients(first + lane_row, carried_cols, carried_mass)

    limited = np.isfinite(n.site_throughput)
    arriving = np.concatenate([arrivals.flow, ship_cols.size + move_arrivals.flow])
    for name, site, period, position, weight in (
        (
            "site_out",
            np.concatenate([layout.origin, layout.move_origin]),
            carried_period,
            np.arange(carried_cols.size),
            carried_mass,
        ),
        (
            "site_in",
            np.concatenate([arrivals.destination, move_arrivals.destination]),
            np.concatenate([arrivals.period, move_arrivals.period]),
            arriving,
            carried_mass[arriving] * np.concatenate([arrivals.share, move_arrivals.share]),
        ),
    ):
        sel = limited[site]
        keys, at = np.unique(site[sel] * n_periods + period[sel], return_inverse=True)
        row_site, row_period = keys // n_periods, keys % n_periods
        first = rows.add(
            name,
            np.full(keys.size, -np.inf),
            n.site_throughput[row_site] * n.period_length[row_period],
        )
        rows.coefficients(first + at, carried_cols[position[sel]], weight[sel])
        setattr(model, f"{name}_row_site", row_site)
        setattr(model, f"{name}_row_period", row_period)


def _storage_rows(model: Model, rows: _Rows, layout: _Layout) -> None:
    """Storage: the mass held at the end of each period, less what lies there off every
    path."""
    n, n_periods = model.network, model.n_periods
    stored = np.isfinite(n.site_storage)
    sel = stored[model.inv_site]
    keys, at = np.unique(
        model.inv_site[sel] * n_periods + model.inv_period[sel], return_inverse=True
    )
    model.storage_row_site, model.storage_row_period = keys // n_periods, keys % n_periods
    off_path_mass = ((model.initial * ~layout.on_path.T) * n.item_mass[None, :]).sum(axis=1)
    first = rows.add(
        "storage",
        np.full(keys.size, -np.inf),
        n.site_storage[model.storage_row_site] - off_path_mass[model.storage_row_site],
    )
    rows.coefficients(first + at, _columns(model, "inv")[sel], n.item_mass[model.inv_item[sel]])


def _demand_rows(model: Model, rows: _Rows) -> None:
    """Demand: compatible use (in family units) plus shortfall equals demand; under the fair
    allocation, the steps of each share short."""
    n, col = model.network, model.columns
    demand = n.demand
    need = demand[model.short_period, model.short_formation, model.short_family]
    first = rows.add("demand", need, need)
    short_row = np.full(demand.shape, -1, dtype=np.int64)
    short_row[model.short_period, model.short_formation, model.short_family] = np.arange(need.size)
    rows.coefficients(first + np.arange(need.size), _columns(model, "short"), 1.0)
    rows.coefficients(
        first + short_row[model.use_period, model.use_formation, n.item_family[model.use_item]],
        _columns(model, "use"),
        n.item_family_factor[model.use_item],
    )
    if col["fair"].size:
        # Excess k over step k of the share short: short - excess_k <= k / FAIR_STEPS x demand.
        first = rows.add(
            "fair",
            np.full(model.fair_short.size, -np.inf),
            need[model.fair_short] * model.fair_step / FAIR_STEPS,
        )
        at = first + np.arange(model.fair_short.size)
        rows.coefficients(at, col["short"].start + model.fair_short, 1.0)
        rows.coefficients(at, _columns(model, "fair"), -1.0)


def _repair_hub_rows(model: Model, rows: _Rows) -> None:
    """Repair-hub capacity: systems started in repair per period."""
    n, n_periods = model.network, model.n_periods
    keys, at = np.unique(model.repair_hub * n_periods + model.repair_period, return_inverse=True)
    model.hub_row_site, model.hub_row_period = keys // n_periods, keys % n_periods
    first = rows.add(
        "hub",
        np.full(keys.size, -np.inf),
        n.site_repair_capacity[model.hub_row_site] * n.period_length[model.hub_row_period],
    )
    rows.coefficients(first + at, _columns(model, "repair"), 1.0)


def _investment_rows(model: Model, rows: _Rows, base_capacity: FloatArray) -> None:
    """Output of a line is at most its own capacity plus what the chosen options add; the
    options within the budget."""
    n, col = model.network, model.columns
    prod_cols = _columns(model, "prod")
    added = np.stack([added_capacity(n, k) for k in range(col["invest"].size)])
    line_of = np.array(
        [
            int(k) if k >= 0 else n.lines[name]  # a new line carries the option's name
            for k, name in zip(n.invest_line, n.investments.names, strict=True)
        ]
    )
    model.invest_added, model.invest_line_of = added, line_of.astype(np.int64)
    invested = np.isin(model.prod_line, line_of)
    first = rows.add(
        "invest_link",
        np.full(int(invested.sum()), -np.inf),
        base_capacity[model.prod_period[invested], model.prod_line[invested]],
    )
    rows_of = np.full(prod_cols.size, -1, dtype=np.int64)
    rows_of[invested] = first + np.arange(int(invested.sum()))
    rows.coefficients(rows_of[invested], prod_cols[invested], 1.0)
    for k in range(col["invest"].size):
        mine = invested & (model.prod_line == line_of[k])
        rows.coefficients(
            rows_of[mine],
            np.full(int(mine.sum()), col["invest"].start + k),
            -added[k, model.prod_period[mine]],
        )
    if model.options.budget_eur is not None:
        first = rows.add("budget", np.array([-np.inf]), np.array([model.options.budget_eur]))
        rows.coefficients(
            np.full(col["invest"].size, first),
            _columns(model, "invest"),
            n.invest_cost[: col["invest"].size],
        )

"""The day step, compiled with numba: a block of replications side by side, every day of the
horizon, in loops over the (lane, item) flows, ordering pairs, demand pairs and repair pairs
that exist, and within each over the block's replications (so those loops run as vector
instructions).

Replications are independent: each has its own column of every state array and no figure of
one enters another's, so its figures do not depend on the batch or block it is in. The rules
are those of sustain.simulate.kernel; this module only runs them. Inputs and outputs are named
tuples of arrays (numba passes them as structures).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from sustain.arrays import BoolArray, FloatArray, IntArray

Function = TypeVar("Function", bound=Callable[..., Any])
EPSILON = 1e-9
# Replications stepped side by side: LLVM vectorizes a loop only if it may run at least 16
# times, so a block holds 32, or 64 where the block's state is at most 8 MB. Measured on the
# benchmark networks: the wider block spreads each loop's fixed cost over more replications
# (+6 to +14% at 9 and 84 KB of state a replication) until its state crowds the caches (-13%
# at 340 KB).
NARROW_BLOCK, WIDE_BLOCK = 32, 64
BLOCK_STATE_BUDGET = 2**23  # bytes
SHORT = 1e-6  # a day counts as short above this many family units


def jit(function: Function) -> Function:
    """Compile in nopython mode, cached on disk; IEEE arithmetic (no fastmath), so sums are
    taken in the order written and results are the same bit for bit on every run. Division by
    zero gives inf or nan rather than raising (every division here is guarded), which lets the
    loops over a block's replications run as vector instructions."""
    return cast(Function, numba.njit(cache=True, nogil=True, error_model="numpy")(function))


class Inputs(NamedTuple):
    """What every replication shares, flattened to index arrays. A cell is site x items + item."""

    n_days: int
    n_items: int
    n_sites: int
    plan_mode: bool
    backorders: bool
    echelon: bool  # levels are on echelon positions, not installation ones
    counts_holding: bool
    initial: FloatArray  # (cells,)
    floor: FloatArray  # (cells,)
    cell_holding: FloatArray  # (cells,) EUR per unit a day held
    # Flows: the (lane, item) pairs that can ever carry something. The lanes they use and the
    # sites and cells they leave from are numbered apart, so that a wave keeps figures for
    # those only (on the benchmark networks 3 of 100 lanes and 146 of 1,000 carry anything).
    flow_lane: IntArray  # (K,)
    flow_item: IntArray
    flow_from: IntArray  # origin cell
    flow_to: IntArray  # destination cell
    flow_mass: FloatArray
    flow_used_lane: IntArray  # (K,) index into used_lanes
    flow_sender: IntArray  # (K,) index into sending_sites
    flow_source: IntArray  # (K,) index into source_cells
    used_lanes: IntArray  # (L,) the lanes flows use
    sending_sites: IntArray  # (O,) the sites flows leave
    source_cells: IntArray  # (C,) the cells flows leave
    source_cancellable: BoolArray  # (C,) a source's: owed beyond its spare stock is taken back
    lane_rate: FloatArray  # (days, used lanes) t a day
    lane_closed: BoolArray  # (days, used lanes)
    lane_asset_start: IntArray  # (used lanes + 1,) CSR of each used lane's assets
    lane_asset: IntArray
    site_throughput: FloatArray  # (sites,) t a day, inf if unlimited
    # Production and pledges.
    line_cell: IntArray  # (lines,)
    line_item: IntArray
    line_rate: FloatArray  # (days, lines)
    plan_production: FloatArray  # (days, lines) under a plan, else (0, lines)
    pledge_start: IntArray  # (days + 1,) CSR of each day's pledges
    pledge_cell: IntArray
    pledge_item: IntArray
    pledge_quantity: FloatArray
    # Policy: each ordering pair's cell, flow, levels and the demand pairs backordered there,
    # farthest from a source first.
    order_cell: IntArray  # (J,)
    order_in_start: IntArray  # (J + 1,) the pair's supplier flows, its first supplier first
    flow_rest_share: FloatArray  # (K,) share of what no supplier can spare today
    order_out_start: IntArray  # (J + 1,) CSR of the flows leaving the pair's cell
    order_out_flow: IntArray
    order_parent: IntArray  # (J,) the ordering pair that supplies it, -1 where a source does
    order_level: FloatArray  # reorder at or below
    order_target: FloatArray  # order up to
    order_per_item: FloatArray  # share of the family's backorder counted against the pair
    order_backorder_start: IntArray  # (J + 1,) CSR of demand pairs at the site in the family
    order_backorder_pair: IntArray
    plan_ship: FloatArray  # (days, K) under a plan, else (0, K)
    # Demand pairs (formation, family): served in `serve_order`, each from its family's items.
    pair_formation: IntArray  # (P,)
    pair_site: IntArray
    pair_weight: FloatArray  # priority x criticality
    expected: FloatArray  # (days, P) expected family units a day
    site_need: FloatArray  # (days, P) expected demand at the pair's site, all formations there
    serve_order: IntArray  # (P,)
    slot_start: IntArray  # (P + 1,) CSR of each pair's items ("slots")
    slot_item: IntArray
    slot_factor: FloatArray  # family units per item unit
    plan_use: FloatArray  # (days, slots) under a plan, else (0, slots)
    # The repair loop, per (formation, system type) pair.
    repair_hub: IntArray  # (Q,) -1 where no hub is in reach
    repair_to_days: IntArray
    repair_days: IntArray
    repair_back_days: IntArray
    repair_rate: FloatArray
    repair_fleet: FloatArray
    repair_part_cell: IntArray  # hub cell of the spare part, -1 where none
    repair_part_item: IntArray
    repair_parts_per_repair: FloatArray
    repair_type: IntArray  # index into the repair types
    type_fleet: FloatArray  # (types,)
    hub_capacity: FloatArray  # (sites,) systems a day
    stock_cell: IntArray  # (S,) the cells whose stock on hand is recorded: any that can hold it
    # Provenance: the goods of each origin (a nation owning stock, pledging or making) told
    # apart in every cell and shipment, mixed in proportion where they meet; 0 origins: not
    # tracked (the kernel then does none of it).
    n_origins: int = 0
    # Only the cells that can hold stock (stock_cell) are tracked: origin_row numbers them.
    origin_row: IntArray = np.zeros(0, np.int64)  # (cells,) -1 where a cell holds nothing ever
    initial_origin: FloatArray = np.zeros((0, 0))  # (S, origins) the stock each starts with
    line_origin: IntArray = np.zeros(0, np.int64)  # (lines,)
    pledge_origin: IntArray = np.zeros(0, np.int64)  # (pledges,)


class Random(NamedTuple):
    """The batch's draws: each table (R or 1, days or 1, width); one row holds a constant."""

    demand_factor: FloatArray  # (R, days, formations)
    demand_uniform: FloatArray  # (R, days, P)
    poisson_demand: bool
    asset_down: BoolArray  # (R, days, assets)
    transit: IntArray  # (R, days, lanes)
    production_factor: FloatArray  # (R, days, lines)
    failure_uniform: FloatArray  # (R, days, Q)
    random_failures: bool


class Outputs(NamedTuple):
    first_short: IntArray  # (R, P)
    shortfall: FloatArray  # (R, P) units short, each counted once
    backlog_days: FloatArray  # (R, P) units backordered x days they wait (0 under lost sales)
    demanded: FloatArray  # (R, P) realised demand, family units
    daily_shortfall: npt.NDArray[np.float32]  # (R, days, P) short, or backordered at day's end
    daily_holding: npt.NDArray[np.float32]  # (R, days) EUR
    stock: npt.NDArray[np.float32]  # (R, ceil(days / stock_every), S) on hand at the day's end
    stock_every: int  # stock is recorded on days 0, stock_every, 2 x stock_every, ...
    days_of_supply: npt.NDArray[np.float32]  # (R, days, P)
    weighted_shortfall: FloatArray  # (R,)
    units_short: FloatArray
    holding: FloatArray
    item_holding: FloatArray  # (R, items) EUR of holding cost of each item
    orders_placed: FloatArray
    produced: FloatArray  # (R, items)
    pledged: FloatArray
    consumed: FloatArray
    on_hand: FloatArray
    in_transit: FloatArray
    availability: npt.NDArray[np.float32]  # (R, days, types)
    failed: npt.NDArray[np.float32]  # (R, days)
    out_of_action: npt.NDArray[np.float32]
    # Per replication, origin and item (or demand pair, family units); no rows untracked.
    origin_produced: FloatArray  # (R, origins, items)
    origin_pledged: FloatArray
    origin_shipped: FloatArray  # each leg counted
    origin_consumed: FloatArray  # by formations
    origin_parts: FloatArray  # used in repairs
    origin_on_hand: FloatArray  # at the end
    origin_in_transit: FloatArray
    origin_delivered: FloatArray  # (R, origins, P) family units


@jit
def poisson_quantile(u: float, mean: float) -> float:
    """The smallest k with P(K <= k) >= u, K ~ Poisson(mean); 0 when mean <= 0. Starts from
    the mode, where the distribution function is summed down from, so the cost grows with the
    standard deviation, not the mean. Equal to scipy's poisson.ppf for means up to 1e5 (tested);
    above some millions the mode's probability loses digits and far-tail quantiles may be off
    by a few units."""
    if mean <= 0.0:
        return 0.0
    k = math.floor(mean)
    mass = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1.0)) if k > 0 else math.exp(-mean)
    cdf = 0.0
    term = mass
    j = k
    while True:  # P(K <= k), summed from k down until the terms no longer count
        cdf += term
        if j == 0 or term < cdf * 1e-17:
            break
        term *= j / mean
        j -= 1
    if cdf >= u:
        while k > 0 and cdf - mass >= u:
            cdf -= mass
            mass *= k / mean
            k -= 1
        return float(k)
    while cdf < u:
        k += 1
        mass *= mean / k
        if mass <= 0.0 or cdf + mass == cdf:  # the tail no longer adds: u is within rounding
            break
        cdf += mass
    return float(k)


@jit
def outage_days(fail: BoolArray, recovery: FloatArray) -> BoolArray:
    """(replications, days, assets): True on the days an asset is down. A failure on a day the
    asset is up takes it down for the recovery time drawn that day (whole days, at least one);
    a failure while it is down changes nothing."""
    count, days, n_assets = fail.shape
    down = np.zeros((count, days, n_assets), dtype=np.bool_)
    for r in range(count):
        for a in range(n_assets):
            free_from = 0.0
            for day in range(days):
                if fail[r, day, a] and day >= free_from:
                    free_from = day + max(1.0, math.ceil(recovery[r, day, a]))
                down[r, day, a] = day < free_from
    return down


@jit
def _row(table: npt.NDArray[Any], index: int) -> int:
    """The row of a draw table for `index`: tables of one row hold a constant."""
    return index if table.shape[0] > 1 else 0


@jit
def _day(table: npt.NDArray[Any], day: int) -> int:
    """The day's column of a draw table (R or 1, days or 1, width)."""
    return day if table.shape[1] > 1 else 0


@jit
def _due(ring_start: IntArray, cursor: IntArray, k: int, days: int) -> int:
    """The slot of flow k's ring where a shipment leaving today with `days` in transit waits."""
    slot: int = cursor[k] + days
    length: int = ring_start[k + 1] - ring_start[k]
    return int(ring_start[k]) + (slot - length if slot >= length else slot)


@jit
def _take_origins(
    hand: FloatArray, cell: int, amount: FloatArray, total: FloatArray, taken: FloatArray
) -> None:
    """Take `amount` (per replication of the block) from a tracked cell's (its row's) goods
    of every origin in
    their proportions there; `taken` (origins, width) gets each origin's part, `total` is
    scratch."""
    n_origins, width = hand.shape[1], hand.shape[2]
    taken[:, :] = 0.0
    if amount.max() <= 0.0:  # most of a family's items are drawn on only when others run out
        return
    total[:] = 0.0
    for g in range(n_origins):
        for b in range(width):
            total[b] += hand[cell, g, b]
    for b in range(width):  # becomes the share of each origin's goods taken
        total[b] = amount[b] / total[b] if total[b] > EPSILON else 0.0
    for g in range(n_origins):
        for b in range(width):
            part = hand[cell, g, b] * total[b]
            taken[g, b] = part
            hand[cell, g, b] -= part


def block_width(x: Inputs, longest_transit: int) -> int:
    """Replications stepped side by side on this network: the wide block if its state (on
    hand per cell, each flow's ring and figures, per pair and lane) fits the budget."""
    ring = max(longest_transit, 0) + 1
    figures = x.initial.size + x.flow_lane.size * (ring + 5) + 10 * x.pair_formation.size
    figures += 4 * (x.used_lanes.size + x.sending_sites.size + x.source_cells.size)
    return WIDE_BLOCK if 8 * figures * WIDE_BLOCK <= BLOCK_STATE_BUDGET else NARROW_BLOCK


@jit
def simulate_replications(x: Inputs, rnd: Random, out: Outputs, block: int) -> None:
    """Every replication of the batch, in blocks of `block`, over the whole horizon. A draw
    table has one row per replication (or one for all) and one row per day (or one for all
    days)."""
    count = out.weighted_shortfall.size
    for first in range(0, count, block):
        _replicate_block(x, rnd, out, first, min(block, count - first))


@jit
def _ship_origins(
    tracking: tuple[
        tuple[IntArray, IntArray, IntArray, IntArray, IntArray],
        IntArray,
        FloatArray,
        FloatArray,
        FloatArray,
        tuple[FloatArray, IntArray, FloatArray, BoolArray],
    ],
    transit: IntArray,
    transit_rows: IntArray,
    transit_day: int,
    ring: tuple[IntArray, IntArray],
    going: FloatArray,
) -> None:
    """A wave's departures (`going`, per flow) by origin, in the mix each source had when
    the wave began: out of the origin's goods on hand, into the flow's ring (`ring`: where
    each flow's starts, today's slot) or, over a lane of no transit, on hand at the far end.
    `tracking` holds the flows (their sources, the rows of their origin and destination
    cells, their items and lanes), the sources' rows, each origin's goods on hand, in the
    rings and shipped (origins, items, width), and scratch."""
    flows, source_rows, hand, pipe, shipped, scratch = tracking
    n_origins, width = hand.shape[1], hand.shape[2]
    flow_source, flow_from, flow_to, flow_item, flow_lane = flows
    mix, due, total, sending = scratch  # (sources, origins, width), (width,) x 2, (sources,)
    sending[:] = False
    for k in range(flow_lane.size):
        if going[k].max() > 0.0:
            sending[flow_source[k]] = True
    for c in range(source_rows.size):  # the mix of the sources that send, before any leaves
        if sending[c]:
            r = source_rows[c]
            total[:] = 0.0
            for g in range(n_origins):
                for b in range(width):
                    total[b] += hand[r, g, b]
            for b in range(width):
                total[b] = 1.0 / total[b] if total[b] > EPSILON else 0.0
            for g in range(n_origins):
                for b in range(width):
                    mix[c, g, b] = hand[r, g, b] * total[b]
    for k in range(flow_lane.size):
        c = flow_source[k]
        if not sending[c] or going[k].max() <= 0.0:
            continue
        source, to, item, lane = flow_from[k], flow_to[k], flow_item[k], flow_lane[k]
        same = True  # every replication's shipment waits in one slot (or none)
        for b in range(width):  # the ring slot it waits in, -1 where it is there today
            days = transit[transit_rows[b], transit_day, lane]
            due[b] = _due(ring[0], ring[1], k, days) if days > 0 else -1
            same = same and due[b] == due[0]
        for g in range(n_origins):
            for b in range(width):
                moved = going[k, b] * mix[c, g, b]
                hand[source, g, b] -= moved
                shipped[g, item, b] += moved
            if same and due[0] >= 0:
                slot = due[0]
                for b in range(width):
                    pipe[slot, g, b] += going[k, b] * mix[c, g, b]
            elif same:
                for b in range(width):
                    hand[to, g, b] += going[k, b] * mix[c, g, b]
            else:
                for b in range(width):
                    if due[b] >= 0:
                        pipe[due[b], g, b] += going[k, b] * mix[c, g, b]
                    else:
                        hand[to, g, b] += going[k, b] * mix[c, g, b]


@jit
def _replicate_block(x: Inputs, rnd: Random, out: Outputs, first: int, width: int) -> None:
    """Replications first .. first + width - 1, side by side, day by day. Every state array
    has a last axis of `width`, one column per replication: the flows' index arrays are read
    once for all of them and the inner loops over that axis compile to vector instructions,
    each column doing exactly what its replication would alone (no figure of one replication
    enters another's). The steps of a day are written in this one body: a call to a compiled
    function copies the structures of arrays it is given, which on small networks costs as
    much as the day's work."""
    n_days, n_items, n_sites = x.n_days, x.n_items, x.n_sites
    n_flows, n_used = x.flow_lane.size, x.used_lanes.size
    n_senders, n_sources = x.sending_sites.size, x.source_cells.size
    n_pairs, n_repair = x.pair_formation.size, x.repair_hub.size
    n_cells, n_slots, n_types = x.initial.size, x.slot_item.size, x.type_fleet.size
    # Each replication's row in every draw table.
    demand_rows = np.empty(width, np.int64)
    uniform_rows = np.empty(width, np.int64)
    down_rows = np.empty(width, np.int64)
    transit_rows = np.empty(width, np.int64)
    production_rows = np.empty(width, np.int64)
    failure_rows = np.empty(width, np.int64)
    for b in range(width):
        r = first + b
        demand_rows[b] = _row(rnd.demand_factor, r)
        uniform_rows[b] = _row(rnd.demand_uniform, r)
        down_rows[b] = _row(rnd.asset_down, r)
        transit_rows[b] = _row(rnd.transit, r)
        production_rows[b] = _row(rnd.production_factor, r)
        failure_rows[b] = _row(rnd.failure_uniform, r)
    same_transit = rnd.transit.shape[0] == 1  # a lane takes every replication as long
    same_outages = rnd.asset_down.shape[0] == 1  # every replication's assets are up together
    # Each flow's shipments wait in a ring of its own, one slot per day up to the longest
    # transit its lane has in the block: stored flow after flow, so a day's arrivals and
    # departures of a flow touch memory close together.
    lane_ring = np.ones(n_used, np.int64)  # per used lane
    one_wave = True  # no lane hands anything on the day it leaves: a day has one wave
    for b in range(1 if same_transit else width):
        for d in range(rnd.transit.shape[1]):
            for u in range(n_used):
                days = rnd.transit[transit_rows[b], d, x.used_lanes[u]]
                lane_ring[u] = max(lane_ring[u], days + 1)
                one_wave = one_wave and days > 0
    ring_start = np.zeros(n_flows + 1, np.int64)
    for k in range(n_flows):
        ring_start[k + 1] = ring_start[k] + lane_ring[x.flow_used_lane[k]]
    cursor = np.zeros(n_flows, np.int64)  # today's slot in each flow's ring
    repair_ring = 1
    for q in range(n_repair):
        longest = max(x.repair_to_days[q], x.repair_days[q], x.repair_back_days[q])
        repair_ring = max(repair_ring, longest + 1)

    on_hand = np.empty((n_cells, width))
    for cell in range(n_cells):
        on_hand[cell, :] = x.initial[cell]
    pipeline = np.zeros((ring_start[n_flows], width))  # each flow's ring, by day of arrival
    # Provenance: on hand and in the pipeline by origin; a cell's mix when the wave began.
    n_origins = x.n_origins
    tracked = n_origins > 0
    row = x.origin_row
    origin_hand = np.zeros((x.initial_origin.shape[0], n_origins, width))
    for cell in range(origin_hand.shape[0]):
        for g in range(n_origins):
            origin_hand[cell, g, :] = x.initial_origin[cell, g]
    origin_pipe = np.zeros((ring_start[n_flows] if tracked else 0, n_origins, width))
    mix = np.zeros((n_sources if tracked else 0, n_origins, width))
    total_scratch = np.zeros(width)
    amount = np.zeros(width)  # drawn from a cell, per replication
    from_row = row[x.flow_from] if tracked else x.flow_from  # (untracked, row is empty)
    to_row = row[x.flow_to] if tracked else x.flow_to
    flows = (x.flow_source, from_row, to_row, x.flow_item, x.flow_lane)
    source_rows = row[x.source_cells] if tracked else x.source_cells
    taken = np.zeros((n_origins, width))  # of it, each origin's
    scratch = (mix, np.zeros(width, np.int64), np.zeros(width), np.zeros(n_sources, np.bool_))
    origin_produced = np.zeros((n_origins, n_items, width))
    origin_pledged = np.zeros((n_origins, n_items, width))
    origin_shipped = np.zeros((n_origins, n_items, width))
    origin_consumed = np.zeros((n_origins, n_items, width))
    origin_parts = np.zeros((n_origins, n_items, width))
    origin_delivered = np.zeros((n_origins, n_pairs, width))
    tracking = (flows, source_rows, origin_hand, origin_pipe, origin_shipped, scratch)
    owed = np.zeros((n_flows, width))
    travelling = np.zeros((n_flows, width))  # the pipeline summed over days ahead
    shipped = np.zeros((n_flows, width))  # in a wave
    asked = np.zeros((n_sources, width))  # owed by the flows leaving each cell, in a wave
    share = np.zeros((n_sources, width))  # of what is asked of a cell that it can send
    room = np.zeros((n_used, width))  # t a lane can still carry today
    tonnes = np.zeros((n_used, width))  # in a wave
    handling = np.zeros((n_senders, width))  # t a site can still send today
    scale = np.zeros((n_senders, width))  # in a wave
    active = np.zeros(width)  # 1 while a replication's waves go on today, else 0
    handed_on = np.zeros(width)  # the most handed on over a lane of no transit, in a wave
    position = np.zeros(width)
    below = np.zeros((x.order_cell.size, width))  # echelon positions of the sites supplied
    waiting_demand = np.zeros(width)  # backordered at an ordering pair's site, in its family
    committed = np.zeros((n_sources, width))  # owed by each cell flows leave, while ordering
    ordered = np.zeros(width)
    backorder = np.zeros((n_pairs, width))
    need = np.zeros((n_pairs, width))  # today
    got = np.zeros((n_pairs, width))  # today
    arrears = np.zeros((n_slots, width))  # plan allotments not yet drawn
    short_total = np.zeros((n_pairs, width))
    backlog_total = np.zeros((n_pairs, width))
    demanded = np.zeros((n_pairs, width))
    short_today = np.zeros((n_pairs, width))
    supply_today = np.zeros((n_pairs, width))  # days of supply
    at_site = np.zeros(width)
    first_short = np.full((n_pairs, width), n_days)
    available = np.empty((n_repair, width))  # per repair pair
    for q in range(n_repair):
        available[q, :] = x.repair_fleet[q]
    queue = np.zeros((n_repair, width))
    start = np.zeros((n_repair, width))
    to_hub = np.zeros((repair_ring, n_repair, width))  # due at the hub, by day mod ring
    repaired = np.zeros((repair_ring, n_repair, width))  # out of repair
    back = np.zeros((repair_ring, n_repair, width))  # back at the formation
    waiting = np.zeros((n_sites, width))  # queues at each hub
    wanted = np.zeros((n_cells, width))  # spare parts wanted at each hub
    by_type = np.zeros((n_types, width))
    failed_today = np.zeros(width)
    out_of_action = np.zeros(width)
    held = np.zeros(width)
    item_held = np.zeros((n_items, width))
    # What is reported per replication, summed in the order it alone would sum it.
    produced = np.zeros((n_items, width))
    pledged = np.zeros((n_items, width))
    consumed = np.zeros((n_items, width))
    weighted_shortfall = np.zeros(width)
    units_short = np.zeros(width)
    holding = np.zeros(width)
    orders_placed = np.zeros(width)

    for day in range(n_days):
        if day > 0:
            for k in range(n_flows):
                cursor[k] += 1
                if cursor[k] == ring_start[k + 1] - ring_start[k]:
                    cursor[k] = 0
        # 1. Shipments due today arrive; lines produce (under a plan, what the plan makes, as
        # far as the day's capacity and yield allow); pledges due today arrive.
        production_day, down_day = _day(rnd.production_factor, day), _day(rnd.asset_down, day)
        transit_day, failure_day = _day(rnd.transit, day), _day(rnd.failure_uniform, day)
        demand_day, uniform_day = _day(rnd.demand_factor, day), _day(rnd.demand_uniform, day)
        for k in range(n_flows):
            to = x.flow_to[k]
            slot = ring_start[k] + cursor[k]
            arrived = 0.0
            for b in range(width):
                arriving = pipeline[slot, b]
                on_hand[to, b] += arriving
                travelling[k, b] -= arriving
                pipeline[slot, b] = 0.0
                arrived = max(arrived, arriving)
            if tracked and arrived > 0.0:
                for g in range(n_origins):
                    for b in range(width):
                        origin_hand[row[to], g, b] += origin_pipe[slot, g, b]
                        origin_pipe[slot, g, b] = 0.0
        for line in range(x.line_cell.size):
            cell, item, rate = x.line_cell[line], x.line_item[line], x.line_rate[day, line]
            for b in range(width):
                made = rate * rnd.production_factor[production_rows[b], production_day, line]
                if x.plan_mode:
                    made = min(x.plan_production[day, line], made)
                on_hand[cell, b] += made
                produced[item, b] += made
                amount[b] = made
            if tracked:
                g = x.line_origin[line]
                for b in range(width):
                    origin_hand[row[cell], g, b] += amount[b]
                    origin_produced[g, item, b] += amount[b]
        for e in range(x.pledge_start[day], x.pledge_start[day + 1]):
            cell, item, quantity = x.pledge_cell[e], x.pledge_item[e], x.pledge_quantity[e]
            for b in range(width):
                on_hand[cell, b] += quantity
                pledged[item, b] += quantity
            if tracked:
                g = x.pledge_origin[e]
                for b in range(width):
                    origin_hand[row[cell], g, b] += quantity
                    origin_pledged[g, item, b] += quantity

        # 2. What each flow owes grows by the day's requests: the plan's departures, or each
        # ordering pair's order up to its level when its position is at or below its reorder
        # level (installation position: on hand + in transit + owed to it - owed by it to the
        # sites it supplies - its share of the demand backordered at its site; echelon: that
        # plus the echelon positions of the sites it supplies, after their orders of the day).
        if x.plan_mode:
            for k in range(n_flows):
                departing = x.plan_ship[day, k]
                for b in range(width):
                    owed[k, b] += departing
        else:
            # A source (stock no one orders for, a line's output, pledges) is never owed more
            # than it can spare today: the rest is taken back from its flows, pro rata, and
            # ordered again below from the suppliers that can spare it. What every cell that
            # flows leave owes is summed for the split.
            for c in range(n_sources):
                committed[c, :] = 0.0
            for k in range(n_flows):
                source = x.flow_source[k]
                for b in range(width):
                    committed[source, b] += owed[k, b]
            for c in range(n_sources):
                if x.source_cancellable[c]:
                    cell = x.source_cells[c]
                    floor = x.floor[cell]
                    for b in range(width):
                        spare = max(on_hand[cell, b] - floor, 0.0)
                        asked_of = committed[c, b]
                        share[c, b] = min(spare / asked_of, 1.0) if asked_of > EPSILON else 1.0
                        committed[c, b] = min(asked_of, spare)
            for k in range(n_flows):
                source = x.flow_source[k]
                if x.source_cancellable[source]:
                    for b in range(width):
                        owed[k, b] *= share[source, b]
            for j in range(x.order_cell.size):
                cell = x.order_cell[j]
                first_in, end_in = x.order_in_start[j], x.order_in_start[j + 1]
                level, target = x.order_level[j] + EPSILON, x.order_target[j]
                for b in range(width):
                    position[b] = on_hand[cell, b]
                for k in range(first_in, end_in):
                    for b in range(width):
                        position[b] += travelling[k, b] + owed[k, b]
                for e in range(x.order_out_start[j], x.order_out_start[j + 1]):
                    supplied = x.order_out_flow[e]
                    for b in range(width):
                        position[b] -= owed[supplied, b]
                if x.backorders:
                    waiting_demand[:] = 0.0
                    for e in range(x.order_backorder_start[j], x.order_backorder_start[j + 1]):
                        pair = x.order_backorder_pair[e]
                        for b in range(width):
                            waiting_demand[b] += backorder[pair, b]
                    for b in range(width):
                        position[b] -= waiting_demand[b] * x.order_per_item[j]
                if x.echelon:
                    for b in range(width):
                        position[b] += below[j, b]
                        below[j, b] = 0.0
                parent = x.order_parent[j]
                for b in range(width):
                    quantity = max(target - position[b], 0.0) if position[b] <= level else 0.0
                    ordered[b] = quantity
                    orders_placed[b] += 1.0 if quantity > EPSILON else 0.0
                    position[b] += quantity
                # From the suppliers in turn (the first on the shortest path), each up to what
                # it can spare today; the rest from the depots among them (they order for
                # themselves, so they will have it) by their lanes' shares, else from the first.
                if end_in - first_in > 1:
                    for k in range(first_in, end_in):
                        source, origin = x.flow_source[k], x.flow_from[k]
                        floor = x.floor[origin]
                        for b in range(width):
                            spare = max(on_hand[origin, b] - floor - committed[source, b], 0.0)
                            part = min(ordered[b], spare)
                            owed[k, b] += part
                            committed[source, b] += part
                            ordered[b] -= part
                for k in range(first_in, end_in):
                    rest_share = x.flow_rest_share[k]
                    if rest_share > 0.0:
                        source = x.flow_source[k]
                        for b in range(width):
                            owed[k, b] += ordered[b] * rest_share
                            committed[source, b] += ordered[b] * rest_share
                if x.echelon and parent >= 0:
                    for b in range(width):
                        below[parent, b] += position[b]

        # 3. Flows ship what they owe, in waves: what arrives over a lane of no transit time
        # can go on the same day. In a wave, an origin's stock above its floor is shared pro
        # rata among the flows asking, then each lane's room and each origin's handling pro
        # rata by mass. A replication's waves end when it hands nothing on (it ships nothing more).
        for u in range(n_used):
            closed, rate = x.lane_closed[day, u], x.lane_rate[day, u]
            assets = range(x.lane_asset_start[u], x.lane_asset_start[u + 1])
            if same_outages:
                is_open = not closed
                for e in assets:
                    is_open = is_open and not rnd.asset_down[0, down_day, x.lane_asset[e]]
                room[u, :] = rate if is_open else 0.0
                continue
            for b in range(width):
                is_open = not closed
                for e in assets:
                    if rnd.asset_down[down_rows[b], down_day, x.lane_asset[e]]:
                        is_open = False
                room[u, b] = rate if is_open else 0.0
        for o in range(n_senders):
            handling[o, :] = x.site_throughput[x.sending_sites[o]]
        active[:] = 1.0
        for _wave in range(n_sites):
            for k in range(n_flows):
                source = x.flow_source[k]
                for b in range(width):
                    asked[source, b] += owed[k, b]
            for c in range(n_sources):
                cell = x.source_cells[c]
                floor = x.floor[cell]
                for b in range(width):
                    wanting = asked[c, b]
                    spare = max(on_hand[cell, b] - floor, 0.0)
                    share[c, b] = min(spare / wanting, 1.0) if wanting > EPSILON else 0.0
                    asked[c, b] = 0.0
            tonnes[:, :] = 0.0
            for k in range(n_flows):
                source, u, mass = x.flow_source[k], x.flow_used_lane[k], x.flow_mass[k]
                for b in range(width):
                    shipping = owed[k, b] * share[source, b] * active[b]
                    shipped[k, b] = shipping
                    tonnes[u, b] += shipping * mass
            for u in range(n_used):  # tonnes becomes the share of them the lane takes
                for b in range(width):
                    left = max(room[u, b], 0.0)
                    weight = tonnes[u, b]
                    tonnes[u, b] = left / max(weight, EPSILON) if weight > left else 1.0
            scale[:, :] = 0.0  # first the tonnes leaving the site, then its scale
            for k in range(n_flows):
                u, mass, o = x.flow_used_lane[k], x.flow_mass[k], x.flow_sender[k]
                for b in range(width):
                    shipping = shipped[k, b] * tonnes[u, b]
                    shipped[k, b] = shipping
                    scale[o, b] += shipping * mass
            for o in range(n_senders):
                for b in range(width):
                    left = max(handling[o, b], 0.0)
                    leaving = scale[o, b]
                    scale[o, b] = left / max(leaving, EPSILON) if leaving > left else 1.0
            if one_wave:  # the day's last: what lanes and sites could still take is not needed
                for k in range(n_flows):
                    lane, o, source = x.flow_lane[k], x.flow_sender[k], x.flow_from[k]
                    if same_transit:
                        due = _due(ring_start, cursor, k, rnd.transit[0, transit_day, lane])
                        for b in range(width):
                            going = shipped[k, b] * scale[o, b]
                            shipped[k, b] = going
                            owed[k, b] = max(owed[k, b] - going, 0.0)
                            on_hand[source, b] -= going
                            pipeline[due, b] += going
                            travelling[k, b] += going
                    else:
                        for b in range(width):
                            going = shipped[k, b] * scale[o, b]
                            shipped[k, b] = going
                            owed[k, b] = max(owed[k, b] - going, 0.0)
                            on_hand[source, b] -= going
                            days = rnd.transit[transit_rows[b], transit_day, lane]
                            pipeline[_due(ring_start, cursor, k, days), b] += going
                            travelling[k, b] += going
                if tracked:
                    ring = (ring_start, cursor)
                    _ship_origins(tracking, rnd.transit, transit_rows, transit_day, ring, shipped)
                break
            handed_on[:] = 0.0
            for k in range(n_flows):
                lane, u, o, mass = (
                    x.flow_lane[k],
                    x.flow_used_lane[k],
                    x.flow_sender[k],
                    x.flow_mass[k],
                )
                source, to = x.flow_from[k], x.flow_to[k]
                for b in range(width):
                    going = shipped[k, b] * scale[o, b]
                    shipped[k, b] = going
                    room[u, b] -= going * mass
                    handling[o, b] -= going * mass
                    owed[k, b] = max(owed[k, b] - going, 0.0)
                    on_hand[source, b] -= going
                if same_transit:
                    days = rnd.transit[0, transit_day, lane]
                    if days > 0:
                        due = _due(ring_start, cursor, k, days)
                        for b in range(width):
                            pipeline[due, b] += shipped[k, b]
                            travelling[k, b] += shipped[k, b]
                    else:
                        for b in range(width):
                            on_hand[to, b] += shipped[k, b]
                            handed_on[b] = max(handed_on[b], shipped[k, b])
                else:
                    for b in range(width):
                        days = rnd.transit[transit_rows[b], transit_day, lane]
                        if days > 0:
                            pipeline[_due(ring_start, cursor, k, days), b] += shipped[k, b]
                            travelling[k, b] += shipped[k, b]
                        else:
                            on_hand[to, b] += shipped[k, b]
                            handed_on[b] = max(handed_on[b], shipped[k, b])
            if tracked:
                ring = (ring_start, cursor)
                _ship_origins(tracking, rnd.transit, transit_rows, transit_day, ring, shipped)
            going_on = False
            for b in range(width):
                if handed_on[b] <= EPSILON:
                    active[b] = 0.0
                going_on = going_on or active[b] > 0.0
            if not going_on:
                break

        # The repair loop: returns, arrivals at the hubs, repairs started within each hub's
        # capacity (shared pro rata among its queues) and its spare parts (drawn from its
        # stock after the day's deliveries), failures of the systems available.
        if n_repair:
            rslot = day % repair_ring
            for q in range(n_repair):
                direct = x.repair_back_days[q] == 0
                home = (day + x.repair_back_days[q]) % repair_ring
                for b in range(width):
                    available[q, b] += back[rslot, q, b]
                    back[rslot, q, b] = 0.0
                    done = repaired[rslot, q, b]
                    repaired[rslot, q, b] = 0.0
                    if direct:
                        available[q, b] += done
                    else:
                        back[home, q, b] += done
                    queue[q, b] += to_hub[rslot, q, b]
                    to_hub[rslot, q, b] = 0.0
            for q in range(n_repair):
                hub = x.repair_hub[q]
                if hub >= 0:
                    for b in range(width):
                        waiting[hub, b] += queue[q, b]
            for q in range(n_repair):
                hub, cell = x.repair_hub[q], x.repair_part_cell[q]
                for b in range(width):
                    start[q, b] = 0.0
                    if hub >= 0:
                        capacity_share = x.hub_capacity[hub] / max(waiting[hub, b], EPSILON)
                        start[q, b] = queue[q, b] * min(1.0, capacity_share)
                        if cell >= 0:
                            wanted[cell, b] += start[q, b] * x.repair_parts_per_repair[q]
            for q in range(n_repair):
                cell = x.repair_part_cell[q]
                if cell >= 0:
                    for b in range(width):
                        start[q, b] *= min(1.0, on_hand[cell, b] / max(wanted[cell, b], EPSILON))
            for q in range(n_repair):
                hub, cell, item = x.repair_hub[q], x.repair_part_cell[q], x.repair_part_item[q]
                done_on = (day + x.repair_days[q]) % repair_ring
                for b in range(width):
                    if hub >= 0:
                        waiting[hub, b] = 0.0
                    if cell >= 0:
                        wanted[cell, b] = 0.0
                        used = start[q, b] * x.repair_parts_per_repair[q]
                        on_hand[cell, b] -= used
                        consumed[item, b] += used
                        amount[b] = used
                    queue[q, b] -= start[q, b]
                    repaired[done_on, q, b] += start[q, b]
                if tracked and cell >= 0 and row[cell] >= 0:
                    _take_origins(origin_hand, row[cell], amount, total_scratch, taken)
                    for g in range(n_origins):
                        for b in range(width):
                            origin_parts[g, item, b] += taken[g, b]
            failed_today[:] = 0.0
            for q in range(n_repair):
                due = (day + x.repair_to_days[q]) % repair_ring
                for b in range(width):
                    mean = available[q, b] * x.repair_rate[q]
                    failing = mean
                    if rnd.random_failures:
                        uniform = rnd.failure_uniform[failure_rows[b], failure_day, q]
                        failing = min(poisson_quantile(uniform, mean), available[q, b])
                    available[q, b] -= failing
                    failed_today[b] += failing
                    if x.repair_hub[q] >= 0:
                        if x.repair_to_days[q] == 0:
                            queue[q, b] += failing
                        else:
                            to_hub[due, q, b] += failing
            by_type[:, :] = 0.0
            out_of_action[:] = 0.0
            for q in range(n_repair):
                kind = x.repair_type[q]
                for b in range(width):
                    by_type[kind, b] += available[q, b]
                    out_of_action[b] += x.repair_fleet[q] - available[q, b]
            for b in range(width):
                for t in range(n_types):
                    out.availability[first + b, day, t] = by_type[t, b] / max(
                        x.type_fleet[t], EPSILON
                    )
                out.failed[first + b, day] = failed_today[b]
                out.out_of_action[first + b, day] = out_of_action[b]

        # 4. Formations consume: by priority, each family from its items in order; under a
        # plan, what the plan allots (scaled by the day's demand against the expected) plus
        # what it could not draw before. Then shortfall, backorders and days of supply.
        for p in range(n_pairs):
            expected, formation = x.expected[day, p], x.pair_formation[p]
            for b in range(width):
                got[p, b] = 0.0
                need[p, b] = backorder[p, b]
                if expected > 0.0:
                    mean = expected * rnd.demand_factor[demand_rows[b], demand_day, formation]
                    if rnd.poisson_demand:
                        uniform = rnd.demand_uniform[uniform_rows[b], uniform_day, p]
                        mean = poisson_quantile(uniform, mean)
                    need[p, b] += mean
                    demanded[p, b] += mean
        for n in range(n_pairs):
            p = x.serve_order[n]
            if x.expected[day, p] <= 0.0:
                continue
            cell0, formation = x.pair_site[p] * n_items, x.pair_formation[p]
            for c in range(x.slot_start[p], x.slot_start[p + 1]):
                item, factor = x.slot_item[c], x.slot_factor[c]
                cell = cell0 + item
                for b in range(width):
                    stock = on_hand[cell, b]
                    left = (need[p, b] - got[p, b]) / factor
                    if x.plan_mode:
                        today = rnd.demand_factor[demand_rows[b], demand_day, formation]
                        want = x.plan_use[day, c] * today + arrears[c, b]
                        draw = min(min(want, stock), left)
                        arrears[c, b] = want - draw
                    else:
                        draw = min(stock, left)
                    draw = max(draw, 0.0)
                    on_hand[cell, b] -= draw
                    consumed[item, b] += draw
                    got[p, b] += draw * factor
                    amount[b] = draw
                if tracked and row[cell] >= 0:
                    _take_origins(origin_hand, row[cell], amount, total_scratch, taken)
                    for g in range(n_origins):
                        for b in range(width):
                            origin_consumed[g, item, b] += taken[g, b]
                            origin_delivered[g, p, b] += taken[g, b] * factor
        for p in range(n_pairs):
            weight, expected = x.pair_weight[p], x.expected[day, p]
            for b in range(width):
                short = max(need[p, b] - got[p, b], 0.0)
                fresh = short  # short for the first time today: each unit is counted once
                if x.backorders:  # served oldest first: what is left of today's demand
                    fresh = min(short, need[p, b] - backorder[p, b])
                    backlog_total[p, b] += short
                    backorder[p, b] = short
                short_total[p, b] += fresh
                if short > SHORT and first_short[p, b] == n_days:
                    first_short[p, b] = day
                weighted_shortfall[b] += fresh * weight
                units_short[b] += fresh
                short_today[p, b] = short
            # Days of supply: the family's stock at the site over the site's demand.
            if expected > 0.0:
                at_site[:] = 0.0
                cell0 = x.pair_site[p] * n_items
                for c in range(x.slot_start[p], x.slot_start[p + 1]):
                    cell, factor = cell0 + x.slot_item[c], x.slot_factor[c]
                    for b in range(width):
                        at_site[b] += on_hand[cell, b] * factor
                site_need = max(x.site_need[day, p], EPSILON)
                for b in range(width):
                    supply_today[p, b] = at_site[b] / site_need
            else:
                supply_today[p, :] = np.nan
        for b in range(width):  # a row per replication, written after the vector loops
            for p in range(n_pairs):
                out.daily_shortfall[first + b, day, p] = short_today[p, b]
                out.days_of_supply[first + b, day, p] = supply_today[p, b]
        if x.counts_holding:  # charged where the stock is at the day's end
            held[:] = 0.0
            for cell in range(n_cells):
                rate = x.cell_holding[cell]
                if rate != 0.0:
                    item = cell % n_items
                    for b in range(width):
                        held[b] += on_hand[cell, b] * rate
                        item_held[item, b] += on_hand[cell, b] * rate
            for b in range(width):
                holding[b] += held[b]
                out.daily_holding[first + b, day] = held[b]
        if day % out.stock_every == 0:
            slot = day // out.stock_every
            for b in range(width):
                for k in range(x.stock_cell.size):
                    out.stock[first + b, slot, k] = on_hand[x.stock_cell[k], b]

    for b in range(width):
        r = first + b
        for p in range(n_pairs):
            out.first_short[r, p] = first_short[p, b]
            out.shortfall[r, p] = short_total[p, b]
            out.backlog_days[r, p] = backlog_total[p, b]
            out.demanded[r, p] = demanded[p, b]
        out.weighted_shortfall[r] = weighted_shortfall[b]
        out.units_short[r] = units_short[b]
        out.holding[r] = holding[b]
        out.orders_placed[r] = orders_placed[b]
        for item in range(n_items):
            out.item_holding[r, item] = item_held[item, b]
            out.produced[r, item] = produced[item, b]
            out.pledged[r, item] = pledged[item, b]
            out.consumed[r, item] = consumed[item, b]
        for cell in range(n_cells):
            out.on_hand[r, cell % n_items] += on_hand[cell, b]
        for k in range(n_flows):
            out.in_transit[r, x.flow_item[k]] += travelling[k, b]
        for g in range(n_origins):
            for item in range(n_items):
                out.origin_produced[r, g, item] = origin_produced[g, item, b]
                out.origin_pledged[r, g, item] = origin_pledged[g, item, b]
                out.origin_shipped[r, g, item] = origin_shipped[g, item, b]
                out.origin_consumed[r, g, item] = origin_consumed[g, item, b]
                out.origin_parts[r, g, item] = origin_parts[g, item, b]
            for p in range(n_pairs):
                out.origin_delivered[r, g, p] = origin_delivered[g, p, b]
            for k in range(origin_hand.shape[0]):
                out.origin_on_hand[r, g, x.stock_cell[k] % n_items] += origin_hand[k, g, b]
            for k in range(n_flows):
                for slot in range(ring_start[k], ring_start[k + 1]):
                    out.origin_in_transit[r, g, x.flow_item[k]] += origin_pipe[slot, g, b]

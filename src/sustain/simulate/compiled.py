"""The day step, compiled with numba: one replication at a time, every day of the horizon, in
loops over the (lane, item) flows, ordering pairs, demand pairs and repair pairs that exist.

Replications are independent: each is run start to end by itself, so its figures do not depend
on the batch it is in. The rules are those of sustain.simulate.kernel; this module only runs
them. Inputs and outputs are named tuples of arrays (numba passes them as structures).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Function = TypeVar("Function", bound=Callable[..., Any])
EPSILON = 1e-9
SHORT = 1e-6  # a day counts as short above this many family units


def jit(function: Function) -> Function:
    """Compile in nopython mode, cached on disk; IEEE arithmetic (no fastmath), so sums are
    taken in the order written and results are the same bit for bit on every run."""
    return cast(Function, numba.njit(cache=True, nogil=True)(function))


class Inputs(NamedTuple):
    """What every replication shares, flattened to index arrays. A cell is site x items + item."""

    n_days: int
    n_items: int
    n_sites: int
    plan_mode: bool
    backorders: bool
    holding_cost: float
    initial: FloatArray  # (cells,)
    floor: FloatArray  # (cells,)
    cell_mass: FloatArray  # (cells,) t per unit
    # Flows: the (lane, item) pairs that can ever carry something.
    flow_lane: IntArray  # (K,)
    flow_item: IntArray
    flow_origin: IntArray  # origin site
    flow_from: IntArray  # origin cell
    flow_to: IntArray  # destination cell
    flow_mass: FloatArray
    lane_rate: FloatArray  # (days, lanes) t a day
    lane_closed: BoolArray  # (days, lanes)
    lane_asset_start: IntArray  # (lanes + 1,) CSR of each lane's assets
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
    # Policy: each ordering pair's cell, flow, levels and the demand pairs backordered there.
    order_cell: IntArray  # (J,)
    order_flow: IntArray
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
    shortfall: FloatArray  # (R, P)
    daily_shortfall: npt.NDArray[np.float32]  # (R, days, P)
    days_of_supply: npt.NDArray[np.float32]  # (R, days, P)
    weighted_shortfall: FloatArray  # (R,)
    units_short: FloatArray
    holding: FloatArray
    orders_placed: FloatArray
    produced: FloatArray  # (R, items)
    pledged: FloatArray
    consumed: FloatArray
    on_hand: FloatArray
    in_transit: FloatArray
    availability: npt.NDArray[np.float32]  # (R, days, types)
    failed: npt.NDArray[np.float32]  # (R, days)
    out_of_action: npt.NDArray[np.float32]


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
    """(days, assets): True on the days an asset is down. A failure on a day the asset is up
    takes it down for the recovery time drawn that day (whole days, at least one); a failure
    while it is down changes nothing."""
    days, n_assets = fail.shape
    down = np.zeros((days, n_assets), dtype=np.bool_)
    for a in range(n_assets):
        free_from = 0.0
        for day in range(days):
            if fail[day, a] and day >= free_from:
                free_from = day + max(1.0, math.ceil(recovery[day, a]))
            down[day, a] = day < free_from
    return down


@jit
def _row(table: npt.NDArray[Any], index: int) -> int:
    """The row of a draw table for `index`: tables of one row hold a constant."""
    return index if table.shape[0] > 1 else 0


@jit
def simulate_replications(x: Inputs, rnd: Random, out: Outputs) -> None:
    """Every replication of the batch, in turn, over the whole horizon. A draw table has one
    row per replication (or one for all) and one row per day (or one for all days)."""
    for r in range(out.weighted_shortfall.size):
        _replicate(
            x,
            rnd.demand_factor[_row(rnd.demand_factor, r)],
            rnd.demand_uniform[_row(rnd.demand_uniform, r)],
            rnd.poisson_demand,
            rnd.asset_down[_row(rnd.asset_down, r)],
            rnd.transit[_row(rnd.transit, r)],
            rnd.production_factor[_row(rnd.production_factor, r)],
            rnd.failure_uniform[_row(rnd.failure_uniform, r)],
            rnd.random_failures,
            out,
            r,
        )


@jit
def _replicate(
    x: Inputs,
    demand_factor: FloatArray,
    demand_uniform: FloatArray,
    poisson_demand: bool,
    asset_down: BoolArray,
    transit: IntArray,
    production_factor: FloatArray,
    failure_uniform: FloatArray,
    random_failures: bool,
    out: Outputs,
    r: int,
) -> None:
    """One replication, day by day. The steps of a day are written in this one body: a call
    to a compiled function copies the structures of arrays it is given (thousands of bytes),
    which on small networks cost as much as the day's work."""
    n_days, n_items, n_sites = x.n_days, x.n_items, x.n_sites
    n_flows, n_lanes = x.flow_lane.size, x.lane_rate.shape[1]
    n_pairs, n_repair = x.pair_formation.size, x.repair_hub.size
    ring = transit.max() + 1 if transit.size else 1
    repair_ring = 1
    for q in range(n_repair):
        longest = max(x.repair_to_days[q], x.repair_days[q], x.repair_back_days[q])
        repair_ring = max(repair_ring, longest + 1)

    on_hand = x.initial.copy()  # (cells,)
    pipeline = np.zeros((ring, n_flows))  # by day of arrival, mod ring
    owed = np.zeros(n_flows)
    travelling = np.zeros(n_flows)  # the pipeline summed over days ahead
    shipped = np.zeros(n_flows)  # in a wave
    asked = np.zeros(on_hand.size)  # owed by the flows leaving each cell, in a wave
    room = np.zeros(n_lanes)  # t a lane can still carry today
    tonnes = np.zeros(n_lanes)  # in a wave
    handling = np.zeros(n_sites)  # t a site can still send today
    scale = np.zeros(n_sites)  # in a wave
    backorder = np.zeros(n_pairs)
    need = np.zeros(n_pairs)  # today
    got = np.zeros(n_pairs)  # today
    arrears = np.zeros(x.slot_item.size)  # plan allotments not yet drawn
    short_total = np.zeros(n_pairs)
    first_short = np.full(n_pairs, n_days)
    available = x.repair_fleet.copy()  # per repair pair
    queue = np.zeros(n_repair)
    start = np.zeros(n_repair)
    to_hub = np.zeros((repair_ring, n_repair))  # due at the hub, by day mod ring
    repaired = np.zeros((repair_ring, n_repair))  # out of repair
    back = np.zeros((repair_ring, n_repair))  # back at the formation
    waiting = np.zeros(n_sites)  # queues at each hub
    wanted = np.zeros(on_hand.size)  # spare parts wanted at each hub
    by_type = np.zeros(x.type_fleet.size)

    for day in range(n_days):
        # 1. Shipments due today arrive; lines produce (under a plan, what the plan makes, as
        # far as the day's capacity and yield allow); pledges due today arrive.
        slot = day % ring
        for k in range(n_flows):
            arriving = pipeline[slot, k]
            if arriving != 0.0:
                on_hand[x.flow_to[k]] += arriving
                travelling[k] -= arriving
                pipeline[slot, k] = 0.0
        factor_today = production_factor[_row(production_factor, day)]
        for line in range(x.line_cell.size):
            made = x.line_rate[day, line] * factor_today[line]
            if x.plan_mode:
                made = min(x.plan_production[day, line], made)
            on_hand[x.line_cell[line]] += made
            out.produced[r, x.line_item[line]] += made
        for e in range(x.pledge_start[day], x.pledge_start[day + 1]):
            on_hand[x.pledge_cell[e]] += x.pledge_quantity[e]
            out.pledged[r, x.pledge_item[e]] += x.pledge_quantity[e]

        # 2. What each flow owes grows by the day's requests: the plan's departures, or each
        # ordering pair's order up to its level when its position is at or below its reorder
        # level (position: on hand + in transit + owed - its share of the backordered demand).
        if x.plan_mode:
            for k in range(n_flows):
                owed[k] += x.plan_ship[day, k]
        else:
            for j in range(x.order_cell.size):
                k = x.order_flow[j]
                position = on_hand[x.order_cell[j]] + travelling[k] + owed[k]
                if x.backorders:
                    waiting_demand = 0.0
                    for e in range(x.order_backorder_start[j], x.order_backorder_start[j + 1]):
                        waiting_demand += backorder[x.order_backorder_pair[e]]
                    position -= waiting_demand * x.order_per_item[j]
                if position <= x.order_level[j] + EPSILON:
                    quantity = max(x.order_target[j] - position, 0.0)
                    owed[k] += quantity
                    if quantity > EPSILON:
                        out.orders_placed[r] += 1.0

        # 3. Flows ship what they owe, in waves: what arrives over a lane of no transit time
        # can go on the same day. In a wave, an origin's stock above its floor is shared pro
        # rata among the flows asking, then each lane's room and each origin's handling pro
        # rata by mass.
        down_today = asset_down[_row(asset_down, day)]
        transit_today = transit[_row(transit, day)]
        for lane in range(n_lanes):
            is_open = not x.lane_closed[day, lane]
            for e in range(x.lane_asset_start[lane], x.lane_asset_start[lane + 1]):
                if down_today[x.lane_asset[e]]:
                    is_open = False
            room[lane] = x.lane_rate[day, lane] if is_open else 0.0
        for site in range(n_sites):
            handling[site] = x.site_throughput[site]
        for _wave in range(n_sites):
            for k in range(n_flows):
                asked[x.flow_from[k]] += owed[k]
            for lane in range(n_lanes):
                tonnes[lane] = 0.0
            for k in range(n_flows):
                cell = x.flow_from[k]
                share = 0.0
                if asked[cell] > EPSILON:
                    share = min(max(on_hand[cell] - x.floor[cell], 0.0) / asked[cell], 1.0)
                shipped[k] = owed[k] * share
                tonnes[x.flow_lane[k]] += shipped[k] * x.flow_mass[k]
            for site in range(n_sites):
                scale[site] = 0.0  # first the tonnes leaving the site, then its scale
            for k in range(n_flows):
                asked[x.flow_from[k]] = 0.0
                lane = x.flow_lane[k]
                left = max(room[lane], 0.0)
                if tonnes[lane] > left:
                    shipped[k] *= left / max(tonnes[lane], EPSILON)
                scale[x.flow_origin[k]] += shipped[k] * x.flow_mass[k]
            for site in range(n_sites):
                left = max(handling[site], 0.0)
                leaving = scale[site]
                scale[site] = left / max(leaving, EPSILON) if leaving > left else 1.0
            handed_on = 0.0
            for k in range(n_flows):
                going = shipped[k] * scale[x.flow_origin[k]]
                if going == 0.0:
                    continue
                lane = x.flow_lane[k]
                room[lane] -= going * x.flow_mass[k]
                handling[x.flow_origin[k]] -= going * x.flow_mass[k]
                owed[k] = max(owed[k] - going, 0.0)
                on_hand[x.flow_from[k]] -= going
                days = transit_today[lane]
                if days > 0:
                    pipeline[(day + days) % ring, k] += going
                    travelling[k] += going
                else:
                    on_hand[x.flow_to[k]] += going
                    handed_on = max(handed_on, going)
            if handed_on <= EPSILON:
                break

        # The repair loop: returns, arrivals at the hubs, repairs started within each hub's
        # capacity (shared pro rata among its queues) and its spare parts (drawn from its
        # stock after the day's deliveries), failures of the systems available.
        if n_repair:
            rslot = day % repair_ring
            for q in range(n_repair):
                available[q] += back[rslot, q]
                back[rslot, q] = 0.0
                done = repaired[rslot, q]
                repaired[rslot, q] = 0.0
                if x.repair_back_days[q] == 0:
                    available[q] += done
                else:
                    back[(day + x.repair_back_days[q]) % repair_ring, q] += done
                queue[q] += to_hub[rslot, q]
                to_hub[rslot, q] = 0.0
            for q in range(n_repair):
                if x.repair_hub[q] >= 0:
                    waiting[x.repair_hub[q]] += queue[q]
            for q in range(n_repair):
                hub = x.repair_hub[q]
                start[q] = 0.0
                if hub >= 0:
                    start[q] = queue[q] * min(1.0, x.hub_capacity[hub] / max(waiting[hub], EPSILON))
                    cell = x.repair_part_cell[q]
                    if cell >= 0:
                        wanted[cell] += start[q] * x.repair_parts_per_repair[q]
            for q in range(n_repair):
                cell = x.repair_part_cell[q]
                if cell >= 0:
                    start[q] *= min(1.0, on_hand[cell] / max(wanted[cell], EPSILON))
            for q in range(n_repair):
                if x.repair_hub[q] >= 0:
                    waiting[x.repair_hub[q]] = 0.0
                cell = x.repair_part_cell[q]
                if cell >= 0:
                    wanted[cell] = 0.0
                    used = start[q] * x.repair_parts_per_repair[q]
                    on_hand[cell] -= used
                    out.consumed[r, x.repair_part_item[q]] += used
                queue[q] -= start[q]
                repaired[(day + x.repair_days[q]) % repair_ring, q] += start[q]
            uniform_today = failure_uniform[_row(failure_uniform, day)]
            failed_today = 0.0
            for q in range(n_repair):
                mean = available[q] * x.repair_rate[q]
                failing = mean
                if random_failures:
                    failing = min(poisson_quantile(uniform_today[q], mean), available[q])
                available[q] -= failing
                failed_today += failing
                if x.repair_hub[q] >= 0:
                    if x.repair_to_days[q] == 0:
                        queue[q] += failing
                    else:
                        to_hub[(day + x.repair_to_days[q]) % repair_ring, q] += failing
            by_type[:] = 0.0
            out_of_action = 0.0
            for q in range(n_repair):
                by_type[x.repair_type[q]] += available[q]
                out_of_action += x.repair_fleet[q] - available[q]
            for t in range(by_type.size):
                out.availability[r, day, t] = by_type[t] / max(x.type_fleet[t], EPSILON)
            out.failed[r, day] = failed_today
            out.out_of_action[r, day] = out_of_action

        # 4. Formations consume: by priority, each family from its items in order; under a
        # plan, what the plan allots (scaled by the day's demand against the expected) plus
        # what it could not draw before. Then shortfall, backorders and days of supply.
        factor_today = demand_factor[_row(demand_factor, day)]
        uniform_today = demand_uniform[_row(demand_uniform, day)]
        for p in range(n_pairs):
            got[p] = 0.0
            need[p] = backorder[p]
            if x.expected[day, p] > 0.0:
                mean = x.expected[day, p] * factor_today[x.pair_formation[p]]
                if poisson_demand:
                    mean = poisson_quantile(uniform_today[p], mean)
                need[p] += mean
        for n in range(n_pairs):
            p = x.serve_order[n]
            if x.expected[day, p] <= 0.0:
                continue
            cell0 = x.pair_site[p] * n_items
            for c in range(x.slot_start[p], x.slot_start[p + 1]):
                item = x.slot_item[c]
                stock = on_hand[cell0 + item]
                left = (need[p] - got[p]) / x.slot_factor[c]
                if x.plan_mode:
                    want = x.plan_use[day, c] * factor_today[x.pair_formation[p]] + arrears[c]
                    draw = min(min(want, stock), left)
                    arrears[c] = want - draw
                else:
                    draw = min(stock, left)
                draw = max(draw, 0.0)
                on_hand[cell0 + item] -= draw
                out.consumed[r, item] += draw
                got[p] += draw * x.slot_factor[c]
        for p in range(n_pairs):
            short = max(need[p] - got[p], 0.0)
            out.daily_shortfall[r, day, p] = short
            short_total[p] += short
            if short > SHORT and first_short[p] == n_days:
                first_short[p] = day
            out.weighted_shortfall[r] += short * x.pair_weight[p]
            out.units_short[r] += short
            if x.backorders:
                backorder[p] = short
            # Days of supply: the family's stock at the site over the site's expected demand.
            if x.expected[day, p] > 0.0:
                at_site = 0.0
                cell0 = x.pair_site[p] * n_items
                for c in range(x.slot_start[p], x.slot_start[p + 1]):
                    at_site += on_hand[cell0 + x.slot_item[c]] * x.slot_factor[c]
                out.days_of_supply[r, day, p] = at_site / max(x.site_need[day, p], EPSILON)
            else:
                out.days_of_supply[r, day, p] = np.nan
        if x.holding_cost != 0.0:
            held = 0.0
            for cell in range(on_hand.size):
                held += on_hand[cell] * x.cell_mass[cell]
            out.holding[r] += held * x.holding_cost

    for p in range(n_pairs):
        out.first_short[r, p] = first_short[p]
        out.shortfall[r, p] = short_total[p]
    for cell in range(on_hand.size):
        out.on_hand[r, cell % n_items] += on_hand[cell]
    for k in range(n_flows):
        out.in_transit[r, x.flow_item[k]] += travelling[k]

"""The daily kernel: stocks and flows of many replications at once.

State arrays are shaped (replications, sites, items) and (replications, lanes, items, days in
transit); one step is one day, and nothing in a step loops over replications, shipments or
sites. A day, in order:

1. shipments due today arrive; lines produce (capacity x yield, nothing during a slip; under a
   plan, what the plan makes, as far as that allows); pledges due today arrive;
2. requests join what each lane owes: under a policy, each (site, item) orders on its supplier
   lane what brings its inventory position (on hand + in transit + owed) up to its level
   (base-stock: every day; (s, S): when the position is at or below s); under a plan, the
   plan's departures of the day;
3. lanes ship what they owe, as far as the origin holds stock above its floor (shared pro rata
   among the lanes asking), the lane is open (no asset down, no scripted closure) and its
   capacity and the origin's handling allow (mass, shared pro rata among items); what cannot
   go stays owed and waits for the next day;
   then the repair loop steps (sustain.simulate.repair), drawing spare parts at the hubs;
4. formations consume: under a policy, from the stock at their site, families' items in the
   order they are listed, formations sharing a site served by priority; under a plan, what
   the plan allots each formation (scaled by its actual demand against the expected), plus
   allotments it could not draw before, within its demand and the stock there. Demand not met
   is shortfall (lost, or backordered if chosen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_array
from scipy.stats import poisson

from sustain.simulate.repair import RepairLoop
from sustain.simulate.setup import Setup
from sustain.simulate.uncertainty import Draws

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
EPSILON = 1e-9


@dataclass
class BatchResult:
    """What a batch of replications reports, per replication (first axis)."""

    replications: IntArray  # their numbers
    first_short: IntArray  # (R, pairs) first day short (days if never); pairs: Setup.pairs
    shortfall: FloatArray  # (R, pairs) family units short over the horizon
    daily_shortfall: npt.NDArray[np.float32]  # (R, days, pairs)
    days_of_supply: npt.NDArray[np.float32]  # (R, days, pairs)
    weighted_shortfall: FloatArray  # (R,)
    holding_cost: FloatArray  # (R,)
    ordering_cost: FloatArray  # (R,)
    shortage_cost: FloatArray  # (R,)
    # Conservation ledger, per replication: what came in, went out, and is left.
    initial: FloatArray  # (R, items) initial stock
    produced: FloatArray  # (R, items)
    pledged: FloatArray  # (R, items)
    consumed: FloatArray  # (R, items)
    on_hand: FloatArray  # (R, items) at the end
    in_transit: FloatArray  # (R, items) at the end
    # The repair loop: availability of each system type by day, failures and system-days out.
    availability: npt.NDArray[np.float32]  # (R, days, types) types: Setup.repair_types
    failed: npt.NDArray[np.float32]  # (R, days) systems failing each day
    out_of_action: npt.NDArray[np.float32]  # (R, days) systems out of action at the day's end


def _stack(draws: list[Draws], name: str) -> npt.NDArray[np.generic]:
    return np.stack([getattr(d, name) for d in draws])


def run_batch(setup: Setup, draws: list[Draws], replications: IntArray) -> BatchResult:
    n = setup.network
    options = setup.options
    plan_mode = options.policy == "plan"
    days = setup.n_days
    r_count = len(draws)
    n_sites, n_items, n_lanes = len(n.sites), len(n.items), len(n.lanes)
    n_formations, n_families = len(n.formations), len(n.families)

    demand_factor = _stack(draws, "demand_factor")  # (R, days, F)
    demand_uniform = _stack(draws, "demand_uniform")  # (R, days, F, M)
    asset_down = _stack(draws, "asset_down").astype(np.float64)  # (R, days, A)
    transit = _stack(draws, "transit").astype(np.int64)  # (R, days, L)
    production_factor = _stack(draws, "production_factor")  # (R, days, lines)
    poisson_demand = bool(draws and draws[0].poisson)
    lanes_of_asset = setup.lane_assets.T.toarray()  # (assets, lanes)
    ring = int(transit.max(initial=0)) + 1

    on_hand = np.broadcast_to(setup.initial, (r_count, n_sites, n_items)).copy()
    pipeline = np.zeros((ring, r_count, n_lanes, n_items))  # by day of arrival, mod ring
    owed = np.zeros((r_count, n_lanes, n_items))
    backorder = np.zeros((r_count, n_formations, n_families))
    arrears = np.zeros((r_count, n_formations, n_items))  # plan allotments not yet drawn
    pair_f, pair_m = setup.pair_formation, setup.pair_family
    daily_short = np.zeros((r_count, days, pair_f.size))  # only pairs with demand
    criticality = np.zeros(n_families)
    np.maximum.at(criticality, n.item_family, n.item_criticality)
    weights = n.formation_priority[:, None] * criticality[None, :]
    weighted = np.zeros(r_count)
    units_short = np.zeros(r_count)
    travelling = np.zeros((r_count, n_lanes, n_items))  # the pipeline summed over days ahead
    days_of_supply = np.zeros((r_count, days, pair_f.size), dtype=np.float32)
    holding = np.zeros(r_count)
    orders_placed = np.zeros(r_count)
    produced = np.zeros((r_count, n_items))
    pledged = np.zeros((r_count, n_items))
    consumed = np.zeros((r_count, n_items))

    floor = setup.floor[None]
    mass = n.item_mass
    factor = n.item_family_factor
    # Where each line's output lands, as (lines, sites x items) and (lines, items) matrices.
    line_items = np.zeros((len(n.lines), n_items))
    line_items[np.arange(len(n.lines)), n.line_item] = 1.0
    line_output = np.zeros((len(n.lines), n_sites * n_items))
    line_output[np.arange(len(n.lines)), n.line_site * n_items + n.line_item] = 1.0
    family_of_item = np.zeros((n_items, n_families))
    family_of_item[np.arange(n_items), n.item_family] = factor  # item units -> family units
    formation_site = n.formation_site.astype(np.int64)
    formations_at = np.zeros((n_sites, n_formations))
    formations_at[n.formation_site, np.arange(n_formations)] = 1.0
    ordering = setup.supplier_lane >= 0
    order_site, order_item = np.nonzero(ordering)
    order_lane = setup.supplier_lane[order_site, order_item]
    # Backordered family demand counts against each ordering pair's position, in item units,
    # shared evenly among the family's items.
    order_family = n.item_family[order_item]
    family_size = np.array([setup.family_items[m].size for m in order_family], dtype=np.float64)
    per_item = 1.0 / (family_size * factor[order_item])

    def backordered(backorder: FloatArray) -> FloatArray:
        if not options.backorders:
            return np.zeros((r_count, order_site.size))
        at_site = np.einsum("sf,rfm->rsm", formations_at, backorder)
        share: FloatArray = at_site[:, order_site, order_family] * per_item[None, :]
        return share

    loop = RepairLoop(setup.repair, r_count, bool(draws and draws[0].random_failures))
    failure_uniform = np.asarray(_stack(draws, "failure_uniform"), dtype=np.float64)
    rp = setup.repair
    types = setup.repair_types
    type_of_pair = np.searchsorted(types, rp.system)
    fleet_of_type = np.bincount(type_of_pair, weights=rp.fleet, minlength=types.size)
    availability = np.zeros((r_count, days, types.size), dtype=np.float32)
    out_of_action = np.zeros((r_count, days), dtype=np.float32)
    failed = np.zeros((r_count, days), dtype=np.float32)

    for day in range(days):
        slot = day % ring
        # 1. Arrivals, production, pledges.
        arriving = pipeline[slot]
        on_hand += _to_sites(arriving, setup.destination_of)
        travelling -= arriving
        pipeline[slot] = 0.0
        can_make = setup.line_rate[day][None, :] * production_factor[:, day, :]
        made = np.minimum(setup.plan_production[day][None, :], can_make) if plan_mode else can_make
        on_hand += (made @ line_output).reshape(r_count, n_sites, n_items)
        produced += made @ line_items
        on_hand += setup.pledges[day][None]
        pledged += setup.pledges[day].sum(axis=0)[None]

        # 2. Requests.
        if plan_mode:
            owed += setup.plan_ship[day][None]
        elif order_site.size:
            inbound = travelling + owed  # (R, lanes, items)
            position = (
                on_hand[:, order_site, order_item]
                + inbound[:, order_lane, order_item]
                - backordered(backorder)
            )
            level = setup.reorder_at[order_site, order_item]
            target = setup.order_up_to[order_site, order_item]
            due = position <= level[None] + EPSILON
            quantity = np.where(due, np.maximum(target[None] - position, 0.0), 0.0)
            owed[:, order_lane, order_item] += quantity
            orders_placed += (quantity > EPSILON).sum(axis=1)

        # 3. Shipping, in waves: what arrives on a lane with no transit time can go on the
        # same day, as a plan moving it several hops within a period expects.
        down = (asset_down[:, day, :] @ lanes_of_asset) > 0
        room = setup.lane_rate[day][None, :] * ~(down | setup.lane_closed[day][None, :])
        handling = np.broadcast_to(n.site_throughput, (r_count, n_sites)).copy()
        lane_transit = transit[:, day, :]  # (R, L)
        immediate = lane_transit == 0
        later = ~immediate
        r_later, l_later = np.nonzero(later)
        slots = (day + lane_transit[r_later, l_later]) % ring
        active = np.ones((r_count, 1, 1))  # replications still forwarding today
        for _ in range(n_sites):
            shipped = _ship(owed, on_hand, floor, room, handling, setup, mass) * active
            tonnes = shipped @ mass
            room -= tonnes
            handling -= (setup.origin_of @ tonnes.T).T
            owed -= shipped
            np.maximum(owed, 0.0, out=owed)
            on_hand -= _to_sites(shipped, setup.origin_of)
            if r_later.size:
                going = shipped[r_later, l_later, :]
                pipeline[slots, r_later, l_later, :] += going
                travelling[r_later, l_later, :] += going
            handed_on = shipped * immediate[:, :, None]
            # Another wave only for replications that handed something on (decided by each
            # replication's own state, so that results do not depend on the batch).
            active = (handed_on.max(axis=(1, 2), initial=0.0) > EPSILON)[:, None, None] * 1.0
            if not active.any():
                break
            on_hand += _to_sites(handed_on, setup.destination_of)

        # Repairs use the spare parts at the hubs after the day's deliveries.
        loop.step(day, failure_uniform[:, day][:, rp.formation, rp.system], on_hand, consumed)
        available = np.zeros((r_count, types.size))
        np.add.at(available.T, type_of_pair, loop.available.T)
        availability[:, day] = available / np.maximum(fleet_of_type, EPSILON)
        out_of_action[:, day] = loop.out_of_action.sum(axis=1)
        failed[:, day] = loop.failed_today

        # 4. Consumption.
        expected = setup.demand[day]  # (F, M)
        need = expected[None] * demand_factor[:, day, :, None]
        if poisson_demand:
            counts = poisson.ppf(
                np.asarray(demand_uniform[:, day], dtype=np.float64), np.maximum(need, EPSILON)
            )
            need = np.where(need > 0, counts, 0.0)
        need = need + backorder
        got = np.zeros_like(need)
        if plan_mode:
            want = setup.plan_use[day][None] * demand_factor[:, day, :, None] + arrears
        for f in setup.formation_order:
            site = int(n.formation_site[f])
            for m in np.flatnonzero(expected[f] > 0):
                for i in setup.family_items[m]:
                    stock = on_hand[:, site, i]
                    left = need[:, f, m] - got[:, f, m]
                    if plan_mode:
                        draw = np.minimum(np.minimum(want[:, f, i], stock), left / factor[i])
                        arrears[:, f, i] = want[:, f, i] - draw
                    else:
                        draw = np.minimum(stock, left / factor[i])
                    draw = np.maximum(draw, 0.0)
                    on_hand[:, site, i] -= draw
                    consumed[:, i] += draw
                    got[:, f, m] += draw * factor[i]
        short = np.maximum(need - got, 0.0)
        daily_short[:, day] = short[:, pair_f, pair_m]
        weighted += np.einsum("rfm,fm->r", short, weights)
        units_short += short.sum(axis=(1, 2))
        if options.backorders:
            backorder = short
        # Days of supply at each formation's site, per family: stock there over the day's
        # expected demand of the formations there.
        at_site = on_hand[:, formation_site, :] @ family_of_item  # (R, F, M)
        site_need = (formations_at @ expected)[formation_site]  # (F, M)
        days_of_supply[:, day] = np.where(
            expected[None] > 0,
            at_site / np.maximum(site_need[None], EPSILON),
            np.nan,
        )[:, pair_f, pair_m]
        holding += (on_hand @ mass).sum(axis=1) * options.holding_cost

    is_short = daily_short > 1e-6
    first = np.where(is_short.any(axis=1), is_short.argmax(axis=1), days)
    return BatchResult(
        replications=replications,
        first_short=first.astype(np.int64),
        shortfall=daily_short.sum(axis=1),
        daily_shortfall=daily_short.astype(np.float32),
        days_of_supply=days_of_supply,
        weighted_shortfall=weighted,
        holding_cost=holding,
        ordering_cost=orders_placed * options.ordering_cost,
        shortage_cost=units_short * options.shortage_cost,
        initial=np.broadcast_to(setup.initial.sum(axis=0), (r_count, n_items)).copy(),
        produced=produced,
        pledged=pledged,
        consumed=consumed,
        on_hand=on_hand.sum(axis=1),
        in_transit=travelling.sum(axis=1),
        availability=availability,
        failed=failed,
        out_of_action=out_of_action,
    )


def _to_sites(per_lane: FloatArray, incidence: csr_array) -> FloatArray:
    """(R, lanes, items) -> (R, sites, items) through a (sites, lanes) incidence matrix."""
    r_count, n_lanes, n_items = per_lane.shape
    moved = incidence @ per_lane.transpose(1, 0, 2).reshape(n_lanes, -1)
    return np.asarray(moved).reshape(incidence.shape[0], r_count, n_items).transpose(1, 0, 2)


def _ship(
    owed: FloatArray,
    on_hand: FloatArray,
    floor: FloatArray,
    room: FloatArray,
    handling: FloatArray,
    setup: Setup,
    mass: FloatArray,
) -> FloatArray:
    """(R, lanes, items) what the lanes can ship now of what they owe: the origin's stock above
    its floor shared pro rata among the lanes asking, then each lane's remaining capacity and
    the origin's remaining handling shared pro rata among items (mass)."""
    origin = setup.network.lane_origin
    spare = np.maximum(on_hand - floor, 0.0)
    asked = _to_sites(owed, setup.origin_of)
    share = np.where(asked > EPSILON, np.minimum(spare / np.maximum(asked, EPSILON), 1.0), 0.0)
    shipped: FloatArray = owed * share[:, origin, :]
    tonnes = shipped @ mass
    room = np.maximum(room, 0.0)
    shipped *= np.where(tonnes > room, room / np.maximum(tonnes, EPSILON), 1.0)[:, :, None]
    if np.isfinite(handling).any():
        leaving = (setup.origin_of @ (shipped @ mass).T).T  # (R, sites)
        left = np.maximum(handling, 0.0)
        scale = np.where(leaving > left, left / np.maximum(leaving, EPSILON), 1.0)
        shipped *= scale[:, origin, None]
    return shipped

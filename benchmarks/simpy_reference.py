"""A reference of the simulator written the readable way, with SimPy: for the benchmark only
(SimPy is not a dependency of Sustain).

It runs one replication, without the repair loop, of a base-stock or (s, S) policy on a network
whose lanes all take at least a day, with the rules of sustain.simulate.kernel: arrivals,
production, pledges; orders on each pair's supplier lane up to its level when its installation
position (on hand + in transit + owed to it - owed by it to the sites it supplies) is at or
below its reorder level, farthest from a source first; shipping from stock
above the floor shared pro rata among the lanes asking, then within lane capacity and origin
handling shared pro rata by mass; consumption by priority, a family's items in order; demand
may be scaled by a replication's daily factors (the simulator's draws, so that both models run
the same noisy replication). Each shipment is a SimPy process that waits out its transit. Like
the kernel, it loops over the (lane, item) pairs that order, not over every item on every lane.
The levels and supplier lanes come from sustain.simulate.setup.prepare, so both models run the
same policy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Generator
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from sustain.simulate.setup import Setup

EPSILON = 1e-9


def run(setup: Setup, demand_factor: npt.NDArray[np.float64] | None = None) -> dict[str, float]:
    """Total shortfall (family units) and total consumed (item units) of one replication;
    `demand_factor` (days, formations) scales each formation's expected demand."""
    n = setup.network
    env = simpy.Environment()
    on_hand: dict[tuple[int, int], float] = defaultdict(float)
    for s, i in zip(*np.nonzero(setup.initial), strict=True):
        on_hand[int(s), int(i)] = float(setup.initial[s, i])
    floor = {
        (int(s), int(i)): float(setup.floor[s, i])
        for s, i in zip(*np.nonzero(setup.floor), strict=True)
    }
    owed: dict[tuple[int, int], float] = defaultdict(float)
    travelling: dict[tuple[int, int], float] = defaultdict(float)
    x = setup.inputs
    # The ordering pairs in the kernel's order (farthest from a source first, so that a
    # site's position counts what the sites it supplies ordered today), each with its
    # supplier lanes (the first on the shortest path first) and their shares of what no
    # supplier can spare.
    ordering: list[tuple[int, int, list[tuple[int, float]]]] = []
    for j, cell in enumerate(x.order_cell):
        s, i = divmod(int(cell), len(n.items))
        flows = range(x.order_in_start[j], x.order_in_start[j + 1])
        ordering.append((s, i, [(int(x.flow_lane[k]), float(x.flow_rest_share[k])) for k in flows]))
    ordering_cells = {(s, i) for s, i, _ in ordering}
    # What leaves each (site, item): the supplier lanes of the pairs it supplies.
    supplying: dict[tuple[int, int], list[int]] = defaultdict(list)
    for _, i, lanes_in in ordering:
        for lane, _ in lanes_in:
            supplying[int(n.lane_origin[lane]), i].append(lane)
    # What each origin's lanes carry: the (lane, item) pairs that order, by lane.
    carried: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for _, i, lanes_in in ordering:
        for lane, _ in lanes_in:
            carried[int(n.lane_origin[lane])][lane].append(i)

    def owed_by(site: int, item: int) -> float:
        return sum(owed[out, item] for out in supplying[site, item])

    def spare(site: int, item: int) -> float:
        return on_hand[site, item] - floor.get((site, item), 0.0)

    def order(day: int) -> None:
        # A source (no ordering pair) is never owed more than it can spare: the rest is
        # taken back from its lanes pro rata.
        for (site, item), lanes_out in supplying.items():
            if (site, item) in ordering_cells:
                continue
            asked, can = owed_by(site, item), max(spare(site, item), 0.0)
            if asked > EPSILON and asked > can:
                for out in lanes_out:
                    owed[out, item] *= can / asked
        for s, i, lanes_in in ordering:
            # Installation position: on hand + in transit + owed to it - owed by it.
            position = on_hand[s, i] - owed_by(s, i)
            position += sum(travelling[lane, i] + owed[lane, i] for lane, _ in lanes_in)
            if position > setup.reorder_at[s, i] + EPSILON:
                continue
            wanted = max(setup.order_up_to[s, i] - position, 0.0)
            if len(lanes_in) > 1:  # from each supplier in turn, up to what it can spare
                for lane, _ in lanes_in:
                    origin = int(n.lane_origin[lane])
                    part = min(wanted, max(spare(origin, i) - owed_by(origin, i), 0.0))
                    owed[lane, i] += part
                    wanted -= part
            for lane, rest_share in lanes_in:  # the rest from the depots, by their shares
                owed[lane, i] += wanted * rest_share

    totals = {"shortfall": 0.0, "consumed": 0.0}

    def shipment(lane: int, item: int, quantity: float) -> Generator[Any, Any, None]:
        # Leaves at day + 0.5, lands on a whole day, before that day's work at + 0.5.
        yield env.timeout(float(np.floor(n.lane_transit_days[lane] + 0.5)) - 0.5)
        travelling[lane, item] -= quantity
        on_hand[int(n.lane_destination[lane]), item] += quantity

    def day_by_day() -> Generator[Any, Any, None]:
        yield env.timeout(0.5)  # after the arrivals of the day, which land on whole days
        for day in range(setup.n_days):
            for line in range(len(n.lines)):
                key = (int(n.line_site[line]), int(n.line_item[line]))
                on_hand[key] += float(x.line_rate[day, line])
            for e in range(x.pledge_start[day], x.pledge_start[day + 1]):
                site, item = divmod(int(x.pledge_cell[e]), len(n.items))
                on_hand[site, item] += float(x.pledge_quantity[e])
            order(day)
            for origin, lanes in carried.items():
                ship_from(origin, lanes, day)
            consume(day)
            yield env.timeout(1.0)

    def ship_from(origin: int, lanes: dict[int, list[int]], day: int) -> None:
        asked: dict[int, float] = defaultdict(float)
        for lane, items in lanes.items():
            for i in items:
                asked[i] += owed[lane, i]
        share = {
            i: min((max(on_hand[origin, i] - floor.get((origin, i), 0.0), 0.0)) / a, 1.0)
            for i, a in asked.items()
            if a > EPSILON
        }
        shipped: dict[tuple[int, int], float] = {}
        for lane, items in lanes.items():
            moving = {i: owed[lane, i] * share.get(i, 0.0) for i in items}
            tonnes = sum(q * float(n.item_mass[i]) for i, q in moving.items())
            period = int(n.day_period[day])  # the lane's capacity that period, spread over its days
            room = float(n.lane_capacity[period, lane] / n.period_length[period])
            scale = room / tonnes if tonnes > room else 1.0
            for i, q in moving.items():
                shipped[lane, i] = q * scale
        handling = float(n.site_throughput[origin])
        leaving = sum(q * float(n.item_mass[i]) for (_, i), q in shipped.items())
        scale = handling / leaving if leaving > handling else 1.0
        for (lane, i), q in shipped.items():
            q *= scale
            if q <= 0:
                continue
            owed[lane, i] = max(owed[lane, i] - q, 0.0)
            on_hand[origin, i] -= q
            travelling[lane, i] += q
            env.process(shipment(lane, i, q))

    def consume(day: int) -> None:
        expected = setup.demand[day]
        for f in setup.formation_order:
            site = int(n.formation_site[f])
            factor_today = 1.0 if demand_factor is None else float(demand_factor[day, f])
            for m in np.flatnonzero(expected[f] > 0):
                need, got = float(expected[f, m]) * factor_today, 0.0
                for i in setup.family_items[m]:
                    factor = float(n.item_family_factor[i])
                    draw = max(min(on_hand[site, int(i)], (need - got) / factor), 0.0)
                    on_hand[site, int(i)] -= draw
                    got += draw * factor
                    totals["consumed"] += draw
                totals["shortfall"] += max(need - got, 0.0)

    env.process(day_by_day())
    env.run(until=setup.n_days)
    return totals

"""The daily kernel: stocks and flows of a batch of replications, one day per step.

The state of a replication is arrays over cells (sites x items), flows ((lane, item) pairs that
can carry something) x days in transit, demand pairs and repair pairs; the step is compiled
(sustain.simulate.compiled) and runs blocks of replications side by side, each in its own
column of every state array, so a replication's figures do not depend on its batch. Nothing is
an object per shipment or per event. A day, in order:

1. shipments due today arrive; lines produce (capacity x yield, nothing during a slip; under a
   plan, what the plan makes, as far as that allows); pledges due today arrive;
2. requests join what each lane owes: under a policy, each (site, item) serving demand orders
   on its supplier lane what brings its inventory position (on hand + in transit + owed) up to
   its level (base-stock: every day; (s, S): when the position is at or below s); under a
   plan, the plan's departures of the day;
3. lanes ship what they owe, as far as the origin holds stock above its floor (shared pro rata
   among the lanes asking), the lane is open (no asset down, no scripted closure) and its
   capacity and the origin's handling allow (mass, shared pro rata among items); what cannot
   go stays owed and waits for the next day (it does not reroute);
   then the repair loop steps (sustain.simulate.repair), drawing spare parts at the hubs;
4. formations consume: under a policy, from the stock at their site, families' items in the
   order they are listed, formations sharing a site served by priority; under a plan, what
   the plan allots each formation (scaled by its actual demand against the expected), plus
   allotments it could not draw before, within its demand and the stock there. Demand not met
   is shortfall (lost, or backordered if chosen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sustain.arrays import FloatArray, IntArray
from sustain.options import Uncertainty
from sustain.simulate.compiled import Inputs, Outputs, Random, block_width, simulate_replications
from sustain.simulate.series import Series, stock_days
from sustain.simulate.setup import Setup
from sustain.simulate.uncertainty import Draws, transit_days

ORIGIN_LEDGER = (
    "origin_produced",
    "origin_pledged",
    "origin_shipped",
    "origin_consumed",
    "origin_parts",
    "origin_on_hand",
    "origin_in_transit",
    "origin_delivered",
)


@dataclass
class BatchResult:
    """What a batch of replications reports, per replication (first axis)."""

    replications: IntArray  # their numbers
    first_short: IntArray  # (R, pairs) first day short (days if never); pairs: Setup.pairs
    shortfall: FloatArray  # (R, pairs) family units short over the horizon, each once
    backlog_days: FloatArray  # (R, pairs) family units backordered x the days they waited
    demanded: FloatArray  # (R, pairs) realised demand, family units
    weighted_shortfall: FloatArray  # (R,)
    holding_cost: FloatArray  # (R,)
    item_holding_cost: FloatArray  # (R, items)
    ordering_cost: FloatArray  # (R,)
    shortage_cost: FloatArray  # (R,)
    # Conservation ledger, per replication: what came in, went out, and is left.
    initial: FloatArray  # (R, items) initial stock
    produced: FloatArray  # (R, items)
    pledged: FloatArray  # (R, items)
    consumed: FloatArray  # (R, items)
    on_hand: FloatArray  # (R, items) at the end
    in_transit: FloatArray  # (R, items) at the end
    # The same ledger by origin (Setup.origins; none when not tracked): (R, origins, items),
    # and what each origin's goods met of each demand pair (R, origins, pairs), family units.
    origin_initial: FloatArray
    origin_produced: FloatArray
    origin_pledged: FloatArray
    origin_shipped: FloatArray  # each leg counted
    origin_consumed: FloatArray  # by formations
    origin_parts: FloatArray  # used in repairs
    origin_on_hand: FloatArray
    origin_in_transit: FloatArray
    origin_delivered: FloatArray
    # Day by day (the repair loop's system types: Setup.repair_types); None when the batch
    # wrote them into the run's arrays in place.
    series: Series | None


def _table(draws: Draws, name: str, constant: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """(R, days, ...) of the replications' draws; (1, 1, width) holding `constant` where the
    source is off."""
    table = getattr(draws, name)
    if table is None:
        return np.ascontiguousarray(constant.reshape(1, 1, -1))
    return np.ascontiguousarray(table)


def _initial_by_origin(x: Inputs) -> FloatArray:
    """(origins, items) the stock each origin starts with."""
    by_origin = np.zeros((x.n_origins, x.n_items))
    np.add.at(by_origin.T, x.stock_cell[: x.initial_origin.shape[0]] % x.n_items, x.initial_origin)
    return by_origin


def pair_shortage_cost(setup: Setup) -> FloatArray:
    """(P,) EUR per unit short (or per unit-day backordered) of each demand pair's family."""
    options, families = setup.options, setup.network.families.names
    by_family = np.full(len(families), options.shortage_cost)
    for family, cost in options.family_shortage_costs:
        by_family[families.index(family)] = cost
    return by_family[setup.pair_family]


def run_batch(
    setup: Setup,
    uncertainty: Uncertainty,
    draws: Draws,
    replications: IntArray,
    series: Series | None = None,
    stock_every: int = 1,
) -> BatchResult:
    """Run the replications whose draws are given (none: only compile the kernel), writing
    their day-by-day outputs into `series` (a row per replication) or new arrays; stock on
    hand is recorded every `stock_every` days."""
    n = setup.network
    x = setup.inputs
    r_count, days = replications.size, setup.n_days
    n_items, n_pairs = len(n.items), x.pair_formation.size
    repair = setup.repair
    demand_uniform = _table(draws, "demand_uniform", np.zeros(len(n.formations) * len(n.families)))
    failure_uniform = _table(draws, "failure_uniform", np.zeros(len(n.formations) * len(n.systems)))
    if demand_uniform.ndim == 4:
        demand_uniform = demand_uniform[:, :, setup.pair_formation, setup.pair_family]
    if failure_uniform.ndim == 4:
        failure_uniform = failure_uniform[:, :, repair.formation, repair.system]
    random = Random(
        demand_factor=_table(draws, "demand_factor", np.ones(len(n.formations))),
        demand_uniform=np.ascontiguousarray(demand_uniform),
        poisson_demand=uncertainty.poisson_demand,
        asset_down=_table(draws, "asset_down", np.zeros(len(n.assets), dtype=np.bool_)),
        transit=_table(draws, "transit", transit_days(n)),
        production_factor=_table(
            draws, "production_factor", np.full(len(n.lines), uncertainty.yield_mean)
        ),
        failure_uniform=np.ascontiguousarray(failure_uniform),
        random_failures=uncertainty.random_failures,
    )
    if series is None:
        stock = (stock_days(days, stock_every), x.stock_cell.size)
        series = Series.zeros(r_count, days, n_pairs, x.type_fleet.size, stock)
    out = Outputs(
        first_short=np.zeros((r_count, n_pairs), dtype=np.int64),
        shortfall=np.zeros((r_count, n_pairs)),
        backlog_days=np.zeros((r_count, n_pairs)),
        demanded=np.zeros((r_count, n_pairs)),
        daily_shortfall=series.daily_shortfall,
        daily_holding=series.daily_holding,
        stock=series.stock,
        stock_every=stock_every,
        days_of_supply=series.days_of_supply,
        weighted_shortfall=np.zeros(r_count),
        units_short=np.zeros(r_count),
        holding=np.zeros(r_count),
        item_holding=np.zeros((r_count, n_items)),
        orders_placed=np.zeros(r_count),
        produced=np.zeros((r_count, n_items)),
        pledged=np.zeros((r_count, n_items)),
        consumed=np.zeros((r_count, n_items)),
        on_hand=np.zeros((r_count, n_items)),
        in_transit=np.zeros((r_count, n_items)),
        availability=series.availability,
        failed=series.failed,
        out_of_action=series.out_of_action,
        **{
            name: np.zeros(
                (r_count, x.n_origins, n_pairs if name == "origin_delivered" else n_items)
            )
            for name in ORIGIN_LEDGER
        },
    )
    longest = int(random.transit.max()) if random.transit.size else 0
    simulate_replications(x, random, out, block_width(x, longest))
    options = setup.options
    return BatchResult(
        replications=replications,
        first_short=out.first_short,
        shortfall=out.shortfall,
        weighted_shortfall=out.weighted_shortfall,
        holding_cost=out.holding,
        item_holding_cost=out.item_holding,
        ordering_cost=out.orders_placed * options.ordering_cost,
        # Per unit lost, or per unit and day a backorder waits (the textbook's backorder cost).
        shortage_cost=(out.backlog_days if options.backorders else out.shortfall)
        @ pair_shortage_cost(setup),
        backlog_days=out.backlog_days,
        demanded=out.demanded,
        initial=np.broadcast_to(setup.initial.sum(axis=0), (r_count, n_items)).copy(),
        produced=out.produced,
        pledged=out.pledged,
        consumed=out.consumed,
        on_hand=out.on_hand,
        in_transit=out.in_transit,
        origin_initial=np.broadcast_to(
            _initial_by_origin(x), (r_count, x.n_origins, n_items)
        ).copy(),
        **{name: getattr(out, name) for name in ORIGIN_LEDGER},
        series=series,
    )

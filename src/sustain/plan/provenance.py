"""Whose goods move: the plan's flows split by the nation that owned, gave or made them.

The LP has no nation in it (one more index would multiply its size by the nations); what each
nation's goods do is read from the optimal plan by proportional sharing, the way power-flow
tracing attributes line flows to generators (Bialek, "Tracing the flow of electricity", IEE
Proc. 1996): every (site, item, period) of the conservation rows is a pool, and everything
leaving it (shipments, consumption, spare parts used in repairs, the stock carried into the
next period) is a mix of the nations in it, in the proportions of what came in (the stock
carried in, arrivals, production at the site, the stocks and pledges placed there). The mix of
every pool at once is one sparse linear solve over the LP's own conservation rows, so transit
within a period and split arrivals are traced as the model moves them.

Stocks belong to their owner, pledges to their donor, production to the line's nation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_array, identity
from scipy.sparse.linalg import splu

from sustain.arrays import FloatArray, IndexArray
from sustain.graph import reachable
from sustain.plan.model import Model

TOLERANCE = 1e-7  # below this, a nation's part of a flow is solver noise (as plan.results)


@dataclass(frozen=True)
class Tracing:
    """Each conservation pool's nation mix and each column's origin pool."""

    share: FloatArray  # (pools, nations): the share of each pool's throughput of each nation
    origin: IndexArray  # (columns,): the pool a column takes from (-1: none)
    amount: FloatArray  # (columns,): what the column takes from its origin pool
    arrived: FloatArray  # (columns,): what of it reaches a pool within the horizon


def trace(model: Model, col_value: FloatArray) -> Tracing:
    """The nation mix of every pool of a solved plan (rows of the model's balance block)."""
    n = model.network
    block = model.rows["balance"]
    assert model.matrix is not None
    x = np.maximum(col_value, 0.0)  # a flow of -1e-12 is none
    rows = model.matrix.tocsr()[block.start : block.stop].tocoo()
    pool, column, coefficient = rows.row.astype(np.int64), rows.col.astype(np.int64), rows.data
    flow = coefficient * x[column]  # above 0: leaves the pool; below: enters it
    leaves = coefficient > 0
    if np.bincount(column[leaves], minlength=model.n_columns).max(initial=0) > 1:
        raise AssertionError("a column leaves two conservation pools: provenance is undefined")
    origin = np.full(model.n_columns, -1, dtype=np.int64)
    origin[column[leaves]] = pool[leaves]
    amount = np.zeros(model.n_columns)
    amount[column[leaves]] = flow[leaves]
    throughput = np.bincount(pool[leaves], weights=flow[leaves], minlength=block.size)

    enters = (coefficient < 0) & (flow < 0)
    arrived = np.bincount(column[enters], weights=-flow[enters], minlength=model.n_columns).astype(
        np.float64
    )
    from_pool = enters & (origin[column] >= 0)
    source = origin[column[from_pool]]
    # Carried from pool o to pool r: that share of o's throughput (a column's arrivals may
    # be split over pools, each entry its part).
    carried = coo_array(
        (-flow[from_pool] / throughput[source], (pool[from_pool], source)),
        shape=(block.size, block.size),
    ).tocsc()

    placed = np.zeros((block.size, len(n.nations)))
    np.add.at(
        placed,
        (model.injection_row - block.start, model.injection_nation),
        model.injection_quantity,
    )
    made = enters & (origin[column] < 0)
    prod = model.columns["prod"]
    outside = (column[made] < prod.start) | (column[made] >= prod.stop)
    if outside.any():
        raise AssertionError("a column enters a conservation pool from nowhere known")
    line = model.prod_line[column[made] - prod.start]
    np.add.at(placed, (pool[made], n.line_nation[line]), -flow[made])

    # Each pool holds what is placed in it and what it is carried from others: (I - C) N = P,
    # solved over the pools that what is placed can reach. There I - C is invertible (a set
    # of pools sending all they hold among themselves would have to be fed by none of them);
    # a pool outside holds no nation's goods (an optimal plan may send goods round a loop of
    # lanes within a period at no cost: what goes round from nowhere is no one's).
    fed = reachable(block.size, source, pool[from_pool], placed.sum(axis=1) > 0)[0]
    inside = np.flatnonzero(fed)
    held = np.zeros_like(placed)
    if inside.size:
        system = identity(inside.size, format="csc") - carried[inside][:, inside]
        held[inside] = splu(system.tocsc()).solve(placed[inside])
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(throughput[:, None] > 0, held / throughput[:, None], 0.0)
    return Tracing(np.clip(share, 0.0, 1.0), origin, amount, arrived)


def split(tracing: Tracing, columns: IndexArray) -> FloatArray:
    """(columns, nations): what each of the given columns takes from its pool, by nation."""
    mix = tracing.share[np.maximum(tracing.origin[columns], 0)]
    split_flow: FloatArray = tracing.amount[columns, None] * mix
    split_flow[tracing.origin[columns] < 0] = 0.0
    return split_flow


def tables(model: Model, col_value: FloatArray) -> dict[str, pd.DataFrame]:
    """plan.shipments_by_nation, plan.consumption_by_nation and plan.nations."""
    n = model.network
    tracing = trace(model, col_value)
    nations = np.asarray(n.nations.names, dtype=object)
    out: dict[str, pd.DataFrame] = {}

    shipped = split(tracing, model.columns["ship"].positions())
    k, who = np.nonzero(shipped > TOLERANCE)
    lane, item, period = model.ship_lane[k], model.ship_item[k], model.ship_period[k]
    out["shipments_by_nation"] = pd.DataFrame(
        {
            "lane": n.lanes.take(lane),
            "from": n.sites.take(n.lane_origin[lane]),
            "to": n.sites.take(n.lane_destination[lane]),
            "item": n.items.take(item),
            "period": period,
            "date": n.period_start[period],
            "nation": nations[who],
            "quantity": shipped[k, who],
            "tonnes": shipped[k, who] * n.item_mass[item],
        }
    )

    used = split(tracing, model.columns["use"].positions())
    k, who = np.nonzero(used > TOLERANCE)
    formation, item, period = model.use_formation[k], model.use_item[k], model.use_period[k]
    out["consumption_by_nation"] = pd.DataFrame(
        {
            "formation": n.formations.take(formation),
            "item": n.items.take(item),
            "family": n.families.take(n.item_family[item]),
            "period": period,
            "date": n.period_start[period],
            "nation": nations[who],
            "quantity": used[k, who],
        }
    )
    out["nations"] = _ledger(model, tracing, shipped, used)
    return out


def _ledger(model: Model, tracing: Tracing, shipped: FloatArray, used: FloatArray) -> pd.DataFrame:
    """Per nation and item: what it held and pledged and made, against what was delivered,
    used in repairs and still in stock at the end (the two sides equal: the plan ships nothing
    that would arrive after the horizon)."""
    n = model.network
    n_nations, n_items = len(n.nations), len(n.items)
    block = model.rows["balance"]
    pool_item = model.inv_item  # the balance rows are in the order of the inv columns

    def by_item(items: IndexArray, quantities: FloatArray) -> FloatArray:
        """(nations, items) totals of (flows, nations) quantities of the given items."""
        total = np.zeros((n_items, n_nations))
        np.add.at(total, items, quantities)
        return total.T

    def injected(pledged: bool) -> FloatArray:
        total = np.zeros((n_nations, n_items))
        mask = model.injection_pledged == pledged
        items = pool_item[model.injection_row[mask] - block.start]
        np.add.at(total, (model.injection_nation[mask], items), model.injection_quantity[mask])
        return total

    prod = model.columns["prod"]
    made = np.zeros((n_nations, n_items))
    lines = model.prod_line
    # A line's output enters its site's pool: all of it is the line nation's.
    np.add.at(
        made, (n.line_nation[lines], n.line_item[lines]), tracing.arrived[prod.start : prod.stop]
    )
    repair_cols = model.columns["repair"].positions()
    with_part = tracing.origin[repair_cols] >= 0
    parts = split(tracing, repair_cols[with_part])
    part_item = n.system_spare_part[model.repair_system[with_part]]
    inv = model.columns["inv"]
    last = np.flatnonzero(model.inv_period == n.n_periods - 1) + inv.start
    figures = {
        "held": injected(False),
        "pledged": injected(True),
        "produced": made,
        "delivered": by_item(model.use_item, used),
        "used_in_repairs": by_item(part_item, parts),
        "stock_at_end": by_item(model.inv_item[last - inv.start], split(tracing, last)),
        "shipped": by_item(model.ship_item, shipped),
    }
    nation, item = np.nonzero(sum(np.abs(f) for f in figures.values()) > TOLERANCE)
    frame = pd.DataFrame(
        {
            "nation": n.nations.take(nation),
            "item": n.items.take(item),
            "family": n.families.take(n.item_family[item]),
            "unit": [n.item_unit[i] for i in item],
        }
    )
    for name, values in figures.items():
        frame[name] = values[nation, item]
    frame["shipped_t"] = frame["shipped"] * n.item_mass[item]
    return frame

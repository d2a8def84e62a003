"""Min cuts: for each front (a site where formations draw supplies), the smallest set of assets
whose loss cuts it off from every source of what its formations need, and the network's
capacity into it.

A lane fails when any asset it depends on is lost, so the smallest asset cut is a labelled cut
(hard in general); it is solved exactly as a small MIP with HiGHS: a binary per asset, a
reachability level in [0, 1] per site, sources at 1 and the front at 0, and for every lane
u -> v the constraint level(v) >= level(u) - (assets of the lane lost). A lane that depends on
no asset cannot be cut; if such lanes join a source to the front, no set of assets cuts it off.
"""

from __future__ import annotations

import highspy
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_flow

from sustain.arrays import FloatArray
from sustain.facts import item_sources
from sustain.graph import reachable
from sustain.highs import quiet_highs
from sustain.network import Network


def min_cuts(network: Network) -> pd.DataFrame:
    """One row per front: its formations, sources, the capacity into it (max flow, t/day: by
    max-flow min-cut also the capacity of its narrowest set of lanes), and its smallest asset
    cut with the source-front lanes that cut closes. A cut closes every path, so all of the
    max flow is what it takes away; the closed lanes' own capacity (often far above the flow
    upstream lanes let through) is not shown as a figure of the cut."""
    n = network
    rows = []
    needs = n.demand.sum(axis=0) > 0  # (formations, families)
    sources_of_item = item_sources(n)  # (items, sites)
    daily_capacity = n.lane_capacity.sum(axis=0) / max(float(n.period_length.sum()), 1.0)
    for front in np.unique(n.formation_site[needs.any(axis=1)]):
        formations = np.flatnonzero((n.formation_site == front) & needs.any(axis=1))
        families = np.flatnonzero(needs[formations].any(axis=0))
        items = np.flatnonzero(np.isin(n.item_family, families))
        sources: npt.NDArray[np.bool_] = np.asarray(sources_of_item[items].any(axis=0))
        sources[front] = False  # stock held at the front itself cannot be cut off
        cut = _asset_cut(n, sources, int(front))
        severed = (
            np.flatnonzero(n.lane_assets[:, cut].sum(axis=1) > 0)
            if cut is not None
            else np.zeros(0, dtype=np.int64)
        )
        rows.append(
            {
                "front": n.sites.names[front],
                "formations": ", ".join(n.formations.take(formations)),
                "sources": int(sources.sum()),
                "max_flow_t_per_day": _max_flow(n, sources, int(front), daily_capacity),
                "cut_size": len(cut) if cut is not None else pd.NA,  # no asset cut exists
                "cut_assets": " + ".join(n.assets.take(cut)) if cut is not None else "",
                "cut_lanes": ", ".join(n.lanes.take(_crossing(n, severed, sources, int(front)))),
                "single_point": cut is not None and len(cut) == 1,
            }
        )
    columns = [
        "front",
        "formations",
        "sources",
        "max_flow_t_per_day",
        "cut_size",
        "cut_assets",
        "cut_lanes",
        "single_point",
    ]
    frame = pd.DataFrame(rows, columns=columns).astype({"cut_size": "Int64"})
    return frame.sort_values(
        ["cut_size", "max_flow_t_per_day"], ignore_index=True, na_position="last"
    )


def _crossing(
    n: Network, lanes: npt.NDArray[np.int64], sources: npt.NDArray[np.bool_], front: int
) -> npt.NDArray[np.int64]:
    """The lanes among `lanes` (those a cut closes) that cross it: from a site the sources
    still reach with them closed, to one they do not reach that leads on to the front."""
    n_sites = len(n.sites)
    open_lanes = np.ones(len(n.lanes), dtype=bool)
    open_lanes[lanes] = False
    source_side = reachable(
        n_sites, n.lane_origin[open_lanes], n.lane_destination[open_lanes], sources
    )[0]
    target = np.zeros(n_sites, dtype=bool)
    target[front] = True
    to_front = reachable(n_sites, n.lane_destination, n.lane_origin, target)[0]
    origin, destination = n.lane_origin[lanes], n.lane_destination[lanes]
    keep = source_side[origin] & ~source_side[destination] & to_front[destination]
    crossing: npt.NDArray[np.int64] = lanes[keep]
    return crossing


def _asset_cut(n: Network, sources: npt.NDArray[np.bool_], front: int) -> list[int] | None:
    """The smallest set of assets cutting the front off from every source; None if none does
    (an unbreakable path) and [] if it has no source to begin with."""
    n_sites, n_assets = len(n.sites), len(n.assets)
    if not sources.any():
        return []
    highs = quiet_highs()
    lp = highspy.HighsLp()
    lp.num_col_ = n_assets + n_sites  # assets lost, then site levels
    lp.num_row_ = len(n.lanes)
    lp.col_cost_ = np.concatenate([np.ones(n_assets), np.zeros(n_sites)])
    lower = np.zeros(n_assets + n_sites)
    upper = np.ones(n_assets + n_sites)
    lower[n_assets + np.flatnonzero(sources)] = 1.0
    upper[n_assets + front] = 0.0
    lp.col_lower_, lp.col_upper_ = lower, upper
    lp.row_lower_ = np.zeros(len(n.lanes))
    lp.row_upper_ = np.full(len(n.lanes), np.inf)
    # Row per lane: level(destination) - level(origin) + sum of its assets >= 0.
    by_lane = csr_array(n.lane_assets.astype(np.float64))
    lanes = np.arange(len(n.lanes))
    rows = np.concatenate([lanes, lanes, np.repeat(lanes, np.diff(by_lane.indptr))])
    cols = np.concatenate(
        [n_assets + n.lane_destination, n_assets + n.lane_origin, by_lane.indices]
    )
    values = np.concatenate([np.ones(lanes.size), -np.ones(lanes.size), by_lane.data])
    matrix = csr_array((values, (rows, cols)), shape=(len(n.lanes), n_assets + n_sites)).tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_assets + [
        highspy.HighsVarType.kContinuous
    ] * n_sites
    highs.passModel(lp)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    lost = np.asarray(highs.getSolution().col_value)[:n_assets]
    return [int(a) for a in np.flatnonzero(lost > 0.5)]


def _max_flow(
    n: Network, sources: npt.NDArray[np.bool_], front: int, daily_capacity: FloatArray
) -> float:
    """Tonnes a day the lanes can carry from all sources together into the front (whole
    tonnes: scipy's maximum flow works in integers)."""
    n_sites = len(n.sites)
    if not sources.any():
        return 0.0
    super_source = n_sites
    origin = np.concatenate([n.lane_origin, np.full(int(sources.sum()), super_source)])
    destination = np.concatenate([n.lane_destination, np.flatnonzero(sources)])
    big = int(np.ceil(daily_capacity.sum())) + 1
    capacity = np.concatenate(
        [np.floor(daily_capacity).astype(np.int64), np.full(int(sources.sum()), big)]
    )
    graph = csr_array(
        (capacity.astype(np.int32), (origin, destination)), shape=(n_sites + 1, n_sites + 1)
    )
    graph.sum_duplicates()
    return float(maximum_flow(graph, super_source, front).flow_value)

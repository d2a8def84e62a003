"""What follows from the Network alone, shared by the engines: where each item can enter the
network and be used, the paths between, and the lanes a closure shuts. The planner, the
simulator and the resilience sweep read these here rather than from one another."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_array

from sustain.arrays import BoolArray, FloatArray, IndexArray
from sustain.graph import reachable
from sustain.network import PLEDGE_STATUSES, Network
from sustain.options import Closure


def item_sources(network: Network) -> BoolArray:
    """(items, sites): where each item can enter the network."""
    n_items, n_sites = len(network.items), len(network.sites)
    sources = np.zeros((n_items, n_sites), dtype=bool)
    has_stock = network.stock_quantity > network.stock_floor
    sources[network.stock_item[has_stock], network.stock_site[has_stock]] = True
    sources[network.line_item, network.line_site] = True
    live = network.pledge_status != PLEDGE_STATUSES.index("cancelled")
    sources[network.pledge_item[live], network.pledge_site[live]] = True
    return sources


def item_sinks(network: Network) -> BoolArray:
    """(items, sites): where each item can be used: formations that can use its family and
    need it, and repair hubs for spare parts."""
    n_items, n_sites = len(network.items), len(network.sites)
    sinks = np.zeros((n_items, n_sites), dtype=bool)
    needed = network.formation_family & (network.demand.sum(axis=0) > 0)  # (formations, fam)
    uses = needed[:, network.item_family]  # (formations, items)
    f_idx, i_idx = np.nonzero(uses)
    sinks[i_idx, network.formation_site[f_idx]] = True
    hubs = np.flatnonzero(network.site_repair_capacity > 0)
    parts = network.system_spare_part[network.system_spare_part >= 0]
    if hubs.size and parts.size:
        sinks[np.ix_(np.unique(parts), hubs)] = True
    return sinks


def paths_to_demand(network: Network) -> BoolArray:
    """(items, sites): where each item can be, on a path from a source to a formation that
    uses it; the model has columns only there."""
    n = network
    forward = reachable(len(n.sites), n.lane_origin, n.lane_destination, item_sources(n))
    backward = reachable(len(n.sites), n.lane_destination, n.lane_origin, item_sinks(n))
    on_path: BoolArray = forward & backward
    return on_path


def closed_lanes(network: Network, closure: Closure) -> IndexArray:
    """The lanes a closure shuts: its lane, or every lane that fails with its asset."""
    if closure.asset is not None:
        a = network.assets[closure.asset]
        by_asset = csr_array(network.lane_assets[:, [a]].T)  # the asset's column only
        return by_asset.indices.astype(np.int64)
    if closure.lane is not None:
        return np.array([network.lanes[closure.lane]], dtype=np.int64)
    return np.zeros(0, dtype=np.int64)


def open_share(network: Network, closures: tuple[Closure, ...]) -> FloatArray:
    """(periods, lanes): the share of each period a lane is open, given the closures."""
    n_periods, n_lanes = network.n_periods, len(network.lanes)
    share = np.ones((n_periods, n_lanes))
    if not closures:
        return share
    starts = network.period_first_day
    ends = starts + network.period_length
    for closure in closures:
        lanes = closed_lanes(network, closure)
        overlap = np.clip(
            np.minimum(ends, closure.end_day) - np.maximum(starts, closure.start_day), 0, None
        )
        closed = overlap / network.period_length
        share[:, lanes] = np.minimum(share[:, lanes], (1.0 - closed)[:, None])
    return share


# ---------------------------------------------------------------------------------------------
# Assembly.

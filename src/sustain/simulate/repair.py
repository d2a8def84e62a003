"""The repair loop in the simulator: systems that break down or are damaged travel to the
nearest repair hub that repairs their type, queue there, are repaired within the hub's daily
capacity (shared pro rata among the queues) as far as its spare parts allow, and travel back
to their formation. Fleet availability is what is not somewhere in that loop.

Each (formation, system type) pair is tracked on its own: its hub, the days to get there (the
shortest lane path by transit time) and back, and its repair time are fixed; the numbers at each
stage are arrays (replications, pairs). Lane capacity is not spent on systems here (the planner
counts it). A pair with no hub in reach keeps its failed systems out of action.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from sustain.arrays import FloatArray, IntArray
from sustain.network import Network

EPSILON = 1e-9


@dataclass(frozen=True)
class RepairSetup:
    formation: IntArray  # (pairs,)
    system: IntArray
    hub: IntArray  # -1 where no hub is in reach
    to_days: IntArray
    repair_days: IntArray
    back_days: IntArray
    rate: FloatArray  # share failing a day
    fleet: FloatArray  # systems held
    part: IntArray  # spare part item, -1 where none
    parts_per_repair: FloatArray
    hub_capacity: FloatArray  # (sites,) systems a day

    @property
    def size(self) -> int:
        return int(self.formation.size)

    @property
    def ring(self) -> int:
        longest = max(
            int(self.to_days.max(initial=0)),
            int(self.repair_days.max(initial=0)),
            int(self.back_days.max(initial=0)),
        )
        return longest + 1


def repair_setup(network: Network) -> RepairSetup:
    n = network
    rate = n.system_breakdown_rate + n.system_damage_rate
    f_idx, y_idx = np.nonzero((n.holdings > 0) & (rate > 0)[None, :] & (n.system_repair_days > 0))
    n_sites = len(n.sites)
    # Shortest transit between sites (a lane of no transit counts a hair above nothing).
    weights = np.maximum(n.lane_transit_days, 1e-9)
    graph = csr_array((weights, (n.lane_origin, n.lane_destination)), shape=(n_sites, n_sites))
    distance = dijkstra(graph, directed=True)
    site = n.formation_site[f_idx]
    capable = (n.site_repair_capacity > 0)[:, None] & n.site_repairs  # (sites, systems)
    round_trip = distance[site] + distance[:, site].T  # (pairs, sites)
    round_trip = np.where(capable[:, y_idx].T, round_trip, np.inf)
    hub = np.where(np.isfinite(round_trip).any(axis=1), round_trip.argmin(axis=1), -1)
    reach = hub >= 0
    to_days = np.where(reach, distance[site, np.maximum(hub, 0)], 0.0)
    back_days = np.where(reach, distance[np.maximum(hub, 0), site], 0.0)
    return RepairSetup(
        formation=f_idx.astype(np.int64),
        system=y_idx.astype(np.int64),
        hub=hub.astype(np.int64),
        to_days=np.floor(to_days + 0.5).astype(np.int64),
        repair_days=np.maximum(np.floor(n.system_repair_days[y_idx] + 0.5), 1).astype(np.int64),
        back_days=np.floor(back_days + 0.5).astype(np.int64),
        rate=rate[y_idx],
        fleet=n.holdings[f_idx, y_idx],
        part=n.system_spare_part[y_idx].astype(np.int64),
        parts_per_repair=n.system_spare_parts_per_repair[y_idx],
        hub_capacity=n.site_repair_capacity,
    )

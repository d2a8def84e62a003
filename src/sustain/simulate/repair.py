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
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra
from scipy.stats import poisson

from sustain.network import Network

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
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


class RepairLoop:
    """The state of the loop for a batch of replications."""

    def __init__(self, setup: RepairSetup, replications: int, random_failures: bool) -> None:
        self.setup = setup
        self.random = random_failures
        shape = (replications, setup.size)
        self.available = np.broadcast_to(setup.fleet, shape).copy()
        self.queue = np.zeros(shape)
        self.ring = setup.ring
        # Systems due at the hub, out of repair, and back, by day (mod ring).
        self.to_hub = np.zeros((self.ring, *shape))
        self.repaired = np.zeros((self.ring, *shape))
        self.back = np.zeros((self.ring, *shape))
        self.failed_today = np.zeros(replications)
        self.lands = setup.hub >= 0

    def step(
        self, day: int, uniform: FloatArray, on_hand: FloatArray, consumed: FloatArray
    ) -> None:
        """One day; `uniform` (R, pairs) for random failures; spare parts drawn from `on_hand`
        (R, sites, items) are added to `consumed` (R, items)."""
        s = self.setup
        slot = day % self.ring
        self.available += self.back[slot]
        self.back[slot] = 0.0
        self._after(self.repaired[slot], s.back_days, self.back, day, into="available")
        self.repaired[slot] = 0.0
        self.queue += self.to_hub[slot]
        self.to_hub[slot] = 0.0

        # Repairs start within each hub's capacity, shared pro rata, and its spare parts.
        waiting_at = np.zeros((self.queue.shape[0], on_hand.shape[1]))
        hubs = np.maximum(s.hub, 0)
        np.add.at(waiting_at.T, hubs[self.lands], self.queue[:, self.lands].T)
        share = np.minimum(
            1.0, s.hub_capacity[None, :] / np.maximum(waiting_at, EPSILON)
        )  # (R, sites)
        start = self.queue * share[:, hubs] * self.lands
        with_part = (s.part >= 0) & self.lands
        if with_part.any():
            items = s.part[with_part]
            need = start[:, with_part] * s.parts_per_repair[with_part]
            key = hubs[with_part] * on_hand.shape[2] + items
            wanted = np.zeros((start.shape[0], on_hand.shape[1] * on_hand.shape[2]))
            np.add.at(wanted.T, key, need.T)
            stock = on_hand.reshape(on_hand.shape[0], -1)
            scale = np.minimum(1.0, stock / np.maximum(wanted, EPSILON))
            start[:, with_part] *= scale[:, key]
            used = start[:, with_part] * s.parts_per_repair[with_part]
            drawn = np.zeros_like(wanted)
            np.add.at(drawn.T, key, used.T)
            stock -= drawn
            np.add.at(consumed.T, items, used.T)
        self.queue -= start
        self._after(start, s.repair_days, self.repaired, day, into=None)

        # Failures of the systems available today.
        mean = self.available * s.rate[None, :]
        if self.random:
            count: Any = poisson.ppf(uniform, np.maximum(mean, EPSILON))
            failing = np.minimum(np.where(mean > 0, count, 0.0), self.available)
        else:
            failing = mean
        self.available -= failing
        self.failed_today = failing.sum(axis=1)
        self._after(failing * self.lands, s.to_days, self.to_hub, day, into="queue")

    def _after(
        self, quantity: FloatArray, days: IntArray, ring: FloatArray, day: int, into: str | None
    ) -> None:
        """Put `quantity` (R, pairs) into `ring` `days` later; with no delay, straight into the
        named stage instead."""
        now = days == 0
        if into is not None and now.any():
            target = getattr(self, into)
            target[:, now] += quantity[:, now]
        later = ~now if into is not None else np.ones(days.size, dtype=bool)
        pairs = np.flatnonzero(later)
        ring[(day + days[pairs]) % self.ring, :, pairs] += quantity[:, pairs].T

    @property
    def out_of_action(self) -> FloatArray:
        """(R, pairs) systems somewhere in the loop (or failed with no hub in reach)."""
        return np.broadcast_to(self.setup.fleet, self.available.shape) - self.available

"""Where damaged and repaired systems can be, and where they can go.

A system that breaks down or is damaged becomes a *damaged* system at its formation's site. It
travels over lanes (its mass counted against their capacity and the sites' handling) to a repair
hub that repairs its type, waits there, is repaired within the hub's capacity using spare parts
held there, and after the repair time is a *repaired* system at the hub. Repaired systems travel
back over lanes and return to a formation holding their type, at its site. Systems of a type are
pooled: a repaired tank returns to any formation that holds the type.

Only systems in service fail: of the systems of a type available at the start of a period, the
share `1 - (1 - r) ** days` fails during it (r the breakdown and combat-damage rates a day), so
with no repair a fleet's availability after d days is (1 - r) ** d. Failures appear at the sites
of the formations holding the type, in proportion to their holdings (the pool of a type is
shared). A system returned during a period does not fail again before its end.

Damaged and repaired systems of each tracked type are two "cargoes" that flow like items; this
module gives their index arrays. A damaged system stays where it failed when no lane leads to a
hub (it is counted as waiting), and a repaired one stays at the hub when no lane leads back.

What a system back in service is worth differs by type: `system_value` from the scenario, or
the mean priority of the formations holding it (weighted by how many each holds) times the
largest criticality of the families it uses that are demanded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sustain.arrays import BoolArray, FloatArray, IndexArray
from sustain.graph import reachable
from sustain.network import Network

DAMAGED, REPAIRED = 0, 1
CONDITIONS = ("damaged", "repaired")


def system_values(network: Network) -> FloatArray:
    """(systems,) the weight of one system of each type out of action for a day: the
    scenario's value, or the holders' mean priority times the largest criticality of the
    demanded families it uses (1 where it uses none)."""
    n = network
    fleet = n.holdings.sum(axis=0)
    priority = (n.holdings * n.formation_priority[:, None]).sum(axis=0) / np.maximum(fleet, 1e-300)
    criticality = n.family_criticality()
    demanded = n.demand.sum(axis=(0, 1)) > 0
    largest = np.where(n.system_family & demanded[None, :], criticality[None, :], 0.0).max(
        axis=1, initial=0.0
    )
    derived = np.where(fleet > 0, priority, 1.0) * np.where(largest > 0, largest, 1.0)
    values: FloatArray = np.where(np.isnan(n.system_value), derived, n.system_value)
    return values


@dataclass(frozen=True)
class FleetIndex:
    """Tracked system types and the (site, cargo) pairs where their systems can be. A cargo is
    `condition * len(systems) + slot`, slot being the position in `systems`."""

    systems: IndexArray  # system types with failures, a repair time and a fleet
    size: FloatArray  # (slots,) systems of each type held by the formations
    hazard: FloatArray  # (slots, periods) share of the systems in service failing in a period
    site_share: FloatArray  # (sites, slots) share of each type's holdings at each site
    value: FloatArray  # (slots,) weight of one system out of action for a day
    can_repair: BoolArray  # (sites, slots) hubs able to repair each type (parts on hand)
    holds: BoolArray  # (sites, slots) sites of formations holding each type
    on_path: BoolArray  # (cargoes, sites)
    repair_days: FloatArray  # (slots,) repair time

    @property
    def n_slots(self) -> int:
        return int(self.systems.size)

    def cargo(self, condition: IndexArray | int, slot: IndexArray) -> IndexArray:
        return np.asarray(condition * self.n_slots + slot, dtype=np.int64)


def fleet_index(network: Network, parts_on_path: BoolArray) -> FleetIndex:
    """`parts_on_path` (sites, items) says where spare parts can be held."""
    n = network
    n_sites = len(n.sites)
    rate = n.system_breakdown_rate + n.system_damage_rate
    fleet = n.holdings.sum(axis=0)
    hubs = n.site_repair_capacity > 0
    systems = np.flatnonzero((rate > 0) & (n.system_repair_days > 0) & (fleet > 0))

    at_site = np.zeros((n_sites, systems.size))
    np.add.at(at_site, n.formation_site, n.holdings[:, systems])
    daily = np.clip(rate[systems], 0.0, 1.0)
    hazard = 1.0 - (1.0 - daily[:, None]) ** n.period_length[None, :]
    part = n.system_spare_part[systems]
    has_parts = (part[None, :] < 0) | parts_on_path[:, np.maximum(part, 0)]
    can_repair = hubs[:, None] & n.site_repairs[:, systems] & has_parts
    holds = at_site > 0
    # A hub repairs only systems that can reach it from where they fail.
    can_repair &= reachable(n_sites, n.lane_origin, n.lane_destination, holds.T).T

    sources = np.concatenate([holds.T, can_repair.T])  # damaged at the front, repaired at hubs
    sinks = np.concatenate([can_repair.T, holds.T])
    forward = reachable(n_sites, n.lane_origin, n.lane_destination, sources)
    backward = reachable(n_sites, n.lane_destination, n.lane_origin, sinks)
    on_path = (forward & backward) | sources
    return FleetIndex(
        systems=systems.astype(np.int64),
        size=fleet[systems],
        hazard=hazard,
        site_share=at_site / fleet[systems][None, :],
        value=system_values(n)[systems],
        can_repair=can_repair,
        holds=holds,
        on_path=on_path,
        repair_days=n.system_repair_days[systems],
    )

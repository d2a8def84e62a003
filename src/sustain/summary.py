"""Summary tables of a Network: what `sustain info` shows. Tidy pandas DataFrames."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from sustain.network import ASSET_KINDS, MODES, PLEDGE_STATUSES, SITE_KINDS, Network
from sustain.orderbook import free_capacity


def sites_by_kind(network: Network) -> pd.DataFrame:
    """Number of sites by kind and owner nation."""
    frame = pd.DataFrame(
        {
            "kind": [SITE_KINDS[k] for k in network.site_kind],
            "nation": network.nations.take(network.site_nation),
        }
    )
    return frame.groupby(["kind", "nation"]).size().rename("sites").reset_index()


def lanes_by_mode(network: Network) -> pd.DataFrame:
    """Lanes by mode: how many, their total capacity and their mean transit time."""
    frame = pd.DataFrame(
        {
            "mode": [MODES[m] for m in network.lane_mode],
            "capacity_t_per_day": network.lane_capacity.sum(axis=0) / network.n_days,
            "transit_days": network.lane_transit_days,
        }
    )
    grouped = frame.groupby("mode")
    return pd.DataFrame(
        {
            "lanes": grouped.size(),
            "capacity_t_per_day": grouped["capacity_t_per_day"].sum(),
            "mean_transit_days": grouped["transit_days"].mean(),
        }
    ).reset_index()


def demand_by_family(network: Network) -> pd.DataFrame:
    """Demand of each family over the horizon, in the family's unit."""
    total = network.demand.sum(axis=(0, 1))
    per_period = network.demand.sum(axis=1)  # (periods, families)
    return pd.DataFrame(
        {
            "family": network.families.names,
            "unit": network.family_unit,
            "demand": total,
            "mean_per_day": total / network.n_days,
            "peak_per_day": (per_period / network.period_length[:, None]).max(axis=0, initial=0.0),
        }
    )


def supply_by_family(network: Network) -> pd.DataFrame:
    """What can supply each family over the horizon, in the family's unit: stock above the
    owners' floors, production the partner can get (lines' output less what other customers'
    order books take, `gross_production` beside it), and pledges not cancelled; and that total
    against demand."""

    n_families = len(network.families)
    factor = network.item_family_factor

    def by_family(item: np.ndarray, quantity: np.ndarray) -> np.ndarray:
        return np.bincount(
            network.item_family[item], weights=quantity * factor[item], minlength=n_families
        )

    stock = by_family(
        network.stock_item, np.maximum(network.stock_quantity - network.stock_floor, 0.0)
    )
    gross = by_family(network.line_item, network.line_capacity.sum(axis=0))
    production = by_family(network.line_item, free_capacity(network).sum(axis=0))
    live = network.pledge_status != PLEDGE_STATUSES.index("cancelled")
    pledged = by_family(network.pledge_item[live], network.pledge_quantity[live])
    demand = network.demand.sum(axis=(0, 1))
    total = stock + production + pledged
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(demand > 0, total / demand, np.inf)
    return pd.DataFrame(
        {
            "family": network.families.names,
            "unit": network.family_unit,
            "stock_above_floor": stock,
            "production": production,
            "gross_production": gross,
            "pledged": pledged,
            "supply": total,
            "demand": demand,
            "supply_to_demand": cover,
        }
    )


def _listed(compressed: Any, names: Callable[[Any], list[str]]) -> list[str]:
    """Per row of a compressed sparse incidence (CSR; a CSC's columns), the names of its
    entries joined by ";" ("" where it has none)."""
    return [";".join(names(compressed.indices[a:b])) for a, b in pairwise(compressed.indptr)]


def _finite(values: np.ndarray) -> np.ndarray:
    """Figures with "unlimited" (inf) as missing."""
    return np.where(np.isfinite(values), values, np.nan)


def sites(network: Network) -> pd.DataFrame:
    """Every site: kind, owner, where it is and what it can handle."""
    n = network
    return pd.DataFrame(
        {
            "site": n.sites.names,
            "kind": [SITE_KINDS[k] for k in n.site_kind],
            "nation": n.nations.take(n.site_nation),
            "release": n.site_release,
            "lat": n.site_lat,
            "lon": n.site_lon,
            "throughput_t_per_day": _finite(n.site_throughput),
            "storage_t": _finite(n.site_storage),
            "repair_capacity_per_day": n.site_repair_capacity,
        }
    )


def lanes(network: Network) -> pd.DataFrame:
    """Every lane: its ends, mode, capacity (the mean a day over the horizon), transit time,
    cost and the assets it fails with."""
    n = network
    return pd.DataFrame(
        {
            "lane": n.lanes.names,
            "from": n.sites.take(n.lane_origin),
            "to": n.sites.take(n.lane_destination),
            "mode": [MODES[m] for m in n.lane_mode],
            "capacity_t_per_day": n.lane_capacity.sum(axis=0) / n.n_days,
            "transit_days": n.lane_transit_days,
            "cost_eur_per_t": n.lane_cost,
            "assets": _listed(n.lane_assets.tocsr(), n.assets.take),
        }
    )


def assets(network: Network) -> pd.DataFrame:
    """Every asset: its kind, the site it is (blank for one that is part of lanes only), the
    lanes that fail with it and the time it takes to recover."""
    n = network
    return pd.DataFrame(
        {
            "asset": n.assets.names,
            "kind": [ASSET_KINDS[k] for k in n.asset_kind],
            "site": [n.sites.names[s] if s >= 0 else "" for s in n.asset_site],
            "lanes": _listed(n.lane_assets.tocsc(), n.lanes.take),
            "recovery_days": n.asset_recovery_days,
        }
    )


def formations(network: Network) -> pd.DataFrame:
    """Every formation: its nation, the site it draws from and its priority."""
    n = network
    return pd.DataFrame(
        {
            "formation": n.formations.names,
            "nation": n.nations.take(n.formation_nation),
            "release": n.formation_release,
            "site": n.sites.take(n.formation_site),
            "priority": n.formation_priority,
        }
    )


def lines(network: Network) -> pd.DataFrame:
    """Every production line: its site, item and nation."""
    n = network
    return pd.DataFrame(
        {
            "line": n.lines.names,
            "site": n.sites.take(n.line_site),
            "item": n.items.take(n.line_item),
            "nation": n.nations.take(n.line_nation),
            "release": n.line_release,
        }
    )

"""The plan's model size, estimated from the Network before anything of its size is built, so
that a model too large for the machine is refused with what would make it smaller.

Columns are counted as the model builds them (model.build): a shipment column per (lane,
item) on a path and departure period, a stock column per (site, item) on a path and period,
and so on. Rows and nonzeros follow from the columns by the ratios measured on the bundled
scenarios (rows 0.3-0.84 and nonzeros 2.0-3.9 per column: taken as 1 and 5), and
memory from the peak memory measured while planning them (docs/robustness.md): about 2.2 kB
a column for the arrays, HiGHS's copy and its factorisation, 3 kB taken to be safe.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sustain.facts import paths_to_demand
from sustain.network import Network
from sustain.options import PlanOptions
from sustain.plan.fleet import fleet_index
from sustain.plan.model import FAIR_STEPS
from sustain.plan.solve import PlanError
from sustain.timegrid import departures_inside

ROWS_PER_COLUMN = 1.0
NONZEROS_PER_COLUMN = 5.0
BYTES_PER_COLUMN = 3_000
GB = 1e9
# Of the memory free when a plan starts, the share its model may take (the rest: the
# process, the checker, other work on the machine).
FREE_SHARE = 0.8


class ModelTooLargeError(PlanError):
    """The plan's model would not fit in the memory allowed; the message says how to shrink it."""


@dataclass(frozen=True)
class ModelSize:
    columns: int
    rows: int
    nonzeros: int

    @property
    def gigabytes(self) -> float:
        return self.columns * BYTES_PER_COLUMN / GB


def estimate(network: Network, options: PlanOptions) -> ModelSize:
    """The model's size for this Network and options, counted from (lane, item), (site, item)
    and similar pairs times periods: nothing of the model's size is allocated."""
    n = network
    periods = n.n_periods
    on_path = paths_to_demand(n)  # (items, sites)
    departures = departures_inside(n.period_edges, n.lane_transit_days, options.lags)
    usable = on_path[:, n.lane_origin] & on_path[:, n.lane_destination]  # (items, lanes)
    shipments = int((usable * departures[None, :]).sum())
    stocks = int(on_path.sum()) * periods
    production = int(on_path[n.line_item, n.line_site].sum()) * periods
    demanded = n.demand > 0  # (periods, formations, families)
    shortfalls = int(demanded.sum())
    items_per_family = np.bincount(n.item_family, minlength=len(n.families))
    uses = int((demanded * items_per_family[None, None, :]).sum())
    fleet = fleet_index(n, on_path.T)
    movable = fleet.on_path[:, n.lane_origin] & fleet.on_path[:, n.lane_destination]
    systems = (
        int(fleet.can_repair.sum()) * periods  # repairs
        + int((movable * departures[None, :]).sum())  # moves
        + int(fleet.on_path.sum()) * periods  # positions
        + int((fleet.holds & fleet.on_path[fleet.n_slots :].T).sum()) * periods  # returns
        + fleet.n_slots * periods  # availability
    )
    fair = shortfalls * (FAIR_STEPS - 1) if options.allocation == "fair" else 0
    columns = shipments + stocks + production + shortfalls + uses + systems + fair
    columns += len(n.investments) if options.investments != "none" else 0
    return ModelSize(
        columns=columns,
        rows=int(columns * ROWS_PER_COLUMN),
        nonzeros=int(columns * NONZEROS_PER_COLUMN),
    )


def memory_allowed_gb() -> float:
    """SUSTAIN_MAX_MODEL_GB if set, else a share of the memory free now."""
    setting = os.environ.get("SUSTAIN_MAX_MODEL_GB")
    if setting:
        try:
            value = float(setting)
        except ValueError:
            raise ModelTooLargeError(
                f'SUSTAIN_MAX_MODEL_GB is "{setting}": write a number of gigabytes'
            ) from None
        if value > 0:
            return value
    return FREE_SHARE * _free_bytes() / GB


def _free_bytes() -> float:
    """The memory available to a new allocation (Linux's MemAvailable), else all of it."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_fits(network: Network, options: PlanOptions) -> ModelSize:
    """The model's estimated size; ModelTooLargeError if it needs more memory than allowed."""
    size = estimate(network, options)
    allowed = memory_allowed_gb()
    if size.gigabytes > allowed:
        raise ModelTooLargeError(
            f"the plan's model would have about {size.columns:,} variables, {size.rows:,} "
            f"constraints and {size.nonzeros:,} nonzeros ({network.n_periods:,} periods over "
            f"{network.n_days:,} days), needing about {size.gigabytes:,.1f} GB, more than the "
            f"{allowed:,.1f} GB allowed: make it smaller with longer periods "
            "(period: week or month), time buckets (period: '28 x day, then week'), or a "
            "shorter horizon; or set SUSTAIN_MAX_MODEL_GB to allow more"
        )
    return size

"""Knock-out cases and the screen that settles most of them without a re-solve.

A case is a set of assets lost on the same day. It is solved twice, at most: with each asset
out for its recovery time (the shortfall the loss adds) and with every asset lost to the end of
the horizon (how long the network survives the loss). A plan that sends nothing over the
closed lanes in the periods a closure touches stays feasible under that closure, and, the
closure only taking options away, stays optimal: a case whose every closure the base plan (or
the plan of a case it contains) already avoids has that plan's answer, exactly.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_array

from sustain.arrays import BoolArray, IntArray
from sustain.network import Network
from sustain.options import Closure

RECOVERY, LOST = 0, 1  # the two solves of a case: out for the recovery time, lost for good
MODES = ("recovery", "lost")


def asset_sets(n_assets: int, k: int, assets: IntArray | None = None) -> IntArray:
    """(cases, k) every set of `k` of the given assets (all by default), in order."""
    chosen = np.arange(n_assets) if assets is None else np.asarray(assets, dtype=np.int64)
    if k == 1:
        return chosen[:, None].astype(np.int64)
    return np.array(list(combinations(chosen.tolist(), k)), dtype=np.int64).reshape(-1, k)


def window_end_day(network: Network, loss_day: float, mode: int) -> npt.NDArray[np.float64]:
    """(assets,) the day each asset is back: after its recovery time, or never (the horizon's
    end) when lost for good."""
    if mode == LOST:
        return np.full(len(network.assets), float(network.n_days))
    return np.minimum(loss_day + network.asset_recovery_days, float(network.n_days))


def closures(network: Network, assets: IntArray, loss_day: float, mode: int) -> tuple[Closure, ...]:
    end = window_end_day(network, loss_day, mode)
    return tuple(
        Closure(loss_day, float(end[a]), asset=network.assets.names[a]) for a in assets if a >= 0
    )


def lanes_of_assets(network: Network) -> csr_array:
    """(assets, lanes): 1 where the lane fails with the asset."""
    return csr_array(network.lane_assets.T.astype(np.int8))


def free_until(by_asset: csr_array, first_use: IntArray, n_periods: int) -> IntArray:
    """(assets,) the first period (from the loss on) in which a plan sends anything over a
    lane of the asset, given `first_use` (lanes,) for the plan and `by_asset` from
    `lanes_of_assets`; `n_periods` if none."""
    free = np.full(by_asset.shape[0], n_periods, dtype=np.int64)
    has_lanes = np.diff(by_asset.indptr) > 0
    if by_asset.indices.size:
        used = first_use[by_asset.indices]
        free[has_lanes] = np.minimum.reduceat(used, by_asset.indptr[:-1][has_lanes])
    return free


def closed_through(network: Network, loss_day: float, mode: int) -> IntArray:
    """(assets,) the number of periods from the start that a closure of each asset reaches
    into: it touches the periods up to this one, not including it."""
    end = window_end_day(network, loss_day, mode)
    reached: IntArray = np.searchsorted(network.period_first_day, end - 1e-9, side="right")
    return reached.astype(np.int64)


def avoided(cases: IntArray, free: IntArray, through: IntArray) -> BoolArray:
    """(cases,) whether a plan avoids every closure of each case, given `free_until` of the
    plan and `closed_through` of the closures."""
    fits = free >= through
    settled: BoolArray = np.all(np.where(cases >= 0, fits[np.maximum(cases, 0)], True), axis=1)
    return settled

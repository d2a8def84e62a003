"""Exact optimal base-stock levels of a serial chain (Clark and Scarf; Chen and Zheng's
recursion), under the simulator's conventions: Poisson demand at the bottom stage, backorders,
the top stage supplied by a source that never runs short, holding charged on stock on hand at
each stage at the day's end.

Stages are numbered from the bottom (1, facing demand) to the top (N). With local holding
costs H_j, echelon holding costs h_j = H_j - H_{j+1}, and lead-time demand D_j over stage j's
lead time (the bottom stage sees one day more: its demand of the day comes after the day's
arrivals), the recursion is

    C_0(x) = (p + H_1) max(-x, 0)
    C_j(y) = E[h_j (y - D_j) + C_{j-1}(min(y - D_j, S_{j-1}))],   S_j = argmin_y C_j(y),

and C_N(S_N) is the least expected cost a day in the echelon accounting, which also charges
stock in transit between stages at the rate of the stage it left: that part, H_{j+1} x rate
x stage j's lead time, does not depend on the levels and is taken off, so the cost is the one
the simulator counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson


@dataclass(frozen=True)
class SerialChain:
    rate: float  # demand a day at the bottom stage (Poisson)
    transit_days: tuple[int, ...]  # into stage 1 (the bottom), 2, ... N (the top)
    holding: tuple[float, ...]  # EUR per unit a day on hand at each stage, bottom first
    backorder_cost: float  # EUR per unit a day backordered at the bottom


@dataclass(frozen=True)
class SerialLevels:
    echelon: tuple[int, ...]  # optimal echelon base-stock levels, bottom first
    installation: tuple[int, ...]  # the same policy as installation levels
    cost: float  # expected EUR a day at those levels, in steady state


def optimal_levels(chain: SerialChain) -> SerialLevels:
    """The optimal echelon levels, the installation levels of the same policy, and its cost."""
    stages = len(chain.transit_days)
    if stages == 0 or len(chain.holding) != stages:
        raise ValueError("a serial chain needs a transit time and a holding cost per stage")
    if chain.rate <= 0 or chain.backorder_cost <= 0:
        raise ValueError("a serial chain needs demand and a backorder cost above 0")
    lead = np.asarray(chain.transit_days, dtype=np.float64)
    lead[0] += 1.0
    local = np.asarray(chain.holding, dtype=np.float64)
    echelon_holding = local - np.append(local[1:], 0.0)
    # Demand over each lead time, truncated where the tail holds less than 1e-12.
    supports = [
        poisson.pmf(np.arange(int(poisson.ppf(1 - 1e-12, chain.rate * t)) + 1), chain.rate * t)
        for t in lead
    ]
    reach = sum(p.size for p in supports)
    top = int(chain.rate * lead.sum() + 12 * np.sqrt(chain.rate * lead.sum()) + 10)
    low = -reach - top  # every y - D the recursion visits stays on the grid
    x = np.arange(low, top + 1, dtype=np.float64)
    below = (chain.backorder_cost + local[0]) * np.maximum(-x, 0.0)  # C_{j-1}(min(x, S_{j-1}))
    levels: list[int] = []
    best = 0.0
    for j in range(stages):
        stage_cost = echelon_holding[j] * x + below  # on x = y - D_j
        pmf = supports[j]
        # C_j(y) on y = x[k] for k >= pmf.size - 1: sum_d pmf[d] stage_cost[k - d]
        expected = np.convolve(stage_cost, pmf, mode="valid")
        y = x[pmf.size - 1 :]
        k = int(np.argmin(expected))
        levels.append(int(y[k]))
        best = float(expected[k])
        # C_j(min(y, S_j)) on the whole grid, for the stage above
        at_level = np.interp(x, y, expected, left=np.inf, right=np.inf)
        below = np.where(x >= y[k], best, at_level)
    pipeline = sum(local[j + 1] * chain.rate * lead[j] for j in range(stages - 1))
    # A level below the one under it works as that level: the policy installs the differences.
    effective = np.minimum.accumulate(np.asarray(levels)[::-1])[::-1]
    installation = np.diff(np.concatenate([[0], effective]))
    return SerialLevels(
        echelon=tuple(int(v) for v in effective),
        installation=tuple(int(v) for v in installation),
        cost=best - pipeline,
    )

"""Capacity investments: their ramp-up, a Network with some of them made, and their value.

An investment adds `rate` units a day to a line (or makes a new line) from its start date,
rising in a straight line from nothing to the full rate over its ramp time. Each option is
valued by planning with it (alone, and all options together) against the plan without:
weighted shortfall avoided, shortfall of its family avoided, cost per unit avoided, and the
date from which the family's production keeps up with its expenditure (the gap closes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sustain.capacity import added_capacity, family_output, with_investments
from sustain.network import Network
from sustain.orderbook import free_capacity
from sustain.plan import Plan, PlanOptions, plan

__all__ = ["added_capacity", "evaluate_investments", "gap_closes", "with_investments"]


def gap_closes(network: Network, family: int) -> pd.Timestamp | None:
    """First day of the period from which the family's production the partner can get (less
    what other customers' order books take) keeps up with its expenditure to the end of the
    horizon (None if it never does)."""
    production = family_output(network, free_capacity(network))[:, family]
    demand = network.demand[:, :, family].sum(axis=1)
    behind = np.flatnonzero(production < demand * (1 - 1e-9))
    first = 0 if behind.size == 0 else int(behind[-1]) + 1
    if first >= network.n_periods:
        return None
    return pd.Timestamp(network.period_start[first])


def evaluate_investments(
    network: Network, options: PlanOptions | None = None, base: Plan | None = None
) -> pd.DataFrame:
    """Every investment option alone, and all of them together, against no investment
    (`base`: the plan without investment, when the caller already has it)."""
    options = options or PlanOptions()
    base = base if base is not None else plan(network, options)
    base_short = base.shortfall.groupby("family")["shortfall"].sum()
    cases: list[tuple[str, list[int]]] = [(name, [k]) for k, name in enumerate(network.investments)]
    if len(network.investments) > 1:
        cases.append(("all together", list(range(len(network.investments)))))
    rows = []
    for name, chosen in cases:
        invested = with_investments(network, chosen)
        result = plan(invested, options)
        families = sorted({int(network.item_family[network.invest_item[k]]) for k in chosen})
        names = [network.families.names[f] for f in families]
        short = result.shortfall.groupby("family")["shortfall"].sum()
        # Units of different families do not add up: per-unit figures only for one family.
        avoided = (
            float(base_short.get(names[0], 0.0) - short.get(names[0], 0.0))
            if len(names) == 1
            else np.nan
        )
        weighted = base.total_shortfall - result.total_shortfall
        cost = float(network.invest_cost[chosen].sum())
        closes = [gap_closes(invested, f) for f in families]
        known = [c for c in closes if c is not None]
        rows.append(
            {
                "investment": name,
                "families": ";".join(names),
                "cost_eur": cost,
                "weighted_shortfall_avoided": weighted,
                "shortfall_avoided": avoided,
                "cost_per_unit_avoided": (
                    np.nan if np.isnan(avoided) else cost / avoided if avoided > 1e-9 else np.inf
                ),
                "cost_per_weighted_unit_avoided": cost / weighted if weighted > 1e-9 else np.inf,
                "gap_closes": max(known) if len(known) == len(closes) else pd.NaT,
            }
        )
    return pd.DataFrame(rows)

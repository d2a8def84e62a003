"""The race between expenditure and production, family by family.

- by period: expenditure (demand), production the partner can get (every line making the
  family, less the lots other customers' order books take; gross output beside it), and,
  given a plan, deliveries to the formations;
- the date stocks run out at the scheduled rates: stock above the owners' floors plus
  the partner's production and pledges (each in the period holding its day) less
  expenditure, accumulated, first below zero;
- the production a day each intensity level needs if every formation fought at it, against
  the production a day at the end of the horizon;
- the cross-over: the first period from which production keeps up with expenditure, without
  investment and with each investment option in the family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sustain.capacity import family_output
from sustain.industry.investment import gap_closes, with_investments
from sustain.network import PLEDGE_STATUSES, Network
from sustain.orderbook import free_capacity


def race(network: Network, deliveries: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The race tables. `deliveries` is a plan's consumption table, if there is a plan."""
    n = network
    families = len(n.families)
    expenditure = n.demand.sum(axis=1)  # (periods, families)
    production = family_output(n, free_capacity(n))
    gross = family_output(n, n.line_capacity)
    delivered = np.zeros_like(expenditure)
    if deliveries is not None and not deliveries.empty:
        factor = dict(zip(n.items.names, n.item_family_factor.tolist(), strict=True))
        for row in deliveries.to_dict("records"):
            delivered[int(row["period"]), n.families[str(row["family"])]] += (
                float(row["quantity"]) * factor[str(row["item"])]
            )
    by_period = pd.DataFrame(
        {
            "family": np.repeat(n.families.names, n.n_periods),
            "period": np.tile(np.arange(n.n_periods), families),
            "date": np.tile(n.period_start, families),
            "expenditure": expenditure.T.ravel(),
            "production": production.T.ravel(),
            "gross_production": gross.T.ravel(),
            "deliveries": delivered.T.ravel() if deliveries is not None else np.nan,
        }
    )

    above_floor = (
        np.maximum(n.stock_quantity - n.stock_floor, 0.0) * n.item_family_factor[n.stock_item]
    )
    stock = np.bincount(n.item_family[n.stock_item], weights=above_floor, minlength=families)
    pledged = np.zeros_like(expenditure)
    live = (n.pledge_status != PLEDGE_STATUSES.index("cancelled")) & (n.pledge_period < n.n_periods)
    np.add.at(
        pledged,
        (n.pledge_period[live], n.item_family[n.pledge_item[live]]),
        n.pledge_quantity[live] * n.item_family_factor[n.pledge_item[live]],
    )
    balance = stock[None, :] + np.cumsum(production + pledged - expenditure, axis=0)
    by_period["stock_balance"] = balance.T.ravel()
    period_end = n.period_start + n.period_length.astype("timedelta64[D]")
    run_out = []
    for m in range(families):
        short = np.flatnonzero(balance[:, m] < -1e-9)
        run_out.append(period_end[short[0]] if short.size else np.datetime64("NaT"))
    rate_now = production[-1] / n.period_length[-1]
    summary = pd.DataFrame(
        {
            "family": n.families.names,
            "unit": n.family_unit,
            "stock_above_floor": stock,
            "expenditure_per_day": expenditure.sum(axis=0) / n.n_days,
            "production_per_day": production.sum(axis=0) / n.n_days,
            "gross_production_per_day": gross.sum(axis=0) / n.n_days,
            "production_per_day_at_end": rate_now,
            "stocks_run_out": pd.to_datetime(np.array(run_out, dtype="datetime64[D]")),
        }
    )

    # Everyone at one level: holdings x consumption per system per day.
    at_level = np.einsum("fs,sml->ml", n.holdings, n.consumption)  # (families, levels)
    needed = pd.DataFrame(
        {
            "family": np.repeat(n.families.names, len(n.levels)),
            "level": np.tile(n.levels.names, families),
            "needed_per_day": at_level.ravel(),
            "production_per_day_at_end": np.repeat(rate_now, len(n.levels)),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        needed["production_share"] = needed["production_per_day_at_end"] / needed["needed_per_day"]

    rows = []
    for m in range(families):
        if expenditure[:, m].sum() <= 0:
            continue
        options = [("none", None)] + [
            (name, k)
            for k, name in enumerate(n.investments)
            if n.item_family[n.invest_item[k]] == m
        ]
        for name, k in options:
            invested = n if k is None else with_investments(n, [k])
            closes = gap_closes(invested, m)
            rows.append(
                {
                    "family": n.families.names[m],
                    "investment": name,
                    "cross_over": closes if closes is not None else pd.NaT,
                }
            )
    crossover = pd.DataFrame(rows, columns=["family", "investment", "cross_over"])
    return {
        "race_by_period": by_period,
        "race_summary": summary,
        "race_needed": needed,
        "race_crossover": crossover,
    }

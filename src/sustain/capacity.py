"""Production capacity as the Network holds it (output that can finish in each period), and
the same with investments made."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from sustain.arrays import FloatArray
from sustain.network import Index, Network
from sustain.production import finished, lead_in_days


def family_output(network: Network, line_output: FloatArray) -> FloatArray:
    """(periods, families) in family units: the lines' output `line_output` (periods, lines)
    summed over the lines making each family."""
    made = line_output * network.item_family_factor[network.line_item]
    out = np.zeros((network.n_periods, len(network.families)))
    np.add.at(out.T, network.item_family[network.line_item], made.T)
    return out


def added_capacity(network: Network, option: int) -> FloatArray:
    """(periods,) output an investment adds in each period: starts following its linear ramp
    from its start date, finished its production time later."""
    production = network.invest_production_days[[option]]
    lead = lead_in_days(production)
    day = np.arange(-lead, network.n_days, dtype=np.float64)
    start = float(network.invest_start_day[option])
    ramp = float(network.invest_ramp_days[option])
    since = day - start
    share = np.where(since < 0, 0.0, 1.0 if ramp <= 0 else np.clip(since / ramp, 0.0, 1.0))
    started = (network.invest_rate[option] * share)[:, None]
    return network.per_period(finished(started, -lead, production, network.n_days))[:, 0]


def with_investments(network: Network, chosen: Sequence[int]) -> Network:
    """The Network with the chosen investments made: expanded lines run faster, new lines
    join the lines (named after the investment). The order book of an expanded line is left
    as it was; a new line's book is empty."""
    capacity = np.array(network.line_capacity, dtype=np.float64)
    new = [k for k in chosen if network.invest_line[k] < 0]
    for k in chosen:
        if network.invest_line[k] >= 0:
            capacity[:, network.invest_line[k]] += added_capacity(network, k)
    if not new:
        return dataclasses.replace(network, line_capacity=capacity)
    new_idx = np.array(new, dtype=np.int64)
    added = np.stack([added_capacity(network, k) for k in new], axis=1)
    sites = network.invest_site[new_idx]
    full_rate_day = network.invest_start_day[new_idx] + np.ceil(network.invest_ramp_days[new_idx])
    return dataclasses.replace(
        network,
        lines=Index(network.lines.names + tuple(network.investments.names[k] for k in new)),
        line_site=np.concatenate([network.line_site, sites]).astype(np.int32),
        line_item=np.concatenate([network.line_item, network.invest_item[new_idx]]).astype(
            np.int32
        ),
        line_nation=np.concatenate([network.line_nation, network.site_nation[sites]]).astype(
            np.int32
        ),
        line_capacity=np.concatenate([capacity, added], axis=1),
        line_production_days=np.concatenate(
            [network.line_production_days, network.invest_production_days[new_idx]]
        ),
        line_base_rate=np.concatenate([network.line_base_rate, np.zeros(len(new))]),
        # For order books, a new line runs at its full rate once ramped up.
        line_change_line=np.concatenate(
            [network.line_change_line, len(network.lines) + np.arange(len(new))]
        ).astype(np.int32),
        line_change_day=np.concatenate([network.line_change_day, full_rate_day]).astype(np.int32),
        line_change_rate=np.concatenate([network.line_change_rate, network.invest_rate[new_idx]]),
    )

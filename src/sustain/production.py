"""Production over time: what a line starts each day, and what comes out `production_time`
later.

A line starts lots at its rate (its base rate, then each capacity change from its date on, before
the scenario start as after it); a unit started during day d is finished `production_time`
days later. Starts are spread evenly over each day, so a production time of 2.5 days turns half
of day d's starts into output on day d + 2 and half on day d + 3. Output finished on days inside
the horizon was started up to `production_time` days before, possibly before the scenario start:
the lots already in the line on the start date are counted, at the rate the line ran at then.

These are plain array functions (no Network): the Network, the order books and the investments
all build their figures from them, so that every engine reads one production.
"""

from __future__ import annotations

import math

import numpy as np

from sustain.arrays import FloatArray, IndexArray


def lead_in_days(production_days: FloatArray) -> int:
    """How many days before the start a calendar must begin so that every unit finished inside
    the horizon was started inside it."""
    longest = float(np.max(production_days, initial=0.0))
    return math.ceil(longest) + 1


def daily_rates(
    first_day: int,
    n_days: int,
    base: FloatArray,
    change_line: IndexArray,
    change_day: IndexArray,
    change_rate: FloatArray,
) -> FloatArray:
    """(n_days, lines): the rate each line starts units at on days first_day .. first_day +
    n_days - 1 (days from the scenario start): its base rate, then `change_rate[k]` for line
    `change_line[k]` from day `change_day[k]` on (later changes win)."""
    rates = np.broadcast_to(np.asarray(base, np.float64), (n_days, len(base))).copy()
    order = np.lexsort((change_day, change_line))
    for k in order:
        rates[max(int(change_day[k]) - first_day, 0) :, change_line[k]] = change_rate[k]
    return rates


def finished(
    started: FloatArray, first_day: int, production_days: FloatArray, n_days: int
) -> FloatArray:
    """(n_days, lines): units finished on each day 0 .. n_days - 1 of the horizon, from
    `started` (days, lines), the units started on days first_day, first_day + 1, ... A unit
    started during day d finishes during day d + production_days (spread like its starts)."""
    lines = started.shape[1]
    out = np.zeros((n_days, lines))
    day = np.arange(n_days)
    for line in range(lines):
        whole = math.floor(float(production_days[line]))
        part = float(production_days[line]) - whole
        # Output on day k: (1 - part) of the starts of day k - whole, part of day k - whole - 1.
        for weight, lag in ((1.0 - part, whole), (part, whole + 1)):
            if weight <= 0.0:
                continue
            source = day - lag - first_day
            inside = (source >= 0) & (source < started.shape[0])
            out[inside, line] += weight * started[source[inside], line]
    return out

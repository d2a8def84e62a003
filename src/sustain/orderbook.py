"""Order books and lead times of production lines.

A line turns out `rate` units a day (its base rate, then each capacity change from its date
on, before the scenario start as after it). Orders join its book on their date and are served
first in, first out, or by priority (higher first, then first in) when asked. A unit is
*started* when capacity reaches it and *delivered* `production_time` days later.

The lead time a new order of quantity q placed on day d faces is the time until the backlog
ahead of it and the order itself have been started, plus the production time:

    lead(d) = wait(backlog_ahead(d) + q, from d) + production_time

Time is continuous within a day: 150 units at 100 a day take 1.5 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sustain.arrays import FloatArray
from sustain.network import Network
from sustain.production import daily_rates, finished, lead_in_days


@dataclass(frozen=True)
class LineCalendar:
    """Daily capacity of one line over days first_day .. first_day + len(rate) - 1 (days from
    the scenario start); the last rate holds beyond."""

    first_day: int
    rate: FloatArray

    def cumulative(self) -> FloatArray:
        """Units that can be started from the first day up to the end of each day."""
        return np.cumsum(self.rate)

    def wait(self, amount: float, day: int) -> float:
        """Days from the start of `day` until `amount` units have been started (inf if never)."""
        if amount <= 0:
            return 0.0
        start = day - self.first_day
        before = 0.0 if start <= 0 else float(self.cumulative()[start - 1])
        needed = before + amount
        cumulative = self.cumulative()
        last = int(np.searchsorted(cumulative, needed - 1e-9 * needed))
        if last >= cumulative.size:  # beyond the calendar: the last rate continues
            tail = float(self.rate[-1])
            if tail <= 0:
                return float("inf")
            return cumulative.size - start + (needed - float(cumulative[-1])) / tail
        done_before = float(cumulative[last - 1]) if last > 0 else 0.0
        fraction = (needed - done_before) / float(self.rate[last])
        return last - start + fraction


def calendar(network: Network, line: int, first_day: int, last_day: int) -> LineCalendar:
    """The daily capacity of a line from `first_day` to `last_day` (days from the start)."""
    mine = network.line_change_line == line
    rate = daily_rates(
        first_day,
        last_day - first_day + 1,
        network.line_base_rate[[line]],
        np.zeros(int(mine.sum()), np.int64),
        network.line_change_day[mine],
        network.line_change_rate[mine],
    )
    return LineCalendar(first_day, rate[:, 0])


def _horizon(network: Network, line: int, first_day: int, extra_days: int) -> LineCalendar:
    """A calendar long enough to serve the whole book of a line, with `extra_days` to spare."""
    orders = np.flatnonzero(network.order_line == line)
    total = float(network.order_quantity[orders].sum())
    last_change = int(network.line_change_day[network.line_change_line == line].max(initial=0))
    end = max(network.n_days, last_change) + extra_days
    cal = calendar(network, line, first_day, end)
    slowest = cal.rate[cal.rate > 0].min(initial=np.inf)
    if np.isfinite(slowest) and total / slowest > end - first_day:
        cal = calendar(network, line, first_day, first_day + int(total / slowest) + extra_days)
    return cal


def order_schedule(network: Network, *, priority: bool = False) -> pd.DataFrame:
    """When each order in the books is started and delivered, FIFO or by priority."""
    rows = []
    for line in range(len(network.lines)):
        orders = np.flatnonzero(network.order_line == line)
        if orders.size == 0:
            continue
        first = int(min(network.order_day[orders].min(), 0))
        cal = _horizon(network, line, first, 365)
        finished, _ = _serve(network, orders, cal, priority)
        production = float(network.line_production_days[line])
        for order, started_day in zip(orders, finished, strict=True):
            placed = int(network.order_day[order])
            rows.append(
                {
                    "line": network.lines.names[line],
                    "order": network.orders.names[order],
                    "customer": network.nations.names[network.order_customer[order]],
                    "quantity": float(network.order_quantity[order]),
                    "priority": float(network.order_priority[order]),
                    "placed": _date(network, placed),
                    "started_by": _date(network, started_day),
                    "delivered_by": _date(network, started_day + production),
                    "lead_time_days": started_day + production - placed,
                }
            )
    return pd.DataFrame(rows)


def _serve(
    network: Network, orders: npt.NDArray[Any], cal: LineCalendar, priority: bool
) -> tuple[list[float], FloatArray]:
    """Day (continuous, from the scenario start) by which each order is wholly started, and
    the units started for each order on each day of the calendar (orders, days)."""
    daily = np.zeros((orders.size, cal.rate.size))
    slot = {int(o): k for k, o in enumerate(orders)}
    remaining = {int(o): float(network.order_quantity[o]) for o in orders}
    placed = {int(o): int(network.order_day[o]) for o in orders}
    done: dict[int, float] = {}

    def rank(o: int) -> tuple[float, int, int]:
        return (-float(network.order_priority[o]) if priority else 0.0, placed[o], o)

    for offset, rate in enumerate(cal.rate):
        day = cal.first_day + offset
        capacity = float(rate)
        waiting = sorted((o for o in remaining if placed[o] <= day), key=rank)
        for o in waiting:
            if capacity <= 0:
                break
            take = min(capacity, remaining[o])
            daily[slot[o], offset] = take
            remaining[o] -= take
            capacity -= take
            if remaining[o] <= 1e-9 * max(1.0, float(network.order_quantity[o])):
                used = float(rate) - capacity
                done[o] = day + (used / float(rate) if rate > 0 else 1.0)
                del remaining[o]
        if not remaining:
            break
    return [done.get(int(o), float("inf")) for o in orders], daily


def free_capacity(network: Network, *, priority: bool = False) -> FloatArray:
    """(periods, lines): the output each line can finish for the partner (the nations whose
    formations the plan supplies) in each period: the line's output less what its order book
    starts for other customers, finished the production time later. Lots started before the
    scenario start count like later ones: those of other customers' orders are theirs, the rest
    (the partner's own orders, and capacity beyond the book) the partner's."""
    free = np.array(network.line_capacity, dtype=np.float64)
    partner = network.partner()
    lead = lead_in_days(network.line_production_days)
    for line in range(len(network.lines)):
        orders = np.flatnonzero(network.order_line == line)
        if orders.size == 0:
            continue
        first = int(min(network.order_day[orders].min(), -lead))
        cal = calendar(network, line, first, network.n_days - 1)
        _, daily = _serve(network, orders, cal, priority)
        others = ~partner[network.order_customer[orders]]
        taken = daily[others].sum(axis=0)[:, None]
        production = network.line_production_days[[line]]
        free[:, line] -= network.per_period(finished(taken, first, production, network.n_days))[
            :, 0
        ]
    result: FloatArray = np.maximum(free, 0.0)
    return result


def backlog(
    network: Network, line: int, days: npt.ArrayLike, *, at_least_priority: float | None = None
) -> FloatArray:
    """Units ordered from a line and not yet started at the start of each given day (orders
    placed that day included); with `at_least_priority`, only orders of that priority or
    higher, served first."""
    days = np.asarray(days, dtype=np.int64)
    orders = np.flatnonzero(network.order_line == line)
    if at_least_priority is not None:
        orders = orders[network.order_priority[orders] >= at_least_priority]
    if orders.size == 0:
        return np.zeros(days.size)
    first = int(min(network.order_day[orders].min(), days.min(), 0))
    cal = calendar(network, line, first, int(days.max()))
    arrivals = np.zeros(cal.rate.size)
    np.add.at(arrivals, network.order_day[orders] - first, network.order_quantity[orders])
    left = np.zeros(cal.rate.size)  # open at the start of each day, after that day's orders
    carried = 0.0
    for k in range(cal.rate.size):  # Lindley's recursion: a queue served at the daily rate
        carried += arrivals[k]
        left[k] = carried
        carried = max(0.0, carried - cal.rate[k])
    open_at: FloatArray = left[days - first]
    return open_at


def lead_times(
    network: Network,
    days: npt.ArrayLike | None = None,
    *,
    quantity: float = 0.0,
    priority: float | None = None,
) -> pd.DataFrame:
    """The lead time a new order of `quantity` faces on each line and day (default: the first
    day of every period); with `priority`, only orders of that priority or higher are ahead."""
    if days is None:
        days = network.period_first_day
    days = np.asarray(days, dtype=np.int64)
    frames = []
    for line in range(len(network.lines)):
        ahead = backlog(network, line, days, at_least_priority=priority)
        first = int(min(days.min(), 0))
        cal = _horizon(network, line, first, 3650)
        production = float(network.line_production_days[line])
        waits = np.array([cal.wait(a + quantity, int(d)) for a, d in zip(ahead, days, strict=True)])
        frames.append(
            pd.DataFrame(
                {
                    "line": network.lines.names[line],
                    "item": network.items.names[network.line_item[line]],
                    "day": days,
                    "date": [_date(network, int(d)) for d in days],
                    "backlog": ahead,
                    "rate_per_day": cal.rate[days - first],
                    "lead_time_days": waits + production,
                    "lead_time_months": (waits + production) / (365.25 / 12),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _date(network: Network, day: float) -> Any:
    if not np.isfinite(day):
        return pd.NaT
    return (network.start + np.timedelta64(int(np.floor(day)), "D")).astype("datetime64[D]")

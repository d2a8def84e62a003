"""The planning grid: the horizon cut into buckets of different lengths, and lags (transit,
repair) that do not fall on bucket edges.

A grid is written like `week`, `day`, `month` or `28 x day, then week` or
`14 x day, 10 x week, then month`: segments of a count of buckets of one unit, in order; the
last unit goes on to the end of the horizon, and the last bucket ends with the horizon. A month
is a calendar month: from a bucket's first day to the same day of the next month (or that
month's last day).

Within a bucket, flows are spread evenly over its days. A flow leaving during bucket t, over
days [a, b), with a lag of L days arrives over [a + L, b + L). Three ways to place it (LAGS):

- `late`: all of it in the first bucket [c0, c1) with c0 >= a + L and c1 >= b + L, where every
  unit of it has arrived before the bucket spreads it over its days. A plan then never counts
  on anything before it is there: replayed day by day (departures, arrivals and consumption of
  each bucket spread over its days) no stock goes below what the plan keeps, so the replay's
  shortfall is the plan's. The price is pessimism: up to a bucket more per leg (a 2-day leg on
  weeks takes a week);
- `split`: each bucket receives the share of that span that falls in it. So a 2-day leg in a
  week-long bucket delivers 5/7 of what leaves in the same week and 2/7 in the next: the right
  totals per bucket, but inside a bucket the plan may use on its first day what comes on its
  last;
- `mean`: all of it arrives in the bucket holding its mean arrival, a + L + (b - a) / 2. On
  buckets of one length this is the lag rounded to whole buckets (halves up): optimistic by up
  to half a bucket.

Every rule places a lag of whole days from day-long buckets exactly that many buckets later,
so near-term buckets of a day make near-term answers exact.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sustain.arrays import FloatArray, IntArray

UNITS = ("day", "week", "month")
LAGS = ("late", "split", "mean")
_SEGMENT = re.compile(r"^(?:(\d+)\s*x\s*)?(day|week|month)s?$")


@dataclass(frozen=True)
class Segment:
    unit: str
    count: int | None  # None: to the end of the horizon


def parse_grid(text: str) -> tuple[Segment, ...]:
    """The segments of a grid's text; ValueError saying what is wrong."""
    cleaned = text.strip().lower()
    parts = [p.strip() for p in re.split(r",|\bthen\b", cleaned) if p.strip()]
    if not parts:
        raise ValueError('write a unit (day, week, month) or segments like "28 x day, then week"')
    segments = []
    for k, part in enumerate(parts):
        found = _SEGMENT.match(part)
        if found is None:
            raise ValueError(
                f'"{part}" is not a segment: write "N x day", "N x week" or "N x month", or a '
                "unit alone for the rest of the horizon"
            )
        count = int(found.group(1)) if found.group(1) else None
        if count is not None and count < 1:
            raise ValueError(f'"{part}": a segment needs at least one bucket')
        if count is None and k < len(parts) - 1:
            raise ValueError(f'"{part}" runs to the end of the horizon: only the last may')
        segments.append(Segment(found.group(2), count))
    return tuple(segments)


def _next_month(day: dt.date) -> dt.date:
    """The same day of the next month, or that month's last day."""
    year, month = divmod(day.year * 12 + day.month, 12)  # the next month, counted from 0
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def bucket_edges(text: str, start: dt.date, n_days: int) -> IntArray:
    """(buckets + 1,) the first day of each bucket, in days from the start, then n_days."""
    edges = [0]
    segments = parse_grid(text)
    for k, segment in enumerate(segments):
        last = k == len(segments) - 1  # the last unit goes on to the end of the horizon
        made = 0
        while edges[-1] < n_days and (last or made < (segment.count or 0)):
            if segment.unit == "month":
                here = start + dt.timedelta(days=edges[-1])
                length = (_next_month(here) - here).days
            else:
                length = 1 if segment.unit == "day" else 7
            edges.append(min(edges[-1] + length, n_days))
            made += 1
    return np.asarray(edges, dtype=np.int64)


def describe(text: str) -> str:
    """The grid's text as written, tidied: '28 x day, then week'."""
    shown = []
    for segment in parse_grid(text):
        shown.append(segment.unit if segment.count is None else f"{segment.count} x {segment.unit}")
    return ", then ".join(shown)


def bucket_of(edges: IntArray, day: npt.ArrayLike) -> IntArray:
    """The bucket holding each day (days from the start; clipped to the grid)."""
    found = np.searchsorted(edges, np.asarray(day, dtype=np.float64), side="right") - 1
    clipped: IntArray = np.clip(found, 0, edges.size - 2).astype(np.int64)
    return clipped


def arrival_bucket(edges: IntArray, day: npt.ArrayLike, mode: str) -> IntArray:
    """The bucket a delivery on `day` (days from the start) counts in, by `mode` (LAGS): the
    bucket holding it; under `late` the first bucket starting on it or after (counted from
    the bucket's first day, it is there by then). The number of buckets when that is past the
    horizon."""
    day = np.asarray(day, dtype=np.float64)
    if mode == "late":
        found = np.searchsorted(edges[:-1], day, side="left")
    else:
        found = np.searchsorted(edges, np.maximum(day, 0.0), side="right") - 1
    bucket: IntArray = np.minimum(found, edges.size - 1).astype(np.int64)
    return bucket


def departures_inside(edges: IntArray, lag: npt.ArrayLike, mode: str) -> IntArray:
    """For each lag, how many buckets a flow can leave in and arrive inside the horizon (all
    of it, placed by `mode`): the first ones."""
    lag = np.asarray(lag, dtype=np.float64)
    if mode == "late":
        arrival = late_bucket(edges, np.arange(edges.size - 1)[None, :], lag[:, None])
        found_late: IntArray = (arrival < edges.size - 1).sum(axis=1).astype(np.int64)
        return found_late
    if mode == "split":  # the last unit arrives by the end
        latest = edges[-1] - lag + 1e-9
        counts = np.searchsorted(edges[1:], latest, side="right")
    else:  # the mean arrival falls before the end
        middle = (edges[:-1] + edges[1:]) / 2.0
        counts = np.searchsorted(middle, edges[-1] - lag, side="left")
    found: IntArray = counts.astype(np.int64)
    return found


def place_lag(
    edges: IntArray, period: npt.ArrayLike, lag: npt.ArrayLike, mode: str
) -> tuple[IntArray, IntArray, FloatArray]:
    """Where flows leaving in bucket `period[k]` with a lag of `lag[k]` days arrive, by `mode`
    (LAGS): parts (flow k, arrival bucket, share of the flow)."""
    if mode == "split":
        return split_lag(edges, period, lag)
    if mode == "late":
        bucket = late_bucket(edges, period, lag)
        inside = np.flatnonzero(bucket < edges.size - 1)
        return inside, bucket[inside], np.ones(inside.size)
    if mode != "mean":
        raise ValueError(f'unknown lags "{mode}": use one of {", ".join(LAGS)}')
    period = np.asarray(period, dtype=np.int64)
    mean = (edges[period] + edges[period + 1]) / 2.0 + np.asarray(lag, dtype=np.float64)
    inside = np.flatnonzero(mean < edges[-1])
    return inside, bucket_of(edges, mean[inside]), np.ones(inside.size)


def late_bucket(edges: IntArray, period: npt.ArrayLike, lag: npt.ArrayLike) -> IntArray:
    """The first bucket that starts no earlier than the flow's first arrival and ends no
    earlier than its last, for flows leaving in `period` with `lag` days (broadcast); the
    number of buckets where there is none. Spread evenly over that bucket, every unit comes
    no earlier than it really arrives (uniform spans compare by their two ends)."""
    period = np.asarray(period, dtype=np.int64)
    lag = np.asarray(lag, dtype=np.float64)
    tolerance = 1e-9  # a lag of whole days lands on an edge
    starts = np.searchsorted(edges[:-1], edges[period] + lag - tolerance, side="left")
    ends = np.searchsorted(edges[1:], edges[period + 1] + lag - tolerance, side="left")
    found: IntArray = np.maximum(starts, ends).astype(np.int64)
    return found


def days_away(edges: IntArray, period: npt.ArrayLike, lag: npt.ArrayLike, mode: str) -> FloatArray:
    """Days a flow leaving in `period` with `lag` days is counted in no period's stock as
    `mode` places it: from its period's first day to the first day of each bucket it arrives
    in, by share; to the horizon's end for the share that arrives after it."""
    period = np.asarray(period, dtype=np.int64)
    lag = np.broadcast_to(np.asarray(lag, dtype=np.float64), period.shape)
    flow, arrival, share = place_lag(edges, period, lag, mode)
    away = np.zeros(period.size)
    np.add.at(away, flow, share * (edges[arrival] - edges[period[flow]]))
    placed = np.bincount(flow, weights=share, minlength=period.size)
    away += np.clip(1.0 - placed, 0.0, 1.0) * (edges[-1] - edges[period])
    return away


def split_lag(
    edges: IntArray, period: npt.ArrayLike, lag: npt.ArrayLike
) -> tuple[IntArray, IntArray, FloatArray]:
    """Where flows leaving in bucket `period[k]` with a lag of `lag[k]` days arrive: parts
    (flow k, arrival bucket, share of the flow), the shares of a flow adding up to 1 when it
    arrives inside the horizon (the part past its end is left out)."""
    period = np.asarray(period, dtype=np.int64)
    lag = np.asarray(lag, dtype=np.float64)
    begin = edges[period] + lag
    end = edges[period + 1] + lag
    first = np.searchsorted(edges, begin, side="right") - 1
    last = np.searchsorted(edges, end, side="left") - 1  # the bucket holding end's last instant
    last = np.minimum(last, edges.size - 2)
    counts = np.maximum(last - first + 1, 0)
    flow = np.repeat(np.arange(period.size), counts)
    offset = np.arange(flow.size) - np.repeat(np.cumsum(counts) - counts, counts)
    arrival = first[flow] + offset
    overlap = np.minimum(edges[arrival + 1], end[flow]) - np.maximum(edges[arrival], begin[flow])
    share = overlap / (end[flow] - begin[flow])
    keep = share > 1e-12
    return flow[keep], arrival[keep].astype(np.int64), share[keep]

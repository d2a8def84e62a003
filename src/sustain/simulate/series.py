"""The day-by-day outputs of every replication: shortfall, days of supply, stock on hand and
the fleet, one array each for the whole run, a row per replication.

Batches run in this process (local worker threads, or serially) write their rows in place;
batches run elsewhere (Ray) send theirs back and they are put in their rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Series:
    """Per replication (first axis) and day."""

    daily_shortfall: Float32Array  # (R, days, pairs) family units short, or backordered
    daily_holding: Float32Array  # (R, days) EUR of holding cost
    days_of_supply: Float32Array  # (R, days, pairs) the family's stock at the site / its demand
    stock: Float32Array  # (R, recorded days, stock cells) on hand at the day's end
    availability: Float32Array  # (R, days, types) share of each system type's fleet available
    failed: Float32Array  # (R, days) systems failing each day
    out_of_action: Float32Array  # (R, days) systems out of action at the day's end

    @staticmethod
    def shapes(
        count: int, days: int, pairs: int, types: int, stock: tuple[int, int] = (0, 0)
    ) -> dict[str, tuple[int, ...]]:
        """`stock`: (days recorded, cells recorded)."""
        return {
            "daily_shortfall": (count, days, pairs),
            "daily_holding": (count, days),
            "days_of_supply": (count, days, pairs),
            "stock": (count, *stock),
            "availability": (count, days, types),
            "failed": (count, days),
            "out_of_action": (count, days),
        }

    @classmethod
    def zeros(
        cls, count: int, days: int, pairs: int, types: int, stock: tuple[int, int] = (0, 0)
    ) -> Series:
        shapes = cls.shapes(count, days, pairs, types, stock)
        return cls(**{name: np.zeros(shape, np.float32) for name, shape in shapes.items()})

    def rows(self, first: int, count: int) -> Series:
        """Views of replications first .. first + count - 1."""
        return Series(**{name: self[name][first : first + count] for name in self.names()})

    def put(self, rows: npt.NDArray[np.int64], part: Series) -> None:
        """Write `part`'s replications into the given rows."""
        for name in self.names():
            self[name][rows] = part[name]

    def __getitem__(self, name: str) -> Float32Array:
        array: Float32Array = getattr(self, name)
        return array

    @staticmethod
    def names() -> list[str]:
        return [f.name for f in fields(Series)]


# Stock on hand is recorded every day while the run's record stays within this many figures
# (200 MB of float32); beyond it, every k-th day (the smallest k that fits), and the stock
# table says which days it holds.
STOCK_FIGURES = 50_000_000


def stock_every(count: int, days: int, cells: int) -> int:
    """Record stock on hand every this many days, for `count` replications of `cells` cells."""
    if count * days * cells <= STOCK_FIGURES:
        return 1
    per_day = count * cells
    return max(1, -(-days // max(STOCK_FIGURES // per_day, 1)))


def stock_days(days: int, every: int) -> int:
    """How many days are recorded."""
    return -(-days // every)

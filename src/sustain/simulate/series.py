"""The day-by-day outputs of every replication: shortfall, days of supply and the fleet, one
array each for the whole run, a row per replication.

Local worker processes write their batches' rows in place, into files mapped into memory (in
/dev/shm where it has room), instead of sending them back through a pipe: on the benchmark
networks that sending took a quarter to a third of a run's wall clock. The files are removed
when the run ends; the run's arrays stay mapped until they are no longer used.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]
SHARED_MEMORY = Path("/dev/shm")


@dataclass(frozen=True)
class Series:
    """Per replication (first axis) and day."""

    daily_shortfall: Float32Array  # (R, days, pairs) family units short, or backordered
    days_of_supply: Float32Array  # (R, days, pairs) the family's stock at the site / its demand
    availability: Float32Array  # (R, days, types) share of each system type's fleet available
    failed: Float32Array  # (R, days) systems failing each day
    out_of_action: Float32Array  # (R, days) systems out of action at the day's end

    @staticmethod
    def shapes(count: int, days: int, pairs: int, types: int) -> dict[str, tuple[int, ...]]:
        return {
            "daily_shortfall": (count, days, pairs),
            "days_of_supply": (count, days, pairs),
            "availability": (count, days, types),
            "failed": (count, days),
            "out_of_action": (count, days),
        }

    @classmethod
    def zeros(cls, count: int, days: int, pairs: int, types: int) -> Series:
        shapes = cls.shapes(count, days, pairs, types)
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


@dataclass(frozen=True)
class SeriesFiles:
    """A run's Series as .npy files in a folder, which each worker opens and writes its rows
    into; what is sent to a worker is only this (the folder's path)."""

    folder: str

    @classmethod
    def create(cls, count: int, days: int, pairs: int, types: int) -> SeriesFiles | None:
        """Zero-filled files for the run, in /dev/shm if it has room for them twice over, else
        in the temporary folder if it has; None if neither has."""
        shapes = Series.shapes(count, days, pairs, types)
        size = sum(4 * int(np.prod(shape)) for shape in shapes.values()) + 2**20
        for place in (SHARED_MEMORY, Path(tempfile.gettempdir())):
            if place.is_dir() and os.access(place, os.W_OK) and _free(place) > 2 * size:
                folder = tempfile.mkdtemp(prefix="sustain-series-", dir=place)
                for name, shape in shapes.items():
                    np.lib.format.open_memmap(
                        Path(folder) / f"{name}.npy", mode="w+", dtype=np.float32, shape=shape
                    ).flush()
                return cls(folder)
        return None

    def open(self) -> Series:
        """The arrays, mapped: what is written to them is in the files. A process maps a run's
        files once (each of its batches would otherwise map them again)."""
        if self.folder not in _OPENED:
            _OPENED.clear()  # the files of one run at a time
            _OPENED[self.folder] = Series(**{name: self._map(name) for name in Series.names()})
        return _OPENED[self.folder]

    def _map(self, name: str) -> Float32Array:
        mapped = np.load(Path(self.folder) / f"{name}.npy", mmap_mode="r+")
        return np.asarray(mapped)  # a plain array over the same memory

    def remove(self) -> None:
        """Delete the files; arrays already opened stay mapped and readable."""
        _OPENED.pop(self.folder, None)
        shutil.rmtree(self.folder, ignore_errors=True)


_OPENED: dict[str, Series] = {}  # by folder


def _free(place: Path) -> int:
    stats = os.statvfs(place)
    return stats.f_bavail * stats.f_frsize

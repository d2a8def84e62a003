"""A Run: what one engine made from one scenario, with everything needed to trust it and to
make it again (scenario digest, options, seed, package versions, timings), and its tables,
each matching its spec."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sustain.results.table_specs import TableSpec, spec

if TYPE_CHECKING:
    from sustain.report.plot import Plots

# The packages whose versions can change a run's figures.
PACKAGES = ("sustain", "highspy", "numpy", "scipy", "numba", "pandas", "pyarrow", "pydantic")
ENGINES = ("plan", "simulate", "policy", "resilience", "industry", "info", "compare")


def versions() -> dict[str, str]:
    found = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def new_id(engine: str, started: dt.datetime) -> str:
    """'plan-20261203T154628Z-3f9c2a': sortable by time, unique by its random tail."""
    return f"{engine}-{started.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def plain(value: Any) -> Any:
    """A value JSON can hold: numpy scalars as Python ones, tuples as lists, dates as ISO
    text, non-finite floats as None."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()
    return value


@dataclass
class Run:
    """One engine's run. `tables` are keyed by their short name (`shortfall` of a plan run is
    the spec `plan.shortfall`) and conformed to their specs when the Run is made."""

    engine: str
    scenario: dict[str, Any]  # name, digest (of its canonical rows), time grid, source
    options: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    seed: int | None = None
    figures: dict[str, Any] = field(default_factory=dict)  # the headline numbers
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds
    notes: dict[str, str] = field(default_factory=dict)  # e.g. the plan's explanation
    summary: tuple[str, ...] = ()  # the tables an interface shows first (and --json prints)
    started: dt.datetime = field(default_factory=now)
    id: str = ""
    versions: dict[str, str] = field(default_factory=versions)

    @property
    def plot(self) -> Plots:
        """The report's charts of this run as plotly figures: `run.plot.race()`, ..."""
        from sustain.report.plot import Plots

        return Plots(self)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}: one of {', '.join(ENGINES)}")
        self.id = self.id or new_id(self.engine, self.started)
        self.tables = {name: self.spec(name).conform(t) for name, t in self.tables.items()}
        if unknown := [name for name in self.summary if name not in self.tables]:
            raise ValueError(f"summary names tables the run does not have: {unknown}")

    def spec(self, name: str) -> TableSpec:
        return spec(f"{self.engine}.{name}")

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def metadata(self) -> dict[str, Any]:
        """Everything but the tables' rows, as JSON-ready values."""
        found: dict[str, Any] = plain(
            {
                "engine": self.engine,
                "id": self.id,
                "started": self.started.isoformat().replace("+00:00", "Z"),
                "scenario": self.scenario,
                "options": self.options,
                "seed": self.seed,
                "versions": self.versions,
                "timings": self.timings,
                "counts": self.counts,
                "figures": self.figures,
                "notes": self.notes,
                "summary": list(self.summary),
                "tables": {
                    name: {"spec": self.spec(name).name, "rows": len(table)}
                    for name, table in self.tables.items()
                },
            }
        )
        return found

    def document(self, tables: Iterable[str] | None = None) -> dict[str, Any]:
        """The run as one JSON document: its metadata and the rows of `tables` (by default
        the summary tables)."""
        names = self.summary if tables is None else tuple(tables)
        return {**self.metadata(), "rows": {name: records(self.tables[name]) for name in names}}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON-ready dicts, exact: floats as Python floats (shortest text that
    reads back the same), dates as YYYY-MM-DD, missing values as None, and infinities as the
    text "inf" or "-inf" (JSON has no infinity, and None would read back as missing)."""
    columns = [_json_values(frame[name]) for name in frame.columns]
    names = [str(name) for name in frame.columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _json_values(values: pd.Series) -> list[Any]:
    missing = values.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.dt.strftime("%Y-%m-%d").to_numpy(dtype=object, copy=True)
    elif pd.api.types.is_float_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
        out = numbers.astype(object)
        infinite = np.isinf(numbers)
        out[infinite] = np.where(numbers[infinite] > 0, "inf", "-inf")
    else:
        out = values.astype(object).to_numpy()
        out = np.array([v.item() if isinstance(v, np.generic) else v for v in out], dtype=object)
    out[missing] = None
    return out.tolist()  # type: ignore[no-any-return]

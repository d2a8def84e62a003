"""The table specs: every table an engine returns, its columns, units and scope, read from
tables.yaml (the one source for the docs, the checks, the readers and the store's access)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

TYPES = ("str", "int", "float", "date", "bool")
SCOPES = ("nation", "site", "formation", "line", "lane")
# The pandas dtype of each type, without and with missing values allowed.
DTYPES: dict[tuple[str, bool], str] = {
    ("str", False): "str",
    ("str", True): "str",
    ("int", False): "int64",
    ("int", True): "Int64",
    ("float", False): "float64",
    ("float", True): "float64",
    ("date", False): "datetime64[s]",
    ("date", True): "datetime64[s]",
    ("bool", False): "bool",
    ("bool", True): "boolean",
}


class TableSpecError(ValueError):
    """A table that does not match its spec (a defect of the engine that made it)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of TYPES
    nullable: bool
    unit: str  # a unit, "1", "-", or {item}/{family}/{unit}/{column}: the row's own unit
    description: str

    @property
    def dtype(self) -> str:
        return DTYPES[self.type, self.nullable]


@dataclass(frozen=True)
class TableSpec:
    name: str  # namespaced: "plan.shortfall"
    about: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    time: str | None = None  # the date column of the time axis
    scope: tuple[tuple[str, str], ...] = ()  # (column, what it names: one of SCOPES)
    # What anyone may see of the rows they may not: sums of these columns by those.
    aggregate_by: tuple[str, ...] = ()
    aggregate_sum: tuple[str, ...] = ()
    aggregate_least_nations: int = 1  # of the nation column's, for a sum anyone may see

    @property
    def engine(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame with the spec's columns in order and dtypes, rows by position; an engine's
        table missing a column, with one more, or with values that do not fit the type raises."""
        names = self.column_names
        if frame.empty and not len(frame.columns):  # "nothing", written as pandas writes it
            frame = pd.DataFrame({name: [] for name in names})
        missing = [c for c in names if c not in frame.columns]
        extra = [c for c in frame.columns if c not in names]
        if missing or extra:
            raise TableSpecError(f"{self.name}: columns {missing} missing, {extra} not in the spec")
        out = {}
        for column in self.columns:
            values = frame[column.name]
            try:
                out[column.name] = _cast(values, column)
            except (TypeError, ValueError) as exc:
                raise TableSpecError(f"{self.name}.{column.name}: {exc}") from exc
        return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


# What pandas.api.types.infer_dtype may call the values of each type (missing ones skipped).
KINDS: dict[str, frozenset[str]] = {
    "str": frozenset({"string", "empty"}),
    "int": frozenset({"integer", "floating", "mixed-integer-float", "decimal", "empty"}),
    "float": frozenset({"integer", "floating", "mixed-integer-float", "decimal", "empty"}),
    "date": frozenset({"datetime64", "datetime", "date", "empty"}),
    "bool": frozenset({"boolean", "empty"}),
}


def _cast(values: pd.Series, column: Column) -> pd.Series:
    """The values as the column's dtype, by position; a value of another kind raises rather
    than being turned into something else (a number into a date, "False" into True)."""
    values = values.reset_index(drop=True)
    if isinstance(values.dtype, pd.CategoricalDtype):  # as a Parquet file's dictionary reads
        values = values.astype(values.cat.categories.dtype)
    missing = values.isna()
    if not column.nullable and missing.any():
        raise ValueError(f"{int(missing.sum())} missing values in a column that has none")
    present = values[~missing]
    kind = pd.api.types.infer_dtype(present, skipna=True) if len(present) else "empty"
    if kind not in KINDS[column.type]:
        example = present.iloc[0]
        raise ValueError(f"values of kind {kind} (such as {example!r}) in a {column.type} column")
    if column.type == "str":
        # Blank, not "nan", where a text column has no value.
        return values.astype(object).where(~missing, "").astype("str")
    if column.type == "date":
        dates = pd.to_datetime(values)
        if (timed := dates[dates.notna() & (dates != dates.dt.normalize())]).size:
            raise ValueError(f"dates with a time of day, such as {timed.iloc[0]}")
        return dates.astype("datetime64[s]")
    if column.type == "int" and not pd.api.types.is_signed_integer_dtype(values.dtype):
        numbers = pd.to_numeric(values[~missing]).to_numpy(dtype=np.float64)
        if (wrong := numbers[~(np.isfinite(numbers) & (numbers == np.round(numbers)))]).size:
            raise ValueError(f"values that are not whole numbers: {wrong[:3].tolist()}")
        if numbers.size and np.abs(numbers).max() >= 2.0**63:  # unsigned ones too
            raise ValueError("values beyond the range of a 64-bit integer")
    if column.type in ("int", "float"):
        values = pd.to_numeric(values)
    if column.type == "float":
        values = values.astype("float64") + 0.0  # no "-0.0" (solver noise) in what is shown
    return values.astype(pd.api.types.pandas_dtype(column.dtype))


def _column(name: str, text: str) -> Column:
    kind, unit, description = (part.strip() for part in text.split("|", 2))
    nullable = kind.endswith("?")
    kind = kind.removesuffix("?")
    if kind not in TYPES:
        raise TableSpecError(f"column {name}: type {kind!r} is not one of {TYPES}")
    return Column(name, kind, nullable, unit, description)


def _spec(name: str, entry: dict[str, Any]) -> TableSpec:
    columns = tuple(_column(c, text) for c, text in entry["columns"].items())
    spec = TableSpec(
        name=name,
        about=entry["about"],
        key=tuple(entry["key"]),
        columns=columns,
        time=entry.get("time"),
        scope=tuple((entry.get("scope") or {}).items()),
        aggregate_by=tuple((entry.get("aggregate") or {}).get("by", ())),
        aggregate_sum=tuple((entry.get("aggregate") or {}).get("sum", ())),
        aggregate_least_nations=int((entry.get("aggregate") or {}).get("least_nations", 1)),
    )
    names = set(spec.column_names)
    named = [*spec.key, *(c for c, _ in spec.scope), *([spec.time] if spec.time else [])]
    named += [*spec.aggregate_by, *spec.aggregate_sum]
    if unknown := [c for c in named if c not in names]:
        raise TableSpecError(
            f"{name}: key, time, scope or aggregate names unknown columns {unknown}"
        )
    if bool(spec.aggregate_by) != bool(spec.aggregate_sum) or (
        spec.aggregate_by and not spec.scope
    ):
        raise TableSpecError(f"{name}: an aggregate needs by and sum, on a scoped table")
    if spec.aggregate_least_nations > 1 and not any(k == "nation" for _, k in spec.scope):
        raise TableSpecError(f"{name}: least_nations needs a nation column in the scope")
    if bad := [c for c in spec.aggregate_sum if spec.column(c).type not in ("int", "float")]:
        raise TableSpecError(f"{name}: aggregate sums columns that are not numbers: {bad}")
    if bad := [what for _, what in spec.scope if what not in SCOPES]:
        raise TableSpecError(f"{name}: scope {bad} is not one of {SCOPES}")
    return spec


@functools.cache
def specs() -> dict[str, TableSpec]:
    """Every table spec, by namespaced name."""
    text = resources.files("sustain.results").joinpath("tables.yaml").read_text("utf-8")
    return {name: _spec(name, entry) for name, entry in yaml.safe_load(text).items()}


def spec(name: str) -> TableSpec:
    """The spec of a table by its namespaced name ("plan.shortfall")."""
    try:
        return specs()[name]
    except KeyError:
        raise KeyError(f"no table spec named {name!r}") from None

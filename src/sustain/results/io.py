"""Runs to folders and back: `run.json` (the metadata) beside each table as CSV, Parquet
and/or JSON, written atomically; a folder read back is the same Run, tables conformed to
their specs (CSV keeps no types: the spec gives them back)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sustain.output import atomic_output
from sustain.results.formats import DEFAULT_FORMATS, FORMATS
from sustain.results.run import Run, records
from sustain.results.table_specs import Column, TableSpec, spec
from sustain.scenario import cells

MANIFEST = "run.json"
# Reading prefers the format that keeps types.
READ_ORDER = ("parquet", "json", "csv")


class RunReadError(ValueError):
    """A folder that is not a readable run: the message names the file and what is wrong."""


def write_run(
    run: Run, out: Path, *, formats: Iterable[str] = DEFAULT_FORMATS, force: bool = False
) -> None:
    """Write the run into the folder `out`: run.json and each table in each format."""
    formats = tuple(formats)
    manifest = {**run.metadata(), "formats": list(formats)}
    write_tables(run.tables, out, formats=formats, force=force, manifest=manifest)


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    out: Path,
    *,
    formats: Iterable[str] = DEFAULT_FORMATS,
    force: bool = False,
    manifest: Mapping[str, Any] | None = None,
) -> None:
    """Write `name.csv`, `name.parquet` and/or `name.json` for every table (and the manifest
    as run.json) into the folder `out`, atomically: a kill leaves the old folder or the new
    one, whole."""
    formats = tuple(formats)
    if unknown := [f for f in formats if f not in FORMATS]:
        raise ValueError(f"unknown table formats {unknown}: use {', '.join(FORMATS)}")
    with atomic_output(out, force=force, is_dir=True) as folder:
        for name, table in tables.items():
            if "csv" in formats:
                _write_csv(table, folder / f"{name}.csv")
            if "parquet" in formats:
                table.to_parquet(folder / f"{name}.parquet", index=False)
            if "json" in formats:
                text = json.dumps(records(table), indent=1, allow_nan=False)
                (folder / f"{name}.json").write_text(text + "\n", encoding="utf-8")
        if manifest is not None:
            text = json.dumps(manifest, indent=2, allow_nan=False)
            (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    """Text marked where a spreadsheet would run it as a formula (cells.to_csv); every cell
    quoted when a text holds a carriage return, which minimal quoting leaves bare under "\n"
    line ends and a reader would take for a line end (as the scenario's CSV writer does)."""
    out = table.copy()
    carriage = False
    for name in table.columns:
        if pd.api.types.is_string_dtype(table[name]) or table[name].dtype == object:
            out[name] = [cells.to_csv(v) if isinstance(v, str) else v for v in table[name]]
            carriage = carriage or bool(table[name].astype(str).str.contains("\r").any())
    quoting: Literal[0, 1] = csv.QUOTE_ALL if carriage else csv.QUOTE_MINIMAL
    out.to_csv(path, index=False, lineterminator="\n", quoting=quoting)


def read_run(folder: Path) -> Run:
    """The run written into `folder` by write_run (or `sustain ... --out`)."""
    manifest_path = folder / MANIFEST
    if not folder.is_dir():
        raise RunReadError(f"{folder}: not a folder (write one with --out)")
    if not manifest_path.is_file():
        raise RunReadError(
            f"{folder}: no {MANIFEST}, so not a run written by --out (a folder written by a "
            "Sustain older than runs has none: run the command again with --out)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        engine, names = check_manifest(manifest)
    except (ValueError, KeyError, TypeError) as exc:
        raise RunReadError(f"{manifest_path}: not a run's manifest ({exc})") from exc
    tables = read_tables(folder, engine, names)
    try:
        return run_of(manifest, tables)
    except (ValueError, KeyError, TypeError) as exc:
        raise RunReadError(f"{manifest_path}: {exc}") from exc


def check_manifest(manifest: object) -> tuple[str, list[str]]:
    """A run's metadata (Run.metadata()) checked for its shape: its engine and table names
    (TypeError or KeyError where it is not a run's)."""
    if not isinstance(manifest, dict):
        raise TypeError("not a JSON object")
    engine = str(manifest["engine"])
    names = list(manifest["tables"])
    for field in ("scenario", "options", "figures", "counts", "timings", "notes", "versions"):
        if not isinstance(manifest.get(field, {}), dict):
            raise TypeError(f"its {field} is not a JSON object")
    if not isinstance(manifest.get("summary", []), list):
        raise TypeError("its summary is not a list")
    return engine, names


def run_of(manifest: Mapping[str, Any], tables: dict[str, pd.DataFrame]) -> Run:
    """The Run of a checked manifest (Run.metadata()) and its tables."""
    return Run(
        engine=str(manifest["engine"]),
        scenario=manifest.get("scenario", {}),
        options=manifest.get("options", {}),
        tables=tables,
        seed=manifest.get("seed"),
        figures=manifest.get("figures", {}),
        counts=manifest.get("counts", {}),
        timings=manifest.get("timings", {}),
        notes=manifest.get("notes", {}),
        summary=tuple(manifest.get("summary", ())),
        started=dt.datetime.fromisoformat(manifest["started"]),
        id=str(manifest["id"]),
        versions=manifest.get("versions", {}),
    )


def read_tables(folder: Path, engine: str, names: Iterable[str]) -> dict[str, pd.DataFrame]:
    """Tables of an engine from a folder, each from the first of Parquet, JSON and CSV found,
    conformed to its spec."""
    tables = {}
    for name in names:
        try:
            table_spec = spec(f"{engine}.{name}")
        except KeyError as exc:
            raise RunReadError(f"{folder}: {exc.args[0]}") from None
        for fmt in READ_ORDER:
            path = folder / f"{name}.{fmt}"
            if path.is_file():
                tables[name] = _read_table(path, fmt, table_spec)
                break
        else:
            raise RunReadError(
                f"{folder}: no {name}.parquet, {name}.json or {name}.csv "
                f"(the {engine} table {table_spec.name})"
            )
    return tables


def _read_table(path: Path, fmt: str, table_spec: TableSpec) -> pd.DataFrame:
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "json":
            rows = json.loads(path.read_text(encoding="utf-8"))
            frame = pd.DataFrame(rows, columns=table_spec.column_names)
            frame = pd.DataFrame({c.name: _from_json(frame[c.name], c) for c in table_spec.columns})
        else:
            text = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame = pd.DataFrame(
                {c.name: _from_text(text[c.name], c) for c in table_spec.columns if c.name in text}
            )
        return table_spec.conform(frame)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise RunReadError(f"{path}: {exc}") from exc


def _from_json(values: pd.Series, column: Column) -> pd.Series:
    """JSON cells as the spec's type: infinities are the text "inf" (records())."""
    if column.type == "date":
        return pd.to_datetime(values)
    if column.type in ("float", "int"):
        return pd.to_numeric(values.astype(object).where(values.notna(), np.nan))
    return values


def _from_text(values: pd.Series, column: Column) -> pd.Series:
    """A CSV column, every cell text, as the spec's type (an empty cell is a missing value)."""
    if column.type == "str":
        return pd.Series([cells.from_csv(v) for v in values], dtype="str", index=values.index)
    blank = values == ""
    if column.type == "date":
        return pd.to_datetime(values.where(~blank, None))
    if column.type == "bool":
        mapped = values.map({"True": True, "False": False, "": pd.NA})
        if mapped.isna().sum() > blank.sum():
            raise ValueError(f"{column.name}: values other than True and False")
        return mapped.astype("boolean") if column.nullable else mapped.astype(bool)
    numbers = pd.to_numeric(values.where(~blank, np.nan), errors="raise")
    return numbers

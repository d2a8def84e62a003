"""Runs and their tables: every engine's result as a Run (metadata and tables, each table
matching its spec in tables.yaml), written to folders as CSV, Parquet and JSON and read back.

The names below are imported on first use (PEP 562), so that what needs only the formats
(the command line's flags) does not import pandas."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sustain.results.formats import DEFAULT_FORMATS, FORMATS
    from sustain.results.io import (
        RunReadError,
        read_run,
        read_tables,
        write_run,
        write_tables,
    )
    from sustain.results.run import Run, records
    from sustain.results.table_specs import Column, TableSpec, TableSpecError, spec, specs

_HOMES = {
    "DEFAULT_FORMATS": "formats",
    "FORMATS": "formats",
    "RunReadError": "io",
    "read_run": "io",
    "read_tables": "io",
    "write_run": "io",
    "write_tables": "io",
    "Run": "run",
    "records": "run",
    "Column": "table_specs",
    "TableSpec": "table_specs",
    "TableSpecError": "table_specs",
    "spec": "table_specs",
    "specs": "table_specs",
}
__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "Column",
    "Run",
    "RunReadError",
    "TableSpec",
    "TableSpecError",
    "read_run",
    "read_tables",
    "records",
    "spec",
    "specs",
    "write_run",
    "write_tables",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(f"sustain.results.{_HOMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sustain.results' has no attribute {name!r}")

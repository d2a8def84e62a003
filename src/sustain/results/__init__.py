"""Runs and their tables: every engine's result as a Run (metadata and tables, each table
matching its spec in tables.yaml), written to folders as CSV, Parquet and JSON and read back."""

from sustain.results.io import (
    DEFAULT_FORMATS,
    FORMATS,
    RunReadError,
    read_run,
    read_tables,
    write_run,
    write_tables,
)
from sustain.results.run import Run, records
from sustain.results.specs import Column, TableSpec, TableSpecError, spec, specs

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

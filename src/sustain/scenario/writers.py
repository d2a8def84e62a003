"""Writing scenario tables as one YAML file, a folder of CSV files, or an Excel workbook.

Writers take rows of JSON values keyed by column (`Scenario.rows()`, or empty tables for a
template) and write them atomically (sustain.output): a failure or a kill never leaves a
half-written scenario behind, nor the old one gone.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

import yaml

from sustain.output import OutputExistsError, atomic_output
from sustain.scenario import cells
from sustain.scenario.columns import HEADER, all_docs, enum_of, markdown, table_docs
from sustain.scenario.schema import TABLES, Record, columns

Rows = Mapping[str, Sequence[Mapping[str, Any]]]
FORMATS = ("yaml", "csv", "xlsx")
SHEET_ROWS = 1_048_576  # the last row of an Excel sheet
__all__ = ["FORMATS", "OutputExistsError", "write", "write_template"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return cells.to_csv(value) if isinstance(value, str) else str(value)


def _sheet_date(value: Any) -> Any:
    """A date written as text ("2023-01-02") as a date, so that Excel shows, sorts and filters
    it as one; anything else as it is."""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return _sheet_value(value)
    return _sheet_value(value)


def _sheet_value(value: Any) -> Any:
    """Excel keeps 15 significant digits: a float needing more is written as text, exactly."""
    if isinstance(value, float) and float(f"{value:.15g}") != value:
        return repr(value)
    return cells.to_workbook(value) if isinstance(value, str) else value


def write_csv_folder(rows: Rows, folder: Path) -> None:
    for table, model in TABLES.items():
        header = columns(model)
        with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            # Quotes every cell of a row with a carriage return, which the minimal quoting
            # leaves bare under "\n" line ends and a reader would take for a line end.
            quoting_all = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)
            writer.writerow(header)
            for row in rows.get(table, ()):
                cells_of_row = [_cell(row.get(col)) for col in header]
                carriage = any("\r" in c for c in cells_of_row)
                (quoting_all if carriage else writer).writerow(cells_of_row)


def write_yaml(rows: Rows, path: Path) -> None:
    document: dict[str, Any] = {}
    for table in TABLES:
        records = [dict(r) for r in rows.get(table, ())]
        if table == "scenario":
            document[table] = records[0] if records else {}
        elif records:
            document[table] = records
    with path.open("w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle, sort_keys=False, allow_unicode=True, width=100)


def _is_date(annotation: Any) -> bool:
    """Whether a field holds a date (also an optional one, or one with validators)."""
    members = [annotation, *get_args(annotation)]
    return any(getattr(m, "__origin__", m) is dt.date for m in members)


def _column_kinds(model: type[Record]) -> tuple[set[str], dict[str, list[str]]]:
    """A table's date columns, and its columns of enumerated values with those values (by
    the column names files use)."""
    dates: set[str] = set()
    choices: dict[str, list[str]] = {}
    for name, field in model.model_fields.items():
        column = field.alias or name
        if _is_date(field.annotation):
            dates.add(column)
        enum = enum_of(field.annotation)
        if enum is not None:
            choices[column] = [str(member.value) for member in enum]
    return dates, choices


def write_workbook(rows: Rows, path: Path) -> None:
    """One sheet per table: a header with each column's documentation as a comment, dates as
    real dates, filters on every column, and a drop-down of the allowed values in every column
    of enumerated values; then the `_columns` sheet of every column's documentation."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    default = workbook.active
    if default is not None:
        workbook.remove(default)
    bold = Font(bold=True)
    for table, model in TABLES.items():
        sheet = workbook.create_sheet(table)
        header = columns(model)
        sheet.append(header)
        for cell, doc in zip(sheet[1], table_docs(table, model), strict=True):
            cell.font = bold
            note = f"{doc.description}\n{doc.kind}" + ("; required" if doc.required else "")
            cell.comment = Comment(note, "Sustain")
        dates, choices = _column_kinds(model)
        for row in rows.get(table, ()):
            values = [
                _sheet_date(row.get(col)) if col in dates else _sheet_value(row.get(col))
                for col in header
            ]
            sheet.append(values)
            for cell, value in zip(sheet[sheet.max_row], values, strict=False):
                if isinstance(value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(value, str) and cells.runs_as_formula(value):
                    cell.data_type = "s"  # text, never a formula, and shown so when edited
                    cell.quotePrefix = True
        for index, name in enumerate(header, start=1):
            letter = sheet.cell(1, index).column_letter
            sheet.column_dimensions[letter].width = max(12, len(name) + 4)
            if name in choices:
                # A drop-down of the allowed values, down the whole column; blank allowed
                # (the column may be optional; the validator says where one is missing).
                listed = DataValidation(
                    type="list",
                    formula1='"' + ",".join(choices[name]) + '"',
                    allow_blank=True,
                    showErrorMessage=True,
                    errorTitle=f"{table}.{name}",
                    error=f"Use one of: {', '.join(choices[name])}",
                )
                listed.add(f"{letter}2:{letter}{SHEET_ROWS}")
                sheet.add_data_validation(listed)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{sheet.cell(1, len(header)).column_letter}{sheet.max_row}"
    docs = workbook.create_sheet("_columns")
    docs.append(HEADER)
    for cell in docs[1]:
        cell.font = bold
    for doc in all_docs():
        docs.append(doc.as_row())
    workbook.save(path)


# The names a file of each format is read back from (sustain.scenario.readers: a folder is
# read as tables whatever its name, a file by its suffix): a workbook named x.yaml would be
# read as YAML, and fail.
SUFFIXES = {"yaml": (".yaml", ".yml"), "xlsx": (".xlsx",)}


def check_name(out: Path, fmt: str) -> None:
    """Refuse an output name a scenario of `fmt` would not be read back from."""
    if fmt in SUFFIXES and out.suffix.lower() not in SUFFIXES[fmt]:
        raise ValueError(
            f"{out}: a {fmt} scenario is read back from a name ending in "
            f"{' or '.join(SUFFIXES[fmt])}; name it so (e.g. my-scenario{SUFFIXES[fmt][0]})"
        )


def write(rows: Rows, out: Path, fmt: str, *, force: bool = False) -> None:
    """Write tables in `fmt` (yaml, csv or xlsx) to `out`, atomically."""
    if fmt not in FORMATS:
        raise ValueError(f'unknown format "{fmt}": use one of {", ".join(FORMATS)}')
    check_name(out, fmt)
    with atomic_output(out, force=force, is_dir=fmt == "csv") as target:
        if fmt == "csv":
            write_csv_folder(rows, target)
            (target / "README.md").write_text(markdown(), encoding="utf-8")
        elif fmt == "yaml":
            write_yaml(rows, target)
        else:
            write_workbook(rows, target)


def write_template(out: Path, *, force: bool = False) -> None:
    """An empty workbook and an empty CSV folder, every column documented."""
    with atomic_output(out, force=force, is_dir=True) as target:
        write_workbook({}, target / "scenario.xlsx")
        (target / "csv").mkdir()
        write_csv_folder({}, target / "csv")
        (target / "csv" / "README.md").write_text(markdown(), encoding="utf-8")
        (target / "COLUMNS.md").write_text(markdown(), encoding="utf-8")

"""Reading scenario files into raw records with their locations, before any validation.

Three formats hold the same tables: one YAML file (table name -> list of records), a folder
with one CSV or YAML file per table, and an Excel workbook with one sheet per table. Each
reader returns every record with the file and line (or sheet row) it came from, and problems
in the file itself (bad syntax, unknown tables, unreadable cells) as located Problems.
"""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sustain.scenario import cells
from sustain.scenario.errors import Problem, did_you_mean, shown
from sustain.scenario.limits import MB, Limits, too_large, unreadable_file
from sustain.scenario.schema import TABLES

TABLE_SUFFIXES = (".csv", ".yaml", ".yml")


@dataclass(slots=True)
class RawRecord:
    values: dict[str, Any]
    where: str
    field_lines: dict[str, int] | None = None  # YAML: the line of each field

    def where_field(self, name: str) -> str:
        """Location of one field: its own line in YAML, the record's row elsewhere."""
        if self.field_lines and name in self.field_lines:
            file = self.where.rpartition(":")[0]
            return f"{file}:{self.field_lines[name]}"
        return self.where


@dataclass(slots=True)
class RawScenario:
    limits: Limits = field(default_factory=Limits)
    tables: dict[str, list[RawRecord]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # table -> file it came from
    problems: list[Problem] = field(default_factory=list)
    cells: int = 0  # values read so far, in all tables

    def count(self, values: int, where: str) -> bool:
        """Count a record's values; False (and a problem) once the tables pass the limit."""
        self.cells += values
        if self.cells <= self.limits.cells:
            return True
        limit = self.limits.cells
        self.problems.append(
            Problem(where, None, too_large("the tables hold", f"{limit:,} values", "cells"))
        )
        return False


def read(path: Path, limits: Limits | None = None) -> RawScenario:
    """Read a scenario from a YAML file, a folder of tables, or an Excel workbook, within the
    limits (by default the environment's: sustain.scenario.limits)."""
    raw = RawScenario()
    try:
        raw.limits = limits or Limits.from_environment()
    except ValueError as exc:
        raw.problems.append(Problem(path.name, None, f"cannot be read: {exc}"))
        return raw
    if path.is_dir():
        _read_folder(path, raw)
    elif not path.exists():
        raw.problems.append(Problem(str(path), None, "no such file or folder"))
    elif (why := unreadable_file(path, raw.limits)) is not None:
        raw.problems.append(Problem(path.name, None, why))
    elif path.suffix.lower() in (".yaml", ".yml"):
        _read_yaml_scenario(path, raw)
    elif path.suffix.lower() == ".xlsx":
        _read_workbook(path, raw)
    else:
        raw.problems.append(
            Problem(path.name, None, "not a scenario: expected a folder, a .yaml or an .xlsx file")
        )
    return raw


# --------------------------------------------------------------------------------------------
# YAML


class _LineDict(dict[str, Any]):
    """A YAML mapping that remembers the line it started on and the line of each key."""

    line: int = 0
    field_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """Safe YAML within limits: collections nested at most `limits.yaml_depth` deep (the
    composer recurses, and Python's stack would run out first), and at most
    `limits.yaml_nodes` values once aliases are expanded ("billion laughs")."""

    limits = Limits()
    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > self.limits.yaml_depth:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                limit = f"{self.limits.yaml_depth} levels"
                raise yaml.composer.ComposerError(
                    None, None, too_large("nested too deep", limit, "yaml_depth"), mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_document(self, node: yaml.Node) -> Any:
        if _expanded_size(node) > self.limits.yaml_nodes:
            limit = f"{self.limits.yaml_nodes:,} values"
            raise yaml.constructor.ConstructorError(
                None, None, too_large("expands its aliases", limit, "yaml_nodes"), node.start_mark
            )
        return super().construct_document(node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _expanded_size(root: yaml.Node) -> int:
    """The values a YAML document holds once its aliases are expanded, without expanding
    them: an alias shares its anchor's node, whose size is worked out once (bottom up, on a
    stack of its own: alias chains can be deeper than Python's)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes and not children_done:
            continue
        if children_done:
            sizes[id(node)] = 1 + sum(sizes.get(id(child), 0) for child in _children(node))
            continue
        sizes.setdefault(id(node), 0)  # a node reached again through itself counts no more
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    mapping = _LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.field_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain name", key_node.start_mark
            )
        name = str(key)
        if name in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f'key "{shown(name)}" is written twice', key_node.start_mark
            )
        mapping[name] = loader.construct_object(value_node, deep=True)
        mapping.field_lines[name] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(path: Path, raw: RawScenario) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raw.problems.append(Problem(path.name, None, "is not UTF-8 text"))
        return None
    except OSError as exc:
        raw.problems.append(Problem(path.name, None, f"cannot be read: {exc.strerror}"))
        return None
    loader = type("Loader", (_LineLoader,), {"limits": raw.limits})
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path.name}:{mark.line + 1}" if mark else path.name
        raw.problems.append(Problem(where, None, f"YAML syntax: {exc.problem or exc.context}"))
    except yaml.YAMLError as exc:
        raw.problems.append(Problem(path.name, None, f"YAML syntax: {shown(exc, 200)}"))
    return None


def _yaml_records(data: Any, file: str, table: str, raw: RawScenario, line: int) -> None:
    if table == "scenario" and isinstance(data, dict):
        data = [data]
    if data is None:
        data = []
    if not isinstance(data, list):
        raw.problems.append(Problem(f"{file}:{line}", table, "must be a list of records"))
        return
    records = raw.tables.setdefault(table, [])
    raw.files[table] = file
    for entry in data:
        if not isinstance(entry, _LineDict):
            raw.problems.append(
                Problem(f"{file}:{line}", table, f'entry "{shown(entry)}" is not a record')
            )
            continue
        values = {k: v for k, v in entry.items() if v is not None and v != ""}
        where = f"{file}:{entry.line}"
        if not raw.count(len(values), where):
            return
        records.append(RawRecord(values, where, entry.field_lines))


def _read_yaml_scenario(path: Path, raw: RawScenario) -> None:
    data = _load_yaml(path, raw)
    if data is None:
        if not raw.problems:
            raw.problems.append(Problem(path.name, None, "is empty"))
        return
    if not isinstance(data, _LineDict):
        raw.problems.append(Problem(path.name, None, "must be a mapping of table name to records"))
        return
    for table, content in data.items():
        line = data.field_lines.get(table, 1)
        if table not in TABLES:
            raw.problems.append(
                Problem(
                    f"{path.name}:{line}",
                    None,
                    f'unknown table "{shown(table)}"' + did_you_mean(table, TABLES),
                )
            )
            continue
        _yaml_records(content, path.name, table, raw, line)


# --------------------------------------------------------------------------------------------
# Folder of tables


def _read_folder(folder: Path, raw: RawScenario) -> None:
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in TABLE_SUFFIXES or path.name.startswith((".", "_")):
            continue
        table = path.stem
        if table not in TABLES:
            raw.problems.append(
                Problem(
                    path.name, None, f'unknown table "{shown(table)}"' + did_you_mean(table, TABLES)
                )
            )
            continue
        if table in raw.tables:
            raw.problems.append(
                Problem(path.name, None, f'table "{table}" is given twice ({raw.files[table]})')
            )
            continue
        why = unreadable_file(path, raw.limits, folder)
        if why is not None:
            raw.problems.append(Problem(path.name, None, why))
            continue
        if path.suffix.lower() == ".csv":
            _read_csv(path, table, raw)
        else:
            data = _load_yaml(path, raw)
            if isinstance(data, _LineDict) and table in data:
                data = data[table]  # a table file may also be written "sites: [...]"
            _yaml_records(data, path.name, table, raw, 1)


def _read_csv(path: Path, table: str, raw: RawScenario) -> None:
    records = raw.tables.setdefault(table, [])
    raw.files[table] = path.name
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header: list[str] | None = None
            line = 1
            for row in reader:
                start, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                    continue
                if header is None:
                    header = [cell.strip() for cell in row]
                    _check_header(header, f"{path.name}:{start}", raw)
                    continue
                where = f"{path.name}:{start}"
                if len(row) > len(header):
                    raw.problems.append(
                        Problem(
                            where, None, f"has {len(row)} cells but the header has {len(header)}"
                        )
                    )
                    continue
                values = {
                    name: text
                    for name, cell in zip(header, row, strict=False)
                    if name and (text := cells.from_csv(cell.strip()))
                }
                if not raw.count(len(row), where):
                    return
                records.append(RawRecord(values, where))
    except UnicodeDecodeError:
        raw.problems.append(Problem(path.name, None, "is not UTF-8 text"))
    except csv.Error as exc:
        raw.problems.append(Problem(path.name, None, f"CSV syntax: {exc}"))
    except OSError as exc:
        raw.problems.append(Problem(path.name, None, f"cannot be read: {exc.strerror}"))


def _check_header(header: list[str], where: str, raw: RawScenario) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raw.problems.append(Problem(where, name, "column is written twice"))
        seen.add(name)


# --------------------------------------------------------------------------------------------
# Excel workbook


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, str):
        return cells.from_workbook(value.strip())
    return value


def _sheet_rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield number, tuple(_cell(v) for v in row)


def _unzipped_size(path: Path, most: int) -> str | None:
    """Why a workbook must not be opened, or None: its members, as declared and as they
    really inflate (read in chunks, stopping at the limit: a declared size can lie), must
    hold at most `most` bytes."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            declared = sum(member.file_size for member in members)
            if declared > most:
                return f"declares {declared / MB:,.0f} MB uncompressed"
            inflated = 0
            for member in members:
                with archive.open(member) as handle:
                    while chunk := handle.read(MB):
                        inflated += len(chunk)
                        if inflated > most:
                            return f"inflates to more than {most / MB:,.0f} MB"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        return f"is not a readable .xlsx workbook ({exc})"
    return None


def _read_workbook(path: Path, raw: RawScenario) -> None:
    from openpyxl import load_workbook  # only Excel users pay for importing it

    most = raw.limits.xlsx_mb * MB
    why = _unzipped_size(path, most)
    if why is not None:
        if not why.startswith("is not"):
            why = too_large(why, f"{raw.limits.xlsx_mb} MB", "xlsx_mb")
        raw.problems.append(Problem(path.name, None, why))
        return
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises what its XML parser and zip reader raise
        raw.problems.append(
            Problem(path.name, None, f"is not a readable .xlsx workbook ({shown(exc, 200)})")
        )
        return
    try:
        _read_sheets(workbook, path, raw)
    except Exception as exc:  # malformed sheet XML, entities refused by defusedxml, ...
        raw.problems.append(
            Problem(path.name, None, f"is not a readable .xlsx workbook ({shown(exc, 200)})")
        )
    finally:
        workbook.close()


def _read_sheets(workbook: Any, path: Path, raw: RawScenario) -> None:
    """Every sheet named after a table, row by row, within the cell limit."""
    for sheet in workbook.worksheets:
        table = sheet.title
        if table.startswith("_"):
            continue  # documentation sheets
        file = f"{path.name}[{table}]"
        if table not in TABLES:
            raw.problems.append(
                Problem(file, None, f'unknown sheet "{shown(table)}"' + did_you_mean(table, TABLES))
            )
            continue
        records = raw.tables.setdefault(table, [])
        raw.files[table] = file
        header: list[str] | None = None
        sheet.reset_dimensions()  # read every row written, not the range the file declares
        for number, row in _sheet_rows(sheet):
            if all(v is None or v == "" for v in row):
                continue
            if header is None:
                header = ["" if v is None else str(v).strip() for v in row]
                _check_header([h for h in header if h], f"{file}:{number}", raw)
                continue
            extra = [v for v in row[len(header) :] if v not in (None, "")]
            if extra:
                raw.problems.append(
                    Problem(f"{file}:{number}", None, "has cells right of the last column")
                )
                continue
            values = {
                name: value
                for name, value in zip(header, row, strict=False)
                if name and value not in (None, "")
            }
            if not raw.count(len(row), f"{file}:{number}"):
                return
            records.append(RawRecord(values, f"{file}:{number}"))

"""Load a scenario: read the files, validate every record, cross-check the tables.

Every problem is collected and reported together in one ScenarioError; nothing partial is
returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sustain.scenario.checks import cross_check
from sustain.scenario.errors import Problem, ScenarioError, did_you_mean, shown
from sustain.scenario.readers import RawRecord, read
from sustain.scenario.schema import (
    REQUIRED_TABLES,
    TABLES,
    Location,
    Record,
    Scenario,
    columns,
    written_figures,
)


def load(path: str | Path) -> Scenario:
    """Load and validate a scenario (YAML file, folder of tables, or .xlsx workbook)."""
    raw = read(Path(path))
    problems = list(raw.problems)
    tables: dict[str, list[Record]] = {}
    locations: dict[str, list[Location]] = {}
    written: dict[str, list[dict[str, str]]] = {}
    for table, records in raw.tables.items():
        model = TABLES[table]
        valid: list[Record] = []
        where: list[Location] = []
        texts: list[dict[str, str]] = []
        for record in records:
            parsed = _validate(model, record, problems)
            if parsed is not None:
                valid.append(parsed)
                file, _, line = record.where.rpartition(":")
                where.append(Location(file=file, line=int(line)))
                texts.append(written_figures(model, record.values))
        tables[table] = valid
        locations[table] = where
        written[table] = texts

    for table in REQUIRED_TABLES:  # unless a file could not be read at all
        if not raw.problems and not raw.tables.get(table):
            problems.append(
                Problem(
                    _file_for(Path(path), table), None, f'the table "{table}" is missing or empty'
                )
            )
    settings = tables.get("scenario", [])
    if len(settings) > 1:
        second = locations["scenario"][1]
        problems.append(Problem(str(second), None, "the scenario table must have exactly one row"))
    if not settings:
        raise ScenarioError(problems)

    scenario = Scenario.model_validate(
        {"scenario": settings[0], **{t: tuple(r) for t, r in tables.items() if t != "scenario"}}
    )
    scenario._locations.update(locations)
    scenario._written.update(written)
    problems.extend(
        cross_check(scenario, _names_written(raw.tables), check_reachability=not problems)
    )
    if problems:
        raise ScenarioError(problems)
    return scenario


def _names_written(tables: dict[str, list[RawRecord]]) -> dict[str, set[str]]:
    """Ids and families as written, including rows that failed their own validation."""
    names = {
        table: {str(r.values["id"]) for r in records if "id" in r.values}
        for table, records in tables.items()
    }
    names["families"] = {
        str(r.values["family"]) for r in tables.get("items", ()) if "family" in r.values
    }
    return names


def _file_for(path: Path, table: str) -> str:
    """The file a missing table should be in."""
    return f"{table}.csv" if path.is_dir() else path.name


def _validate(model: type[Record], record: RawRecord, problems: list[Problem]) -> Record | None:
    try:
        return model.model_validate(record.values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = [str(part) for part in error["loc"]]
            name = loc[0] if loc else None
            problems.append(
                Problem(
                    record.where_field(name) if name else record.where,
                    ".".join(loc) if loc else None,
                    _message(model, error),
                )
            )
        return None


def _message(model: type[Record], error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown column" + did_you_mean(str(error["loc"][0]), columns(model))
    if kind == "enum":
        return f'"{shown(value)}" is not one of: {ctx.get("expected", "")}' + did_you_mean(
            str(value), [str(e) for e in _enum_values(model, error)]
        )
    if kind in ("unit", "sign", "date_range"):
        return str(error["msg"])
    if kind == "finite_number":
        return f'"{shown(value)}" is not a finite number'
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {
            "greater_than": "greater than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }[kind]
        bound = next(iter(ctx.values()), "")
        return f'"{shown(value)}" must be {words} {bound}'
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        wanted = "a whole number" if kind.startswith("int") else "a number"
        return f'"{shown(value)}" is not {wanted}'
    if kind.startswith("date"):
        return f'"{shown(value)}" is not a date (write YYYY-MM-DD)'
    message = str(error["msg"])
    return f'"{shown(value)}": {message[:1].lower()}{message[1:]}'


def _enum_values(model: type[Record], error: Any) -> list[str]:
    annotation = model.model_fields[str(error["loc"][0])].annotation
    members = getattr(annotation, "__members__", None)
    return [m.value for m in members.values()] if members else []

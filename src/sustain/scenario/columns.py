"""Column documentation, read off the schema models: the one source for templates and docs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, get_args

from pydantic.fields import FieldInfo

from sustain.scenario.schema import TABLES, Record, columns, figure_of


@dataclass(frozen=True, slots=True)
class ColumnDoc:
    table: str
    column: str
    required: bool
    kind: str  # what to write: text, number, date, list, one of ..., or a figure with a unit
    example: str
    default: str
    description: str

    def as_row(self) -> list[str]:
        return [
            self.table,
            self.column,
            "yes" if self.required else "no",
            self.kind,
            self.example,
            self.default,
            self.description,
        ]


HEADER = ["table", "column", "required", "what to write", "example", "default", "description"]


def enum_of(annotation: Any) -> type[Enum] | None:
    """The Enum a field's values come from, also inside an optional type."""
    candidates = [annotation, *get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def _kind(info: FieldInfo) -> tuple[str, str]:
    """(what to write, example) for one field."""
    figure = figure_of(info)
    if figure is not None:
        return f"figure with a unit ({figure.unit_label})", figure.example
    enum = enum_of(info.annotation)
    if enum is not None:
        values = [str(m.value) for m in enum]
        return "one of: " + ", ".join(values), values[0]
    text = repr(info.annotation)
    if "tuple" in text:
        return "names separated by ';'", "a;b"
    if "date" in text:
        return "date (YYYY-MM-DD)", "2023-02-13"
    if "float" in text or "int" in text:
        return "number", "1"
    return "text", ""


def _default(info: FieldInfo) -> str:
    if info.is_required() or info.default is None:
        return ""
    value = info.default
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)


def table_docs(table: str, model: type[Record]) -> list[ColumnDoc]:
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    docs = []
    for column in columns(model):
        info = fields[column]
        kind, example = _kind(info)
        docs.append(
            ColumnDoc(
                table=table,
                column=column,
                required=info.is_required(),
                kind=kind,
                example=example,
                default=_default(info),
                description=info.description or "",
            )
        )
    return docs


def all_docs() -> list[ColumnDoc]:
    return [doc for table, model in TABLES.items() for doc in table_docs(table, model)]


def markdown() -> str:
    """Every table and column as Markdown, for the template folder and the docs."""
    lines = ["# Scenario tables", ""]
    lines.append(
        "One table per component: a YAML list, a CSV file or an Excel sheet named after it. "
        "Figures carry their units ('120 t/day', '14000 rounds/month', '28 months'). "
        "Leave a cell blank for its default. Lines of a CSV file starting with # are ignored."
    )
    for table, model in TABLES.items():
        lines += ["", f"## {table}", "", (model.__doc__ or "").strip(), ""]
        lines.append("| column | required | what to write | example | default | description |")
        lines.append("|---|---|---|---|---|---|")
        for doc in table_docs(table, model):
            cells = doc.as_row()[1:]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"

"""The three formats load to the same Scenario, and every round trip is lossless."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

import sustain
from sustain.scenario import TABLES
from sustain.scenario.columns import all_docs
from sustain.scenario.schema import columns
from sustain.scenario.writers import write, write_template
from tests.conftest import EXAMPLES, TINY

TARGETS = {"yaml": "scenario.yaml", "csv": "scenario", "xlsx": "scenario.xlsx"}


@pytest.mark.parametrize("source", [TINY, *EXAMPLES], ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", list(TARGETS))
def test_round_trip_is_lossless(source: Path, fmt: str, tmp_path: Path) -> None:
    original = sustain.load(source)
    first = tmp_path / "first" / TARGETS[fmt]
    write(original.rows(), first, fmt)
    reloaded = sustain.load(first)
    assert reloaded == original
    for table in TABLES:
        assert reloaded.records(table) == original.records(table), table
    if fmt != "xlsx":  # text formats are also stable byte for byte on a second pass
        second = tmp_path / "second" / TARGETS[fmt]
        write(reloaded.rows(), second, fmt)
        for a in sorted(first.rglob("*") if first.is_dir() else [first]):
            b = second / a.relative_to(first) if first.is_dir() else second
            if a.is_file():
                assert a.read_bytes() == b.read_bytes(), a.name


def test_chain_through_every_format(tmp_path: Path) -> None:
    original = sustain.load(EXAMPLES[0])
    path: Path = EXAMPLES[0]
    for fmt in ("xlsx", "yaml", "csv", "xlsx"):
        out = tmp_path / f"{len(list(tmp_path.iterdir()))}-{TARGETS[fmt]}"
        write(sustain.load(path).rows(), out, fmt)
        path = out
    assert sustain.load(path) == original


def test_examples_keep_their_sources_through_export(tmp_path: Path) -> None:
    original = sustain.load(EXAMPLES[0])
    assert all(lane.source for lane in original.lanes)
    out = tmp_path / "x.yaml"
    write(original.rows(), out, "yaml")
    sources = [lane.source for lane in original.lanes]
    assert [lane.source for lane in sustain.load(out).lanes] == sources


def test_template_documents_every_column(tmp_path: Path) -> None:
    out = tmp_path / "template"
    write_template(out)
    docs = {(d.table, d.column): d for d in all_docs()}
    for table, model in TABLES.items():
        header = (out / "csv" / f"{table}.csv").read_text().splitlines()[0].split(",")
        assert header == columns(model)
        for column in header:
            assert docs[table, column].description, (table, column)
    markdown = (out / "COLUMNS.md").read_text()
    assert all(f"| {d.column} |" in markdown for d in docs.values())
    book = openpyxl.load_workbook(out / "scenario.xlsx")
    assert set(TABLES) <= set(book.sheetnames)
    documented = {(r[0], r[1]) for r in book["_columns"].iter_rows(min_row=2, values_only=True)}
    assert documented == set(docs)
    lanes = book["lanes"]
    assert lanes.cell(1, 1).comment is not None


def test_template_filled_in_loads(tmp_path: Path) -> None:
    """A user fills the empty template with the tiny scenario's rows: it loads the same."""
    out = tmp_path / "template"
    write_template(out)
    tiny = sustain.load(TINY)
    book = openpyxl.load_workbook(out / "scenario.xlsx")
    for table, rows in tiny.rows().items():
        sheet = book[table]
        header = [c.value for c in sheet[1]]
        for row in rows:
            sheet.append([row.get(str(h)) for h in header])
    book.save(out / "filled.xlsx")
    assert sustain.load(out / "filled.xlsx") == tiny


def test_existing_output_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "keep.yaml"
    out.write_text("precious")
    with pytest.raises(FileExistsError):
        write(sustain.load(TINY).rows(), out, "yaml")
    assert out.read_text() == "precious"
    write(sustain.load(TINY).rows(), out, "yaml", force=True)
    assert sustain.load(out) == sustain.load(TINY)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.yaml"]  # no temporary left behind


def test_failed_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    out = tmp_path / "folder"
    out.mkdir()
    (out / "mine.csv").write_text("keep me")
    rows = {"scenario": [{"name": "x"}], "nations": "not rows"}  # fails mid-way through
    with pytest.raises(AttributeError):
        write(rows, out, "csv", force=True)  # type: ignore[arg-type]
    assert (out / "mine.csv").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


@pytest.mark.parametrize("fmt", list(TARGETS))
def test_figures_are_exported_as_written(fmt: str, tmp_path: Path) -> None:
    """A figure keeps the text it was written in ("14000 rounds/month", not "459.9589...
    rounds/day"), so that a row's source still reads as its figure; optional figures too."""
    out = tmp_path / TARGETS[fmt]
    write(sustain.load(TINY).rows(), out, fmt)
    if fmt == "xlsx":
        book = openpyxl.load_workbook(out)
        text = "\n".join(
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
        )
    else:
        text = "\n".join(p.read_text() for p in ([out] if out.is_file() else out.glob("*.csv")))
    for written in ("14000 rounds/month", "2 months", "45 kg", "1000 rounds", "500 t/day"):
        assert written in text, written
    assert "459.95893223819303" not in text and "60.875 day" not in text
    if fmt == "yaml":  # whole numbers as written, and what the source left out left out
        assert "priority: 2\n" in text and "lat: 50\n" in text
        assert "repair_time" not in text and "breakdown_rate" not in text


def test_the_digest_is_of_the_figures_not_how_they_are_written(tmp_path: Path) -> None:
    from sustain import service

    same = TINY.read_text().replace("production_time: 2 months", "production_time: 60.875 days")
    (tmp_path / "same.yaml").write_text(same)
    original, rewritten = sustain.load(TINY), sustain.load(tmp_path / "same.yaml")
    assert original.rows() != rewritten.rows()  # each keeps its own text
    assert service.digest(original) == service.digest(rewritten)


def test_the_workbook_has_dates_filters_and_drop_downs(tmp_path: Path) -> None:
    out = tmp_path / "tiny.xlsx"
    write(sustain.load(TINY).rows(), out, "xlsx")
    book = openpyxl.load_workbook(out)
    pledges = book["pledges"]
    header = [c.value for c in pledges[1]]
    available = pledges.cell(2, header.index("available") + 1)
    assert available.is_date and available.value.date().isoformat() == "2023-01-10"
    assert pledges.auto_filter.ref == f"A1:{pledges.cell(1, len(header)).column_letter}2"
    sites = book["sites"]
    lists = {str(v.sqref): v.formula1 for v in sites.data_validations.dataValidation}
    kind = sites.cell(1, [c.value for c in sites[1]].index("kind") + 1).column_letter
    assert lists[f"{kind}2:{kind}1048576"].strip('"').split(",")[:2] == ["factory", "depot"]
    statuses = {v.formula1 for v in pledges.data_validations.dataValidation}
    assert '"offered,pledged,committed,shipped,delivered,cancelled"' in statuses


def test_optional_figures_are_documented_as_figures_with_units() -> None:
    """The validator refuses a bare number for a stock's floor: the docs must not say
    "number"."""
    docs = {(d.table, d.column): d for d in all_docs()}
    for table, column in (("stocks", "floor"), ("sites", "throughput"), ("systems", "mass")):
        assert docs[table, column].kind.startswith("figure with a unit"), (table, column)


def test_a_changed_figure_is_written_as_its_new_value() -> None:
    """A copy of the scenario with a figure changed (as a mitigation makes) must not export
    the old text: only a text that still reads as the value is kept."""
    original = sustain.load(TINY)
    line = original.production_lines[0]
    changed = original.model_copy(
        update={"production_lines": (line.model_copy(update={"production_time": 30.0}),)}
    )
    assert original.rows()["production_lines"][0]["production_time"] == "2 months"
    assert changed.rows()["production_lines"][0]["production_time"] == "30 day"
    assert changed.rows()["production_lines"][0]["capacity"] == "14000 rounds/month"

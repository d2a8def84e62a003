"""Every broken fixture gives exactly its expected, located messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

import sustain
from sustain.scenario.writers import write
from tests.conftest import FIXTURES, TINY, edit_csv, problems_of, tiny_folder

CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "broken" / "cases.yaml").read_text())


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_broken_csv_case(case: dict[str, Any], tmp_path: Path, tiny: sustain.Scenario) -> None:
    folder = tiny_folder(tmp_path, tiny)
    edit_csv(folder, case["edits"])
    assert problems_of(folder) == case["expect"]


# Whole-file problems, in each of the three formats.


def test_yaml_problem_points_at_the_line_of_the_field(tmp_path: Path) -> None:
    text = TINY.read_text()
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "1000 t/day" in t)
    bad = tmp_path / "tiny.yaml"
    bad.write_text(text.replace("1000 t/day", "-5 t/day"))
    assert problems_of(bad) == [f'tiny.yaml:{line} capacity: "-5 t/day" must be positive']


def test_workbook_problem_names_sheet_and_row(tmp_path: Path, tiny: sustain.Scenario) -> None:
    book = tmp_path / "tiny.xlsx"
    write(tiny.rows(), book, "xlsx")
    workbook = openpyxl.load_workbook(book)
    sheet = workbook["lanes"]
    column = [c.value for c in sheet[1]].index("capacity") + 1
    sheet.cell(row=3, column=column, value="-5 t/day")
    workbook.save(book)
    assert problems_of(book) == ['tiny.xlsx[lanes]:3 capacity: "-5 t/day" must be positive']


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario:\n  name: x\n  start: [2023-01-01\n")
    (problem,) = problems_of(bad)
    assert problem.startswith("bad.yaml:4: YAML syntax:")


def test_yaml_key_written_twice(tmp_path: Path) -> None:
    bad = tmp_path / "twice.yaml"
    bad.write_text(TINY.read_text().replace("  name: tiny\n", "  name: tiny\n  name: again\n"))
    assert problems_of(bad) == ['twice.yaml:4: YAML syntax: key "name" is written twice']


def test_yaml_unknown_table(tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text(TINY.read_text().replace("\nlanes:\n", "\nlane:\n"))
    problems = problems_of(bad)
    assert any(p.endswith('unknown table "lane" (did you mean "lanes"?)') for p in problems)


def test_unknown_table_file_in_folder(tmp_path: Path, tiny: sustain.Scenario) -> None:
    folder = tiny_folder(tmp_path, tiny)
    (folder / "lanes.csv").rename(folder / "lane.csv")
    assert problems_of(folder) == ['lane.csv: unknown table "lane" (did you mean "lanes"?)']


def test_csv_row_with_too_many_cells(tmp_path: Path, tiny: sustain.Scenario) -> None:
    folder = tiny_folder(tmp_path, tiny)
    lanes = folder / "lanes.csv"
    lines = lanes.read_text().splitlines()
    lines[2] += ",extra"
    lanes.write_text("\n".join(lines) + "\n")
    problems = problems_of(folder)
    assert problems[0] == "lanes.csv:3: has 10 cells but the header has 9"


def test_csv_not_utf8(tmp_path: Path, tiny: sustain.Scenario) -> None:
    folder = tiny_folder(tmp_path, tiny)
    (folder / "nations.csv").write_bytes(b"id,name\nUSA,\xe9tats\n")
    assert "nations.csv: is not UTF-8 text" in problems_of(folder)


def test_missing_required_table(tmp_path: Path, tiny: sustain.Scenario) -> None:
    folder = tiny_folder(tmp_path, tiny)
    (folder / "scenario.csv").unlink()
    assert problems_of(folder) == ['scenario.csv: the table "scenario" is missing or empty']


def test_not_a_scenario_file(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    assert problems_of(other) == [
        "notes.txt: not a scenario: expected a folder, a .yaml or an .xlsx file"
    ]


def test_missing_path(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: no such file or folder"]


def test_corrupt_workbook(tmp_path: Path) -> None:
    book = tmp_path / "broken.xlsx"
    book.write_bytes(b"not a zip file")
    (problem,) = problems_of(book)
    assert problem.startswith("broken.xlsx: is not a readable .xlsx workbook")


def test_investment_needs_a_line_or_a_site_and_item(tmp_path: Path) -> None:
    document = yaml.safe_load(TINY.read_text())
    document["investments"] = [
        {"id": "nothing", "cost": "1 MEUR", "capacity": "10 rounds/day", "start": "2023-01-02"},
        {
            "id": "both",
            "line": "line-155",
            "site": "factory",
            "cost": "1 MEUR",
            "capacity": "10 rounds/day",
            "start": "2023-01-02",
        },
        {
            "id": "kits",
            "line": "line-155",
            "cost": "1 MEUR",
            "capacity": "10 kits/day",
            "start": "2023-01-02",
        },
    ]
    path = tmp_path / "invest.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    problems = problems_of(path)
    assert any(
        p.endswith("line: is required, or both site and item for a new line") for p in problems
    )
    assert any(
        p.endswith("site: must be blank when the investment expands an existing line")
        for p in problems
    )
    assert any('capacity: "10 kits" is not in a unit of item "shell-155"' in p for p in problems)

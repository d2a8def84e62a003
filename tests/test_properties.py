"""Property tests: whatever is thrown at the loader, only clean, located problems come out,
and valid scenarios with arbitrary figures survive every round trip exactly."""

from __future__ import annotations

import csv
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sustain
from sustain.scenario import TABLES
from sustain.scenario.writers import write
from sustain.units import format_number
from tests.conftest import TINY

BASE = sustain.load(TINY)
BASE_ROWS = BASE.rows()
LOCATED = re.compile(r"^(?P<file>[^:\[\]]+?(\[[a-z_]+\])?)(:(?P<line>\d+))?$")

FIGURES = st.sampled_from(
    [
        "-5 t/day",
        "1e400 t",
        "nan rounds",
        "3 furlongs",
        "12",
        "0",
        "",
        " ",
        "2 weeks",
        "%",
        "1,000,000 rounds/month",
        "7 rounds/",
        "/day",
        "1/0",
        "2023-02-30",
        "high",
        "∞",
        "\x00",
    ]
)
CELLS = st.one_of(
    FIGURES,
    st.text(max_size=20),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["hub", "front", "factory", "shell-155", "USA", "high", "low", "sea"]),
)
SETTINGS = settings(
    max_examples=settings().max_examples if settings().max_examples > 100 else 150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_clean(path: Path, files: set[str]) -> None:
    """Loading either succeeds or raises ScenarioError whose problems are all located."""
    try:
        sustain.load(path)
    except sustain.ScenarioError as exc:
        assert exc.problems
        for problem in exc.problems:
            match = LOCATED.match(problem.where)
            assert match, problem
            assert match.group("file").split("[")[0] in files, problem
            assert problem.message and "\n" not in problem.message, problem


@SETTINGS
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(sorted(TABLES)), st.integers(0, 6), st.text(max_size=12), CELLS),
        min_size=1,
        max_size=6,
    ),
    column_pick=st.integers(0, 100),
)
def test_random_cells_give_only_located_problems(
    edits: list[tuple[str, int, str, str]], column_pick: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        write(BASE_ROWS, folder, "csv")
        for table, row, new_column, value in edits:
            path = folder / f"{table}.csv"
            with path.open(newline="") as handle:
                rows = list(csv.reader(handle))
            header = rows[0]
            column = ([*header, new_column])[column_pick % (len(header) + 1)]
            if column not in header:
                header.append(column)
                for r in rows[1:]:
                    r.append("")
            while len(rows) <= row + 1:
                rows.append([""] * len(header))
            rows[row + 1][header.index(column)] = value
            with path.open("w", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerows(rows)
        assert_clean(folder, {p.name for p in folder.iterdir()})


YAML_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10), st.dates()
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["id", "from", "to", "capacity", "name", "x"]), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


@SETTINGS
@given(
    document=st.dictionaries(
        st.sampled_from([*TABLES, "lane", "other"]),
        st.one_of(YAML_VALUES, st.lists(st.dictionaries(st.text(max_size=8), YAML_VALUES))),
        max_size=6,
    ),
    base=st.booleans(),
)
def test_random_yaml_documents_give_only_located_problems(
    document: dict[str, Any], base: bool
) -> None:
    merged: dict[str, Any] = dict(yaml.safe_load(TINY.read_text())) if base else {}
    merged.update(document)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.yaml"
        path.write_text(yaml.safe_dump(merged, allow_unicode=True))
        assert_clean(path, {"random.yaml"})


@SETTINGS
@given(content=st.binary(max_size=300), table=st.sampled_from(sorted(TABLES)))
def test_random_bytes_in_a_table_give_only_located_problems(content: bytes, table: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        write(BASE_ROWS, folder, "csv")
        (folder / f"{table}.csv").write_bytes(content)
        assert_clean(folder, {p.name for p in folder.iterdir()})


@SETTINGS
@given(content=st.text(max_size=300))
def test_random_yaml_text_gives_only_located_problems(content: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.yaml"
        path.write_text(content)
        assert_clean(path, {"random.yaml"})


POSITIVE = st.floats(min_value=1e-9, max_value=1e12, allow_nan=False, allow_infinity=False)


# Within the documented bounds (README, "Limits"): lanes up to 1e9 t/day, durations up to a
# century.
CAPACITY = st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False)
HOURS = st.floats(min_value=1e-9, max_value=36_525 * 24, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(capacity=CAPACITY, transit=HOURS, stock=POSITIVE, rate=POSITIVE, lat=st.floats(-90, 90))
def test_arbitrary_figures_round_trip_exactly(
    capacity: float, transit: float, stock: float, rate: float, lat: float
) -> None:
    document = yaml.safe_load(TINY.read_text())
    document["lanes"][0]["capacity"] = f"{format_number(capacity)} t/day"
    document["lanes"][0]["transit_time"] = f"{format_number(transit)} hours"
    document["stocks"][0]["quantity"] = f"{format_number(stock)} rounds"
    document["production_lines"][0]["capacity"] = f"{format_number(rate)} rounds/week"
    document["sites"][0]["lat"] = lat
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.yaml"
        source.write_text(yaml.safe_dump(document))
        try:
            original = sustain.load(source)
        except sustain.ScenarioError as exc:  # only the horizon check may object
            assert all("outside the horizon" in p.message for p in exc.problems), exc
            return
        for fmt, name in (("csv", "c"), ("xlsx", "x.xlsx"), ("yaml", "y.yaml")):
            out = Path(tmp) / name
            write(original.rows(), out, fmt)
            assert sustain.load(out) == original, fmt

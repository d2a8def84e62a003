"""Fuzzing: real scenarios mutated the way users and attackers do (extreme numbers, odd units
and dates, dangling references, zero-transit cycles, deleted columns and rows, duplicated
ids, control characters), loaded, and, every one that validates, planned, simulated and
knocked out; and tiny's CSV folder mutated as bytes, loaded. Any exception but a located
refusal fails the case; so does a case that runs longer than a minute.

A few hundred cases of each run in CI; `make fuzz` runs 10,000 of each, the long campaign
(docs/robustness.md records its last run).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sustain
from sustain.network import compile_network
from sustain.plan import ModelTooLargeError, PlanOptions
from sustain.plan import plan as make_plan
from sustain.resilience import ResilienceOptions, resilience
from sustain.simulate import simulate
from tests.conftest import ROOT, TINY

CASES = int(os.environ.get("SUSTAIN_FUZZ_CASES", "300"))
SECONDS_PER_CASE = 60
BASES = {
    "tiny": yaml.safe_load(TINY.read_text()),
    "grid": yaml.safe_load((ROOT / "examples" / "grid-equipment.yaml").read_text()),
}

NUMBERS = ["0", "-1", "-5 t/day", "1e308", "1e-308", "nan", "inf", "-inf", "9" * 400, "1e15",
           "100000000000000000000000000000", "1e9 days", "1e308 years", "0 days"]  # fmt: skip
UNITS = ["14 dB/day", "3000 octave/day", "1 neper/day", "5 degC", "5 t**(9**9**9)/day",
         "3 parsec/day", "1 m**2/day", "7 rounds/fortnight", "12 kg", "1e9 t/day",
         "5 %/day", "1e200 %/day", "1 hour", "2 months"]  # fmt: skip
DATES = ["9999-12-31", "0001-01-01", "2023-02-30", "1899-12-31", "2201-01-01", "yesterday",
         dt.date(2023, 1, 9), dt.date(2100, 1, 1)]  # fmt: skip
TEXTS = ["", " ", "nope", "=cmd|' /C calc'!A0", "@SUM(1)", "[/x]", ":x:", "a\x00b", "\x1b[31m",
         "é" * 300, "x" * 10_000, "-", ";", "a;;b"]  # fmt: skip
ODD = [None, [], {}, [1, 2], {"a": 1}, True, 3, 2.5, -7]
VALUES = st.sampled_from(NUMBERS + UNITS + DATES + TEXTS + ODD)
MUTATIONS = ["value", "value", "value", "reference", "drop-field", "drop-row", "duplicate-row",
             "drop-table", "cycle", "scenario"]  # fmt: skip


def _tables(data: dict[str, Any]) -> list[str]:
    return [name for name, rows in data.items() if isinstance(rows, list) and rows]


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A base scenario with one to three changes."""
    data = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(MUTATIONS))
        tables = _tables(data)
        table = draw(st.sampled_from(tables))
        rows = data[table]
        row = rows[draw(st.integers(0, len(rows) - 1))]
        if not isinstance(row, dict):
            continue
        field = draw(st.sampled_from(sorted(row))) if row else "id"
        if kind == "value":
            row[field] = draw(VALUES)
        elif kind == "reference":  # a name that points nowhere, or at another table's row
            other = data[draw(st.sampled_from(tables))][0]
            row[field] = other.get("id", "nope") if isinstance(other, dict) else "nope"
        elif kind == "drop-field":
            row.pop(field, None)
        elif kind == "drop-row":
            rows.remove(row)
        elif kind == "duplicate-row":
            rows.append(copy.deepcopy(row))
        elif kind == "drop-table":
            data.pop(table)
        elif kind == "cycle" and data.get("lanes"):
            # Every lane doubled backwards with no transit time: cycles through every site.
            for lane in list(data["lanes"]):
                if isinstance(lane, dict):  # a lane an earlier mutation left without an id too
                    back = dict(lane, id=f"{lane.get('id')}-back", transit_time="0 days")
                    back["from"], back["to"] = lane.get("to"), lane.get("from")
                    data["lanes"].append(back)
        elif kind == "scenario":
            header = data.get("scenario")
            if isinstance(header, dict):
                header[draw(st.sampled_from(["horizon", "period", "start", "name"]))] = draw(VALUES)
    return data


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail a case that runs too long (a hang) instead of waiting for it."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_case(data: dict[str, Any], folder: Path, engines: bool) -> str:
    """Load a mutated scenario and run the engines on it: 'refused', 'loaded' or 'ran'."""
    case = folder / "case.yaml"
    try:
        case.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    except (UnicodeEncodeError, yaml.YAMLError):
        return "refused"  # not a file anyone could write
    try:
        scenario = sustain.load(case)
    except sustain.ScenarioError as exc:
        assert exc.problems, "a refusal names at least one problem"
        for problem in exc.problems:
            assert problem.where and problem.message, problem
            assert "Traceback" not in problem.message
        return "refused"
    network = compile_network(scenario)
    if not engines:
        return "loaded"
    try:
        make_plan(network, PlanOptions(time_limit=SECONDS_PER_CASE / 2))
    except ModelTooLargeError:
        return "refused"  # a clean refusal, with what makes the model smaller
    simulate(network, 3, seed=0, workers=1)
    resilience(network, ResilienceOptions(mitigate=False), executor="serial")
    return "ran"


@settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated())
def test_mutated_scenarios_are_refused_with_locations_or_run(
    data: dict[str, Any], tmp_path: Path
) -> None:
    with deadline(SECONDS_PER_CASE):
        event(run_case(data, tmp_path, engines=True))


def test_the_mutations_reach_every_outcome(tmp_path: Path) -> None:
    """The fuzzer is not refusing everything: known mutations load and run."""
    data = copy.deepcopy(BASES["tiny"])
    data["lanes"][0]["source"] = "=cmd|' /C calc'!A0"
    assert run_case(data, tmp_path, engines=True) == "ran"
    data["lanes"][1]["transit_time"] = "1e308 days"
    assert run_case(data, tmp_path, engines=False) == "refused"


@pytest.mark.parametrize("base", sorted(BASES))
def test_zero_transit_cycles_through_every_site_plan_and_simulate(
    base: str, tmp_path: Path
) -> None:
    data = copy.deepcopy(BASES[base])
    for lane in list(data["lanes"]):
        back = dict(lane, id=f"{lane['id']}-back", transit_time="0 days")
        back["from"], back["to"] = lane["to"], lane["from"]
        data["lanes"].append(back)
        lane["transit_time"] = "0 days"
    with deadline(SECONDS_PER_CASE):
        assert run_case(data, tmp_path, engines=True) == "ran"


CSV_TABLES = ["lanes", "sites", "stocks", "items", "holdings", "scenario"]
CSV_JUNK = ["\x00", "\r", '"', '""', ",", "\ufeff", "\x1a", "é", "#", "\n\n", ";", "'="]


@st.composite
def mutated_csv(draw: st.DrawFn) -> tuple[str, bytes]:
    """One file of tiny's CSV folder with text inserted, a line deleted or doubled, a column
    doubled, or the file cut short."""
    table = draw(st.sampled_from(CSV_TABLES))
    text = CSV_FOLDER[table]
    kind = draw(st.sampled_from(["insert", "drop-line", "double-line", "double-column", "cut"]))
    lines = text.splitlines(keepends=True)
    if kind == "insert":
        at = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from(CSV_JUNK) | st.text(max_size=5))
        text = text[:at] + junk + text[at:]
    elif kind == "drop-line" and lines:
        lines.pop(draw(st.integers(0, len(lines) - 1)))
        text = "".join(lines)
    elif kind == "double-line" and lines:
        k = draw(st.integers(0, len(lines) - 1))
        text = "".join([*lines[: k + 1], lines[k], *lines[k + 1 :]])
    elif kind == "double-column" and lines:
        first = lines[0].rstrip("\n").split(",")
        lines[0] = ",".join([*first, first[draw(st.integers(0, len(first) - 1))]]) + "\n"
        text = "".join(lines)
    else:
        text = text[: draw(st.integers(0, len(text)))]
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    return table, text.encode(encoding, errors="replace")


def _csv_folder() -> dict[str, str]:
    import tempfile

    from sustain.scenario.writers import write

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "tiny"
        write(sustain.load(TINY).rows(), folder, "csv")
        return {p.stem: p.read_text() for p in folder.glob("*.csv")}


CSV_FOLDER = _csv_folder()


@settings(max_examples=CASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=mutated_csv())
def test_mutated_csv_folders_are_refused_with_locations_or_load(
    change: tuple[str, bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("csv")
    for table, text in CSV_FOLDER.items():
        (folder / f"{table}.csv").write_text(text)
    table, data = change
    (folder / f"{table}.csv").write_bytes(data)
    with deadline(SECONDS_PER_CASE):
        try:
            compile_network(sustain.load(folder))
            event("loaded")
        except sustain.ScenarioError as exc:
            assert all(p.where and p.message for p in exc.problems)
            event("refused")

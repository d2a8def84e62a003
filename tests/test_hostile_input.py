"""Bad or hostile input gets a located message, never a traceback, a hang or the machine's
memory: each case is a one-field change of tests/fixtures/tiny.yaml (or a crafted file) that
once gave a traceback or ran until killed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import sustain
from tests.conftest import TINY, problems_of

# (what is replaced, by what, a fragment of the one message expected)
MUTATIONS = {
    "a horizon of 1e9 days": (
        "horizon: 4 weeks",
        "horizon: 1e9 days",
        'horizon: "1e9 days" is more than 100 years',
    ),
    "a horizon of 1e308 years": (
        "horizon: 4 weeks",
        "horizon: 1e308 years",
        'horizon: "1e308 years" is more than 100 years',
    ),
    "a logarithmic unit": (
        "capacity: 1000 t/day",
        "capacity: 14 dB/day",
        '"dB/day" holds a logarithmic or offset unit',
    ),
    "octaves": (
        "capacity: 1000 t/day",
        "capacity: 3000 octave/day",
        '"octave/day" holds a logarithmic or offset unit',
    ),
    "nepers": (
        "capacity: 1000 t/day",
        "capacity: 1 neper/day",
        '"neper/day" holds a logarithmic or offset unit',
    ),
    "a power pint would take forever to evaluate": (
        "capacity: 1000 t/day",
        "capacity: 5 t**(9**9**9)/day",
        'unknown unit "t**(9**9**9)/day"',
    ),
    "an integer too large for a float": (
        "quantity: 500 m3",
        "quantity: " + "9" * 400,
        "(400 digits)",
    ),
    "1e29 of an item": (
        "quantity: 500 m3",
        "quantity: 100000000000000000000000000000 m3",
        "is more than 1e15, the most Sustain accepts here",
    ),
    "the last day of the calendar": (
        "start: 2023-01-02",
        "start: 9999-12-31",
        '"9999-12-31" is not between 1900-01-01 and 2200-12-31',
    ),
    "a transit time of 1e308 days": (
        "transit_time: 14 days",
        "transit_time: 1e308 days",
        'transit_time: "1e308 days" is more than 100 years',
    ),
    "a priority of inf": ("priority: 2", "priority: inf", 'priority: "inf" is not a finite number'),
    "a priority of nan": ("priority: 2", "priority: nan", 'priority: "nan" is not a finite number'),
    "a breakdown rate of 1e200 %/day": (
        "{id: m109, standard: nato, families",
        "{id: m109, standard: nato, breakdown_rate: 1e200 %/day, families",
        '"1e200 %/day" is more than 100 %/day',
    ),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_extreme_figures_are_refused_where_they_are_written(name: str, tmp_path: Path) -> None:
    old, new, expected = MUTATIONS[name]
    text = TINY.read_text()
    assert old in text
    case = tmp_path / "case.yaml"
    case.write_text(text.replace(old, new, 1))
    line = next(i for i, row in enumerate(case.read_text().splitlines(), 1) if new in row)
    started = time.perf_counter()
    problems = problems_of(case)
    assert time.perf_counter() - started < 1.0
    assert any(p.startswith(f"case.yaml:{line} ") and expected in p for p in problems), problems


def test_the_command_line_refuses_them_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    text = TINY.read_text()
    for number, (old, new, expected) in enumerate(list(MUTATIONS.values())[::3]):
        case = tmp_path / f"case-{number}.yaml"
        case.write_text(text.replace(old, new, 1))
        done = subprocess.run(
            [sys.executable, "-m", "sustain", "validate", str(case)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, (new, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and expected in " ".join(done.stderr.split())


def test_figures_at_the_bounds_still_load(tmp_path: Path) -> None:
    text = TINY.read_text().replace("capacity: 1000 t/day", "capacity: 1e9 t/day")
    text = text.replace("transit_time: 14 days", "transit_time: 100 years")
    case = tmp_path / "case.yaml"
    case.write_text(text)
    scenario = sustain.load(case)
    assert scenario.lanes[0].capacity == 1e9

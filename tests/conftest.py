from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

import sustain
from sustain.scenario.writers import write

# CI runs the same examples every time (a red build must be reproducible); locally they vary.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("thorough", max_examples=3000, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "tiny.yaml"
EXAMPLES = [ROOT / "examples" / "race-for-logistics", ROOT / "examples" / "grid-equipment.yaml"]


@pytest.fixture(scope="session")
def tiny() -> sustain.Scenario:
    return sustain.load(TINY)


def tiny_folder(tmp_path: Path, scenario: sustain.Scenario) -> Path:
    """The tiny scenario written as a CSV folder under tmp_path."""
    folder = tmp_path / "tiny"
    write(scenario.rows(), folder, "csv")
    return folder


def edit_csv(folder: Path, edits: Iterable[Mapping[str, object]]) -> None:
    """Set cells of a CSV folder: table, data row (from 0), column (added if new), value."""
    for edit in edits:
        path = folder / f"{edit['table']}.csv"
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        column = str(edit["column"])
        if column not in rows[0]:
            rows[0].append(column)
            for row in rows[1:]:
                row.append("")
        rows[int(str(edit["row"])) + 1][rows[0].index(column)] = str(edit["value"])
        with path.open("w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)


def problems_of(path: Path) -> list[str]:
    """The problems loading `path` reports, as text (fails if it loads)."""
    with pytest.raises(sustain.ScenarioError) as caught:
        sustain.load(path)
    return [str(p) for p in caught.value.problems]

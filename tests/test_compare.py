"""`sustain compare`: two run folders side by side, through the real command line."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sustain.compare import compare
from sustain.results import Run, read_run
from tests.conftest import TINY

SUSTAIN = [sys.executable, "-m", "sustain"]


def _sustain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SUSTAIN, *args], capture_output=True, text=True, timeout=600)


def _json(*args: str) -> dict[str, Any]:
    done = _sustain(*args, "--json")
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Plan A of tiny; plan B with 2,000 more 155 mm rounds held at the hub from the start."""
    folder = tmp_path_factory.mktemp("compare")
    more = TINY.read_text().replace(
        "stocks:\n",
        "stocks:\n  - {site: hub, item: shell-155, quantity: 2000 rounds}\n",
    )
    (folder / "more.yaml").write_text(more)
    for name, scenario in (("a", TINY), ("b", folder / "more.yaml")):
        done = _sustain("plan", str(scenario), "--out", str(folder / name))
        assert done.returncode == 0, done.stderr
    return folder / "a", folder / "b"


def test_two_plans_side_by_side(plans: tuple[Path, Path]) -> None:
    a, b = plans
    document = _json("compare", str(a), str(b))
    figures = {row["figure"]: row for row in document["rows"]["figures"]}
    plan_a = pd.read_parquet(a / "shortfall.parquet")
    plan_b = pd.read_parquet(b / "shortfall.parquet")
    weighted = figures["weighted_shortfall"]
    assert weighted["a"] == pytest.approx(plan_a["weighted_shortfall"].sum())
    assert weighted["b"] == pytest.approx(plan_b["weighted_shortfall"].sum())
    # More supply never makes the optimal plan's first objective worse.
    assert weighted["difference"] == pytest.approx(weighted["b"] - weighted["a"])
    assert weighted["difference"] < 0
    shortfall = pd.DataFrame(document["rows"]["shortfall"]).set_index(["formation", "family"])
    by_family_a = plan_a.groupby(["formation", "family"])["shortfall"].sum()
    by_family_b = plan_b.groupby(["formation", "family"])["shortfall"].sum()
    pd.testing.assert_series_equal(
        shortfall["difference"].sort_index(),
        (by_family_b - by_family_a).sort_index(),
        check_names=False,
    )
    # Only the 155 mm shortfall changes; it leads the table (largest change first).
    assert shortfall.index[0] == ("bde-1", "155mm-NATO")
    assert shortfall["difference"].iloc[0] < 0
    assert document["notes"]["scenarios"].startswith("the runs are of different scenarios")


def test_a_run_compared_with_itself_differs_in_nothing(plans: tuple[Path, Path]) -> None:
    a, _ = plans
    document = _json("compare", str(a), str(a))
    for table in ("figures", "shortfall", "bottlenecks"):
        assert all(row["difference"] == 0 for row in document["rows"][table]), table
    assert "scenarios" not in document["notes"]
    shown = _sustain("compare", str(a), str(a))
    assert shown.returncode == 0 and "headline figures" in shown.stdout


def test_runs_of_different_engines_are_refused(plans: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = plans
    done = _sustain("resilience", str(TINY), "--executor", "serial", "--out", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    refused = _sustain("compare", str(a), str(tmp_path / "r"))
    assert refused.returncode == 2
    assert "cannot compare a plan run with a resilience run" in refused.stderr
    assert "Traceback" not in refused.stderr
    missing = _sustain("compare", str(a), str(tmp_path / "nothing"), "--json")
    assert missing.returncode == 2 and "not a folder" in json.loads(missing.stdout)["error"]


def test_a_row_in_one_run_only_is_marked_and_units_must_agree(plans: tuple[Path, Path]) -> None:
    a = read_run(plans[0])
    table = a["shortfall_by_formation"]
    first = table.iloc[0]
    fewer = _with_table(a, "shortfall_by_formation", table.iloc[1:])
    compared = compare(a, fewer)["shortfall"].set_index(["formation", "family"])
    gone = compared.loc[(first["formation"], first["family"])]
    # The pair has no demand in B: nothing short there, and the row says it is A's only.
    assert gone["in_runs"] == "a" and gone["shortfall_b"] == 0.0
    assert gone["shortfall_a"] == pytest.approx(first["shortfall"])
    assert (compared.drop(index=[(first["formation"], first["family"])])["in_runs"] == "both").all()
    recounted = table.assign(unit=["kg"] * len(table))
    with pytest.raises(
        ValueError, match=r"counted in .* in run A and in kg in run B: their shortfalls"
    ):
        compare(a, _with_table(a, "shortfall_by_formation", recounted))
    binding = pd.DataFrame(
        {
            "kind": ["lane"],
            "name": ["rail lane rail"],
            "unit": ["t/day"],
            "value_per_unit": [2.0],
            "binding_periods": [3.0],
            "family": ["152mm-Soviet"],
            "family_unit": ["round"],
            "equivalent": [1.0],
        }
    )
    per_kit = binding.assign(unit=["kit"], value_per_unit=[2000.0])
    with pytest.raises(ValueError, match=r"in t/day in run A and in kit in run B: their values"):
        compare(_with_table(a, "bottlenecks", binding), _with_table(a, "bottlenecks", per_kit))
    twice = pd.concat([table, table.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match=r"run B has .* twice"):
        compare(a, _with_table(a, "shortfall_by_formation", twice))


def _with_table(run: Run, name: str, table: pd.DataFrame) -> Run:
    return dataclasses.replace(run, tables={**run.tables, name: table.reset_index(drop=True)})


def test_runs_of_different_horizons_are_said_to_differ(plans: tuple[Path, Path]) -> None:
    a = read_run(plans[0])
    longer = dataclasses.replace(a, scenario={**a.scenario, "days": 42, "periods": 6})
    notes = compare(a, longer).notes
    assert notes["horizons"].startswith("the runs cover different horizons (A 28 days from")
    assert "horizons" not in compare(a, a).notes

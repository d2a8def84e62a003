"""Runs and their table specs: every table each engine returns matches its spec (columns,
types, a unique key, a dated time axis), every spec is made by some engine, a run written in
each format reads back exactly, and the docs are generated from the specs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sustain
from sustain import service
from sustain.results import Run, RunReadError, read_run, records, spec, specs, write_run
from sustain.results.docs import markdown
from sustain.scenario.writers import write
from sustain.simulate import SimulationOptions
from sustain.simulate.optimise import SearchOptions
from tests.conftest import EXAMPLES, ROOT, TINY


def _runs(path: Path) -> list[Run]:
    """Every engine on a scenario, and the comparisons of the runs that compare."""
    scenario = sustain.load(path)
    made = [
        service.info_run(scenario, source=path),
        service.plan_run(scenario, source=path),
        service.industry_run(scenario, source=path),
        service.simulate_run(scenario, replications=8, source=path),
        service.resilience_run(scenario, executor="serial", source=path),
        service.policy_run(
            scenario,
            options=SimulationOptions(shortage_cost=100.0),
            search=SearchOptions(replications=4, evaluation_replications=4, max_evaluations=6),
            source=path,
        ),
    ]
    compared = [run for run in made if run.engine in ("plan", "simulate", "resilience")]
    return made + [service.compare_run(run, run) for run in compared]


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    """Every engine on tiny and on grid-equipment (which has a repair loop and fleets)."""
    return _runs(TINY) + _runs(EXAMPLES[1])


def test_every_table_matches_its_spec(runs: list[Run]) -> None:
    for run in runs:
        for name, table in run.tables.items():
            table_spec = run.spec(name)
            assert list(table.columns) == table_spec.column_names, table_spec.name
            for column in table_spec.columns:
                assert str(table[column.name].dtype) == column.dtype, (table_spec.name, column)
                if not column.nullable:
                    assert table[column.name].notna().all(), (table_spec.name, column.name)
            # The key says what a row is: no two rows share it.
            assert not table.duplicated(list(table_spec.key)).any(), table_spec.name
            # A table over time carries its dates, not only period or day numbers.
            if {"period", "day"} & set(table.columns):
                assert table_spec.time == "date", table_spec.name


def test_every_spec_is_a_table_an_engine_makes() -> None:
    """No spec describes a table nothing makes (the example has investments, which add
    plan.investments with --investments and industry.investments)."""
    made = {f"{run.engine}.{name}" for run in _runs_names() for name in run.tables}
    assert made == set(specs())


def _runs_names() -> list[Run]:
    cheap = _runs(TINY)
    scenario = sustain.load(EXAMPLES[0])
    from sustain.plan import PlanOptions

    network = sustain.compile_network(scenario)
    # The example has investment options: plan.investments (as decisions), industry.investments.
    invested = service.plan_run(
        scenario, PlanOptions(investments="relax", check=False), network=network
    )
    return [*cheap, invested, service.industry_run(scenario)]


@pytest.mark.parametrize("fmt", ["parquet", "json", "csv"])
def test_a_run_written_reads_back_exactly(runs: list[Run], fmt: str, tmp_path: Path) -> None:
    for k, run in enumerate(runs):
        out = tmp_path / f"run-{k}"
        write_run(run, out, formats=(fmt,))
        back = read_run(out)
        assert back.metadata() == run.metadata()
        for name, table in run.tables.items():
            pd.testing.assert_frame_equal(back.tables[name], table, check_exact=True)


def test_text_a_spreadsheet_would_run_is_marked_in_csv_and_read_back(tmp_path: Path) -> None:
    names = ["=HYPERLINK(1)", "+cmd", "'quoted", "-80.5", "plain", "#hash", ""]
    table = pd.DataFrame({"kind": names, "nation": names, "sites": range(len(names))})
    run = Run(engine="info", scenario={"name": "t"}, options={}, tables={"sites_by_kind": table})
    write_run(run, tmp_path / "out", formats=("csv",))
    cells = (tmp_path / "out" / "sites_by_kind.csv").read_text().splitlines()[1]
    assert cells.startswith("'=HYPERLINK(1),'=HYPERLINK(1),0")
    back = read_run(tmp_path / "out")["sites_by_kind"]
    assert list(back["kind"]) == names


def test_json_holds_infinities_and_missing_values_apart() -> None:
    table = spec("plan.days_of_supply").conform(
        pd.DataFrame(
            {
                "formation": ["a", "a"],
                "family": ["f", "f"],
                "period": [0, 1],
                "date": pd.to_datetime(["2024-01-01", "2024-01-08"]),
                "stock": [1.0, 0.1 + 0.2],
                "site_daily_demand": [0.0, 1.0],
                "days_of_supply": [np.inf, 0.30000000000000004],
            }
        )
    )
    rows = records(table)
    assert rows[0]["days_of_supply"] == "inf" and rows[0]["date"] == "2024-01-01"
    assert rows[1]["stock"] == 0.1 + 0.2  # exact, not rounded to 15 digits
    json.dumps(rows, allow_nan=False)


def test_a_table_off_its_spec_is_refused_by_name() -> None:
    good = {"mode": ["rail"], "lanes": [1], "capacity_t_per_day": [1.0], "mean_transit_days": [2]}
    Run(engine="info", scenario={}, options={}, tables={"lanes_by_mode": pd.DataFrame(good)})
    with pytest.raises(ValueError, match=r"info.lanes_by_mode: columns \['lanes'\] missing"):
        bad = pd.DataFrame({k: v for k, v in good.items() if k != "lanes"})
        Run(engine="info", scenario={}, options={}, tables={"lanes_by_mode": bad})
    with pytest.raises(ValueError, match="lanes: 1 missing values"):
        gap = pd.DataFrame({**good, "lanes": [None]})
        Run(engine="info", scenario={}, options={}, tables={"lanes_by_mode": gap})
    with pytest.raises(KeyError, match=r"no table spec named 'info\.nothing'"):
        Run(engine="info", scenario={}, options={}, tables={"nothing": pd.DataFrame()})


def test_folders_that_are_not_runs_are_refused_with_the_file(tmp_path: Path) -> None:
    with pytest.raises(RunReadError, match="not a folder"):
        read_run(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunReadError, match=r"no run\.json"):
        read_run(tmp_path / "empty")
    run = service.info_run(sustain.load(TINY))
    write_run(run, tmp_path / "run", formats=("csv",))
    lanes = tmp_path / "run" / "lanes_by_mode.csv"
    lanes.write_text(lanes.read_text().replace("100.0", "lots"))
    with pytest.raises(RunReadError, match=r"lanes_by_mode.csv: .*lots"):
        read_run(tmp_path / "run")
    (tmp_path / "run" / "lanes_by_mode.csv").unlink()
    with pytest.raises(RunReadError, match=r"no lanes_by_mode\.parquet, lanes_by_mode\.json or"):
        read_run(tmp_path / "run")
    (tmp_path / "run" / "run.json").write_text("{not json")
    with pytest.raises(RunReadError, match=r"run\.json: not a run's manifest"):
        read_run(tmp_path / "run")


def test_simulating_a_folder_that_is_not_a_plan_exits_2(tmp_path: Path) -> None:
    sustain_cli = [sys.executable, "-m", "sustain"]
    made = subprocess.run(
        [*sustain_cli, "info", str(TINY), "--out", str(tmp_path / "info")], capture_output=True
    )
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        [*sustain_cli, "simulate", str(TINY), "--plan", str(tmp_path / "info"), "--json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "holds a run of sustain info, not a plan" in json.loads(done.stdout)["error"]


def test_the_digest_is_the_scenarios_not_its_files(tmp_path: Path) -> None:
    """The same scenario as YAML, a CSV folder and a workbook has one digest; a change of
    one figure changes it."""
    scenario = sustain.load(TINY)
    digests = {service.digest(scenario)}
    for fmt, name in (("csv", "tiny"), ("xlsx", "tiny.xlsx"), ("yaml", "tiny.yaml")):
        write(scenario.rows(), tmp_path / name, fmt)
        digests.add(service.digest(sustain.load(tmp_path / name)))
    assert len(digests) == 1
    changed = (tmp_path / "tiny.yaml").read_text().replace("2023-01-02", "2023-01-03", 1)
    (tmp_path / "changed.yaml").write_text(changed)
    assert service.digest(sustain.load(tmp_path / "changed.yaml")) not in digests


def test_a_plan_of_another_scenario_version_is_said(tmp_path: Path) -> None:
    scenario = sustain.load(TINY)
    made = service.plan_run(scenario)
    other = dict(made.scenario, digest="0" * 64)
    stale = Run(**{**_fields(made), "scenario": other})
    simulated = service.simulate_run(scenario, replications=2, plan=stale)
    assert "another version of the scenario" in simulated.notes["plan"]
    fresh = service.simulate_run(scenario, replications=2, plan=made)
    assert "plan" not in fresh.notes


def _fields(run: Run) -> dict[str, object]:
    names = ("engine", "scenario", "options", "tables", "seed", "figures", "counts")
    return {name: getattr(run, name) for name in names}


def test_the_table_docs_are_generated_from_the_specs() -> None:
    written = (ROOT / "docs" / "tables.md").read_text()
    assert written == markdown(), "run: python -m sustain.results.docs"

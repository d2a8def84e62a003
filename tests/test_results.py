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
import yaml

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


@pytest.mark.parametrize("drop", [("orders",), ("orders", "production_lines", "capacity_changes")])
def test_industry_of_a_scenario_without_orders_or_lines_is_a_run(
    drop: tuple[str, ...], tmp_path: Path
) -> None:
    """A scenario with no order book (or no line at all) has empty industry tables, each
    still with its spec's columns, through the real command line."""
    document = yaml.safe_load(TINY.read_text())
    for table in drop:
        document.pop(table)
    path = tmp_path / "bare.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "sustain", "industry", str(path), "--json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    run = service.industry_run(sustain.load(path))
    assert run["orders"].empty and list(run["orders"]) == spec("industry.orders").column_names


def _lanes(**changed: object) -> pd.DataFrame:
    good: dict[str, object] = {
        "mode": ["rail", "sea"],
        "lanes": [1, 2],
        "capacity_t_per_day": [1.0, 2.5],
        "mean_transit_days": [2.0, 14.0],
    }
    return pd.DataFrame({**good, **changed})


def test_conform_takes_rows_by_position_whatever_their_index() -> None:
    lanes_spec = spec("info.lanes_by_mode")
    shuffled = _lanes().set_axis([7, 3])  # as a sorted or filtered frame has
    conformed = lanes_spec.conform(shuffled)
    assert list(conformed["mode"]) == ["rail", "sea"] and list(conformed["lanes"]) == [1, 2]
    assert list(conformed["capacity_t_per_day"]) == [1.0, 2.5]
    # As a Parquet file written elsewhere reads back (dictionary-encoded text, unsigned ints).
    encoded = _lanes(mode=pd.Categorical(["rail", "sea"]), lanes=np.array([1, 2], np.uint64))
    pd.testing.assert_frame_equal(lanes_spec.conform(encoded), lanes_spec.conform(_lanes()))
    empty = lanes_spec.conform(pd.DataFrame())  # "nothing", as pandas writes it
    assert empty.empty and list(empty) == lanes_spec.column_names


@pytest.mark.parametrize(
    ("table", "column", "values", "says"),
    [
        ("info.lanes_by_mode", "lanes", [1.5, 2.0], "not whole numbers"),
        ("info.lanes_by_mode", "lanes", [2.0**70, 1.0], "64-bit"),
        ("info.lanes_by_mode", "lanes", [True, False], "kind boolean"),
        ("info.lanes_by_mode", "lanes", ["1", "2"], "kind string"),
        ("info.lanes_by_mode", "mode", [None, "sea"], "1 missing values"),
        ("info.lanes_by_mode", "mode", [1, 2], "kind integer"),
        ("plan.days_of_supply", "date", [19000, 19001], "kind integer"),
        ("plan.days_of_supply", "date", [pd.NaT, pd.Timestamp("2024-01-08")], "1 missing"),
        ("plan.days_of_supply", "date", pd.to_datetime(["2024-01-01 12:00"] * 2), "time of day"),
        ("resilience.cases", "vulnerable", ["False", "True"], "kind string"),
        ("info.lanes_by_mode", "lanes", np.array([2**63 + 5, 1], dtype=np.uint64), "64-bit"),
        ("plan.days_of_supply", "date", ["01/02/2023", "2023-01-09"], "kind string"),
    ],
)
def test_conform_refuses_values_it_would_have_to_change(
    table: str, column: str, values: list[object], says: str
) -> None:
    """A value of the wrong kind raises: it is not truncated, wrapped, read as a date or
    taken for True."""
    table_spec = spec(table)
    frame = pd.DataFrame(
        {c.name: _valid(c.type, 2) for c in table_spec.columns} | {column: list(values)}
    )
    with pytest.raises(ValueError, match=says):
        table_spec.conform(frame)
    table_spec.conform(frame.assign(**{column: _valid(table_spec.column(column).type, 2)}))


def _valid(kind: str, n: int) -> list[object]:
    return {
        "str": ["a", "b"],
        "int": [1, 2],
        "float": [1.0, 2.0],
        "date": list(pd.to_datetime(["2024-01-01", "2024-01-08"])),
        "bool": [True, False],
    }[kind][:n]


def test_text_with_a_carriage_return_reads_back_from_csv(tmp_path: Path) -> None:
    kinds = ["depot\rnorth", "port\r\nsouth", "plain"]
    table = pd.DataFrame({"kind": kinds, "nation": ["A", "B", "C"], "sites": [1, 2, 3]})
    run = Run(engine="info", scenario={"name": "t"}, options={}, tables={"sites_by_kind": table})
    write_run(run, tmp_path / "out", formats=("csv",))
    back = read_run(tmp_path / "out")["sites_by_kind"]
    assert list(back["kind"]) == kinds and list(back["sites"]) == [1, 2, 3]


def test_a_plan_of_another_time_grid_is_refused(tmp_path: Path) -> None:
    """A plan of daily periods replayed on weekly ones would be read on the wrong days."""
    daily = TINY.read_text().replace("period: week", "period: day")
    (tmp_path / "daily.yaml").write_text(daily)
    plan = service.plan_run(sustain.load(tmp_path / "daily.yaml"))
    with pytest.raises(ValueError, match=r"the plan does not fit this scenario.*period"):
        service.simulate_run(sustain.load(TINY), replications=2, plan=plan)
    # A plan of a shorter horizon would leave the last weeks unplanned.
    longer = TINY.read_text().replace("horizon: 4 weeks", "horizon: 6 weeks")
    (tmp_path / "longer.yaml").write_text(longer)
    short_plan = service.plan_run(sustain.load(TINY))
    longer_scenario = sustain.load(tmp_path / "longer.yaml")
    with pytest.raises(ValueError, match=r"made for 28 days .* this scenario has 42 days"):
        service.simulate_run(longer_scenario, replications=2, plan=short_plan)
    # So is a plan whose lane runs elsewhere here (the tables checked, for runs of old).
    moved = service.plan_run(sustain.load(TINY))
    moved.scenario.pop("periods")
    lane = moved.tables["shipments"].loc[0, "lane"]
    runs_to = moved.tables["shipments"].loc[0, "to"]
    moved.tables["shipments"].loc[0, "to"] = "factory"
    with pytest.raises(
        ValueError, match=rf"lane '{lane}' to 'factory', here it runs to '{runs_to}'"
    ):
        service.simulate_run(sustain.load(TINY), replications=2, plan=moved)
    write_run(plan, tmp_path / "plan")
    done = subprocess.run(
        [sys.executable, "-m", "sustain", "simulate", str(TINY), "--plan", str(tmp_path / "plan")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "does not fit this scenario" in done.stdout + done.stderr


def test_a_manifest_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    run = service.info_run(sustain.load(TINY))
    write_run(run, tmp_path / "run", formats=("json",))
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    for field, value in (("options", [1]), ("figures", "x"), ("summary", 3)):
        (tmp_path / "run" / "run.json").write_text(json.dumps({**manifest, field: value}))
        with pytest.raises(RunReadError, match=f"its {field} is not"):
            read_run(tmp_path / "run")

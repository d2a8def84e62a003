"""The command line: exit codes, JSON output, located errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import sustain
from sustain.cli import app
from tests.conftest import EXAMPLES, TINY, edit_csv, tiny_folder

runner = CliRunner()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "sustain", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate(example: Path) -> None:
    result = runner.invoke(app, ["validate", str(example)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_counts_are_said_in_words() -> None:
    said = run("validate", str(TINY)).stdout
    assert "(3 sites, 2 lanes, 3 items, 1 formation, 4 periods: week)" in said
    shown = " ".join(run("info", str(TINY)).stdout.split())  # as read, whatever the wrapping
    assert "3 families" in shown and "1 production line," in shown and "1 pledge" in shown


def test_bad_scenario_exits_2_with_located_messages_and_no_traceback(
    tmp_path: Path, tiny: sustain.Scenario
) -> None:
    folder = tiny_folder(tmp_path, tiny)
    edit_csv(folder, [{"table": "lanes", "row": 0, "column": "capacity", "value": "-5 t/day"}])
    result = run("validate", str(folder))
    assert result.returncode == 2
    assert 'lanes.csv:2 capacity: "-5 t/day" must be positive' in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_validate_json(tmp_path: Path, tiny: sustain.Scenario) -> None:
    ok = runner.invoke(app, ["validate", str(TINY), "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.output)["summary"]["lanes"] == 2
    folder = tiny_folder(tmp_path, tiny)
    edit_csv(folder, [{"table": "lanes", "row": 1, "column": "to", "value": "frnt"}])
    bad = runner.invoke(app, ["validate", str(folder), "--json"])
    assert bad.exit_code == 2
    document = json.loads(bad.output)
    assert document["ok"] is False
    assert document["problems"] == [
        {
            "where": "lanes.csv:3",
            "field": "to",
            "message": 'unknown site "frnt" (did you mean "front"?)',
        }
    ]


def test_info_tables_and_json() -> None:
    text = runner.invoke(app, ["info", str(EXAMPLES[0])])
    assert text.exit_code == 0
    for title in ("sites by kind and nation", "lanes by mode", "demand by family", "supply"):
        assert title in text.output
    result = runner.invoke(app, ["info", str(TINY), "--json"])
    document = json.loads(result.output)
    demand = {row["family"]: row["demand"] for row in document["rows"]["demand_by_family"]}
    assert demand == pytest.approx({"155mm-NATO": 7000, "152mm-Soviet": 2100, "diesel": 42})
    lanes = {row["mode"]: row["capacity_t_per_day"] for row in document["rows"]["lanes_by_mode"]}
    assert lanes == {"rail": 100, "sea": 1000}
    sites = {(r["kind"], r["nation"]): r["sites"] for r in document["rows"]["sites_by_kind"]}
    assert sites == {("factory", "USA"): 1, ("hub", "POL"): 1, ("front", "UKR"): 1}
    supply = {row["family"]: row for row in document["rows"]["supply_by_family"]}
    assert supply["152mm-Soviet"]["stock_above_floor"] == 4000  # 5000 less the 1000 floor
    assert supply["155mm-NATO"]["pledged"] == 3000


def test_export_and_overwrite_protection(tmp_path: Path) -> None:
    out = tmp_path / "tiny.xlsx"
    first = runner.invoke(app, ["export", str(TINY), "--to", "xlsx", str(out)])
    assert first.exit_code == 0, first.output
    assert sustain.load(out) == sustain.load(TINY)
    before = out.read_bytes()
    again = run("export", str(TINY), "--to", "xlsx", str(out))
    assert again.returncode == 2 and "--force" in again.stderr
    assert out.read_bytes() == before
    forced = runner.invoke(app, ["export", str(TINY), "--to", "csv", str(tmp_path / "c")])
    assert forced.exit_code == 0
    unknown = runner.invoke(app, ["export", str(TINY), "--to", "pdf", str(tmp_path / "p")])
    assert unknown.exit_code == 2
    assert not (tmp_path / "p").exists()
    # A file named for another format would not read back: refused before anything is written.
    for fmt, name in (("xlsx", "x.yaml"), ("yaml", "t.csv"), ("yaml", "t.xlsx")):
        misnamed = run("export", str(TINY), "--to", fmt, str(tmp_path / name))
        assert misnamed.returncode == 2 and "read back from a name ending in" in misnamed.stderr
        assert not (tmp_path / name).exists()


def test_template(tmp_path: Path) -> None:
    result = runner.invoke(app, ["template", str(tmp_path / "t"), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["ok"] is True
    assert (tmp_path / "t" / "scenario.xlsx").is_file()
    assert (tmp_path / "t" / "csv" / "lanes.csv").is_file()


@pytest.mark.parametrize("command", ["validate", "info", "export", "template", "plan", "industry"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--json" in result.output


def test_plan_writes_every_table_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = runner.invoke(app, ["plan", str(TINY), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "largest shortfalls" in result.output
    # On weeks with lags placed late (tests/test_replay.py works the figures by hand).
    assert "bde-1 is short of 155mm-NATO by 4,200 rounds" in result.output
    for table in ("shipments", "inventory", "shortfall", "bottlenecks", "days_of_supply"):
        csv_rows = pd.read_csv(out / f"{table}.csv")
        parquet_rows = pd.read_parquet(out / f"{table}.parquet")
        assert len(csv_rows) == len(parquet_rows)
    shortfall = pd.read_parquet(out / "shortfall.parquet")
    # And the first week's diesel: the hub's, two days away by rail, counts from week 1.
    assert shortfall["shortfall"].sum() == pytest.approx(4200.0 + 7.0)
    again = runner.invoke(app, ["plan", str(TINY), "--out", str(out)])
    assert again.exit_code == 2  # never overwritten without --force


def test_plan_json_and_bad_options() -> None:
    result = runner.invoke(app, ["plan", str(TINY), "--json"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["ok"] is True
    assert document["rows"]["shortfall_by_formation"][0]["formation"] == "bde-1"
    assert document["rows"]["shortfall_by_formation"][0]["first_short"] == "2023-01-02"
    bad = runner.invoke(app, ["plan", str(TINY), "--solver", "magic"])
    assert bad.exit_code == 2


def test_industry_lead_times(tmp_path: Path) -> None:
    result = runner.invoke(app, ["industry", str(EXAMPLES[0]), "--out", str(tmp_path / "i")])
    assert result.exit_code == 0, result.output
    assert "us-155-scranton" in result.output and "28.09" in result.output
    assert "donor stockpiles under the optimal plan" in result.output
    assert "investment options against none" in result.output
    assert "the race: expenditure against production" in result.output
    race = pd.read_parquet(tmp_path / "i" / "race_summary.parquet").set_index("family")
    assert (
        race.loc["155mm-NATO", "expenditure_per_day"] > race.loc["155mm-NATO", "production_per_day"]
    )
    options = pd.read_parquet(tmp_path / "i" / "investments.parquet").set_index("investment")
    # Every option's first lots finish a production time (12 months) after work starts, past
    # the 52-week horizon: within it none can avoid any shortfall.
    assert (options["weighted_shortfall_avoided"].abs() < 1e-6).all()
    piles = pd.read_parquet(tmp_path / "i" / "stockpiles.parquet").set_index(["site", "item"])
    assert piles.loc[("letterkenny-depot", "shell-155-m795"), "final"] >= 200000 - 1e-6
    lead = pd.read_parquet(tmp_path / "i" / "lead_times.parquet")
    assert set(lead["line"]) >= {"us-155-scranton", "bg-152-sopot"}
    document = json.loads(runner.invoke(app, ["industry", str(EXAMPLES[0]), "--json"]).output)
    assert {row["order"] for row in document["rows"]["orders"]} >= {"o-us-1", "o-us-2", "o-us-3"}


def test_plan_with_investment_decisions() -> None:
    result = runner.invoke(
        app, ["plan", str(EXAMPLES[0]), "--investments", "whole", "--budget", "5e8", "--json"]
    )
    assert result.exit_code == 0, result.output
    made = {
        row["investment"]: row["made"] for row in json.loads(result.output)["rows"]["investments"]
    }
    chosen = [name for name, share in made.items() if share > 0.5]
    costs = {"scranton-expansion": 3e8, "unterluss-new-line": 5e8, "sopot-expansion": 1.2e8}
    assert sum(costs[name] for name in chosen) <= 5e8  # within the budget, whole options
    assert all(share in (0.0, 1.0) for share in made.values())
    bad = runner.invoke(app, ["plan", str(TINY), "--investments", "some"])
    assert bad.exit_code == 2


def test_simulate_a_policy_and_a_written_plan(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["simulate", str(TINY), "--replications", "8", "--seed", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    first = json.loads(result.output)["figures"]
    assert first["replications"] == 8 and not first["interrupted"]
    again = runner.invoke(
        app, ["simulate", str(TINY), "--replications", "8", "--seed", "3", "--json"]
    )
    assert json.loads(again.output)["figures"]["weighted_shortfall"] == first["weighted_shortfall"]
    planned = tmp_path / "plan"
    assert runner.invoke(app, ["plan", str(TINY), "--out", str(planned)]).exit_code == 0
    out_dir = tmp_path / "sim"
    executed = runner.invoke(
        app,
        [
            "simulate",
            str(TINY),
            "--plan",
            str(planned),
            "--replications",
            "4",
            "--out",
            str(out_dir),
        ],
    )
    assert executed.exit_code == 0, executed.output
    assert {"shortfall.csv", "stockout.parquet", "days_of_supply.csv", "stock.csv"} <= {
        p.name for p in out_dir.iterdir()
    }
    missing = runner.invoke(app, ["simulate", str(TINY), "--plan", str(tmp_path / "none")])
    assert missing.exit_code == 2
    assert "not a folder" in missing.output


def test_table_cells_never_show_minus_zero() -> None:
    from sustain.render import cell

    assert [cell(v) for v in (-0.0, -8.9e-16, -0.004, -0.01, -150.0, 1234.5)] == [
        "0.00",
        "0.00",
        "0.00",
        "-0.01",
        "-150",
        "1,234",
    ]


def test_plan_simulate_and_resilience_print_one_weighted_shortfall(tmp_path: Path) -> None:
    planned = tmp_path / "plan"
    made = json.loads(
        runner.invoke(app, ["plan", str(TINY), "--json", "--out", str(planned)]).output
    )
    # tiny.yaml: one brigade of priority 2, families of criticality 1.
    units_short = sum(row["shortfall"] for row in made["rows"]["shortfall_by_formation"])
    assert made["figures"]["weighted_shortfall"] == pytest.approx(2 * units_short)
    noise_off = ["--demand-noise", "0", "--surge-probability", "0", "--outage-probability", "0"]
    noise_off += ["--transit-cv", "0", "--yield-cv", "0", "--slip-probability", "0"]
    replay = runner.invoke(
        app,
        [
            "simulate",
            str(TINY),
            "--plan",
            str(planned),
            "--replications",
            "2",
            "--json",
            *noise_off,
        ],
    )
    assert replay.exit_code == 0, replay.output
    replayed = json.loads(replay.output)["figures"]["weighted_shortfall"]
    assert replayed["p50"] == pytest.approx(made["figures"]["weighted_shortfall"], rel=1e-9)
    swept = json.loads(runner.invoke(app, ["resilience", str(TINY), "--json"]).output)
    assert swept["figures"]["base_weighted_shortfall"] == pytest.approx(
        made["figures"]["weighted_shortfall"]
    )


def test_simulate_defaults_are_the_librarys_and_costs_and_demand_are_chosen_here() -> None:
    """`sustain simulate` and `simulate()` answer the same question by default (the
    "theatre" preset); costs and the demand distribution pass through to the replications
    table; bad vocabularies exit 2 with a message. Run as a real process."""
    shell = run("simulate", str(TINY), "--replications", "16", "--seed", "5", "--json")
    assert shell.returncode == 0, shell.stderr
    from_shell = json.loads(shell.stdout)["figures"]["weighted_shortfall"]
    network = sustain.compile_network(sustain.load(TINY))
    library = sustain.simulate.simulate(network, 16, seed=5).weighted_shortfall
    for p in (5, 50, 95):
        assert from_shell[f"p{p}"] == pytest.approx(float(np.percentile(library, p)))

    priced = run(
        "simulate", str(TINY), "--replications", "16", "--uncertainty", "expected-value",
        "--demand", "poisson", "--shortage-cost", "2", "--json",
    )  # fmt: skip
    assert priced.returncode == 0, priced.stderr
    document = json.loads(priced.stdout)
    units_short = sum(row["mean_shortfall"] for row in document["rows"]["shortfall"])
    assert units_short > 0
    assert document["figures"]["costs_eur"]["shortage"] == pytest.approx(2 * units_short)
    # Stock on hand on the last day where sites order, with percentiles, fewest days first.
    stock = document["rows"]["stock_left"]
    assert stock and all(row["p5"] <= row["p50"] <= row["p95"] for row in stock)
    assert {row["site"] for row in stock} == {"front"}  # the factory and hub order nothing
    days = [row["days_served"] for row in stock]
    assert days == sorted(days)
    for bad, message in (
        (["--demand", "gamma"], 'unknown demand "gamma"'),
        (["--uncertainty", "calm"], 'unknown uncertainty preset "calm"'),
        (["--family-shortage-cost", "nope=3"], 'no family "nope"'),
        (["--family-shortage-cost", "155mm"], "write FAMILY=EUR"),
        (["--position", "sideways"], 'unknown position "sideways"'),
    ):
        refused = run("simulate", str(TINY), "--replications", "2", *bad)
        assert refused.returncode == 2, bad
        assert message in refused.stderr and "Traceback" not in refused.stderr, refused.stderr


def test_a_policies_row_for_a_pair_that_does_not_order_is_located(tmp_path: Path) -> None:
    """A level for the factory's own output (a source: it never orders) is refused with the
    file and line of the row, exit 2, no traceback."""
    text = (
        TINY.read_text() + "policies:\n  - {site: factory, item: shell-155, level: 5000 rounds}\n"
    )
    case = tmp_path / "case.yaml"
    case.write_text(text)
    line = text.splitlines().index("  - {site: factory, item: shell-155, level: 5000 rounds}") + 1
    refused = run("simulate", str(case), "--replications", "2")
    assert refused.returncode == 2
    assert f"case.yaml:{line}" in refused.stderr and "does not order" in refused.stderr
    assert "Traceback" not in refused.stderr


JSON_COMMANDS = {
    "validate": [],
    "info": [],
    "plan": [],
    "industry": [],
    "simulate": ["--replications", "4"],
    "policy": ["--shortage-cost", "10", "--replications", "2", "--evaluation-replications", "2"],
    "resilience": [],
}


@pytest.mark.parametrize("command", list(JSON_COMMANDS))
def test_every_json_output_is_json_on_the_real_stdout(command: str) -> None:
    """All of stdout, as a real process writes it (HiGHS's banner goes to the process's file
    descriptor, which an in-process runner never sees)."""
    done = run(command, str(TINY), *JSON_COMMANDS[command], "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True


def test_the_readmes_python_runs_as_written() -> None:
    """Every ```python block of the README, in a fresh interpreter, from the repository root,
    as a user pastes it (nothing imported before it but what it imports)."""
    import re

    from tests.conftest import ROOT

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    for block in blocks:
        done = subprocess.run(
            [sys.executable, "-c", block], cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr


def test_help_is_whole_at_80_columns() -> None:
    """Every command's --help at 80 columns: no option name cut, no line wider."""
    env = {**os.environ, "COLUMNS": "80"}
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    for command, parameters in group.commands.items():
        done = subprocess.run(
            [sys.executable, "-m", "sustain", command, "--help"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert "…" not in done.stdout, command
        assert max(len(line) for line in done.stdout.splitlines()) <= 80, command
        for parameter in parameters.params:
            for name in parameter.opts:
                if name.startswith("--"):
                    assert name in done.stdout, (command, name)


def test_tables_cut_nothing_at_160_columns() -> None:
    """A table wider than the terminal wraps its headers at words and folds its cells: every
    header and every name is shown whole (the example's industry and resilience tables)."""
    import io

    from rich.console import Console

    from sustain.render import show

    long_names = [f"bridge-kremenchuk-dnipro-crossing-{k}" for k in range(3)]
    frame = pd.DataFrame(
        {
            "case": long_names,
            **{f"weighted_shortfall_added_{k}": [1.5, 2.5, 3.5] for k in range(8)},
            "cheapest_mitigation": ["spare-spans-darnytsia-rail-bridge"] * 3,
        }
    )
    buffer = io.StringIO()
    show(Console(file=buffer, width=160), "wide", frame)
    text = buffer.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 160
    body = [line.split("│")[1:-1] for line in text.splitlines() if line.startswith("│")]
    first = "".join(cells[0].strip() for cells in body)
    last = "".join(cells[-1].strip() for cells in body)
    assert first == "".join(long_names)  # each folded over lines, none cut
    assert last == "spare-spans-darnytsia-rail-bridge" * 3

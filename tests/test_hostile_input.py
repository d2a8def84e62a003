"""Bad or hostile input gets a located message, never a traceback, a hang or the machine's
memory: each case is a one-field change of tests/fixtures/tiny.yaml (or a crafted file) that
once gave a traceback or ran until killed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sustain
from tests.conftest import TINY, problems_of

# (what is replaced, by what, a fragment of the one message expected)
# A refusal comes at once; a hang (the defect these guard against) takes minutes. Loose
# enough for a loaded machine: these are not benchmarks.
PROMPT = 5.0  # seconds

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
    "a holding of 400 digits": (
        "{formation: bde-1, system: m109, quantity: 10}",
        "{formation: bde-1, system: m109, quantity: " + "9" * 400 + "}",
        "must be at most 1000000000000000",
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
    assert time.perf_counter() - started < PROMPT
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


# Crafted files: YAML, folders, workbooks.


def test_yaml_nested_thousands_deep_is_refused_fast(tmp_path: Path) -> None:
    case = tmp_path / "deep.yaml"
    case.write_text("scenario: " + "[" * 5000 + "]" * 5000 + "\n")
    started = time.perf_counter()
    (problem,) = problems_of(case)
    assert time.perf_counter() - started < PROMPT
    assert "nested too deep, more than the 40 levels" in problem
    assert "SUSTAIN_MAX_YAML_DEPTH" in problem


def billion_laughs(levels: int) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]\n"
    return text + f"scenario: [{{name: *{chr(ord('a') + levels - 1)}}}]\n"


def test_yaml_alias_expansion_is_counted_not_done(tmp_path: Path) -> None:
    case = tmp_path / "laughs.yaml"
    case.write_text(billion_laughs(12))  # 10^12 values once expanded
    started = time.perf_counter()
    problems = problems_of(case)
    assert time.perf_counter() - started < PROMPT
    assert any("expands its aliases, more than the 5,000,000 values" in p for p in problems)
    # A few aliases, as people use them (a merge key of shared fields), still load.
    text = (
        TINY.read_text()
        .replace("sites:\n", "defaults: &defaults {kind: hub}\nsites:\n")
        .replace("{id: hub, kind: hub,", "{<<: *defaults, id: hub,")
    )
    (tmp_path / "merge.yaml").write_text(text)
    assert any('unknown table "defaults"' in p for p in problems_of(tmp_path / "merge.yaml"))


def test_special_files_and_links_out_of_the_folder_are_not_read(tmp_path: Path) -> None:
    import os

    folder = tmp_path / "scenario"
    folder.mkdir()
    (folder / "sites.csv").symlink_to("/dev/zero")
    os.mkfifo(folder / "lanes.csv")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    (folder / "items.csv").symlink_to(secret)
    (folder / "real.csv").write_text("id\nx\n")
    (folder / "nations.csv").symlink_to(folder / "real.csv")  # inside the folder: read
    started = time.perf_counter()
    problems = problems_of(folder)
    assert time.perf_counter() - started < PROMPT
    assert "items.csv: is a symbolic link to a file outside the scenario folder" in problems
    assert "sites.csv: is a symbolic link to a file outside the scenario folder" in problems
    assert "lanes.csv: is not a regular file (a device, a pipe or a socket)" in problems
    assert not any("root:x" in p for p in problems)
    assert not any(p.startswith("nations.csv") and "symbolic" in p for p in problems)


def test_a_file_over_the_size_limit_names_the_limit_and_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUSTAIN_MAX_FILE_MB", "1")
    case = tmp_path / "big.yaml"
    case.write_text(TINY.read_text() + "#" * (2 * 1024 * 1024) + "\n")
    (problem,) = problems_of(case)
    assert problem == (
        "big.yaml: is 2 MB, more than the 1 MB Sustain reads (raise it with SUSTAIN_MAX_FILE_MB)"
    )
    monkeypatch.setenv("SUSTAIN_MAX_FILE_MB", "3")
    sustain.load(case)  # raised: read
    monkeypatch.setenv("SUSTAIN_MAX_CELLS", "20")
    assert any("more than the 20 values" in p for p in problems_of(case))


def workbook_with(tmp_path: Path, member: str, change: object) -> Path:
    """tiny.xlsx with one member of the zip rewritten by `change(text) -> text`."""
    import zipfile

    from sustain.scenario.writers import write

    book = tmp_path / "tiny.xlsx"
    write(sustain.load(TINY).rows(), book, "xlsx", force=True)
    with zipfile.ZipFile(book) as source:
        contents = {info.filename: source.read(info) for info in source.infolist()}
    name = next(n for n in contents if n.endswith(member))
    contents[name] = change(contents[name].decode()).encode()  # type: ignore[operator]
    crafted = tmp_path / "crafted.xlsx"
    crafted.unlink(missing_ok=True)
    with zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as target:
        for filename, data in contents.items():
            target.writestr(filename, data)
    return crafted


def sheet_of(tmp_path: Path, table: str) -> str:
    """The zip member that holds a table's sheet in tiny.xlsx."""
    import openpyxl

    from sustain.scenario.writers import write

    book = tmp_path / "names.xlsx"
    write(sustain.load(TINY).rows(), book, "xlsx", force=True)
    names = openpyxl.load_workbook(book, read_only=True).sheetnames
    return f"sheet{names.index(table) + 1}.xml"


def test_malformed_and_entity_expanding_workbooks_are_refused(tmp_path: Path) -> None:
    sheet = sheet_of(tmp_path, "lanes")
    broken = workbook_with(tmp_path, sheet, lambda text: text[: len(text) // 2])
    (problem,) = problems_of(broken)
    assert problem.startswith("crafted.xlsx: is not a readable .xlsx workbook")
    entities = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    bomb = workbook_with(
        tmp_path, sheet, lambda text: entities + text.replace("<sheetData>", "<sheetData>&lol2;")
    )
    (problem,) = problems_of(bomb)
    assert problem.startswith("crafted.xlsx: is not a readable .xlsx workbook")


def test_a_workbook_that_inflates_past_the_limit_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUSTAIN_MAX_XLSX_MB", "1")
    sheet = sheet_of(tmp_path, "lanes")
    blanks = " " * (3 * 1024 * 1024)
    padded = workbook_with(
        tmp_path, sheet, lambda text: text.replace("</sheetData>", blanks + "</sheetData>")
    )
    assert padded.stat().st_size < 100_000  # 3 MB of blanks compress to almost nothing
    (problem,) = problems_of(padded)
    assert "more than the 1 MB Sustain reads (raise it with SUSTAIN_MAX_XLSX_MB)" in problem


def test_a_workbook_is_read_past_the_range_its_dimension_tag_declares(tmp_path: Path) -> None:
    import re

    sheet = sheet_of(tmp_path, "lanes")
    declared = '<dimension ref="A1:C2"'
    lied = workbook_with(
        tmp_path, sheet, lambda text: re.sub(r'<dimension ref="[^"]*"', declared, text)
    )
    assert len(sustain.load(lied).lanes) == len(sustain.load(TINY).lanes) == 2


# The command line: names shown as written, options checked, missing extras named.


def sustain_cli(*args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """The console script in a fresh process (C libraries' output included); `prelude` runs
    first, e.g. to make a package look uninstalled."""
    code = f"{prelude}\nimport sys\nfrom sustain.cli import main\nsys.argv[0] = 'sustain'\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300
    )


def test_names_that_look_like_markup_are_shown_as_written(tmp_path: Path) -> None:
    text = TINY.read_text().replace("bde-1", '"[/x]"')
    for old in ("id: front,", "to: front", "site: front"):
        text = text.replace(old, old.replace("front", '":x:[bold]"'))
    case = tmp_path / "markup.yaml"
    case.write_text(text)
    for command in ("plan", "resilience"):
        done = sustain_cli(command, str(case))
        assert done.returncode == 0, done.stderr
        assert "[/x]" in done.stdout and "Traceback" not in done.stderr
    assert ":x:[bold]" in done.stdout  # resilience's cut table names the front
    # In a problem too: the unknown formation is quoted as written.
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        text.replace('{formation: "[/x]", system: m109', '{formation: "[b]", system: m109')
    )
    done = sustain_cli("validate", str(broken))
    assert done.returncode == 2 and '"[b]"' in done.stderr, done.stderr


def test_workbook_locations_keep_their_sheet_in_human_output(tmp_path: Path) -> None:
    import openpyxl

    from sustain.scenario.writers import write

    book = tmp_path / "tiny.xlsx"
    write(sustain.load(TINY).rows(), book, "xlsx")
    workbook = openpyxl.load_workbook(book)
    lanes = workbook["lanes"]
    header = [cell.value for cell in lanes[1]]
    lanes.cell(row=2, column=header.index("capacity") + 1, value="-5 t/day")
    workbook.save(book)
    as_json = json.loads(sustain_cli("validate", str(book), "--json").stdout)
    (problem,) = as_json["problems"]
    assert problem["where"] == "tiny.xlsx[lanes]:2"
    human = sustain_cli("validate", str(book)).stderr
    assert "tiny.xlsx[lanes]:2 capacity" in human, human


# (command line, what the message names): each once ran, gave a traceback or printed nothing.
NONSENSE = {
    "negative days of cover": (["simulate", "--cover-days", "-5"], "cover_days must be"),
    "a weight of nan": (["plan", "--lateness-weight", "nan"], "lateness_weight must be"),
    "an infinite weight": (["plan", "--repair-weight", "inf"], "repair_weight must be"),
    "a negative budget": (["plan", "--budget", "-5"], "budget_eur must be"),
    "reorder days of nan": (["simulate", "--reorder-days", "nan"], "reorder_days must be"),
    "minus one worker": (["simulate", "--workers", "-1"], "--workers"),
    "no worker": (["resilience", "--workers", "0"], "--workers"),
    "no replications": (["simulate", "--replications", "0"], "--replications"),
    "a negative top": (["plan", "--top", "-3"], "--top"),
    "a lead-time table every 0 days": (["industry", "--every", "0"], "--every"),
    "a yield variation of nan": (["simulate", "--yield-cv", "nan"], "--yield-cv"),
    "an unknown solver": (["plan", "--solver", "fast"], 'unknown solver "fast"'),
}


def entry_point(
    *args: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """The console script's function in this process: exit code, stdout, stderr."""
    from sustain.cli import main

    monkeypatch.setattr(sys, "argv", ["sustain", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


@pytest.mark.parametrize("name", list(NONSENSE))
def test_options_out_of_range_exit_2_with_json_naming_them(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (command, *flags), expected = NONSENSE[name]
    code, stdout, _ = entry_point(
        command, str(TINY), *flags, "--json", capsys=capsys, monkeypatch=monkeypatch
    )
    assert code == 2, stdout
    document = json.loads(stdout)  # JSON even for a usage error
    assert document["ok"] is False and expected in document["error"], document
    code, _, stderr = entry_point(
        command, str(TINY), *flags, capsys=capsys, monkeypatch=monkeypatch
    )
    assert code == 2 and "Traceback" not in stderr
    assert expected in " ".join(stderr.split()), stderr


def test_a_usage_error_under_json_is_json_on_the_real_stdout() -> None:
    done = sustain_cli("simulate", str(TINY), "--replications", "0", "--json")
    assert done.returncode == 2
    (problem,) = json.loads(done.stdout)["problems"]
    assert problem["where"] == "--replications"


def test_the_engines_refuse_nonsense_options_from_python() -> None:
    from sustain.plan import PlanOptions
    from sustain.resilience import ResilienceOptions
    from sustain.simulate import SimulationOptions, Uncertainty
    from sustain.simulate.optimise import SearchOptions

    refused = [
        lambda: PlanOptions(lateness_weight=float("nan")),
        lambda: PlanOptions(lags="early"),
        lambda: SimulationOptions(cover_days=-1),
        lambda: SimulationOptions(holding_cost=float("inf")),
        lambda: Uncertainty(surge_probability=5),
        lambda: Uncertainty(demand_noise=-1),
        lambda: Uncertainty(yield_cv=2),
        lambda: SearchOptions(replications=0),
        lambda: SearchOptions(target_fill_rate=float("nan")),
        lambda: ResilienceOptions(k=3),
        lambda: ResilienceOptions(loss_day=float("inf")),
    ]
    for make in refused:
        with pytest.raises(ValueError, match=r"must be|unknown"):
            make()


def test_ray_missing_is_one_line_saying_how_to_install_it() -> None:
    blocked = "import sys; sys.modules['ray'] = None"  # as if not installed
    for command in ("simulate", "resilience"):
        done = sustain_cli(command, str(TINY), "--executor", "ray", prelude=blocked)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and 'pip install "sustain[ray]"' in lines[0], done.stderr
    done = sustain_cli("simulate", str(TINY), "--executor", "ray", "--json", prelude=blocked)
    assert 'pip install \\"sustain[ray]\\"' in done.stdout


# Exports: safe to open in a spreadsheet, and read back unchanged.

HOSTILE_TEXT = [
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "'quoted",
    "#not a comment",
    "a\x01b\x1fc",
    "_x0041_ stays as written",
]


def runs(cell: str) -> bool:
    """Whether a spreadsheet runs a CSV cell as a formula: it starts with one of the OWASP
    list's characters and is not a plain number."""
    try:
        float(cell)
    except ValueError:
        return cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    return False


def test_text_a_spreadsheet_would_run_is_written_as_text(tmp_path: Path) -> None:
    import csv

    import openpyxl

    from sustain.scenario.writers import write

    case = tmp_path / "hostile.yaml"
    sources = iter(HOSTILE_TEXT)
    lines = []
    for line in TINY.read_text().splitlines():
        if line.startswith("  - {id: ") and ("lat:" in line or "supply_class:" in line):
            line = line.replace("{id:", f"{{name: {json.dumps(next(sources))}, id:", 1)
        if line.startswith("  - {id: ") and "mode:" in line:  # a lane: a hostile source
            line = line.replace("{id:", f"{{source: {json.dumps(next(sources))}, id:", 1)
        lines.append(line)
    case.write_text("\n".join(lines) + "\n")
    scenario = sustain.load(case)
    written = [x.name for x in (*scenario.items, *scenario.sites)]
    written += [lane.source for lane in scenario.lanes]
    assert sorted(map(str, written)) == sorted(HOSTILE_TEXT)
    write(scenario.rows(), tmp_path / "csv", "csv")
    write(scenario.rows(), tmp_path / "book.xlsx", "xlsx")
    # No CSV cell starts a formula; no workbook cell is a formula.
    for path in (tmp_path / "csv").glob("*.csv"):
        with path.open(newline="") as handle:
            for row in csv.reader(handle):
                assert not any(runs(c) for c in row), row
    book = openpyxl.load_workbook(tmp_path / "book.xlsx")
    kinds = {c.data_type for sheet in book.worksheets for row in sheet.iter_rows() for c in row}
    assert "f" not in kinds
    for fmt, path in (("csv", tmp_path / "csv"), ("xlsx", tmp_path / "book.xlsx")):
        assert sustain.load(path).rows() == scenario.rows(), fmt


# Ordinary input the engines once refused or failed on.


def without_holdings() -> str:
    text = TINY.read_text()
    before, rest = text.split("holdings:\n", 1)
    return before + "intensity:\n" + rest.split("intensity:\n", 1)[1]


def test_a_scenario_where_no_one_holds_systems_plans_and_simulates_to_nothing_short(
    tmp_path: Path,
) -> None:
    from sustain.network import compile_network
    from sustain.plan import plan
    from sustain.resilience import resilience
    from sustain.simulate import simulate

    case = tmp_path / "empty.yaml"
    case.write_text(without_holdings())
    network = compile_network(sustain.load(case))
    assert float(network.demand.sum()) == 0.0
    result = plan(network)
    assert result.total_shortfall == 0.0
    assert "demand is met" in result.explanation()
    simulated = simulate(network, 5, seed=0)
    assert simulated.tables["shortfall"].empty
    assert simulated.tables["days_of_supply"].empty
    assert resilience(network).base_weighted_shortfall == 0.0


def test_systems_that_break_down_with_no_repair_hub_pass_the_plan_check(tmp_path: Path) -> None:
    from sustain.network import compile_network
    from sustain.plan import plan

    case = tmp_path / "breakdown.yaml"
    case.write_text(
        TINY.read_text().replace(
            "{id: m109, standard: nato, families",
            "{id: m109, standard: nato, breakdown_rate: 1 %/day, families",
        )
    )
    network = compile_network(sustain.load(case))
    result = plan(network)  # checked by the independent checker (PlanOptions.check)
    assert result.total_shortfall > 0 and result.tables["repairs"].empty


# A model too large for the machine is refused before it is built.


@pytest.mark.parametrize("lags", ["late", "split"])
def test_the_size_estimate_counts_the_columns_the_model_builds(lags: str) -> None:
    from sustain.network import compile_network
    from sustain.plan import PlanOptions
    from sustain.plan.model import build
    from sustain.plan.size import estimate
    from tests.conftest import EXAMPLES

    for path in [TINY, *EXAMPLES]:
        network = compile_network(sustain.load(path))
        for allocation in ("priority", "fair"):
            options = PlanOptions(lags=lags, allocation=allocation)
            model, size = build(network, options), estimate(network, options)
            assert size.columns == model.n_columns, path
            assert model.n_rows <= size.rows and model.matrix is not None
            assert model.matrix.nnz <= size.nonzeros, path


def test_a_model_over_the_memory_allowed_is_refused_with_what_makes_it_smaller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sustain.network import compile_network
    from sustain.plan import ModelTooLargeError, plan

    case = tmp_path / "century.yaml"
    case.write_text(
        TINY.read_text()
        .replace("horizon: 4 weeks", "horizon: 36500 days")
        .replace("period: week", "period: day")
    )
    network = compile_network(sustain.load(case))
    monkeypatch.setenv("SUSTAIN_MAX_MODEL_GB", "0.5")
    started = time.perf_counter()
    with pytest.raises(ModelTooLargeError) as refused:
        plan(network)
    assert time.perf_counter() - started < PROMPT  # refused before it is built
    message = str(refused.value)
    assert "about 656,952 variables" in message and "36,500 periods" in message
    assert "more than the 0.5 GB allowed" in message and "SUSTAIN_MAX_MODEL_GB" in message
    assert "28 x day, then week" in message
    for command in ("plan", "industry", "resilience"):
        code, stdout, _ = entry_point(
            command, str(case), "--json", capsys=capsys, monkeypatch=monkeypatch
        )
        assert code == 2 and "GB allowed" in json.loads(stdout)["error"], (command, stdout)


# Ctrl-C keeps what finished.


def test_a_ctrl_c_while_tables_are_written_lets_them_finish(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import os
    import signal

    from sustain.cli import _finishing

    with _finishing("the tables"):
        os.kill(os.getpid(), signal.SIGINT)  # the first: said, and the work goes on
        time.sleep(0.05)
    assert "finishing the tables (Ctrl-C again to abandon them)" in capsys.readouterr().err
    with pytest.raises(KeyboardInterrupt), _finishing("the tables"):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # the second stops
        time.sleep(0.05)


def test_a_ctrl_c_during_a_simulation_writes_the_replications_finished(tmp_path: Path) -> None:
    import signal

    from tests.conftest import EXAMPLES

    out = tmp_path / "simulated"
    command = [sys.executable, "-m", "sustain", "simulate", str(EXAMPLES[0])]
    command += ["--replications", "100000", "--out", str(out), "--json"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(15)  # started, and some batches done
    running.send_signal(signal.SIGINT)
    stdout, stderr = running.communicate(timeout=300)
    assert running.returncode == 0, stderr
    document = json.loads(stdout[stdout.index("{") :])
    figures = document["figures"]
    assert figures["interrupted"] is True and 0 < figures["replications"] < 100_000
    import pandas as pd

    assert len(pd.read_parquet(out / "replications.parquet")) == figures["replications"]


def test_a_ctrl_c_during_a_knock_out_sweep_keeps_the_cases_re_planned(tmp_path: Path) -> None:
    import os
    import signal

    import pandas as pd

    from tests.conftest import EXAMPLES

    out = tmp_path / "resilience"
    command = [sys.executable, "-m", "sustain", "resilience", str(EXAMPLES[0]), "--k", "2"]
    command += ["--out", str(out), "--json"]
    running = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    time.sleep(30)  # the base plan made, a few of the 91 cases re-planned: minutes from the end
    os.killpg(running.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the workers too
    stdout, stderr = running.communicate(timeout=300)
    assert running.returncode == 0, stderr
    document = json.loads(stdout[stdout.index("{") :])
    assert document["figures"]["interrupted"] is True, document["counts"]
    counts = document["counts"]
    assert 0 < counts["not_run"] <= counts["cases"] == 91
    cases = pd.read_parquet(out / "cases.parquet")
    unrun = cases["settled_by"] == "not run (interrupted)"
    assert int(unrun.sum()) == counts["not_run"]
    ranked = ~unrun & (cases["same_as"].fillna("") == "")
    assert cases.loc[unrun, "rank"].isna().all() and cases.loc[ranked, "rank"].notna().all()
    assert cases.loc[unrun, "weighted_shortfall_added"].isna().all()
    assert list(cases.index[unrun]) == list(range(len(cases) - int(unrun.sum()), len(cases)))


def test_a_scenario_without_assets_has_no_knock_out_cases_and_its_cuts(tmp_path: Path) -> None:
    import yaml

    from sustain.network import compile_network
    from sustain.resilience import resilience

    data = yaml.safe_load(TINY.read_text())  # found by the fuzzer: the assets table deleted
    data.pop("assets")
    for lane in data["lanes"]:
        lane.pop("assets", None)
    case = tmp_path / "no-assets.yaml"
    case.write_text(yaml.safe_dump(data))
    for k in (1, 2):
        from sustain.resilience import ResilienceOptions

        result = resilience(compile_network(sustain.load(case)), ResilienceOptions(k=k))
        assert result.cases.empty and "weighted_shortfall_added" in result.cases
        assert result.cuts["front"].tolist() == ["front"]


@given(text=st.text())
def test_any_text_reads_back_from_a_csv_cell_and_a_workbook_cell(text: str) -> None:
    from sustain.scenario import cells

    assert cells.from_csv(cells.to_csv(text)) == text
    assert cells.from_workbook(cells.to_workbook(text)) == text
    assert not cells.runs_as_formula(cells.to_csv(text))


def test_a_carriage_return_inside_a_name_stays_inside_its_csv_cell(tmp_path: Path) -> None:
    from sustain.scenario.writers import write

    text = TINY.read_text().replace("{id: USA}", '{id: USA, name: "United\\rStates"}')
    case = tmp_path / "cr.yaml"
    case.write_text(text)
    scenario = sustain.load(case)
    assert scenario.nations[0].name == "United\rStates"
    write(scenario.rows(), tmp_path / "csv", "csv")
    assert sustain.load(tmp_path / "csv").rows() == scenario.rows()

"""The `sustain` command line: thin wrappers over the library, no domain logic here.

Exit codes: 0 success, 2 bad input (every problem listed with its file, line and field).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.text import Text

# Only what the flags need is imported here: the engines, pandas and the solver load in the
# command that uses them, so that `sustain validate` and `--help` start at once.
from sustain.execute import MissingDependencyError, require_executor
from sustain.options import (
    DEFAULT_PRESET,
    PRESETS,
    SOLVERS,
    PlanOptions,
    ResilienceOptions,
    SearchOptions,
    SimulationOptions,
    Uncertainty,
    preset,
)
from sustain.output import OutputError, OutputExistsError, atomic_output, check_target
from sustain.results.formats import DEFAULT_FORMATS, FORMATS
from sustain.scenario import Scenario, ScenarioError, load
from sustain.scenario.writers import FORMATS as SCENARIO_FORMATS
from sustain.scenario.writers import check_name, write, write_template

if TYPE_CHECKING:
    from sustain.results import Run
    from sustain.store import Person, Store

T = TypeVar("T")

app = typer.Typer(
    name="sustain",
    help="Plan and stress-test how a coalition keeps a partner force supplied.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich's help panels cut long option names at 80 columns (--surge-probabil…).
    rich_markup_mode=None,
)
# Wide enough for the summary tables when output goes to a file or a CI log. Names come from
# user files: no emoji codes, and every user text is escaped (or a Text) so that `[/x]` or
# `[lanes]` is shown as written, never read as markup.
out = Console(width=None if sys.stdout.isatty() else 160, emoji=False)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160, emoji=False)

ScenarioPath = Annotated[
    Path, typer.Argument(help="A scenario: a .yaml file, a folder of tables, or an .xlsx workbook.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]
OutDir = Annotated[
    Path | None,
    typer.Option("--out", help="Write the run here: run.json and every table (see --formats)."),
]
Formats = Annotated[
    str,
    typer.Option("--formats", help=f"Formats of the tables --out writes, of {', '.join(FORMATS)}."),
]
ForceFlag = Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")]
Upside = Annotated[
    bool,
    typer.Option("--upside", help="Count offered pledges too (an upside run)."),
]
Executor = Annotated[str, typer.Option(help="local (all cores), serial, or ray (a Ray cluster).")]
RayAddress = Annotated[
    str | None, typer.Option(help="Address of an existing Ray cluster (host:port or auto).")
]
Workers = Annotated[int | None, typer.Option(min=1, help="Local workers (default: cores).")]


def _fail(message: str, *, as_json: bool, problems: list[dict[str, Any]] | None = None) -> None:
    """Report a refusal (bad input, an output that cannot be written) and exit 2."""
    _report(message, as_json=as_json, problems=problems)
    raise typer.Exit(code=2)


def _report(message: str, *, as_json: bool, problems: list[dict[str, Any]] | None = None) -> None:
    if as_json:
        print(json.dumps({"ok": False, "error": message, "problems": problems or []}, indent=2))
    else:
        err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        for problem in problems or []:
            where = problem["where"] + (f" {problem['field']}" if problem.get("field") else "")
            line = Text.assemble(("  " + where, "cyan"), ": ", problem["message"])
            err.print(line, highlight=False, soft_wrap=True)


def _check_executor(executor: str, as_json: bool) -> None:
    """Fail before any work on an unknown executor or one whose package is not installed."""
    try:
        require_executor(executor)
    except (ValueError, MissingDependencyError) as exc:
        _fail(str(exc), as_json=as_json)


def _refuse_to_overwrite(out_dir: Path | None, *, force: bool, as_json: bool) -> None:
    """Fail before any work when --out exists and --force was not given, or cannot be."""
    if out_dir is not None:
        try:
            check_target(out_dir, force=force)
        except (OutputError, OutputExistsError) as exc:
            _fail(str(exc), as_json=as_json)


@contextlib.contextmanager
def _finishing(what: str) -> Iterator[None]:
    """Keep finished work: a first Ctrl-C while its tables are built and written says so and
    lets them finish; a second one stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    asked = False

    def on_interrupt(signum: int, frame: object) -> None:
        nonlocal asked
        if asked:
            raise KeyboardInterrupt
        asked = True
        err.print(f"finishing {what} (Ctrl-C again to abandon them)", markup=False)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _options(make: Callable[..., T], as_json: bool, **fields: Any) -> T:
    """An engine's options from the flags; a figure out of range fails with exit 2."""
    try:
        return make(**fields)
    except ValueError as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc


def _load(path: Path, as_json: bool) -> Scenario:
    try:
        return load(path)
    except ScenarioError as exc:
        problems = [p.as_dict() for p in exc.problems]
        count = len(problems)
        _fail(
            f"{path} has {count} problem{'s' if count != 1 else ''}",
            as_json=as_json,
            problems=problems,
        )
        raise AssertionError("unreachable") from exc


def _formats(text: str, as_json: bool) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        _fail(f'--formats "{text}": use one or more of {", ".join(FORMATS)}', as_json=as_json)
    return chosen


def _finish(
    run: Run,
    *,
    out_dir: Path | None,
    formats: tuple[str, ...],
    force: bool,
    as_json: bool,
) -> bool:
    """Write the run (when --out is given) and, under --json, print it as one document:
    its metadata and its summary tables' rows. True when the caller should render it."""
    from sustain.results import write_run

    if out_dir is not None:
        with _finishing(f"writing the {run.engine} run's tables"):
            write_run(run, out_dir, formats=formats, force=force)
    if as_json:
        document = {"ok": True, **run.document(), "written": str(out_dir) if out_dir else None}
        print(json.dumps(document, indent=2, allow_nan=False))
        return False
    return True


def _written(out_dir: Path | None, formats: tuple[str, ...]) -> None:
    if out_dir is not None:
        out.print(
            f"wrote the run to {out_dir} (run.json and every table as {', '.join(formats)})",
            markup=False,
            highlight=False,
        )


@app.command(short_help="Check a scenario: every problem, located.")
def validate(path: ScenarioPath, as_json: JsonFlag = False) -> None:
    """Check a scenario and list every problem at once, each with file, line and field."""
    from sustain.network import compile_network, overview

    scenario = _load(path, as_json)
    counts = overview(compile_network(scenario))
    if as_json:
        print(json.dumps({"ok": True, "problems": [], "summary": counts}, indent=2))
        return
    from sustain.units import how_many

    parts = [how_many(int(counts[k]), k) for k in ("sites", "lanes", "items", "formations")]
    periods = how_many(int(counts["periods"]), "periods")
    out.print(
        f"[bold green]valid[/]: {escape(str(path))} ({', '.join(parts)}, {periods}: "
        f"{counts['grid']})",
        highlight=False,
    )


@app.command(short_help="What a scenario holds, in summary tables.")
def info(
    path: ScenarioPath,
    out_dir: OutDir = None,
    formats: Formats = ",".join(DEFAULT_FORMATS),
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Summary tables: sites by kind and nation, lanes by mode, demand and supply by family."""
    from sustain import render, service

    chosen = _formats(formats, as_json)
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    run = service.info_run(_load(path, as_json), source=path)
    if _finish(run, out_dir=out_dir, formats=chosen, force=force, as_json=as_json):
        render.info(run, out)
        _written(out_dir, chosen)


def _scenario_format(to: str, as_json: bool) -> str:
    """A scenario format as written after --to (yml, excel and .yaml read too), or exit 2."""
    fmt = to.lower().lstrip(".").replace("yml", "yaml").replace("excel", "xlsx")
    if fmt not in SCENARIO_FORMATS:
        _fail(f'unknown format "{to}": use one of {", ".join(SCENARIO_FORMATS)}', as_json=as_json)
    return fmt


@app.command(short_help="Convert a scenario between YAML, CSV and Excel.")
def export(
    path: ScenarioPath,
    to: Annotated[
        str, typer.Option("--to", help=f"Format to write: {', '.join(SCENARIO_FORMATS)}.")
    ],
    destination: Annotated[Path, typer.Argument(metavar="OUT", help="File or folder to write.")],
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Convert a scenario between YAML, a CSV folder and an Excel workbook, losing nothing."""
    fmt = _scenario_format(to, as_json)
    try:
        check_name(destination, fmt)
    except ValueError as exc:
        _fail(str(exc), as_json=as_json)
    scenario = _load(path, as_json)
    try:
        write(scenario.rows(), destination, fmt, force=force)
    except OutputExistsError as exc:
        _fail(str(exc), as_json=as_json)
    if as_json:
        print(json.dumps({"ok": True, "written": str(destination), "format": fmt}))
    else:
        out.print(f"wrote {destination} ({fmt})", highlight=False, markup=False)


@app.command(short_help="An empty workbook and CSV folder, documented.")
def template(
    destination: Annotated[Path, typer.Argument(metavar="OUT", help="Folder to create.")],
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create an empty workbook and CSV folder with every column documented."""
    try:
        write_template(destination, force=force)
    except OutputExistsError as exc:
        _fail(str(exc), as_json=as_json)
    if as_json:
        print(json.dumps({"ok": True, "written": str(destination)}))
    else:
        out.print(
            f"wrote {destination}/scenario.xlsx, {destination}/csv/ and {destination}/COLUMNS.md",
            highlight=False,
            markup=False,
        )


@app.command(short_help="The optimal delivery plan, checked; bottlenecks.")
def plan(
    path: ScenarioPath,
    out_dir: OutDir = None,
    solver: Annotated[
        str, typer.Option(help=f"HiGHS method: {', '.join(SOLVERS)}.")
    ] = PlanOptions.solver,
    lateness_weight: Annotated[
        float, typer.Option(help="How much dearer a shortfall is in the first period.")
    ] = PlanOptions.lateness_weight,
    repair_weight: Annotated[
        float,
        typer.Option(help="Weight of a system out of action for a day, times its type's value."),
    ] = PlanOptions.repair_weight,
    cost_weight: Annotated[
        float, typer.Option(help="Weight of one euro of transport cost.")
    ] = PlanOptions.cost_weight,
    lexicographic: Annotated[
        bool,
        typer.Option(
            "--lexicographic/--blended",
            help="Minimise shortfall, then lateness, then cost in turn; or their weighted sum.",
        ),
    ] = PlanOptions.lexicographic,
    lags: Annotated[
        str,
        typer.Option(
            help="Lags that are not whole periods: late (all in the first period by whose "
            "start it has all come: the plan runs as planned day by day), split (shared by "
            "the periods the arrivals fall in) or mean (all in the period of the mean "
            "arrival)."
        ),
    ] = PlanOptions.lags,
    allocation: Annotated[
        str,
        typer.Option(
            help="Shortfall shared by priority (the higher served first, strictly) or fair "
            "(fill rates move together, tilted by priority; a formation whose priority x "
            "criticality is 4 times another's or more is still served first)."
        ),
    ] = PlanOptions.allocation,
    investments: Annotated[
        str,
        typer.Option(help="Investment options as decisions: none, relax (shares), whole (MIP)."),
    ] = PlanOptions.investments,
    budget: Annotated[float | None, typer.Option(help="Budget for investments, in EUR.")] = None,
    upside: Upside = False,
    top: Annotated[int, typer.Option(min=0, help="Rows to show in each summary table.")] = 10,
    formats: Formats = ",".join(DEFAULT_FORMATS),
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """The optimal delivery plan (HiGHS), checked independently, and what limits it."""
    from sustain import render, service
    from sustain.plan import PlanCheckError, PlanError

    options = _options(
        PlanOptions,
        as_json,
        solver=solver,
        lateness_weight=lateness_weight,
        repair_weight=repair_weight,
        cost_weight=cost_weight,
        lexicographic=lexicographic,
        lags=lags,
        allocation=allocation,
        investments=investments,
        budget_eur=budget,
        upside=upside,
    )
    chosen = _formats(formats, as_json)
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    scenario = _load(path, as_json)
    try:
        if as_json:
            run = service.plan_run(scenario, options, source=path)
        else:
            with err.status("planning") as status:
                run = service.plan_run(
                    scenario, options, progress=lambda s: status.update(s), source=path
                )
    except (PlanError, PlanCheckError) as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    if _finish(run, out_dir=out_dir, formats=chosen, force=force, as_json=as_json):
        render.plan(run, out, top)
        _written(out_dir, chosen)


# What the simulator and the level choice share: the policy's options, the noise, the costs.
CoverDays = Annotated[
    float, typer.Option(help="Order-up-to level, in days of demand beyond the lead time.")
]
Backorders = Annotated[bool, typer.Option(help="Carry unmet demand over.")]
ByNation = Annotated[
    bool,
    typer.Option(help="Tell each nation's goods apart (who delivered what); off runs faster."),
]
Position = Annotated[
    str, typer.Option(help="Levels on each site's installation or echelon position.")
]
UncertaintyPreset = Annotated[
    str,
    typer.Option(
        "--uncertainty",
        help=f"Preset of the sources of noise ({', '.join(PRESETS)}); the options below "
        "change one figure of it.",
    ),
]
DemandShape = Annotated[
    str | None,
    typer.Option(
        "--demand",
        help="Daily demand: lognormal or normal noise around the schedule, or poisson "
        "(whole units around the noisy mean).",
    ),
]
DemandNoise = Annotated[float | None, typer.Option(min=0.0, help="Sd of daily demand noise.")]
SurgeProbability = Annotated[
    float | None, typer.Option(min=0.0, max=1.0, help="Daily chance of a surge.")
]
OutageProbability = Annotated[
    float | None,
    typer.Option(
        min=0.0, max=1.0, help="Daily chance each asset fails (out for its recovery time)."
    ),
]
TransitCv = Annotated[float | None, typer.Option(min=0.0, help="Variation of transit times.")]
YieldMean = Annotated[
    float | None,
    typer.Option(min=0.0, max=1.0, help="Mean daily production yield (default 1 - yield cv)."),
]
YieldCv = Annotated[
    float | None, typer.Option(min=0.0, max=0.99, help="Variation of daily production yield.")
]
SlipProbability = Annotated[
    float | None, typer.Option(min=0.0, max=1.0, help="Daily chance a line stops for 30 days.")
]
HoldingCost = Annotated[
    float, typer.Option(min=0.0, help="EUR per tonne a day held, where a site names none.")
]
OrderingCost = Annotated[float, typer.Option(min=0.0, help="EUR per order placed.")]
ShortageCost = Annotated[
    float,
    typer.Option(
        min=0.0, help="EUR per family unit short (lost sales) or per unit-day waited (backorders)."
    ),
]
FamilyShortageCost = Annotated[
    list[str] | None, typer.Option(help="FAMILY=EUR: a family's own shortage cost (repeatable).")
]


def _noise(
    demand_noise: float | None,
    surge_probability: float | None,
    outage_probability: float | None,
    transit_cv: float | None,
    yield_mean: float | None,
    yield_cv: float | None,
    slip_probability: float | None,
) -> dict[str, float | None]:
    """The noise flags of simulate and policy, by the Uncertainty field each changes."""
    return {
        "demand_noise": demand_noise,
        "surge_probability": surge_probability,
        "asset_failure_probability": outage_probability,
        "transit_cv": transit_cv,
        "yield_mean": yield_mean,
        "yield_cv": yield_cv,
        "slip_probability": slip_probability,
    }


def _uncertainty_and_options(
    *,
    as_json: bool,
    uncertainty_preset: str,
    demand: str | None,
    noise: dict[str, float | None],
    family_shortage_cost: list[str] | None,
    **options: Any,
) -> tuple[Uncertainty, SimulationOptions]:
    """The uncertainty preset with the figures changed on the command line (by the
    Uncertainty field each changes), and the options; a figure out of range fails with
    exit 2."""
    try:
        changes = {k: v for k, v in noise.items() if v is not None}
        uncertainty = preset(uncertainty_preset, demand, **changes)
        settings = SimulationOptions(
            family_shortage_costs=_family_costs(family_shortage_cost or []), **options
        )
    except ValueError as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    return uncertainty, settings


def _family_costs(pairs: list[str]) -> tuple[tuple[str, float], ...]:
    """FAMILY=EUR options as (family, EUR) pairs."""
    costs = []
    for pair in pairs:
        family, _, figure = pair.partition("=")
        try:
            cost = float(figure)
        except ValueError:
            raise ValueError(f'--family-shortage-cost "{pair}": write FAMILY=EUR') from None
        if not family or cost < 0 or not math.isfinite(cost):
            raise ValueError(f'--family-shortage-cost "{pair}": write FAMILY=EUR, EUR >= 0')
        costs.append((family, cost))
    return tuple(costs)


def _read_plan(folder: Path, as_json: bool) -> Run:
    """A plan run written by `sustain plan --out`."""
    from sustain.results import RunReadError, read_run

    try:
        run = read_run(folder)
    except RunReadError as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    if run.engine != "plan":
        _fail(
            f"{folder}: holds a run of sustain {run.engine}, not a plan "
            "(write one with sustain plan --out)",
            as_json=as_json,
        )
    return run


@app.command(short_help="Monte Carlo: chance, date and size of shortfall.")
def simulate(
    path: ScenarioPath,
    replications: Annotated[int, typer.Option(min=1, help="Replications to run.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the random streams.")] = 0,
    plan_dir: Annotated[
        Path | None,
        typer.Option("--plan", help="Execute this plan (a folder from sustain plan --out)."),
    ] = None,
    policy: Annotated[
        str, typer.Option(help="Without --plan: base-stock or s-S replenishment.")
    ] = "base-stock",
    cover_days: CoverDays = SimulationOptions.cover_days,
    reorder_days: Annotated[
        float, typer.Option(help="(s, S): reorder at this many days of demand beyond lead time.")
    ] = SimulationOptions.reorder_days,
    backorders: Backorders = False,
    position: Position = SimulationOptions.position,
    by_nation: ByNation = SimulationOptions.by_nation,
    upside: Upside = False,
    uncertainty_preset: UncertaintyPreset = DEFAULT_PRESET,
    demand: DemandShape = None,
    demand_noise: DemandNoise = None,
    surge_probability: SurgeProbability = None,
    outage_probability: OutageProbability = None,
    transit_cv: TransitCv = None,
    yield_mean: YieldMean = None,
    yield_cv: YieldCv = None,
    slip_probability: SlipProbability = None,
    holding_cost: HoldingCost = 0.0,
    ordering_cost: OrderingCost = 0.0,
    shortage_cost: ShortageCost = 0.0,
    family_shortage_cost: FamilyShortageCost = None,
    executor: Executor = "local",
    address: RayAddress = None,
    workers: Workers = None,
    out_dir: OutDir = None,
    top: Annotated[int, typer.Option(min=0, help="Rows to show in the summary table.")] = 10,
    formats: Formats = ",".join(DEFAULT_FORMATS),
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Monte Carlo of sustainment: how likely each formation is to run short, when, by how much."""
    from sustain import render, service

    _check_executor(executor, as_json)
    if plan_dir is None and policy not in ("base-stock", "s-S"):
        _fail(f'unknown policy "{policy}": use base-stock or s-S', as_json=as_json)
    chosen = _formats(formats, as_json)
    uncertainty, options = _uncertainty_and_options(
        as_json=as_json,
        uncertainty_preset=uncertainty_preset,
        demand=demand,
        noise=_noise(
            demand_noise,
            surge_probability,
            outage_probability,
            transit_cv,
            yield_mean,
            yield_cv,
            slip_probability,
        ),
        family_shortage_cost=family_shortage_cost,
        policy="plan" if plan_dir is not None else policy,
        cover_days=cover_days,
        reorder_days=reorder_days,
        backorders=backorders,
        position=position,
        by_nation=by_nation,
        upside=upside,
        holding_cost=holding_cost,
        ordering_cost=ordering_cost,
        shortage_cost=shortage_cost,
    )
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    scenario = _load(path, as_json)
    plan_run = _read_plan(plan_dir, as_json) if plan_dir is not None else None

    def run(progress: Callable[[int, int], None] | None = None) -> Run:
        return service.simulate_run(
            scenario,
            replications=replications,
            seed=seed,
            uncertainty=uncertainty,
            options=options,
            plan=plan_run,
            executor=executor,
            workers=workers,
            address=address,
            progress=progress,
            finishing=lambda done: _finishing(f"the tables of the {done:,} replications finished"),
            source=path,
        )

    try:
        if as_json:
            made = run()
        else:
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("simulating", total=replications)
                made = run(lambda done, _: bar.update(task, completed=done))
    except (KeyError, ValueError) as exc:
        what = "the plan" if plan_run is not None else "the policy"
        _fail(f"cannot simulate {what}: {exc}", as_json=as_json)
        raise AssertionError("unreachable") from exc
    if _finish(made, out_dir=out_dir, formats=chosen, force=force, as_json=as_json):
        render.simulate(made, out, top)
        _written(out_dir, chosen)


@app.command(short_help="Choose base-stock levels per site and item.")
def policy(
    path: ScenarioPath,
    objective: Annotated[
        str,
        typer.Option(
            help="cost: least expected holding + ordering + shortage cost; fill-rate: least "
            "stock giving every formation the target fill rate."
        ),
    ] = "cost",
    target_fill_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Under fill-rate: each formation's target.")
    ] = SearchOptions.target_fill_rate,
    confidence: Annotated[
        float,
        typer.Option(min=0.5, max=0.999, help="Under fill-rate: confidence the target is met."),
    ] = SearchOptions.confidence,
    method: Annotated[
        str, typer.Option(help="auto (exact for a serial chain, else search), exact, search.")
    ] = SearchOptions.method,
    replications: Annotated[
        int, typer.Option(min=2, help="Replications every candidate runs (same draws).")
    ] = SearchOptions.replications,
    evaluation_replications: Annotated[
        int, typer.Option(min=2, help="Fresh replications the result is judged on.")
    ] = SearchOptions.evaluation_replications,
    seed: Annotated[int, typer.Option(help="Seed of the search (the judging uses seed + 1).")] = 0,
    cover_days: CoverDays = SimulationOptions.cover_days,
    backorders: Backorders = False,
    position: Position = SimulationOptions.position,
    uncertainty_preset: UncertaintyPreset = DEFAULT_PRESET,
    demand: DemandShape = None,
    demand_noise: DemandNoise = None,
    surge_probability: SurgeProbability = None,
    outage_probability: OutageProbability = None,
    transit_cv: TransitCv = None,
    yield_mean: YieldMean = None,
    yield_cv: YieldCv = None,
    slip_probability: SlipProbability = None,
    holding_cost: HoldingCost = 0.0,
    ordering_cost: OrderingCost = 0.0,
    shortage_cost: ShortageCost = 0.0,
    family_shortage_cost: FamilyShortageCost = None,
    workers: Workers = None,
    out_dir: OutDir = None,
    top: Annotated[int, typer.Option(min=0, help="Rows to show in the levels table.")] = 15,
    formats: Formats = ",".join(DEFAULT_FORMATS),
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Choose base-stock levels per site and item, judged against the days-of-cover rule."""
    from sustain import render, service

    chosen = _formats(formats, as_json)
    uncertainty, options = _uncertainty_and_options(
        as_json=as_json,
        uncertainty_preset=uncertainty_preset,
        demand=demand,
        noise=_noise(
            demand_noise,
            surge_probability,
            outage_probability,
            transit_cv,
            yield_mean,
            yield_cv,
            slip_probability,
        ),
        family_shortage_cost=family_shortage_cost,
        cover_days=cover_days,
        backorders=backorders,
        position=position,
        holding_cost=holding_cost,
        ordering_cost=ordering_cost,
        shortage_cost=shortage_cost,
    )
    search = _options(
        SearchOptions,
        as_json,
        objective=objective,
        method=method,
        target_fill_rate=target_fill_rate,
        confidence=confidence,
        replications=replications,
        evaluation_replications=evaluation_replications,
        seed=seed,
    )
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    scenario = _load(path, as_json)

    def run(progress: Callable[[int, float], None] | None = None) -> Run:
        return service.policy_run(
            scenario,
            options=options,
            uncertainty=uncertainty,
            search=search,
            workers=workers,
            progress=progress,
            source=path,
        )

    try:
        if as_json:
            made = run()
        else:
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("searching", total=None)
                made = run(
                    lambda done, score: bar.update(
                        task,
                        completed=done,
                        description=f"searching: {done:,} candidates run, score {score:,.6g}",
                    )
                )
    except ValueError as exc:
        _fail(f"cannot choose levels: {exc}", as_json=as_json)
        raise AssertionError("unreachable") from exc
    if _finish(made, out_dir=out_dir, formats=chosen, force=force, as_json=as_json):
        render.policy(made, out, top)
        _written(out_dir, chosen)


@app.command(short_help="Knock out each asset: time to survive and recover.")
def resilience(
    path: ScenarioPath,
    k: Annotated[int, typer.Option("--k", min=1, max=2, help="1: each asset; 2: also pairs.")] = 1,
    loss_day: Annotated[
        float, typer.Option(help="Day of the loss, counted from the scenario start.")
    ] = 0.0,
    asset: Annotated[
        list[str] | None, typer.Option("--asset", help="Knock out only these (repeatable).")
    ] = None,
    screen: Annotated[
        bool, typer.Option(help="Settle cases the base plan avoids without re-solving.")
    ] = True,
    check: Annotated[
        bool, typer.Option(help="Verify every re-solved plan with the independent checker.")
    ] = False,
    upside: Upside = False,
    executor: Executor = "local",
    address: RayAddress = None,
    workers: Workers = None,
    out_dir: OutDir = None,
    top: Annotated[int, typer.Option(min=0, help="Rows to show in the ranked table.")] = 10,
    formats: Formats = ",".join(DEFAULT_FORMATS),
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Knock out each asset (and pair with --k 2): shortfall added, time-to-survive against
    time-to-recover, and the smallest sets of assets that cut each front off."""
    from sustain import render, service
    from sustain.plan import PlanError

    _check_executor(executor, as_json)
    options = _options(
        ResilienceOptions,
        as_json,
        k=k,
        loss_day=loss_day,
        assets=tuple(asset) if asset else None,
        screen=screen,
        check=check,
        plan_options=PlanOptions(check=False, upside=upside),
    )
    chosen = _formats(formats, as_json)
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    scenario = _load(path, as_json)

    def run(progress: Callable[[str, int, int | None], None] | None = None) -> Run:
        return service.resilience_run(
            scenario,
            options,
            executor=executor,
            workers=workers,
            address=address,
            progress=progress,
            source=path,
        )

    try:
        if as_json:
            made = run()
        else:
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("planning", total=None)
                made = run(
                    lambda what, done, total: bar.update(
                        task, description=what, completed=done, total=total
                    )
                )
    except (ValueError, PlanError) as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    if _finish(made, out_dir=out_dir, formats=chosen, force=force, as_json=as_json):
        render.resilience(made, out, top)
        _written(out_dir, chosen)


@app.command(short_help="Order books, lead times, stockpiles, investments.")
def industry(
    path: ScenarioPath,
    out_dir: OutDir = None,
    every: Annotated[
        int, typer.Option(min=1, help="Days between the dates of the lead-time table.")
    ] = 91,
    by_priority: Annotated[
        bool, typer.Option("--priority", help="Serve order books by priority, not FIFO.")
    ] = False,
    upside: Upside = False,
    formats: Formats = ",".join(DEFAULT_FORMATS),
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Order books and lead times of every line; stockpiles' floor and rebuild dates under the
    optimal plan."""
    from sustain import render, service
    from sustain.plan import PlanCheckError, PlanError

    chosen = _formats(formats, as_json)
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    scenario = _load(path, as_json)
    try:
        run = service.industry_run(
            scenario, every_days=every, by_priority=by_priority, upside=upside, source=path
        )
    except (PlanError, PlanCheckError) as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    if _finish(run, out_dir=out_dir, formats=chosen, force=force, as_json=as_json):
        render.industry(run, out)
        _written(out_dir, chosen)


@app.command(short_help="Two runs side by side, with the differences.")
def compare(
    run_a: Annotated[Path, typer.Argument(metavar="RUN_A", help="A run folder (from --out).")],
    run_b: Annotated[Path, typer.Argument(metavar="RUN_B", help="The run to compare with A.")],
    out_dir: OutDir = None,
    top: Annotated[int, typer.Option(min=0, help="Rows to show in each table.")] = 10,
    formats: Formats = ",".join(DEFAULT_FORMATS),
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Two runs of plan, simulate or resilience side by side: headline figures, shortfall by
    formation and family, bottlenecks or knock-out cases, each with B less A."""
    from sustain import render, service
    from sustain.results import RunReadError, read_run

    chosen = _formats(formats, as_json)
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    try:
        run = service.compare_run(read_run(run_a), read_run(run_b))
    except (RunReadError, ValueError) as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    if _finish(run, out_dir=out_dir, formats=chosen, force=force, as_json=as_json):
        render.compare(run, out, top)
        _written(out_dir, chosen)


@app.command(short_help="One HTML file: map, race, shortfall, risks; offline.")
def report(
    path: Annotated[
        Path | None,
        typer.Argument(help="A scenario (.yaml, folder or .xlsx); not with --compare."),
    ] = None,
    plan_dir: Annotated[
        Path | None, typer.Option("--plan", help="Use this plan run (a folder from --out).")
    ] = None,
    simulation_dir: Annotated[
        Path | None,
        typer.Option("--simulation", help="Use this simulation run (a folder from --out)."),
    ] = None,
    resilience_dir: Annotated[
        Path | None,
        typer.Option("--resilience", help="Use this resilience run (a folder from --out)."),
    ] = None,
    industry_dir: Annotated[
        Path | None,
        typer.Option("--industry", help="Use this industry run (a folder from --out)."),
    ] = None,
    compare_dirs: Annotated[
        tuple[Path, Path] | None,
        typer.Option("--compare", metavar="RUN_A RUN_B", help="Two runs side by side instead."),
    ] = None,
    replications: Annotated[
        int, typer.Option(min=1, help="Replications of the simulation it runs (without one).")
    ] = 256,
    seed: Annotated[int, typer.Option(help="Seed of the simulation it runs.")] = 0,
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Write the report: one self-contained HTML file (charts, map and data inlined; it opens
    offline) of a scenario's plan, simulation, resilience and industry runs, running those
    not given; or, with --compare, of two runs side by side."""
    from sustain import service
    from sustain.plan import PlanCheckError, PlanError
    from sustain.report import build, build_compare
    from sustain.results import RunReadError, read_run

    if out_file.suffix.lower() not in (".html", ".htm"):
        _fail(f"--out {out_file}: the report is an .html file", as_json=as_json)
    if (path is None) == (compare_dirs is None):
        _fail("give a scenario PATH, or --compare RUN_A RUN_B", as_json=as_json)
    try:
        check_target(out_file, force=force)
    except (OutputError, OutputExistsError) as exc:
        _fail(str(exc), as_json=as_json)
    try:
        if compare_dirs is not None:
            a, b = (read_run(folder) for folder in compare_dirs)
            comparison = service.compare_run(a, b)
            page = build_compare(comparison, a, b)
            used = [a, b]
            warnings = list(comparison.notes.values())
        else:
            assert path is not None
            roles = {
                "plan": plan_dir,
                "simulation": simulation_dir,
                "resilience": resilience_dir,
                "industry": industry_dir,
            }
            given = {role: read_run(folder) for role, folder in roles.items() if folder}
            scenario = _load(path, as_json)

            def say(what: str) -> None:
                if not as_json:
                    err.print(f"{what} ...", highlight=False)

            runs = service.report_runs(
                scenario, given=given, replications=replications, seed=seed, progress=say,
                source=path,
            )  # fmt: skip
            page = build(runs)
            used = runs.all()
            warnings = []
    except (RunReadError, ValueError, PlanError, PlanCheckError) as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    with atomic_output(out_file, force=force, is_dir=False) as target:
        target.write_text(page, encoding="utf-8")
    size = out_file.stat().st_size
    if as_json:
        document = {
            "ok": True,
            "report": str(out_file),
            "bytes": size,
            "runs": [r.id for r in used],
            "notes": warnings,
        }
        print(json.dumps(document, indent=2))
    else:
        for warning in warnings:
            err.print(f"note: {warning}", highlight=False, markup=False)
        out.print(f"report written to {out_file} ({size / 1e6:.1f} MB)", highlight=False)


users = typer.Typer(
    help="Users of the workspace: each of a nation, with a role.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(users, name="users", short_help="Users of the workspace and their tokens.")
Database = Annotated[
    str,
    typer.Option(
        "--database",
        envvar="SUSTAIN_DATABASE",
        help="The store: sqlite:///FILE (default sustain.db here) or postgresql+psycopg://...",
    ),
]


def _in_store(database: str, as_json: bool, work: Callable[[Store], T]) -> T:
    """`work` done on the store at `database`; a store that cannot be opened or a request it
    cannot meet exits 2 with its message."""
    from sustain.store import Store, StoreError

    try:
        return work(Store.open(database))
    except StoreError as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc


@users.command("add", short_help="Add a user and print their first token.")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name (unique).")],
    nation: Annotated[str, typer.Option(help="The user's nation, e.g. POL.")],
    role: Annotated[str, typer.Option(help="coordinator, planner or viewer.")],
    database: Database = "sqlite:///sustain.db",
    as_json: JsonFlag = False,
) -> None:
    """Add a user of a nation with a role, and print a bearer token for them: it is shown
    once (the store keeps only its hash). Every change is in the store's audit log."""

    def add(store: Store) -> tuple[Person, str]:
        added = store.add_user(name, nation, role, by="sustain users add")
        return added, store.issue_token(name, by="sustain users add")

    person, token = _in_store(database, as_json, add)
    if as_json:
        document = {"ok": True, "user": person.name, "nation": person.nation, "role": person.role}
        print(json.dumps({**document, "token": token}, indent=2))
    else:
        out.print(f"added {person.name} ({person.role}, {person.nation}); token:", highlight=False)
        out.print(token, highlight=False, markup=False)


imports = typer.Typer(
    help="Bring public data into a scenario.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(imports, name="import", short_help="Bring public data into a scenario.")
InputFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A CSV file.")
]


def _text_of(path: Path, as_json: bool) -> tuple[str, str]:
    """A small text file's name and text, or exit 2 saying why it cannot be read."""
    from sustain.scenario.limits import Limits, unreadable_file

    why = unreadable_file(path, Limits.from_environment())
    if why is None:
        try:
            return path.name, path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            why = f"is not UTF-8 text ({exc.reason} at byte {exc.start})"
    _fail(f"{path}: {why}", as_json=as_json)
    raise AssertionError("unreachable")


@imports.command("kiel", short_help="A Kiel Ukraine Support Tracker release: pledges, holdings.")
def import_kiel(
    weapons: InputFile,
    mapping: Annotated[
        Path,
        typer.Option(exists=True, dir_okay=False, help="kind,name,to,site,formation,system CSV."),
    ],
    into: Annotated[
        Path, typer.Option(exists=True, help="The scenario to import into (YAML, CSV, .xlsx).")
    ],
    destination: Annotated[
        Path, typer.Option("--out", help="Where to write the scenario with the release in it.")
    ],
    release: Annotated[
        str, typer.Option(help="The release's name, e.g. its date (it names the pledges).")
    ],
    to: Annotated[str, typer.Option("--to", help="Its format: yaml, csv or xlsx.")] = "yaml",
    available: Annotated[
        str | None, typer.Option(help="When the pledges become available (default: the start).")
    ] = None,
    monthly: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The release's monthly totals (CSV)."),
    ] = None,
    skip_unmapped: Annotated[
        bool,
        typer.Option(help="Skip names the mapping does not cover (listed) instead of failing."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Turn a release of the Kiel Institute's Ukraine Support Tracker (its heavy weapons by
    donor: donor, category, number_of_weapons, monetary_value_eur, weapons_list) into pledges
    and holdings of a scenario through a mapping of the tracker's names onto the scenario's
    nations, items, sites, formations and systems. Every name the mapping does not cover is
    a located problem; a release imported twice adds nothing."""
    from sustain import service
    from sustain.imports.kiel import TrackerError

    fmt = _scenario_format(to, as_json)
    try:
        check_name(destination, fmt)
        check_target(destination, force=force)
    except (ValueError, OutputError, OutputExistsError) as exc:
        _fail(str(exc), as_json=as_json)
    scenario = _load(into, as_json)
    try:
        imported, _, report = service.import_kiel(
            scenario,
            _text_of(weapons, as_json),
            _text_of(mapping, as_json),
            release=release,
            available=available,
            skip_unmapped=skip_unmapped,
            monthly=_text_of(monthly, as_json) if monthly is not None else None,
        )
    except TrackerError as exc:
        count = len(exc.problems)
        problems = [p.as_dict() for p in exc.problems]
        _fail(
            f"nothing imported: {count} problem{'s' if count != 1 else ''}",
            as_json=as_json,
            problems=problems,
        )
        raise AssertionError("unreachable") from exc
    except ScenarioError as exc:
        _fail(
            "the imported scenario is not valid",
            as_json=as_json,
            problems=[p.as_dict() for p in exc.problems],
        )
        raise AssertionError("unreachable") from exc
    try:
        write(imported.rows(), destination, fmt, force=force)
    except OutputExistsError as exc:
        _fail(str(exc), as_json=as_json)
    if as_json:
        print(json.dumps({"ok": True, "written": str(destination), **report.as_dict()}, indent=2))
        return
    out.print(
        f"imported {len(report.imported)}, skipped {len(report.skipped)}; wrote {destination}",
        highlight=False,
        markup=False,
    )
    for entry in report.imported:
        what = ", ".join(f"{k} {v}" for k, v in entry.items() if k != "table")
        out.print(f"  + {entry['table']}: {what}", highlight=False, markup=False)
    for entry in report.skipped:
        where = f"{entry['where']}: " if "where" in entry else ""
        out.print(f"  - {where}{entry['what']}: {entry['why']}", highlight=False, markup=False)
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    for month in report.monthly:
        out.print(
            f"  military aid {month['nation']} {month['month']}: {month['military_eur']:,.0f} EUR",
            highlight=False,
            markup=False,
        )


@app.command(short_help="Serve the workspace's REST API over a store.")
def serve(
    database: Database = "sqlite:///sustain.db",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    jobs: Annotated[
        int,
        typer.Option(help="Runs each server process carries out at once (each a process).", min=1),
    ] = 2,
    processes: Annotated[
        int, typer.Option(help="Server processes answering requests (one per core).", min=1)
    ] = 1,
    log_level: Annotated[
        str, typer.Option(help="warning, or info to log every request.")
    ] = "warning",
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json, docs at /docs) over the store: scenarios,
    runs as background jobs, their tables scoped by nation, users, tokens, the audit log.
    Every request but /health needs a bearer token (`sustain users add`)."""
    import uvicorn

    from sustain.api import create_app

    if log_level not in ("critical", "error", "warning", "info", "debug"):
        _fail(f'--log-level "{log_level}": use warning, info or debug', as_json=False)
    _in_store(database, False, lambda _: None)  # made or migrated once, before any server
    err.print(f"serving {escape(database)} at http://{host}:{port} (Ctrl-C stops)", highlight=False)
    if processes == 1:
        uvicorn.run(create_app(database, slots=jobs), host=host, port=port, log_level=log_level)
        return
    os.environ.update(SUSTAIN_DATABASE=database, SUSTAIN_JOBS=str(jobs))
    uvicorn.run(
        "sustain.api:app_from_environment",
        factory=True,
        workers=processes,
        host=host,
        port=port,
        log_level=log_level,
    )


@users.command("list", short_help="Every user, their nation and role.")
def users_list(database: Database = "sqlite:///sustain.db", as_json: JsonFlag = False) -> None:
    """Every user of the store with their nation and role."""
    people = _in_store(database, as_json, lambda store: store.users())
    if as_json:
        print(json.dumps([p.__dict__ for p in people], indent=2))
        return
    for person in people:
        out.print(f"{person.name}  {person.nation}  {person.role}", highlight=False, markup=False)


@users.command("token", short_help="A new token for a user, shown once.")
def users_token(
    name: Annotated[str, typer.Argument(help="The user.")],
    database: Database = "sqlite:///sustain.db",
    as_json: JsonFlag = False,
) -> None:
    """A new bearer token for a user (their others stay valid until revoked), shown once."""
    token = _in_store(database, as_json, lambda s: s.issue_token(name, by="sustain users token"))
    if as_json:
        print(json.dumps({"ok": True, "user": name, "token": token}, indent=2))
    else:
        out.print(token, highlight=False, markup=False)


@users.command("revoke", short_help="Revoke a token by its prefix.")
def users_revoke(
    prefix: Annotated[str, typer.Argument(help="The token's prefix (the part before the dot).")],
    database: Database = "sqlite:///sustain.db",
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token: refused from the next request on, by every server of the store."""
    _in_store(
        database,
        as_json,
        lambda s: s.revoke_token(prefix.partition(".")[0], by="sustain users revoke"),
    )
    if as_json:
        print(json.dumps({"ok": True, "revoked": prefix.partition(".")[0]}))
    else:
        out.print(f"revoked {prefix.partition('.')[0]}", highlight=False, markup=False)


def _hint(exc: typer.BadParameter) -> str | None:
    """The flag a bad value was given to, e.g. '--replications'."""
    param = exc.param
    return "/".join(param.opts) if param is not None and param.opts else exc.param_hint  # type: ignore[return-value]


def main() -> None:
    """The console script: usage errors (a flag out of range, a missing argument) exit 2 as
    JSON under --json; a missing optional package is one line saying how to install it."""
    as_json = "--json" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # typer's own click: a usage error
        if as_json:
            where = _hint(exc) if isinstance(exc, typer.BadParameter) else None
            problems = [{"where": where, "field": None, "message": exc.format_message()}]
            _report(exc.format_message(), as_json=True, problems=problems)
        elif hasattr(exc, "show"):
            exc.show()
        else:
            err.print(escape(exc.format_message()))
        sys.exit(exc.exit_code)
    except (MissingDependencyError, OutputError, OutputExistsError) as exc:
        _report(str(exc), as_json=as_json)
        sys.exit(2)
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    if code == 130:  # typer turns a Ctrl-C outside the engines' own handling into 130
        _report("interrupted before any result was finished", as_json=as_json)
    sys.exit(code if isinstance(code, int) else 0)

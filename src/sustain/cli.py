"""The `sustain` command line: thin wrappers over the library, no domain logic here.

Exit codes: 0 success, 2 bad input (every problem listed with its file, line and field).
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from sustain import industry as industry_engine
from sustain import summary
from sustain.execute import MissingDependencyError, require_executor
from sustain.network import compile_network
from sustain.output import OutputError, OutputExistsError, check_target
from sustain.plan import SOLVERS, PlanCheckError, PlanError, PlanOptions, bottleneck_gain
from sustain.plan import plan as make_plan
from sustain.resilience import ResilienceOptions
from sustain.resilience import resilience as run_resilience
from sustain.results import write_tables
from sustain.scenario import Scenario, ScenarioError, load
from sustain.scenario.writers import FORMATS, write, write_template
from sustain.simulate import DEFAULT_PRESET, PRESETS, SimulationOptions, Uncertainty, preset
from sustain.simulate import simulate as run_simulation
from sustain.simulate.optimise import SearchOptions, choose_levels

T = TypeVar("T")

app = typer.Typer(
    name="sustain",
    help="Plan and stress-test how a coalition keeps a partner force supplied.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
    Path | None, typer.Option("--out", help="Write every table as CSV and Parquet here.")
]
ForceFlag = Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")]
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


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", double_precision=15, date_format="iso"))  # type: ignore[no-any-return]


def _show(title: str, frame: pd.DataFrame) -> None:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(Text(_format(v)) for v in row))
    out.print(table)


def _format(value: Any) -> str:
    """One table cell: dates as YYYY-MM-DD ('-' for none and for missing figures), numbers to
    a sensible precision."""
    if value is pd.NaT or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(value)[:10]
    if isinstance(value, float):
        if value == float("inf"):
            return "∞"
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
        return text.removeprefix("-") if text.strip("-0.") == "" else text  # no "-0.00"
    return str(value)


@app.command()
def validate(path: ScenarioPath, as_json: JsonFlag = False) -> None:
    """Check a scenario and list every problem at once, each with file, line and field."""
    scenario = _load(path, as_json)
    network = compile_network(scenario)
    counts = summary.overview(network)
    if as_json:
        print(json.dumps({"ok": True, "problems": [], "summary": counts}, indent=2))
        return
    out.print(
        f"[bold green]valid[/]: {escape(str(path))} ({counts['sites']} sites, "
        f"{counts['lanes']} lanes, {counts['items']} items, {counts['formations']} formations, "
        f"{counts['periods']} periods: {counts['grid']})",
        highlight=False,
    )


@app.command()
def info(path: ScenarioPath, as_json: JsonFlag = False) -> None:
    """Summary tables: sites by kind and nation, lanes by mode, demand and supply by family."""
    network = compile_network(_load(path, as_json))
    tables = {
        "sites by kind and nation": summary.sites_by_kind(network),
        "lanes by mode": summary.lanes_by_mode(network),
        "demand by family (over the horizon, in the family's unit)": summary.demand_by_family(
            network
        ),
        "supply by family (over the horizon, in the family's unit)": summary.supply_by_family(
            network
        ),
    }
    if as_json:
        document: dict[str, Any] = {"ok": True, "overview": summary.overview(network)}
        for title, frame in tables.items():
            document[title.split(" (")[0].replace(" ", "_")] = _records(frame)
        print(json.dumps(document, indent=2))
        return
    overview = summary.overview(network)
    out.print(
        f"[bold]{escape(str(overview['name']))}[/]: from {overview['start']}, "
        f"{overview['days']} days in {overview['periods']} periods ({overview['grid']}); "
        + ", ".join(
            f"{v} {k.replace('_', ' ')}"
            for k, v in overview.items()
            if k not in ("name", "start", "days", "periods", "grid")
        ),
        highlight=False,
    )
    for title, frame in tables.items():
        _show(title, frame)


@app.command()
def export(
    path: ScenarioPath,
    to: Annotated[str, typer.Option("--to", help=f"Format to write: {', '.join(FORMATS)}.")],
    destination: Annotated[Path, typer.Argument(metavar="OUT", help="File or folder to write.")],
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Convert a scenario between YAML, a CSV folder and an Excel workbook, losing nothing."""
    fmt = to.lower().lstrip(".").replace("yml", "yaml").replace("excel", "xlsx")
    if fmt not in FORMATS:
        _fail(f'unknown format "{to}": use one of {", ".join(FORMATS)}', as_json=as_json)
    scenario = _load(path, as_json)
    try:
        write(scenario.rows(), destination, fmt, force=force)
    except OutputExistsError as exc:
        _fail(str(exc), as_json=as_json)
    if as_json:
        print(json.dumps({"ok": True, "written": str(destination), "format": fmt}))
    else:
        out.print(f"wrote {destination} ({fmt})", highlight=False, markup=False)


@app.command()
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


@app.command()
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
    top: Annotated[int, typer.Option(min=0, help="Rows to show in each summary table.")] = 10,
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """The optimal delivery plan (HiGHS), checked independently, and what limits it."""
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
    )
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    network = compile_network(_load(path, as_json))
    try:
        if as_json:
            result = make_plan(network, options)
        else:
            with err.status("planning") as status:
                result = make_plan(network, options, progress=lambda s: status.update(s))
    except (PlanError, PlanCheckError) as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    if out_dir is not None:
        write_tables(result.tables, out_dir, force=force)
    shortfalls = result.summary()
    limits = result.bottlenecks
    if as_json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "objective": result.objective,
                    "objective_parts": result.parts,
                    "weighted_shortfall": result.total_shortfall,
                    "explanation": result.explanation(),
                    "size": result.size,
                    "timings": result.timings,
                    "shortfall": _records(shortfalls),
                    "bottlenecks": _records(limits),
                    "investments": _records(result.tables["investments"])
                    if "investments" in result.tables
                    else [],
                    "written": str(out_dir) if out_dir else None,
                },
                indent=2,
                default=str,
            )
        )
        return
    size, timings = result.size, result.timings
    out.print(
        f"[bold]plan[/] of {escape(network.name)}: {size['columns']:,} variables, {size['rows']:,} "
        f"constraints; built in {timings['build_s']:.2f} s, solved in {timings['solve_s']:.2f} s, "
        f"checked in {timings['check_s']:.2f} s; weighted shortfall "
        f"{result.total_shortfall:,.0f}",
        highlight=False,
    )
    shown = shortfalls[shortfalls["shortfall"] > 1e-6].head(top).copy()
    # Ranked by weighted shortfall (priority x criticality), shown beside the units short.
    _show(
        "largest shortfalls (over the horizon, by weighted shortfall)",
        shown.rename(columns={"weighted_shortfall": "weighted"}),
    )
    shown_limits = pd.DataFrame(
        {
            "capacity": limits["name"],
            "one more": "+1 " + limits["unit"],
            "removes": [
                bottleneck_gain(r) if r["family"] else "-" for r in limits.to_dict("records")
            ],
            "weighted": limits["value_per_unit"],
            "binding periods": limits["binding_periods"].astype(int),
        }
    ).head(top)
    _show("what limits deliveries most (what one more unit of each capacity buys)", shown_limits)
    if "investments" in result.tables:
        _show("investments made (share of each option)", result.tables["investments"])
    out.print(result.explanation(), highlight=False, markup=False)
    if out_dir is not None:
        out.print(f"wrote every table to {out_dir} (CSV and Parquet)", markup=False)


def _read_plan(folder: Path, as_json: bool) -> dict[str, pd.DataFrame]:
    """The tables of a plan written by `sustain plan --out` (CSV or Parquet)."""
    tables: dict[str, pd.DataFrame] = {}
    for name in ("shipments", "consumption", "production", "shortfall"):
        parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if parquet.exists():
            tables[name] = pd.read_parquet(parquet)
        elif csv.exists():
            tables[name] = pd.read_csv(csv)
        else:
            _fail(
                f"{folder}: no {name}.csv or {name}.parquet (write one with sustain plan --out)",
                as_json=as_json,
            )
    return tables


# What the simulator and the level choice share: the policy's options, the noise, the costs.
CoverDays = Annotated[
    float, typer.Option(help="Order-up-to level, in days of demand beyond the lead time.")
]
Backorders = Annotated[bool, typer.Option(help="Carry unmet demand over.")]
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
    yield_cv: float | None,
    slip_probability: float | None,
) -> dict[str, float | None]:
    """The noise options of the command line, by the Uncertainty field each changes."""
    return {
        "demand_noise": demand_noise,
        "surge_probability": surge_probability,
        "asset_failure_probability": outage_probability,
        "transit_cv": transit_cv,
        "yield_cv": yield_cv,
        "slip_probability": slip_probability,
    }


def _noise_and_options(
    *,
    as_json: bool,
    uncertainty_preset: str,
    demand: str | None,
    noise: dict[str, float | None],
    family_shortage_cost: list[str] | None,
    **options: Any,
) -> tuple[Uncertainty, SimulationOptions]:
    """The uncertainty preset with the figures changed on the command line, and the options;
    a figure out of range fails with exit 2."""
    try:
        changes: dict[str, Any] = {k: v for k, v in noise.items() if v is not None}
        yield_cv = noise.get("yield_cv")
        if yield_cv is not None:  # the mean yield falls as its variation grows
            changes["yield_mean"] = 1.0 - yield_cv if yield_cv > 0 else 1.0
        uncertainty = preset(uncertainty_preset, demand, **changes)
        settings = SimulationOptions(
            family_shortage_costs=_family_costs(family_shortage_cost or []), **options
        )
    except ValueError as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    return uncertainty, settings


@app.command()
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
    uncertainty_preset: UncertaintyPreset = DEFAULT_PRESET,
    demand: DemandShape = None,
    demand_noise: DemandNoise = None,
    surge_probability: SurgeProbability = None,
    outage_probability: OutageProbability = None,
    transit_cv: TransitCv = None,
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
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Monte Carlo of sustainment: how likely each formation is to run short, when, by how much."""
    _check_executor(executor, as_json)
    if plan_dir is None and policy not in ("base-stock", "s-S"):
        _fail(f'unknown policy "{policy}": use base-stock or s-S', as_json=as_json)
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    network = compile_network(_load(path, as_json))
    plan_tables = _read_plan(plan_dir, as_json) if plan_dir is not None else None
    uncertainty, options = _noise_and_options(
        as_json=as_json,
        uncertainty_preset=uncertainty_preset,
        demand=demand,
        noise=_noise(
            demand_noise,
            surge_probability,
            outage_probability,
            transit_cv,
            yield_cv,
            slip_probability,
        ),
        family_shortage_cost=family_shortage_cost,
        policy="plan" if plan_tables is not None else policy,
        cover_days=cover_days,
        reorder_days=reorder_days,
        backorders=backorders,
        position=position,
        holding_cost=holding_cost,
        ordering_cost=ordering_cost,
        shortage_cost=shortage_cost,
    )
    start = time.perf_counter()
    try:
        run = functools.partial(
            run_simulation,
            network,
            replications,
            seed,
            uncertainty,
            options,
            plan_tables,
            executor=executor,
            workers=workers,
            address=address,
        )
        if as_json:
            result = run()
        else:
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("simulating", total=replications)
                result = run(progress=lambda done, _: bar.update(task, completed=done))
    except (KeyError, ValueError) as exc:
        what = "the plan" if plan_tables is not None else "the policy"
        _fail(f"cannot simulate {what}: {exc}", as_json=as_json)
        raise AssertionError("unreachable") from exc
    seconds = time.perf_counter() - start
    with _finishing(f"the tables of the {result.finished:,} replications finished"):
        tables = result.tables
        if out_dir is not None:
            write_tables(tables, out_dir, force=force)
    summary = tables["shortfall"]
    totals = result.weighted_shortfall
    per_replication = tables["replications"]
    costs = {  # means over the replications
        kind: float(per_replication[f"{kind}_cost_eur"].mean())
        for kind in ("holding", "ordering", "shortage")
    }
    stock = tables["stock"]
    last_stock = stock[stock["day"] == stock["day"].max()].drop(columns="day")
    if as_json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "replications": result.finished,
                    "interrupted": result.interrupted,
                    "seconds": seconds,
                    "weighted_shortfall": {
                        f"p{p}": float(np.percentile(totals, p)) for p in (5, 50, 95)
                    },
                    "costs_eur": costs,
                    "shortfall": _records(summary),
                    "stock_last_day": _records(last_stock),
                    "written": str(out_dir) if out_dir else None,
                },
                indent=2,
                default=str,
            )
        )
        return
    note = " (interrupted)" if result.interrupted else ""
    out.print(
        f"simulated {result.finished:,} of {replications:,} replications{note} of "
        f"{network.n_days} days in {seconds:.1f} s (seed {seed}); weighted shortfall "
        f"p5 {np.percentile(totals, 5):,.0f}, median {np.percentile(totals, 50):,.0f}, "
        f"p95 {np.percentile(totals, 95):,.0f}",
        highlight=False,
    )
    if any(costs.values()):
        out.print(
            "mean cost a replication: "
            + ", ".join(f"{kind} {value:,.0f} EUR" for kind, value in costs.items()),
            highlight=False,
        )
    shown = [
        "formation", "family", "unit", "nominal_demand", "fill_rate", "probability_short",
        "median_first_short", "mean_shortfall", "p95_shortfall", "mean_backlog_days",
    ]  # fmt: skip
    _show(
        "chance and size of shortfall over the horizon (largest share of demand first)",
        summary[shown].head(top),
    )
    # Stock left at the sites that order, fewest days of what they serve first.
    cell = (
        [network.sites.names.index(x) for x in last_stock["site"]],
        [network.items.names.index(x) for x in last_stock["item"]],
    )
    served = result.setup.served[cell]
    orders = (result.setup.supplier_lane[cell] >= 0) & (served > 0)
    kept = last_stock.assign(days_served=last_stock["p50"] / np.where(orders, served, np.nan))
    kept = kept[orders].sort_values("days_served")
    if not kept.empty:
        _show(
            f"stock on hand on the last recorded day ({kept['date'].iloc[0]:%Y-%m-%d}) where "
            "sites order, fewest days of the demand they serve first",
            kept[["site", "item", "unit", "p5", "p50", "p95", "days_served"]].head(top),
        )
    fleet = tables["fleet"]
    if not fleet.empty:
        last = fleet[fleet["day"] == fleet["day"].max()].sort_values("mean")
        _show(
            "share of each fleet available on the last day (repair loop)",
            last[["system", "mean", "p5", "p50", "p95"]].head(top),
        )


@app.command()
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
    yield_cv: YieldCv = None,
    slip_probability: SlipProbability = None,
    holding_cost: HoldingCost = 0.0,
    ordering_cost: OrderingCost = 0.0,
    shortage_cost: ShortageCost = 0.0,
    family_shortage_cost: FamilyShortageCost = None,
    workers: Workers = None,
    out_dir: OutDir = None,
    top: Annotated[int, typer.Option(min=0, help="Rows to show in the levels table.")] = 15,
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Choose base-stock levels per site and item, judged against the days-of-cover rule."""
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    network = compile_network(_load(path, as_json))
    uncertainty, options = _noise_and_options(
        as_json=as_json,
        uncertainty_preset=uncertainty_preset,
        demand=demand,
        noise=_noise(
            demand_noise,
            surge_probability,
            outage_probability,
            transit_cv,
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
    try:
        if as_json:
            choice = choose_levels(network, options, uncertainty, search, workers=workers)
        else:
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("searching", total=None)
                choice = choose_levels(
                    network,
                    options,
                    uncertainty,
                    search,
                    workers=workers,
                    progress=lambda done, score: bar.update(
                        task,
                        completed=done,
                        description=f"searching: {done:,} candidates run, score {score:,.6g}",
                    ),
                )
    except ValueError as exc:
        _fail(f"cannot choose levels: {exc}", as_json=as_json)
        raise AssertionError("unreachable") from exc
    if out_dir is not None:
        write_tables(choice.tables, out_dir, force=force)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "method": choice.method,
                    "note": choice.note,
                    "exact_cost_per_day_eur": choice.exact_cost_per_day,
                    "cover_days_same_stock": choice.cover_days_same_stock,
                    "evaluations": choice.evaluations,
                    "interrupted": choice.interrupted,
                    "seconds": choice.seconds,
                    "comparison": _records(choice.comparison),
                    "levels": _records(choice.levels),
                    "fill_rates": _records(choice.fill_rates),
                    "written": str(out_dir) if out_dir else None,
                },
                indent=2,
                default=str,
            )
        )
        return
    why = f" ({choice.note})" if choice.note else ""
    if choice.interrupted:
        why += " (interrupted: the best levels found so far)"
    out.print(
        f"{choice.method}{why}: {choice.evaluations:,} candidates of {search.replications} "
        f"replications each in {choice.seconds:.1f} s; judged on "
        f"{search.evaluation_replications} fresh replications (seed {seed + 1})",
        highlight=False,
    )
    shown = [
        "policy", "levels_t", "mean_stock_t", "cost_eur", "cost_low_eur", "cost_high_eur",
        "shortage_eur", "lowest_fill_rate",
    ]  # fmt: skip
    _show(
        "the chosen levels against the days-of-cover rule (cost: mean and 95% interval)",
        choice.comparison[shown],
    )
    levels = choice.levels
    mass = network.item_mass[[network.items.names.index(i) for i in levels["item"]]]
    moved = levels.assign(change_t=(levels["level"] - levels["start_level"]).abs() * mass)
    moved = moved[moved["change_t"] > 0].sort_values("change_t", ascending=False)
    _show(
        f"{len(moved)} of {len(levels)} levels moved from the scenario's (most tonnes first)",
        moved[["site", "item", "unit", "start_level", "level", "level_days"]].head(top),
    )


def _family_costs(pairs: list[str]) -> tuple[tuple[str, float], ...]:
    """FAMILY=EUR options as (family, EUR) pairs."""
    costs = []
    for pair in pairs:
        family, _, figure = pair.partition("=")
        try:
            cost = float(figure)
        except ValueError:
            raise ValueError(f'--family-shortage-cost "{pair}": write FAMILY=EUR') from None
        if not family or cost < 0 or not np.isfinite(cost):
            raise ValueError(f'--family-shortage-cost "{pair}": write FAMILY=EUR, EUR >= 0')
        costs.append((family, cost))
    return tuple(costs)


@app.command()
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
    executor: Executor = "local",
    address: RayAddress = None,
    workers: Workers = None,
    out_dir: OutDir = None,
    top: Annotated[int, typer.Option(min=0, help="Rows to show in the ranked table.")] = 10,
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Knock out each asset (and pair with --k 2): shortfall added, time-to-survive against
    time-to-recover, and the smallest sets of assets that cut each front off."""
    _check_executor(executor, as_json)
    options = _options(
        ResilienceOptions,
        as_json,
        k=k,
        loss_day=loss_day,
        assets=tuple(asset) if asset else None,
        screen=screen,
        check=check,
    )
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    network = compile_network(_load(path, as_json))
    start = time.perf_counter()
    try:
        run = functools.partial(
            run_resilience, network, options, executor=executor, workers=workers, address=address
        )
        if as_json:
            result = run()
        else:
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("planning", total=None)
                result = run(
                    progress=lambda what, done, total: bar.update(
                        task, description=what, completed=done, total=total
                    )
                )
    except (ValueError, PlanError) as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    seconds = time.perf_counter() - start
    if out_dir is not None:
        with _finishing("the tables of the cases re-planned"):
            write_tables(result.tables, out_dir, force=force)
    ranked = result.cases
    if as_json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "interrupted": result.interrupted,
                    "seconds": seconds,
                    "counts": result.counts,
                    "base_weighted_shortfall": result.base_weighted_shortfall,
                    "cases": _records(ranked),
                    "cuts": _records(result.cuts),
                    "mitigations": _records(result.mitigations),
                    "written": str(out_dir) if out_dir else None,
                },
                indent=2,
                default=str,
            )
        )
        return
    counts = result.counts
    if result.interrupted:
        out.print(
            f"interrupted: {counts['not_run']:,} of {counts['cases']:,} cases not re-planned "
            "(listed unranked, as not run); no mitigation tried",
            highlight=False,
        )
    out.print(
        f"{counts['cases']:,} knock-out cases from day {loss_day:g} in {seconds:.1f} s: "
        f"{counts['solves']:,} re-solves, {counts['settled_without_solving']:,} settled by a plan "
        f"that avoids the loss; {len(result.vulnerabilities)} vulnerabilities (time to recover "
        "longer than time to survive); the base plan's weighted shortfall "
        f"{result.base_weighted_shortfall:,.0f}",
        highlight=False,
    )
    columns = [
        "rank",
        "case",
        "kinds",
        "weighted_shortfall_added",
        "time_to_recover_days",
        "time_to_survive_days",
        "gap_days",
        "vulnerable",
        "first_hit_date",
        "first_hit",
    ]
    if k == 2:
        columns.insert(3, "same_as")
    if network.mitigations:
        columns.append("cheapest_mitigation")
    _show(
        "knock-out cases, by shortfall added, then by gap (recovery less survival)"
        + (" (pairs the same as one of their assets last, unranked)" if k == 2 else ""),
        ranked[columns].head(top),
    )
    _show("smallest asset cuts of each front", result.cuts)
    if len(result.mitigations):
        shown = result.mitigations.groupby("case", sort=False).head(3)  # the best few per case
        _show(
            "mitigations of vulnerabilities and single points of failure, cheapest full fix first",
            shown.drop(columns=["name", "time_to_recover_days"]),
        )


@app.command()
def industry(
    path: ScenarioPath,
    out_dir: OutDir = None,
    every: Annotated[
        int, typer.Option(min=1, help="Days between the dates of the lead-time table.")
    ] = 91,
    by_priority: Annotated[
        bool, typer.Option("--priority", help="Serve order books by priority, not FIFO.")
    ] = False,
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Order books and lead times of every line; stockpiles' floor and rebuild dates under the
    optimal plan."""
    _refuse_to_overwrite(out_dir, force=force, as_json=as_json)
    network = compile_network(_load(path, as_json))
    days = np.arange(0, network.n_days, every)
    try:
        optimal = make_plan(network)
    except (PlanError, PlanCheckError) as exc:
        _fail(str(exc), as_json=as_json)
        raise AssertionError("unreachable") from exc
    drawdown = optimal.inventory
    tables = {
        **industry_engine.race(network, optimal.consumption),
        "lead_times": industry_engine.lead_times(network, days),
        "orders": industry_engine.order_schedule(network, priority=by_priority),
        "stockpiles": industry_engine.stockpile_dates(network, drawdown),
    }
    if len(network.investments):
        tables["investments"] = industry_engine.evaluate_investments(network, base=optimal)
    if out_dir is not None:
        write_tables(tables, out_dir, force=force)
    if as_json:
        print(json.dumps({"ok": True, **{k: _records(v) for k, v in tables.items()}}, indent=2))
        return
    lead = tables["lead_times"]
    wide = lead.pivot(index="line", columns="date", values="lead_time_months")
    wide.columns = [str(c)[:10] for c in wide.columns]
    _show("lead time a new order faces (months), by line and date", wide.reset_index())
    summary_table = tables["race_summary"].copy()
    crossing = tables["race_crossover"]
    summary_table["production_catches_up"] = [
        _crossing_text(crossing[crossing["family"] == family]) for family in summary_table["family"]
    ]
    _show("the race: expenditure against production, per day over the horizon", summary_table)
    piles = tables["stockpiles"]
    piles = piles[piles["floor"] > 0].copy()
    _show("donor stockpiles under the optimal plan", piles)
    if "investments" in tables:
        options = tables["investments"].copy()
        _show("investment options against none (shortfall over the horizon)", options)
    if not tables["orders"].empty:
        orders = tables["orders"].copy()
        orders["lead_time_months"] = orders["lead_time_days"] / (365.25 / 12)
        _show("order books", orders.drop(columns=["lead_time_days"]))


def _crossing_text(rows: pd.DataFrame) -> str:
    """'never' or the first date, without investment and with the best option."""
    if rows.empty:
        return "-"
    dates = {str(r["investment"]): r["cross_over"] for r in rows.to_dict("records")}
    plain = dates.pop("none", pd.NaT)
    text = "never" if pd.isna(plain) else _format(plain)
    reached = {k: v for k, v in dates.items() if not pd.isna(v)}
    if reached:
        best = min(reached, key=lambda k: reached[k])
        text += f" ({_format(reached[best])} with {best})"
    elif dates:
        text += " (nor with any option)"
    return text


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

"""The service layer: one function per engine, from a scenario (and options) to a Run. The
command line and the API call these and only render what they return; nothing here prints.

Each function compiles the scenario once, runs its engine, and puts the engine's tables, its
headline figures and its notes into a Run that records the scenario's digest, the options,
the seed and the time taken."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sustain import pledges, summary
from sustain.network import Network, compile_network, overview
from sustain.options import (
    PlanOptions,
    ResilienceOptions,
    SearchOptions,
    SimulationOptions,
    Uncertainty,
)
from sustain.results import Run
from sustain.scenario import Scenario

if TYPE_CHECKING:
    from sustain.report import ReportRuns

PLAN_TABLES_SIMULATED = ("shipments", "consumption", "production", "shortfall")


def digest(scenario: Scenario) -> str:
    """SHA-256 of the scenario's canonical rows: the same for the same scenario written as
    YAML, a CSV folder or a workbook."""
    text = json.dumps(
        scenario.rows(as_written=False), sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# What a run says of its time grid: a plan is replayed only on the grid it was made on.
GRID = ("start", "days", "periods", "grid")


def _scenario(scenario: Scenario, source: Path | str | None) -> dict[str, Any]:
    from sustain.timegrid import bucket_edges, describe

    settings = scenario.scenario
    days = round(settings.horizon)
    reference: dict[str, Any] = {
        "name": settings.name,
        "digest": digest(scenario),
        "start": settings.start.isoformat(),
        "days": days,
        "periods": int(bucket_edges(settings.period, settings.start, days).size - 1),
        "grid": describe(settings.period),
    }
    if source is not None:
        reference["source"] = str(source)
    return reference


def _same_grid(plan: Run, scenario: Scenario) -> None:
    """Refuse a plan made on another time grid (start, horizon or periods) than the
    scenario's: its periods would be read as other days."""
    ours = _scenario(scenario, None)
    theirs = {key: plan.scenario.get(key) for key in GRID}
    if any(value is None for value in theirs.values()):
        return  # an older run, without its grid: the tables are checked (simulate.setup)
    if any(theirs[key] != ours[key] for key in GRID):
        raise ValueError(
            f"the plan does not fit this scenario: {plan.id} was made for {theirs['days']} days "
            f"from {theirs['start']} in {theirs['periods']} periods ({theirs['grid']}), this "
            f"scenario has {ours['days']} days from {ours['start']} in {ours['periods']} "
            f"periods ({ours['grid']}) (plan it again)"
        )


def _options(options: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        return dataclasses.asdict(options)
    return dict(options)


def info_run(scenario: Scenario, *, source: Path | str | None = None) -> Run:
    """What a scenario holds: sites by kind and nation, lanes by mode, demand and supply by
    family (the summary), and every site, lane, asset, formation and line (where they are
    and whose: for maps and for nation-scoped access)."""
    start = time.perf_counter()
    network = compile_network(scenario)
    tables = {
        "sites_by_kind": summary.sites_by_kind(network),
        "lanes_by_mode": summary.lanes_by_mode(network),
        "demand_by_family": summary.demand_by_family(network),
        "supply_by_family": summary.supply_by_family(network),
        "sites": summary.sites(network),
        "lanes": summary.lanes(network),
        "assets": summary.assets(network),
        "formations": summary.formations(network),
        "lines": summary.lines(network),
        **pledges.tables(scenario),
    }
    return Run(
        engine="info",
        scenario=_scenario(scenario, source),
        options={},
        tables=tables,
        figures=overview(network),
        timings={"total_s": time.perf_counter() - start},
        summary=("sites_by_kind", "lanes_by_mode", "demand_by_family", "supply_by_family"),
    )


def plan_run(
    scenario: Scenario,
    options: PlanOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    source: Path | str | None = None,
    network: Network | None = None,
) -> Run:
    """The optimal, independently checked delivery plan (sustain.plan) as a Run."""
    from sustain.plan import plan

    start = time.perf_counter()
    options = options or PlanOptions()
    network = network or compile_network(scenario, upside=options.upside)
    made = plan(network, options, progress)
    tables = {**made.tables, "shortfall_by_formation": made.summary()}
    shown = ["shortfall_by_formation", "bottlenecks"]
    if "investments" in tables:
        shown.append("investments")
    return Run(
        engine="plan",
        scenario=_scenario(scenario, source),
        options=_options(options),
        tables=tables,
        figures={
            "objective": made.objective,
            "objective_parts": made.parts,
            "weighted_shortfall": made.total_shortfall,
            "transport_cost_eur": float(made.tables["shipments"]["cost_eur"].sum()),
            "shipped_t": float(made.tables["shipments"]["tonnes"].sum()),
        },
        counts=dict(made.size),
        timings={**made.timings, "total_s": time.perf_counter() - start},
        notes={"explanation": made.explanation()},
        summary=tuple(shown),
    )


def industry_run(
    scenario: Scenario,
    *,
    every_days: int = 91,
    by_priority: bool = False,
    upside: bool = False,
    source: Path | str | None = None,
) -> Run:
    """Order books and lead times of every line (a lead-time row every `every_days` days),
    the race between expenditure and production under the optimal plan, the stockpiles'
    floor and rebuild dates, and each investment option against none."""
    from sustain import industry
    from sustain.plan import plan

    start = time.perf_counter()
    network = compile_network(scenario, upside=upside)
    optimal = plan(network, PlanOptions(upside=upside))
    planned = time.perf_counter()
    tables = {
        **industry.race(network, optimal.consumption),
        "lead_times": industry.lead_times(network, np.arange(0, network.n_days, every_days)),
        "orders": industry.order_schedule(network, priority=by_priority),
        "stockpiles": industry.stockpile_dates(network, optimal.inventory),
    }
    if len(network.investments):
        tables["investments"] = industry.evaluate_investments(network, base=optimal)
    shown = ("lead_times", "race_summary", "race_crossover", "stockpiles", "orders")
    return Run(
        engine="industry",
        scenario=_scenario(scenario, source),
        options={"every_days": every_days, "by_priority": by_priority, "upside": upside},
        tables=tables,
        figures={"weighted_shortfall": optimal.total_shortfall},
        timings={"plan_s": planned - start, "total_s": time.perf_counter() - start},
        summary=shown + (("investments",) if "investments" in tables else ()),
    )


def simulate_run(
    scenario: Scenario,
    *,
    replications: int = 100,
    seed: int = 0,
    uncertainty: Uncertainty | None = None,
    options: SimulationOptions | None = None,
    plan: Run | None = None,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    finishing: Callable[[int], Any] | None = None,
    source: Path | str | None = None,
) -> Run:
    """A Monte Carlo run (sustain.simulate) as a Run: of a replenishment policy, or of a plan
    Run executed day by day. A Ctrl-C keeps the replications finished. `finishing(done)`, if
    given, is a context manager entered while the tables are made (the CLI's Ctrl-C guard)."""
    import contextlib

    from sustain.simulate import simulate

    start = time.perf_counter()
    options = options or SimulationOptions(policy="plan" if plan is not None else "base-stock")
    network = compile_network(scenario, upside=options.upside)
    notes = {}
    plan_tables = None
    if plan is not None:
        if plan.engine != "plan":
            raise ValueError(f"the run {plan.id} is of sustain {plan.engine}, not a plan")
        plan_tables = {name: plan[name] for name in PLAN_TABLES_SIMULATED}
        _same_grid(plan, scenario)
        ours = digest(scenario)
        if plan.scenario.get("digest") not in (None, ours):
            notes["plan"] = (
                f"the plan {plan.id} was made for another version of the scenario "
                f"(digest {str(plan.scenario.get('digest'))[:12]}, this one {ours[:12]})"
            )
    result = simulate(
        network,
        replications,
        seed,
        uncertainty,
        options,
        plan_tables,
        executor=executor,
        workers=workers,
        address=address,
        progress=progress,
    )
    simulated = time.perf_counter()
    guard = finishing(result.finished) if finishing is not None else contextlib.nullcontext()
    with guard:
        tables = result.tables
    totals = result.weighted_shortfall
    per_replication = tables["replications"]
    if result.interrupted:
        notes["interrupted"] = (
            f"interrupted: {result.finished:,} of {replications:,} replications finished"
        )
    return Run(
        engine="simulate",
        scenario=_scenario(scenario, source),
        options={
            **_options(result.options),
            "uncertainty": _options(result.uncertainty),
            "replications": replications,
            "executor": executor,
            "plan": plan.id if plan is not None else None,
        },
        seed=seed,
        tables=tables,
        figures={
            "replications": result.finished,
            "interrupted": result.interrupted,
            "days": network.n_days,
            "weighted_shortfall": {f"p{p}": float(np.percentile(totals, p)) for p in (5, 50, 95)},
            "costs_eur": {  # means over the replications
                kind: float(per_replication[f"{kind}_cost_eur"].mean())
                for kind in ("holding", "ordering", "shortage")
            },
        },
        counts={"replications": result.finished, "requested": replications},
        timings={"simulate_s": simulated - start, "total_s": time.perf_counter() - start},
        notes=notes,
        summary=("shortfall", "stock_left"),
    )


def policy_run(
    scenario: Scenario,
    *,
    options: SimulationOptions | None = None,
    uncertainty: Uncertainty | None = None,
    search: SearchOptions | None = None,
    workers: int | None = None,
    progress: Callable[[int, float], None] | None = None,
    source: Path | str | None = None,
) -> Run:
    """Base-stock levels per site and item (sustain.simulate.optimise) against the
    days-of-cover rule, as a Run."""
    from sustain.simulate.optimise import choose_levels

    start = time.perf_counter()
    search = search or SearchOptions()
    network = compile_network(scenario, upside=options is not None and options.upside)
    choice = choose_levels(
        network, options, uncertainty, search, workers=workers, progress=progress
    )
    notes = {"method": choice.method}
    if choice.note:
        notes["why"] = choice.note
    if choice.interrupted:
        notes["interrupted"] = "interrupted: the best levels found so far"
    return Run(
        engine="policy",
        scenario=_scenario(scenario, source),
        options={**(_options(options) if options is not None else {}), "search": _options(search)},
        seed=search.seed,
        tables=choice.tables,
        figures={
            "method": choice.method,
            "exact_cost_per_day_eur": choice.exact_cost_per_day,
            "cover_days_same_stock": choice.cover_days_same_stock,
            "evaluations": choice.evaluations,
            "interrupted": choice.interrupted,
        },
        counts={"evaluations": choice.evaluations, "rounds": choice.rounds},
        timings={"search_s": choice.seconds, "total_s": time.perf_counter() - start},
        notes=notes,
        summary=("comparison", "levels", "fill_rates"),
    )


def resilience_run(
    scenario: Scenario,
    options: ResilienceOptions | None = None,
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    source: Path | str | None = None,
) -> Run:
    """Every knock-out case, the fronts' smallest cuts and the mitigations (sustain.
    resilience) as a Run."""
    from sustain.resilience import resilience

    start = time.perf_counter()
    options = options or ResilienceOptions()
    network = compile_network(scenario, upside=options.plan_options.upside)
    result = resilience(
        network, options, executor=executor, workers=workers, address=address, progress=progress
    )
    notes = {}
    if result.interrupted:
        notes["interrupted"] = (
            f"interrupted: {result.counts['not_run']:,} of {result.counts['cases']:,} cases "
            "not re-planned (listed unranked, as not run); no mitigation tried"
        )
    return Run(
        engine="resilience",
        scenario=_scenario(scenario, source),
        options={**_options(options), "executor": executor},
        tables=result.tables,
        figures={
            "base_weighted_shortfall": result.base_weighted_shortfall,
            "vulnerabilities": len(result.vulnerabilities),
            "interrupted": result.interrupted,
            "mitigation_options": len(network.mitigations),
        },
        counts=dict(result.counts),
        timings={**result.timings, "total_s": time.perf_counter() - start},
        notes=notes,
        summary=("cases", "cuts", "mitigations"),
    )


def compare_run(a: Run, b: Run) -> Run:
    """Two runs of one engine side by side, with the differences (sustain.compare)."""
    from sustain.compare import compare

    return compare(a, b)


# The runs a report reads, by role, and the engine each comes from.
REPORT_ENGINES = {
    "plan": "plan",
    "simulation": "simulate",
    "resilience": "resilience",
    "industry": "industry",
}


def report_runs(
    scenario: Scenario,
    *,
    given: dict[str, Run] | None = None,
    replications: int = 256,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    source: Path | str | None = None,
) -> ReportRuns:
    """The runs a report reads: those `given` (by role: plan, simulation, resilience,
    industry; each must be of its engine and of this scenario's version and grid), the rest
    run here with their defaults (the simulation with `replications` and `seed`)."""
    from sustain.report import ReportRuns

    given = dict(given or {})
    ours = digest(scenario)
    for role, run in given.items():
        if run.engine != REPORT_ENGINES[role]:
            raise ValueError(f"the run {run.id} given as the {role} is of sustain {run.engine}")
        if run.scenario.get("digest") not in (None, ours):
            raise ValueError(
                f"the run {run.id} given as the {role} was made for another version of the "
                f"scenario (digest {str(run.scenario.get('digest'))[:12]}, this one {ours[:12]})"
            )
        _same_grid(run, scenario)  # an older run without a digest: its grid at least

    def step(what: str) -> None:
        if progress is not None:
            progress(what)

    runs: dict[str, Run] = {}
    step("reading the scenario's sites, lanes and assets")
    runs["info"] = info_run(scenario, source=source)
    makers: dict[str, Callable[[], Run]] = {
        "plan": lambda: plan_run(scenario, source=source),
        "industry": lambda: industry_run(scenario, source=source),
        "simulation": lambda: simulate_run(
            scenario, replications=replications, seed=seed, source=source
        ),
        "resilience": lambda: resilience_run(scenario, source=source),
    }
    for role, make in makers.items():
        if role in given:
            runs[role] = given[role]
        else:
            step(f"running {REPORT_ENGINES[role]}")
            runs[role] = make()
    return ReportRuns(**runs)


class UnknownPledgeError(LookupError):
    """A pledge the scenario does not have."""


@dataclasses.dataclass(frozen=True)
class PledgeStep:
    """A pledge moved on by one event: the scenario it makes, that scenario's file (YAML),
    the pledge's donor, and its state (how much in each status) before and after."""

    scenario: Scenario
    content: bytes
    donor: str
    before: dict[str, Any]
    after: dict[str, Any]


def add_pledge_event(filename: str, content: bytes, event: dict[str, Any]) -> PledgeStep:
    """A scenario version (its file) with one more event of a pledge's lifecycle appended.
    Changes nothing: the caller stores the result. The event is checked as every event is
    (sustain.pledges): one that does not fit raises ScenarioError with its problems, said of
    the event; an unknown pledge raises UnknownPledgeError."""
    from sustain.scenario import ScenarioError
    from sustain.scenario.errors import Problem
    from sustain.scenario.upload import load_bytes

    before = load_bytes(filename, content)
    pledge = str(event.get("pledge"))
    donor = next((p.donor for p in before.pledges if p.id == pledge), None)
    if donor is None:
        raise UnknownPledgeError(f'no pledge "{pledge}" in the scenario')
    event = {key: value for key, value in event.items() if value is not None}
    rows = before.rows()
    rows["pledge_events"] = [*rows.get("pledge_events", []), event]
    try:
        after, written = scenario_of_rows(rows)
    except ScenarioError as exc:
        # Said of the event, not of a file the caller never saw.
        raise ScenarioError([Problem("event", p.field, p.message) for p in exc.problems]) from None
    return PledgeStep(
        after, written, donor, _pledge_state(before, pledge), _pledge_state(after, pledge)
    )


def scenario_of_rows(rows: dict[str, list[dict[str, Any]]]) -> tuple[Scenario, bytes]:
    """Rows as a scenario's tables are written (Scenario.rows), validated as a file would be:
    the Scenario and its file (YAML); ScenarioError with every problem."""
    import tempfile

    from sustain.scenario.upload import load_bytes
    from sustain.scenario.writers import write_yaml

    with tempfile.TemporaryDirectory(prefix="sustain-rows-") as folder:
        path = Path(folder) / "scenario.yaml"
        write_yaml(rows, path)
        written = path.read_bytes()
    return load_bytes("scenario.yaml", written), written


def import_kiel(
    scenario: Scenario,
    weapons: tuple[str, str],
    mapping: tuple[str, str],
    *,
    release: str,
    available: str | None = None,
    skip_unmapped: bool = False,
    monthly: tuple[str, str] | None = None,
) -> tuple[Scenario, bytes, Any]:
    """A Kiel Institute Ukraine Support Tracker release (its heavy weapons, and its monthly
    totals for the report; each a file's name and text) imported into a scenario through a
    mapping (sustain.imports.kiel): the new scenario, its file (YAML) and the report. Raises
    TrackerError with every located problem (nothing imported) for names the mapping does
    not cover, unless `skip_unmapped`."""
    from sustain.imports.kiel import import_release

    rows, report = import_release(
        scenario.rows(),
        weapons,
        mapping,
        release=release,
        available=available or scenario.scenario.start.isoformat(),
        skip_unmapped=skip_unmapped,
        monthly_file=monthly,
    )
    imported, content = scenario_of_rows(rows)
    return imported, content, report


def _pledge_state(scenario: Scenario, pledge: str) -> dict[str, Any]:
    table = pledges.tables(scenario)["pledges"]
    row = table[table["pledge"] == pledge].iloc[0]
    return {status: float(row[status]) for status in pledges.STATUSES}

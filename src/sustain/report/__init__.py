"""The report: one self-contained HTML file that answers, at a glance, where and when each
formation runs short, what limits it, how the race goes per family and which assets matter
most. It reads Runs (and their tables) only: `build(ReportRuns(...))` gives the page, and the
same charts come from `run.plot` in a notebook.

`sustain report PATH` runs what it is not given (sustain.service) and writes the page."""

from __future__ import annotations

from dataclasses import dataclass

from sustain.report import charts
from sustain.report.page import Section, figure_table, render
from sustain.report.page import table as page_table
from sustain.results import Run

__all__ = ["ReportRuns", "build", "build_compare", "sections"]


@dataclass(frozen=True)
class ReportRuns:
    """The runs a report reads: info (the sites, lanes and assets, for the map) and a plan
    always; a simulation, a resilience sweep and an industry run where given."""

    info: Run
    plan: Run
    simulation: Run | None = None
    resilience: Run | None = None
    industry: Run | None = None

    def all(self) -> list[Run]:
        runs = [self.info, self.plan, self.simulation, self.resilience, self.industry]
        return [run for run in runs if run is not None]


def _headline(runs: ReportRuns) -> str:
    plan = runs.plan
    short = plan["shortfall_by_formation"]
    pairs_short = int((short["shortfall"] > 1e-6).sum())
    rows = [
        (
            "weighted shortfall (plan; units short x priority x criticality)",
            f"{plan.figures['weighted_shortfall']:,.0f}",
        ),
        ("formation-family pairs short (plan)", f"{pairs_short} of {len(short)}"),
    ]
    if runs.simulation is not None:
        totals = runs.simulation.figures["weighted_shortfall"]
        spread = f"{totals['p5']:,.0f} / {totals['p50']:,.0f} / {totals['p95']:,.0f}"
        rows.append(("weighted shortfall (simulated p5 / median / p95)", spread))
    if runs.resilience is not None:
        cases = runs.resilience["cases"]
        vulnerable = cases["vulnerable"].fillna(False).astype(bool)
        rows.append(("knock-out cases vulnerable", f"{int(vulnerable.sum())} of {len(cases)}"))
    return figure_table(rows)


def _largest_shortfalls(plan: Run, top: int = 8) -> str:
    """The plan's largest shortfalls by weighted shortfall, in each family's units."""
    every = plan["shortfall_by_formation"]
    every = every[every["shortfall"] > 1e-6]
    short = every.head(top)
    rows = [
        [
            str(r["formation"]),
            str(r["family"]),
            f"{charts.figure_text(r['shortfall'])} {r['unit']}",
            charts.figure_text(r["weighted_shortfall"]),
            f"{r['fill_rate']:.0%}" if r["fill_rate"] == r["fill_rate"] else "-",
            f"{r['first_short']:%Y-%m-%d}" if r["first_short"] == r["first_short"] else "-",
        ]
        for r in short.to_dict("records")
    ]
    header = [
        "formation",
        "family",
        "short over the horizon",
        "weighted",
        "fill rate",
        "first short",
    ]
    caption = (
        f'<p class="note">The {len(short)} largest of {len(every)} shortfalls, by weighted '
        "shortfall (units short x priority x criticality).</p>"
    )
    return caption + page_table(header, rows) if rows else ""


def sections(runs: ReportRuns) -> list[Section]:
    """The report's sections, in the order a briefing takes them."""
    whole = charts.theatre_map(runs.info, runs.plan, runs.resilience)
    theatre = Section(
        "map",
        "The theatre",
        "Where things are, what moves where, what is full, and which assets matter most.",
        [("Sites, lanes and vulnerable assets", whole)],
        table=_headline(runs),
    )
    near = charts.front_bounds(runs.info)
    if near is not None:
        zoomed = charts.theatre_map(runs.info, runs.plan, runs.resilience, near)
        theatre.charts.append(("Near the front (within 1,500 km of a front)", zoomed))
    found = [theatre]
    if runs.industry is not None:
        race = charts.race(runs.industry)
        found.append(
            Section(
                "race",
                "The race",
                "Per family: a day's expenditure against production and deliveries; when stocks "
                "run out and when production catches up.",
                [
                    ("Expenditure, production and deliveries a day", race),
                    ("Stock above floors, as the race runs", charts.stock_balance(runs.industry)),
                ],
            )
        )
    heat = charts.shortfall_heatmap(runs.plan)
    found.append(
        Section(
            "shortfall",
            "Shortfall",
            "Where and when each formation runs short under the optimal plan.",
            [("Share of demand short, by formation, family and period", heat)],
            table=_largest_shortfalls(runs.plan),
        )
    )
    bars = charts.bottleneck_bars(runs.plan)
    found.append(
        Section(
            "bottlenecks",
            "Bottlenecks",
            "What limits deliveries most: what one more unit of each capacity buys.",
            [("One more unit of each binding capacity", bars)],
        )
    )
    if runs.simulation is not None:
        simulation = runs.simulation
        found.append(
            Section(
                "simulation",
                "Under uncertainty",
                "How likely each formation is to run short, and by when; days of supply and "
                "fleet availability across the replications.",
                [
                    (
                        "Chance of having run short by each date",
                        charts.stockout_heatmap(simulation),
                    ),
                    (
                        "Days of supply at each formation's site (p5-p50-p95)",
                        charts.days_of_supply_fans(simulation),
                    ),
                    ("Fleet available (p5-p50-p95)", charts.fleet_fans(simulation)),
                ],
            )
        )
    if runs.resilience is not None:
        swept = runs.resilience
        found.append(
            Section(
                "resilience",
                "Resilience",
                "How long the network lasts when an asset is lost, against how long it takes "
                "to repair; what each mitigation buys.",
                [
                    ("Time to survive against time to recover", charts.survive_recover(swept)),
                    ("Shortfall removed per million euros", charts.mitigation_value(swept)),
                ],
            )
        )
    if runs.industry is not None:
        books = runs.industry
        found.append(
            Section(
                "industry",
                "Industry",
                "The lead time a new order faces, and the order books ahead of it.",
                [
                    ("Lead time of a new order, by line and date", charts.lead_times(books)),
                    ("Order books", charts.order_books(books)),
                ],
            )
        )
    return found


def _subtitle(runs: list[Run]) -> list[str]:
    scenario = runs[0].scenario
    lines = [
        f"Scenario {scenario.get('name')} (digest {str(scenario.get('digest'))[:12]}): "
        f"{scenario.get('days')} days from {scenario.get('start')} in {scenario.get('periods')} "
        f"periods ({scenario.get('grid')})."
    ]
    lines.append("Runs: " + "; ".join(f"{run.engine} {run.id}" for run in runs) + ".")
    return lines


def build(runs: ReportRuns) -> str:
    """The report's HTML."""
    title = f"Sustain report: {runs.plan.scenario.get('name')}"
    return render(title, _subtitle(runs.all()), sections(runs))


def build_compare(comparison: Run, a: Run, b: Run) -> str:
    """The HTML of two runs side by side (a Run of sustain compare, and the two runs)."""
    figures = comparison["figures"]
    rows = [
        (str(name), f"{charts.figure_text(a)} -> {charts.figure_text(b)}")
        for name, a, b in zip(figures["figure"], figures["a"], figures["b"], strict=True)
    ]
    shown = [("Shortfall by formation and family, A and B", charts.compare_shortfall(comparison))]
    if "bottlenecks" in comparison.tables:
        shown.append(("Bottlenecks, A and B", charts.compare_bottlenecks(comparison)))
    if "cases" in comparison.tables:
        shown.append(("Knock-out cases, A and B", charts.compare_cases(comparison)))
    section = Section(
        "compare",
        "Compare",
        f"Run B ({b.id}) against run A ({a.id}): the key figures and the largest changes.",
        shown,
        table=figure_table(rows),
    )
    notes = [f"{v}." for v in comparison.notes.values()]
    title = f"Sustain comparison: {b.scenario.get('name')} ({a.engine} runs)"
    return render(title, _subtitle([a, b]) + notes, [section])

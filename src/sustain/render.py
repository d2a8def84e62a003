"""Runs shown in the terminal: the headline figures, the notes and the summary tables of each
engine's Run, as rich tables. Reads Runs only (their tables and figures), never a Network."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sustain.results import Run
from sustain.units import how_many


def cell(value: Any) -> str:
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


def show(console: Console, title: str, frame: pd.DataFrame) -> None:
    """A table with its title; every cell a Text, so user names are never read as markup.
    A table with no rows is said in a line ("...: none"), not drawn as headers alone."""
    if frame.empty:
        console.print(Text.assemble((title, "bold"), ": none"))
        return
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        # Headers wrap at words and cells fold: nothing is cut short in a narrow terminal.
        header = str(column).replace("_", " ")
        table.add_column(header, justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(Text(cell(v)) for v in row))
    console.print(table)


def say(console: Console, text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def info(run: Run, console: Console) -> None:
    figures = run.figures
    shown = ("name", "start", "days", "periods", "grid")
    console.print(
        f"[bold]{escape(str(figures['name']))}[/]: from {figures['start']}, "
        f"{figures['days']} days in {figures['periods']} periods ({figures['grid']}); "
        + ", ".join(how_many(int(v), k) for k, v in figures.items() if k not in shown),
        highlight=False,
    )
    titles = {
        "sites_by_kind": "sites by kind and nation",
        "lanes_by_mode": "lanes by mode",
        "demand_by_family": "demand by family (over the horizon, in the family's unit)",
        "supply_by_family": "supply by family (over the horizon, in the family's unit)",
    }
    for name, title in titles.items():
        show(console, title, run[name])


def plan(run: Run, console: Console, top: int) -> None:
    from sustain.plan import bottleneck_gain

    size, timings = run.counts, run.timings
    console.print(
        f"[bold]plan[/] of {escape(run.scenario['name'])}: {size['columns']:,} variables, "
        f"{size['rows']:,} constraints; built in {timings['build_s']:.2f} s, solved in "
        f"{timings['solve_s']:.2f} s, checked in {timings['check_s']:.2f} s; weighted shortfall "
        f"{run.figures['weighted_shortfall']:,.0f}",
        highlight=False,
    )
    shortfalls = run["shortfall_by_formation"]
    shown = shortfalls[shortfalls["shortfall"] > 1e-6].head(top)
    # Ranked by weighted shortfall (priority x criticality), shown beside the units short.
    show(
        console,
        "largest shortfalls (over the horizon, by weighted shortfall)",
        shown.rename(columns={"weighted_shortfall": "weighted"}),
    )
    limits = run["bottlenecks"]
    show(
        console,
        "what limits deliveries most (what one more unit of each capacity buys)",
        pd.DataFrame(
            {
                "capacity": limits["name"],
                "one more": "+1 " + limits["unit"],
                "removes": [
                    bottleneck_gain(r) if r["family"] else "-" for r in limits.to_dict("records")
                ],
                "weighted": limits["value_per_unit"],
                "binding periods": limits["binding_periods"].astype(int),
            }
        ).head(top),
    )
    if "investments" in run.tables:
        show(console, "investments made (share of each option)", run["investments"])
    say(console, run.notes["explanation"])


def simulate(run: Run, console: Console, top: int) -> None:
    figures = run.figures
    totals = figures["weighted_shortfall"]
    note = " (interrupted)" if figures["interrupted"] else ""
    console.print(
        f"simulated {figures['replications']:,} of {run.options['replications']:,} "
        f"replications{note} of {figures['days']} days in {run.timings['simulate_s']:.1f} s "
        f"(seed {run.seed}); weighted shortfall p5 {totals['p5']:,.0f}, median "
        f"{totals['p50']:,.0f}, p95 {totals['p95']:,.0f}",
        highlight=False,
    )
    if "plan" in run.notes:
        say(console, f"note: {run.notes['plan']}")
    costs = figures["costs_eur"]
    if any(costs.values()):
        say(
            console,
            "mean cost a replication: "
            + ", ".join(f"{kind} {value:,.0f} EUR" for kind, value in costs.items()),
        )
    shown = [
        "formation", "family", "unit", "nominal_demand", "fill_rate", "probability_short",
        "median_first_short", "mean_shortfall", "p95_shortfall", "mean_backlog_days",
    ]  # fmt: skip
    show(
        console,
        "chance and size of shortfall over the horizon (largest share of demand first)",
        run["shortfall"][shown].head(top),
    )
    kept = run["stock_left"]
    if not kept.empty:
        show(
            console,
            f"stock on hand on the last recorded day ({kept['date'].iloc[0]:%Y-%m-%d}) where "
            "sites order, fewest days of the demand they serve first",
            kept.drop(columns="date").head(top),
        )
    fleet = run["fleet"]
    if not fleet.empty:
        last = fleet[fleet["day"] == fleet["day"].max()].sort_values("mean")
        show(
            console,
            "share of each fleet available on the last day (repair loop)",
            last[["system", "mean", "p5", "p50", "p95"]].head(top),
        )


def policy(run: Run, console: Console, top: int) -> None:
    figures, search = run.figures, run.options["search"]
    why = f" ({run.notes['why']})" if "why" in run.notes else ""
    if figures["interrupted"]:
        why += " (interrupted: the best levels found so far)"
    console.print(
        f"{figures['method']}{why}: {figures['evaluations']:,} candidates of "
        f"{search['replications']} replications each in {run.timings['search_s']:.1f} s; "
        f"judged on {search['evaluation_replications']} fresh replications "
        f"(seed {search['seed'] + 1})",
        highlight=False,
    )
    shown = [
        "policy", "levels_t", "mean_stock_t", "cost_eur", "cost_low_eur", "cost_high_eur",
        "shortage_eur", "lowest_fill_rate",
    ]  # fmt: skip
    show(
        console,
        "the chosen levels against the days-of-cover rule (cost: mean and 95% interval)",
        run["comparison"][shown],
    )
    levels = run["levels"]
    moved = levels[levels["change_t"] > 0].sort_values("change_t", ascending=False)
    show(
        console,
        f"{len(moved)} of {len(levels)} levels moved from the scenario's (most tonnes first)",
        moved[["site", "item", "unit", "start_level", "level", "level_days"]].head(top),
    )


def resilience(run: Run, console: Console, top: int) -> None:
    counts, figures = run.counts, run.figures
    if "interrupted" in run.notes:
        say(console, run.notes["interrupted"])
    k, loss_day = run.options["k"], run.options["loss_day"]
    console.print(
        f"{counts['cases']:,} knock-out cases from day {loss_day:g} in "
        f"{run.timings['total_s']:.1f} s: {counts['solves']:,} re-solves, "
        f"{counts['settled_without_solving']:,} settled by a plan that avoids the loss; "
        f"{figures['vulnerabilities']} vulnerabilities (time to recover longer than time to "
        f"survive); the base plan's weighted shortfall {figures['base_weighted_shortfall']:,.0f}",
        highlight=False,
    )
    columns = [
        "rank", "case", "kinds", "weighted_shortfall_added", "time_to_recover_days",
        "time_to_survive_days", "gap_days", "vulnerable", "first_hit_date", "first_hit",
    ]  # fmt: skip
    if k == 2:
        columns.insert(3, "same_as")
    if figures["mitigation_options"]:
        columns.append("cheapest_mitigation")
    show(
        console,
        "knock-out cases, by shortfall added, then by gap (recovery less survival)"
        + (" (pairs the same as one of their assets last, unranked)" if k == 2 else ""),
        run["cases"][columns].head(top),
    )
    show(console, "smallest asset cuts of each front", run["cuts"])
    mitigations = run["mitigations"]
    if len(mitigations):
        shown = mitigations.groupby("case", sort=False).head(3)  # the best few per case
        show(
            console,
            "mitigations of vulnerabilities and single points of failure, cheapest full fix first",
            shown.drop(columns=["name", "time_to_recover_days"]),
        )


def industry(run: Run, console: Console) -> None:
    lead = run["lead_times"]
    wide = lead.pivot(index="line", columns="date", values="lead_time_months")
    wide.columns = [str(c)[:10] for c in wide.columns]
    show(console, "lead time a new order faces (months), by line and date", wide.reset_index())
    race = run["race_summary"].copy()
    crossing = run["race_crossover"]
    race["production_catches_up"] = [
        _crossing_text(crossing[crossing["family"] == family]) for family in race["family"]
    ]
    show(console, "the race: expenditure against production, per day over the horizon", race)
    piles = run["stockpiles"]
    show(console, "donor stockpiles under the optimal plan", piles[piles["floor"] > 0])
    if "investments" in run.tables:
        show(
            console,
            "investment options against none (shortfall over the horizon)",
            run["investments"],
        )
    orders = run["orders"]
    if not orders.empty:
        orders = orders.assign(lead_time_months=orders["lead_time_days"] / (365.25 / 12))
        show(console, "order books", orders.drop(columns=["lead_time_days"]))


def _crossing_text(rows: pd.DataFrame) -> str:
    """'never' or the first date, without investment and with the best option."""
    if rows.empty:
        return "-"
    dates = {str(r["investment"]): r["cross_over"] for r in rows.to_dict("records")}
    plain = dates.pop("none", pd.NaT)
    text = "never" if pd.isna(plain) else cell(plain)
    reached = {k: v for k, v in dates.items() if not pd.isna(v)}
    if reached:
        best = min(reached, key=lambda k: reached[k])
        text += f" ({cell(reached[best])} with {best})"
    elif dates:
        text += " (nor with any option)"
    return text


def compare(run: Run, console: Console, top: int) -> None:
    options = run.options
    say(console, f"{options['engine']} runs compared: A {options['a']}, B {options['b']}")
    if "scenarios" in run.notes:
        say(console, f"note: {run.notes['scenarios']}")
    show(console, "headline figures (difference: B less A)", run["figures"])
    titles = {
        "shortfall": "shortfall by formation and family over the horizon, largest change first",
        "bottlenecks": "what one more unit of each capacity buys, largest change first",
        "cases": "knock-out cases, largest change of shortfall added first",
    }
    for name, title in titles.items():
        if name in run.tables and not run[name].empty:
            show(console, title, run[name].head(top))

"""`run.plot`: the report's charts of one Run as plotly figures, for notebooks (as PyPSA users
plot from the network): `industry_run.plot.race()`, `plan_run.plot.shortfall()`, ..."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sustain.report import charts

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from sustain.results import Run


class Plots:
    """The charts a run of its engine can draw; each returns a plotly Figure (its reading,
    the sentence the report puts beside it, is in `figure.layout.meta`)."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def _need(self, engine: str, chart: str) -> Run:
        if self._run.engine != engine:
            theirs = self._run.engine
            article = "an" if theirs[0] in "aeiou" else "a"
            raise ValueError(
                f"{chart} is drawn from a {engine} run; this is {article} {theirs} run"
            )
        return self._run

    @staticmethod
    def _figure(chart: charts.Chart) -> go.Figure:
        chart.figure.update_layout(meta={"reading": chart.reading, "note": chart.note})
        return chart.figure

    # plan
    def map(self, info: Run, resilience: Run | None = None) -> go.Figure:
        """The theatre: sites, lanes by flow and use, bottlenecks (needs the scenario's info
        run for where things are; a resilience run marks the vulnerable assets)."""
        plan = self._need("plan", "the map")
        return self._figure(charts.theatre_map(info, plan, resilience))

    def shortfall(self) -> go.Figure:
        return self._figure(charts.shortfall_heatmap(self._need("plan", "the shortfall")))

    def bottlenecks(self) -> go.Figure:
        return self._figure(charts.bottleneck_bars(self._need("plan", "the bottlenecks")))

    # industry
    def race(self) -> go.Figure:
        return self._figure(charts.race(self._need("industry", "the race")))

    def stock_balance(self) -> go.Figure:
        return self._figure(charts.stock_balance(self._need("industry", "the stock balance")))

    def lead_times(self) -> go.Figure:
        return self._figure(charts.lead_times(self._need("industry", "the lead times")))

    def order_books(self) -> go.Figure:
        return self._figure(charts.order_books(self._need("industry", "the order books")))

    # simulate
    def stockout(self) -> go.Figure:
        return self._figure(charts.stockout_heatmap(self._need("simulate", "the stock-outs")))

    def days_of_supply(self) -> go.Figure:
        run = self._need("simulate", "the days of supply")
        return self._figure(charts.days_of_supply_fans(run))

    def fleet(self) -> go.Figure:
        return self._figure(charts.fleet_fans(self._need("simulate", "the fleet")))

    # resilience
    def survive_recover(self) -> go.Figure:
        run = self._need("resilience", "time to survive against time to recover")
        return self._figure(charts.survive_recover(run))

    def mitigations(self) -> go.Figure:
        return self._figure(charts.mitigation_value(self._need("resilience", "the mitigations")))

    # compare
    def compare(self) -> go.Figure:
        """Shortfall by formation and family, A beside B."""
        return self._figure(charts.compare_shortfall(self._need("compare", "the comparison")))

    def compare_bottlenecks(self) -> go.Figure:
        run = self._need("compare", "the comparison of bottlenecks")
        return self._figure(charts.compare_bottlenecks(run))

    def compare_cases(self) -> go.Figure:
        return self._figure(charts.compare_cases(self._need("compare", "the comparison of cases")))

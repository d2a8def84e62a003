"""The report: the figures behind each chart against the Runs' tables they are drawn from
(computed here again from the tables, not read back from the chart code's own helpers), the
page opened in a real browser (Debian's Chromium through Playwright, the network refused),
and the command line as a subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sustain
from sustain import service
from sustain.report import ReportRuns, build, charts
from tests.conftest import EXAMPLES, FIXTURES, ROOT, TINY

REFERENCES = FIXTURES / "report"
UPDATE = os.environ.get("SUSTAIN_UPDATE_REFERENCES") == "1"


@pytest.fixture(scope="module")
def tiny_runs() -> ReportRuns:
    return service.report_runs(sustain.load(TINY), replications=32, seed=1)


@pytest.fixture(scope="module")
def tiny_page(tiny_runs: ReportRuns, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "tiny.html"
    path.write_text(build(tiny_runs), encoding="utf-8")
    return path


def traces(chart: charts.Chart, **match: Any) -> list[Any]:
    return [t for t in chart.figure.data if all(getattr(t, k) == v for k, v in match.items())]


# The figures behind the charts ------------------------------------------------------------


def test_the_map_draws_every_site_where_it_is_and_every_lane_with_what_it_carries(
    tiny_runs: ReportRuns,
) -> None:
    chart = charts.theatre_map(tiny_runs.info, tiny_runs.plan, tiny_runs.resilience)
    sites = tiny_runs.info["sites"].set_index("site")
    drawn = {}
    for trace in traces(chart, meta="sites"):
        for lon, lat, text in zip(trace.x, trace.y, trace.text, strict=True):
            drawn[text.split("</b>")[0].removeprefix("<b>")] = (lon, lat)
    assert drawn == {s: (r.lon, r.lat) for s, r in sites.iterrows()}
    assert drawn["hub"] == (22.0, 50.0) and drawn["front"] == (37.0, 49.0)  # as tiny.yaml has them
    # Each lane's hover names the tonnes the plan ships on it, summed here from the plan.
    moved = tiny_runs.plan["shipments"].groupby("lane")["tonnes"].sum()
    (lanes,) = traces(chart, meta="lanes")
    hover = dict(zip(tiny_runs.info["lanes"]["lane"], lanes.text, strict=True))
    assert f"moved {moved['rail']:,.0f} t" in hover["rail"]
    assert "moved 0 t" in hover["sea"]  # the line's lots finish after the horizon
    # A physical bound: no lane carries more than its capacity over the horizon.
    capacity = tiny_runs.info["lanes"].set_index("lane")["capacity_t_per_day"]
    assert moved["rail"] <= capacity["rail"] * tiny_runs.plan.scenario["days"] + 1e-6
    # The two assets whose loss outlasts the stocks (tiny.yaml: the bridge, 21 days to
    # recover, and the hub's yard, 10, against 7 days of stock) are marked.
    (marked,) = traces(chart, meta="assets")
    assert sorted(t.split("</b>")[0].removeprefix("<b>") for t in marked.text) == [
        "bridge",
        "hub-yard",
    ]


def test_the_race_plots_each_familys_figures_a_day(tiny_runs: ReportRuns) -> None:
    chart = charts.race(tiny_runs.industry)
    table = tiny_runs.industry["race_by_period"]
    week = 7.0  # tiny.yaml: weekly periods over four weeks
    for trace in chart.figure.data:
        family = trace.hovertemplate.split(" ")[0]
        column = {
            "expenditure": "expenditure",
            "production for the partner": "production",
            "production in all (others' orders too)": "gross_production",
            "deliveries (plan)": "deliveries",
        }[trace.name]
        expected = table.loc[table["family"] == family, column].to_numpy() / week
        assert np.allclose(np.asarray(trace.y, dtype=float), expected), (family, trace.name)


def test_the_stock_balance_is_the_stock_above_floors_run_down(tiny_runs: ReportRuns) -> None:
    """The balance is the stock above floors at the start, plus production for the partner
    and pledges, less expenditure, period by period (tiny.yaml: 3,000 rounds of 155mm
    pledged for 2023-01-10, in the second week)."""
    industry = tiny_runs.industry
    assert industry is not None
    chart = charts.stock_balance(industry)
    table = industry["race_by_period"]
    start = industry["race_summary"].set_index("family")["stock_above_floor"]
    for trace in chart.figure.data:
        family = trace.hovertemplate.split(":")[0]
        rows = table[table["family"] == family]
        pledged = np.array([0.0, 3000.0, 0.0, 0.0]) if family == "155mm-NATO" else 0.0
        flow = rows["production"].to_numpy() - rows["expenditure"].to_numpy() + pledged
        balance = start[family] + np.cumsum(flow)
        clip = np.maximum if trace.name == "stock above floors" else np.minimum
        assert np.allclose(np.asarray(trace.y, dtype=float), clip(balance, 0.0)), family


def test_the_heat_map_is_each_periods_share_of_demand_short(tiny_runs: ReportRuns) -> None:
    chart = charts.shortfall_heatmap(tiny_runs.plan)
    (heat,) = chart.figure.data
    short = tiny_runs.plan["shortfall"]
    for row, label in enumerate(heat.y):
        formation, family = label.split(" / ")
        rows = short[(short["formation"] == formation) & (short["family"] == family)]
        share = (rows["shortfall"] / rows["demand"]).fillna(0.0).to_numpy()
        assert np.allclose(np.asarray(heat.z[row], dtype=float), share)
    # Every pair short in the plan has a row, and no other.
    totals = short.groupby(["formation", "family"])["shortfall"].sum()
    assert sorted(heat.y) == sorted(f"{f} / {m}" for (f, m), v in totals.items() if v > 1e-6)


@pytest.fixture(scope="module")
def tight() -> tuple[Any, Any]:
    """tight.yaml: the rail lane binds (5 t/day) and the first week has no demand at all."""
    scenario = sustain.load(FIXTURES / "tight.yaml")
    return service.info_run(scenario), service.plan_run(scenario)


def test_the_bottleneck_bars_are_the_plans_duals(tight: tuple[Any, Any]) -> None:
    _, plan = tight
    (bars,) = charts.bottleneck_bars(plan).figure.data
    limits = plan["bottlenecks"].head(15)
    assert len(limits) and "rail lane rail" in list(limits["name"])
    assert np.allclose(np.asarray(bars.x, dtype=float), limits["value_per_unit"].to_numpy())


def test_a_binding_lane_is_full_in_its_busiest_period_and_drawn_so(tight: tuple[Any, Any]) -> None:
    """35 t a week on a lane of 5 t/day is all it can carry: 100% in each week it ships,
    the first week (no demand anywhere, no row in the plan's shortfall) included."""
    info, plan = tight
    shipped = plan["shipments"].groupby("date")["tonnes"].sum()
    assert pd.Timestamp("2023-01-02") in shipped.index  # it ships in the week of no demand
    assert (shipped / (5.0 * 7)).max() == pytest.approx(1.0)
    chart = charts.theatre_map(info, plan)
    lanes = chart.data["lanes"].set_index("lane")
    assert lanes.loc["rail", "use"] == pytest.approx(1.0) and lanes.loc["rail", "binding"]
    (hover,) = traces(chart, meta="lanes")
    assert "100% used in its busiest period" in hover.text[list(lanes.index).index("rail")]
    assert any(t.name == "binding bottleneck" for t in chart.figure.data)


def test_the_heat_map_has_a_column_for_every_period(tight: tuple[Any, Any]) -> None:
    _, plan = tight
    (heat,) = charts.shortfall_heatmap(plan).figure.data
    edges = pd.DatetimeIndex(heat.x)
    assert list(edges) == list(pd.date_range("2023-01-02", periods=5, freq="7D"))
    assert np.isnan(np.asarray(heat.z, dtype=float)[:, 0]).all()  # the week without demand


def test_survival_against_recovery_is_the_sweeps_cases(tiny_runs: ReportRuns) -> None:
    chart = charts.survive_recover(tiny_runs.resilience)
    cases = tiny_runs.resilience["cases"].set_index("case")
    seen = 0
    for trace in chart.figure.data:
        if trace.text is None:
            continue  # the diagonal
        for case, x, y in zip(trace.text, trace.x, trace.y, strict=True):
            assert (x, y) == (
                cases.loc[case, "time_to_recover_days"],
                cases.loc[case, "time_to_survive_days"],
            )
            seen += 1
    assert seen == int((cases["assets"] == 1).sum()) == 2
    assert "the worst, bridge, recovers in 21 days; stocks last 7" in chart.reading


def test_the_simulation_fans_and_curves_are_its_tables(tiny_runs: ReportRuns) -> None:
    simulation = tiny_runs.simulation
    assert simulation is not None
    stockout = simulation["stockout"]
    (heat,) = charts.stockout_heatmap(simulation).figure.data
    for row, label in enumerate(heat.y):
        formation, family = label.split(" / ")
        rows = stockout[(stockout["formation"] == formation) & (stockout["family"] == family)]
        assert np.allclose(np.asarray(heat.z[row], dtype=float), rows["probability_short_by"])
    final = stockout[stockout["day"] == stockout["day"].max()]
    at_risk = final[final["probability_short_by"] > 0]
    assert sorted(heat.y) == sorted(at_risk["formation"] + " / " + at_risk["family"])
    fleet = simulation["fleet"]
    medians = [t for t in charts.fleet_fans(simulation).figure.data if t.name == "median"]
    assert len(medians) == fleet["system"].nunique()
    for trace in medians:
        system = trace.hovertemplate.split(" ")[0]
        assert np.allclose(
            np.asarray(trace.y, dtype=float), fleet.loc[fleet["system"] == system, "p50"]
        )


def test_lead_times_and_order_books_are_the_industry_runs(tiny_runs: ReportRuns) -> None:
    industry = tiny_runs.industry
    assert industry is not None
    times = industry["lead_times"]
    for trace in charts.lead_times(industry).figure.data:
        rows = times[times["line"] == trace.name]
        assert np.allclose(np.asarray(trace.y, dtype=float), rows["lead_time_months"])
    orders = industry["orders"]
    (books,) = charts.order_books(industry).figure.data
    row = orders.iloc[0]
    span = pd.Timestamp(row["delivered_by"]) - pd.Timestamp(row["placed"])
    assert books.x[0] == span.total_seconds() * 1000


def test_a_notebook_gets_the_reports_figures_from_the_run(tiny_runs: ReportRuns) -> None:
    industry = tiny_runs.industry
    assert industry is not None
    figure = industry.plot.race()
    report = charts.race(industry).figure.update_layout(meta=figure.layout.meta)
    assert figure.to_json() == report.to_json()
    assert figure.layout.meta["reading"] == charts.race(industry).reading
    with pytest.raises(ValueError, match="drawn from a plan run; this is an industry run"):
        industry.plot.shortfall()


def test_the_bundled_plotly_js_is_the_one_the_figures_are_written_for() -> None:
    from plotly.offline import get_plotlyjs_version

    from sustain.report.page import plotly_js_version

    assert plotly_js_version() == get_plotlyjs_version()


def test_the_page_fetches_nothing(tiny_page: Path) -> None:
    """No script, style, image or font is linked: all of it is in the file."""
    text = tiny_page.read_text(encoding="utf-8")
    for linked in ("<script src", "<link ", "<img ", "@import", "url(http"):
        assert linked not in text


# In a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_page(tiny_page: Path) -> Iterator[Any]:
    from tests.browser import open_report

    with open_report(tiny_page) as opened:
        yield opened


def test_the_page_opens_offline_with_no_error_and_every_chart_drawn(browser_page: Any) -> None:
    page = browser_page.page
    assert browser_page.errors == []
    assert browser_page.requests == []  # everything refused would be counted here
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('.chart')].map(div => ({
            id: div.id,
            svg: div.querySelectorAll('.main-svg').length,
            points: div.querySelectorAll('.scatterlayer path, .barlayer path, .hm image').length,
            says: [...div.querySelectorAll('.annotation-text')].map(a => a.textContent),
            reading: div.parentElement.querySelector('.reading').textContent,
        }))"""
    )
    figures = json.loads(page.locator("#figures").text_content())
    assert [d["id"] for d in drawn] == list(figures)
    for chart in drawn:
        assert chart["svg"] > 0, chart
        # Drawn, or (nothing to draw: tiny.yaml has no binding capacity, no repair loop) it
        # says so on its face.
        assert chart["points"] > 0 or chart["says"] == [chart["reading"]], chart
    says = page.locator("#chart-bottlenecks-0 .annotation-text").text_content()
    assert says == "No capacity binds."


def hover_text(page: Any, chart_id: str, meta: str, label: str) -> str:
    """Hover, as a pointer would, the point of the trace named by `meta` whose text starts
    with `label`; the tooltip's text as the browser shows it."""
    page.evaluate(
        """([id, meta, label]) => {
            const div = document.getElementById(id);
            const curve = div._fullData.findIndex(t => t.meta === meta
                && t.text.some(x => x.startsWith('<b>' + label + '</b>')));
            const point = div._fullData[curve].text.findIndex(
                x => x.startsWith('<b>' + label + '</b>'));
            Plotly.Fx.unhover(div);
            Plotly.Fx.hover(div, [{curveNumber: curve, pointNumber: point}]);
        }""",
        [chart_id, meta, label],
    )
    tooltip = page.locator(f"#{chart_id} .hoverlayer .hovertext")
    tooltip.wait_for()
    return str(tooltip.text_content())


def test_hovering_a_site_and_a_lane_shows_their_figures(
    browser_page: Any, tiny_runs: ReportRuns
) -> None:
    page = browser_page.page
    moved = tiny_runs.plan["shipments"].groupby("lane")["tonnes"].sum()["rail"]
    lane = hover_text(page, "chart-map-0", "lanes", "rail")
    assert "rail (rail)" in lane and "hub -> front" in lane
    assert f"moved {moved:,.0f} t" in lane and "capacity 100 t/day" in lane
    sent = tiny_runs.plan["shipments"].groupby("from")["tonnes"].sum()["hub"]
    site = hover_text(page, "chart-map-0", "sites", "hub")
    assert "hub, POL" in site and f"sends {sent:,.0f} t" in site
    assert "throughput 500 t/day" in site  # tiny.yaml's figure


def test_the_page_prints_a_section_a_page(browser_page: Any) -> None:
    import re

    page = browser_page.page
    sections = page.locator("section").count()
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert sections <= pages <= 3 * sections  # each section starts a page; none runs away


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("section", ["map", "shortfall", "resilience"])
def test_a_section_looks_as_it_did(browser_page: Any, section: str) -> None:
    """The screenshot is not blank, and matches the reference image (tests/fixtures/report)
    to within a tolerance for anti-aliasing: at most 2% of its pixels differ by more than a
    quarter of the range in some channel. SUSTAIN_UPDATE_REFERENCES=1 writes them anew."""
    shot = browser_page.page.locator(f"#{section}").screenshot(animations="disabled")
    image = pixels(shot)
    ink = (image < 200).any(axis=2).mean()
    assert ink > 0.005 and len(np.unique(image.reshape(-1, 3), axis=0)) > 20  # not blank
    reference = REFERENCES / f"{section}.png"
    if UPDATE or not reference.exists():
        REFERENCES.mkdir(parents=True, exist_ok=True)
        reference.write_bytes(shot)
        if not UPDATE:
            pytest.fail(f"no reference image: wrote {reference}; check it and commit it")
    expected = pixels(reference.read_bytes())
    # Text laid out a pixel taller or shorter is not a change; more is.
    assert np.abs(np.subtract(image.shape, expected.shape)).max() <= 3, "the section's size changed"
    height, width = min(image.shape[0], expected.shape[0]), min(image.shape[1], expected.shape[1])
    image, expected = image[:height, :width], expected[:height, :width]
    differing = (np.abs(image - expected) > 64).any(axis=2).mean()
    assert differing <= 0.02, f"{differing:.1%} of the pixels differ from {reference}"


# The command line --------------------------------------------------------------------------


def sustain_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sustain", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


def test_the_command_writes_the_report_and_says_so_as_json(tmp_path: Path) -> None:
    out = tmp_path / "tiny.html"
    done = sustain_cli("report", str(TINY), "--replications", "16", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["ok"] and document["report"] == str(out)
    assert document["bytes"] == out.stat().st_size < 20e6
    assert [run.split("-")[0] for run in document["runs"]] == [
        "info", "plan", "simulate", "resilience", "industry",
    ]  # fmt: skip
    again = sustain_cli("report", str(TINY), "--out", str(out))
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr
    assert out.stat().st_size == document["bytes"]  # what the user had is untouched


def test_the_command_refuses_bad_requests_cleanly(tmp_path: Path) -> None:
    plan_dir, resilience_dir = tmp_path / "plan", tmp_path / "resilience"
    assert sustain_cli("plan", str(TINY), "--out", str(plan_dir)).returncode == 0
    assert sustain_cli("resilience", str(TINY), "--out", str(resilience_dir)).returncode == 0
    cases = [
        (["report", str(TINY), "--out", str(tmp_path / "r.txt")], "an .html file"),
        (["report", "--out", str(tmp_path / "r.html")], "give a scenario PATH"),
        (
            ["report", str(TINY), "--plan", str(resilience_dir), "--out", str(tmp_path / "r.html")],
            "is of sustain resilience",
        ),
        (
            ["report", str(EXAMPLES[1]), "--plan", str(plan_dir),
             "--out", str(tmp_path / "r.html")],
            "another version of the scenario",
        ),
        (
            ["report", "--compare", str(plan_dir), str(resilience_dir),
             "--out", str(tmp_path / "c.html")],
            "cannot compare",
        ),
    ]  # fmt: skip
    for args, message in cases:
        done = sustain_cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob("*.txt"))


def test_two_runs_side_by_side(tmp_path: Path) -> None:
    base, faster = tmp_path / "a", tmp_path / "b"
    assert sustain_cli("plan", str(TINY), "--out", str(base)).returncode == 0
    scenario = tmp_path / "faster.yaml"
    scenario.write_text(TINY.read_text().replace("capacity: 100 t/day", "capacity: 400 t/day"))
    assert sustain_cli("plan", str(scenario), "--out", str(faster)).returncode == 0
    out = tmp_path / "compare.html"
    done = sustain_cli("report", "--compare", str(base), str(faster), "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "Sustain comparison" in text and "weighted_shortfall" in text
    # Runs of two versions of the scenario: compared, and said so.
    assert "different scenarios" in done.stderr
    assert "Bottlenecks, A and B" in text  # plans are compared on their bottlenecks too

"""Benchmark: plotly (the report's choice) against Vega-Lite (through altair) for the report's
heaviest charts, drawn from the same tables: the file each writes with its library inlined,
and the time headless Chromium takes to draw it, in one run.

The charts: the shortfall heat map, the days-of-supply fans (p5-p95 band and median) of 12
formation-family pairs a day over the horizon, and the map's borders and coasts (Natural
Earth, some 26,000 points). Both pages are self-contained (altair's inline HTML embeds vega,
vega-lite and vega-embed through vl-convert).

    PYTHONPATH=.:src .venv/bin/python benchmarks/report_library.py RUNS
      RUNS: a folder holding plan/ and simulation/ runs (make demo writes build/demo)
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import altair as alt
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from tests.browser import open_report

from sustain.report.basemap import borders
from sustain.report.charts import Chart
from sustain.report.page import Section, render
from sustain.results import read_run

OPENINGS = 3


def tables(runs: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    plan, simulation = read_run(runs / "plan"), read_run(runs / "simulation")
    short = plan["shortfall"].assign(
        row=lambda f: f["formation"] + " / " + f["family"],
        share=lambda f: (f["shortfall"] / f["demand"].where(f["demand"] > 0)).fillna(0.0),
    )
    ranked = simulation["shortfall"].head(12)
    keys = set(zip(ranked["formation"], ranked["family"], strict=True))
    supply = simulation["days_of_supply"]
    supply = supply[[k in keys for k in zip(supply["formation"], supply["family"], strict=True)]]
    supply = supply.assign(pair=supply["formation"] + " / " + supply["family"]).dropna()
    lon, lat = borders((-100.0, 45.0), (25.0, 65.0))
    coast = pd.DataFrame({"lon": lon, "lat": lat, "arc": pd.Series(lon).isna().cumsum()})
    return short, supply, coast.dropna()


def plotly_page(short: pd.DataFrame, supply: pd.DataFrame, coast: pd.DataFrame) -> str:
    heat = short.pivot(index="row", columns="date", values="share")
    figures = [go.Figure(go.Heatmap(z=heat.to_numpy(), x=heat.columns, y=heat.index))]
    pairs = sorted(supply["pair"].unique())
    fans = make_subplots(rows=4, cols=3, subplot_titles=pairs)
    for k, pair in enumerate(pairs):
        part = supply[supply["pair"] == pair]
        row, col = divmod(k, 3)
        x = pd.concat([part["date"], part["date"][::-1]])
        y = pd.concat([part["p95"], part["p5"][::-1]])
        fans.add_trace(go.Scatter(x=x, y=y, fill="toself"), row=row + 1, col=col + 1)
        fans.add_trace(go.Scatter(x=part["date"], y=part["p50"]), row=row + 1, col=col + 1)
    figures.append(fans)
    lon, lat = borders((-100.0, 45.0), (25.0, 65.0))
    figures.append(go.Figure(go.Scatter(x=lon, y=lat, mode="lines")))
    charts = [(f"chart {k}", Chart(f, "")) for k, f in enumerate(figures)]
    return render("plotly", [], [Section("all", "all", "", charts)])


def vega_page(short: pd.DataFrame, supply: pd.DataFrame, coast: pd.DataFrame, path: Path) -> None:
    heat = alt.Chart(short).mark_rect().encode(x="date:T", y="row:N", color="share:Q")
    band = alt.Chart().mark_area(opacity=0.3).encode(x="date:T", y="p5:Q", y2="p95:Q")
    median = alt.Chart().mark_line().encode(x="date:T", y="p50:Q")
    fans = alt.layer(band, median, data=supply).facet(facet="pair:N", columns=3)
    lines = alt.Chart(coast).mark_line().encode(x="lon:Q", y="lat:Q", detail="arc:N")
    alt.data_transformers.disable_max_rows()
    alt.vconcat(heat, fans, lines).save(str(path), inline=True)
    # Drawn when vega-embed's promise resolves (after the view has run and rendered).
    text = path.read_text(encoding="utf-8")
    embed = "vegaEmbed('#vis', spec, embedOpt).catch(console.error);"
    assert text.count(embed) == 1, "altair's page changed: find where it embeds the chart"
    done = (
        "vegaEmbed('#vis', spec, embedOpt).then(() => { document.body.dataset.charts = 'drawn'; });"
    )
    path.write_text(text.replace(embed, done), encoding="utf-8")


def drawn_seconds(path: Path) -> float:
    times = []
    for _ in range(OPENINGS):
        with open_report(path) as opened:
            assert not opened.errors and not opened.requests, (opened.errors, opened.requests)
            times.append(opened.seconds)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {len(__import__('os').sched_getaffinity(0))} cores"
    )
    short, supply, coast = tables(args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp) / "plotly.html", Path(tmp) / "vega.html"
        ours.write_text(plotly_page(short, supply, coast), encoding="utf-8")
        vega_page(short, supply, coast, theirs)
        print("| library | file MB | drawn in Chromium s (best of 3) |")
        print("|---|---:|---:|")
        for name, path in (("plotly", ours), ("Vega-Lite", theirs)):
            seconds = drawn_seconds(path)
            print(f"| {name} | {path.stat().st_size / 1e6:.2f} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""The report's charts: each a plotly figure made from Runs' tables only, with the one-line
reading that goes beside it. A function per chart, so that a notebook gets the same figure
(`run.plot.race()`) as the report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sustain.report.basemap import SOURCE as BASEMAP_SOURCE
from sustain.report.basemap import borders
from sustain.results import Run
from sustain.timegrid import bucket_edges

# Colours: one hue per meaning, readable in print.
INK, GRID, LAND = "#222222", "#d9d9d9", "#9e9e9e"
SHORT, WARN, OK, IDLE = "#c62828", "#ef6c00", "#2e7d32", "#9e9e9e"
BLUE, PURPLE = "#1565c0", "#6a1b9a"
KIND_SYMBOLS = {
    "factory": "square",
    "depot": "diamond",
    "port": "triangle-up",
    "airbase": "star",
    "rail_hub": "cross",
    "hub": "cross",
    "repair_hub": "hexagon",
    "front": "circle",
}
# Lanes coloured by how much of their capacity the plan uses over the horizon.
USE_BANDS = ((0.0, 0.5, OK, "under half used"), (0.5, 0.9, WARN, "half to 90% used"))
USE_FULL = (0.9, SHORT, "90% used or more")
MOST_SERIES = 12  # small multiples shown at most; the rest named in the chart's note


@dataclass
class Chart:
    """A figure and what it says, in a line; `note` says what was left out or thinned."""

    figure: go.Figure
    reading: str
    note: str = ""
    data: dict[str, pd.DataFrame] = field(default_factory=dict)  # the figures plotted


def _layout(figure: go.Figure, height: int, **extra: object) -> go.Figure:
    figure.update_layout(
        template="simple_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        font={"family": "DejaVu Sans, Arial, sans-serif", "size": 12, "color": INK},
        hoverlabel={"font": {"family": "DejaVu Sans, Arial, sans-serif"}},
        legend={"orientation": "h", "y": -0.12},
        **extra,
    )
    return figure


def _days(run: Run) -> int:
    return int(run.scenario["days"])


def figure_text(value: object) -> str:
    """A figure as a planner reads it: 12,345 or 1.23; "-" where there is none."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(number):
        return "-"
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:,.3g}"


def _ids(names: pd.Series) -> pd.Series:
    """The id a capacity's name ends in ("lane rzeszow-lviv" -> "rzeszow-lviv"; a stock
    floor's "site/item" -> the site)."""
    return names.str.split(" ").str[-1].str.split("/").str[0]


def _nothing(figure: go.Figure, reading: str, data: dict[str, pd.DataFrame]) -> Chart:
    """A chart with nothing to draw says so on its face."""
    figure.update_layout(height=160, xaxis={"visible": False}, yaxis={"visible": False})
    figure.add_annotation(text=reading, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return Chart(figure, reading, data=data)


# 1. The map ------------------------------------------------------------------------------


def period_days(run: Run) -> pd.Series:
    """Days in each period of the run's time grid, by the period's first day (every period,
    whether or not any table has a row in it)."""
    start = pd.Timestamp(run.scenario["start"])
    edges = bucket_edges(str(run.scenario["grid"]), start.date(), _days(run))
    firsts = start + pd.to_timedelta(edges[:-1], unit="D")
    return pd.Series(np.diff(edges).astype(float), index=pd.DatetimeIndex(firsts))


def lane_use(info: Run, plan: Run) -> pd.DataFrame:
    """Per lane: its ends' coordinates, tonnes the plan moves over the horizon, the share of
    its capacity (its mean a day) used in its busiest period, and whether it is among the
    plan's binding bottlenecks."""
    lanes = info["lanes"]
    sites = info["sites"].set_index("site")
    shipments = plan["shipments"]
    moved = shipments.groupby("lane")["tonnes"].sum()
    by_period = shipments.groupby(["lane", "date"])["tonnes"].sum().reset_index()
    days = period_days(plan).reindex(pd.DatetimeIndex(by_period["date"])).to_numpy()
    capacity = lanes.set_index("lane")["capacity_t_per_day"]
    per_day = by_period["tonnes"].to_numpy() / days
    by_period["use"] = per_day / capacity.reindex(by_period["lane"]).to_numpy()
    peak = by_period.groupby("lane")["use"].max()
    frame = lanes.assign(
        lon_from=sites.loc[lanes["from"], "lon"].to_numpy(),
        lat_from=sites.loc[lanes["from"], "lat"].to_numpy(),
        lon_to=sites.loc[lanes["to"], "lon"].to_numpy(),
        lat_to=sites.loc[lanes["to"], "lat"].to_numpy(),
        tonnes=moved.reindex(lanes["lane"]).fillna(0.0).to_numpy(),
        use=peak.reindex(lanes["lane"]).fillna(0.0).to_numpy(),
    )
    limits = plan["bottlenecks"]
    binding = set(_ids(limits.loc[limits["kind"] == "lane", "name"]))
    frame["binding"] = frame["lane"].isin(binding)
    return frame


def _lane_trace(rows: pd.DataFrame, colour: str, width: float, name: str, dash: str) -> go.Scatter:
    lon = np.column_stack([rows["lon_from"], rows["lon_to"], np.full(len(rows), np.nan)])
    lat = np.column_stack([rows["lat_from"], rows["lat_to"], np.full(len(rows), np.nan)])
    return go.Scatter(
        x=lon.ravel(),
        y=lat.ravel(),
        mode="lines",
        line={"color": colour, "width": width, "dash": dash},
        name=name,
        hoverinfo="skip",
        legendgroup=name,
    )


def front_bounds(info: Run, reach_km: float = 1500.0) -> tuple[tuple[float, float], ...] | None:
    """Longitudes and latitudes around the sites within `reach_km` of a front, where the
    whole theatre spans much more (None where it does not, or there is no front)."""
    sites = info["sites"]
    fronts = sites[sites["kind"] == "front"]
    if fronts.empty:
        return None
    lat, lon = np.radians(sites["lat"].to_numpy()), np.radians(sites["lon"].to_numpy())
    flat, flon = np.radians(fronts["lat"].to_numpy()), np.radians(fronts["lon"].to_numpy())
    # Great-circle distance (haversine) from every site to every front.
    a = (
        np.sin((lat[:, None] - flat) / 2) ** 2
        + np.cos(lat[:, None]) * np.cos(flat) * np.sin((lon[:, None] - flon) / 2) ** 2
    )
    near = (2 * 6371.0 * np.arcsin(np.sqrt(a))).min(axis=1) <= reach_km
    close = sites[near]
    width = float(close["lon"].max() - close["lon"].min())
    if width > 0.6 * float(sites["lon"].max() - sites["lon"].min()):
        return None
    return (
        (float(close["lon"].min()) - 1.5, float(close["lon"].max()) + 1.5),
        (float(close["lat"].min()) - 1.5, float(close["lat"].max()) + 1.5),
    )


def theatre_map(
    info: Run,
    plan: Run,
    resilience: Run | None = None,
    bounds: tuple[tuple[float, float], ...] | None = None,
) -> Chart:
    """Sites by kind, lanes by what the plan moves on them (width) and how full they are in
    their busiest period (colour), binding bottlenecks and vulnerable assets marked; borders
    from Natural Earth. `bounds` ((lon from, to), (lat from, to)) zooms in."""
    sites, lanes = info["sites"], lane_use(info, plan)
    lon = (float(sites["lon"].min()) - 3, float(sites["lon"].max()) + 3)
    lat = (float(sites["lat"].min()) - 3, float(sites["lat"].max()) + 3)
    if bounds is not None:
        lon, lat = bounds[0], bounds[1]
    figure = go.Figure()
    border_lon, border_lat = borders(lon, lat)
    figure.add_trace(
        go.Scatter(
            x=border_lon,
            y=border_lat,
            mode="lines",
            line={"color": LAND, "width": 0.6},
            name="borders and coasts",
            hoverinfo="skip",
            showlegend=False,
        )
    )
    used = lanes[lanes["tonnes"] > 0]
    if not lanes[lanes["tonnes"] <= 0].empty:
        figure.add_trace(_lane_trace(lanes[lanes["tonnes"] <= 0], IDLE, 0.8, "unused", "dot"))
    # Width by tonnes moved, in three classes (a trace each: plotly draws one width a trace).
    edges = np.quantile(used["tonnes"], [1 / 3, 2 / 3]) if len(used) else np.zeros(2)
    width_class = np.searchsorted(edges, used["tonnes"].to_numpy(), side="right")
    bands = [*USE_BANDS, (USE_FULL[0], np.inf, USE_FULL[1], USE_FULL[2])]
    for low, high, colour, label in bands:
        in_band = (used["use"] >= low) & (used["use"] < high)
        for k, width in enumerate((1.5, 3.0, 5.0)):
            rows = used[in_band & (width_class == k)]
            if len(rows):
                trace = _lane_trace(rows, colour, width, label, "solid")
                trace.showlegend = not any(t.name == label for t in figure.data)
                figure.add_trace(trace)
    binding = lanes[lanes["binding"]]
    if len(binding):
        figure.add_trace(_lane_trace(binding, SHORT, 7.0, "binding bottleneck", "dash"))
    # Hover on each lane at its midpoint.
    hover = [
        f"<b>{lane}</b> ({mode})<br>{origin} -> {to}<br>moved {figure_text(tonnes)} t over the "
        f"horizon<br>capacity {figure_text(capacity)} t/day, {use:.0%} used in its busiest period"
        + ("<br><b>binding</b>" if binding_lane else "")
        for lane, mode, origin, to, tonnes, capacity, use, binding_lane in zip(
            lanes["lane"], lanes["mode"], lanes["from"], lanes["to"], lanes["tonnes"],
            lanes["capacity_t_per_day"], lanes["use"], lanes["binding"], strict=True,
        )
    ]  # fmt: skip
    figure.add_trace(
        go.Scatter(
            x=(lanes["lon_from"] + lanes["lon_to"]) / 2,
            y=(lanes["lat_from"] + lanes["lat_to"]) / 2,
            mode="markers",
            marker={"size": 9, "color": "rgba(0,0,0,0)"},
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            name="lanes",
            showlegend=False,
            meta="lanes",
        )
    )
    sent = plan["shipments"].groupby("from")["tonnes"].sum()
    limits = plan["bottlenecks"]
    binding_sites = set(_ids(limits.loc[limits["kind"] != "lane", "name"]))
    for kind, rows in sites.groupby("kind", sort=True):
        text = [
            f"<b>{site}</b><br>{kind}, {nation}<br>sends {figure_text(sent.get(site, 0.0))} t"
            " over the horizon"
            + (f"<br>throughput {figure_text(limit)} t/day" if limit == limit else "")
            + ("<br><b>binding</b>" if site in binding_sites else "")
            for site, nation, limit in zip(
                rows["site"], rows["nation"], rows["throughput_t_per_day"], strict=True
            )
        ]
        figure.add_trace(
            go.Scatter(
                x=rows["lon"],
                y=rows["lat"],
                mode="markers",
                marker={
                    "symbol": KIND_SYMBOLS.get(str(kind), "circle"),
                    "size": 10,
                    "color": BLUE if kind != "front" else PURPLE,
                    "line": {
                        "width": [3 if s in binding_sites else 1 for s in rows["site"]],
                        "color": [SHORT if s in binding_sites else "white" for s in rows["site"]],
                    },
                },
                text=text,
                hovertemplate="%{text}<extra></extra>",
                name=str(kind).replace("_", " "),
                meta="sites",
            )
        )
    if binding_sites & set(sites["site"]):
        figure.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="markers", name="a capacity there binds (red ring)",
                marker={"symbol": "circle-open", "size": 12, "color": SHORT, "line": {"width": 3}},
            )
        )  # fmt: skip
    vulnerable = _vulnerable_assets(info, resilience)
    if len(vulnerable):
        figure.add_trace(
            go.Scatter(
                x=vulnerable["lon"],
                y=vulnerable["lat"],
                mode="markers",
                marker={"symbol": "x", "size": 16, "color": SHORT, "line": {"width": 1}},
                text=[
                    f"<b>{r.asset}</b> ({r.kind})<br>recovers in {figure_text(r.recover)} days,"
                    f" survived {figure_text(r.survive)} days"
                    for r in vulnerable.itertuples()
                ],
                hovertemplate="%{text}<extra></extra>",
                name="vulnerable asset (recovers after stocks run out)",
                meta="assets",
            )
        )
    mid = math.radians((lat[0] + lat[1]) / 2)
    _layout(
        figure,
        620,
        xaxis={"range": lon, "showgrid": False, "title": None, "ticksuffix": "°"},
        yaxis={
            "range": lat,
            "showgrid": False,
            "title": None,
            "ticksuffix": "°",
            "scaleanchor": "x",
            "scaleratio": 1 / max(math.cos(mid), 0.2),
        },
        hovermode="closest",
    )
    inside = (
        lanes["lon_from"].between(*lon) & lanes["lat_from"].between(*lat)
        & lanes["lon_to"].between(*lon) & lanes["lat_to"].between(*lat)
    )  # fmt: skip
    shown, carrying = lanes[inside], used[inside.loc[used.index]]
    heavy = carrying.sort_values("tonnes", ascending=False).head(1)
    where = " within these bounds" if bounds is not None else ""
    reading = f"{len(carrying)} of {len(shown)} lanes{where} carry the plan"
    if len(heavy):
        top = heavy.iloc[0]
        reading += (
            f"; the busiest is {top['lane']} ({figure_text(top['tonnes'])} t, {top['use']:.0%} of"
            " its capacity)"
        )
    binding_here = binding[inside.loc[binding.index]]
    if len(binding_here):
        reading += f"; binding: {', '.join(binding_here['lane'])}"
    if len(vulnerable):
        reading += f"; {len(vulnerable)} vulnerable assets marked x"
    return Chart(
        figure,
        reading + ".",
        note=f"Borders: {BASEMAP_SOURCE}.",
        data={"lanes": lanes, "sites": sites, "vulnerable": vulnerable},
    )


def _vulnerable_assets(info: Run, resilience: Run | None) -> pd.DataFrame:
    """Single assets whose loss outlasts the stocks, placed at their site or else at the
    middle of the lanes they close."""
    columns = ["asset", "kind", "lon", "lat", "recover", "survive"]
    if resilience is None:
        return pd.DataFrame(columns=columns)
    cases = resilience["cases"]
    hit = cases[(cases["assets"] == 1) & cases["vulnerable"].fillna(False).astype(bool)]
    assets = info["assets"].set_index("asset")
    sites = info["sites"].set_index("site")
    lanes = info["lanes"].set_index("lane")
    rows = []
    for case in hit.itertuples():
        asset = assets.loc[str(case.case)]
        if asset["site"]:
            lon, lat = sites.loc[str(asset["site"]), ["lon", "lat"]]
        else:  # on the shortest lane it closes: a bridge or a crossing on its own leg
            closed = lanes.loc[str(asset["lanes"]).split(";")]
            ends = [sites.loc[closed[end], ["lon", "lat"]].to_numpy() for end in ("from", "to")]
            length = np.hypot(*(ends[0] - ends[1]).T)
            lon, lat = (ends[0][np.argmin(length)] + ends[1][np.argmin(length)]) / 2
        rows.append(
            (
                case.case,
                asset["kind"],
                lon,
                lat,
                case.time_to_recover_days,
                case.time_to_survive_days,
            )
        )
    return pd.DataFrame(rows, columns=columns)


# 2. The race -----------------------------------------------------------------------------


def race(industry: Run) -> Chart:
    """Per family, a day's expenditure against production for the partner (net of others'
    order books), production in all and deliveries under the plan; stocks' run-out and
    production's catch-up marked."""
    by_period = industry["race_by_period"].copy()
    summary = industry["race_summary"].set_index("family")
    crossover = industry["race_crossover"]
    start = pd.Timestamp(industry.scenario["start"])
    end = start + pd.Timedelta(days=_days(industry))
    dates = np.sort(by_period["date"].unique())
    lengths = np.diff(np.append(dates, np.datetime64(end))).astype("timedelta64[D]").astype(float)
    per_day = pd.Series(lengths, index=pd.DatetimeIndex(dates))
    days = per_day.reindex(pd.DatetimeIndex(by_period["date"])).to_numpy()
    for column in ("expenditure", "production", "gross_production", "deliveries"):
        by_period[f"{column}_per_day"] = by_period[column] / days
    active = summary[summary["expenditure_per_day"] > 0].index
    families = [f for f in summary.index if f in set(active)][:MOST_SERIES]
    left_out = [f for f in active if f not in families]
    columns = 3
    rows = max(1, -(-len(families) // columns))
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[f"{f} ({summary.loc[f, 'unit']}/day)" for f in families],
        vertical_spacing=0.12 / max(rows / 3, 1),
        horizontal_spacing=0.07,
    )
    lines = (
        ("expenditure_per_day", "expenditure", SHORT, "solid"),
        ("production_per_day", "production for the partner", OK, "solid"),
        ("gross_production_per_day", "production in all (others' orders too)", IDLE, "dot"),
        ("deliveries_per_day", "deliveries (plan)", BLUE, "solid"),
    )
    for k, family in enumerate(families):
        row, col = divmod(k, columns)
        part = by_period[by_period["family"] == family]
        for column, label, colour, dash in lines:
            figure.add_trace(
                go.Scatter(
                    x=part["date"],
                    y=part[column],
                    mode="lines",
                    line={"color": colour, "dash": dash, "width": 1.8},
                    name=label,
                    legendgroup=label,
                    showlegend=k == 0,
                    hovertemplate=f"{family} {label}: %{{y:,.1f}} a day, %{{x|%Y-%m-%d}}"
                    "<extra></extra>",
                ),
                row=row + 1,
                col=col + 1,
            )
        out = summary.loc[family, "stocks_run_out"]
        if pd.notna(out):
            figure.add_vline(
                x=pd.Timestamp(out), line={"color": SHORT, "dash": "dash", "width": 1},
                row=row + 1, col=col + 1,
            )  # fmt: skip
        caught = crossover[(crossover["family"] == family) & crossover["cross_over"].notna()]
        for when, investment in zip(caught["cross_over"], caught["investment"], strict=True):
            label = "catches up" if investment == "none" else f"catches up with {investment}"
            figure.add_vline(
                x=pd.Timestamp(when), line={"color": OK, "width": 1.5},
                annotation_text=label, annotation_font_size=9, annotation_position="bottom right",
                row=row + 1, col=col + 1,
            )  # fmt: skip
    _layout(figure, 260 * rows + 60, hovermode="x unified")
    short = summary.loc[families]
    worst = short.sort_values("stocks_run_out", na_position="last")
    never = crossover[crossover["investment"] == "none"]
    behind = never[never["cross_over"].isna() & never["family"].isin(families)]
    reading = (
        f"Production never catches up with expenditure for {len(behind)} of {len(families)} "
        "families"
    )
    if len(worst) and pd.notna(worst.iloc[0]["stocks_run_out"]):
        first = worst.iloc[0]
        reading += (
            f"; first to run out: {worst.index[0]}, stocks above floors gone by "
            f"{first['stocks_run_out']:%Y-%m-%d} (expenditure "
            f"{figure_text(first['expenditure_per_day'])} {first['unit']}/day against production "
            f"{figure_text(first['production_per_day'])})"
        )
    invested = crossover[crossover["investment"] != "none"]
    if len(invested) and invested["cross_over"].isna().all():
        reading += "; no investment option makes it catch up within the horizon"
    reading += ". Dashed red: stocks run out; solid green: production catches up."
    note = f"Not shown: {', '.join(left_out)}." if left_out else ""
    return Chart(
        figure, reading, note, data={"race": by_period[by_period["family"].isin(families)]}
    )


def _period_ends(run: Run, firsts: pd.Series) -> pd.DatetimeIndex:
    """The day after each period's last (its end), for periods named by their first day."""
    days = period_days(run)
    starts = pd.DatetimeIndex(firsts)
    return starts + pd.to_timedelta(days.reindex(starts).to_numpy(), unit="D")


def stock_balance(industry: Run) -> Chart:
    """Per family, stock above the owners' floors over time, as the race runs it: what is
    left if production for the partner and pledges met all expenditure; below zero, the
    stocks have run out."""
    by_period = industry["race_by_period"]
    summary = industry["race_summary"].set_index("family")
    active = [f for f in summary.index if summary.loc[f, "expenditure_per_day"] > 0]
    families = active[:MOST_SERIES]
    columns = 3
    rows = max(1, -(-len(families) // columns))
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[f"{f} ({summary.loc[f, 'unit']})" for f in families],
        vertical_spacing=0.12 / max(rows / 3, 1),
        horizontal_spacing=0.07,
    )
    for k, family in enumerate(families):
        row, col = divmod(k, columns)
        part = by_period[by_period["family"] == family]
        balance = part["stock_balance"].to_numpy()
        ends = _period_ends(industry, part["date"])  # the balance is the stock at its end
        figure.add_trace(
            go.Scatter(
                x=ends, y=np.maximum(balance, 0.0), mode="lines", fill="tozeroy",
                line={"color": BLUE, "width": 1.5}, name="stock above floors",
                legendgroup="stock", showlegend=k == 0,
                hovertemplate=f"{family}: %{{y:,.0f}} above floors by %{{x|%Y-%m-%d}}"
                "<extra></extra>",
            ),
            row=row + 1, col=col + 1,
        )  # fmt: skip
        figure.add_trace(
            go.Scatter(
                x=ends, y=np.minimum(balance, 0.0), mode="lines", fill="tozeroy",
                line={"color": SHORT, "width": 1.5}, name="short of expenditure",
                legendgroup="short", showlegend=k == 0,
                hovertemplate=f"{family}: %{{y:,.0f}} of expenditure not covered by "
                "%{x|%Y-%m-%d}<extra></extra>",
            ),
            row=row + 1, col=col + 1,
        )  # fmt: skip
    _layout(figure, 240 * rows + 60, hovermode="x unified")
    out = summary.loc[families, "stocks_run_out"].dropna().sort_values()
    reading = (
        f"Stocks above floors run out first for {out.index[0]} ({out.iloc[0]:%Y-%m-%d}); "
        f"{len(out)} of {len(families)} families run out within the horizon."
        if len(out)
        else "No family's stocks above floors run out within the horizon."
    )
    return Chart(figure, reading, data={"race": by_period[by_period["family"].isin(families)]})


# 3. Shortfall ----------------------------------------------------------------------------


def shortfall_heatmap(plan: Run) -> Chart:
    """Share of demand short per formation and family (rows) and period (columns)."""
    short = plan["shortfall"]
    totals = short.groupby(["formation", "family"])[["shortfall", "weighted_shortfall"]].sum()
    pairs = totals[totals["shortfall"] > 1e-6].sort_values("weighted_shortfall", ascending=False)
    note = ""
    if len(pairs) > 40:
        note = f"The 40 pairs of largest weighted shortfall of {len(pairs)} are shown."
        pairs = pairs.head(40)
    rows = [f"{f} / {m}" for f, m in pairs.index]
    kept = short.set_index(["formation", "family"]).loc[list(pairs.index)].reset_index()
    kept["row"] = kept["formation"] + " / " + kept["family"]
    kept["share"] = np.where(
        kept["demand"] > 0, kept["shortfall"] / kept["demand"].where(kept["demand"] > 0), 0.0
    )
    share = kept.pivot(index="row", columns="date", values="share").reindex(rows)
    units = kept.pivot(index="row", columns="date", values="shortfall").reindex(rows)
    unit = kept.groupby("row")["unit"].first().reindex(rows)
    # Cells span their periods: every period of the grid, its first days and the horizon's end
    # the edges (a period without demand is a blank column, not a wider neighbour).
    grid = period_days(plan)
    starts = pd.DatetimeIndex(grid.index)
    share = share.reindex(columns=starts)
    units = units.reindex(columns=starts)
    end = pd.Timestamp(plan.scenario["start"]) + pd.Timedelta(days=_days(plan))
    shape = units.shape
    figure = go.Figure(
        go.Heatmap(
            z=share.to_numpy(),
            x=starts.append(pd.DatetimeIndex([end])),
            y=rows,
            customdata=np.dstack(
                [
                    units.to_numpy().astype(object),
                    np.broadcast_to(unit.to_numpy()[:, None], shape),
                    np.broadcast_to(starts.strftime("%Y-%m-%d").to_numpy()[None, :], shape),
                ]
            ),
            colorscale=[[0, "#ffffff"], [0.05, "#fde0dd"], [1, SHORT]],
            zmin=0,
            zmax=1,
            colorbar={"title": "share short", "tickformat": ".0%"},
            hovertemplate="%{y}<br>period from %{customdata[2]}: %{z:.0%} short"
            " (%{customdata[0]:,.0f} %{customdata[1]})<extra></extra>",
        )
    )
    _layout(figure, max(260, 22 * len(rows) + 120), yaxis={"autorange": "reversed"})
    reading = (
        plan.notes.get("explanation", "No formation is short.")
        if len(pairs)
        else ("No formation is short under the plan.")
    )
    return Chart(figure, reading, note, data={"shortfall": kept})


# 4. Bottlenecks --------------------------------------------------------------------------


def bottleneck_bars(plan: Run, top: int = 15) -> Chart:
    """What one more unit of each binding capacity buys, largest first: bar length the
    weighted shortfall removed, text the same in the family's own units."""
    from sustain.plan import bottleneck_gain

    limits = plan["bottlenecks"].head(top)
    gains = [bottleneck_gain(r) if r["family"] else "" for r in limits.to_dict("records")]
    figure = go.Figure(
        go.Bar(
            x=limits["value_per_unit"],
            y=[f"+1 {u}: {n}" for n, u in zip(limits["name"], limits["unit"], strict=True)],
            orientation="h",
            marker={"color": SHORT},
            text=gains,
            textposition="auto",
            hovertemplate="%{y}<br>%{text}<br>weighted shortfall removed: %{x:,.1f}<extra></extra>",
        )
    )
    _layout(
        figure,
        max(240, 30 * len(limits) + 100),
        yaxis={"autorange": "reversed"},
        xaxis={"title": "weighted shortfall one more unit removes", "type": "log"},
    )
    if not len(limits):
        return _nothing(figure, "No capacity binds.", {"bottlenecks": limits})
    reading = (
        f"Most valuable: one more {limits.iloc[0]['unit']} of {limits.iloc[0]['name']} "
        f"({gains[0] or figure_text(limits.iloc[0]['value_per_unit'])})."
    )
    return Chart(figure, reading, data={"bottlenecks": limits})


# 5. Simulation ---------------------------------------------------------------------------


def _fan(
    figure: go.Figure, rows: pd.DataFrame, row: int, col: int, colour: str, label: str, first: bool
) -> None:
    """A p5-p95 band with its median."""
    figure.add_trace(
        go.Scatter(
            x=np.concatenate([rows["date"], rows["date"][::-1]]),
            y=np.concatenate([rows["p95"], rows["p5"][::-1]]),
            fill="toself",
            fillcolor="rgba(21,101,192,0.18)",
            line={"width": 0},
            hoverinfo="skip",
            name="p5-p95",
            legendgroup="band",
            showlegend=first,
        ),
        row=row,
        col=col,
    )
    figure.add_trace(
        go.Scatter(
            x=rows["date"],
            y=rows["p50"],
            mode="lines",
            line={"color": colour, "width": 1.6},
            name="median",
            legendgroup="median",
            showlegend=first,
            customdata=np.column_stack([rows["p5"], rows["p95"]]),
            hovertemplate=f"{label} %{{x|%Y-%m-%d}}: median %{{y:,.1f}}"
            " (p5 %{customdata[0]:,.1f}, p95 %{customdata[1]:,.1f})<extra></extra>",
        ),
        row=row,
        col=col,
    )


THIN_AFTER_DAYS = 120  # daily series over longer horizons are drawn one day a week


def _weekly(frame: pd.DataFrame) -> pd.DataFrame:
    """Daily figures thinned to one day a week (the first), to keep large runs light."""
    return frame[frame["day"] % 7 == 0] if _thinned(frame) else frame


def _thinned(frame: pd.DataFrame) -> bool:
    return bool(len(frame)) and int(frame["day"].max()) > THIN_AFTER_DAYS


def days_of_supply_fans(simulation: Run) -> Chart:
    """Days of supply at each formation's site (p5-p50-p95), the pairs most likely to run
    short first."""
    short = simulation["shortfall"].sort_values("probability_short", ascending=False)
    ranked = at_risk(simulation)
    soonest = list(zip(ranked["formation"], ranked["family"], strict=True))
    rest = [p for p in zip(short["formation"], short["family"], strict=True) if p not in soonest]
    pairs = (soonest + rest)[:MOST_SERIES]
    supply = _weekly(simulation["days_of_supply"])
    columns = 3
    rows = max(1, -(-len(pairs) // columns))
    figure = make_subplots(
        rows=rows, cols=columns, subplot_titles=[f"{f} / {m}" for f, m in pairs],
        vertical_spacing=0.12 / max(rows / 3, 1),
    )  # fmt: skip
    shown = []
    for k, (formation, family) in enumerate(pairs):
        part = supply[(supply["formation"] == formation) & (supply["family"] == family)]
        part = part.dropna(subset=["p50"])
        shown.append(part)
        row, col = divmod(k, columns)
        _fan(figure, part, row + 1, col + 1, BLUE, f"{formation} {family} days of supply", k == 0)
    _layout(figure, 230 * rows + 60)
    figure.update_yaxes(rangemode="tozero", title_text="days", title_standoff=2)
    reading = "No formation runs short in any replication."
    if len(short) and short.iloc[0]["probability_short"] > 0:
        top = short.iloc[0]
        when = (
            f" (median first short {top['median_first_short']:%Y-%m-%d})"
            if top["probability_short"] >= 0.5  # else the median is the horizon's end
            else ""
        )
        reading = (
            f"{top['formation']} runs short of {top['family']} in "
            f"{top['probability_short']:.0%} of replications{when}; fill rate "
            f"{top['fill_rate']:.0%}."
        )
    note = "Days of supply are shown weekly." if _thinned(simulation["days_of_supply"]) else ""
    if len(short) > len(pairs):
        note += f" {len(pairs)} of {len(short)} formation-family pairs, soonest at risk first."
    return Chart(
        figure,
        reading,
        note.strip(),
        data={"days_of_supply": pd.concat(shown) if shown else supply.iloc[:0]},
    )


def at_risk(simulation: Run) -> pd.DataFrame:
    """Formation-family pairs with any chance of running short, soonest at risk first: by the
    first day the chance reaches one half (never: last), then by the chance at the end."""
    stockout = simulation["stockout"]
    key = ["formation", "family"]
    end = stockout[stockout["day"] == stockout["day"].max()].set_index(key)["probability_short_by"]
    half = stockout[stockout["probability_short_by"] >= 0.5].groupby(key)["date"].min()
    frame = pd.DataFrame({"by_end": end, "half_by": half.reindex(end.index)}).reset_index()
    frame = frame[frame["by_end"] > 0]
    return frame.sort_values(["half_by", "by_end"], ascending=[True, False], na_position="last")


def stockout_heatmap(simulation: Run) -> Chart:
    """Chance of having run short by each date, per formation and family (rows soonest at
    risk first)."""
    stockout = simulation["stockout"]
    ranked = at_risk(simulation)
    note = ""
    if len(ranked) > 40:
        note = f"The 40 pairs soonest at risk of {len(ranked)} are shown."
    shown = ranked.head(40)
    rows = [f"{f} / {m}" for f, m in zip(shown["formation"], shown["family"], strict=True)]
    part = stockout.assign(row=stockout["formation"] + " / " + stockout["family"])
    part = _weekly(part[part["row"].isin(rows)])
    chance = part.pivot(index="row", columns="date", values="probability_short_by").reindex(rows)
    figure = go.Figure(
        go.Heatmap(
            z=chance.to_numpy(),
            x=chance.columns,
            y=rows,
            colorscale=[[0, "#ffffff"], [0.5, "#f4a582"], [1, SHORT]],
            zmin=0,
            zmax=1,
            colorbar={"title": "chance short by then", "tickformat": ".0%"},
            hovertemplate="%{y}: %{z:.0%} of replications short by %{x|%Y-%m-%d}<extra></extra>",
        )
    )
    _layout(figure, max(240, 22 * len(rows) + 120), yaxis={"autorange": "reversed"})
    if not len(ranked):
        return _nothing(figure, "No formation runs short in any replication.", {"stockout": part})
    pairs = stockout.groupby(["formation", "family"]).ngroups
    certain = int((ranked["by_end"] >= 0.999).sum())
    first = ranked.iloc[0]
    reading = (
        f"{len(ranked)} of {pairs} formation-family pairs may run short ({certain} in every "
        f"replication); soonest: {first['formation']} / {first['family']}"
    )
    if pd.notna(first["half_by"]):
        reading += f", short in half the replications by {first['half_by']:%Y-%m-%d}"
    if _thinned(stockout):
        note = (note + " Shown weekly.").strip()
    return Chart(figure, reading + ".", note, data={"stockout": part})


def fleet_fans(simulation: Run) -> Chart:
    """Share of each system type's fleet available (p5-p50-p95)."""
    fleet = _weekly(simulation["fleet"])
    systems = sorted(fleet["system"].unique())
    columns = 3
    rows = max(1, -(-len(systems) // columns))
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=systems)
    for k, system in enumerate(systems):
        row, col = divmod(k, columns)
        _fan(
            figure,
            fleet[fleet["system"] == system],
            row + 1,
            col + 1,
            PURPLE,
            f"{system} available",
            k == 0,
        )
    _layout(figure, 220 * rows + 60)
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02])
    if not systems:
        return _nothing(figure, "No system type is in the repair loop.", {"fleet": fleet})
    end = fleet[fleet["day"] == fleet["day"].max()].sort_values("p50")
    low = end.iloc[0]
    reading = (
        f"Lowest availability at the end: {low['system']}, median {low['p50']:.0%} "
        f"(p5 {low['p5']:.0%})."
    )
    note = "Availability is shown weekly." if _thinned(simulation["fleet"]) else ""
    return Chart(figure, reading, note, data={"fleet": fleet})


# 6. Resilience ---------------------------------------------------------------------------


def survive_recover(resilience: Run) -> Chart:
    """Time to survive against time to recover per asset lost: above the diagonal the
    network outlasts the repair, below it the stocks run out first."""
    cases = resilience["cases"]
    singles = cases[(cases["assets"] == 1) & cases["time_to_survive_days"].notna()]
    vulnerable = singles["vulnerable"].fillna(False).astype(bool)
    figure = go.Figure()
    for hit, colour, label in ((False, OK, "survives the repair"), (True, SHORT, "vulnerable")):
        rows = singles[vulnerable == hit]
        figure.add_trace(
            go.Scatter(
                x=rows["time_to_recover_days"],
                y=rows["time_to_survive_days"],
                mode="markers",
                marker={"color": colour, "size": 10, "line": {"color": "white", "width": 1}},
                name=label,
                text=rows["case"],
                customdata=np.column_stack([rows["kinds"], rows["weighted_shortfall_added"]]),
                hovertemplate="<b>%{text}</b> (%{customdata[0]})<br>recovers in %{x:,.0f} days,"
                " survives %{y:,.0f}<br>weighted shortfall added %{customdata[1]:,.0f}"
                "<extra></extra>",
            )
        )
    top = (
        float(
            max(singles["time_to_recover_days"].max(), singles["time_to_survive_days"].max(), 1.0)
        )
        if len(singles)
        else 1.0
    )
    figure.add_trace(
        go.Scatter(
            x=[0, top], y=[0, top], mode="lines", line={"color": GRID, "dash": "dash"},
            name="survive = recover", hoverinfo="skip",
        )
    )  # fmt: skip
    _layout(
        figure,
        420,
        xaxis={"title": "days to recover", "rangemode": "tozero"},
        yaxis={"title": "days survived", "rangemode": "tozero"},
    )
    worst = singles[vulnerable].sort_values("gap_days", ascending=False)
    reading = (
        f"{int(vulnerable.sum())} of {len(singles)} single assets are vulnerable; the worst, "
        f"{worst.iloc[0]['case']}, recovers in "
        f"{figure_text(worst.iloc[0]['time_to_recover_days'])} days; stocks last "
        f"{figure_text(worst.iloc[0]['time_to_survive_days'])}."
        if len(worst)
        else f"None of {len(singles)} single assets is vulnerable: the network outlasts every "
        "repair."
    )
    return Chart(figure, reading, data={"cases": singles})


def mitigation_value(resilience: Run) -> Chart:
    """Weighted shortfall each mitigation removes per million euros."""
    options = resilience["mitigations"]
    useful = (options["cost_eur"] > 0) & (options["weighted_shortfall_removed"] > 0)
    options = (
        options[useful]
        .assign(per_meur=lambda f: f["weighted_shortfall_removed"] / (f["cost_eur"] / 1e6))
        .sort_values("per_meur", ascending=False)
        .head(15)
    )
    figure = go.Figure(
        go.Bar(
            x=options["per_meur"],
            y=options["case"] + ": " + options["name"],
            orientation="h",
            marker={"color": [OK if a else WARN for a in options["removes_all_added"]]},
            customdata=np.column_stack(
                [options["cost_eur"] / 1e6, options["weighted_shortfall_removed"]]
            ),
            hovertemplate="%{y}<br>%{customdata[0]:,.1f} MEUR removes %{customdata[1]:,.0f}"
            " weighted shortfall<extra></extra>",
        )
    )
    _layout(
        figure,
        max(220, 28 * len(options) + 100),
        yaxis={"autorange": "reversed"},
        xaxis={"title": "weighted shortfall removed per MEUR"},
    )
    if not len(options):
        reading = "No priced mitigation option removes any shortfall."
        return _nothing(figure, reading, {"mitigations": options})
    reading = (
        f"Best value: {options.iloc[0]['name']} against {options.iloc[0]['case']} "
        f"({figure_text(options.iloc[0]['per_meur'])} per MEUR)."
    )
    return Chart(figure, reading, data={"mitigations": options})


# 7. Industry -----------------------------------------------------------------------------


def lead_times(industry: Run) -> Chart:
    """The lead time a new order faces on each line, by date."""
    times = industry["lead_times"]
    figure = go.Figure()
    for line, rows in times.groupby("line", sort=True):
        figure.add_trace(
            go.Scatter(
                x=rows["date"], y=rows["lead_time_months"], mode="lines", name=str(line),
                hovertemplate=f"{line}: %{{y:.1f}} months for an order placed %{{x|%Y-%m-%d}}"
                "<extra></extra>",
            )
        )  # fmt: skip
    _layout(figure, 360, yaxis={"title": "months to deliver a new order", "rangemode": "tozero"})
    first = times[times["day"] == times["day"].min()].sort_values("lead_time_months")
    if not len(first):
        return _nothing(figure, "No production line.", {"lead_times": times})
    reading = (
        f"At the start a new order waits {first.iloc[-1]['lead_time_months']:.0f} months on "
        f"{first.iloc[-1]['line']} and {first.iloc[0]['lead_time_months']:.0f} on "
        f"{first.iloc[0]['line']}."
    )
    return Chart(figure, reading, data={"lead_times": times})


def order_books(industry: Run) -> Chart:
    """Every order on the books, from placed to delivered, by line (a Gantt chart)."""
    orders = industry["orders"].dropna(subset=["delivered_by"])
    figure = go.Figure()
    for customer, rows in orders.groupby("customer", sort=True):
        start = pd.to_datetime(rows["placed"])
        finish = pd.to_datetime(rows["delivered_by"])
        figure.add_trace(
            go.Bar(
                base=start,
                x=(finish - start).dt.total_seconds() * 1000,  # ms: plotly's date axis unit
                y=rows["line"],
                orientation="h",
                name=str(customer),
                text=rows["order"],
                customdata=np.column_stack(
                    [
                        rows["quantity"],
                        start.dt.strftime("%Y-%m-%d"),
                        finish.dt.strftime("%Y-%m-%d"),
                    ]
                ),
                hovertemplate="%{text} for " + str(customer) + ": %{customdata[0]:,.0f} placed "
                "%{customdata[1]}, delivered by %{customdata[2]}<extra></extra>",
            )
        )
    _layout(
        figure,
        max(240, 40 * orders["line"].nunique() + 120),
        barmode="overlay",
        xaxis={"type": "date"},
    )
    late = orders.sort_values("delivered_by").tail(1)
    if not len(late):
        return _nothing(figure, "No orders on the books.", {"orders": orders})
    reading = (
        f"{len(orders)} orders on {orders['line'].nunique()} lines; the last is delivered by "
        f"{pd.Timestamp(late.iloc[0]['delivered_by']):%Y-%m-%d} ({late.iloc[0]['order']})."
    )
    return Chart(figure, reading, data={"orders": orders})


# 8. Compare ------------------------------------------------------------------------------


def _side_by_side(labels: pd.Series, a: pd.Series, b: pd.Series, title: str) -> go.Figure:
    """Grouped bars of runs A and B, a row each, largest change first."""
    figure = go.Figure(
        [
            go.Bar(x=values, y=labels, orientation="h", name=run, marker={"color": colour})
            for run, values, colour in (("A", a, IDLE), ("B", b, BLUE))
        ]
    )
    _layout(
        figure,
        max(240, 36 * len(labels) + 100),
        barmode="group",
        yaxis={"autorange": "reversed"},
        xaxis={"title": title},
    )
    return figure


def compare_shortfall(compare: Run) -> Chart:
    """Shortfall by formation and family in two runs, with the difference."""
    table = compare["shortfall"]
    rows = table.head(20)
    labels = rows["formation"] + " / " + rows["family"] + " (" + rows["unit"] + ")"
    figure = _side_by_side(labels, rows["shortfall_a"], rows["shortfall_b"], "shortfall")
    note = f"The 20 largest changes of {len(table)}." if len(table) > 20 else ""
    if not len(table):
        return _nothing(figure, "Neither run is short anywhere.", {"shortfall": rows})
    top = rows.iloc[0]
    reading = (
        f"Largest change: {top['formation']} / {top['family']}, "
        f"{figure_text(top['shortfall_a'])} -> {figure_text(top['shortfall_b'])} "
        f"{top['unit']} short ({top['difference']:+,.0f})."
    )
    return Chart(figure, reading, note, data={"shortfall": rows})


def compare_bottlenecks(compare: Run) -> Chart:
    """What one more unit of each capacity buys in two plans."""
    table = compare["bottlenecks"]
    rows = table.head(20)
    labels = "+1 " + rows["unit"] + ": " + rows["name"]
    title = "weighted shortfall one more unit removes"
    figure = _side_by_side(labels, rows["value_a"], rows["value_b"], title)
    if not len(table):
        return _nothing(figure, "No capacity binds in either plan.", {"bottlenecks": rows})
    top = rows.iloc[0]
    reading = (
        f"Largest change: {top['name']}, {figure_text(top['value_a'])} -> "
        f"{figure_text(top['value_b'])} a unit ({top['in_runs']})."
    )
    return Chart(figure, reading, data={"bottlenecks": rows})


def compare_cases(compare: Run) -> Chart:
    """Weighted shortfall each knock-out adds in two resilience sweeps."""
    table = compare["cases"]
    rows = table.head(20)
    title = "weighted shortfall the loss adds"
    figure = _side_by_side(rows["case"], rows["added_a"], rows["added_b"], title)
    if not len(table):
        return _nothing(figure, "Neither sweep has a case.", {"cases": rows})
    top = rows.iloc[0]
    reading = (
        f"Largest change: losing {top['case']} adds {figure_text(top['added_a'])} in A, "
        f"{figure_text(top['added_b'])} in B."
    )
    return Chart(figure, reading, data={"cases": rows})

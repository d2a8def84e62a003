"""The report as one HTML file: plotly.js, the styles and every chart's data inlined, nothing
fetched when it is opened; readable on a laptop and printable (a section a page)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

import plotly.io as pio

from sustain.report.charts import Chart

# plotly.js's cartesian bundle (js/NOTICE.md): every trace type the report draws, a third of the
# full bundle's size and parse time.
PLOTLY_JS = "plotly-cartesian.min.js"

CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["sendDataToCloud"],
}

STYLE = """
:root { --ink: #222; --muted: #666; --rule: #ddd; }
* { box-sizing: border-box; }
body {
  font-family: "DejaVu Sans", Arial, sans-serif; color: var(--ink); margin: 0; line-height: 1.4;
}
header { padding: 18px 28px 10px; border-bottom: 1px solid var(--rule); }
header h1 { font-size: 22px; margin: 0 0 4px; }
header p { margin: 2px 0; color: var(--muted); font-size: 13px; }
nav { padding: 8px 28px; font-size: 13px; border-bottom: 1px solid var(--rule); }
nav a { margin-right: 14px; color: #1565c0; text-decoration: none; }
main { padding: 0 28px 40px; max-width: 1400px; }
section { padding-top: 18px; border-bottom: 1px solid var(--rule); }
section h2 { font-size: 18px; margin: 0; }
section .question { color: var(--muted); margin: 2px 0 8px; font-size: 13px; }
.chart-block { margin: 10px 0 18px; }
.chart-block h3 { font-size: 14px; margin: 0 0 2px; }
.reading { margin: 2px 0 4px; font-size: 14px; }
.note { color: var(--muted); font-size: 12px; margin: 2px 0; }
.chart { width: 100%; }
table.figures { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
table.figures td, table.figures th {
  border-bottom: 1px solid var(--rule); padding: 3px 10px; text-align: right;
}
table.figures td:first-child, table.figures th:first-child { text-align: left; }
@media print {
  nav { display: none; }
  section { break-before: page; border: none; }
  section:first-of-type { break-before: auto; }
  .chart-block { break-inside: avoid; }
}
"""


@cache
def plotly_js() -> str:
    """The bundled plotly.js, as text."""
    return files(__package__).joinpath("js", PLOTLY_JS).read_text(encoding="utf-8")


def plotly_js_version() -> str:
    """The bundled plotly.js's version, from its header."""
    found = re.search(r"plotly\.js \(cartesian - minified\) v(\S+)", plotly_js()[:400])
    if found is None:
        raise RuntimeError(f"{PLOTLY_JS}: no version in its header")
    return found.group(1)


@dataclass
class Section:
    """A part of the report: the question it answers and its charts."""

    key: str
    title: str
    question: str
    charts: list[tuple[str, Chart]] = field(default_factory=list)  # (caption, chart)
    table: str = ""  # HTML of a small table shown before the charts


def figure_table(rows: list[tuple[str, str]]) -> str:
    """A two-column table of headline figures."""
    return table([], [list(row) for row in rows])


def table(header: list[str], rows: list[list[str]]) -> str:
    """A small table of figures (text already formatted)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f'<table class="figures">{f"<tr>{head}</tr>" if head else ""}{body}</table>'


def render(title: str, subtitle: list[str], sections: list[Section]) -> str:
    """The whole page. Each chart's figure is written as plotly JSON (numpy arrays as typed
    base64 arrays) and drawn by one inlined copy of plotly.js."""
    figures: dict[str, object] = {}
    parts: list[str] = []
    for section in sections:
        blocks = []
        for k, (caption, chart) in enumerate(section.charts):
            chart_id = f"chart-{section.key}-{k}"
            figures[chart_id] = json.loads(pio.to_json(chart.figure, validate=False))
            note = f'<p class="note">{html.escape(chart.note)}</p>' if chart.note else ""
            blocks.append(
                f'<div class="chart-block" data-chart="{chart_id}"><h3>{html.escape(caption)}</h3>'
                f'<p class="reading">{html.escape(chart.reading)}</p>'
                f'<div class="chart" id="{chart_id}"></div>{note}</div>'
            )
        parts.append(
            f'<section id="{section.key}"><h2>{html.escape(section.title)}</h2>'
            f'<p class="question">{html.escape(section.question)}</p>{section.table}'
            + "".join(blocks)
            + "</section>"
        )
    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    data = json.dumps(figures, separators=(",", ":")).replace("</", "<\\/")
    lines = "".join(f"<p>{html.escape(line)}</p>" for line in subtitle)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"<script>{plotly_js()}</script></head><body>"
        f"<header><h1>{html.escape(title)}</h1>{lines}</header><nav>{nav}</nav>"
        f"<main>{''.join(parts)}</main>"
        f'<script id="figures" type="application/json">{data}</script>'
        "<script>"
        f"const config = {json.dumps(CONFIG)};"
        "const figures = JSON.parse(document.getElementById('figures').textContent);"
        "window.sustainCharts = Promise.all(Object.entries(figures).map(([id, f]) =>"
        " Plotly.newPlot(id, f.data, f.layout, config)))"
        ".then(() => { document.body.dataset.charts = 'drawn'; });"
        "</script></body></html>"
    )

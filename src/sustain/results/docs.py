"""docs/tables.md, generated from the table specs: every table each engine returns, its key,
time axis, scope and columns with their types and units (`python -m sustain.results.docs`
rewrites it; a test keeps it in step with tables.yaml)."""

from __future__ import annotations

import sys
from pathlib import Path

from sustain.results.run import ENGINES
from sustain.results.table_specs import TableSpec, specs

INTRO = """# The tables of a run

Generated from `src/sustain/results/tables.yaml` by `python -m sustain.results.docs`: do not
edit by hand.

Every engine returns a Run: its metadata (`run.json`: the engine, the run's id, the
scenario's name and digest, the options, the seed, the package versions, timings, counts,
headline figures and notes) and the tables below. `--out DIR` writes both; `--formats`
chooses CSV, Parquet and/or JSON for the tables; `sustain.results.read_run(DIR)` reads a
run back with every column's type. In CSV, text a spreadsheet would run as a formula starts
with an apostrophe (removed on reading); in JSON, dates are `YYYY-MM-DD`, missing values
`null`, and infinities the text `"inf"`.

Types: `str`, `int`, `float`, `date`, `bool`; a `?` allows missing values. Units: `{item}`,
`{family}` or `{unit}` is the unit of the row's item, of its family, or the one in its
`unit` column; `1` a share or ratio. Scope: the columns that tie a row to a nation (a site,
formation or production line is its owner's), used to decide who may see it.
"""


def _table(table: TableSpec) -> list[str]:
    lines = [f"### `{table.name}`", "", table.about, ""]
    facts = [f"key: {', '.join(f'`{k}`' for k in table.key)}"]
    if table.time:
        facts.append(f"time axis: `{table.time}`")
    if table.scope:
        facts.append("scope: " + ", ".join(f"`{c}` ({what})" for c, what in table.scope))
    if table.aggregate_by:
        by, sums = (
            ", ".join(f"`{c}`" for c in cs) for cs in (table.aggregate_by, table.aggregate_sum)
        )
        least = table.aggregate_least_nations
        each = f", each of at least {least} nations' rows" if least > 1 else ""
        facts.append(f"aggregates for every nation: {sums} by {by}{each}")
    lines += ["; ".join(facts) + ".", "", "| column | type | unit | description |"]
    lines.append("|---|---|---|---|")
    for column in table.columns:
        kind = column.type + ("?" if column.nullable else "")
        unit = "" if column.unit == "-" else column.unit
        text = column.description.replace("|", "\\|")
        lines.append(f"| `{column.name}` | {kind} | {unit} | {text} |")
    return [*lines, ""]


def markdown() -> str:
    lines = [INTRO]
    by_engine = {engine: [s for s in specs().values() if s.engine == engine] for engine in ENGINES}
    for engine, tables in by_engine.items():
        lines += [f"## {engine}", ""]
        for table in tables:
            lines += _table(table)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/tables.md")
    target.write_text(markdown(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()

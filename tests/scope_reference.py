"""Whose each row of a run's tables is and who may see it, worked out from a scenario's own
CSV files (not from the store's owners): the reference the scope tests count leaks against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tests.conftest import EXAMPLES

THEATRE = EXAMPLES[0]


def reference_owners(folder: Path = THEATRE) -> dict[str, dict[str, str]]:
    """Whose each site, formation, line and lane is, read off the CSV files as written (a
    line names its nation, or is its site's owner's)."""
    sites = pd.read_csv(folder / "sites.csv")
    site_nation = dict(zip(sites["id"], sites["nation"], strict=True))
    formations = pd.read_csv(folder / "formations.csv")
    lines = pd.read_csv(folder / "production_lines.csv")
    lanes = pd.read_csv(folder / "lanes.csv")
    return {
        "site": site_nation,
        "formation": dict(zip(formations["id"], formations["nation"], strict=True)),
        "line": {
            line: nation if isinstance(nation, str) and nation else site_nation[site]
            for line, site, nation in zip(lines["id"], lines["site"], lines["nation"], strict=True)
        },
        "lane": {lane: site_nation[o] for lane, o in zip(lanes["id"], lanes["from"], strict=True)},
    }


def reference(folder: Path) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, set[str]]]]:
    """Owners and releases of sites, formations, lines and lanes, from the CSV files."""

    def released(text: Any) -> set[str]:
        return set(str(text).split(";")) if isinstance(text, str) and text else set()

    def releases_of(table: pd.DataFrame) -> dict[str, set[str]]:
        column = table["release"] if "release" in table else [None] * len(table)
        return {name: released(r) for name, r in zip(table["id"], column, strict=True)}

    sites = pd.read_csv(folder / "sites.csv")
    formations = pd.read_csv(folder / "formations.csv")
    lines = pd.read_csv(folder / "production_lines.csv")
    lanes = pd.read_csv(folder / "lanes.csv")
    site_release = releases_of(sites)
    owners = reference_owners(folder)
    releases = {
        "site": site_release,
        "formation": releases_of(formations),
        "line": releases_of(lines),
        "lane": {lane: site_release[o] for lane, o in zip(lanes["id"], lanes["from"], strict=True)},
    }
    return owners, releases


def may_see(row: dict[str, Any], scope: tuple[tuple[str, str], ...], nation: str, ref: Any) -> bool:
    """A row's own nation sees it; so does a nation every scope column of it is released to."""
    owners, releases = ref
    own, released_all = False, True
    for column, kind in scope:
        value = row[column]
        owner = value if kind == "nation" else owners[kind].get(value)
        mine = owner == nation
        own |= mine
        to_it = kind != "nation" and bool({nation, "all"} & releases[kind].get(value, set()))
        released_all &= mine or to_it
    return own or released_all


def own_row(row: dict[str, Any], scope: tuple[tuple[str, str], ...], nation: str, ref: Any) -> bool:
    """Whether some scope column of the row names the nation's own."""
    owners = ref[0]
    return any(
        (row[column] if kind == "nation" else owners[kind].get(row[column])) == nation
        for column, kind in scope
    )

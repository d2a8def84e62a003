"""Whose rows are whose: the nations a row of a table belongs to, from the scope its spec
declares (the columns that name a nation, a site, a formation, a line or a lane), and which
rows a nation may see. One rule for every table and every interface (the store's queries and,
through them, the API):

- a coordinator sees every row;
- anyone else sees a row that belongs to their nation (any of its scope columns names their
  nation, or a site, formation, line or lane of it), and every row of a table that declares no
  scope (scenario-wide figures);
- a row whose scope cannot be resolved (a name the owners do not know) is seen by no one but
  coordinators: denied, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sustain.arrays import BoolArray
from sustain.results.table_specs import TableSpec

# What each scope names, resolved to a nation: (kind -> {name: nation}).
Owners = Mapping[str, Mapping[str, str]]


def owners_of(info: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, str]]:
    """The owners of sites, formations, lines and lanes (by their origin) from an info run's
    tables."""
    sites = dict(zip(info["sites"]["site"], info["sites"]["nation"], strict=True))
    lanes = info["lanes"]
    return {
        "site": sites,
        "formation": dict(
            zip(info["formations"]["formation"], info["formations"]["nation"], strict=True)
        ),
        "line": dict(zip(info["lines"]["line"], info["lines"]["nation"], strict=True)),
        "lane": {
            lane: sites.get(origin, "")
            for lane, origin in zip(lanes["lane"], lanes["from"], strict=True)
        },
    }


def belongs_to(table: pd.DataFrame, spec: TableSpec, nation: str, owners: Owners) -> BoolArray:
    """(rows,) whether each row belongs to `nation` by some scope column of the spec."""
    mine = np.zeros(len(table), dtype=bool)
    for column, kind in spec.scope:
        names = table[column].astype("object")
        if kind == "nation":
            nations = names
        else:
            known = owners.get(kind, {})
            nations = names.map(lambda name, known=known: known.get(name))
        mine |= (nations == nation).to_numpy(dtype=bool, na_value=False)
    return mine


def visible(
    table: pd.DataFrame, spec: TableSpec, nation: str, role: str, owners: Owners
) -> BoolArray:
    """(rows,) which rows a person of `nation` and `role` may see."""
    if role == "coordinator" or not spec.scope:
        return np.ones(len(table), dtype=bool)
    return belongs_to(table, spec, nation, owners)

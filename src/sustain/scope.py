"""Whose rows are whose: the nations a row of a table belongs to, from the scope its spec
declares (the columns that name a nation, a site, a formation, a line or a lane), who else
they are released to, and which rows a nation may see. One rule for every table and every
interface (the store's queries and, through them, the API):

- a coordinator sees every row;
- anyone else sees a row that belongs to their nation (any of its scope columns names their
  nation, or a site, formation, line or lane of it), a row whose every scope column names
  something released to their nation (a site, formation or line whose `release` names it, or
  says all; a lane is released as the site it leaves from), and every row of a table that
  declares no scope (scenario-wide figures);
- a row whose scope cannot be resolved (a name the owners do not know) is seen by no one but
  coordinators: denied, never guessed.

What anyone may see of the other rows is their aggregate (`aggregate`): the sums the spec
declares, over every row, by the columns it declares (family and period), each of rows of at
least as many nations as the spec asks (so that no sum a nation sees is another's figure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sustain.arrays import BoolArray
from sustain.results.table_specs import TableSpec
from sustain.scenario.schema import RELEASED_TO_ALL


@dataclass(frozen=True)
class Scope:
    """Whose each named thing is and who else it is released to: kind (site, formation,
    line, lane) -> name -> nation, and -> name -> the nations released to ("all" for all)."""

    owners: dict[str, dict[str, str]]
    releases: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)


def _released(text: object) -> frozenset[str]:
    return frozenset(part for part in str(text or "").split(";") if part)


def scope_of(info: dict[str, pd.DataFrame]) -> Scope:
    """The owners and releases of sites, formations, lines and lanes from an info run's
    tables."""
    sites, lanes = info["sites"], info["lanes"]
    site_nation = dict(zip(sites["site"], sites["nation"], strict=True))
    site_release = {s: _released(r) for s, r in zip(sites["site"], sites["release"], strict=True)}
    owners, releases = {"site": site_nation}, {"site": site_release}
    for kind, table in (("formation", info["formations"]), ("line", info["lines"])):
        names = table[kind]
        owners[kind] = dict(zip(names, table["nation"], strict=True))
        releases[kind] = {n: _released(r) for n, r in zip(names, table["release"], strict=True)}
    origins = dict(zip(lanes["lane"], lanes["from"], strict=True))
    owners["lane"] = {lane: site_nation.get(o, "") for lane, o in origins.items()}
    releases["lane"] = {lane: site_release.get(o, frozenset()) for lane, o in origins.items()}
    return Scope(owners, releases)


def _column_nations(table: pd.DataFrame, column: str, kind: str, scope: Scope) -> pd.Series:
    names = table[column].astype("object")
    if kind == "nation":
        return names
    return names.map(scope.owners.get(kind, {}))  # a dict's lookup: unknown names NaN


def belongs_to(table: pd.DataFrame, spec: TableSpec, nation: str, scope: Scope) -> BoolArray:
    """(rows,) whether each row belongs to `nation` by some scope column of the spec."""
    mine = np.zeros(len(table), dtype=bool)
    for column, kind in spec.scope:
        nations = _column_nations(table, column, kind, scope)
        mine |= (nations == nation).to_numpy(dtype=bool, na_value=False)
    return mine


def released_to(table: pd.DataFrame, spec: TableSpec, nation: str, scope: Scope) -> BoolArray:
    """(rows,) whether every scope column of each row names the nation's own or something
    released to it."""
    released = np.ones(len(table), dtype=bool)
    for column, kind in spec.scope:
        own = (_column_nations(table, column, kind, scope) == nation).to_numpy(
            dtype=bool, na_value=False
        )
        if kind == "nation":
            released &= own
            continue
        to_it = {
            name: bool({nation, RELEASED_TO_ALL} & nations)
            for name, nations in scope.releases.get(kind, {}).items()
        }
        mapped = table[column].astype("object").map(to_it)
        released &= own | mapped.to_numpy(dtype=bool, na_value=False)
    return released


def visible(
    table: pd.DataFrame, spec: TableSpec, nation: str, role: str, scope: Scope
) -> BoolArray:
    """(rows,) which rows a person of `nation` and `role` may see."""
    if role == "coordinator" or not spec.scope:
        return np.ones(len(table), dtype=bool)
    return belongs_to(table, spec, nation, scope) | released_to(table, spec, nation, scope)


def aggregate(table: pd.DataFrame, spec: TableSpec, *, coordinator: bool) -> pd.DataFrame:
    """The sums the spec declares by the columns it declares, over every row, with how many
    rows (and, with a nation column, how many nations) each covers: what anyone may see of a
    table whose rows they may not. A sum of fewer nations' rows than the spec's
    least_nations reaches coordinators only."""
    if not spec.aggregate_by:
        raise ValueError(f"the table {spec.name} declares no aggregate")
    grouped = table.groupby(list(spec.aggregate_by), sort=True, dropna=False)
    sums = grouped[list(spec.aggregate_sum)].sum()
    sums.insert(0, "rows", grouped.size())
    nation_column = next((c for c, kind in spec.scope if kind == "nation"), None)
    if nation_column is not None:
        sums.insert(1, "nations", grouped[nation_column].nunique())
        if not coordinator:
            sums = sums[sums["nations"] >= spec.aggregate_least_nations]
    return sums.reset_index()

"""Two runs side by side: the what-if question a planner asks most ("what does this change
buy?"). Runs of the same engine are compared on their key figures and tables, each with the
difference (B less A); the comparison is itself a Run, so the terminal, the report and the
API show it the same way."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sustain.results import Run

COMPARABLE = ("plan", "simulate", "resilience")


def compare(a: Run, b: Run) -> Run:
    """The comparison of two runs of one engine (plan, simulate or resilience)."""
    if a.engine != b.engine:
        raise ValueError(f"cannot compare a {a.engine} run with a {b.engine} run")
    if a.engine not in COMPARABLE:
        raise ValueError(f"runs of {a.engine} are not compared: compare {', '.join(COMPARABLE)}")
    tables = {"figures": _figures(a, b), "shortfall": _shortfall(a, b)}
    if a.engine == "plan":
        tables["bottlenecks"] = _bottlenecks(a, b)
    if a.engine == "resilience":
        tables["cases"] = _cases(a, b)
    notes = {}
    if a.scenario.get("digest") != b.scenario.get("digest"):
        notes["scenarios"] = (
            f"the runs are of different scenarios ({a.scenario.get('name')} "
            f"{str(a.scenario.get('digest'))[:12]}, {b.scenario.get('name')} "
            f"{str(b.scenario.get('digest'))[:12]})"
        )
    grids = [{key: run.scenario.get(key) for key in ("start", "days", "periods")} for run in (a, b)]
    if grids[0] != grids[1] and None not in (*grids[0].values(), *grids[1].values()):
        first, second = grids
        notes["horizons"] = (
            f"the runs cover different horizons (A {first['days']} days from {first['start']} in "
            f"{first['periods']} periods, B {second['days']} days from {second['start']} in "
            f"{second['periods']} periods): totals over the horizon do not compare like for like"
        )
    return Run(
        engine="compare",
        scenario=b.scenario,
        options={"engine": a.engine, "a": a.id, "b": b.id},
        tables=tables,
        notes=notes,
        summary=tuple(tables),
    )


def _figures(a: Run, b: Run) -> pd.DataFrame:
    """The runs' headline numbers, flattened ("weighted_shortfall.p50")."""
    first, second = _numbers(a), _numbers(b)
    names = list(dict.fromkeys([*first, *second]))
    frame = pd.DataFrame(
        {
            "figure": names,
            "a": [first.get(n, np.nan) for n in names],
            "b": [second.get(n, np.nan) for n in names],
        }
    )
    frame["difference"] = frame["b"] - frame["a"]
    return frame


def _numbers(run: Run) -> dict[str, float]:
    found: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found[prefix] = float(value)

    walk("", run.figures)
    if run.engine == "plan":  # in the figures of plan runs since 2026-12-04
        found.setdefault("transport_cost_eur", float(run["shipments"]["cost_eur"].sum()))
        found.setdefault("shipped_t", float(run["shipments"]["tonnes"].sum()))
    return found


def _shortfall(a: Run, b: Run) -> pd.DataFrame:
    """Shortfall by formation and family over the horizon, with fill rates: the plan's units
    short, the simulation's mean."""
    table, column = (
        ("shortfall_by_formation", "shortfall")
        if a.engine == "plan"
        else ("shortfall", "mean_shortfall")
        if a.engine == "simulate"
        else (None, None)
    )
    keys = ["formation", "family", "unit"]
    if table is None or column is None:  # resilience: the base plan's is in its figures
        return pd.DataFrame()  # conformed to the spec's columns, with no rows
    pick = [*keys, column, "fill_rate"]
    joined = _join(a[table][pick], b[table][pick], ["formation", "family"])
    _refuse_other_units(joined, "family", "shortfalls")
    # A pair absent from a run has no demand there, so nothing short.
    frame = pd.DataFrame(
        {
            "formation": joined["formation"],
            "family": joined["family"],
            "unit": joined["unit_b"].fillna(joined["unit_a"]),
            "in_runs": joined["in_runs"],
            "shortfall_a": joined[f"{column}_a"].fillna(0.0),
            "shortfall_b": joined[f"{column}_b"].fillna(0.0),
        }
    )
    frame["difference"] = frame["shortfall_b"] - frame["shortfall_a"]
    frame["fill_rate_a"] = joined["fill_rate_a"]
    frame["fill_rate_b"] = joined["fill_rate_b"]
    return _largest_change_first(frame)


def _refuse_other_units(joined: pd.DataFrame, what: str, figures: str) -> None:
    """A row counted in one unit in run A and in another in run B does not compare."""
    differ = joined["unit_a"].notna() & joined["unit_b"].notna()
    differ &= joined["unit_a"] != joined["unit_b"]
    if differ.any():
        row = joined[differ].iloc[0]
        raise ValueError(
            f"{row[what]} is counted in {row['unit_a']} in run A and in {row['unit_b']} in "
            f"run B: their {figures} do not compare"
        )


def _join(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The rows of both tables on their key (each key once per table), with `in_runs`
    saying whether a row is in both runs, only in A or only in B."""
    for side, table in (("A", a), ("B", b)):
        if table.duplicated(key).any():
            twice = table[table.duplicated(key)].iloc[0]
            raise ValueError(f"run {side} has {key} {[twice[k] for k in key]} twice")
    joined = a.merge(b, on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    names = {"both": "both", "left_only": "a", "right_only": "b"}
    joined["in_runs"] = joined.pop("_merge").astype(str).map(names)
    return joined


def _bottlenecks(a: Run, b: Run) -> pd.DataFrame:
    pick = ["name", "unit", "value_per_unit", "binding_periods"]
    joined = _join(a["bottlenecks"][pick], b["bottlenecks"][pick], ["name"])
    _refuse_other_units(joined, "name", "values")
    frame = pd.DataFrame(
        {
            "name": joined["name"],
            "unit": joined["unit_b"].fillna(joined["unit_a"]),
            "in_runs": joined["in_runs"],
            "value_a": joined["value_per_unit_a"].fillna(0.0),
            "value_b": joined["value_per_unit_b"].fillna(0.0),
        }
    )
    frame["difference"] = frame["value_b"] - frame["value_a"]
    frame["binding_periods_a"] = joined["binding_periods_a"].fillna(0.0)
    frame["binding_periods_b"] = joined["binding_periods_b"].fillna(0.0)
    return _largest_change_first(frame)


def _cases(a: Run, b: Run) -> pd.DataFrame:
    pick = ["case", "weighted_shortfall_added", "gap_days", "vulnerable"]
    joined = _join(a["cases"][pick], b["cases"][pick], ["case"])
    frame = pd.DataFrame(
        {
            "case": joined["case"],
            "in_runs": joined["in_runs"],
            "added_a": joined["weighted_shortfall_added_a"],
            "added_b": joined["weighted_shortfall_added_b"],
        }
    )
    frame["difference"] = frame["added_b"] - frame["added_a"]
    for side in ("a", "b"):
        frame[f"gap_days_{side}"] = joined[f"gap_days_{side}"]
        frame[f"vulnerable_{side}"] = joined[f"vulnerable_{side}"].astype("boolean")
    return _largest_change_first(frame)


def _largest_change_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Largest change first; rows with no difference (a case in one run only) last."""
    order = (
        frame["difference"].abs().sort_values(ascending=False, kind="stable", na_position="last")
    )
    return frame.loc[order.index].reset_index(drop=True)

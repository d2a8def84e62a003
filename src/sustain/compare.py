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
    if run.engine == "plan":
        found["transport_cost_eur"] = float(run["shipments"]["cost_eur"].sum())
        found["shipped_t"] = float(run["shipments"]["tonnes"].sum())
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
        return pd.DataFrame(
            columns=[
                *keys,
                "shortfall_a",
                "shortfall_b",
                "difference",
                "fill_rate_a",
                "fill_rate_b",
            ]
        )
    pick = [*keys, column, "fill_rate"]
    joined = a[table][pick].merge(b[table][pick], on=keys, how="outer", suffixes=("_a", "_b"))
    frame = pd.DataFrame(
        {
            **{k: joined[k] for k in keys},
            "shortfall_a": joined[f"{column}_a"].fillna(0.0),
            "shortfall_b": joined[f"{column}_b"].fillna(0.0),
        }
    )
    frame["difference"] = frame["shortfall_b"] - frame["shortfall_a"]
    frame["fill_rate_a"] = joined["fill_rate_a"]
    frame["fill_rate_b"] = joined["fill_rate_b"]
    return _largest_change_first(frame)


def _bottlenecks(a: Run, b: Run) -> pd.DataFrame:
    pick = ["name", "unit", "value_per_unit", "binding_periods"]
    joined = a["bottlenecks"][pick].merge(
        b["bottlenecks"][pick], on=["name", "unit"], how="outer", suffixes=("_a", "_b")
    )
    frame = pd.DataFrame(
        {
            "name": joined["name"],
            "unit": joined["unit"],
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
    joined = a["cases"][pick].merge(b["cases"][pick], on="case", how="outer", suffixes=("_a", "_b"))
    frame = pd.DataFrame(
        {
            "case": joined["case"],
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
    order = frame["difference"].abs().fillna(np.inf).sort_values(ascending=False, kind="stable")
    return frame.loc[order.index].reset_index(drop=True)

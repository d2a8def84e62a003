"""Resilience: what the loss of each asset (N-1) or pair of assets (N-2) costs, how long the
network survives it against how long it takes to recover, and the smallest sets of assets that
cut a front off.

`resilience(network, ResilienceOptions(k=...))` solves the base plan, settles every case the
base plan (or, for pairs, the plan of one of its assets) already avoids (sustain.resilience.
cases), and re-solves the rest from the base plan's basis on the executor (local processes, or
a Ray cluster). Time-to-survive: days from the loss until no plan with the assets lost for
good can keep every formation and family at or below the base plan's shortfall (found by
feasibility from the re-plan's first excess on; sustain.resilience.sweep). Periods are its
resolution. Mitigation options the scenario lists are then tried on the vulnerabilities.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from sustain.network import Network
from sustain.options import ResilienceOptions
from sustain.resilience.cuts import min_cuts
from sustain.resilience.mitigation import MITIGATION_COLUMNS, mitigate
from sustain.resilience.ranking import Progress, ranked_cases

__all__ = ["Progress", "Resilience", "ResilienceOptions", "resilience"]


@dataclass(frozen=True)
class Resilience:
    network: Network
    options: ResilienceOptions
    cases: pd.DataFrame  # ranked
    cuts: pd.DataFrame
    mitigations: pd.DataFrame  # each option against each vulnerability, cheapest fix first
    base_weighted_shortfall: float
    counts: dict[str, int]
    timings: dict[str, float]
    # A Ctrl-C stopped the re-planning: the cases it left are listed unrun, no mitigation tried.
    interrupted: bool = False

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"cases": self.cases, "cuts": self.cuts, "mitigations": self.mitigations}

    @property
    def vulnerabilities(self) -> pd.DataFrame:
        return self.cases[self.cases["vulnerable"]].reset_index(drop=True)


def resilience(
    network: Network,
    options: ResilienceOptions | None = None,
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: Progress | None = None,
) -> Resilience:
    """Knock out every asset (and pair of assets with k=2) and rank what it costs; then try
    the scenario's mitigation options on the vulnerabilities and single points of failure."""
    options = options or ResilienceOptions()
    if options.k not in (1, 2):
        raise ValueError("k must be 1 or 2")
    n = network
    if not 0 <= options.loss_day < n.n_days:
        raise ValueError(f"the loss day must lie within the horizon (0 to {n.n_days - 1})")
    if options.assets is not None:
        unknown = [a for a in options.assets if a not in n.assets.names]
        if unknown:
            raise ValueError(f"unknown assets: {', '.join(unknown)}")
    started = time.perf_counter()
    swept = ranked_cases(
        n, options, executor=executor, workers=workers, address=address, progress=progress
    )
    cuts_started = time.perf_counter()
    cuts = min_cuts(n)
    mitigations_started = time.perf_counter()
    table = swept.table
    if swept.interrupted:
        mitigations = pd.DataFrame(columns=MITIGATION_COLUMNS)
    else:
        mitigations = mitigate(
            n,
            options,
            table,
            cuts,
            executor=executor,
            workers=workers,
            address=address,
            progress=progress,
        )
    not_run = int(table["weighted_shortfall_added"].isna().sum())
    fixes = mitigations[mitigations["cheapest"].astype(bool)]
    cheapest = dict(zip(fixes["case"], fixes["option"], strict=True))
    table["cheapest_mitigation"] = [cheapest.get(case, "") for case in table["case"]]
    return Resilience(
        network=n,
        options=options,
        cases=table,
        cuts=cuts,
        mitigations=mitigations,
        base_weighted_shortfall=swept.base_weighted_shortfall,
        counts={
            "cases": len(table),
            "solves": swept.solves,
            "settled_without_solving": max(0, 2 * (len(table) - not_run) - swept.solves),
            "not_run": not_run,
        },
        timings={
            "base_s": swept.base_seconds,
            "sweep_s": cuts_started - started - swept.base_seconds,
            "cuts_s": mitigations_started - cuts_started,
            "mitigations_s": time.perf_counter() - mitigations_started,
        },
        interrupted=swept.interrupted,
    )

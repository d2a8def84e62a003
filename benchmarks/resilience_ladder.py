"""Benchmark: full resilience sweeps on generated networks, side by side in one run with the
naive sweep (every case re-solved from scratch, nothing screened), against the time of one
plan solve.

Per rung: one plan solve (build, hand-over to HiGHS and solve, best of three); Sustain's sweep
(screen, warm starts, local executor), wall clock from the call to the ranked table, min cuts
included; the same sweep with the screen off (warm starts only); and the naive sweep, on every
case or on a random sample of assets scaled up to all of them. The tables must agree.

    .venv/bin/python benchmarks/resilience_ladder.py            # the whole ladder
    .venv/bin/python benchmarks/resilience_ladder.py --quick    # the N-1 rung, naive on 100 assets
    .venv/bin/python benchmarks/resilience_ladder.py --rungs 2  # some rungs only (1 = the first)
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sustain
from compile_network import generate
from sustain.execute import default_workers
from sustain.network import Network
from sustain.plan import Planner, PlanOptions
from sustain.resilience import ResilienceOptions, resilience
from sustain.scenario.writers import write

PLAN = PlanOptions(check=False)


@dataclass(frozen=True)
class Rung:
    lanes: int
    items: int
    assets: int
    weeks: int
    k: int
    naive_assets: int | None  # None: the naive sweep runs every case; 0: not run
    warm_only: bool  # also run the sweep with the screen off


RUNGS = [
    Rung(1_200, 2, 1_000, 13, 1, None, True),
    Rung(400, 2, 300, 13, 2, 0, False),
]


def network(rung: Rung) -> Network:
    document = generate(
        rung.lanes, rung.items, "week", n_assets=rung.assets, site_wide_share=0.1, weeks=rung.weeks
    )
    with tempfile.TemporaryDirectory() as folder:
        write(document, Path(folder) / "scenario", "csv")
        return sustain.compile_network(sustain.load(Path(folder) / "scenario"))


def plan_solve_seconds(net: Network) -> tuple[float, int]:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        planner = Planner(net, PLAN)
        planner.resolve()
        best = min(best, time.perf_counter() - start)
    return best, planner.model.n_columns


def sweep(net: Network, options: ResilienceOptions) -> tuple[Any, float]:
    start = time.perf_counter()
    result = resilience(net, options)
    return result, time.perf_counter() - start


def agree(ours: pd.DataFrame, naive: pd.DataFrame) -> bool:
    """Same shortfall added, time-to-survive and verdict for every case the naive sweep ran."""
    a = ours.set_index("case").loc[naive["case"]]
    b = naive.set_index("case")
    scale = max(1.0, float(b["weighted_shortfall_added"].abs().max()))
    return bool(
        np.allclose(a["weighted_shortfall_added"], b["weighted_shortfall_added"], atol=1e-6 * scale)
        and (a["time_to_survive_days"] == b["time_to_survive_days"]).all()
        and (a["vulnerable"] == b["vulnerable"]).all()
    )


def run(rung: Rung, naive_assets: int | None) -> dict[str, Any]:
    net = network(rung)
    plan_s, columns = plan_solve_seconds(net)
    row: dict[str, Any] = {"rung": rung, "columns": columns, "plan_s": plan_s}
    ours, row["ours_s"] = sweep(net, ResilienceOptions(k=rung.k))
    row["cases"] = ours.counts["cases"]
    row["solves"] = ours.counts["solves"]
    if rung.warm_only:
        warm, row["warm_s"] = sweep(net, ResilienceOptions(k=rung.k, screen=False))
        assert agree(ours.cases, warm.cases), "the screened sweep differs from the warm one"
    if naive_assets != 0:
        names = net.assets.names
        chosen = None
        if naive_assets is not None and naive_assets < len(names):
            picked = np.random.default_rng(0).choice(len(names), naive_assets, replace=False)
            chosen = tuple(names[int(k)] for k in np.sort(picked))
        options = ResilienceOptions(k=rung.k, assets=chosen, screen=False, warm_start=False)
        naive, seconds = sweep(net, options)
        row["naive_cases"] = naive.counts["cases"]
        row["naive_s"] = seconds * row["cases"] / naive.counts["cases"]
        row["agree"] = agree(ours.cases, naive.cases)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the N-1 rung, naive on a sample")
    parser.add_argument("--rungs", type=int, nargs="*", help="only these rungs (1 = the first)")
    args = parser.parse_args()
    rungs = RUNGS[:1] if args.quick else RUNGS
    if args.rungs:
        rungs = [RUNGS[k - 1] for k in args.rungs]
    print(
        f"python {platform.python_version()}, {platform.machine()}, "
        f"{default_workers()} workers; sustain {sustain.__version__}"
    )
    print(
        "| k | lanes | items | assets | weeks | LP columns | plan solve (s) | cases | re-solves "
        "| Sustain (s) | x plan solve | screen off (s) | naive (s) | naive cases | x plan solve "
        "| naive / Sustain | agree |"
    )
    print("|---:" * 16 + "|:-:|")
    for rung in rungs:
        r = run(rung, 100 if args.quick else rung.naive_assets)
        plan_s = r["plan_s"]
        warm = f"{r['warm_s']:.1f}" if "warm_s" in r else "-"
        if "naive_s" in r:
            naive = f"{r['naive_s']:,.0f}"
            sampled = r["naive_cases"] < r["cases"]
            naive_cases = f"{r['naive_cases']:,}" + (" (scaled up)" if sampled else "")
            naive_x = f"{r['naive_s'] / plan_s:,.0f}"
            ratio = f"{r['naive_s'] / r['ours_s']:,.0f}x"
            agreed = "yes" if r["agree"] else "NO"
        else:
            naive = naive_cases = naive_x = ratio = agreed = "-"
        print(
            f"| {rung.k} | {rung.lanes:,} | {rung.items} | {rung.assets:,} | {rung.weeks} | "
            f"{r['columns']:,} | {plan_s:.2f} | {r['cases']:,} | {r['solves']:,} | "
            f"{r['ours_s']:.1f} | {r['ours_s'] / plan_s:.1f} | {warm} | {naive} | "
            f"{naive_cases} | {naive_x} | {ratio} | {agreed} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

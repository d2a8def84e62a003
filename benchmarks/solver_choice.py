"""Benchmark: which HiGHS method solves which shape of plan fastest, in one run.

Two families of generated scenarios (the generator of the compile benchmark): the plan ladder's
long horizons (52 weekly periods, few items per lane), and multicommodity-flow shapes (many
items sharing the lanes' capacity over one to four periods). Each is planned as the planner
plans by default (lexicographic: shortfall, then lateness, then cost) with dual simplex and
with interior point (crossover on, since the stages after the first go on from a basis), and
once with the method `auto` picks, to show the choice.

    .venv/bin/python benchmarks/solver_choice.py           # every shape
    .venv/bin/python benchmarks/solver_choice.py --quick   # the small ones
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sustain
from compile_network import generate
from sustain.plan import Planner, PlanOptions
from sustain.plan.solve import method
from sustain.scenario.writers import write

# (family, lanes, items, weeks)
SHAPES = [
    ("ladder", 100, 10, 52),
    ("multicommodity", 1_000, 400, 1),
    ("multicommodity", 4_000, 400, 1),
    ("ladder", 400, 20, 52),
    ("multicommodity", 2_000, 400, 4),
    ("multicommodity", 4_000, 800, 2),
    ("multicommodity", 4_000, 400, 4),
]
QUICK = SHAPES[:2]
TIME_LIMIT = 900.0


def network_of(lanes: int, items: int, weeks: int) -> sustain.Network:
    rows = generate(lanes, items, "week", weeks=weeks)
    with tempfile.TemporaryDirectory() as tmp:
        write(rows, Path(tmp) / "scenario", "csv")
        return sustain.compile_network(sustain.load(Path(tmp) / "scenario"))


def solve(network: sustain.Network, solver: str) -> tuple[float, float, int, int]:
    """(solve seconds, weighted shortfall, iterations, columns); NaN seconds past the limit."""
    planner = Planner(network, PlanOptions(solver=solver, check=False, time_limit=TIME_LIMIT))
    try:
        result = planner.solve()
    except sustain.plan.PlanError:
        return float("nan"), float("nan"), 0, planner.model.n_columns
    return (
        result.timings["solve_s"],
        result.total_shortfall,
        result.size["iterations"],
        planner.model.n_columns,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the small shapes")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {platform.machine()}; highspy "
        f"{metadata.version('highspy')}; time limit {TIME_LIMIT:.0f} s a solve"
    )
    print(
        "| shape | lanes | items | periods | variables | simplex (s) | interior point (s) "
        "| simplex / ipm | auto picks | weighted shortfall, simplex | ipm |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for family, lanes, items, weeks in QUICK if args.quick else SHAPES:
        network = network_of(lanes, items, weeks)
        simplex_s, simplex_short, _, columns = solve(network, "simplex")
        ipm_s, ipm_short, _, _ = solve(network, "ipm")
        picked = method("auto", columns, network.n_periods)
        print(
            f"| {family} | {lanes:,} | {items} | {network.n_periods} | {columns:,} | "
            f"{simplex_s:.1f} | {ipm_s:.1f} | {simplex_s / ipm_s:.2f} | {picked} | "
            f"{simplex_short:,.3f} | {ipm_short:,.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

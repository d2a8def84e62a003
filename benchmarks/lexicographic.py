"""Benchmark: what minimising shortfall, lateness and cost in turn costs against one solve of
their weighted sum, on the example and on generated rungs of the plan ladder, in one run.

    .venv/bin/python benchmarks/lexicographic.py            # the example, 100 and 400 lanes
    .venv/bin/python benchmarks/lexicographic.py --rungs 0   # the example and 100 lanes
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sustain
from compile_network import network_for
from sustain.plan import Planner, PlanOptions

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "race-for-logistics"
RUNGS = [(100, 10), (400, 20), (1_000, 40)]  # those of plan_ladder.py


def solve_seconds(network: sustain.Network, lexicographic: bool) -> tuple[float, float, float]:
    """Best of two: (solve seconds, shortfall part, weighted sum)."""
    best = float("inf")
    parts: dict[str, float] = {}
    for _ in range(2):
        planner = Planner(network, PlanOptions(lexicographic=lexicographic, check=False))
        start = time.perf_counter()
        solution = planner.resolve()
        best = min(best, time.perf_counter() - start)
        parts = solution.parts or {}
    return best, parts["shortfall"], sum(parts.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rungs", type=int, default=2, help="How many ladder rungs to solve.")
    args = parser.parse_args()
    cases: list[tuple[str, sustain.Network]] = [
        ("example (race-for-logistics)", sustain.compile_network(sustain.load(EXAMPLE)))
    ]
    for lanes, items in RUNGS[: args.rungs]:
        cases.append((f"{lanes} lanes, {items} items", network_for(lanes, items)))
    print(f"machine: {platform.machine()}, {platform.python_version()}; best of 2 solves")
    print("| case | blended s | lexicographic s | ratio | shortfall, blended | lexicographic |")
    print("|---|---|---|---|---|---|")
    for name, network in cases:
        blended, short_b, _ = solve_seconds(network, False)
        ordered, short_l, _ = solve_seconds(network, True)
        print(
            f"| {name} | {blended:.2f} | {ordered:.2f} | {ordered / blended:.2f}x | "
            f"{short_b:,.3f} | {short_l:,.3f} |"
        )


if __name__ == "__main__":
    main()

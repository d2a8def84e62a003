"""Benchmark: the planner on a ladder of generated scenarios, side by side with Pyomo.

Per rung: Sustain's build time (Network -> LP arrays) and its peak memory, the hand-over to
HiGHS, the solve, and the same LP built with Pyomo (`pyomo_reference.py`) in the same run.
A second table compares the HiGHS methods on one rung.

    .venv/bin/python benchmarks/plan_ladder.py                 # the whole ladder
    .venv/bin/python benchmarks/plan_ladder.py --quick         # the small rungs
    .venv/bin/python benchmarks/plan_ladder.py --methods-rung 1 --no-ladder
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyomo_reference
import sustain
from compile_network import network_for
from sustain.plan import Planner, PlanOptions
from sustain.plan.model import build

RUNGS = [(100, 10), (400, 20), (1_000, 40)]
BUILD_ONLY_RUNGS = [(2_000, 60)]  # built (and built with Pyomo), not solved


def timed_build(network: sustain.Network, options: PlanOptions) -> tuple[Any, float, float]:
    seconds = float("inf")
    for _ in range(3):  # best of three
        gc.collect()
        start = time.perf_counter()
        model = build(network, options)
        seconds = min(seconds, time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    build(network, options)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return model, seconds, peak / 2**20


def pyomo_build(model: Any) -> float:
    sets = pyomo_reference.prepare(model)
    gc.collect()
    start = time.perf_counter()
    built = pyomo_reference.build(sets)
    seconds = time.perf_counter() - start
    del built
    gc.collect()
    return seconds


def ladder(rungs: list[tuple[int, int]], solver: str, with_pyomo: bool, solve: bool) -> None:
    print(f"\nHiGHS method: {solver}")
    print(
        "| lanes | items | variables | constraints | nonzeros | build (s) | build peak (MiB) "
        "| to HiGHS (s) | solve (s) | build / solve | Pyomo build (s) | Pyomo / Sustain |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n_lanes, n_items in rungs:
        network = network_for(n_lanes, n_items)
        options = PlanOptions(solver=solver, check=False)
        model, build_s, peak = timed_build(network, options)
        solve_s, pass_s = float("nan"), float("nan")
        if solve:
            planner = Planner(network, options)
            result = planner.solve()
            solve_s, pass_s = result.timings["solve_s"], result.timings["pass_s"]
            del planner, result
        pyomo_s = pyomo_build(model) if with_pyomo else float("nan")
        print(
            f"| {n_lanes:,} | {n_items} | {model.n_columns:,} | {model.n_rows:,} | "
            f"{model.matrix.nnz:,} | {build_s:.2f} | {peak:,.0f} | {pass_s:.2f} | {solve_s:.1f} | "
            f"{build_s / solve_s:.2%} | {pyomo_s:.1f} | {pyomo_s / build_s:.0f}x |",
            flush=True,
        )
        del model
        gc.collect()


def methods(rung: tuple[int, int], names: list[str]) -> None:
    network = network_for(*rung)
    print(f"\nHiGHS methods on the rung of {rung[0]:,} lanes and {rung[1]} items")
    print("| method | solve (s) | objective | iterations |")
    print("|---|---:|---:|---:|")
    for method in names:
        try:
            result = Planner(network, PlanOptions(solver=method, check=False)).solve()
            print(
                f"| {method} | {result.timings['solve_s']:.1f} | {result.objective:,.3f} | "
                f"{result.size['iterations']:,} |",
                flush=True,
            )
        except Exception as exc:  # a method that fails is a result too
            print(f"| {method} | failed: {exc} | | |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the two smallest rungs")
    parser.add_argument("--solver", default="auto", help="HiGHS method for the ladder")
    parser.add_argument(
        "--rungs",
        default=None,
        help="only these rungs of the ladder (0-based, separated by commas)",
    )
    parser.add_argument("--no-pyomo", action="store_true", help="skip the Pyomo reference")
    parser.add_argument("--no-solve", action="store_true", help="build only")
    parser.add_argument("--no-ladder", action="store_true", help="skip the ladder")
    parser.add_argument(
        "--methods", default="simplex,ipm,ipm-nox,pdlp", help="methods to compare, comma-separated"
    )
    parser.add_argument(
        "--methods-rung",
        type=int,
        default=None,
        help="compare HiGHS methods on this rung (0-based)",
    )
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {platform.machine()}; sustain {sustain.__version__}"
    )
    rungs = RUNGS[:2] if args.quick else RUNGS
    if args.rungs:
        rungs = [RUNGS[int(k)] for k in args.rungs.split(",")]
    if not args.no_ladder:
        ladder(rungs, args.solver, not args.no_pyomo, not args.no_solve)
        if not args.quick:
            ladder(BUILD_ONLY_RUNGS, args.solver, not args.no_pyomo, solve=False)
    if args.methods_rung is not None:
        methods(RUNGS[args.methods_rung], args.methods.split(","))


if __name__ == "__main__":
    main()

"""Benchmark: load, compile and LP build of generated scenarios, for the Sustain first on the
path, so that two checkouts are timed side by side with the same packages:

    PYTHONPATH=src .venv/bin/python benchmarks/versions.py
    PYTHONPATH=/path/to/older/checkout/src .venv/bin/python benchmarks/versions.py

Run each version twice, alternating: on a shared VM the run-to-run noise is about 20 %.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sustain
from compile_network import generate
from sustain.plan.model import build
from sustain.scenario.writers import write

try:  # where the options live since the One Run restructuring
    from sustain.options import PlanOptions
except ImportError:
    from sustain.plan import PlanOptions

RUNGS = ((1_000, 50, True), (10_000, 200, False))  # lanes, items, whether to build the LP


def best_of(repeats: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    print(f"sustain from {Path(sustain.__file__).parent}")
    print("| lanes | items | load (s) | compile (s) | LP build (s) |")
    print("|---:|---:|---:|---:|---:|")
    for lanes, items, with_build in RUNGS:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "scenario"
            write(generate(lanes, items, "week"), folder, "csv")
            scenario = sustain.load(folder)  # and pint's registry, built once
            network = sustain.compile_network(scenario)
            load = best_of(7, partial(sustain.load, folder))
            compiled = best_of(3, partial(sustain.compile_network, scenario))
            built = best_of(3, partial(build, network, PlanOptions())) if with_build else None
            shown = f"{built:.3f}" if built is not None else "-"
            print(f"| {lanes:,} | {items} | {load:.3f} | {compiled:.3f} | {shown} |")


if __name__ == "__main__":
    main()

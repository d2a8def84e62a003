"""Benchmark: what telling each nation's goods apart costs the simulator, side by side with
the same runs that do not (SimulationOptions(by_nation=False)), in one run, on the bundled
example and the generated networks of benchmarks/simulate_ladder.py.

    .venv/bin/python benchmarks/provenance.py            # the example and every rung
    .venv/bin/python benchmarks/provenance.py --quick    # the example and the smallest rung
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sustain
from simulate_ladder import NOISY, RUNGS, SEED, best_of, network
from sustain.network import Network
from sustain.simulate import SimulationOptions, simulate

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "race-for-logistics"
REPEATS = 5


def timed(net: Network, replications: int, by_nation: bool) -> tuple[float, int]:
    options = SimulationOptions(by_nation=by_nation)
    seconds, run = best_of(
        REPEATS,
        lambda: simulate(net, replications, seed=SEED, uncertainty=NOISY, options=options),
    )
    return seconds, int(run.setup.origins.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the smallest rung")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {len(__import__('os').sched_getaffinity(0))} cores"
    )
    cases = [("example", sustain.compile_network(sustain.load(EXAMPLE)), 1024)]
    for lanes, items, replications in RUNGS[:1] if args.quick else RUNGS:
        cases.append((f"{lanes} lanes x {items} items", network(lanes, items), replications))
    print("| network | sites | nations | replications | untracked s | by nation s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, net, replications in cases:
        simulate(net, 16, seed=SEED, uncertainty=NOISY)  # compile both variants first
        untracked, _ = timed(net, replications, by_nation=False)
        tracked, origins = timed(net, replications, by_nation=True)
        print(
            f"| {name} | {len(net.sites)} | {origins} | {replications} | {untracked:.3f} "
            f"| {tracked:.3f} | {tracked / untracked:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Benchmark: the simulator's throughput on generated networks of growing size, against a
SimPy reference of the same network and rules, in one run; and how time and memory grow with
replications, sites and horizon.

Throughput is in site-item-days per second over all replications: replications x sites x items
x days / seconds. The SimPy reference (benchmarks/simpy_reference.py) runs one of the noisy
replications (the first of the run, with the simulator's own draws); the kernel runs the same
one first, and the two must agree, then runs many for the throughput.

    .venv/bin/python benchmarks/simulate_ladder.py            # the whole ladder
    .venv/bin/python benchmarks/simulate_ladder.py --quick    # the smallest rung only
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sustain
from compile_network import generate
from simpy_reference import run as run_simpy
from sustain.network import Network
from sustain.scenario.writers import write
from sustain.simulate import SimulationOptions, Uncertainty, simulate
from sustain.simulate.setup import prepare
from sustain.simulate.uncertainty import draw

NOISY = Uncertainty(demand_noise=0.2, surge_probability=0.01, transit_cv=0.0, yield_cv=0.0)
# Like for like with the SimPy reference, which does not tell nations' goods apart; what that
# costs is measured apart (benchmarks/provenance.py).
UNSPLIT = SimulationOptions(by_nation=False)
RUNGS = [(100, 10, 2048), (400, 20, 512), (1_000, 50, 128)]
REPEATS = 3  # each timing is the best of this many runs, the kernel's and SimPy's alike
SEED = 1


def network(n_lanes: int, n_items: int, horizon: str = "52 weeks") -> Network:
    document = generate(n_lanes, n_items, "day")
    document["scenario"][0]["horizon"] = horizon
    with tempfile.TemporaryDirectory() as folder:
        write(document, Path(folder) / "scenario", "csv")
        return sustain.compile_network(sustain.load(Path(folder) / "scenario"))


def cells(net: Network) -> int:
    return len(net.sites) * len(net.items) * net.n_days


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(repeats: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest wall clock of `repeats` runs, and the last run's result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def timed_kernel(net: Network, replications: int, executor: str = "local") -> dict[str, float]:
    seconds, result = best_of(
        REPEATS,
        lambda: simulate(
            net, replications, seed=SEED, uncertainty=NOISY, options=UNSPLIT, executor=executor
        ),
    )
    assert result.finished == replications
    return {"seconds": seconds, "rate": replications * cells(net) / seconds}


def rung(n_lanes: int, n_items: int, replications: int, with_simpy: bool) -> dict[str, Any]:
    net = network(n_lanes, n_items)
    row: dict[str, Any] = {
        "lanes": n_lanes,
        "items": n_items,
        "sites": len(net.sites),
        "days": net.n_days,
        "replications": replications,
    }
    # The same noisy replication by both models: they must agree.
    ours = simulate(net, 1, seed=SEED, uncertainty=NOISY, options=UNSPLIT, executor="serial")
    ours_short = float(ours._merged("shortfall").sum())
    kernel = timed_kernel(net, replications)
    row["kernel_s"], row["kernel_rate"] = kernel["seconds"], kernel["rate"]
    serial = timed_kernel(net, max(2, replications // 4), executor="serial")
    row["kernel_serial_rate"] = serial["rate"]
    if with_simpy:
        setup = prepare(net, SimulationOptions())
        factor = draw(net, NOISY, SEED, np.arange(1)).demand_factor
        assert factor is not None
        seconds, theirs = best_of(REPEATS, lambda: run_simpy(setup, factor[0]))
        row["simpy_s"] = seconds
        row["simpy_rate"] = cells(net) / seconds
        row["agree"] = bool(np.isclose(ours_short, theirs["shortfall"], rtol=1e-6, atol=1e-6))
        row["ratio"] = row["kernel_rate"] / row["simpy_rate"]
        row["serial_ratio"] = row["kernel_serial_rate"] / row["simpy_rate"]
    row["peak_mib"] = peak_mib()
    return row


def growth(n_lanes: int, n_items: int) -> list[dict[str, Any]]:
    """Time as replications, and then the horizon, grow on one network."""
    rows = []
    net = network(n_lanes, n_items)
    for replications in (64, 256, 1024, 4096):
        kernel = timed_kernel(net, replications)
        rows.append({"vary": "replications", "value": replications, **kernel})
    for horizon in ("52 weeks", "104 weeks", "156 weeks"):  # generated dates lie in year one
        longer = network(n_lanes, n_items, horizon)
        kernel = timed_kernel(longer, 256)
        rows.append({"vary": "horizon (days)", "value": longer.n_days, **kernel})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the smallest rung")
    parser.add_argument("--no-simpy", action="store_true", help="skip the SimPy reference")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {len(__import__('os').sched_getaffinity(0))} cores"
    )
    rungs = RUNGS[:1] if args.quick else RUNGS
    nan = float("nan")
    print(
        "| lanes | items | sites | days | replications | kernel s | kernel M cells/s "
        "(2 workers) | serial M cells/s | SimPy s (1 rep) | SimPy M cells/s | ratio "
        "| serial ratio | agree | peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n_lanes, n_items, replications in rungs:
        r = rung(n_lanes, n_items, replications, not args.no_simpy)
        print(
            f"| {r['lanes']:,} | {r['items']} | {r['sites']} | {r['days']} | {r['replications']} "
            f"| {r['kernel_s']:.2f} | {r['kernel_rate'] / 1e6:.1f} "
            f"| {r['kernel_serial_rate'] / 1e6:.1f} "
            f"| {r.get('simpy_s', nan):.2f} | {r.get('simpy_rate', nan) / 1e6:.3f} "
            f"| {r.get('ratio', nan):.0f}x | {r.get('serial_ratio', nan):.0f}x "
            f"| {r.get('agree', '-')} | {r['peak_mib']:.0f} |",
            flush=True,
        )
    if not args.quick:
        print("\n| vary | value | seconds | M cells/s |\n|---|---|---|---|")
        for g in growth(*RUNGS[0][:2]):
            print(f"| {g['vary']} | {g['value']} | {g['seconds']:.2f} | {g['rate'] / 1e6:.1f} |")


if __name__ == "__main__":
    main()

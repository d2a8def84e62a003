"""Benchmark: the API under a bounded load on loopback. `sustain serve` (a subprocess, SQLite
store) holding the example theatre and its plan; `--clients` concurrent clients of three
nations and roles (tests/api_load.py: who am I, the runs, pages of scoped tables, an
aggregate) for `--seconds`; the latency of every request. With one server process, then two
(`sustain serve --processes 2`), in one run.

    PYTHONPATH=. .venv/bin/python benchmarks/api_load.py [--clients 50 --seconds 60]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from tests.api_load import run_load
from tests.api_server import serving, uploaded, wait_for
from tests.conftest import EXAMPLES

USERS = {
    "chief": ("UKR", "coordinator"),
    "planner-POL": ("POL", "planner"),
    "viewer-USA": ("USA", "viewer"),
}


def measure(processes: int, clients: int, seconds: float) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        serving(Path(folder), USERS, processes=processes) as server,
    ):
        scenario = uploaded(server, EXAMPLES[0], "chief")
        with server.client("chief") as chief:
            plan = chief.post("/runs", json={"engine": "plan", "scenario": scenario}).json()
            wait_for(chief, plan["id"], until=("finished",))
        tokens = list(server.tokens.values())
        load = run_load(server.url, tokens, plan["id"], clients=clients, seconds=seconds)
    print(
        f"\n{processes} server process(es), {clients} clients x {seconds:.0f} s: "
        f"{load.requests:,} requests ({load.requests / seconds:,.0f}/s), "
        f"{len(load.failures)} errors, statuses {load.statuses}"
    )
    print(
        "latency ms: p50 {:.1f}, p95 {:.1f}, p99 {:.1f}, max {:.1f}".format(
            *(1000 * load.percentile(p) for p in (50, 95, 99, 100))
        )
    )
    by_path: dict[str, list[float]] = defaultdict(list)
    for path, took in zip(load.paths, load.latencies, strict=True):
        by_path[path.split("?")[0].replace(plan["id"], "{run}")].append(took)
    print("| request | count | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    for path, times in by_path.items():
        p50, p95 = (1000 * float(np.percentile(times, p)) for p in (50, 95))
        print(f"| GET {path} | {len(times):,} | {p50:.1f} | {p95:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--processes", default="1,2", help="server processes, each in turn")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    for processes in (int(p) for p in args.processes.split(",")):
        measure(processes, args.clients, args.seconds)


if __name__ == "__main__":
    main()

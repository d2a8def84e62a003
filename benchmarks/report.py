"""Benchmark: the report of a large generated network (benchmarks/compile_network.py's
layered network of 1,000 lanes), its size and the time it takes to open in headless Chromium
(Debian's, through tests/browser.py), against the example's, in one run.

    PYTHONPATH=. .venv/bin/python benchmarks/report.py [--lanes 1000 --items 10 --weeks 26]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.browser import open_report

import sustain
from compile_network import generate
from sustain import service
from sustain.report import build
from sustain.scenario.writers import write

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "race-for-logistics"
OPENINGS = 3  # each page opened this many times, in a fresh browser; the fastest is kept


def measure(name: str, scenario: sustain.Scenario, folder: Path, replications: int) -> str:
    started = time.perf_counter()
    runs = service.report_runs(scenario, replications=replications)
    engines = time.perf_counter() - started
    started = time.perf_counter()
    page = build(runs)
    built = time.perf_counter() - started
    path = folder / f"{name}.html"
    path.write_text(page, encoding="utf-8")
    opened = []
    for _ in range(OPENINGS):
        with open_report(path) as report:
            assert not report.errors and not report.requests, (report.errors, report.requests)
            opened.append(report.seconds)
            charts = report.page.locator(".chart").count()
    return (
        f"| {name} | {len(runs.info['sites'])} | {len(runs.info['lanes'])} | {engines:.1f} | "
        f"{built:.2f} | {path.stat().st_size / 1e6:.1f} | {charts} | {min(opened):.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=1000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--replications", type=int, default=128)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {len(__import__('os').sched_getaffinity(0))} cores"
    )
    print(
        "| network | sites | lanes | engines s | report built s | MB | charts "
        "| drawn in Chromium s (best of 3) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(measure("example", sustain.load(EXAMPLE), folder, args.replications), flush=True)
        document = generate(args.lanes, args.items, "week", weeks=args.weeks)
        write(document, folder / "generated", "csv")
        scenario = sustain.load(folder / "generated")
        name = f"{args.lanes} lanes x {args.items} items"
        print(measure(name, scenario, folder, args.replications), flush=True)


if __name__ == "__main__":
    main()

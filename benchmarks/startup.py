"""Benchmark: how long the command line takes to start, as a user runs it (a new process).

Times `sustain --help`, `sustain validate` of a small scenario and `sustain info --json` of it,
each in a fresh interpreter, best of `--repeat` runs, next to an empty interpreter (the floor no
change to Sustain can go under). `--src` puts another checkout's `src` first on the path, to
time an older version side by side in the same run with the same packages:

    .venv/bin/python benchmarks/startup.py
    .venv/bin/python benchmarks/startup.py --src /path/to/older/checkout/src
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"
COMMANDS = {
    "python (empty)": ["-c", "pass"],
    "sustain --help": ["-m", "sustain", "--help"],
    "sustain validate tiny.yaml": ["-m", "sustain", "validate", str(TINY)],
    "sustain info tiny.yaml --json": ["-m", "sustain", "info", str(TINY), "--json"],
}


def best_of(arguments: list[str], repeat: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, *arguments], env=env, check=True, capture_output=True, cwd=ROOT
        )
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", default=[], help="a checkout's src to time")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sources = [str(ROOT / "src"), *args.src]
    print("| command | " + " | ".join(sources) + " |")
    print("|---|" + "---:|" * len(sources))
    for name, arguments in COMMANDS.items():
        cells = []
        for source in sources:
            env = {**os.environ, "PYTHONPATH": source}
            cells.append(f"{best_of(arguments, args.repeat, env):.2f} s")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

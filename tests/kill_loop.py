"""Kill writers with SIGKILL at moments spread over their write, and report what each kill
left: `python tests/kill_loop.py FOLDER KILLS` prints one JSON line per kind of output.

Run as its own process (tests/test_outputs.py), which imports Sustain once and forks a
writer per kill: a forked writer starts at once, so the kills land inside the write rather
than in the interpreter's start-up, and no thread of a test process is forked.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import sustain
from sustain.output import clean_leftovers
from sustain.results import write_tables
from sustain.scenario.writers import write

ROOT = Path(__file__).resolve().parent.parent


def snapshot(path: Path) -> object:
    """What an output holds: a folder's files and bytes, a workbook's rows, a file's bytes;
    None where nothing is."""
    if path.is_dir():
        return {
            str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
        }
    if path.suffix == ".xlsx" and path.exists():
        try:
            return sustain.load(path).rows()
        except Exception as exc:  # a half-written workbook would land here
            return f"unreadable: {exc}"
    return path.read_bytes() if path.exists() else None


def timed(write_new: Callable[[], None]) -> float:
    """Seconds a forked writer takes, start to exit (slower than in the parent: its pages
    are copied as it writes)."""
    started = time.perf_counter()
    child = os.fork()
    if child == 0:
        try:
            write_new()
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    return time.perf_counter() - started


def kill_loop(
    out: Path, write_old: Callable[[], None], write_new: Callable[[], None], kills: int
) -> dict[str, object]:
    write_old()
    old = snapshot(out)
    duration = timed(write_new)
    new = snapshot(out)
    assert old != new
    outcomes = {"old": 0, "new": 0, "neither": 0, "other": 0, "leftovers_seen": 0}
    for k in range(kills):
        write_old()  # the user's output before the run that is killed
        delay = duration * 2 * (k + 0.5) / kills  # half of them within the write
        child = os.fork()
        if child == 0:  # the writer
            try:
                write_new()
            finally:
                os._exit(0)
        time.sleep(delay)
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        state = snapshot(out)
        outcomes[
            "old"
            if state == old
            else "new"
            if state == new
            else "neither"
            if state is None
            else "other"
        ] += 1
        leftovers = list(out.parent.glob(f".{out.name}.sustain-*"))
        outcomes["leftovers_seen"] += bool(leftovers)
    write_new()  # the next run cleans what the kills left
    outcomes["leftovers_after_next_run"] = len(list(out.parent.glob(f".{out.name}.sustain-*")))
    outcomes["whole_after_next_run"] = snapshot(out) == new
    outcomes["write_seconds"] = duration
    outcomes["cleaned_again"] = len(clean_leftovers(out))
    return outcomes


def main() -> None:
    folder, kills = Path(sys.argv[1]), int(sys.argv[2])
    small = sustain.load(ROOT / "tests" / "fixtures" / "tiny.yaml").rows()
    large = sustain.load(ROOT / "examples" / "race-for-logistics").rows()
    rng = np.random.default_rng(0)
    old_tables = {"a": pd.DataFrame({"x": rng.random(1000)})}
    new_tables = {f"t{k}": pd.DataFrame({"x": rng.random(50_000), "y": k}) for k in range(6)}
    for fmt in ("csv", "yaml", "xlsx"):
        out = folder / f"scenario.{fmt}"
        result = kill_loop(
            out,
            lambda out=out, fmt=fmt: write(small, out, fmt, force=True),
            lambda out=out, fmt=fmt: write(large, out, fmt, force=True),
            kills,
        )
        print(json.dumps({"output": fmt, **result}), flush=True)
    out = folder / "plan-out"
    result = kill_loop(
        out,
        lambda: write_tables(old_tables, out, force=True),
        lambda: write_tables(new_tables, out, force=True),
        kills,
    )
    print(json.dumps({"output": "tables", **result}), flush=True)


if __name__ == "__main__":
    main()

"""Outputs are replaced atomically: a kill at any moment leaves the old output whole or the new
one whole, leftovers of a killed write are cleaned by the next, two writers at once do not
silently replace each other, and an output that cannot be written is a located refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sustain import output
from sustain.output import OutputError, OutputExistsError, atomic_output, clean_leftovers
from sustain.results import write_tables
from tests.conftest import ROOT, TINY

WITHOUT_RENAMEAT2 = pytest.param(True, id="without-renameat2")
WITH_RENAMEAT2 = pytest.param(False, id="with-renameat2")


def test_a_kill_at_any_moment_leaves_the_old_output_or_the_new_one(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "kill_loop.py"), str(tmp_path), "16"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["output"] for r in reports] == ["csv", "yaml", "xlsx", "tables"]
    for report in reports:
        assert report["neither"] == 0 and report["other"] == 0, report
        # The kills landed before and after the output was replaced, not all on one side.
        assert report["old"] > 0 and report["new"] > 0, report
        assert report["leftovers_seen"] > 0, report  # killed writers left work folders ...
        assert report["leftovers_after_next_run"] == 0, report  # ... the next write cleaned
        assert report["whole_after_next_run"], report


@pytest.fixture(params=[WITH_RENAMEAT2, WITHOUT_RENAMEAT2])
def system(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run a test with renameat2 (Linux) and with the portable fallback."""
    if request.param:
        monkeypatch.setattr(output, "_renameat2", None)
    elif output._renameat2 is None:
        pytest.skip("this system has no renameat2")
    return bool(request.param)


def test_two_writers_at_once_do_not_silently_replace_each_other(
    tmp_path: Path, system: bool
) -> None:
    out = tmp_path / "plan"
    refused = pytest.raises(OutputExistsError, match="written by another run while this one")
    with refused, atomic_output(out, force=False, is_dir=True) as first:
        (first / "a.csv").write_text("first\n")
        with atomic_output(out, force=False, is_dir=True) as second:  # started meanwhile
            (second / "b.csv").write_text("second\n")
        # The second finished first: the first, done later, must not replace it.
    assert [p.name for p in out.iterdir()] == ["b.csv"]
    # With --force the later writer replaces the earlier one, whole.
    write_tables({"x": pd.DataFrame({"v": [1]})}, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["x.csv", "x.parquet"]
    assert not list(tmp_path.glob(".plan.sustain-*"))


def test_files_and_folders_replace_one_another(tmp_path: Path, system: bool) -> None:
    out = tmp_path / "out"
    with atomic_output(out, force=True, is_dir=False) as new:
        new.write_text("a file\n")
    assert out.read_text() == "a file\n"
    with atomic_output(out, force=True, is_dir=True) as new:
        (new / "inside.txt").write_text("a folder\n")
    assert (out / "inside.txt").read_text() == "a folder\n"
    with atomic_output(out, force=True, is_dir=False) as new:
        new.write_text("a file again\n")
    assert out.read_text() == "a file again\n"


def finished_process_id() -> str:
    """The id of a process that has exited (a killed writer's, as a work folder names it)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    return done.stdout.strip()


def test_an_old_output_a_kill_left_moved_aside_is_put_back(tmp_path: Path) -> None:
    # What the fallback leaves when killed between its two moves: the old folder inside the
    # work folder of a process that no longer runs, and nothing at the output's place.
    dead = finished_process_id()
    workdir = tmp_path / f".out.sustain-{dead}-abcd"
    (workdir / "out.old").mkdir(parents=True)
    (workdir / "out.old" / "table.csv").write_text("old\n")
    (workdir / "out").mkdir()  # the new one, complete or not: discarded
    (workdir / ".lock").touch()
    assert clean_leftovers(tmp_path / "out") == [workdir]
    assert (tmp_path / "out" / "table.csv").read_text() == "old\n"
    assert not workdir.exists()


def test_a_writer_still_at_work_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_output(out, force=False, is_dir=True) as new:
        assert clean_leftovers(out) == []  # its lock is held
        starting = tmp_path / f".out.sustain-{os.getpid()}-efgh"  # no lock yet, but running
        starting.mkdir()
        assert clean_leftovers(out) == []
        assert new.exists() and starting.exists()
        starting.rmdir()


def test_an_output_that_cannot_be_written_is_refused_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    with pytest.raises(OutputError, match=r"a-file/plan: .*a-file is a file, not a folder"):
        write_tables({"x": pd.DataFrame({"v": [1]})}, blocker / "plan")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sustain",
            "plan",
            str(TINY),
            "--out",
            str(blocker / "plan"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "cannot write" in json.loads(done.stdout[done.stdout.index("{") :])["error"]
    assert blocker.read_text() == "not a folder\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind the superuser")
def test_a_read_only_location_is_refused_with_its_path(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="Permission denied"):
            write_tables({"x": pd.DataFrame({"v": [1]})}, locked / "plan")
    finally:
        locked.chmod(0o700)


def test_a_failure_between_the_fallbacks_two_moves_puts_the_old_output_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "_renameat2", None)
    out = tmp_path / "plan"
    write_tables({"old": pd.DataFrame({"v": [1]})}, out)
    real_rename = Path.rename

    def interrupted(self: Path, target: Path) -> Path:  # the second move: the new one in
        if Path(target) == out and self.name == "plan":
            raise KeyboardInterrupt
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_tables({"new": pd.DataFrame({"v": [2]})}, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["old.csv", "old.parquet"]
    assert not list(tmp_path.glob(".plan.sustain-*"))


def test_cleaning_touches_only_the_leftovers_of_its_own_output(tmp_path: Path) -> None:
    dead = finished_process_id()
    other = tmp_path / f".a1.sustain-{dead}-abcd"  # what `a[1]` would match as a pattern
    (other / "a1.old").mkdir(parents=True)
    assert clean_leftovers(tmp_path / "a[1]") == []
    assert other.exists()

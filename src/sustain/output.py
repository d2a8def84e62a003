"""Replacing an output (a file or a folder) atomically: a kill at any moment leaves the old
output whole or the new one whole, never neither, and never a half-written one.

The new output is written into a work folder beside the target (`.NAME.sustain-XXXX`), then
moved into place in one step: on Linux by renameat2, which swaps two paths (RENAME_EXCHANGE)
or moves one only where nothing is (RENAME_NOREPLACE) atomically, folders included. Where
renameat2 is missing, files are still replaced atomically (rename over a file is) and a folder
is moved aside first: a kill between the two moves leaves the old folder in the work folder,
and the next write to the same place puts it back. Every writer holds a lock on its work
folder while it works (and the folder's name holds its process id), so that the next write
can tell an interrupted writer's leftovers (cleaned) from a writer still at work (left
alone).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_MARK = ".sustain-"
_LOCK = ".lock"
_OLD = ".old"

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


class OutputExistsError(FileExistsError):
    """The output path exists and overwriting was not asked for."""


class OutputError(Exception):
    """An output cannot be written (a read-only or full disk, a parent that is a file); the
    message names the path and why."""


def _load_renameat2() -> ctypes._NamedFuncPointer | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not Linux, or a libc without it
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes += [ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_renameat2 = _load_renameat2()


def _rename(source: Path, target: Path, flags: int) -> bool:
    """renameat2(source, target, flags); False where the system or filesystem lacks it."""
    if _renameat2 is None:
        return False
    done = _renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags)
    if done == 0:
        return True
    code = ctypes.get_errno()
    # Not there, not on this filesystem, or refused by a sandbox: the portable way decides.
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(target))


def _commit(new: Path, out: Path, workdir: Path, *, force: bool) -> None:
    """Move `new` onto `out` in one step; the old output, if any, ends in `workdir`."""
    try:
        if _rename(new, out, _RENAME_NOREPLACE):
            return
    except FileExistsError:
        if not force:
            raise
        if _rename(new, out, _RENAME_EXCHANGE):  # the old output is now at `new`
            return
    # Without renameat2.
    if not out.exists() and not out.is_symlink():
        if new.is_dir():
            new.rename(out)
            return
        try:
            os.link(new, out)  # fails if another writer got there first
        except FileExistsError:
            raise
        except OSError:  # a filesystem without hard links
            new.rename(out)
        return
    if not force:
        raise FileExistsError(errno.EEXIST, "exists", str(out))
    if not new.is_dir() and not out.is_dir():
        new.replace(out)  # atomic for files
        return
    out.rename(workdir / (out.name + _OLD))  # a kill here: the next write puts it back
    new.rename(out)


def _locked(lock: Path) -> bool:
    """Whether a live writer holds `lock`."""
    try:
        handle = lock.open("a")
    except OSError:
        return True  # cannot tell: leave it
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _running(name: str) -> bool:
    """Whether the process whose id the work folder's name holds still runs."""
    pid = name.rpartition(_MARK)[2].partition("-")[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: running
        return True
    return True


def clean_leftovers(out: Path) -> list[Path]:
    """Remove the work folders that interrupted writes to `out` left beside it (restoring an
    old output a kill left moved aside); the ones removed."""
    removed: list[Path] = []
    try:
        candidates = list(out.parent.glob(f".{glob.escape(out.name)}{_MARK}*"))
    except OSError:  # no parent yet, or not readable: nothing to clean
        return removed
    for workdir in candidates:
        lock = workdir / _LOCK
        if not workdir.is_dir() or workdir.is_symlink():
            continue
        # Without its lock, a work folder is a writer killed in its first instant or one
        # about to take its lock: told apart by whether the process named in it still runs.
        # A free lock with its writer still running: the writer has not taken it yet.
        if (lock.exists() and _locked(lock)) or _running(workdir.name):
            continue
        _put_back(workdir, out)
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir)
    return removed


def _put_back(workdir: Path, out: Path) -> None:
    """Restore an old output the fallback moved aside, if nothing replaced it."""
    old = workdir / (out.name + _OLD)
    if (old.exists() or old.is_symlink()) and not out.exists() and not out.is_symlink():
        old.rename(out)


def check_target(out: Path, *, force: bool) -> None:
    """Refuse, before any work, an output that exists (without `force`) or whose place is
    under a file."""
    if (out.exists() or out.is_symlink()) and not force:
        raise OutputExistsError(f"{out} exists (use --force to replace it)")
    existing = next(p for p in out.absolute().parents if p.exists())
    if not existing.is_dir():
        raise OutputError(f"cannot write {out}: {existing} is a file, not a folder")


@contextlib.contextmanager
def atomic_output(out: Path, *, force: bool, is_dir: bool) -> Iterator[Path]:
    """Yield a path to write the new output at; moved onto `out` only if the block succeeds.
    Refuses (OutputExistsError) if `out` exists without `force`, also when another writer
    put it there while this one worked; a failure to write is an OutputError."""
    clean_leftovers(out)
    check_target(out, force=force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{out.name}{_MARK}{os.getpid()}-"
        workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=out.parent))
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    try:
        with (workdir / _LOCK).open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            new = workdir / out.name
            if is_dir:
                new.mkdir()
            yield new
            try:
                _commit(new, out, workdir, force=force)
            except FileExistsError as exc:
                raise OutputExistsError(
                    f"{out} was written by another run while this one worked: nothing "
                    "replaced (use --force to replace it)"
                ) from exc
    except OSError as exc:
        if isinstance(exc, OutputExistsError):
            raise
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        # A failure (or a Ctrl-C) between the fallback's two moves: the old output goes back.
        _put_back(workdir, out)
        shutil.rmtree(workdir, ignore_errors=True)

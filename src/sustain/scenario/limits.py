"""What Sustain reads at most, so that no file, however crafted, takes the machine's memory or
never finishes: the size of a file, the cells of a table, the nesting and alias expansion of
YAML, the uncompressed size of a workbook. Each limit has a default and an environment variable
that raises it (README, "Limits"); a file beyond one gets a message that names the limit and
the variable.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, fields
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    file_mb: int = 100  # one scenario file (YAML, CSV) on disk
    cells: int = 5_000_000  # values in all tables together
    yaml_depth: int = 40  # nesting of YAML collections
    yaml_nodes: int = 5_000_000  # YAML values once aliases are expanded
    xlsx_mb: int = 500  # a workbook once uncompressed

    @classmethod
    def from_environment(cls) -> Limits:
        """The defaults, raised (or lowered) by SUSTAIN_MAX_<NAME> variables."""
        values: dict[str, int] = {}
        for item in fields(cls):
            text = os.environ.get(variable(item.name))
            if text is not None:
                try:
                    values[item.name] = max(int(text), 1)
                except ValueError:
                    raise ValueError(
                        f'{variable(item.name)}="{text}" is not a whole number'
                    ) from None
        return cls(**values)


def variable(name: str) -> str:
    """The environment variable that sets a limit: file_mb -> SUSTAIN_MAX_FILE_MB."""
    return f"SUSTAIN_MAX_{name.upper()}"


def too_large(what: str, limit: str, name: str) -> str:
    return f"{what}, more than the {limit} Sustain reads (raise it with {variable(name)})"


def unreadable_file(path: Path, limits: Limits, folder: Path | None = None) -> str | None:
    """Why `path` must not be read, or None: only regular files are (a FIFO would block, a
    device never ends), of at most `file_mb`; in a scenario folder, a symbolic link must stay
    inside the folder."""
    if folder is not None and path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(folder.resolve()):
            return "is a symbolic link to a file outside the scenario folder"
    try:
        status = path.stat()
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if not stat.S_ISREG(status.st_mode):
        return "is not a regular file (a device, a pipe or a socket)"
    if status.st_size > limits.file_mb * MB:
        return too_large(f"is {status.st_size / MB:,.0f} MB", f"{limits.file_mb} MB", "file_mb")
    return None

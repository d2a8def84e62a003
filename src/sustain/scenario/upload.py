"""A scenario sent as bytes (an upload to the API, a version kept in the store): a YAML file, an
Excel workbook, or a CSV folder sent as a .zip of its tables. Read by the same loader as a
file on disk, within the same limits, so that it gets the same located problems."""

from __future__ import annotations

import io
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from sustain.scenario.errors import Problem, ScenarioError
from sustain.scenario.limits import MB, Limits, too_large
from sustain.scenario.load import load
from sustain.scenario.readers import TABLE_SUFFIXES
from sustain.scenario.schema import TABLES, Scenario

FORMATS = (".yaml", ".yml", ".xlsx", ".zip")
MOST_TABLES = 2 * len(TABLES)  # a zipped folder has a file per table, at most


def load_bytes(filename: str, content: bytes) -> Scenario:
    """The scenario in `content`, named `filename` (its suffix says the format); a
    ScenarioError with every problem, located in the file as sent, if it is not valid."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in FORMATS or name.startswith("."):
        raise ScenarioError(
            [Problem(name or "(no name)", None, "not a scenario: send a .yaml, .xlsx or .zip")]
        )
    limits = Limits.from_environment()
    with tempfile.TemporaryDirectory(prefix="sustain-upload-") as folder:
        if suffix == ".zip":
            path = Path(folder) / PurePosixPath(name).stem
            path.mkdir()
            _unpack(name, content, path, limits)
        else:
            path = Path(folder) / name
            path.write_bytes(content)
        return load(path)


def _unpack(name: str, content: bytes, into: Path, limits: Limits) -> None:
    """The tables of a zipped CSV folder, written flat into `into`: the table files (.csv,
    .yaml) at the top or in one folder; nothing written outside `into`, no member larger than
    a scenario file may be."""
    most = limits.file_mb * MB
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ScenarioError([Problem(name, None, f"not a readable .zip: {exc}")]) from None
    problems: list[Problem] = []
    with archive:
        for member in archive.infolist():
            parts = PurePosixPath(member.filename).parts
            table = PurePosixPath(member.filename).name
            skipped = member.is_dir() or table.startswith((".", "_")) or "__MACOSX" in parts
            # As in a folder on disk: files other than tables (a README) and deeper folders
            # are not read.
            if (
                skipped
                or len(parts) > 2
                or PurePosixPath(table).suffix.lower() not in TABLE_SUFFIXES
            ):
                continue
            where = f"{name}:{member.filename}"
            target = into / table
            if target.exists():
                problems.append(Problem(where, None, f'"{table}" is in the archive twice'))
                continue
            if len(list(into.iterdir())) >= MOST_TABLES:
                problems.append(Problem(where, None, f"more than {MOST_TABLES} table files"))
                break
            try:
                with archive.open(member) as source:
                    data = source.read(most + 1)  # the header's size may lie: at most this
            except (
                RuntimeError,
                NotImplementedError,
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
            ) as exc:
                # encrypted, compressed in a way zipfile cannot read, or damaged
                problems.append(Problem(where, None, f"cannot be read from the archive: {exc}"))
                continue
            if len(data) > most:
                problems.append(
                    Problem(where, None, too_large("is", f"{limits.file_mb} MB", "file_mb"))
                )
                continue
            target.write_bytes(data)
    if problems:
        raise ScenarioError(problems)

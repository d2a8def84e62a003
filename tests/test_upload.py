"""Scenarios sent as bytes (sustain.scenario.upload): a zipped CSV folder read like the folder,
and an archive that is damaged, encrypted or stuffed refused with a located problem."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

import sustain
from sustain import service
from sustain.scenario import ScenarioError
from sustain.scenario.upload import MOST_TABLES, load_bytes
from sustain.scenario.writers import write
from tests.conftest import TINY


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zipped_folder_is_the_folder(tmp_path: Path) -> None:
    scenario = sustain.load(TINY)
    write(scenario.rows(), tmp_path / "tiny", "csv")
    members = {f"tiny/{p.name}": p.read_bytes() for p in (tmp_path / "tiny").iterdir()}
    members["tiny/notes.txt"] = b"not a table: left alone, as in a folder"
    assert service.digest(load_bytes("tiny.zip", zipped(members))) == service.digest(scenario)


def test_a_damaged_archive_member_is_a_located_problem() -> None:
    raw = bytearray(zipped({"sites.csv": b"id,name\n" * 50}))
    raw[raw.find(b"PK\x03\x04") + 40] ^= 0xFF  # inside the first member's compressed data
    with pytest.raises(ScenarioError) as caught:
        load_bytes("broken.zip", bytes(raw))
    assert str(caught.value.problems[0]).startswith("broken.zip:sites.csv: cannot be read")


def test_an_archive_stuffed_with_tables_is_refused() -> None:
    members = {f"t{k}.csv": b"id\n" for k in range(MOST_TABLES + 5)}
    with pytest.raises(ScenarioError, match=f"more than {MOST_TABLES} table files"):
        load_bytes("stuffed.zip", zipped(members))

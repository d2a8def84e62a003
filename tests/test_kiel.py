"""Importing a Kiel Institute Ukraine Support Tracker release (tests/fixtures/kiel: files in its
formats, written for these tests) into the example theatre through a mapping: what is
imported, skipped and why, worked out by hand from the fixture's rows; located problems for
every name the mapping does not cover; a release imported twice adds nothing; through the
command line (a subprocess) and the API."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import sustain
from sustain import service
from sustain.imports.kiel import TrackerError
from tests.api_server import SUSTAIN, Server, serving, uploaded
from tests.conftest import EXAMPLES, FIXTURES

KIEL = FIXTURES / "kiel"
THEATRE = EXAMPLES[0]
# By hand from heavy_weapons.csv and mapping.csv: (donor, item) -> count, site.
EXPECTED_PLEDGES = {
    ("DEU", "leopard-2a6"): (18, "bw-depot"),
    ("POL", "leopard-2a4"): (14, "pol-depot"),
    ("USA", "bradley-m2a2"): (60, "north-charleston"),  # the weapon's own site
    ("USA", "pac-3-mse"): (50, "letterkenny-depot"),
    ("DEU", "iris-t-sls"): (20, "bw-depot"),
    ("NLD", "leopard-2a4"): (10, "nld-depot"),  # its Leopard-1A5 is not mapped
}
UNMAPPED = [
    'heavy_weapons.csv:7 weapons_list: weapon "Leopard-1A5" is not in the mapping',
    'heavy_weapons.csv:8 weapons_list: weapon "M777 howitzer" is not in the mapping',
    'heavy_weapons.csv:9 donor: donor "Portugal" is not in the mapping',
    'heavy_weapons.csv:10 donor: donor "United Kingdom" is not in the mapping',
    'heavy_weapons.csv:10 weapons_list: weapon "Challenger 2" is not in the mapping',
]


def sustain_import(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            SUSTAIN,
            "import",
            "kiel",
            str(KIEL / "heavy_weapons.csv"),
            "--mapping",
            str(KIEL / "mapping.csv"),
            *args,
            "--json",
        ],
        capture_output=True,
        text=True,
    )


def test_names_the_mapping_does_not_cover_stop_the_import_each_located(tmp_path: Path) -> None:
    done = sustain_import(
        "--into", str(THEATRE), "--out", str(tmp_path / "out.yaml"), "--release", "2023-04"
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    problems = json.loads(done.stdout)["problems"]
    shown = [f"{p['where']} {p['field']}: {p['message']}" for p in problems]
    assert [s.split(" (did you mean")[0] for s in shown] == UNMAPPED
    assert not (tmp_path / "out.yaml").exists()  # nothing written


def test_a_release_becomes_pledges_and_holdings_and_twice_adds_nothing(tmp_path: Path) -> None:
    once, twice = tmp_path / "once.yaml", tmp_path / "twice.yaml"
    first = sustain_import(
        "--into",
        str(THEATRE),
        "--out",
        str(once),
        "--skip-unmapped",
        "--release",
        "2023-04",
        "--monthly",
        str(KIEL / "monthly.csv"),
    )
    assert first.returncode == 0, first.stdout + first.stderr
    report = json.loads(first.stdout)
    pledges = {
        (e["donor"], e["item"]): (int(e["quantity"].split()[0]), e["site"])
        for e in report["imported"]
        if e["table"] == "pledges"
    }
    assert pledges == EXPECTED_PLEDGES
    assert [e for e in report["imported"] if e["table"] == "holdings"] == [
        {"table": "holdings", "formation": "bde-05", "system": "bradley", "quantity": 60}
    ]
    assert [s["why"].split(" (did")[0] for s in report["skipped"]] == [
        u.split(": ", 1)[1] for u in UNMAPPED
    ]
    assert report["warnings"][0] == (
        "heavy_weapons.csv:7: weapons_list adds up to 14, number_of_weapons says 16"
    )
    # The theatre pledges these already (its own rows): the release's come on top, said.
    on_top = {w.split(":")[0] for w in report["warnings"][1:]}
    assert on_top == {
        "DEU's leopard-2a6",
        "POL's leopard-2a4",
        "USA's bradley-m2a2",
        "USA's pac-3-mse",
        "DEU's iris-t-sls",
    }
    assert {(m["nation"], m["month"]): m["military_eur"] for m in report["monthly"]} == {
        ("DEU", "2023-01"): 1.2e9,
        ("DEU", "2023-02"): 8e8,
        ("USA", "2023-01"): 4e9,
        ("POL", "2023-01"): 3.5e8,
    }  # Portugal is not mapped
    imported = sustain.load(once)
    before = sustain.load(THEATRE)
    new = {p.id: p for p in imported.pledges}.keys() - {p.id for p in before.pledges}
    assert new == {f"kiel-2023-04-{d}-{i}".lower() for d, i in EXPECTED_PLEDGES}
    table = service.info_run(imported)["pledges"]
    leopards = table.query("donor == 'DEU' and item == 'leopard-2a6'")["pledged"].sum()
    assert leopards == 18  # the import's (the theatre's own 18 are committed)
    second = sustain_import(
        "--into", str(once), "--out", str(twice), "--skip-unmapped", "--release", "2023-04"
    )
    again = json.loads(second.stdout)
    assert again["imported"] == []
    assert sum("imported already" in s["why"] for s in again["skipped"]) == 6
    assert service.digest(sustain.load(twice)) == service.digest(imported)


def read(name: str) -> tuple[str, str]:
    return name, (KIEL / name).read_text()


@pytest.mark.parametrize(
    ("mapping", "weapons", "expected"),
    [
        (
            "kind,name,to,site,formation,system\ndonor,Germany,DEUX,bw-depot,,\n",
            None,
            'mapping.csv:2 to: unknown nation "DEUX" (did you mean "DEU"?)',
        ),
        (
            "kind,name,to,site,formation,system\nweapon,Leo,leopard-2a6,,bde-01,\n",
            None,
            "mapping.csv:2 system: a holding needs both formation and system",
        ),
        (
            "kind,name,to\nvehicle,Leo,leopard-2a6\n",
            None,
            'mapping.csv:2 kind: "vehicle" is not donor or weapon',
        ),
        (
            None,
            "donor,category,number_of_weapons\nGermany,Tanks,18\n",
            "heavy_weapons.csv:1: missing columns monetary_value_eur, weapons_list",
        ),
        (
            None,
            "donor,category,number_of_weapons,monetary_value_eur,weapons_list\n"
            "Germany,Tanks,18,,Leopard-2A6 eighteen\n",
            'heavy_weapons.csv:2 weapons_list: "Leopard-2A6 eighteen" is not a list written',
        ),
    ],
)
def test_a_bad_mapping_or_release_is_a_located_problem(
    mapping: str | None, weapons: str | None, expected: str
) -> None:
    with pytest.raises(TrackerError) as caught:
        service.import_kiel(
            sustain.load(THEATRE),
            ("heavy_weapons.csv", weapons) if weapons else read("heavy_weapons.csv"),
            ("mapping.csv", mapping) if mapping else read("mapping.csv"),
            release="x",
        )
    assert any(str(p).startswith(expected) for p in caught.value.problems), caught.value.problems


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    users = {"chief": ("UKR", "coordinator"), "pol-planner": ("POL", "planner")}
    with serving(tmp_path_factory.mktemp("kiel"), users) as running:
        yield running


def test_a_release_imports_through_the_api_once(server: Server) -> None:
    scenario = uploaded(server, THEATRE, "chief")
    files = {
        "weapons": ("heavy_weapons.csv", (KIEL / "heavy_weapons.csv").read_bytes()),
        "mapping": ("mapping.csv", (KIEL / "mapping.csv").read_bytes()),
    }
    url = f"/scenarios/{scenario}/imports/kiel"
    with server.client("chief") as chief:
        strict = chief.post(url, files=files, data={"release": "r1"})
        first = chief.post(url, files=files, data={"skip_unmapped": "true", "release": "r1"})
        second = chief.post(url, files=files, data={"skip_unmapped": "true", "release": "r1"})
    with server.client("pol-planner") as planner:
        refused = planner.post(url, files=files, data={"skip_unmapped": "true", "release": "r1"})
    assert strict.status_code == 422
    assert [
        f"{p['where']} {p['field']}: {p['message']}".split(" (did")[0]
        for p in strict.json()["problems"]
    ] == UNMAPPED
    assert first.status_code == 201, first.text
    assert len(first.json()["report"]["imported"]) == 7
    assert second.status_code == 200
    assert second.json()["scenario"]["id"] == first.json()["scenario"]["id"]
    assert refused.status_code == 403
    with server.client("chief") as chief:
        audit = chief.get("/audit").json()
    assert audit[-1]["action"] == f"import kiel release r1 into scenario {scenario}"
    assert audit[-1]["target"] == f"scenario {first.json()['scenario']['id']}"

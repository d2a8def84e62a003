"""A release of the Kiel Institute's Ukraine Support Tracker turned into pledges and holdings of
a scenario, through a mapping table.

The release's heavy-weapons table (CSV) has a row per donor and category, with the columns
donor, category, number_of_weapons, monetary_value_eur and weapons_list, the list written
"M777 howitzer (6); Leopard-2A4 (8)". Its monthly totals (CSV: country, iso, year, month,
total, financial, humanitarian, military, ...) are read for the report (military aid by
donor and month), not into the scenario.

The mapping (CSV: kind, name, to, site, formation, system) says what each tracker name is:

- `kind=donor`: the tracker's donor name -> a nation of the scenario (`to`), and the site its
  pledges become available at (`site`);
- `kind=weapon`: the tracker's weapon name -> an item of the scenario (`to`), optionally the
  site it becomes available at instead of the donor's, and a formation and system whose
  holding it adds (a holding already in the scenario is kept as it is).

Every pledge's id comes from the release, the donor and the item, so a release imported twice
creates nothing new: what is there already is reported as skipped, with why.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sustain.scenario.errors import Problem, did_you_mean, shown

WEAPONS_COLUMNS = ("donor", "category", "number_of_weapons", "monetary_value_eur", "weapons_list")
MONTHLY_COLUMNS = ("country", "iso", "year", "month", "military")
MAPPING_COLUMNS = ("kind", "name", "to", "site", "formation", "system")
ENTRY = re.compile(r"^\s*(?P<name>.+?)\s*\((?P<count>\d[\d,]*)\)\s*$")


class TrackerError(ValueError):
    """Problems that stop an import (nothing is written): every one, located."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Report:
    """What an import did: each pledge and holding added, each thing skipped and why, the
    tracker's rows whose list does not add up to their count, and military aid by month."""

    release: str
    imported: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    monthly: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "imported": self.imported,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "monthly": self.monthly,
        }


@dataclass(frozen=True)
class _Weapon:
    written: str  # as the mapping writes the tracker's name
    item: str
    site: str | None
    formation: str | None
    system: str | None


def _table(name: str, text: str, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """A CSV's rows (line number, cells by column), its header checked."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [c.strip() for c in reader.fieldnames or []]
    if missing := [c for c in required if c not in header]:
        raise TrackerError(
            [
                Problem(
                    f"{name}:1",
                    None,
                    f"missing column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)} (it has {', '.join(header) or 'none'})",
                )
            ]
        )
    rows = []
    for row in reader:
        cells = {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if any(cells.values()):
            rows.append((reader.line_num, cells))
    return rows


def read_mapping(
    name: str, text: str, known: dict[str, set[str]]
) -> tuple[dict[str, tuple[str, str | None]], dict[str, _Weapon]]:
    """The mapping's donors (tracker name -> nation, site) and weapons (-> item, ...), each
    target checked against the scenario's names."""
    donors: dict[str, tuple[str, str | None]] = {}
    weapons: dict[str, _Weapon] = {}
    problems: list[Problem] = []
    for line, row in _table(name, text, ("kind", "name", "to")):
        where = f"{name}:{line}"
        kind, tracker, to = row.get("kind", ""), row.get("name", ""), row.get("to", "")
        if kind not in ("donor", "weapon"):
            problems.append(Problem(where, "kind", f'"{shown(kind)}" is not donor or weapon'))
            continue
        targets = {  # column -> (its value, the scenario's names it must be one of, noun)
            "to": (to, *(("nations", "nation") if kind == "donor" else ("items", "item"))),
            "site": (row.get("site", ""), "sites", "site"),
            "formation": (row.get("formation", ""), "formations", "formation"),
            "system": (row.get("system", ""), "systems", "system"),
        }
        for column, (value, table, noun) in targets.items():
            if value and value not in known[table]:
                message = f'unknown {noun} "{shown(value)}"' + did_you_mean(value, known[table])
                problems.append(Problem(where, column, message))
        if not tracker or not to:
            problems.append(Problem(where, "name" if not tracker else "to", "is required"))
            continue
        if bool(row.get("formation")) != bool(row.get("system")):
            problems.append(Problem(where, "system", "a holding needs both formation and system"))
        if kind == "donor":
            donors[tracker.casefold()] = (to, row.get("site") or None)
        else:
            weapons[tracker.casefold()] = _Weapon(
                tracker,
                to,
                row.get("site") or None,
                row.get("formation") or None,
                row.get("system") or None,
            )
    if problems:
        raise TrackerError(problems)
    return donors, weapons


def _mapped_names(text: str, kind: str) -> list[str]:
    """The tracker names of a kind as the mapping writes them (for did-you-mean)."""
    return [
        row["name"]
        for _, row in _table("mapping", text, ("kind", "name", "to"))
        if row.get("kind") == kind
    ]


def entries(text: str) -> list[tuple[str, int]] | None:
    """ "M777 howitzer (6); Leopard-2A4 (8)" -> [("M777 howitzer", 6), ...]; None if an
    entry is not "NAME (COUNT)"."""
    found = []
    for part in (p for p in text.split(";") if p.strip()):
        match = ENTRY.match(part)
        if match is None:
            return None
        found.append((match["name"], int(match["count"].replace(",", ""))))
    return found


def import_release(
    rows: dict[str, list[dict[str, Any]]],
    weapons_file: tuple[str, str],
    mapping_file: tuple[str, str],
    *,
    release: str,
    available: str,
    skip_unmapped: bool = False,
    monthly_file: tuple[str, str] | None = None,
) -> tuple[dict[str, list[dict[str, Any]]], Report]:
    """The scenario's rows with the release's pledges and holdings added, and the report. A
    tracker name the mapping does not cover is a located problem (TrackerError, nothing
    added) unless `skip_unmapped`: then it is skipped, with why."""
    known = {
        table: {str(r.get("id")) for r in rows.get(table, [])}
        for table in ("nations", "items", "sites", "formations", "systems")
    }
    donors, weapons = read_mapping(*mapping_file, known)
    donor_names = [line for line in _mapped_names(mapping_file[1], "donor")]
    unit_of = {str(r["id"]): str(r.get("unit") or "") for r in rows.get("items", [])}
    report = Report(release)
    problems: list[Problem] = []
    wanted: dict[tuple[str, str], int] = defaultdict(int)  # (nation, item) -> count
    sites: dict[tuple[str, str], str] = {}
    holdings: dict[tuple[str, str], int] = defaultdict(int)
    name, text = weapons_file
    for line, row in _table(name, text, WEAPONS_COLUMNS):
        where = f"{name}:{line}"
        donor = donors.get(row["donor"].casefold())
        listed = entries(row["weapons_list"])
        if listed is None:
            problems.append(
                Problem(
                    where,
                    "weapons_list",
                    f'"{shown(row["weapons_list"])}" is not a list '
                    'written "NAME (COUNT); NAME (COUNT)"',
                )
            )
            continue
        if donor is None:
            why = f'donor "{shown(row["donor"])}" is not in the mapping' + did_you_mean(
                row["donor"], donor_names
            )
            if not skip_unmapped:
                problems.append(Problem(where, "donor", why))
            else:
                report.skipped.append({"where": where, "what": row["donor"], "why": why})
        counted = row["number_of_weapons"].replace(",", "")
        if counted.isdigit() and int(counted) != sum(n for _, n in listed):
            report.warnings.append(
                f"{where}: weapons_list adds up to {sum(n for _, n in listed):,}, "
                f"number_of_weapons says {int(counted):,}"
            )
        nation, donor_site = donor or ("", None)
        for weapon_name, count in listed:
            weapon = weapons.get(weapon_name.casefold())
            if weapon is None:
                why = f'weapon "{shown(weapon_name)}" is not in the mapping' + did_you_mean(
                    weapon_name, [w.written for w in weapons.values()]
                )
                if not skip_unmapped:
                    problems.append(Problem(where, "weapons_list", why))
                else:
                    report.skipped.append({"where": where, "what": weapon_name, "why": why})
                continue
            if donor is None:
                continue  # its weapons checked against the mapping, its donor said above
            site = weapon.site or donor_site
            if site is None:
                problems.append(
                    Problem(
                        where,
                        "donor",
                        f"no site for {nation}'s {weapon.item}: give the "
                        "donor's (or the weapon's) site in the mapping",
                    )
                )
                continue
            wanted[nation, weapon.item] += count
            sites[nation, weapon.item] = site
            if weapon.formation and weapon.system:
                holdings[weapon.formation, weapon.system] += count
    if problems:
        raise TrackerError(problems)
    if monthly_file is not None:
        report.monthly = _monthly(*monthly_file, donors)
    return _added(rows, wanted, sites, holdings, unit_of, report, available), report


def _added(
    rows: dict[str, list[dict[str, Any]]],
    wanted: dict[tuple[str, str], int],
    sites: dict[tuple[str, str], str],
    holdings: dict[tuple[str, str], int],
    unit_of: dict[str, str],
    report: Report,
    available: str,
) -> dict[str, list[dict[str, Any]]]:
    tag = re.sub(r"[^a-z0-9]+", "-", report.release.casefold()).strip("-")
    rows = {table: list(records) for table, records in rows.items()}
    pledge_ids = {str(r["id"]) for r in rows.get("pledges", [])}
    mine = f"kiel-{tag}-"
    others: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows.get("pledges", []):
        if not str(r["id"]).startswith(mine):
            others[str(r["donor"]), str(r["item"])].append(str(r["id"]))
    for key in sorted(wanted):
        if others.get(key):
            report.warnings.append(
                f"{key[0]}'s {key[1]}: the scenario pledges some already "
                f"({', '.join(others[key])}); the release's come on top (a tracker release "
                "counts every pledge to its date: import one release, into a scenario without "
                "the pledges it lists)"
            )
    source = f"Kiel Institute, Ukraine Support Tracker, release {report.release}"
    for (nation, item), count in sorted(wanted.items()):
        pledge = f"kiel-{tag}-{nation}-{item}".casefold()
        if pledge in pledge_ids:
            report.skipped.append({"what": pledge, "why": "imported already (this release)"})
            continue
        quantity = f"{count} {unit_of[item]}".strip()
        rows.setdefault("pledges", []).append(
            {
                "id": pledge,
                "donor": nation,
                "item": item,
                "site": sites[nation, item],
                "quantity": quantity,
                "available": available,
                "status": "pledged",
                "source": source,
            }
        )
        report.imported.append(
            {
                "table": "pledges",
                "id": pledge,
                "donor": nation,
                "item": item,
                "quantity": quantity,
                "site": sites[nation, item],
            }
        )
    held = {(str(r["formation"]), str(r["system"])) for r in rows.get("holdings", [])}
    for (formation, system), count in sorted(holdings.items()):
        if (formation, system) in held:
            report.skipped.append(
                {
                    "what": f"holding {formation} {system}",
                    "why": "the scenario holds it already: kept as it is",
                }
            )
            continue
        rows.setdefault("holdings", []).append(
            {"formation": formation, "system": system, "quantity": count, "source": source}
        )
        report.imported.append(
            {"table": "holdings", "formation": formation, "system": system, "quantity": count}
        )
    return rows


def _monthly(
    name: str, text: str, donors: dict[str, tuple[str, str | None]]
) -> list[dict[str, Any]]:
    """Military aid (EUR) by donor and month, for the donors the mapping knows."""
    found = []
    for line, row in _table(name, text, MONTHLY_COLUMNS):
        donor = donors.get(row["country"].casefold())
        if donor is None:
            continue
        try:
            military = float(row["military"] or 0)
            month = f"{int(row['year']):04d}-{int(row['month']):02d}"
        except ValueError:
            raise TrackerError(
                [Problem(f"{name}:{line}", "military", "year, month and military must be numbers")]
            ) from None
        found.append({"nation": donor[0], "month": month, "military_eur": military})
    return found

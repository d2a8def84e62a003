"""Checks across tables: references, units against items, dates against the horizon,
families nobody uses, systems nothing feeds, and formations no source can reach."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping

import numpy as np

from sustain import units
from sustain.graph import reachable
from sustain.scenario.errors import Problem, did_you_mean, shown
from sustain.scenario.schema import (
    MITIGATION_FIELDS,
    RELEASED_TO_ALL,
    TABLES,
    Mitigation,
    MitigationKind,
    PledgeStatus,
    Scenario,
)
from sustain.units import Amount, UnitError


class _Reporter:
    """Turns (table, row index, field, message) into a located Problem."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.problems: list[Problem] = []

    def __call__(self, table: str, index: int, field: str | None, message: str) -> None:
        location = self.scenario.location(table, index)
        where = str(location) if location is not None else table
        self.problems.append(Problem(where, field, message))


def name_sets(scenario: Scenario, extra: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Every name a reference may point to, by table (plus derived 'families', 'intensities')."""
    names: dict[str, set[str]] = defaultdict(set)
    for table, model in TABLES.items():
        if model.key == ("id",):
            names[table] = {str(getattr(r, "id")) for r in scenario.records(table)}  # noqa: B009
    names["families"] = {item.family for item in scenario.items}
    names["intensities"] = {c.intensity for c in scenario.consumption}
    for table, more in extra.items():
        names[table].update(more)
    return names


def cross_check(
    scenario: Scenario,
    known: Mapping[str, Iterable[str]] | None = None,
    *,
    check_reachability: bool = True,
) -> list[Problem]:
    """All cross-table problems. `known` adds names from rows that failed their own checks,
    so that one bad row does not also raise a cascade of 'unknown reference' problems.
    Reachability is checked only when nothing else is wrong: on a broken scenario it would
    mostly repeat the problems already found."""
    report = _Reporter(scenario)
    names = name_sets(scenario, known or {})
    _check_keys(scenario, report)
    _check_references(scenario, names, report)
    _check_units(scenario, report)
    _check_families(scenario, report)
    _check_dates(scenario, report)
    _check_lanes(scenario, report)
    _check_mitigations(scenario, report)
    if not report.problems:  # the events' units and pledges known: follow each pledge
        _check_pledge_events(scenario, report)
    if check_reachability and not report.problems:
        _check_reachability(scenario, report)
    return report.problems


def _check_pledge_events(scenario: Scenario, report: _Reporter) -> None:
    """Each pledge's events, in date order, move on only what stands before them."""
    from sustain.pledges import in_item_units, lifecycle

    known = {item.id for item in scenario.items}
    if any(pledge.item not in known for pledge in scenario.pledges):
        return  # an item row that failed its own checks: said already
    in_item_unit = in_item_units(scenario)
    for index, field, message in lifecycle(scenario, in_item_unit).problems:
        report("pledge_events", index, field, message)


def _check_keys(scenario: Scenario, report: _Reporter) -> None:
    for table, model in TABLES.items():
        if not model.key:
            continue
        first_seen: dict[tuple[object, ...], int] = {}
        for index, record in enumerate(scenario.records(table)):
            key = tuple(getattr(record, f) for f in model.key)
            if key in first_seen:
                first = scenario.location(table, first_seen[key])
                label = "/".join(shown(k) for k in key if k is not None)
                report(
                    table,
                    index,
                    model.key[-1] if len(model.key) == 1 else None,
                    f'"{label}" is already defined at {first}',
                )
            else:
                first_seen[key] = index


_NOUNS = {
    "nations": "nation",
    "items": "item",
    "families": "family",
    "systems": "system",
    "formations": "formation",
    "intensities": "intensity level",
    "sites": "site",
    "assets": "asset",
    "production_lines": "production line",
    "pledges": "pledge",
}


def _check_references(scenario: Scenario, names: dict[str, set[str]], report: _Reporter) -> None:
    for table, model in TABLES.items():
        for field, target in model.references.items():
            pool = names[target]
            alias = model.model_fields[field].alias or field
            for index, record in enumerate(scenario.records(table)):
                value = getattr(record, field)
                for name in value if isinstance(value, tuple) else (value,):
                    released_to_all = field == "release" and name == RELEASED_TO_ALL
                    if name is not None and name not in pool and not released_to_all:
                        report(
                            table,
                            index,
                            alias,
                            f'unknown {_NOUNS[target]} "{shown(name)}"' + did_you_mean(name, pool),
                        )


def _check_units(scenario: Scenario, report: _Reporter) -> None:
    item_unit: dict[str, str] = {}
    for index, item in enumerate(scenario.items):
        try:
            countable = units.is_count_unit(item.unit)
        except UnitError as exc:
            report("items", index, "unit", str(exc))
            continue
        if not countable:
            report(
                "items",
                index,
                "unit",
                f'"{shown(item.unit)}" is not a unit to count an item in (round, kit, m3, t, ...)',
            )
            continue
        item_unit[item.id] = item.unit
    family_unit: dict[str, str] = {}
    for index, item in enumerate(scenario.items):
        unit = item_unit.get(item.id)
        if unit is None:
            continue
        first = family_unit.setdefault(item.family, unit)
        if not _convertible(unit, first):
            report(
                "items",
                index,
                "unit",
                f'"{unit}" cannot be converted to "{first}", the unit of other items of '
                f'family "{item.family}"',
            )

    def against(
        table: str, index: int, field: str, amount: Amount | None, unit: str | None, whose: str
    ) -> None:
        if amount is not None and unit is not None and not _convertible(amount.unit, unit):
            report(
                table, index, field, f'"{amount}" is not in a unit of {whose}, counted in "{unit}"'
            )

    for i, stock in enumerate(scenario.stocks):
        unit = item_unit.get(stock.item)
        for field in ("quantity", "floor", "target"):
            against("stocks", i, field, getattr(stock, field), unit, f'item "{stock.item}"')
    for i, policy in enumerate(scenario.policies):
        unit = item_unit.get(policy.item)
        for field in ("level", "reorder_at"):
            against("policies", i, field, getattr(policy, field), unit, f'item "{policy.item}"')
        low, level = policy.reorder_at, policy.level
        above = (
            low is not None
            and _convertible(low.unit, level.unit)
            and low.value * units.amount_factor(low.unit, level.unit) > level.value
        )
        if above:
            report("policies", i, "reorder_at", f'"{low}" is above the level "{level}"')
    line_item = {line.id: line.item for line in scenario.production_lines}
    for i, line in enumerate(scenario.production_lines):
        against(
            "production_lines",
            i,
            "capacity",
            line.capacity,
            item_unit.get(line.item),
            f'item "{line.item}"',
        )
    for i, change in enumerate(scenario.capacity_changes):
        made = line_item.get(change.line, "")
        against(
            "capacity_changes",
            i,
            "capacity",
            change.capacity,
            item_unit.get(made),
            f'item "{made}"',
        )
    for i, order in enumerate(scenario.orders):
        made = line_item.get(order.line, "")
        against("orders", i, "quantity", order.quantity, item_unit.get(made), f'item "{made}"')
    for i, pledge in enumerate(scenario.pledges):
        against(
            "pledges",
            i,
            "quantity",
            pledge.quantity,
            item_unit.get(pledge.item),
            f'item "{pledge.item}"',
        )
    pledge_item = {pledge.id: pledge.item for pledge in scenario.pledges}
    for i, event in enumerate(scenario.pledge_events):
        made = pledge_item.get(event.pledge, "")
        against(
            "pledge_events", i, "quantity", event.quantity, item_unit.get(made), f'item "{made}"'
        )
    for i, use in enumerate(scenario.consumption):
        against(
            "consumption",
            i,
            "rate",
            use.rate,
            family_unit.get(use.family),
            f'family "{use.family}"',
        )
    for i, option in enumerate(scenario.investments):
        if option.line is None and (option.site is None or option.item is None):
            report("investments", i, "line", "is required, or both site and item for a new line")
        elif option.line is not None and (option.site or option.item):
            report(
                "investments",
                i,
                "site",
                "must be blank when the investment expands an existing line",
            )
        product = (option.item or "") if option.line is None else line_item.get(option.line, "")
        against(
            "investments",
            i,
            "capacity",
            option.capacity,
            item_unit.get(product),
            f'item "{product}"',
        )
    for i, mitigation in enumerate(scenario.mitigations):
        if mitigation.kind == MitigationKind.STOCK:
            against(
                "mitigations",
                i,
                "quantity",
                mitigation.quantity,
                item_unit.get(mitigation.item or ""),
                f'item "{mitigation.item}"',
            )
    for i, place in enumerate(scenario.sites):
        if place.repairs and place.repair_capacity is None:
            report("sites", i, "repairs", "lists systems to repair but repair_capacity is blank")
    for i, system in enumerate(scenario.systems):
        if system.spare_parts_per_repair is not None and system.spare_part is None:
            report("systems", i, "spare_part", "is required when spare_parts_per_repair is given")
        elif system.spare_part is not None:
            against(
                "systems",
                i,
                "spare_parts_per_repair",
                system.spare_parts_per_repair,
                item_unit.get(system.spare_part),
                f'item "{system.spare_part}"',
            )


def _convertible(unit: str, other: str) -> bool:
    try:
        units.amount_factor(unit, other)
    except UnitError:
        return False
    return True


def _check_families(scenario: Scenario, report: _Reporter) -> None:
    item_families = {item.family for item in scenario.items}
    used = {family for system in scenario.systems for family in system.families}
    spare_family = {item.id: item.family for item in scenario.items}
    used |= {spare_family.get(s.spare_part, "") for s in scenario.systems if s.spare_part}
    reported: set[str] = set()
    for index, item in enumerate(scenario.items):
        if item.family not in used and item.family not in reported:
            reported.add(item.family)
            report("items", index, "family", f'family "{item.family}" is used by no system')
    for index, system in enumerate(scenario.systems):
        if system.families and not item_families.intersection(system.families):
            report(
                "systems",
                index,
                "families",
                f'system "{system.id}" has no compatible item anywhere: no item is of family '
                + ", ".join(f'"{f}"' for f in system.families),
            )
    families_of = {s.id: set(s.families) for s in scenario.systems}
    for index, use in enumerate(scenario.consumption):
        own = families_of.get(use.system)
        if own is not None and use.family not in own:
            report(
                "consumption",
                index,
                "family",
                f'system "{use.system}" cannot use family "{use.family}" '
                f"(its families: {', '.join(sorted(own))})",
            )


def _check_dates(scenario: Scenario, report: _Reporter) -> None:
    settings = scenario.scenario
    start, end = settings.start, scenario.end
    if settings.horizon < 1 or not float(settings.horizon).is_integer():
        report(
            "scenario",
            0,
            "horizon",
            f'"{units.format_number(settings.horizon)} day" must be a whole number of days, '
            "at least one",
        )
    last = end - dt.timedelta(days=1)

    def within(table: str, field: str, allow_before: bool) -> None:
        for index, record in enumerate(scenario.records(table)):
            day: dt.date = getattr(record, field)
            if day >= end or (not allow_before and day < start):
                report(
                    table,
                    index,
                    field,
                    f"{day.isoformat()} is outside the horizon {start.isoformat()} to "
                    f"{last.isoformat()}",
                )

    within("intensity", "start", allow_before=True)
    within("capacity_changes", "start", allow_before=True)
    within("orders", "date", allow_before=True)
    within("pledges", "available", allow_before=True)
    within("investments", "start", allow_before=True)

    first_entry: dict[str, dt.date] = {}
    for entry in scenario.intensity:
        first_entry[entry.formation] = min(
            entry.start, first_entry.get(entry.formation, entry.start)
        )
    for index, formation in enumerate(scenario.formations):
        first = first_entry.get(formation.id)
        if first is None:
            report(
                "formations", index, "id", f'formation "{formation.id}" has no intensity schedule'
            )
        elif first > start:
            report(
                "formations",
                index,
                "id",
                f'formation "{formation.id}" has no intensity level on the start date '
                f"{start.isoformat()} (its first entry is {first.isoformat()})",
            )


def _check_lanes(scenario: Scenario, report: _Reporter) -> None:
    for index, lane in enumerate(scenario.lanes):
        if lane.origin == lane.destination:
            report("lanes", index, "to", f'lane "{lane.id}" leads from "{lane.origin}" to itself')


def _check_mitigations(scenario: Scenario, report: _Reporter) -> None:
    """Each row gives the fields its kind needs and leaves the others blank."""
    fields = Mitigation.model_fields
    for index, row in enumerate(scenario.mitigations):
        needed = MITIGATION_FIELDS[row.kind]
        for name in needed:
            if getattr(row, name) is None:
                column = fields[name].alias or name
                report("mitigations", index, column, f"is required for a {row.kind.value} row")
        others = [n for kind, ns in MITIGATION_FIELDS.items() if kind != row.kind for n in ns]
        if row.kind != MitigationKind.LANE:
            others += ["assets", "transport_cost"]
        for name in others:
            if getattr(row, name) not in (None, (), 0.0):
                column = fields[name].alias or name
                report("mitigations", index, column, f"must be blank in a {row.kind.value} row")
        if row.kind == MitigationKind.LANE and row.origin == row.destination:
            report("mitigations", index, "to", f'the lane leads from "{row.origin}" to itself')


def _check_reachability(scenario: Scenario, report: _Reporter) -> None:
    """Each family a formation consumes must have a source (stock, line, pledge) upstream."""
    site_index = {site.id: i for i, site in enumerate(scenario.sites)}
    n = len(site_index)
    family_of = {item.id: item.family for item in scenario.items}
    sources: dict[str, set[int]] = defaultdict(set)
    for stock in scenario.stocks:
        if stock.quantity.value > 0:
            sources[family_of[stock.item]].add(site_index[stock.site])
    for line in scenario.production_lines:
        sources[family_of[line.item]].add(site_index[line.site])
    for pledge in scenario.pledges:
        if pledge.status != PledgeStatus.CANCELLED:
            sources[family_of[pledge.item]].add(site_index[pledge.site])

    origins = np.array([site_index[lane.origin] for lane in scenario.lanes], dtype=np.int64)
    targets = np.array([site_index[lane.destination] for lane in scenario.lanes], dtype=np.int64)
    families = sorted(sources)
    seeds = np.zeros((len(families), n), dtype=bool)
    for k, family in enumerate(families):
        seeds[k, sorted(sources[family])] = True
    reach = dict(zip(families, reachable(n, origins, targets, seeds), strict=True))
    consumed = families_consumed(scenario)
    nowhere = np.zeros(n, dtype=bool)

    for index, formation in enumerate(scenario.formations):
        for family in sorted(consumed.get(formation.id, ())):
            if not reach.get(family, nowhere)[site_index[formation.site]]:
                report(
                    "formations",
                    index,
                    "site",
                    f'formation "{formation.id}" at "{formation.site}" cannot be reached by '
                    f'any source of family "{family}"',
                )


def families_consumed(scenario: Scenario) -> dict[str, set[str]]:
    """Formation -> the families it consumes at some intensity level it is scheduled for."""
    held: dict[str, set[str]] = defaultdict(set)
    for holding in scenario.holdings:
        if holding.quantity > 0:
            held[holding.formation].add(holding.system)
    levels: dict[str, set[str]] = defaultdict(set)
    for entry in scenario.intensity:
        levels[entry.formation].add(entry.level)
    uses: dict[tuple[str, str], set[str]] = defaultdict(set)
    for use in scenario.consumption:
        if use.rate.value > 0:
            uses[use.system, use.intensity].add(use.family)
    return {
        formation: {
            family
            for system in held[formation]
            for level in levels[formation]
            for family in uses.get((system, level), ())
        }
        for formation in held
    }

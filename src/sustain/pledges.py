"""The pledge lifecycle: a pledge's row puts all of it in its status; its events (the
scenario's `pledge_events`, appended by its donor, never changed) move parts of it on, in date
order: offered or pledged -> committed -> shipped (partly: 300 of 1,000) -> delivered, or
cancelled before it ships. What the engines see is the pledge's lots as they stand:

- offered: counted only in an upside run (`upside=True`), from its available date;
- pledged (announced) and committed: arrive at its site from its available date;
- shipped: in the pipeline, arrives when it lands (the event's `arrives`, else its date);
- delivered: stock at its site from the day it was delivered;
- cancelled: counts for nothing.

`lifecycle` also gives every pledge's state after each date its events fall on (the ledger,
`info.pledge_ledger`) and the problems of events that do not fit (more shipped than was
committed, a delivery of nothing shipped, a step back), each with where it was written.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from sustain.scenario.schema import Pledge, PledgeEvent, PledgeStatus, Scenario
from sustain.units import Amount

STATUSES = tuple(s.value for s in PledgeStatus)
# What each step takes from, first to last: a step moves on what stands before it.
TAKES_FROM: dict[str, tuple[str, ...]] = {
    "committed": ("offered", "pledged"),
    "shipped": ("committed", "pledged"),
    "delivered": ("shipped",),
    "cancelled": ("offered", "pledged", "committed"),
}
TOLERANCE = 1e-9  # relative: quantities read from text in different units


@dataclass
class Lot:
    """Part of a pledge in one status, and the day it can move."""

    status: str
    quantity: float  # in the item's unit
    day: dt.date


@dataclass
class State:
    """A pledge as it stands: its lots, by status, oldest first."""

    lots: dict[str, list[Lot]] = field(default_factory=lambda: defaultdict(list))

    def total(self, status: str) -> float:
        return sum(lot.quantity for lot in self.lots.get(status, ()))

    def take(self, statuses: tuple[str, ...], quantity: float | None) -> list[Lot]:
        """Take `quantity` (all, if None) from the lots of `statuses`, in that order, each
        oldest first; the parts taken."""
        taken: list[Lot] = []
        left = quantity
        # What is left within the tolerance of the amount is rounding, not more to take.
        enough = 0.0 if quantity is None else TOLERANCE * max(quantity, 1.0)
        for status in statuses:
            queue = self.lots.get(status, [])
            while queue and (left is None or left > enough):
                lot = queue[0]
                part = lot.quantity if left is None else min(left, lot.quantity)
                taken.append(Lot(status, part, lot.day))
                lot.quantity -= part
                if left is not None:
                    left -= part
                if lot.quantity <= TOLERANCE * max(part, 1.0):
                    queue.pop(0)
        return taken


@dataclass(frozen=True)
class LedgerRow:
    pledge: int  # index into the scenario's pledges
    date: dt.date
    quantities: dict[str, float]  # status -> how much of the pledge stands in it


@dataclass
class Lifecycle:
    """Every pledge's lots as they stand, its ledger, and the problems of its events
    (event index, field, message)."""

    lots: list[list[Lot]]  # per pledge
    ledger: list[LedgerRow]
    problems: list[tuple[int, str | None, str]]


InItemUnit = Callable[[Pledge, Amount], float]


def lifecycle(scenario: Scenario, in_item_unit: InItemUnit) -> Lifecycle:
    """The pledges of a scenario moved on by their events. `in_item_unit(pledge, amount)`
    reads an amount in the pledge's item's unit (the caller knows the units)."""
    events: dict[str, list[tuple[int, PledgeEvent]]] = defaultdict(list)
    for index, event in enumerate(scenario.pledge_events):
        events[event.pledge].append((index, event))
    all_lots: list[list[Lot]] = []
    ledger: list[LedgerRow] = []
    problems: list[tuple[int, str | None, str]] = []
    for k, pledge in enumerate(scenario.pledges):
        state = State()
        whole = in_item_unit(pledge, pledge.quantity)
        state.lots[pledge.status.value].append(Lot(pledge.status.value, whole, pledge.available))
        ordered = sorted(events.get(pledge.id, []), key=lambda pair: (pair[1].date, pair[0]))
        first = min([scenario.scenario.start, *(e.date for _, e in ordered)])
        ledger.append(LedgerRow(k, first, _quantities(state)))
        for index, event in ordered:
            problem = _step(state, pledge, event, in_item_unit)
            if problem is not None:
                problems.append((index, *problem))
                continue
            if ledger[-1].pledge == k and ledger[-1].date == event.date:
                ledger.pop()
            ledger.append(LedgerRow(k, event.date, _quantities(state)))
        all_lots.append([lot for status in STATUSES for lot in state.lots.get(status, [])])
    return Lifecycle(all_lots, ledger, problems)


def _step(
    state: State,
    pledge: Pledge,
    event: PledgeEvent,
    in_item_unit: InItemUnit,
) -> tuple[str | None, str] | None:
    """Move the pledge on by one event; the problem (field, message) if it does not fit."""
    status = event.status.value
    if status not in TAKES_FROM:
        return "status", (
            f"a pledge's events move it on (committed, shipped, delivered or cancelled), "
            f'not back to "{status}"'
        )
    if event.arrives is not None and (status != "shipped" or event.arrives < event.date):
        return "arrives", (
            f"arrives {event.arrives.isoformat()} before it was shipped, on "
            f"{event.date.isoformat()}"
            if status == "shipped"
            else "only a shipment arrives"
        )
    sources = TAKES_FROM[status]
    standing = sum(state.total(s) for s in sources)
    wanted = None if event.quantity is None else in_item_unit(pledge, event.quantity)
    if standing <= 0 or (wanted is not None and wanted > standing * (1 + TOLERANCE)):
        what = " or ".join(sources)
        return "quantity", (
            f'{status} {_amount(wanted, standing)} of pledge "{pledge.id}" on '
            f"{event.date.isoformat()}, but {standing:,.10g} of it is {what} then"
        )
    for part in state.take(sources, wanted):
        if status == "shipped":
            day = event.arrives or event.date
        elif status == "committed":
            day = part.day  # it arrives from the pledge's date, as committed
        else:
            day = event.date
        state.lots[status].append(Lot(status, part.quantity, day))
    return None


def _amount(wanted: float | None, standing: float) -> str:
    return "all" if wanted is None else f"{wanted:,.10g}"


def _quantities(state: State) -> dict[str, float]:
    return {status: state.total(status) for status in STATUSES}


def in_item_units(scenario: Scenario) -> InItemUnit:
    """Reads an amount of a pledge in its item's unit (the scenario's items)."""
    from sustain import units

    item_unit = {item.id: item.unit for item in scenario.items}

    def in_item_unit(pledge: Pledge, amount: Amount) -> float:
        return amount.value * units.amount_factor(amount.unit, item_unit[pledge.item])

    return in_item_unit


def tables(scenario: Scenario) -> dict[str, pd.DataFrame]:
    """The pledges as they stand (`pledges`), each one's state after every date its events
    fall on (`pledge_ledger`), and each donor's totals by item against time
    (`pledges_by_donor`: every pledge's state carried forward to each date of the donor's)."""
    found = lifecycle(scenario, in_item_units(scenario))
    unit = {item.id: item.unit for item in scenario.items}
    counts: dict[str, int] = defaultdict(int)
    for event in scenario.pledge_events:
        counts[event.pledge] += 1
    head = pd.DataFrame(
        {
            "pledge": [p.id for p in scenario.pledges],
            "donor": [p.donor for p in scenario.pledges],
            "item": [p.item for p in scenario.pledges],
            "unit": [unit[p.item] for p in scenario.pledges],
            "site": [p.site for p in scenario.pledges],
        }
    )
    now = pd.DataFrame(
        [
            {s: sum(lot.quantity for lot in lots if lot.status == s) for s in STATUSES}
            for lots in found.lots
        ],
        columns=list(STATUSES),
    )
    pledges = pd.concat([head, now], axis=1)
    pledges.insert(5, "available", [p.available for p in scenario.pledges])
    pledges.insert(6, "written_status", [p.status.value for p in scenario.pledges])
    pledges["events"] = [counts[p.id] for p in scenario.pledges]
    ledger = pd.DataFrame(
        [{"row": r.pledge, "date": r.date, **r.quantities} for r in found.ledger],
        columns=["row", "date", *STATUSES],
    )
    ledger = pd.concat(
        [head.iloc[ledger["row"]].reset_index(drop=True), ledger.drop(columns="row")], axis=1
    )
    return {
        "pledges": pledges,
        "pledge_ledger": ledger,
        "pledges_by_donor": _by_donor(ledger),
    }


def _by_donor(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per donor and item, at each date of the donor's ledger, the sums of its pledges'
    states as they stood then (a pledge counted from its first row on)."""
    columns = ["donor", "item", "unit", "date", *STATUSES]
    if ledger.empty:
        return pd.DataFrame(columns=columns)
    parts = []
    for (donor, item, unit), rows in ledger.groupby(["donor", "item", "unit"], sort=True):
        wide = rows.pivot_table(
            index="date", columns="pledge", values=list(STATUSES), aggfunc="last"
        )
        carried = wide.sort_index().ffill().fillna(0.0)
        sums = carried.T.groupby(level=0).sum().T  # status -> sum over pledges, per date
        sums = sums.reindex(columns=list(STATUSES), fill_value=0.0).reset_index()
        sums.insert(0, "donor", str(donor))
        sums.insert(1, "item", str(item))
        sums.insert(2, "unit", str(unit))
        parts.append(sums)
    return pd.concat(parts, ignore_index=True)[columns]


def donor_ledger(by_donor: pd.DataFrame, used: pd.DataFrame | None) -> pd.DataFrame:
    """Each donor's pledges of each item against time (`info.pledges_by_donor`) beside what
    formations used of that donor's goods by then (`plan.consumption_by_nation`, summed up
    to each date: its stocks, pledges and lines' output alike, as the plan's provenance
    traces them), on every date either has; each carried forward from its last date."""
    keys = ["donor", "item", "date"]
    states = by_donor.drop(columns="unit")
    if used is None or used.empty:
        return by_donor.assign(used_by_formations=float("nan"))
    use = used.rename(columns={"nation": "donor"}).groupby(keys)["quantity"].sum().reset_index()
    use = use.sort_values(keys)
    use["used_by_formations"] = use.groupby(["donor", "item"])["quantity"].cumsum()
    merged = states.merge(use.drop(columns="quantity"), on=keys, how="outer").sort_values(keys)
    columns = [*STATUSES, "used_by_formations"]
    merged[columns] = merged.groupby(["donor", "item"])[columns].ffill()
    merged[list(STATUSES)] = merged[list(STATUSES)].fillna(0.0)
    merged["used_by_formations"] = merged["used_by_formations"].fillna(0.0)
    units = dict(zip(by_donor["item"], by_donor["unit"], strict=False))
    merged.insert(2, "unit", merged["item"].map(units).fillna(""))
    return merged.reset_index(drop=True)

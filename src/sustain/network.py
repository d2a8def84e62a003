"""The Network: a Scenario compiled once into immutable, integer-indexed numpy arrays.

Every engine reads a Network and never goes back to the Scenario. Names survive only in the
`Index` lookups used for reporting. Conventions:

- quantities of an item are in the unit the item is counted in; demand of a family is in the
  unit of the family's first item (`family_unit`), and `item_family_factor` converts the one
  into the other;
- mass is in tonnes, money in euros; arrays indexed by period hold totals over that period
  (the last period may be shorter: `period_length`), other rates are per day;
- periods are the buckets of the planning grid (sustain.timegrid), of lengths that may differ
  (`period_length`, `period_first_day`); lags in days (transit, repair, production) are kept in
  days, never rounded to periods;
- capacities that vary over time are computed day by day and summed per period, so a change
  in the middle of a week counts for the days it holds;
- a production line's capacity is its *output*: what can finish in each period, started
  `production_time` earlier at the rate the line ran at then (before the start too; see
  sustain.production).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_array

from sustain import units
from sustain.arrays import BoolArray, FloatArray, IndexArray, IntArray
from sustain.mitigations import MitigationOption, mitigation_options
from sustain.production import daily_rates, finished, lead_in_days
from sustain.scenario.schema import (
    AssetKind,
    Mode,
    Pledge,
    PledgeStatus,
    Scenario,
    SiteKind,
    Standard,
    SupplyClass,
)
from sustain.timegrid import arrival_bucket, bucket_edges
from sustain.timegrid import describe as describe_grid
from sustain.units import Amount

SITE_KINDS: tuple[str, ...] = tuple(k.value for k in SiteKind)
ASSET_KINDS: tuple[str, ...] = tuple(k.value for k in AssetKind)
MODES: tuple[str, ...] = tuple(m.value for m in Mode)
SUPPLY_CLASSES: tuple[str, ...] = tuple(c.value for c in SupplyClass)
STANDARDS: tuple[str, ...] = tuple(s.value for s in Standard)
PLEDGE_STATUSES: tuple[str, ...] = tuple(s.value for s in PledgeStatus)


@dataclass(frozen=True, eq=False)
class Index:
    """Names in order, and the position of each: the only place names live in a Network."""

    names: tuple[str, ...]
    _positions: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_positions", {n: i for i, n in enumerate(self.names)})

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._positions

    def __getitem__(self, name: str) -> int:
        return self._positions[name]

    def positions(self, names: Iterable[str]) -> IndexArray:
        """Positions of many names at once, as an int32 array."""
        lookup = self._positions
        return np.fromiter((lookup[n] for n in names), dtype=np.int32)

    def take(self, positions: npt.ArrayLike) -> list[str]:
        """Names at the given positions."""
        return [self.names[i] for i in np.asarray(positions, dtype=np.int64).ravel()]


@dataclass(frozen=True, eq=False)
class Network:
    """A scenario as arrays. All arrays are read-only; see the module docstring for units."""

    name: str
    start: np.datetime64
    grid: str  # the planning grid as written tidily, e.g. "28 x day, then week"
    period_start: npt.NDArray[np.datetime64]  # (P,) first day of each period
    period_length: FloatArray  # (P,) days in each period (the last may be shorter)
    period_first_day: IndexArray  # (P,) first day of each period, in days from the start

    nations: Index

    sites: Index
    site_kind: IndexArray  # code into SITE_KINDS
    site_lat: FloatArray
    site_lon: FloatArray
    site_nation: IndexArray
    site_release: tuple[str, ...]  # who else may see its rows: "", "all" or "POL;USA"
    site_throughput: FloatArray  # t per day, inf where unlimited
    site_storage: FloatArray  # t, inf where unlimited
    site_holding_cost: FloatArray  # EUR per t a day, nan where the site names none
    site_repair_capacity: FloatArray  # systems per day, 0 where none
    site_repairs: BoolArray  # (sites, systems): which systems each repair hub repairs

    families: Index
    family_unit: tuple[str, ...]

    items: Index
    item_class: IndexArray  # code into SUPPLY_CLASSES
    item_family: IndexArray
    item_unit: tuple[str, ...]
    item_mass: FloatArray  # t per unit of count
    item_criticality: FloatArray
    item_family_factor: FloatArray  # family units per item unit

    levels: Index  # intensity levels

    systems: Index
    system_standard: IndexArray  # code into STANDARDS
    system_family: BoolArray  # (systems, families): which families each system can use
    consumption: FloatArray  # (systems, families, levels) family units per system per day
    system_breakdown_rate: FloatArray  # share per day
    system_damage_rate: FloatArray  # share per day
    system_repair_days: FloatArray
    system_spare_part: IndexArray  # item, -1 where none
    system_spare_parts_per_repair: FloatArray  # units of that item
    system_mass: FloatArray  # t per system, 0 where not given
    system_value: FloatArray  # weight of one system out of action per day, nan where derived

    formations: Index
    formation_site: IndexArray
    formation_nation: IndexArray
    formation_release: tuple[str, ...]
    formation_priority: FloatArray
    holdings: FloatArray  # (formations, systems)
    formation_level_days: FloatArray  # (formations, periods, levels) days at each level
    demand: FloatArray  # (periods, formations, families) family units per period
    formation_family: BoolArray  # (formations, families): families its systems can use

    lanes: Index
    lane_origin: IndexArray
    lane_destination: IndexArray
    lane_mode: IndexArray  # code into MODES
    lane_capacity: FloatArray  # (periods, lanes) t per period
    lane_transit_days: FloatArray
    lane_cost: FloatArray  # EUR per t

    assets: Index
    asset_kind: IndexArray  # code into ASSET_KINDS
    asset_site: IndexArray  # -1 where the asset is not a whole site
    asset_recovery_days: FloatArray
    lane_assets: csr_array  # (lanes, assets) 1 where the lane fails with the asset

    stock_site: IndexArray
    stock_item: IndexArray
    stock_nation: IndexArray
    stock_quantity: FloatArray  # item units on the start date
    stock_floor: FloatArray
    stock_target: FloatArray  # nan where none

    lines: Index  # production lines
    line_site: IndexArray
    line_item: IndexArray
    line_nation: IndexArray
    line_release: tuple[str, ...]
    line_capacity: FloatArray  # (periods, lines) item units that can finish in each period
    # The capacity steps themselves, for engines that look before the start or past the end
    # (order books): a line runs at its base rate, then at change_rate[k] from
    # change_day[k] (days from the start, negative before it) on.
    line_base_rate: FloatArray  # item units per day
    line_change_line: IndexArray
    line_change_day: IndexArray
    line_change_rate: FloatArray  # item units per day
    line_production_days: FloatArray

    orders: Index
    order_line: IndexArray
    order_customer: IndexArray
    order_quantity: FloatArray
    order_date: npt.NDArray[np.datetime64]
    order_day: IndexArray  # days from the start (negative for orders placed before it)
    order_priority: FloatArray

    investments: Index  # options to add production capacity
    invest_line: IndexArray  # the line it expands, -1 for a new line
    invest_site: IndexArray  # site of the line (existing or new)
    invest_item: IndexArray
    invest_cost: FloatArray  # EUR
    invest_rate: FloatArray  # item units per day at full rate
    invest_start_day: IndexArray  # days from the scenario start
    invest_ramp_days: FloatArray
    invest_production_days: FloatArray  # time from start to finish of a lot on its line

    pledges: Index
    pledge_donor: IndexArray
    pledge_item: IndexArray
    pledge_site: IndexArray
    pledge_quantity: FloatArray
    # First period it can move (0 when available before the start; the number of periods when
    # after the horizon).
    pledge_period: IndexArray
    pledge_day: IndexArray  # first day it can move, from the start (0 when available before)
    pledge_status: IndexArray  # code into PLEDGE_STATUSES
    upside: bool  # whether offered pledges count (an upside run)
    # Replenishment levels the scenario sets (the simulator's policies table).
    policy_site: IndexArray
    policy_item: IndexArray
    policy_level: FloatArray  # item units
    policy_reorder: FloatArray  # item units, nan for base-stock
    policy_where: tuple[str, ...]  # where each row was read (file:line), for messages

    # Options to make the network harder to break, each with the network it makes.
    mitigations: tuple[MitigationOption, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
            elif isinstance(value, csr_array):
                for part in (value.data, value.indices, value.indptr):
                    part.flags.writeable = False

    @property
    def n_periods(self) -> int:
        return int(self.period_start.size)

    @property
    def n_days(self) -> int:
        return int(self.period_length.sum())

    @property
    def period_edges(self) -> npt.NDArray[np.int64]:
        """(periods + 1,) the first day of each period, then the number of days."""
        return np.append(self.period_first_day, self.n_days).astype(np.int64)

    @property
    def day_period(self) -> npt.NDArray[np.int64]:
        """(days,) the period each day of the horizon falls in."""
        return np.repeat(np.arange(self.n_periods), self.period_length.astype(np.int64))

    def family_criticality(self) -> FloatArray:
        """(families,) each family's criticality: that of its most critical item."""
        criticality = np.zeros(len(self.families))
        np.maximum.at(criticality, self.item_family, self.item_criticality)
        return criticality

    def partner(self) -> BoolArray:
        """(nations,) the partner: the nations whose formations the network supplies. Every
        other nation is a donor."""
        partner = np.zeros(len(self.nations), dtype=bool)
        partner[self.formation_nation] = True
        return partner

    def per_period(self, daily: FloatArray) -> FloatArray:
        """Sum a (days, ...) series over the horizon's days into (periods, ...)."""
        summed: FloatArray = np.add.reduceat(daily[: self.n_days], self.period_first_day, axis=0)
        return summed

    def arrays(self) -> dict[str, np.ndarray[Any, Any]]:
        """Every numpy array of the network by name (for inspection and memory accounting)."""
        return {
            f.name: v for f in fields(self) if isinstance(v := getattr(self, f.name), np.ndarray)
        }

    def nbytes(self) -> int:
        sparse = self.lane_assets.data.nbytes + self.lane_assets.indices.nbytes
        return sum(a.nbytes for a in self.arrays().values()) + sparse


# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _factor(amount_unit: str, item_unit: str) -> float:
    return units.amount_factor(amount_unit, item_unit)


def _in(amount: Amount | None, unit: str, default: float = 0.0) -> float:
    return default if amount is None else amount.value * _factor(amount.unit, unit)


def _floats(values: Iterable[float]) -> FloatArray:
    return np.fromiter(values, dtype=np.float64)


def _codes(values: Iterable[str], vocabulary: Sequence[str]) -> IndexArray:
    lookup = {v: i for i, v in enumerate(vocabulary)}
    return np.fromiter((lookup[v] for v in values), dtype=np.int32)


def _day_offset(start: dt.date, day: dt.date) -> int:
    return (day - start).days


def compile_network(scenario: Scenario, *, upside: bool = False) -> Network:
    """Compile a validated Scenario into a Network: one function per table (or tables read
    together), each giving its part of the Network's fields. Pledges enter as their lots
    stand after their events (sustain.pledges); offered ones only with `upside`."""
    s = scenario
    grid = _Grid.of(s)
    nations = Index(tuple(n.id for n in s.nations))
    fields: dict[str, Any] = {"name": s.scenario.name, "nations": nations, **grid.fields()}
    fields |= _sites(s, nations)
    fields |= _items(s)
    fields |= _systems(s, fields)
    fields |= _formations(s, grid, fields)
    fields |= _lanes_and_assets(s, fields)
    fields |= _stocks(s, fields)
    fields |= _production_lines(s, grid, fields)
    fields |= _orders(s, grid, fields)
    fields |= _investments(s, grid, fields)
    fields |= _pledges(s, grid, fields, upside=upside)
    fields |= _policies(s, fields)
    return Network(**fields, mitigations=mitigation_options(s))


@dataclass(frozen=True)
class _Grid:
    """The horizon in days and its periods."""

    start: dt.date
    n_days: int
    edges: IntArray  # (periods + 1,) first day of each period, then the horizon's end
    period: str  # as the scenario writes it

    @classmethod
    def of(cls, scenario: Scenario) -> _Grid:
        settings = scenario.scenario
        n_days = round(settings.horizon)
        edges = bucket_edges(settings.period, settings.start, n_days)
        return cls(settings.start, n_days, edges, settings.period)

    def day(self, date: dt.date) -> int:
        return _day_offset(self.start, date)

    def fields(self) -> dict[str, Any]:
        start = np.datetime64(self.start, "D")
        period_first_day = self.edges[:-1].astype(np.int32)
        return {
            "start": start,
            "grid": describe_grid(self.period),
            "period_start": start + period_first_day.astype("timedelta64[D]"),
            "period_length": np.diff(self.edges).astype(np.float64),
            "period_first_day": period_first_day,
        }

    @property
    def day_period(self) -> IntArray:
        n_periods = self.edges.size - 1
        return np.repeat(np.arange(n_periods, dtype=np.int64), np.diff(self.edges))


def _sites(s: Scenario, nations: Index) -> dict[str, Any]:
    sites = Index(tuple(x.id for x in s.sites))
    return {
        "sites": sites,
        "site_kind": _codes((x.kind.value for x in s.sites), SITE_KINDS),
        "site_lat": _floats(x.lat for x in s.sites),
        "site_lon": _floats(x.lon for x in s.sites),
        "site_nation": nations.positions(x.nation for x in s.sites),
        "site_release": _releases(s.sites),
        "site_throughput": _floats(
            np.inf if x.throughput is None else x.throughput for x in s.sites
        ),
        "site_storage": _floats(np.inf if x.storage is None else x.storage for x in s.sites),
        "site_holding_cost": _floats(
            np.nan if x.holding_cost is None else x.holding_cost for x in s.sites
        ),
        "site_repair_capacity": _floats(x.repair_capacity or 0.0 for x in s.sites),
    }


def _items(s: Scenario) -> dict[str, Any]:
    """Items and their families; a family is counted in the unit of its first item."""
    families = Index(tuple(dict.fromkeys(i.family for i in s.items)))
    family_unit_of: dict[str, str] = {}
    for item in s.items:
        family_unit_of.setdefault(item.family, item.unit)
    return {
        "families": families,
        "family_unit": tuple(family_unit_of[f] for f in families),
        "items": Index(tuple(i.id for i in s.items)),
        "item_class": _codes((i.supply_class.value for i in s.items), SUPPLY_CLASSES),
        "item_family": families.positions(i.family for i in s.items),
        "item_unit": tuple(i.unit for i in s.items),
        "item_mass": _floats(i.mass for i in s.items),
        "item_criticality": _floats(i.criticality for i in s.items),
        "item_family_factor": _floats(_factor(i.unit, family_unit_of[i.family]) for i in s.items),
    }


def _systems(s: Scenario, known: dict[str, Any]) -> dict[str, Any]:
    """Systems, the families they fire or burn, their consumption by intensity, the repair
    hubs that take them."""
    families, family_unit, items = known["families"], known["family_unit"], known["items"]
    item_unit, sites = known["item_unit"], known["sites"]
    levels = Index(tuple(dict.fromkeys(c.intensity for c in s.consumption)))
    systems = Index(tuple(x.id for x in s.systems))
    system_family = np.zeros((len(systems), len(families)), dtype=bool)
    for k, system in enumerate(s.systems):
        system_family[k, [families[f] for f in system.families if f in families]] = True
    consumption = np.zeros((len(systems), len(families), len(levels)))
    for use in s.consumption:
        f = families[use.family]
        consumption[systems[use.system], f, levels[use.intensity]] = _in(use.rate, family_unit[f])
    site_repairs = np.zeros((len(sites), len(systems)), dtype=bool)
    for k, x in enumerate(s.sites):
        if x.repair_capacity:
            site_repairs[k, systems.positions(x.repairs) if x.repairs else slice(None)] = True
    return {
        "levels": levels,
        "systems": systems,
        "system_standard": _codes((x.standard.value for x in s.systems), STANDARDS),
        "system_family": system_family,
        "consumption": consumption,
        "system_breakdown_rate": _floats(x.breakdown_rate for x in s.systems),
        "system_damage_rate": _floats(x.combat_damage_rate for x in s.systems),
        "system_repair_days": _floats(x.repair_time for x in s.systems),
        "system_spare_part": np.fromiter(
            (items[x.spare_part] if x.spare_part else -1 for x in s.systems), dtype=np.int32
        ),
        "system_spare_parts_per_repair": _floats(
            _in(x.spare_parts_per_repair, item_unit[items[x.spare_part]]) if x.spare_part else 0.0
            for x in s.systems
        ),
        "system_mass": _floats(x.mass or 0.0 for x in s.systems),
        "system_value": _floats(np.nan if x.value is None else x.value for x in s.systems),
        "site_repairs": site_repairs,
    }


def _formations(s: Scenario, grid: _Grid, known: dict[str, Any]) -> dict[str, Any]:
    """Formations, their holdings of systems, and their demand per period and family (the
    days at each intensity times the rates of the systems held)."""
    sites, nations, systems = known["sites"], known["nations"], known["systems"]
    formations = Index(tuple(x.id for x in s.formations))
    holdings = np.zeros((len(formations), len(systems)))
    for h in s.holdings:
        holdings[formations[h.formation], systems[h.system]] += h.quantity
    n_periods = grid.edges.size - 1
    level_days = _formation_level_days(s, formations, known["levels"], grid.day_period, n_periods)
    rate = np.einsum("fs,sml->fml", holdings, known["consumption"])  # per formation per day
    return {
        "formations": formations,
        "formation_site": sites.positions(x.site for x in s.formations),
        "formation_nation": nations.positions(x.nation for x in s.formations),
        "formation_release": _releases(s.formations),
        "formation_priority": _floats(x.priority for x in s.formations),
        "holdings": holdings,
        "formation_level_days": level_days,
        "demand": np.einsum("fpl,fml->pfm", level_days, rate),
        "formation_family": (holdings @ known["system_family"].astype(np.float64)) > 0,
    }


def _lanes_and_assets(s: Scenario, known: dict[str, Any]) -> dict[str, Any]:
    """Lanes (capacity per period) and the assets they fail with."""
    sites = known["sites"]
    assets = Index(tuple(a.id for a in s.assets))
    asset_site = np.fromiter(
        (sites[a.site] if a.site is not None else -1 for a in s.assets), dtype=np.int32
    )
    lane_origin = sites.positions(x.origin for x in s.lanes)
    lane_destination = sites.positions(x.destination for x in s.lanes)
    return {
        "lanes": Index(tuple(x.id for x in s.lanes)),
        "lane_origin": lane_origin,
        "lane_destination": lane_destination,
        "lane_mode": _codes((x.mode.value for x in s.lanes), MODES),
        "lane_capacity": known["period_length"][:, None]
        * _floats(x.capacity for x in s.lanes)[None, :],
        "lane_transit_days": _floats(x.transit_time for x in s.lanes),
        "lane_cost": _floats(x.cost for x in s.lanes),
        "assets": assets,
        "asset_kind": _codes((a.kind.value for a in s.assets), ASSET_KINDS),
        "asset_site": asset_site,
        "asset_recovery_days": _floats(a.recovery_time for a in s.assets),
        "lane_assets": _lane_assets(s, assets, lane_origin, lane_destination, asset_site),
    }


def _stocks(s: Scenario, known: dict[str, Any]) -> dict[str, Any]:
    stock_item = known["items"].positions(x.item for x in s.stocks)
    stock_unit = [known["item_unit"][i] for i in stock_item]
    stock_site = known["sites"].positions(x.site for x in s.stocks)
    return {
        "stock_site": stock_site,
        "stock_item": stock_item,
        "stock_nation": _owner(s.stocks, known["nations"], known["site_nation"], stock_site),
        "stock_quantity": _floats(
            _in(x.quantity, u) for x, u in zip(s.stocks, stock_unit, strict=True)
        ),
        "stock_floor": _floats(_in(x.floor, u) for x, u in zip(s.stocks, stock_unit, strict=True)),
        "stock_target": _floats(
            _in(x.target, u, np.nan) for x, u in zip(s.stocks, stock_unit, strict=True)
        ),
    }


def _production_lines(s: Scenario, grid: _Grid, known: dict[str, Any]) -> dict[str, Any]:
    """Lines and their capacity changes; the output finishing in each period (lots started
    a production time earlier, before the start too)."""
    item_unit = known["item_unit"]
    lines = Index(tuple(x.id for x in s.production_lines))
    line_item = known["items"].positions(x.item for x in s.production_lines)
    line_site = known["sites"].positions(x.site for x in s.production_lines)
    line_base = _floats(
        _in(x.capacity, item_unit[i]) for x, i in zip(s.production_lines, line_item, strict=True)
    )
    change_line = lines.positions(c.line for c in s.capacity_changes)
    change_day = np.fromiter((grid.day(c.start) for c in s.capacity_changes), np.int32)
    change_rate = _floats(
        _in(c.capacity, item_unit[line_item[k]])
        for c, k in zip(s.capacity_changes, change_line, strict=True)
    )
    production_days = _floats(x.production_time for x in s.production_lines)
    lead = lead_in_days(production_days)
    started = daily_rates(
        -lead, lead + grid.n_days, line_base, change_line, change_day, change_rate
    )
    daily_line_output = finished(started, -lead, production_days, grid.n_days)
    return {
        "lines": lines,
        "line_site": line_site,
        "line_item": line_item,
        "line_nation": _owner(
            s.production_lines, known["nations"], known["site_nation"], line_site
        ),
        "line_release": _releases(s.production_lines),
        "line_capacity": np.add.reduceat(daily_line_output, known["period_first_day"], axis=0),
        "line_base_rate": line_base,
        "line_change_line": change_line,
        "line_change_day": change_day,
        "line_change_rate": change_rate,
        "line_production_days": production_days,
    }


def _orders(s: Scenario, grid: _Grid, known: dict[str, Any]) -> dict[str, Any]:
    order_line = known["lines"].positions(o.line for o in s.orders)
    line_item, item_unit = known["line_item"], known["item_unit"]
    return {
        "orders": Index(tuple(o.id for o in s.orders)),
        "order_line": order_line,
        "order_customer": known["nations"].positions(o.customer for o in s.orders),
        "order_quantity": _floats(
            _in(o.quantity, item_unit[line_item[k]])
            for o, k in zip(s.orders, order_line, strict=True)
        ),
        "order_date": np.array([o.date for o in s.orders], dtype="datetime64[D]"),
        "order_day": np.fromiter((grid.day(o.date) for o in s.orders), np.int32),
        "order_priority": _floats(o.priority for o in s.orders),
    }


def _investments(s: Scenario, grid: _Grid, known: dict[str, Any]) -> dict[str, Any]:
    """Investment options: more capacity on a line, or a new line."""
    lines, items, sites = known["lines"], known["items"], known["sites"]
    line_item, line_site = known["line_item"], known["line_site"]
    production_days = known["line_production_days"]
    invest_line = np.fromiter(
        (lines[x.line] if x.line is not None else -1 for x in s.investments), dtype=np.int32
    )
    invest_item = np.fromiter(
        (
            line_item[k] if k >= 0 else items[x.item or ""]
            for x, k in zip(s.investments, invest_line, strict=True)
        ),
        dtype=np.int32,
    )
    return {
        "investments": Index(tuple(x.id for x in s.investments)),
        "invest_line": invest_line,
        "invest_site": np.fromiter(
            (
                line_site[k] if k >= 0 else sites[x.site or ""]
                for x, k in zip(s.investments, invest_line, strict=True)
            ),
            dtype=np.int32,
        ),
        "invest_item": invest_item,
        "invest_cost": _floats(x.cost for x in s.investments),
        "invest_rate": _floats(
            _in(x.capacity, known["item_unit"][i])
            for x, i in zip(s.investments, invest_item, strict=True)
        ),
        "invest_start_day": np.fromiter((grid.day(x.start) for x in s.investments), dtype=np.int32),
        "invest_ramp_days": _floats(x.ramp_time for x in s.investments),
        "invest_production_days": _floats(
            x.production_time
            if x.production_time is not None
            else production_days[k]
            if k >= 0
            else 0.0
            for x, k in zip(s.investments, invest_line, strict=True)
        ),
    }


def _pledges(s: Scenario, grid: _Grid, known: dict[str, Any], *, upside: bool) -> dict[str, Any]:
    """Each pledge's lots as its events leave them (one lot, the pledge itself, when it has
    no events), named by the pledge (and the status, when split); offered lots only with
    `upside`, cancelled ones not at all."""
    from sustain.pledges import in_item_units, lifecycle

    in_item_unit = in_item_units(s)
    names: list[str] = []
    rows: list[tuple[Pledge, str, float, dt.date]] = []
    for pledge, lots in zip(s.pledges, lifecycle(s, in_item_unit).lots, strict=True):
        counted = [
            lot
            for lot in lots
            if lot.status != "cancelled" and (upside or lot.status != "offered") and lot.quantity
        ]
        seen: dict[str, int] = defaultdict(int)
        for lot in counted:
            seen[lot.status] += 1
            name = pledge.id
            if len(counted) > 1:
                name += f"/{lot.status}" + (f"-{seen[lot.status]}" if seen[lot.status] > 1 else "")
            names.append(name)
            rows.append((pledge, lot.status, lot.quantity, lot.day))
    offsets = np.fromiter((grid.day(day) for *_, day in rows), dtype=np.int64, count=len(rows))
    return {
        "pledges": Index(tuple(names)),
        "pledge_donor": known["nations"].positions(p.donor for p, *_ in rows),
        "pledge_item": known["items"].positions(p.item for p, *_ in rows),
        "pledge_site": known["sites"].positions(p.site for p, *_ in rows),
        "pledge_quantity": _floats(quantity for _, _, quantity, _ in rows),
        "pledge_period": arrival_bucket(grid.edges, offsets, "mean").astype(np.int32),
        "pledge_day": np.maximum(offsets, 0).astype(np.int32),
        "pledge_status": _codes((status for _, status, _, _ in rows), PLEDGE_STATUSES),
        "upside": upside,
    }


def _policies(s: Scenario, known: dict[str, Any]) -> dict[str, Any]:
    policy_item = known["items"].positions(p.item for p in s.policies)
    item_unit = known["item_unit"]
    return {
        "policy_site": known["sites"].positions(p.site for p in s.policies),
        "policy_item": policy_item,
        "policy_level": _floats(
            _in(p.level, item_unit[i]) for p, i in zip(s.policies, policy_item, strict=True)
        ),
        "policy_reorder": _floats(
            _in(p.reorder_at, item_unit[i], np.nan)
            for p, i in zip(s.policies, policy_item, strict=True)
        ),
        "policy_where": tuple(
            str(s.location("policies", k) or f"policies row {k + 1}")
            for k in range(len(s.policies))
        ),
    }


def _releases(records: Sequence[Any]) -> tuple[str, ...]:
    """Each record's release as written: "" (its nation only), "all", or nations by ';'."""
    return tuple(";".join(x.release) for x in records)


def _owner(
    records: Sequence[Any], nations: Index, site_nation: IndexArray, site: IndexArray
) -> IndexArray:
    """The nation named on each record, or the owner of its site where it names none."""
    named = np.fromiter(
        (nations[r.nation] if r.nation is not None else -1 for r in records), dtype=np.int32
    )
    return np.where(named >= 0, named, site_nation[site]).astype(np.int32)


def _formation_level_days(
    s: Scenario,
    formations: Index,
    levels: Index,
    day_period: npt.NDArray[np.int64],
    n_periods: int,
) -> FloatArray:
    """(formations, periods, levels): how many days of each period a formation spends at each
    intensity level, from its schedule (each entry holds until the next)."""
    entries = sorted(s.intensity, key=lambda e: (formations[e.formation], e.start))
    daily_level = np.full((len(formations), day_period.size), -1, dtype=np.int64)
    for entry in entries:  # sorted, so a later entry overwrites from its own start on
        offset = max(_day_offset(s.scenario.start, entry.start), 0)
        daily_level[formations[entry.formation], offset:] = levels[entry.level]
    f_idx, day = np.nonzero(daily_level >= 0)
    flat = (f_idx * n_periods + day_period[day]) * len(levels) + daily_level[f_idx, day]
    size = len(formations) * n_periods * len(levels)
    counts = np.bincount(flat, minlength=size).astype(np.float64)
    return counts.reshape(len(formations), n_periods, len(levels))


def _lane_assets(
    s: Scenario, assets: Index, origin: IndexArray, destination: IndexArray, asset_site: IndexArray
) -> csr_array:
    """Lane-to-asset incidence: the assets each lane names, and the site-wide assets of both
    of its ends."""
    rows: list[IndexArray] = []
    cols: list[IndexArray] = []
    named_counts = np.fromiter((len(x.assets) for x in s.lanes), dtype=np.int64, count=len(s.lanes))
    rows.append(np.repeat(np.arange(len(s.lanes), dtype=np.int32), named_counts))
    cols.append(assets.positions(a for x in s.lanes for a in x.assets))
    for k in np.flatnonzero(asset_site >= 0):
        touching = np.flatnonzero((origin == asset_site[k]) | (destination == asset_site[k]))
        rows.append(touching.astype(np.int32))
        cols.append(np.full(touching.size, k, dtype=np.int32))
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    incidence = csr_array(
        (np.ones(r.size, dtype=np.int8), (r, c)), shape=(len(s.lanes), len(assets))
    )
    incidence.sum_duplicates()
    incidence.data[:] = 1
    return incidence


def overview(network: Network) -> dict[str, int | str]:
    """Counts of each component, the horizon and the period."""
    return {
        "name": network.name,
        "start": str(network.start),
        "days": network.n_days,
        "periods": network.n_periods,
        "grid": network.grid,
        "nations": len(network.nations),
        "sites": len(network.sites),
        "lanes": len(network.lanes),
        "assets": len(network.assets),
        "items": len(network.items),
        "families": len(network.families),
        "systems": len(network.systems),
        "formations": len(network.formations),
        "production_lines": len(network.lines),
        "pledges": len(network.pledges),
    }

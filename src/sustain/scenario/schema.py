"""The scenario schema, written once.

Each component is one flat table (a list of records): a YAML list, a CSV file or an Excel sheet.
The pydantic models below are the single source for validation, for the column documentation
of `sustain template`, and for export. Every figure with a unit is stored in canonical units
(see `sustain.units`); every cross-reference is declared in `references` so that one generic
check names unknown references with a did-you-mean suggestion.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    PrivateAttr,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, core_schema

from sustain import units
from sustain.ranges import CENTURY_DAYS
from sustain.timegrid import describe as describe_grid
from sustain.units import Amount, UnitError, format_number

# ---------------------------------------------------------------------------------------------
# Field types: a figure with a unit, converted on the way in and written back with its unit.


@dataclass(frozen=True, slots=True)
class Figure:
    """Annotation for a figure written with a unit: parsed into canonical units on the way
    in, written back with its unit on the way out.

    `canonical` is a pint unit ("t/day") for plain figures; for counts of an item it is None
    and the figure keeps the unit it was written in (an `Amount`), per day when `rate`."""

    example: str
    sign: str  # "positive" or "nonnegative"
    canonical: str | None = None
    rate: bool = False
    # The largest figure accepted (canonical units, per day for rates), and how it is read:
    # beyond it a figure is a typing slip or an attack, and would overflow dates and arrays.
    most: float = 1e15
    most_text: str = "1e15"

    @property
    def unit_label(self) -> str:
        if self.canonical is not None:
            return self.canonical
        return "item unit per day" if self.rate else "item unit"

    def parse(self, value: Any) -> float | Amount:
        try:
            if self.canonical is not None:
                number = units.parse_quantity(value, self.canonical, self.example)
                parsed: float | Amount = number
            else:
                parsed = units.parse_amount(value, rate=self.rate, example=self.example)
                number = parsed.value
        except UnitError as exc:
            raise PydanticCustomError("unit", str(exc)) from None
        text = value if isinstance(value, str) else str(value)
        if self.sign == "positive" and not number > 0:
            raise PydanticCustomError("sign", f'"{text}" must be positive')
        if self.sign == "nonnegative" and number < 0:
            raise PydanticCustomError("sign", f'"{text}" must not be negative')
        if number > self.most:
            raise PydanticCustomError(
                "sign", f'"{text}" is more than {self.most_text}, the most Sustain accepts here'
            )
        return parsed

    def write(self, value: float | Amount) -> str:
        if isinstance(value, Amount):
            return f"{value}/day" if self.rate else str(value)
        return f"{format_number(value)} {self.canonical}"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            self.parse,
            handler(source),
            serialization=core_schema.plain_serializer_function_ser_schema(
                self.write, return_schema=core_schema.str_schema()
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "unit": self.unit_label, "example": self.example}


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(";") if part.strip())
    return value


# The bounds (README, "Limits"): a century of days; a billion tonnes a day; a million tonnes
# for one unit of an item or one system; 1e15 of anything counted or paid; 100% a day.
MassRate = Annotated[
    float, Figure("120 t/day", "positive", units.MASS_RATE, most=1e9, most_text="1e9 t/day")
]
Mass = Annotated[float, Figure("5000 t", "positive", units.MASS, most=1e12, most_text="1e12 t")]
UnitMass = Annotated[float, Figure("45 kg", "positive", units.MASS, most=1e6, most_text="1e6 t")]
SystemMass = Annotated[float, Figure("45 t", "positive", units.MASS, most=1e6, most_text="1e6 t")]
Duration = Annotated[
    float, Figure("14 days", "nonnegative", units.DAYS, most=CENTURY_DAYS, most_text="100 years")
]
CostPerMass = Annotated[
    float, Figure("80 EUR/t", "nonnegative", units.COST_PER_MASS, most=1e12, most_text="1e12 EUR/t")
]
Money = Annotated[float, Figure("200 MEUR", "nonnegative", units.MONEY, most_text="1e15 EUR")]
HoldingCost = Annotated[
    float,
    Figure("0.5 EUR/t/day", "nonnegative", units.HOLDING_COST, most=1e9, most_text="1e9 EUR/t/day"),
]
DailyFraction = Annotated[
    float, Figure("0.5 %/day", "nonnegative", units.PER_DAY, most=1.0, most_text="100 %/day")
]
SystemsPerDay = Annotated[
    float, Figure("4 systems/day", "positive", "system/day", most=1e9, most_text="1e9 systems/day")
]
Count = Annotated[Amount, Figure("5000 rounds", "nonnegative")]
PositiveCount = Annotated[Amount, Figure("5000 rounds", "positive")]
CountRate = Annotated[
    Amount,
    Figure("14000 rounds/month", "nonnegative", rate=True, most=1e12, most_text="1e12 a day"),
]
# A release to every nation of the coalition (sites', formations' and lines' `release`).
RELEASED_TO_ALL = "all"

NameList = Annotated[
    tuple[str, ...],
    BeforeValidator(_split_list),
    PlainSerializer(lambda v: ";".join(v), return_type=str),
]
Text = Annotated[str, Field(min_length=1)]

# Dates from 1900 to 2200: wide enough for any order book and horizon, and far from the end
# of the calendar, so that a date plus a horizon of a century is still a date.
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


def _in_range(value: dt.date) -> dt.date:
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError(
            "date_range", f'"{value.isoformat()}" is not between 1900-01-01 and 2200-12-31'
        )
    return value


Date = Annotated[dt.date, AfterValidator(_in_range)]


# ---------------------------------------------------------------------------------------------
# Closed vocabularies.


class SiteKind(StrEnum):
    FACTORY = "factory"
    DEPOT = "depot"
    PORT = "port"
    AIRBASE = "airbase"
    RAIL_HUB = "rail_hub"
    ROAD_HUB = "road_hub"
    HUB = "hub"
    REPAIR_HUB = "repair_hub"
    FRONT = "front"


class AssetKind(StrEnum):
    PORT = "port"
    BRIDGE = "bridge"
    RAIL_JUNCTION = "rail_junction"
    PIPELINE = "pipeline"
    UNDERSEA_CABLE = "undersea_cable"
    AIRBASE = "airbase"
    HUB = "hub"
    FACTORY = "factory"
    REPAIR_HUB = "repair_hub"
    DEPOT = "depot"
    ROAD = "road"
    BORDER_CROSSING = "border_crossing"


class Mode(StrEnum):
    SEA = "sea"
    AIR = "air"
    RAIL = "rail"
    ROAD = "road"
    PIPELINE = "pipeline"


class SupplyClass(StrEnum):
    AMMUNITION = "ammunition"
    FUEL = "fuel"
    SPARE_PARTS = "spare_parts"
    MAJOR_END_ITEM = "major_end_item"
    INTERCEPTOR = "interceptor"
    EQUIPMENT = "equipment"
    OTHER = "other"


class Standard(StrEnum):
    SOVIET = "soviet"
    NATO = "nato"
    CIVIL = "civil"
    OTHER = "other"


class PledgeStatus(StrEnum):
    """Where a pledge (or part of it) stands, and what the engines make of it
    (docs/api.md, "The pledge lifecycle"): offered counts only in an upside run; pledged
    (announced) and committed arrive from their date; shipped arrives when it lands; delivered
    is stock at its site; cancelled counts for nothing."""

    OFFERED = "offered"
    PLEDGED = "pledged"
    COMMITTED = "committed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class MitigationKind(StrEnum):
    LANE = "lane"  # a lane that bypasses an asset: a spare bridge, a route via a second port
    STOCK = "stock"  # a stock pre-positioned at a site
    RECOVERY = "recovery"  # an asset restored faster: a spare span kept ready, a repair team


def _grid(text: str) -> str:
    try:
        return describe_grid(text)
    except ValueError as exc:
        raise PydanticCustomError("grid", str(exc)) from None


# The planning grid: "week", or buckets of different lengths such as "28 x day, then week".
Grid = Annotated[str, AfterValidator(_grid)]

# ---------------------------------------------------------------------------------------------
# Records. `references` maps a field to the table (or derived name set) it must name;
# `key` lists the fields that must be unique together.


def figure_of(field: FieldInfo) -> Figure | None:
    """The Figure annotation of a field, also inside an optional type (`Count | None`)."""
    for meta in field.metadata:
        if isinstance(meta, Figure):
            return meta
    for member in get_args(field.annotation):
        for meta in getattr(member, "__metadata__", ()):
            if isinstance(meta, Figure):
                return meta
    return None


def _whole(value: Any) -> Any:
    """A whole number as an integer ("3", not "3.0"), as a person writes it."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _as_written(text: str, figure: Figure, value: Any, canonical: Any) -> Any:
    """The figure as written if it still reads as the record's value (a copy of the scenario
    with the figure changed has only the new value), else as canonical."""
    try:
        return text if figure.parse(text) == value else canonical
    except PydanticCustomError:
        return canonical


def written_figures(model: type[BaseModel], values: dict[str, Any]) -> dict[str, str]:
    """The figures of a row as read from a file, by field name (text only)."""
    figures = figure_columns(model)
    return {
        figures[key]: value.strip()
        for key, value in values.items()
        if key in figures and isinstance(value, str)
    }


@functools.cache
def figure_columns(model: type[BaseModel]) -> dict[str, str]:
    """The columns of a table that hold figures with units: by the name or alias a file may
    use, the field's name."""
    found = {}
    for name, field in model.model_fields.items():
        if figure_of(field) is not None:
            found[name] = name
            if field.alias:
                found[field.alias] = name
    return found


class Record(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        coerce_numbers_to_str=True,
        str_strip_whitespace=True,
        use_enum_values=False,
        allow_inf_nan=False,
    )
    key: ClassVar[tuple[str, ...]] = ("id",)
    references: ClassVar[dict[str, str]] = {}

    source: str | None = Field(None, description="Where the figures of this row were published.")


class Settings(Record):
    """The scenario as a whole: its name, start date, horizon and planning period."""

    key: ClassVar[tuple[str, ...]] = ()
    name: Text = Field(description="Name of the scenario.")
    description: str | None = Field(None, description="What the scenario represents.")
    start: Date = Field(description="First day of the horizon (YYYY-MM-DD).")
    horizon: Duration = Field(description="Length of the horizon, e.g. '52 weeks'.")
    period: Grid = Field(
        "week",
        description=(
            "Planning periods: day, week or month, or buckets of different lengths in order, "
            "e.g. '28 x day, then week' or '14 x day, 10 x week, then month' (the last unit "
            "runs to the end of the horizon)."
        ),
    )


class Nation(Record):
    """A nation that owns sites, stocks, production lines or pledges."""

    id: Text = Field(description="Short code, e.g. USA, DEU.")
    name: str | None = Field(None, description="Full name.")


class Item(Record):
    """A thing that is supplied: ammunition, fuel, spare parts, end items, interceptors."""

    references: ClassVar[dict[str, str]] = {}
    id: Text = Field(description="Item identifier.")
    name: str | None = Field(None, description="Readable name.")
    supply_class: SupplyClass = Field(description="Class of supply.")
    family: Text = Field(description="Compatibility family, e.g. 155mm-NATO; systems name these.")
    unit: Text = Field(description="Unit the item is counted in: round, vehicle, kit, m3, t ...")
    mass: UnitMass = Field(description="Mass of one unit of count, e.g. '45 kg'.")
    criticality: float = Field(
        1.0, gt=0, le=1e9, description="Weight of a unit short, relative to 1."
    )


class System(Record):
    """A weapon or vehicle platform that formations hold and that consumes item families."""

    references: ClassVar[dict[str, str]] = {"families": "families", "spare_part": "items"}
    id: Text = Field(description="System identifier.")
    name: str | None = Field(None, description="Readable name.")
    standard: Standard = Field(description="Equipment standard: soviet, nato, civil, other.")
    families: NameList = Field(description="Item families it can use, separated by ';'.")
    breakdown_rate: DailyFraction = Field(0.0, description="Share breaking down per day.")
    combat_damage_rate: DailyFraction = Field(0.0, description="Share damaged per day in combat.")
    repair_time: Duration = Field(0.0, description="Time to repair one system at a repair hub.")
    spare_part: str | None = Field(None, description="Item consumed by each repair.")
    spare_parts_per_repair: Count | None = Field(None, description="Spare parts used per repair.")
    mass: SystemMass | None = Field(
        None, description="Mass of one system, carried on lanes to and from repair; blank for none."
    )
    value: float | None = Field(
        None,
        gt=0,
        le=1e9,
        description=(
            "Weight of one system out of action for a day, against a unit short of weight 1; "
            "blank: the mean priority of the formations holding it times the largest "
            "criticality of the families it uses."
        ),
    )


class Consumption(Record):
    """What one system consumes per day of a family at an intensity level."""

    key: ClassVar[tuple[str, ...]] = ("system", "family", "intensity")
    references: ClassVar[dict[str, str]] = {"system": "systems", "family": "families"}
    system: Text = Field(description="System that consumes.")
    family: Text = Field(description="Item family consumed.")
    intensity: Text = Field(description="Intensity level, e.g. low, medium, high.")
    rate: CountRate = Field(description="Per system per day, e.g. '40 rounds/day'.")


class Formation(Record):
    """A brigade or other consumer, drawing supplies at one site."""

    references: ClassVar[dict[str, str]] = {
        "nation": "nations",
        "site": "sites",
        "release": "nations",
    }
    id: Text = Field(description="Formation identifier.")
    name: str | None = Field(None, description="Readable name.")
    nation: Text = Field(description="Nation the formation belongs to.")
    site: Text = Field(description="Front supply point it draws from.")
    release: NameList = Field(
        (),
        description="Who else may see its rows: nations separated by ';', or 'all'; blank for "
        "its own nation only.",
    )
    priority: float = Field(
        1.0, gt=0, le=1e9, description="Weight of its shortfall, relative to 1."
    )


class Holding(Record):
    """How many of a system a formation holds."""

    key: ClassVar[tuple[str, ...]] = ("formation", "system")
    references: ClassVar[dict[str, str]] = {"formation": "formations", "system": "systems"}
    formation: Text = Field(description="Formation holding the systems.")
    system: Text = Field(description="System held.")
    quantity: int = Field(ge=0, le=10**15, description="Number of systems held.")


class Intensity(Record):
    """A formation's intensity level from a date on, until its next entry."""

    key: ClassVar[tuple[str, ...]] = ("formation", "start")
    references: ClassVar[dict[str, str]] = {"formation": "formations", "level": "intensities"}
    formation: Text = Field(description="Formation.")
    start: Date = Field(description="Date from which the level holds.")
    level: Text = Field(description="Intensity level named in the consumption table.")


class Site(Record):
    """A place where supplies are made, kept, handled, repaired or consumed."""

    references: ClassVar[dict[str, str]] = {
        "nation": "nations",
        "repairs": "systems",
        "release": "nations",
    }
    id: Text = Field(description="Site identifier.")
    name: str | None = Field(None, description="Readable name.")
    kind: SiteKind = Field(description="factory, depot, port, airbase, rail_hub, road_hub, ...")
    lat: float = Field(ge=-90, le=90, description="Latitude in degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude in degrees.")
    nation: Text = Field(description="Owner nation.")
    release: NameList = Field(
        (),
        description="Who else may see its rows: nations separated by ';', or 'all'; blank for "
        "its own nation only.",
    )
    throughput: MassRate | None = Field(None, description="Handling limit; blank for none.")
    storage: Mass | None = Field(None, description="Storage capacity; blank for none.")
    repair_capacity: SystemsPerDay | None = Field(None, description="Systems repaired per day.")
    repairs: NameList = Field(
        (), description="Systems it repairs, separated by ';'; blank for every system."
    )
    holding_cost: HoldingCost | None = Field(
        None,
        description="What holding stock here costs, per tonne a day (simulation costs); blank "
        "for the simulation's default rate.",
    )


class Asset(Record):
    """Critical infrastructure that lanes (or a whole site) depend on."""

    references: ClassVar[dict[str, str]] = {"site": "sites"}
    id: Text = Field(description="Asset identifier.")
    name: str | None = Field(None, description="Readable name.")
    kind: AssetKind = Field(description="port, bridge, rail_junction, pipeline, ...")
    site: str | None = Field(None, description="Site whose every lane fails with the asset.")
    recovery_time: Duration = Field(description="Time to restore the asset after its loss.")


class Lane(Record):
    """A transport link between two sites."""

    references: ClassVar[dict[str, str]] = {
        "origin": "sites",
        "destination": "sites",
        "assets": "assets",
    }
    id: Text = Field(description="Lane identifier.")
    origin: Text = Field(alias="from", description="Site it leaves from.")
    destination: Text = Field(alias="to", description="Site it arrives at.")
    mode: Mode = Field(description="sea, air, rail, road or pipeline.")
    capacity: MassRate = Field(description="Mass it carries per day, all items together.")
    transit_time: Duration = Field(description="Time from departure to arrival.")
    cost: CostPerMass = Field(0.0, description="Transport cost per tonne.")
    assets: NameList = Field((), description="Assets it depends on, separated by ';'.")


class Stock(Record):
    """Inventory of an item at a site at the start, with the floor its owner keeps."""

    key: ClassVar[tuple[str, ...]] = ("site", "item", "nation")
    references: ClassVar[dict[str, str]] = {"site": "sites", "item": "items", "nation": "nations"}
    site: Text = Field(description="Site holding the stock.")
    item: Text = Field(description="Item.")
    nation: str | None = Field(None, description="Owner; blank for the site's owner.")
    quantity: Count = Field(description="Inventory on the start date.")
    floor: Count | None = Field(None, description="Level the owner keeps for its own defence.")
    target: Count | None = Field(None, description="Level the owner wants to rebuild to.")


class Policy(Record):
    """The replenishment level of an item at a site, for the simulator's policies; sites with
    no row order up to the days-of-cover rule."""

    key: ClassVar[tuple[str, ...]] = ("site", "item")
    references: ClassVar[dict[str, str]] = {"site": "sites", "item": "items"}
    site: Text = Field(description="Site that orders the item.")
    item: Text = Field(description="Item.")
    level: Count = Field(
        description="Order-up-to level, on the position the run uses (installation: the "
        "site's own; echelon: its and the sites' it supplies)."
    )
    reorder_at: Count | None = Field(
        None,
        description="Order when the position is at or below this ((s, S)); blank for "
        "base-stock (order every day).",
    )


class ProductionLine(Record):
    """A production line making one item at a site."""

    references: ClassVar[dict[str, str]] = {
        "site": "sites",
        "item": "items",
        "nation": "nations",
        "release": "nations",
    }
    id: Text = Field(description="Line identifier.")
    site: Text = Field(description="Factory site.")
    item: Text = Field(description="Item made.")
    nation: str | None = Field(None, description="Owner; blank for the site's owner.")
    release: NameList = Field(
        (),
        description="Who else may see its rows: nations separated by ';', or 'all'; blank for "
        "its own nation only.",
    )
    capacity: CountRate = Field(description="Output rate, e.g. '14000 rounds/month'.")
    production_time: Duration = Field(0.0, description="Time from start to finish of one lot.")


class CapacityChange(Record):
    """A production line's capacity from a date on."""

    key: ClassVar[tuple[str, ...]] = ("line", "start")
    references: ClassVar[dict[str, str]] = {"line": "production_lines"}
    line: Text = Field(description="Production line.")
    start: Date = Field(description="Date from which the capacity holds.")
    capacity: CountRate = Field(description="Output rate from that date.")


class Order(Record):
    """An order in a production line's book."""

    references: ClassVar[dict[str, str]] = {"line": "production_lines", "customer": "nations"}
    id: Text = Field(description="Order identifier.")
    line: Text = Field(description="Production line.")
    customer: Text = Field(description="Nation that ordered.")
    quantity: PositiveCount = Field(description="Quantity ordered.")
    date: Date = Field(description="Date the order was placed.")
    priority: float = Field(
        0.0, ge=-1e9, le=1e9, description="Higher is served first when priorities are used."
    )


class Pledge(Record):
    """A donor's pledge of an item, available at a site from a date."""

    references: ClassVar[dict[str, str]] = {"donor": "nations", "item": "items", "site": "sites"}
    id: Text = Field(description="Pledge identifier.")
    donor: Text = Field(description="Donor nation.")
    item: Text = Field(description="Item pledged.")
    site: Text = Field(description="Site where it becomes available.")
    quantity: PositiveCount = Field(description="Quantity pledged.")
    available: Date = Field(description="Date from which it can move.")
    status: PledgeStatus = Field(PledgeStatus.PLEDGED, description="Where it is in its lifecycle.")


class PledgeEvent(Record):
    """A step in a pledge's lifecycle, by its donor: part or all of it committed, shipped,
    delivered or cancelled on a date. Appended, never changed: the pledge's state is its row
    (all of it in its status) moved on by its events in date order."""

    key: ClassVar[tuple[str, ...]] = ("pledge", "date", "status")
    references: ClassVar[dict[str, str]] = {"pledge": "pledges"}
    pledge: Text = Field(description="The pledge.")
    date: Date = Field(description="When it happened.")
    status: PledgeStatus = Field(
        description="What it became: committed, shipped, delivered or cancelled."
    )
    quantity: PositiveCount | None = Field(
        None, description="How much of the pledge; blank for all that can take this step."
    )
    arrives: Date | None = Field(
        None, description="shipped: when it lands at the pledge's site; blank for its date."
    )


class Investment(Record):
    """An option to add production capacity: to an existing line, or a new line at a site."""

    references: ClassVar[dict[str, str]] = {
        "line": "production_lines",
        "site": "sites",
        "item": "items",
    }
    id: Text = Field(description="Investment identifier.")
    line: str | None = Field(None, description="Line it expands; blank for a new line.")
    site: str | None = Field(None, description="Site of a new line.")
    item: str | None = Field(None, description="Item a new line makes.")
    cost: Money = Field(description="What it costs, e.g. '200 MEUR'.")
    capacity: CountRate = Field(description="Output it adds at full rate.")
    start: Date = Field(description="Date work on it starts (nothing comes out before).")
    ramp_time: Duration = Field(
        0.0, description="Time from the start to the full rate, reached in a straight line."
    )
    production_time: Duration | None = Field(
        None,
        description=(
            "Time from start to finish of one lot on the added capacity; blank: the expanded "
            "line's production time, or 0 for a new line."
        ),
    )


class Mitigation(Record):
    """An option that makes the network harder to break, with what it costs. Rows sharing an
    id are one option (a second port: the sea lane to it and the lane on from it), its cost
    the sum of theirs. A lane row adds a lane; a stock row adds stock at a site on the start
    date; a recovery row shortens an asset's recovery time."""

    key: ClassVar[tuple[str, ...]] = ()  # rows sharing an id are one option
    references: ClassVar[dict[str, str]] = {
        "origin": "sites",
        "destination": "sites",
        "assets": "assets",
        "site": "sites",
        "item": "items",
        "asset": "assets",
    }
    id: Text = Field(description="Option identifier; rows sharing it are one option.")
    name: str | None = Field(None, description="Readable name.")
    kind: MitigationKind = Field(description="lane, stock or recovery.")
    cost: Money = Field(0.0, description="What the row costs, e.g. '40 MEUR'.")
    origin: str | None = Field(None, alias="from", description="lane: site it leaves from.")
    destination: str | None = Field(None, alias="to", description="lane: site it arrives at.")
    mode: Mode | None = Field(None, description="lane: sea, air, rail, road or pipeline.")
    capacity: MassRate | None = Field(None, description="lane: mass it carries per day.")
    transit_time: Duration | None = Field(None, description="lane: time from departure to arrival.")
    transport_cost: CostPerMass = Field(0.0, description="lane: transport cost per tonne.")
    assets: NameList = Field((), description="lane: assets it depends on, separated by ';'.")
    site: str | None = Field(None, description="stock: site holding it.")
    item: str | None = Field(None, description="stock: item.")
    quantity: PositiveCount | None = Field(None, description="stock: quantity on the start date.")
    asset: str | None = Field(None, description="recovery: the asset restored faster.")
    recovery_time: Duration | None = Field(None, description="recovery: its new recovery time.")


# The fields each kind of mitigation row needs; the others must be blank.
MITIGATION_FIELDS: dict[MitigationKind, tuple[str, ...]] = {
    MitigationKind.LANE: ("origin", "destination", "mode", "capacity", "transit_time"),
    MitigationKind.STOCK: ("site", "item", "quantity"),
    MitigationKind.RECOVERY: ("asset", "recovery_time"),
}

# Table name -> record model, in the order a reader meets them.
TABLES: dict[str, type[Record]] = {
    "scenario": Settings,
    "nations": Nation,
    "items": Item,
    "systems": System,
    "consumption": Consumption,
    "formations": Formation,
    "holdings": Holding,
    "intensity": Intensity,
    "sites": Site,
    "assets": Asset,
    "lanes": Lane,
    "stocks": Stock,
    "policies": Policy,
    "production_lines": ProductionLine,
    "capacity_changes": CapacityChange,
    "orders": Order,
    "pledges": Pledge,
    "pledge_events": PledgeEvent,
    "investments": Investment,
    "mitigations": Mitigation,
}
REQUIRED_TABLES = ("scenario", "items", "sites")


def columns(model: type[Record]) -> list[str]:
    """The column names of a table, as written in files, with `source` last."""
    names = [info.alias or name for name, info in model.model_fields.items() if name != "source"]
    return [*names, "source"]


class Location(BaseModel):
    """Where a record was read: a file, and a line (YAML, CSV) or row (Excel sheet)."""

    model_config = ConfigDict(frozen=True)
    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


class Scenario(BaseModel):
    """A validated scenario: the tables a person writes, in canonical units."""

    model_config = ConfigDict(frozen=True)

    scenario: Settings
    nations: tuple[Nation, ...] = ()
    items: tuple[Item, ...] = ()
    systems: tuple[System, ...] = ()
    consumption: tuple[Consumption, ...] = ()
    formations: tuple[Formation, ...] = ()
    holdings: tuple[Holding, ...] = ()
    intensity: tuple[Intensity, ...] = ()
    sites: tuple[Site, ...] = ()
    assets: tuple[Asset, ...] = ()
    lanes: tuple[Lane, ...] = ()
    stocks: tuple[Stock, ...] = ()
    policies: tuple[Policy, ...] = ()
    production_lines: tuple[ProductionLine, ...] = ()
    capacity_changes: tuple[CapacityChange, ...] = ()
    orders: tuple[Order, ...] = ()
    pledges: tuple[Pledge, ...] = ()
    pledge_events: tuple[PledgeEvent, ...] = ()
    investments: tuple[Investment, ...] = ()
    mitigations: tuple[Mitigation, ...] = ()

    _locations: dict[str, list[Location]] = PrivateAttr(default_factory=dict)
    # The figures as the files wrote them ("14000 rounds/month", "300 MEUR"), per table and
    # row, by field: export writes them back so that a row's source still matches its figures.
    _written: dict[str, list[dict[str, str]]] = PrivateAttr(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Equal when every table is; where the records were read from does not matter."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return all(self.records(t) == other.records(t) for t in TABLES)

    __hash__ = None  # type: ignore[assignment]

    @property
    def end(self) -> dt.date:
        """The first day after the horizon."""
        return self.scenario.start + dt.timedelta(days=round(self.scenario.horizon))

    def records(self, table: str) -> tuple[Record, ...]:
        if table == "scenario":
            return (self.scenario,)
        records: tuple[Record, ...] = getattr(self, table)
        return records

    def location(self, table: str, index: int) -> Location | None:
        found = self._locations.get(table)
        return found[index] if found is not None and index < len(found) else None

    def rows(self, *, as_written: bool = True) -> dict[str, list[dict[str, Any]]]:
        """Every table as rows keyed by column, figures with their units: as the files wrote
        them (for export: figures in their own text, whole numbers without ".0", cells left
        blank where the files left them so), or with `as_written=False` in canonical units,
        defaults filled in (the same rows for the same scenario however it was written: for
        digests)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for table, model in TABLES.items():
            order = columns(model)
            figures = {
                (field.alias or name): (name, figure)
                for name, field in model.model_fields.items()
                if (figure := figure_of(field)) is not None
            }
            rows = []
            written = self._written.get(table, []) if as_written else []
            for k, record in enumerate(self.records(table)):
                dumped = record.model_dump(mode="json", by_alias=True, exclude_unset=as_written)
                if as_written:
                    dumped = {column: _whole(value) for column, value in dumped.items()}
                texts = written[k] if k < len(written) else {}
                for column, (name, figure) in figures.items():
                    text = texts.get(name)
                    if text is not None and dumped.get(column) is not None:
                        dumped[column] = _as_written(
                            text, figure, getattr(record, name), dumped[column]
                        )
                rows.append(
                    {
                        col: dumped[col]
                        for col in order
                        if col in dumped and dumped[col] is not None and dumped[col] != ""
                    }
                )
            out[table] = rows
        return out

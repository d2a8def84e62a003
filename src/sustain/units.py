"""Units: the one place where quantities written with units become canonical floats.

Scenario files carry units beside every figure ("120 t/day", "14000 rounds/month",
"28 months"). Parsing goes through pint once per distinct unit text (cached), so that loading
a large scenario costs a regular expression and a dictionary look-up per cell.

Canonical units: mass in tonnes, time in days, money in euros; a count of an item is kept
in the unit the item declares (rounds, vehicles, m3, ...).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Units of count are distinct dimensions, so that "30 rounds" written for an item counted in
# kits is an error rather than a silent one-to-one conversion.
_COUNT_UNITS = """
round = [rounds] = _ = shell
vehicle = [vehicles]
system = [systems]
kit = [kits]
missile = [missiles] = _ = interceptor
piece = [pieces] = pcs = each
EUR = [currency] = euro
"""


@lru_cache(maxsize=1)
def _registry() -> Any:
    """pint's registry with the units of count, built on first use: building it is most of
    the cost of reading a small scenario, and `sustain --help` needs none."""
    import pint

    registry: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for line in _COUNT_UNITS.strip().splitlines():
        registry.define(line)
    return registry


MASS = "t"
DAYS = "day"
MASS_RATE = "t/day"
COST_PER_MASS = "EUR/t"
MONEY = "EUR"
PER_DAY = "1/day"
HOLDING_COST = "EUR/t/day"

_NUMBER = re.compile(
    r"^\s*(?P<number>[-+]?(?:\d{1,3}(?:,\d{3})+|\d[\d_]*)?(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(?P<unit>.*?)\s*$"
)


_EXPONENT = re.compile(r"(?<=[A-Za-z])([23])\b")  # "m3" -> "m**3", as people write it


class UnitError(ValueError):
    """A figure whose number or unit cannot be understood or does not fit the field."""


@dataclass(frozen=True, slots=True)
class Amount:
    """A count of some item in the unit it was written in; per day when it is a rate."""

    value: float
    unit: str

    def __str__(self) -> str:
        return f"{format_number(self.value)} {self.unit}"


def format_number(value: float) -> str:
    """The shortest text that reads back as exactly `value`."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def counted(value: float, unit: str) -> str:
    """'1,250 rounds', '1 kit', '12.5 m3': a figure for a sentence."""
    value = 0.0 if abs(value) < 1e-9 else value  # solver noise, and no "-0"
    number = f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.3g}"
    word = unit.replace("-", "").isalpha() and not unit.endswith("s")  # system-day: a word
    plural = word and number != "1" and not _symbol(unit)
    return f"{number} {unit + 's' if plural else unit}"


def how_many(count: int, plural: str) -> str:
    """'1 formation', '3 formations', '1 family', '2 production lines': a count of things
    named by their plural (as the overview's keys are)."""
    plural = plural.replace("_", " ")
    if count == 1:
        singular = plural[:-3] + "y" if plural.endswith("ies") else plural.removesuffix("s")
        return f"1 {singular}"
    return f"{count:,} {plural}"


@lru_cache(maxsize=1024)
def _symbol(unit: str) -> bool:
    """Whether `unit` is written as a unit's symbol ('t', 'kg'), which takes no plural."""
    try:
        name = str(_parse_unit(unit))
    except UnitError:
        return False
    return bool(_registry().get_symbol(name) == unit != name)


def split_number(text: str) -> tuple[float, str]:
    """'14,000 rounds/month' -> (14000.0, 'rounds/month')."""
    match = _NUMBER.match(text)
    number = match.group("number") if match else ""
    if not match or number in ("", "+", "-", ".") or not any(c.isdigit() for c in number):
        raise UnitError(f'"{text}" does not start with a number')
    value = float(number.replace(",", "").replace("_", ""))
    if not math.isfinite(value):
        raise UnitError(f'"{text}" is not a finite number')
    return value, match.group("unit")


# A unit is a few names joined by "/", "*" or spaces, each with at most a one-digit power:
# pint evaluates what it is given, and "t**(9**9**9)" would never finish.
_LONGEST_UNIT = 64
_POWER = re.compile(r"(\*\*|\^)\s*(?![-+]?\d(?!\d))")


@lru_cache(maxsize=4096)
def _parse_unit(unit_text: str) -> Any:
    if len(unit_text) > _LONGEST_UNIT or "(" in unit_text or _POWER.search(unit_text):
        raise UnitError(
            f'unknown unit "{shown_unit(unit_text)}" (write names such as t/day, with powers '
            "of one digit)"
        )
    try:
        unit = _registry().parse_units(_EXPONENT.sub(r"**\1", unit_text.replace("%", " percent ")))
        multiplicative = _registry().Quantity(1.0, unit)._is_multiplicative
    except Exception as exc:  # pint's parser of free text raises many kinds, even AssertionError
        if any(not _multiplicative(name) for name in re.split(r"[\s*/]+", unit_text) if name):
            multiplicative = False
        else:
            raise UnitError(f'unknown unit "{shown_unit(unit_text)}"') from exc
    if not multiplicative:  # dB, octave, neper, degC: not a quantity of anything supplied
        raise UnitError(f'"{unit_text}" holds a logarithmic or offset unit (such as dB or degC)')
    return unit


def _multiplicative(name: str) -> bool:
    """Whether one unit name alone is a plain multiple of its base (not dB, not degC)."""
    try:
        registry = _registry()
        return bool(registry.Quantity(1.0, registry.parse_units(name))._is_multiplicative)
    except Exception:  # not a unit at all: the caller says so
        return True


def shown_unit(unit_text: str) -> str:
    return unit_text if len(unit_text) <= _LONGEST_UNIT else unit_text[:_LONGEST_UNIT] + "..."


@lru_cache(maxsize=4096)
def conversion_factor(unit_text: str, canonical: str) -> float:
    """Multiply a magnitude in `unit_text` by this to get `canonical`; UnitError if they differ."""
    source = _parse_unit(unit_text)
    target = _parse_unit(canonical)
    if source.dimensionality != target.dimensionality:
        raise UnitError(f'unit "{unit_text}" is not a {describe_dimension(canonical)}')
    try:
        factor = float(_registry().Quantity(1.0, source).to(target).magnitude)
    except Exception as exc:  # pint raises many kinds on units it half knows
        raise UnitError(f'unit "{unit_text}" cannot be converted to {canonical}') from exc
    if not math.isfinite(factor) or factor == 0.0:
        raise UnitError(f'unit "{unit_text}" is out of range')
    return factor


def describe_dimension(canonical: str) -> str:
    return {
        MASS: "mass (e.g. t, kg)",
        DAYS: "duration (e.g. days, weeks, months)",
        MASS_RATE: "mass per time (e.g. t/day)",
        COST_PER_MASS: "cost per mass (e.g. EUR/t)",
        MONEY: "sum of money (e.g. EUR, MEUR)",
        PER_DAY: "rate per time (e.g. %/day, 1/year)",
        HOLDING_COST: "cost per mass and time (e.g. EUR/t/day)",
    }.get(canonical, f"unit compatible with {canonical}")


def _figure(text: Any, example: str) -> tuple[str, float, str]:
    """(text, number, unit text) of a figure; a bare number is an error: units are required."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise UnitError(f"expected a figure with a unit, e.g. '{example}'")
    if not isinstance(text, str):
        try:
            number = format_number(float(text))
        except OverflowError:
            number = f"{str(text)[:12]}... ({len(str(text))} digits)"
        raise UnitError(f'"{number}" has no unit: write e.g. "{example}"')
    value, unit_text = split_number(text)
    if not unit_text:
        raise UnitError(f'"{text}" has no unit: write e.g. "{example}"')
    return text, value, unit_text


def parse_quantity(text: Any, canonical: str, example: str) -> float:
    """Parse '120 t/day' into the canonical unit."""
    text, value, unit_text = _figure(text, example)
    try:
        return value * conversion_factor(unit_text, canonical)
    except UnitError as exc:
        raise UnitError(f'"{text}": {exc}') from None


def is_count_unit(unit_text: str) -> bool:
    """A unit an item may be counted in: a count, a mass or a volume, never a time."""
    dims = dict(_parse_unit(unit_text).dimensionality)
    return bool(dims) and "[time]" not in dims and "[currency]" not in dims


def parse_amount(text: Any, *, rate: bool, example: str) -> Amount:
    """'5000 rounds' -> Amount(5000, 'rounds'); with rate=True '14000 rounds/month' -> per day."""
    if isinstance(text, Amount):
        return text
    text, value, unit_text = _figure(text, example)
    if rate:
        count_text, slash, time_text = unit_text.rpartition("/")
        if not slash or not count_text.strip():
            raise UnitError(f'"{text}" is not a rate: write e.g. "{example}"')
        try:
            value *= 1.0 / conversion_factor(time_text.strip(), DAYS)
        except UnitError:
            raise UnitError(f'"{text}": "{time_text.strip()}" is not a unit of time') from None
        unit_text = count_text.strip()
    try:
        countable = is_count_unit(unit_text)
    except UnitError as exc:
        raise UnitError(f'"{text}": {exc}') from None
    if not countable:
        raise UnitError(f'"{text}": "{unit_text}" is not a unit to count an item in')
    return Amount(value, unit_text)


def amount_factor(amount_unit: str, item_unit: str) -> float:
    """Factor from an amount's unit to the unit its item is counted in (UnitError if apart)."""
    try:
        return conversion_factor(amount_unit, item_unit)
    except UnitError:
        raise UnitError(f'"{amount_unit}" cannot be converted to "{item_unit}"') from None

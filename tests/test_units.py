"""Figures with units: known conversions and clean errors."""

from __future__ import annotations

import math

import pytest

from sustain import units
from sustain.units import Amount, UnitError, counted


@pytest.mark.parametrize(
    ("text", "canonical", "expected"),
    [
        ("120 t/day", units.MASS_RATE, 120.0),
        ("1,200 t/day", units.MASS_RATE, 1200.0),
        ("5 kilotonne/week", units.MASS_RATE, 5000.0 / 7.0),
        ("28 months", units.DAYS, 28 * 365.25 / 12),
        ("2 weeks", units.DAYS, 14.0),
        ("45 kg", units.MASS, 0.045),
        ("0.5 %/day", units.PER_DAY, 0.005),
        ("50 EUR/t", units.COST_PER_MASS, 50.0),
        ("2 MEUR", units.MONEY, 2e6),
    ],
)
def test_parse_quantity_converts_to_canonical_units(
    text: str, canonical: str, expected: float
) -> None:
    assert units.parse_quantity(text, canonical, "e.g.") == pytest.approx(expected, rel=1e-12)


def test_rate_of_a_count_is_per_day_in_the_written_unit() -> None:
    amount = units.parse_amount("14000 rounds/month", rate=True, example="e.g.")
    assert amount.unit == "rounds"
    assert amount.value == pytest.approx(14000 * 12 / 365.25, rel=1e-12)


def test_volume_written_m3_is_understood() -> None:
    assert units.amount_factor("L", "m3") == pytest.approx(0.001)
    assert units.parse_amount("500 m3", rate=False, example="e.g.") == Amount(500.0, "m3")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("120", "has no unit"),
        ("t/day", "does not start with a number"),
        ("12 furlongz/day", "unknown unit"),
        ("3 days", "is not a mass per time"),
        ("inf t/day", "does not start with a number"),
    ],
)
def test_bad_figures_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(UnitError, match=message):
        units.parse_quantity(text, units.MASS_RATE, "120 t/day")


def test_distinct_count_units_do_not_convert_into_each_other() -> None:
    with pytest.raises(UnitError):
        units.amount_factor("rounds", "kit")
    assert units.amount_factor("shells", "round") == 1.0


def test_time_is_not_a_unit_to_count_in() -> None:
    with pytest.raises(UnitError, match="not a unit to count"):
        units.parse_amount("3 days", rate=False, example="e.g.")


@pytest.mark.parametrize("value", [0.1, 1 / 3, 460.2739726027397, 1e-300, 12345678.9, 5.0])
def test_format_number_reads_back_exactly(value: float) -> None:
    assert float(units.format_number(value)) == value
    assert not math.isnan(float(units.format_number(value)))


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (5, "round", "5 rounds"),
        (1, "kit", "1 kit"),
        (5, "t", "5 t"),  # a symbol takes no plural
        (7, "kg", "7 kg"),
        (3, "tonne", "3 tonnes"),
        (2, "interceptor", "2 interceptors"),
        (1250, "m3", "1,250 m3"),
        (-0.0, "t", "0 t"),
        (-8.9e-16, "kit", "0 kits"),  # solver noise
        (0.56, "system-day", "0.56 system-days"),  # a lower bound is not rounded up
        (1, "system-day", "1 system-day"),
        (21728.8, "system-day", "21,729 system-days"),
    ],
)
def test_a_figure_for_a_sentence(value: float, unit: str, text: str) -> None:
    assert counted(value, unit) == text

"""The planning grid: buckets of different lengths, and lags placed on them, against figures
worked out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sustain.plan import PlanOptions, plan
from sustain.timegrid import (
    LAGS,
    arrival_bucket,
    bucket_edges,
    departures_inside,
    describe,
    parse_grid,
    place_lag,
)
from tests.scenarios import base, evacuation_case, formation, lane, load_document, site

START = dt.date(2023, 2, 13)


def test_days_then_weeks_then_months() -> None:
    edges = bucket_edges("28 x day, then week", START, 364)
    assert edges[:29].tolist() == list(range(29))
    assert np.diff(edges[28:]).tolist() == [7] * 48
    assert edges.size - 1 == 28 + 48
    # Calendar months from 2023-01-31: to 2023-02-28 is a shorter month, then to 2023-03-28.
    months = bucket_edges("2 x week, then month", dt.date(2023, 1, 31), 120)
    assert months.tolist() == [0, 7, 14, 42, 73, 103, 120]  # the last ends with the horizon
    assert describe("28 x Days then week") == "28 x day, then week"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fortnight", "is not a segment"),
        ("week, then 3 x day", "only the last may"),
        ("0 x day", "at least one bucket"),
        ("", "write a unit"),
    ],
)
def test_grids_that_cannot_be_read_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_grid(text)


def test_a_lag_split_between_the_weeks_its_arrivals_fall_in() -> None:
    edges = bucket_edges("week", START, 28)
    flow, arrival, share = place_lag(edges, [0, 0, 1], [2.0, 0.0, 9.5], "split")
    # 2 days: 5/7 the same week, 2/7 the next; 9.5 days from week 1, over days 16.5 .. 23.5.
    assert flow.tolist() == [0, 0, 1, 2, 2]
    assert arrival.tolist() == [0, 1, 0, 2, 3]
    assert share.tolist() == pytest.approx([5 / 7, 2 / 7, 1.0, 4.5 / 7, 2.5 / 7])
    # Departures whose last unit would arrive after the horizon are not allowed.
    assert departures_inside(edges, [0.0, 2.0, 14.0], "split").tolist() == [4, 3, 2]


@given(lag=st.floats(0, 60), week=st.integers(0, 20))
def test_the_mean_arrival_on_weeks_is_the_lag_rounded_to_whole_weeks(lag: float, week: int) -> None:
    edges = bucket_edges("week", START, 364)
    flow, arrival, share = place_lag(edges, [week], [lag], "mean")
    rounded = week + int(np.floor(lag / 7 + 0.5))
    if rounded < 52:
        assert arrival.tolist() == [rounded] and share.tolist() == [1.0]
    else:
        assert flow.size == 0
    assert departures_inside(edges, [lag], "mean")[0] == 52 - int(np.floor(lag / 7 + 0.5))


def three_day_leg(period: str) -> dict[str, object]:
    """A depot with stock for everything, a 3-day road to a front whose 10 guns fire 10 a day
    over 14 days: the first 3 days go short, 30 rounds."""
    doc = base(days=14, period=period)
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    lane(doc, "road", "depot", "front", "100 t/day", transit="3 days")
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "10000 rounds"})
    formation(doc, "bde", "front", guns=10)
    return doc


def test_a_late_arrival_waits_for_the_first_bucket_that_holds_all_of_it() -> None:
    edges = bucket_edges("3 x day, then week", START, 24)  # [0, 1, 2, 3, 10, 17, 24]
    flow, arrival, share = place_lag(edges, [0, 1, 2, 3, 4, 5], [2.0] * 6, "late")
    # Day 0 + 2 is day 2, a bucket of its own; day 1 + 2 arrives on day 3, the first day of the
    # week [3, 10); day 2 + 2 arrives on day 4, inside it: the next week; the week [3, 10) + 2
    # arrives over [5, 12): the week [10, 17), which starts after its first unit and ends after
    # its last; the last week's arrivals end after the horizon.
    assert flow.tolist() == [0, 1, 2, 3, 4]
    assert arrival.tolist() == [2, 3, 4, 4, 5]
    assert share.tolist() == [1.0] * 5
    assert departures_inside(edges, [0.0, 2.0, 7.0, 30.0], "late").tolist() == [6, 5, 5, 0]


@pytest.mark.parametrize("lags", LAGS)
def test_days_near_term_give_the_daily_answer(lags: str) -> None:
    options = PlanOptions(lateness_weight=0.0, cost_weight=0.0, lags=lags)
    daily = plan(load_document(three_day_leg("day")), options).shortfall
    mixed = plan(load_document(three_day_leg("7 x day, then week")), options).shortfall
    assert daily["shortfall"].sum() == pytest.approx(30)
    assert mixed["shortfall"].sum() == pytest.approx(30)
    first = mixed[mixed["shortfall"] > 1e-9]["date"].min()
    assert first == daily[daily["shortfall"] > 1e-9]["date"].min() == np.datetime64("2024-01-01")
    # On weeks alone the rules part: the 3 days vanish inside the first week by its mean
    # arrival (day 6.5) or its share arriving in it, and the whole first week goes short when
    # only what has all come by a week's start counts: the reason to cut the near term into
    # days.
    weekly = plan(load_document(three_day_leg("week")), options).shortfall
    expected = {"late": 70.0, "split": 0.0, "mean": 0.0}[lags]
    assert weekly["shortfall"].sum() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("lags", LAGS)
def test_repairs_and_moves_placed_on_weeks_pass_the_checker(lags: str) -> None:
    # Hulls evacuated over a 1-day lane and repaired in 5 days, on weeks: under either rule the
    # plan passes the checker (its own placement of every move and repair) and the fleet adds
    # up in every week.
    doc = evacuation_case()
    doc["scenario"].update({"horizon": "8 weeks", "period": "week"})
    result = plan(load_document(doc), PlanOptions(lags=lags))
    fleet = result.fleet
    assert result.repairs["repaired"].sum() > 0
    out = fleet[["waiting", "in_repair", "returning", "available"]].sum(axis=1)
    assert out.to_numpy() == pytest.approx(fleet["fleet"].to_numpy())


def test_a_delivery_counts_in_its_bucket_or_under_late_the_next_to_start() -> None:
    edges = bucket_edges("3 x day, then week", START, 24)  # [0, 1, 2, 3, 10, 17, 24]
    days = [-5, 0, 2, 4, 10, 23, 24, 400]
    assert arrival_bucket(edges, days, "mean").tolist() == [0, 0, 2, 3, 4, 5, 6, 6]
    assert arrival_bucket(edges, days, "late").tolist() == [0, 0, 2, 4, 4, 6, 6, 6]

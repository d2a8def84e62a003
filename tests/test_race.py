"""The race view on the tiny scenario, against figures worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sustain
from sustain.industry import race
from sustain.plan import plan
from tests.conftest import TINY

MONTH_DAYS = 365.25 / 12


def test_race_on_the_tiny_scenario() -> None:
    network = sustain.compile_network(sustain.load(TINY))
    result = plan(network)
    tables = race(network, result.consumption)
    by_period = tables["race_by_period"].set_index(["family", "period"])
    base = 14000 / MONTH_DAYS
    assert by_period.loc["155mm-NATO", "expenditure"].tolist() == pytest.approx(
        [700, 700, 2800, 2800]
    )
    # Lots take two months: what finishes in the four weeks was started before the start, at
    # the base rate (the change to 700/day on day 17 shows only after the horizon).
    assert by_period.loc["155mm-NATO", "production"].tolist() == pytest.approx([7 * base] * 4)
    # Deliveries are what the plan's formations consumed: demand less shortfall (on weeks,
    # with lags placed late, only week 3's 2,800 rounds: tests/test_replay.py).
    delivered = by_period.loc["155mm-NATO", "deliveries"].sum()
    assert delivered == pytest.approx(7000 - 4200)

    summary = tables["race_summary"].set_index("family")
    # 152 mm: 4,000 above the floor, 2,100 spent, nothing made: stocks last the horizon.
    assert summary.loc["152mm-Soviet", "stock_above_floor"] == pytest.approx(4000)
    assert pd.isna(summary.loc["152mm-Soviet", "stocks_run_out"])
    assert summary.loc["155mm-NATO", "production_per_day_at_end"] == pytest.approx(base)

    needed = tables["race_needed"].set_index(["family", "level"])
    # Ten M109: 10 rounds a day each at low intensity, 40 at high.
    assert needed.loc[("155mm-NATO", "low"), "needed_per_day"] == pytest.approx(100)
    assert needed.loc[("155mm-NATO", "high"), "needed_per_day"] == pytest.approx(400)
    assert needed.loc[("155mm-NATO", "high"), "production_share"] == pytest.approx(base / 400)

    crossover = tables["race_crossover"].set_index(["family", "investment"])
    # Production beats expenditure from the first week on.
    assert crossover.loc[("155mm-NATO", "none"), "cross_over"] == np.datetime64("2023-01-02")
    assert pd.isna(crossover.loc[("152mm-Soviet", "none"), "cross_over"])  # nothing made

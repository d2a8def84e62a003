"""Stockpile run-out and rebuild dates, on a case worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

import sustain
from sustain.industry import stockpile_dates
from sustain.plan import plan
from tests.conftest import EXAMPLES
from tests.scenarios import base, formation, lane, load_document, site


def test_floor_date_and_rebuild_time() -> None:
    doc = base(days=10)
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    site(doc, "plant", "factory")
    lane(doc, "rail", "depot", "front", "5 t/day")  # 100 rounds of 50 kg a day
    doc["stocks"].append(
        {
            "site": "depot",
            "item": "shell",
            "quantity": "1000 rounds",
            "floor": "800 rounds",
            "target": "1200 rounds",
        }
    )
    # The owner's line is not connected to the front: it only rebuilds the stockpile.
    doc["production_lines"] = [
        {"id": "line", "site": "plant", "item": "shell", "capacity": "50 rounds/day"}
    ]
    formation(doc, "bde", "front", guns=100)
    network = load_document(doc)
    result = plan(network)
    row = (
        stockpile_dates(network, result.inventory)
        .set_index(["site", "item"])
        .loc[("depot", "shell")]
    )
    # 100 rounds leave a day: 900 after day one, the floor of 800 after day two.
    assert row["reaches_floor"] == pd.Timestamp("2024-01-03")
    assert row["final"] == pytest.approx(800.0)
    # 400 rounds back to the target at the owner's 50 a day.
    assert row["rebuild_days"] == pytest.approx(8.0)
    assert row["owner"] == "A"


def test_no_plan_of_the_example_crosses_a_floor() -> None:
    network = sustain.compile_network(sustain.load(EXAMPLES[0]))
    inventory = plan(network).inventory
    assert (inventory["floor"] > 0).any()  # the example has floors to respect
    below = inventory[inventory["quantity"] < inventory["floor"] - 1e-6]
    assert below.empty, below.head()
    piles = stockpile_dates(network, inventory)
    assert (piles["final"] >= piles["floor"] - 1e-6).all()

"""Order books and lead times, against figures worked out by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sustain
from sustain.industry import backlog, lead_times, order_schedule
from sustain.orderbook import free_capacity
from sustain.plan import PlanOptions, plan
from tests.conftest import EXAMPLES
from tests.scenarios import base, formation, lane, load_document, site


def book(
    rate: str,
    orders: list[tuple[str, str, str, float]],
    production: str = "0 days",
    changes: list[tuple[str, str]] | None = None,
) -> Any:
    """A line making shells at `rate`, with orders (id, quantity, date, priority)."""
    doc = base(days=60)
    doc["nations"].append({"id": "B"})
    site(doc, "plant", "factory")
    doc["production_lines"] = [
        {
            "id": "line",
            "site": "plant",
            "item": "shell",
            "capacity": rate,
            "production_time": production,
        }
    ]
    doc["capacity_changes"] = [
        {"line": "line", "start": d, "capacity": c} for d, c in (changes or [])
    ]
    doc["orders"] = [
        {"id": i, "line": "line", "customer": "A", "quantity": q, "date": d, "priority": p}
        for i, q, d, p in orders
    ]
    return load_document(doc)


def test_fifo_completion_with_constant_capacity() -> None:
    network = book(
        "100 rounds/day",
        [("first", "1000 rounds", "2024-01-01", 0), ("second", "500 rounds", "2024-01-01", 0)],
    )
    schedule = order_schedule(network).set_index("order")
    # 1000 units at 100 a day: ten days; the next 500 five more.
    assert schedule.loc["first", "lead_time_days"] == pytest.approx(10.0)
    assert schedule.loc["second", "lead_time_days"] == pytest.approx(15.0)
    # A new order of 100 on day 0 waits for 1500 ahead, then takes a day itself.
    times = lead_times(network, [0, 5, 20], quantity=100)
    assert times["lead_time_days"].tolist() == pytest.approx([16.0, 11.0, 1.0])
    assert times["backlog"].tolist() == pytest.approx([1500.0, 1000.0, 0.0])


def test_stepped_capacity_and_production_time() -> None:
    network = book(
        "100 rounds/day",
        [("o", "1500 rounds", "2024-01-01", 0)],
        production="30 days",
        changes=[("2024-01-11", "200 rounds/day")],
    )
    schedule = order_schedule(network).set_index("order")
    # 1000 in the first ten days at 100, then 500 at 200 a day: 2.5 days; plus 30 in the works.
    assert schedule.loc["o", "lead_time_days"] == pytest.approx(12.5 + 30)
    # With nothing ahead, a new order faces the production time alone.
    times = lead_times(network, [40], quantity=0)
    assert times["lead_time_days"].tolist() == pytest.approx([30.0])


def test_orders_placed_before_the_start_count() -> None:
    network = book("10 rounds/day", [("old", "200 rounds", "2023-12-22", 0)])
    # Placed ten days before the start: 100 done by then, 100 left.
    assert backlog(network, 0, [0]).tolist() == pytest.approx([100.0])
    assert lead_times(network, [0])["lead_time_days"].tolist() == pytest.approx([10.0])


def test_priority_serves_higher_first() -> None:
    orders = [("early", "1000 rounds", "2024-01-01", 0), ("urgent", "500 rounds", "2024-01-03", 5)]
    network = book("100 rounds/day", orders)
    fifo = order_schedule(network).set_index("order")
    ranked = order_schedule(network, priority=True).set_index("order")
    # FIFO: urgent waits for early (done on day 10), then 5 days: day 15, placed on day 2.
    assert fifo.loc["urgent", "lead_time_days"] == pytest.approx(13.0)
    assert fifo.loc["early", "lead_time_days"] == pytest.approx(10.0)
    # By priority: from day 2 urgent goes first (days 2-6), early finishes on day 15.
    assert ranked.loc["urgent", "lead_time_days"] == pytest.approx(5.0)
    assert ranked.loc["early", "lead_time_days"] == pytest.approx(15.0)
    # A new urgent order on day 2 has only the urgent book ahead.
    assert lead_times(network, [2], priority=5)["backlog"].tolist() == pytest.approx([500.0])


def test_example_lead_time_grows_from_12_to_28_months() -> None:
    """The reported effect: the large-calibre wait rose from 12 months (2022) to 28 (Feb 2023)."""
    network = sustain.compile_network(sustain.load(EXAMPLES[0]))
    before_surge = (np.datetime64("2022-03-14") - network.start).astype(int)
    times = lead_times(network, [before_surge, 0])
    scranton = times[times["line"] == "us-155-scranton"]["lead_time_months"].tolist()
    assert scranton[0] == pytest.approx(12.0, abs=0.05)
    assert scranton[1] == pytest.approx(28.0, abs=0.5)


def test_the_plan_gets_what_the_book_leaves_for_the_partner() -> None:
    doc = base(days=10)
    doc["nations"].append({"id": "B"})
    site(doc, "plant", "factory")
    site(doc, "front", "front")
    lane(doc, "rail", "plant", "front", "100 t/day")
    doc["production_lines"] = [
        {"id": "line", "site": "plant", "item": "shell", "capacity": "100 rounds/day"}
    ]
    doc["orders"] = [
        {
            "id": "theirs",
            "line": "line",
            "customer": "B",
            "quantity": "500 rounds",
            "date": "2024-01-01",
        },
        {
            "id": "ours",
            "line": "line",
            "customer": "A",
            "quantity": "300 rounds",
            "date": "2024-01-01",
        },
    ]
    formation(doc, "bde", "front", guns=100)
    network = load_document(doc)
    # B's 500 rounds take the first five days; the partner's own order and the rest are free.
    assert free_capacity(network)[:, 0].tolist() == pytest.approx([0] * 5 + [100] * 5)
    exact = PlanOptions(lateness_weight=0.0, cost_weight=0.0)
    assert plan(network, exact).objective == pytest.approx(500.0)
    ignoring = PlanOptions(lateness_weight=0.0, cost_weight=0.0, order_books=False)
    assert plan(network, ignoring).objective == pytest.approx(0.0, abs=1e-9)

"""Industry: production lines, their order books and lead times (sustain.orderbook, which
the planner and the simulator also read), the race between expenditure and production,
stockpiles' floor and rebuild dates, and investment options."""

from sustain.industry.investment import (
    added_capacity,
    evaluate_investments,
    gap_closes,
    with_investments,
)
from sustain.industry.race import race
from sustain.industry.stockpiles import stockpile_dates
from sustain.orderbook import backlog, calendar, lead_times, order_schedule

__all__ = [
    "added_capacity",
    "backlog",
    "calendar",
    "evaluate_investments",
    "gap_closes",
    "lead_times",
    "order_schedule",
    "race",
    "stockpile_dates",
    "with_investments",
]

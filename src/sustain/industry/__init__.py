"""Industry: production lines, their order books and lead times (investment and the race
between expenditure and production come next)."""

from sustain.industry.investment import (
    added_capacity,
    evaluate_investments,
    gap_closes,
    with_investments,
)
from sustain.industry.orderbook import backlog, calendar, lead_times, order_schedule
from sustain.industry.race import race
from sustain.industry.stockpiles import stockpile_dates

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

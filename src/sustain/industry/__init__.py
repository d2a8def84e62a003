"""Industry: production lines, their order books and lead times (investment and the race
between expenditure and production come next)."""

from sustain.industry.orderbook import backlog, calendar, lead_times, order_schedule
from sustain.industry.stockpiles import stockpile_dates

__all__ = ["backlog", "calendar", "lead_times", "order_schedule", "stockpile_dates"]

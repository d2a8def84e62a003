"""Mitigation options: what the scenario lists to take against a loss (new lanes, stocks
placed ahead, faster recovery), each as the scenario with it taken; the resilience sweep
compiles and re-plans each on demand."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sustain.scenario.schema import Lane, Mitigation, MitigationKind, Scenario, Stock

if TYPE_CHECKING:
    from sustain.network import Network


@dataclass(frozen=True, eq=False)
class MitigationOption:
    """A mitigation the scenario lists (its rows sharing one id) and the scenario with it
    taken, compiled into its network on first use: only the resilience sweep's mitigations
    need it, and `sustain info` or a plan should not pay one compile per option. Its lanes
    follow the network's own, so lane and asset positions carry over."""

    id: str
    name: str
    kinds: tuple[str, ...]  # lane, stock, recovery: what its rows do
    cost: float  # EUR, its rows' costs added
    scenario: Scenario = field(repr=False)  # the scenario with the option taken

    @functools.cached_property
    def network(self) -> Network:
        from sustain.network import compile_network  # the network module lists the options

        return compile_network(self.scenario)


def with_mitigation(scenario: Scenario, option: str, rows: list[Mitigation]) -> Scenario:
    """The scenario with the rows of one mitigation option taken, and no options left."""
    # The checks made sure each row has its kind's fields: construct without re-parsing.
    lane_fields: list[dict[str, Any]] = [
        {
            "id": f"{option}#{k}",
            "origin": m.origin,
            "destination": m.destination,
            "mode": m.mode,
            "capacity": m.capacity,
            "transit_time": m.transit_time,
            "cost": m.transport_cost,
            "assets": m.assets,
            "source": m.source,
        }
        for k, m in enumerate(rows, start=1)
        if m.kind == MitigationKind.LANE
    ]
    stock_fields: list[dict[str, Any]] = [
        {"site": m.site, "item": m.item, "nation": None, "quantity": m.quantity, "source": m.source}
        for m in rows
        if m.kind == MitigationKind.STOCK
    ]
    lanes = [Lane.model_construct(**f) for f in lane_fields]
    stocks = [Stock.model_construct(**f) for f in stock_fields]
    faster: dict[str | None, Any] = {
        m.asset: m.recovery_time for m in rows if m.kind == MitigationKind.RECOVERY
    }
    assets = [
        a.model_copy(update={"recovery_time": min(a.recovery_time, faster[a.id])})
        if a.id in faster
        else a
        for a in scenario.assets
    ]
    return scenario.model_copy(
        update={
            "lanes": (*scenario.lanes, *lanes),
            "stocks": (*scenario.stocks, *stocks),
            "assets": tuple(assets),
            "mitigations": (),
        }
    )


def mitigation_options(scenario: Scenario) -> tuple[MitigationOption, ...]:
    """The scenario's mitigation options, each with the scenario it makes (not compiled)."""
    options = []
    for option in dict.fromkeys(m.id for m in scenario.mitigations):
        rows = [m for m in scenario.mitigations if m.id == option]
        options.append(
            MitigationOption(
                id=option,
                name=next((m.name for m in rows if m.name), option),
                kinds=tuple(dict.fromkeys(m.kind.value for m in rows)),
                cost=float(sum(m.cost for m in rows)),
                scenario=with_mitigation(scenario, option, rows),
            )
        )
    return tuple(options)

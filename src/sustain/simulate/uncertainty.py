"""What is uncertain, and the random draws of the replications.

Replications are drawn in groups of 16 by number (0-15, 16-31, ...): each group draws the whole
horizon of its replications from its own streams, one per source of uncertainty, each a child
of the group's seed sequence, itself spawned from the run's seed by the group's number (numpy's
SeedSequence). A replication's draws are the same whichever batch, worker or machine runs it
(a batch holding part of a group draws the group and keeps its own), so results are equal bit
for bit for a seed, whatever the executor and the number of workers; a source switched off
draws nothing and leaves the other sources' figures as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sustain.arrays import BoolArray, FloatArray
from sustain.network import Network
from sustain.options import Uncertainty
from sustain.simulate.compiled import outage_days

# The sources, each drawn from its own stream (its number in this tuple), so that switching one
# on or off leaves the others' figures as they were.
SOURCES = ("demand", "poisson", "outages", "transit", "production", "failures")


@dataclass(frozen=True)
class Draws:
    """A batch of replications' random figures, replication by replication (first axis) and day
    by day; None where the source is off."""

    demand_factor: FloatArray | None  # (R, days, formations)
    demand_uniform: FloatArray | None  # (R, days, formations, families), for Poisson demand
    asset_down: BoolArray | None  # (R, days, assets)
    transit: npt.NDArray[np.int64] | None  # (R, days, lanes) transit of that day's departures
    production_factor: FloatArray | None  # (R, days, lines)
    failure_uniform: FloatArray | None  # (R, days, formations, systems), for random failures


def _runs(starts: BoolArray, length: int) -> BoolArray:
    """(R, days, width): True on the days inside a run of `length` days from each start."""
    on = starts.copy()
    for offset in range(1, min(length, starts.shape[1])):
        on[:, offset:] |= starts[:, :-offset]
    return on


# Replications numbered GROUP x g .. GROUP x g + GROUP - 1 draw from the streams of group g, one
# generator call per source for the group: making a generator costs about as much as a
# replication's demand noise, and the group shares it.
GROUP = 16


def _stream(seed: int, group: int, source: str) -> np.random.Generator:
    """The generator of one source for a group of replications: the child numbered after the
    source of the group's child of the run's seed sequence (what SeedSequence.spawn would
    make), made directly."""
    key = (int(group), SOURCES.index(source))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def transit_days(network: Network) -> npt.NDArray[np.int64]:
    """(lanes,) each lane's mean transit time rounded to whole days (half up)."""
    return np.floor(np.maximum(network.lane_transit_days, 0.0) + 0.5).astype(np.int64)


def draw(
    network: Network, uncertainty: Uncertainty, seed: int, replications: npt.NDArray[np.int64]
) -> Draws:
    """The draws of a batch of replications. Each source draws its figures for whole groups of
    replications from the group's stream and a replication takes its own: its figures are the
    same in any batch."""
    n = network
    days = n.n_days
    n_formations, n_families = len(n.formations), len(n.families)
    n_assets, n_lanes, n_lines = len(n.assets), len(n.lanes), len(n.lines)
    u = uncertainty
    numbers = np.asarray(replications, dtype=np.int64)
    groups, which = np.unique(numbers // GROUP, return_inverse=True)
    # Each replication's row in its groups' tables laid end to end: a run of rows, mostly.
    rows: Any = which * GROUP + numbers % GROUP
    if rows.size and np.array_equal(rows, np.arange(rows[0], rows[0] + rows.size)):
        rows = slice(rows[0], rows[0] + rows.size)

    def grouped(source: str, take: Callable[[np.random.Generator], list[Any]]) -> Any:
        """The tables take(generator) draws for each group (GROUP, days, ...), in the order
        drawn, each cut down to the batch's replications (R, days, ...)."""
        parts = [take(_stream(seed, g, source)) for g in (groups if groups.size else [0])]
        return [np.concatenate(tables)[rows] for tables in zip(*parts, strict=True)]

    def shape(*width: int) -> tuple[int, ...]:
        return (GROUP, days, *width)

    surges = u.surge_probability > 0

    def demand(g: np.random.Generator) -> list[Any]:  # the noise, then the surges' starts
        noise = [g.standard_normal(shape(n_formations))]
        return [*noise, g.random(shape(n_formations))] if surges else noise

    factor = None
    if u.demand_noise > 0 or surges:
        noise, *surge_draw = grouped("demand", demand)
        if u.demand_distribution == "normal":
            factor = np.maximum(1.0 + u.demand_noise * noise, 0.0, out=noise)
        else:
            factor = np.exp(u.demand_noise * noise - 0.5 * u.demand_noise**2, out=noise)
        if surges:
            factor[_runs(surge_draw[0] < u.surge_probability, u.surge_days)] *= u.surge_factor
    uniform = None
    if u.poisson_demand:
        (uniform,) = grouped("poisson", lambda g: [g.random(shape(n_formations, n_families))])

    down = None
    if u.asset_failure_probability > 0:
        fail, recovery = grouped(
            "outages", lambda g: [g.random(shape(n_assets)), g.exponential(1.0, shape(n_assets))]
        )
        down = outage_days(
            fail < u.asset_failure_probability, recovery * n.asset_recovery_days[None, None, :]
        )

    transit = None
    if u.transit_cv > 0:
        k = 1.0 / u.transit_cv**2
        (gamma,) = grouped("transit", lambda g: [g.gamma(k, 1.0 / k, shape(n_lanes))])
        mean = np.maximum(n.lane_transit_days, 0.0)
        transit = np.floor(mean * gamma + 0.5).astype(np.int64)

    yields = u.yield_cv > 0 and 0 < u.yield_mean < 1
    slips = u.slip_probability > 0

    def production(g: np.random.Generator) -> list[Any]:  # the yields, then the slips' starts
        drawn = [g.beta(*_beta_shape(u.yield_mean, u.yield_cv), shape(n_lines))] if yields else []
        return [*drawn, g.random(shape(n_lines))] if slips else drawn

    produced = None
    if yields or slips:
        drawn = grouped("production", production)
        produced = drawn[0] if yields else np.full((numbers.size, days, n_lines), u.yield_mean)
        if slips:
            produced[_runs(drawn[-1] < u.slip_probability, u.slip_days)] = 0.0

    failures = None
    if u.random_failures:
        (failures,) = grouped("failures", lambda g: [g.random(shape(n_formations, len(n.systems)))])
    return Draws(
        demand_factor=factor,
        demand_uniform=uniform,
        asset_down=down,
        transit=transit,
        production_factor=produced,
        failure_uniform=failures,
    )


def _beta_shape(mean: float, cv: float) -> tuple[float, float]:
    """The parameters of a beta distribution with that mean and coefficient of variation."""
    concentration = max(mean * (1 - mean) / (cv * mean) ** 2 - 1, 1e-6)
    return mean * concentration, (1 - mean) * concentration

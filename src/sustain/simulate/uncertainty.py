"""What is uncertain, and the random draws of one replication.

Each replication draws everything it needs for the whole horizon from its own streams: one per
source of uncertainty, each a child of the replication's seed sequence, itself spawned from the
run's seed by the replication's number (numpy's SeedSequence). A replication's draws are the
same whichever batch, worker or machine runs it, so results are equal bit for bit for a seed,
whatever the executor and the number of workers; a source switched off draws nothing and
leaves the other sources' figures as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sustain.network import Network
from sustain.simulate.compiled import outage_days

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Uncertainty:
    """Each source of uncertainty, switchable. All off gives the expected-value war."""

    # Demand: a daily lognormal factor around each formation's intensity schedule, and surges
    # (a formation's demand multiplied by `surge_factor` for `surge_days`) starting at random.
    demand_noise: float = 0.0  # standard deviation of log daily demand
    surge_probability: float = 0.0  # per formation per day
    surge_factor: float = 2.0
    surge_days: int = 7
    poisson_demand: bool = False  # integer Poisson demand around the (noisy) mean
    # Outages: each asset fails with this probability a day and is out for an exponentially
    # distributed time with mean the asset's recovery time.
    asset_failure_probability: float = 0.0
    # Transit: each day's departures on a lane take a transit time drawn from a gamma
    # distribution with the lane's mean and this coefficient of variation, rounded to days.
    transit_cv: float = 0.0
    # Production: a daily yield factor (beta around `yield_mean`) and slips (a line producing
    # nothing for `slip_days` after a slip starting with `slip_probability` a day).
    yield_mean: float = 1.0
    yield_cv: float = 0.0
    slip_probability: float = 0.0
    slip_days: int = 30
    # Failures of systems: Poisson counts around the expected breakdowns and combat damage.
    random_failures: bool = False


# The sources, each drawn from its own stream (its number in this tuple), so that switching one
# on or off leaves the others' figures as they were.
SOURCES = ("demand", "poisson", "outages", "transit", "production", "failures")


@dataclass(frozen=True)
class Draws:
    """One replication's random figures, day by day; None where the source is off."""

    demand_factor: FloatArray | None  # (days, formations)
    demand_uniform: FloatArray | None  # (days, formations, families), for Poisson demand
    asset_down: BoolArray | None  # (days, assets)
    transit: npt.NDArray[np.int64] | None  # (days, lanes) transit in days of that day's departures
    production_factor: FloatArray | None  # (days, lines)
    failure_uniform: FloatArray | None  # (days, formations, systems), for random failures


def _runs(rng: np.random.Generator, days: int, width: int, probability: float, length: int) -> Any:
    """(days, width): True on the days inside a run of `length` days started at random."""
    on = np.zeros((days, width), dtype=bool)
    starts = rng.random((days, width)) < probability
    for offset in range(min(length, days)):
        on[offset:] |= starts[: days - offset]
    return on


def _stream(seed: np.random.SeedSequence, source: str) -> np.random.Generator:
    """The generator of one source of a replication: a child of the replication's sequence,
    made without spawning (which would change the parent's state)."""
    key = (*seed.spawn_key, SOURCES.index(source))
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=key))


def transit_days(network: Network) -> npt.NDArray[np.int64]:
    """(lanes,) each lane's mean transit time rounded to whole days (half up)."""
    return np.floor(np.maximum(network.lane_transit_days, 0.0) + 0.5).astype(np.int64)


def draw(network: Network, uncertainty: Uncertainty, seed: np.random.SeedSequence) -> Draws:
    """The draws of one replication, from its own seed sequence."""
    n = network
    days = n.n_days
    n_formations, n_families = len(n.formations), len(n.families)
    n_assets, n_lanes, n_lines = len(n.assets), len(n.lanes), len(n.lines)
    u = uncertainty

    factor = None
    if u.demand_noise > 0 or u.surge_probability > 0:
        rng = _stream(seed, "demand")
        noise = rng.standard_normal((days, n_formations))
        factor = np.exp(u.demand_noise * noise - 0.5 * u.demand_noise**2)
        if u.surge_probability > 0:
            surging = _runs(rng, days, n_formations, u.surge_probability, u.surge_days)
            factor = np.where(surging, factor * u.surge_factor, factor)
    uniform = None
    if u.poisson_demand:
        uniform = _stream(seed, "poisson").random((days, n_formations, n_families))

    down = None
    if u.asset_failure_probability > 0:
        rng = _stream(seed, "outages")
        fail = rng.random((days, n_assets)) < u.asset_failure_probability
        recovery = rng.exponential(1.0, (days, n_assets)) * n.asset_recovery_days[None, :]
        down = outage_days(fail, recovery)

    transit = None
    if u.transit_cv > 0:
        shape = 1.0 / u.transit_cv**2
        gamma = _stream(seed, "transit").gamma(shape, 1.0 / shape, (days, n_lanes))
        mean = np.maximum(n.lane_transit_days, 0.0)
        transit = np.floor(mean[None, :] * gamma + 0.5).astype(np.int64)

    produced = None
    if (u.yield_cv > 0 and 0 < u.yield_mean < 1) or u.slip_probability > 0:
        rng = _stream(seed, "production")
        if u.yield_cv > 0 and 0 < u.yield_mean < 1:
            # A beta distribution with that mean and coefficient of variation.
            spread = u.yield_mean * (1 - u.yield_mean) / (u.yield_cv * u.yield_mean) ** 2 - 1
            concentration = max(spread, 1e-6)
            produced = rng.beta(
                u.yield_mean * concentration, (1 - u.yield_mean) * concentration, (days, n_lines)
            )
        else:
            produced = np.full((days, n_lines), u.yield_mean)
        if u.slip_probability > 0:
            slipped = _runs(rng, days, n_lines, u.slip_probability, u.slip_days)
            produced = np.where(slipped, 0.0, produced)

    failures = None
    if u.random_failures:
        failures = _stream(seed, "failures").random((days, n_formations, len(n.systems)))
    return Draws(
        demand_factor=factor,
        demand_uniform=uniform,
        asset_down=down,
        transit=transit,
        production_factor=produced,
        failure_uniform=failures,
    )


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One independent seed sequence per replication, by its number."""
    return np.random.SeedSequence(seed).spawn(replications)

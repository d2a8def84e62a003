"""What is uncertain, and the random draws of one replication.

Each replication draws everything it needs for the whole horizon from its own generator, spawned
from the run's seed by its replication number (numpy's SeedSequence). A replication's draws are
the same whichever batch, worker or machine runs it, so results are equal bit for bit for a
seed, whatever the executor and the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sustain.network import Network

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


@dataclass(frozen=True)
class Draws:
    """One replication's random figures, day by day."""

    demand_factor: FloatArray  # (days, formations)
    demand_uniform: FloatArray  # (days, formations, families), for Poisson demand
    asset_down: BoolArray  # (days, assets)
    transit: npt.NDArray[np.int64]  # (days, lanes) transit in days of that day's departures
    production_factor: FloatArray  # (days, lines)
    poisson: bool  # demand drawn as Poisson counts from demand_uniform
    failure_uniform: FloatArray  # (days, formations, systems)
    random_failures: bool


def _runs(rng: np.random.Generator, days: int, width: int, probability: float, length: int) -> Any:
    """(days, width): True on the days inside a run of `length` days started at random."""
    on = np.zeros((days, width), dtype=bool)
    if probability <= 0:
        return on
    starts = rng.random((days, width)) < probability
    for offset in range(min(length, days)):
        on[offset:] |= starts[: days - offset]
    return on


def draw(network: Network, uncertainty: Uncertainty, seed: np.random.SeedSequence) -> Draws:
    """The draws of one replication, from its own seed sequence. Every array is drawn in full
    whether or not its source is switched on, in a fixed order, so that switching one source
    on does not change the others' figures."""
    rng = np.random.default_rng(seed)
    n = network
    days = n.n_days
    n_formations, n_families = len(n.formations), len(n.families)
    n_assets, n_lanes, n_lines = len(n.assets), len(n.lanes), len(n.lines)
    u = uncertainty

    noise = rng.standard_normal((days, n_formations))
    factor = np.exp(u.demand_noise * noise - 0.5 * u.demand_noise**2)
    surging = _runs(rng, days, n_formations, u.surge_probability, u.surge_days)
    factor = np.where(surging, factor * u.surge_factor, factor)
    uniform = rng.random((days, n_formations, n_families))

    down = np.zeros((days, n_assets), dtype=bool)
    fail = rng.random((days, n_assets)) < u.asset_failure_probability
    repair = rng.exponential(1.0, (days, n_assets)) * n.asset_recovery_days[None, :]
    if u.asset_failure_probability > 0:
        for a in range(n_assets):
            free_from = 0.0
            for day in np.flatnonzero(fail[:, a]):
                if day >= free_from:
                    free_from = day + max(1.0, float(np.ceil(repair[day, a])))
                    down[day : int(min(free_from, days)), a] = True

    mean = np.maximum(n.lane_transit_days, 0.0)
    if u.transit_cv > 0:
        shape = 1.0 / u.transit_cv**2
        gamma = rng.gamma(shape, 1.0 / shape, (days, n_lanes))
    else:
        gamma = np.ones((days, n_lanes))
        rng.gamma(1.0, 1.0, (days, n_lanes))  # keep the stream in step
    transit = np.floor(mean[None, :] * gamma + 0.5).astype(np.int64)

    if u.yield_cv > 0 and 0 < u.yield_mean < 1:
        # A beta distribution with that mean and coefficient of variation.
        spread = u.yield_mean * (1 - u.yield_mean) / (u.yield_cv * u.yield_mean) ** 2 - 1
        concentration = max(spread, 1e-6)
        produced = rng.beta(
            u.yield_mean * concentration, (1 - u.yield_mean) * concentration, (days, n_lines)
        )
    else:
        produced = np.full((days, n_lines), u.yield_mean)
        rng.random((days, n_lines))
    slipped = _runs(rng, days, n_lines, u.slip_probability, u.slip_days)
    produced = np.where(slipped, 0.0, produced)
    return Draws(
        demand_factor=factor,
        demand_uniform=uniform,
        asset_down=down,
        transit=transit,
        production_factor=produced,
        poisson=u.poisson_demand,
        failure_uniform=rng.random((days, n_formations, len(n.systems))),
        random_failures=u.random_failures,
    )


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One independent seed sequence per replication, by its number."""
    return np.random.SeedSequence(seed).spawn(replications)

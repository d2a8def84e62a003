"""What is uncertain, and the random draws of the replications.

Each replication draws everything it needs for the whole horizon from its own streams: one per
source of uncertainty, each a child of the replication's seed sequence, itself spawned from the
run's seed by the replication's number (numpy's SeedSequence). A replication's draws are the
same whichever batch, worker or machine runs it, so results are equal bit for bit for a seed,
whatever the executor and the number of workers; a source switched off draws nothing and
leaves the other sources' figures as they were.
"""

from __future__ import annotations

from collections.abc import Callable
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


def _stream(seed: int, replication: int, source: str) -> np.random.Generator:
    """The generator of one source of a replication: the child numbered after the source of
    the replication's child of the run's seed sequence (what SeedSequence.spawn would make),
    made directly."""
    key = (int(replication), SOURCES.index(source))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def transit_days(network: Network) -> npt.NDArray[np.int64]:
    """(lanes,) each lane's mean transit time rounded to whole days (half up)."""
    return np.floor(np.maximum(network.lane_transit_days, 0.0) + 0.5).astype(np.int64)


def draw(
    network: Network, uncertainty: Uncertainty, seed: int, replications: npt.NDArray[np.int64]
) -> Draws:
    """The draws of a batch of replications, each from its own seed sequences: a replication's
    streams give the same figures in any batch. Only the generators' calls are made per
    replication; the arithmetic on them is done for the batch at once."""
    n = network
    count, days = len(replications), n.n_days
    n_formations, n_families = len(n.formations), len(n.families)
    n_assets, n_lanes, n_lines = len(n.assets), len(n.lanes), len(n.lines)
    u = uncertainty

    def per_replication(source: str, width: tuple[int, ...], take: Callable[..., Any]) -> Any:
        """take(generator, shape) for each replication's stream of `source`, stacked."""
        table = np.empty((count, days, *width))
        for r, number in enumerate(replications):
            table[r] = take(_stream(seed, number, source), (days, *width))
        return table

    factor = None
    if u.demand_noise > 0 or u.surge_probability > 0:
        surges = u.surge_probability > 0
        noise = np.empty((count, days, n_formations))
        starts = np.zeros((count, days, n_formations), dtype=bool)
        for r, number in enumerate(replications):  # each stream: the noise, then the surges' starts
            rng = _stream(seed, number, "demand")
            noise[r] = rng.standard_normal((days, n_formations))
            if surges:
                starts[r] = rng.random((days, n_formations)) < u.surge_probability
        factor = np.exp(u.demand_noise * noise - 0.5 * u.demand_noise**2)
        if surges:
            factor[_runs(starts, u.surge_days)] *= u.surge_factor
    uniform = None
    if u.poisson_demand:
        uniform = per_replication("poisson", (n_formations, n_families), _uniform)

    down = None
    if u.asset_failure_probability > 0:
        down = np.empty((count, days, n_assets), dtype=bool)
        for r, number in enumerate(replications):
            rng = _stream(seed, number, "outages")
            fail = rng.random((days, n_assets)) < u.asset_failure_probability
            recovery = rng.exponential(1.0, (days, n_assets))
            down[r] = outage_days(fail, recovery * n.asset_recovery_days[None, :])

    transit = None
    if u.transit_cv > 0:
        k = 1.0 / u.transit_cv**2
        gamma = per_replication("transit", (n_lanes,), lambda g, s: g.gamma(k, 1.0 / k, s))
        mean = np.maximum(n.lane_transit_days, 0.0)
        transit = np.floor(mean * gamma + 0.5).astype(np.int64)

    produced = None
    yields = u.yield_cv > 0 and 0 < u.yield_mean < 1
    if yields or u.slip_probability > 0:
        produced = np.full((count, days, n_lines), u.yield_mean)
        slips = np.zeros((count, days, n_lines), dtype=bool)
        for r, number in enumerate(replications):  # each stream: the yields, then the slips' starts
            rng = _stream(seed, number, "production")
            if yields:
                produced[r] = rng.beta(*_beta_shape(u.yield_mean, u.yield_cv), (days, n_lines))
            if u.slip_probability > 0:
                slips[r] = rng.random((days, n_lines)) < u.slip_probability
        if u.slip_probability > 0:
            produced[_runs(slips, u.slip_days)] = 0.0

    failures = None
    if u.random_failures:
        failures = per_replication("failures", (n_formations, len(n.systems)), _uniform)
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


def _uniform(generator: np.random.Generator, shape: tuple[int, ...]) -> FloatArray:
    return generator.random(shape)

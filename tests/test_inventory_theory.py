"""The simulator's replenishment policies against inventory theory's exact results.

A serial chain under installation base-stock with backorders and Poisson demand has an exact
steady state (the installation recursion of Clark and Scarf's serial model, as in Snyder and
Shen, Fundamentals of Supply Chain Theory, ch. 6): the top stage's supplier never runs short,
and for each stage j, from the top down,

    IL_j = S_j - D(L_j) - B_{j+1},    B_j = max(-IL_j, 0),

where D(t) is the demand of t days (Poisson, independent of B_{j+1}, which is made of earlier
demand) and the stage facing the formation sees one day more (its demand of the day comes after
the day's arrivals). The recursion is written here, for the test, from the pmfs alone; the
simulator is run on the same chain written as a scenario, and the two must agree within three
standard errors on the expected cost a day, the expected backlog and the chance of one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats import poisson

import sustain
from sustain.simulate import Simulation, SimulationOptions, Uncertainty, simulate
from tests.scenarios import base, formation, lane, load_document, site

MASS_T = 0.05  # t per round in the scenario skeleton (50 kg)


@dataclass(frozen=True)
class Chain:
    rate: float  # rounds a day of demand at the front
    lead_times: tuple[int, ...]  # days into stage 1 (the front), 2, ... N (the top)
    levels: tuple[int, ...]  # installation base-stock levels, stage 1 first
    holding: tuple[float, ...]  # EUR per round a day held at each stage
    backorder_cost: float  # EUR per round a day backordered at the front


@dataclass(frozen=True)
class Exact:
    cost: float  # expected EUR a day
    backlog: float  # expected rounds backordered at the front, end of day
    probability: float  # P(backlog > 0)


def exact(chain: Chain) -> Exact:
    """The steady state by the installation recursion, on pmfs truncated far in the tail."""
    total_lead = sum(chain.lead_times) + 1
    size = int(chain.rate * total_lead + 20 * np.sqrt(chain.rate * total_lead) + 50)
    k = np.arange(size)
    upstream = np.zeros(size)
    upstream[0] = 1.0  # B_{N+1} = 0: the plant never runs short
    cost = 0.0
    for stage in reversed(range(len(chain.levels))):
        days = chain.lead_times[stage] + (1 if stage == 0 else 0)
        demand = poisson.pmf(k, chain.rate * days)
        owed = np.convolve(upstream, demand)[:size]  # pmf of D(L_j) + B_{j+1}
        level = chain.levels[stage]
        cost += chain.holding[stage] * float((np.maximum(level - k, 0) * owed).sum())
        upstream = np.zeros(size)
        upstream[0] = owed[: level + 1].sum()
        upstream[1 : size - level] = owed[level + 1 :]
    backlog = float((k * upstream).sum())
    cost += chain.backorder_cost * backlog
    return Exact(cost=cost, backlog=backlog, probability=1.0 - float(upstream[0]))


def chain_scenario(chain: Chain, days: int) -> dict[str, Any]:
    """The chain as a scenario: a donor's plant with stock it never runs out of, stages N .. 1
    of the partner each starting at its level, a brigade at stage 1."""
    doc = base(days=days)
    doc["nations"].append({"id": "D"})
    site(doc, "plant", "depot", nation="D", holding_cost="0 EUR/t/day")
    stages = [f"stage-{j + 1}" for j in range(len(chain.levels))]
    for name, holding in zip(stages, chain.holding, strict=True):
        site(doc, name, "front" if name == "stage-1" else "depot")
        doc["sites"][-1]["holding_cost"] = f"{holding / MASS_T} EUR/t/day"
    doc["stocks"].append({"site": "plant", "item": "shell", "quantity": "1e9 rounds"})
    upstream = ["plant", *reversed(stages)]
    for origin, destination in itertools.pairwise(upstream):
        j = int(destination.split("-")[1]) - 1
        transit = f"{chain.lead_times[j]} days"
        lane(doc, f"{origin}>{destination}", origin, destination, "1e9 t/day", transit=transit)
    for name, level in zip(stages, chain.levels, strict=True):
        doc["stocks"].append({"site": name, "item": "shell", "quantity": f"{level} rounds"})
    doc["policies"] = [
        {"site": name, "item": "shell", "level": f"{level} rounds"}
        for name, level in zip(stages, chain.levels, strict=True)
    ]
    formation(doc, "bde", "stage-1", guns=int(chain.rate))
    return doc


def steady_figures(
    chain: Chain, days: int, replications: int, position: str = "installation"
) -> dict[str, npt.NDArray[np.float64]]:
    """Per replication, over the days after the pipelines have filled: cost a day, backlog a
    day and the share of days with a backlog."""
    network = load_document(chain_scenario(chain, days))
    options = SimulationOptions(backorders=True, position=position)
    result = simulate(
        network,
        replications,
        seed=11,
        uncertainty=Uncertainty(poisson_demand=True),
        options=options,
        executor="serial",
    )
    warm = sum(chain.lead_times) + 5
    backlog = result.series.daily_shortfall[:, warm:, 0].astype(np.float64)
    holding = result.series.daily_holding[:, warm:].astype(np.float64)
    return {
        "cost": (holding + chain.backorder_cost * backlog).mean(axis=1),
        "backlog": backlog.mean(axis=1),
        "probability": (backlog > 1e-6).mean(axis=1),
    }


def assert_within_three_standard_errors(
    figures: dict[str, npt.NDArray[np.float64]], truth: Exact
) -> None:
    for name, values in figures.items():
        error = values.std(ddof=1) / np.sqrt(values.size)
        expected = getattr(truth, name)
        assert abs(values.mean() - expected) <= 3 * error, (name, values.mean(), expected, error)


CHAINS = {
    # The middle stage holds less than its mean lead-time demand (10 < 5 x 3), the top
    # exactly its mean (5 x 4): stockouts upstream delay the front.
    "3 stages": Chain(5.0, (2, 3, 4), (22, 10, 20), (3.0, 2.0, 1.0), 30.0),
    # Four stages, two of them at or under their mean lead-time demand.
    "4 stages": Chain(3.0, (1, 2, 2, 3), (9, 5, 6, 9), (4.0, 3.0, 2.0, 1.0), 25.0),
}


@pytest.mark.parametrize("name", list(CHAINS))
def test_a_serial_chain_under_installation_base_stock_matches_the_exact_recursion(
    name: str,
) -> None:
    chain = CHAINS[name]
    truth = exact(chain)
    assert 0.05 < truth.probability < 0.6, truth  # a case where upstream shortage matters
    assert_within_three_standard_errors(steady_figures(chain, 800, 160), truth)


def test_echelon_levels_at_the_installation_sums_give_the_same_steady_state() -> None:
    """Echelon base-stock with S^e_j = S_1 + ... + S_j is the same policy on a serial chain
    (the echelon position of stage j is its installation position plus those below)."""
    chain = CHAINS["3 stages"]
    echelon = tuple(int(v) for v in np.cumsum(chain.levels))
    doc_chain = Chain(chain.rate, chain.lead_times, echelon, chain.holding, chain.backorder_cost)
    figures = steady_figures(doc_chain, 800, 160, position="echelon")
    assert_within_three_standard_errors(figures, exact(chain))


@dataclass(frozen=True)
class TwoFronts:
    """A depot fed by a plant that never runs short, supplying two fronts."""

    rates: tuple[float, float]  # rounds a day at each front
    lead_times: tuple[int, int, int]  # days: plant -> depot, depot -> front 1, -> front 2
    levels: tuple[int, int, int]  # installation base-stock levels: depot, front 1, front 2
    holding: tuple[float, float, float]  # EUR per round a day
    backorder_cost: float  # EUR per round a day backordered at either front


def two_fronts_scenario(case: TwoFronts, days: int) -> dict[str, Any]:
    doc = base(days=days)
    doc["nations"].append({"id": "D"})
    site(doc, "plant", "depot", nation="D", holding_cost="0 EUR/t/day")
    doc["stocks"].append({"site": "plant", "item": "shell", "quantity": "1e9 rounds"})
    names = ("depot", "front-1", "front-2")
    for name, holding, level in zip(names, case.holding, case.levels, strict=True):
        site(doc, name, "depot" if name == "depot" else "front")
        doc["sites"][-1]["holding_cost"] = f"{holding / MASS_T} EUR/t/day"
        doc["stocks"].append({"site": name, "item": "shell", "quantity": f"{level} rounds"})
    lanes = (("plant", "depot"), ("depot", "front-1"), ("depot", "front-2"))
    for (origin, destination), days_in_transit in zip(lanes, case.lead_times, strict=True):
        lane(doc, f"{origin}>{destination}", origin, destination, "1e9 t/day",
             transit=f"{days_in_transit} days")  # fmt: skip
    doc["policies"] = [
        {"site": name, "item": "shell", "level": f"{level} rounds"}
        for name, level in zip(names, case.levels, strict=True)
    ]
    for k, rate in enumerate(case.rates):
        formation(doc, f"bde-{k + 1}", f"front-{k + 1}", guns=int(rate))
    return doc


def two_fronts_by_hand(case: TwoFronts, days: int, replications: int, warm: int) -> Any:
    """The textbook one-warehouse, two-retailer system written out day by day, on its own
    random numbers: each day arrivals, then orders (the fronts', then the depot's, on
    installation positions), then the depot ships what it owes as far as its stock goes
    (shared pro rata between the fronts when short), then demand is met, oldest backorder
    first. Per replication over the days after `warm`: cost a day, and each front's mean
    backlog and share of days with one."""
    rng = np.random.default_rng(2024)
    l0, l1, l2 = case.lead_times
    s0, s1, s2 = case.levels
    cost = np.zeros(replications)
    backlog = np.zeros((replications, 2))
    backlogged = np.zeros((replications, 2))
    for r in range(replications):
        stock = [float(s0), float(s1), float(s2)]
        backorders = [0.0, 0.0]
        owed = [0.0, 0.0]  # by the depot to each front
        arriving = np.zeros((days + max(case.lead_times) + 1, 3))  # at depot, front 1, front 2
        demand = rng.poisson(case.rates, size=(days, 2))
        for day in range(days):
            for k in range(3):
                stock[k] += arriving[day, k]
            in_transit = [arriving[day + 1 :, k].sum() for k in range(3)]
            for k, level in ((0, s1), (1, s2)):  # the fronts order from the depot
                position = stock[k + 1] + in_transit[k + 1] + owed[k] - backorders[k]
                owed[k] += max(level - position, 0.0)
            depot_position = stock[0] + in_transit[0] - owed[0] - owed[1]
            arriving[day + l0, 0] += max(s0 - depot_position, 0.0)  # the plant ships it all
            asked = owed[0] + owed[1]
            share = min(stock[0] / asked, 1.0) if asked > 0 else 0.0
            for k, lead in ((0, l1), (1, l2)):
                shipped = owed[k] * share
                owed[k] -= shipped
                stock[0] -= shipped
                arriving[day + lead, k + 1] += shipped
            for k in range(2):
                need = backorders[k] + demand[day, k]
                met = min(stock[k + 1], need)
                stock[k + 1] -= met
                backorders[k] = need - met
            if day >= warm:
                held = sum(h * q for h, q in zip(case.holding, stock, strict=True))
                cost[r] += held + case.backorder_cost * sum(backorders)
                backlog[r] += backorders
                backlogged[r] += np.asarray(backorders) > 1e-9
    steady = days - warm
    return cost / steady, backlog / steady, backlogged / steady


def simulate_two_fronts(
    case: TwoFronts, days: int, replications: int, seed: int
) -> tuple[sustain.Network, Simulation]:
    """The simulator on the case: Poisson demand, backorders, the levels of the case."""
    network = load_document(two_fronts_scenario(case, days))
    result = simulate(
        network,
        replications,
        seed=seed,
        uncertainty=Uncertainty(poisson_demand=True),
        options=SimulationOptions(backorders=True),
        executor="serial",
    )
    return network, result


def test_a_two_front_distribution_system_matches_the_textbook_model_by_hand() -> None:
    """The depot holds less than its mean lead-time demand (14 < 6 x 3), so the fronts wait on
    it and the installation position of the depot must subtract what it owes both fronts.
    The simulator and the day-by-day model above, on independent random numbers, must agree
    on cost a day and each front's backlog within three standard errors of their difference;
    with an ample depot each front is a single stage, whose backlog has the closed form."""
    days, warm, replications = 600, 30, 160
    tight = TwoFronts((4.0, 2.0), (3, 1, 2), (14, 9, 7), (1.0, 2.0, 2.0), 20.0)
    network, result = simulate_two_fronts(tight, days, replications, seed=5)
    fronts = [
        int(np.flatnonzero(result.setup.pair_formation == network.formations.names.index(b))[0])
        for b in ("bde-1", "bde-2")
    ]
    held = result.series.daily_holding[:, warm:].astype(np.float64)
    late = result.series.daily_shortfall[:, warm:, :][:, :, fronts].astype(np.float64)
    ours = {
        "cost": (held + tight.backorder_cost * late.sum(axis=2)).mean(axis=1),
        "backlog 1": late[:, :, 0].mean(axis=1),
        "backlog 2": late[:, :, 1].mean(axis=1),
        "short days 1": (late[:, :, 0] > 1e-6).mean(axis=1),
        "short days 2": (late[:, :, 1] > 1e-6).mean(axis=1),
    }
    cost, backlog, backlogged = two_fronts_by_hand(tight, days, replications, warm)
    theirs = {
        "cost": cost,
        "backlog 1": backlog[:, 0],
        "backlog 2": backlog[:, 1],
        "short days 1": backlogged[:, 0],
        "short days 2": backlogged[:, 1],
    }
    assert theirs["backlog 1"].mean() > 0.3  # the depot's shortages reach the fronts
    for name, values in ours.items():
        other = theirs[name]
        error = np.hypot(values.std(ddof=1), other.std(ddof=1)) / np.sqrt(replications)
        assert abs(values.mean() - other.mean()) <= 3 * error, (name, values.mean(), other.mean())

    ample = TwoFronts((4.0, 2.0), (3, 1, 2), (400, 9, 7), (0.0, 2.0, 2.0), 20.0)
    network, result = simulate_two_fronts(ample, days, replications, seed=6)
    late = result.series.daily_shortfall[:, warm:, :][:, :, fronts].astype(np.float64)
    k = np.arange(200)
    for front, (rate, lead, level) in enumerate(((4.0, 1, 9), (2.0, 2, 7))):
        lead_demand = poisson(rate * (lead + 1))  # the front sees one day more
        exact_backlog = float((np.maximum(k - level, 0) * lead_demand.pmf(k)).sum())
        values = late[:, :, front].mean(axis=1)
        error = values.std(ddof=1) / np.sqrt(replications)
        assert abs(values.mean() - exact_backlog) <= 3 * error, (front, values.mean())

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

from sustain.simulate import SimulationOptions, Uncertainty, simulate
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

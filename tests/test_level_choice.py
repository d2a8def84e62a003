"""Choosing base-stock levels, against answers known independently.

- The exact serial optimiser (Chen and Zheng's recursion on echelon levels) against a brute
  force over installation levels scored by the installation recursion written in
  tests/test_inventory_theory.py (a different recursion: a level per stage, not an echelon
  cost function): the same levels and the same cost.
- The simulation search, run on a serial chain from a poor start, against the exact optimum:
  the levels it finds cost (by the exact recursion) within a few percent of the least.
- The fill-rate search on a single stage against the closed form of a base-stock level's fill
  rate under Poisson demand and backorders: it finds the least level that meets the target.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import poisson

from sustain.simulate import SimulationOptions, Uncertainty
from sustain.simulate.optimise import SearchOptions, choose_levels
from sustain.simulate.serial import SerialChain, optimal_levels
from sustain.simulate.setup import prepare
from tests.conftest import EXAMPLES
from tests.scenarios import load_document
from tests.test_inventory_theory import CHAINS, Chain, chain_scenario, exact

POISSON = Uncertainty(poisson_demand=True)


def serial(chain: Chain) -> SerialChain:
    return SerialChain(chain.rate, chain.lead_times, chain.holding, chain.backorder_cost)


@pytest.mark.parametrize("name", list(CHAINS))
def test_the_exact_serial_levels_are_the_brute_force_optimum(name: str) -> None:
    chain = CHAINS[name]
    found = optimal_levels(serial(chain))

    def scored(levels: tuple[int, ...]) -> float:
        return exact(
            Chain(chain.rate, chain.lead_times, levels, chain.holding, chain.backorder_cost)
        ).cost

    assert abs(found.cost - scored(found.installation)) < 1e-6 * scored(found.installation)
    around = [range(max(v - 3, 0), v + 4) for v in found.installation]
    best = min(itertools.product(*around), key=scored)
    assert scored(best) >= scored(found.installation) - 1e-9
    assert np.array_equal(np.cumsum(found.installation), found.echelon)


def chain_network(chain: Chain, days: int) -> object:
    return load_document(chain_scenario(chain, days))


def test_the_policy_search_finds_the_exact_optimum_of_a_serial_chain() -> None:
    truth = CHAINS["3 stages"]
    best = optimal_levels(serial(truth))
    # Start far from it: every stage at 60 rounds.
    poor = Chain(truth.rate, truth.lead_times, (60, 60, 60), truth.holding, truth.backorder_cost)
    network = chain_network(poor, 500)
    options = SimulationOptions(backorders=True, shortage_cost=truth.backorder_cost)
    exact_choice = choose_levels(network, options, POISSON)  # type: ignore[arg-type]
    assert exact_choice.method == "exact serial chain"
    assert exact_choice.exact_cost_per_day == pytest.approx(best.cost)
    by_stage = exact_choice.levels.set_index("site")["level"]
    assert tuple(int(by_stage[f"stage-{j + 1}"]) for j in range(3)) == best.installation

    search = SearchOptions(method="search", replications=32, evaluation_replications=32)
    found = choose_levels(network, options, POISSON, search)  # type: ignore[arg-type]
    assert found.method == "simulation search"
    levels = found.levels.set_index("site")["level"]
    chosen = tuple(round(float(levels[f"stage-{j + 1}"])) for j in range(3))

    def scored(levels: tuple[int, ...]) -> float:
        return exact(Chain(truth.rate, truth.lead_times, levels, truth.holding, 30.0)).cost

    assert scored(poor.levels) > 2.0 * best.cost  # the start is far from the optimum
    assert scored(chosen) <= 1.05 * best.cost, (chosen, best.installation)
    # On fresh replications the chosen levels cost less than the scenario's, and less than
    # the days-of-cover rule's at the same total level.
    policies = found.comparison.set_index("policy")
    assert (policies.loc["chosen", "cost_high_eur"] < policies["cost_low_eur"].iloc[1:]).all()
    # The policies table written is one a scenario reads: the same levels, run as the rule.
    doc = chain_scenario(poor, 500)
    doc["policies"] = found.tables["policies"].to_dict(orient="records")
    again = prepare(load_document(doc), options)
    assert np.allclose(np.sort(again.inputs.order_target), np.sort(found.levels["level"]))


def test_a_ctrl_c_keeps_the_best_levels_so_far_and_judges_them() -> None:
    truth = CHAINS["3 stages"]
    poor = Chain(truth.rate, truth.lead_times, (60, 60, 60), truth.holding, truth.backorder_cost)
    network = chain_network(poor, 300)
    options = SimulationOptions(backorders=True, shortage_cost=truth.backorder_cost)
    rounds = []

    def stop_in_the_third_round(done: int, score: float) -> None:
        rounds.append(score)
        if len(rounds) == 3:
            raise KeyboardInterrupt

    search = SearchOptions(method="search", replications=16, evaluation_replications=16)
    found = choose_levels(
        network,  # type: ignore[arg-type]
        options,
        POISSON,
        search,
        progress=stop_in_the_third_round,
    )
    assert found.interrupted and found.rounds == 3
    assert rounds[2] < rounds[0]  # two rounds improved on the start before the stop
    comparison = found.comparison.set_index("policy")
    assert comparison.loc["chosen", "cost_eur"] < comparison["cost_eur"].iloc[1]


def single_stage_fill(rate: float, lead: int, level: int) -> float:
    """Fill rate of base-stock `level` at a stage `lead` days from a supplier that never runs
    short, Poisson demand, backorders: 1 - (E[(D(L+1) - S)+] - E[(D(L) - S)+]) / rate."""
    k = np.arange(int(rate * (lead + 1) * 5 + 100))

    def over(days: int) -> float:
        return float((np.maximum(k - level, 0) * poisson.pmf(k, rate * days)).sum())

    return 1.0 - (over(lead + 1) - over(lead)) / rate


def test_the_fill_rate_search_finds_the_least_level_meeting_the_target() -> None:
    rate, lead, target = 5.0, 3, 0.95
    least = next(s for s in range(200) if single_stage_fill(rate, lead, s) >= target)
    chain = Chain(rate, (lead,), (40,), (1.0,), 30.0)
    network = chain_network(chain, 400)
    options = SimulationOptions(backorders=True, holding_cost=1.0)
    search = SearchOptions(
        objective="fill-rate",
        target_fill_rate=target,
        confidence=0.9,
        replications=64,
        evaluation_replications=64,
        steps_days=(4.0, 2.0, 1.0, 0.4, 0.2),  # down to one round a step
    )
    found = choose_levels(network, options, POISSON, search)  # type: ignore[arg-type]
    level = float(found.levels["level"].iloc[0])
    assert least <= level <= least + 2, (level, least)
    fill = found.fill_rates.set_index("policy").loc["chosen"]
    assert float(fill["fill_rate"]) >= target - 0.005


def test_choosing_levels_by_cost_without_a_shortage_cost_is_refused() -> None:
    network = chain_network(CHAINS["3 stages"], 100)
    with pytest.raises(ValueError, match="shortage cost"):
        choose_levels(network, SimulationOptions(), POISSON)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no exact method"):
        choose_levels(
            network,  # type: ignore[arg-type]
            SimulationOptions(shortage_cost=1.0),  # lost sales
            POISSON,
            SearchOptions(method="exact"),
        )


def test_sustain_policy_prints_json_a_subprocess_can_read(tmp_path: object) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sustain",
            "policy",
            str(EXAMPLES[0]),
            "--shortage-cost",
            "100",
            "--holding-cost",
            "0.5",
            "--replications",
            "16",
            "--evaluation-replications",
            "32",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["figures"]["method"] == "simulation search"
    policies = {row["policy"]: row for row in document["rows"]["comparison"]}
    assert len(policies) == 3 and all(row["cost_eur"] > 0 for row in policies.values())
    assert len(document["rows"]["levels"]) > 10
    assert {"site", "item", "level", "start_level"} <= set(document["rows"]["levels"][0])
    refused = subprocess.run(
        [sys.executable, "-m", "sustain", "policy", str(EXAMPLES[0]), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert refused.returncode == 2
    assert "shortage cost" in json.loads(refused.stdout)["error"]

"""The planner against a second engine: a plan replayed day by day in the simulator, every
source of noise off. A plan whose lags are placed `late` (timegrid) counts on nothing before it
is there, so the replay must give its shortfall exactly, formation by formation, and its first
short dates inside the plan's first short period; plans on daily buckets are a lower bound of
it; a weekly plan that places lags optimistically can promise less shortfall than any daily
schedule can achieve (the tiny scenario's hand-worked figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sustain
from sustain.plan import Plan, PlanOptions, plan
from sustain.resilience import ResilienceOptions, resilience
from sustain.simulate import Simulation, SimulationOptions, Uncertainty, simulate
from tests.conftest import EXAMPLES
from tests.scenarios import load_document, random_network

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"
GRIDS = ["week", "3 x day, then week", "10 x day, 2 x week, then day"]


def replay(network: sustain.Network, made: Plan) -> Simulation:
    """One replication of the plan, day by day, every source of noise off."""
    return simulate(
        network,
        1,
        seed=0,
        uncertainty=Uncertainty(),
        options=SimulationOptions(policy="plan"),
        plan_tables=made.tables,
        executor="serial",
    )


def replayed(network: sustain.Network, made: Plan) -> pd.DataFrame:
    """Per formation, family and day: the replay's shortfall."""
    return replay(network, made).daily()


def assert_runs_as_planned(network: sustain.Network, made: Plan) -> None:
    replay_run = replay(network, made)
    # One weighted shortfall (priority x criticality x units short, lateness apart) in both.
    assert replay_run.weighted_shortfall[0] == pytest.approx(
        made.total_shortfall, rel=1e-6, abs=1e-6
    )
    daily = replay_run.daily()
    key = ["formation", "family"]
    planned = made.shortfall.groupby(key)["shortfall"].sum()
    replayed_short = daily.groupby(key)["mean_shortfall"].sum().reindex(planned.index)
    scale = max(1.0, float(planned.abs().max()))
    assert replayed_short.to_numpy() == pytest.approx(
        planned.to_numpy(), rel=1e-6, abs=1e-6 * scale
    )
    # First short: the replay's day lies in the plan's first short period (a period's
    # shortfall is spread over its days).
    tolerance = 1e-6 * scale
    short = made.shortfall[made.shortfall["shortfall"] > tolerance]
    first_period = short.groupby(key)["period"].min()
    longest = float(network.period_length.max())
    first_day = daily[daily["mean_shortfall"] > tolerance / longest].groupby(key)["day"].min()
    assert sorted(first_day.index) == sorted(first_period.index)
    edges = network.period_edges
    for pair, period in first_period.items():
        assert edges[period] <= first_day[pair] < edges[period + 1], pair


def test_plan_simulate_and_resilience_show_one_weighted_shortfall() -> None:
    network = sustain.compile_network(sustain.load(TINY))
    made = plan(network)
    # tiny.yaml: one brigade of priority 2, every family of criticality 1.
    by_hand = 2 * float(made.shortfall["shortfall"].sum())
    assert made.total_shortfall == pytest.approx(by_hand)
    assert made.parts["lateness"] > 0  # lateness is counted, and apart
    base = resilience(network, ResilienceOptions(mitigate=False), executor="serial")
    assert base.base_weighted_shortfall == pytest.approx(made.total_shortfall)
    assert_runs_as_planned(network, made)


def on_grid(seed: int, grid: str) -> dict[str, Any]:
    doc = random_network(seed)
    doc["scenario"].update({"horizon": f"{(35, 42, 49)[seed % 3]} days", "period": grid})
    return doc


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("seed", range(6))
def test_a_late_plan_on_any_grid_runs_as_planned_day_by_day(seed: int, grid: str) -> None:
    network = load_document(on_grid(seed, grid))
    assert_runs_as_planned(network, plan(network))


def test_the_examples_plan_runs_as_planned_day_by_day() -> None:
    network = sustain.compile_network(sustain.load(EXAMPLES[0]))
    made = plan(network, PlanOptions(check=False))
    assert made.shortfall["shortfall"].sum() > 1e6  # a case where the replay has work to do
    assert_runs_as_planned(network, made)


@pytest.mark.parametrize("seed", range(6))
def test_no_daily_schedule_does_better_than_the_daily_plan(seed: int) -> None:
    # The weekly late plan is a schedule the replay carries out day by day: the daily plan,
    # optimal over every daily schedule, is never worse. The rules that place arrivals early
    # promise no such thing (below).
    options = PlanOptions(repair_weight=0.0)  # formations' weighted shortfall alone
    weekly = load_document(on_grid(seed, "week"))
    daily = load_document(on_grid(seed, "day"))
    late = plan(weekly, options).parts["shortfall"]
    best = plan(daily, options).parts["shortfall"]
    assert best <= late + 1e-6 * max(1.0, late)


def test_the_tiny_scenario_by_hand_on_days_and_on_weeks() -> None:
    # By day: 10 guns fire 10 rounds a day for 14 days, then 40 a day for 14. The 3,000
    # pledged rounds, at the hub from day 8 (2023-01-10), reach the front on day 10; the
    # line's rounds (lots begun before the start) leave by sea from day 0 and reach the front
    # from day 16 (14 + 2 days), some 460 a day. Days 0-9 (1,000 rounds) get nothing; the
    # pledge covers days 10-15 (600) and, with the line, days 16-27 (4,800): 1,000 short.
    document = sustain.load(TINY)
    by_day = document.model_copy(
        update={"scenario": document.scenario.model_copy(update={"period": "day"})}
    )
    exact = plan(sustain.compile_network(by_day)).shortfall
    assert exact.loc[exact["family"] == "155mm-NATO", "shortfall"].sum() == pytest.approx(1000)
    weekly = sustain.compile_network(document)
    # Late on weeks: the pledge counts from week 2 (the first to start after it came), its rail
    # leg from week 3, the line's rounds too (sea to week 2, rail to week 3): only week 3's
    # 2,800 rounds are met, 4,200 short. Pessimistic, and what the replay gives.
    late = plan(weekly)
    assert late.shortfall.query("family == '155mm-NATO'")["shortfall"].sum() == pytest.approx(4200)
    assert_runs_as_planned(weekly, late)
    # The mean rule promises 700 short, less than any daily schedule allows (1,000); its
    # replay shows more than it promised.
    mean = plan(weekly, PlanOptions(lags="mean"))
    promised = mean.shortfall.query("family == '155mm-NATO'")["shortfall"].sum()
    assert promised == pytest.approx(700)
    daily = replayed(weekly, mean)
    assert daily.query("family == '155mm-NATO'")["mean_shortfall"].sum() > 1000

"""The simulator against answers known independently: the planner's plan replayed without
uncertainty, a base-stock policy under Poisson demand against its closed form, conservation in
every replication, and the same results for a seed whatever the executor and batching."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.stats import poisson

import sustain
from sustain.plan import PlanOptions, plan
from sustain.simulate import SimulationOptions, Uncertainty, simulate
from sustain.simulate.compiled import WIDE_BLOCK, block_width, poisson_quantile
from sustain.simulate.setup import prepare
from tests.conftest import EXAMPLES
from tests.scenarios import (
    base,
    evacuation_case,
    formation,
    lane,
    load_document,
    random_network,
    site,
)

NOISY = Uncertainty(
    demand_noise=0.3,
    surge_probability=0.02,
    asset_failure_probability=0.01,
    transit_cv=0.4,
    yield_mean=0.9,
    yield_cv=0.1,
    slip_probability=0.01,
    slip_days=5,
)


def single_stage(rate: float, transit_days: int, days: int) -> dict[str, Any]:
    """An unlimited depot feeding one front over one lane; `rate` rounds a day of demand."""
    doc = base(days=days)
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    lane(doc, "road", "depot", "front", "1000000 t/day", transit=f"{transit_days} days")
    doc["stocks"].append({"site": "depot", "item": "shell", "quantity": "100000000 rounds"})
    formation(doc, "bde", "front", guns=int(rate))
    return doc


def test_base_stock_under_poisson_demand_matches_the_closed_form() -> None:
    rate, transit, cover, days = 5.0, 3, 2.0, 200
    network = load_document(single_stage(rate, transit, days))
    options = SimulationOptions(policy="base-stock", cover_days=cover, backorders=True)
    result = simulate(
        network, 200, seed=7, uncertainty=Uncertainty(poisson_demand=True), options=options
    )
    level = rate * (cover + transit)  # order-up-to 25 rounds
    # The position is S after each day's order; what is ordered arrives `transit` days later,
    # before that day's demand: the backlog at the end of a day is (D - S)+, D being the demand
    # of transit + 1 days, Poisson with mean rate x (transit + 1).
    lead_demand = poisson(rate * (transit + 1))
    d = np.arange(0, 200)
    expected_backorders = float(((d - level).clip(0) * lead_demand.pmf(d)).sum())
    expected_short = float(lead_demand.sf(level))
    daily = result.daily()
    steady = daily[daily["day"] > transit + 1]
    per_replication = result._merged("daily_shortfall")[:, transit + 2 :, 0].mean(axis=1)
    error = per_replication.std(ddof=1) / np.sqrt(per_replication.size)
    assert steady["mean_shortfall"].mean() == pytest.approx(expected_backorders, abs=4 * error)
    short_days = (result._merged("daily_shortfall")[:, transit + 2 :, 0] > 1e-6).mean(axis=1)
    error = short_days.std(ddof=1) / np.sqrt(short_days.size)
    assert steady["probability_short"].mean() == pytest.approx(expected_short, abs=4 * error)
    assert 0.05 < expected_short < 0.5  # a case where stockouts matter


@pytest.mark.parametrize("mean", [1e-9, 0.01, 0.3, 1.0, 2.5, 17.0, 29.5, 80.0, 999.5, 1e5])
def test_the_compiled_poisson_quantile_is_scipys(mean: float) -> None:
    levels = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 2001), [0.5]])
    ours = [poisson_quantile(u, mean) for u in levels]
    assert ours == list(poisson.ppf(levels, mean))
    assert poisson_quantile(0.7, 0.0) == 0.0


def test_deterministic_run_replays_the_plan_exactly() -> None:
    for seed in range(4):
        network = load_document(random_network(seed))
        made = plan(network, PlanOptions())
        result = simulate(
            network,
            2,
            seed=seed,
            uncertainty=Uncertainty(),
            options=SimulationOptions(policy="plan"),
            plan_tables=made.tables,
            executor="serial",
        )
        daily = result.daily().set_index(["formation", "family", "day"])["mean_shortfall"]
        planned = made.shortfall.set_index(["formation", "family", "period"])["shortfall"]
        planned.index = planned.index.set_names("day", level="period")
        assert daily.to_numpy() == pytest.approx(
            planned.reindex(daily.index).to_numpy(), abs=1e-6
        ), f"seed {seed}"


def ledger_gap(result: Any) -> Any:
    merged = result._merged
    came = merged("initial") + merged("produced") + merged("pledged") - merged("consumed")
    left = merged("on_hand") + merged("in_transit")
    return np.abs(came - left).max(axis=1) / np.maximum(np.abs(came).max(axis=1), 1.0)


@pytest.mark.parametrize("policy", ["base-stock", "s-S"])
def test_conservation_holds_in_every_replication(policy: str) -> None:
    network = sustain.compile_network(sustain.load(EXAMPLES[0]))
    result = simulate(
        network, 8, seed=3, uncertainty=NOISY, options=SimulationOptions(policy=policy)
    )
    assert (ledger_gap(result) < 1e-9).all()
    assert (result.weighted_shortfall >= 0).all()


def test_stock_on_hand_is_the_ledgers_and_thinned_runs_keep_the_same_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    network = sustain.compile_network(sustain.load(EXAMPLES[0]))
    options = SimulationOptions(holding_cost=0.5)
    result = simulate(network, 16, seed=3, uncertainty=NOISY, options=options)
    assert result.stock_every == 1
    # The cells recorded are every cell that can hold stock: on the last day their stock is
    # the ledger's stock on hand, item by item, in every replication.
    cells = result.setup.inputs.stock_cell
    last = result._merged("stock")[:, -1, :].astype(np.float64)  # (R, cells)
    by_item = np.zeros((last.shape[0], len(network.items)))
    np.add.at(by_item.T, cells % len(network.items), last.T)
    on_hand = result._merged("on_hand")
    assert np.allclose(by_item, on_hand, rtol=1e-6, atol=1e-3 * np.abs(on_hand).max())
    # Holding cost item by item adds up to the replication's.
    holding = result._merged("item_holding_cost")
    assert np.allclose(holding.sum(axis=1), result._merged("holding_cost"), rtol=1e-9)
    table = result.stock()
    assert (table["p5"] <= table["p50"] + 1e-9).all()
    assert (table["p50"] <= table["p95"] + 1e-9).all()
    # A run too large to record daily records every k-th day: the same figures on those days.
    monkeypatch.setattr("sustain.simulate.series.STOCK_FIGURES", 16 * cells.size * 60)
    thinned = simulate(network, 16, seed=3, uncertainty=NOISY, options=options)
    every = thinned.stock_every
    assert every == -(-network.n_days // 60)
    kept = thinned.stock()
    assert set(kept["day"]) == set(range(0, network.n_days, every))
    daily = table.set_index(["site", "item", "day"]).loc[
        kept.set_index(["site", "item", "day"]).index
    ]
    assert np.array_equal(daily["p50"].to_numpy(), kept["p50"].to_numpy())


def test_same_seed_same_result_whatever_the_executor_and_batching() -> None:
    # 80 replications in one batch: a whole block of the kernel (64 on this small network,
    # whatever the transit times drawn) and part of another; then each replication alone,
    # batches of 3, and two threads.
    network = load_document(random_network(11))
    assert block_width(prepare(network, SimulationOptions()).inputs, 400) == WIDE_BLOCK
    runs = [
        simulate(network, 80, seed=5, uncertainty=NOISY, executor="serial", batch_size=80),
        simulate(network, 80, seed=5, uncertainty=NOISY, executor="serial", batch_size=1),
        simulate(network, 80, seed=5, uncertainty=NOISY, executor="serial", batch_size=3),
        simulate(network, 80, seed=5, uncertainty=NOISY, executor="local", workers=2),
    ]
    first = runs[0]
    for other in runs[1:]:
        for name in ("weighted_shortfall", "daily_shortfall", "days_of_supply", "first_short"):
            assert np.array_equal(first._merged(name), other._merged(name), equal_nan=True)
    different = simulate(network, 80, seed=6, uncertainty=NOISY, executor="serial")
    assert not np.array_equal(first.weighted_shortfall, different.weighted_shortfall)


def test_a_scripted_closure_causes_the_shortfall_it_should() -> None:
    network = load_document(single_stage(10, 0, 20))
    closed = SimulationOptions(
        cover_days=1.0,  # order up to one day of demand
        closures=(sustain.plan.Closure(start_day=5, end_day=9, lane="road"),),
    )
    result = simulate(network, 1, uncertainty=Uncertainty(), options=closed, executor="serial")
    daily = result.daily().set_index("day")["mean_shortfall"]
    # With one day of stock ordered daily, the front is short of a whole day's 10 rounds on
    # each closed day, and whole again once the lane reopens.
    assert daily.to_numpy() == pytest.approx([0.0] * 5 + [10.0] * 4 + [0.0] * 11)


def repair_theatre(days: int, hub_capacity: str) -> dict[str, Any]:
    """100 guns failing at 2 %/day at a front one day from a workshop that repairs in 5 days."""
    doc = single_stage(10, 0, days)
    doc["systems"][0].update({"breakdown_rate": "2 %/day", "repair_time": "5 days"})
    site(doc, "workshop", "repair_hub", repair_capacity=hub_capacity)
    lane(doc, "evacuation", "front", "workshop", "1000 t/day", transit="1 day")
    lane(doc, "back", "workshop", "front", "1000 t/day", transit="2 days")
    doc["holdings"][0]["quantity"] = 100
    return doc


def test_littles_law_on_the_repair_loop() -> None:
    days, loop_days = 120, 1 + 5 + 2  # out for the trip there, the repair and the trip back
    network = load_document(repair_theatre(days, "1000 systems/day"))
    result = simulate(
        network, 16, seed=2, uncertainty=Uncertainty(random_failures=True), executor="serial"
    )
    failed = result._merged("failed").astype(np.float64)  # (R, days)
    out = result._merged("out_of_action").astype(np.float64)
    assert failed.sum() > 500  # random failures happened
    assert np.allclose(failed, np.round(failed))  # whole systems
    # With no queue every system is out exactly loop_days (or to the horizon): the system-days
    # out of action equal the failures times their time in the loop (L = lambda W, exactly).
    stay = np.minimum(loop_days, days - np.arange(days))
    assert out.sum(axis=1) == pytest.approx((failed * stay).sum(axis=1), rel=1e-5)


def test_fleet_availability_follows_the_loop_recursion() -> None:
    days = 60
    network = load_document(repair_theatre(days, "0.5 systems/day"))
    result = simulate(network, 1, uncertainty=Uncertainty(), executor="serial")
    simulated = result.fleet().set_index("day")["mean"].to_numpy()
    # The same loop written out day by day: failures 2 % of those available, at the hub a day
    # later, at most half a repair a day started (FIFO makes no difference to the counts),
    # 5 days in repair, 2 days back.
    available, queue = 100.0, 0.0
    to_hub, repaired, back = np.zeros(days + 20), np.zeros(days + 20), np.zeros(days + 20)
    expected = []
    for day in range(days):
        available += back[day]
        back[day + 2] += repaired[day]
        queue += to_hub[day]
        start = min(queue, 0.5)
        queue -= start
        repaired[day + 5] += start
        failing = available * 0.02
        available -= failing
        to_hub[day + 1] += failing
        expected.append(available / 100.0)
    assert simulated == pytest.approx(expected, rel=1e-6)
    assert simulated[-1] < 0.8  # the workshop is the limit: availability falls


def test_ray_cluster_gives_the_local_results(ray_cluster: str) -> None:
    network = load_document(random_network(4))
    kwargs: dict[str, Any] = {"seed": 9, "uncertainty": NOISY, "batch_size": 3}
    local = simulate(network, 8, executor="local", workers=2, **kwargs)
    on_ray = simulate(network, 8, executor="ray", address=ray_cluster, **kwargs)
    for name in ("weighted_shortfall", "daily_shortfall", "days_of_supply", "availability"):
        assert np.array_equal(local._merged(name), on_ray._merged(name), equal_nan=True)


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_an_interrupted_run_keeps_the_finished_replications(executor: str) -> None:
    network = load_document(random_network(2))

    def stop_after_first_batch(done: int, total: int) -> None:
        raise KeyboardInterrupt

    result = simulate(
        network,
        12,
        seed=4,
        executor=executor,
        workers=2,
        batch_size=3,
        progress=stop_after_first_batch,
    )
    assert result.interrupted
    assert result.finished == 3
    whole = simulate(network, 12, seed=4, executor="serial")
    kept = result._merged("replications")
    assert np.array_equal(result.weighted_shortfall, whole.weighted_shortfall[kept])
    for name in ("daily_shortfall", "days_of_supply"):  # rows written in place or sent back
        assert np.array_equal(result._merged(name), whole._merged(name)[kept], equal_nan=True)


def test_pairs_that_serve_no_demand_do_not_order() -> None:
    network = sustain.compile_network(sustain.load(EXAMPLES[0]))
    setup = prepare(network, SimulationOptions())
    ordering = setup.supplier_lane >= 0
    assert ordering.any()
    assert (setup.order_up_to[ordering] > 0).all()
    x = setup.inputs
    assert x.order_cell.size == ordering.sum()  # every pair that orders, and only those
    assert (np.diff(x.order_in_start) >= 1).all()  # each on one supplier lane or more
    assert x.flow_lane.size == x.order_in_start[-1]  # and flows only for those


def test_systems_going_to_repair_spend_the_planners_lanes_not_the_simulators() -> None:
    """The documented difference: the planner carries hulls to and from repair as cargo on
    lanes (40 t each), the simulator moves them along the shortest path in its transit days
    without spending lane capacity. On the evacuation case (a 20 t/day lane: half a hull a
    day, while one fails a day) the plan's repairs are held to the lane and the simulator's
    are not; narrowing the lane changes the plan and leaves the simulation as it was."""
    wide, narrow = (load_document(evacuation_case(c)) for c in ("20 t/day", "4 t/day"))
    planned = {
        name: plan(network, PlanOptions()).fleet.sort_values("period")
        for name, network in (("wide", wide), ("narrow", narrow))
    }
    out_planned = {
        name: fleet[["waiting", "in_repair", "returning"]].sum(axis=1).to_numpy()
        for name, fleet in planned.items()
    }
    assert out_planned["narrow"][-1] > out_planned["wide"][-1] + 1.0  # the lane binds
    simulated = {
        name: simulate(network, 1, uncertainty=Uncertainty(), executor="serial")
        for name, network in (("wide", wide), ("narrow", narrow))
    }
    out_wide = simulated["wide"].series.out_of_action[0].astype(np.float64)
    out_narrow = simulated["narrow"].series.out_of_action[0].astype(np.float64)
    assert np.array_equal(out_wide, out_narrow)
    # With no lane limit the loop holds about a day's failure per day of the loop (there in a
    # day, five days of repair, back in a day): fewer out of action than the plan's.
    assert out_wide[-1] < out_planned["wide"][-1]

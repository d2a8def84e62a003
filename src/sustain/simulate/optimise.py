"""Choosing the base-stock levels: the levels per (site, item) that minimise the expected
holding + ordering + shortage cost of the run, or the least stock that gives every formation a
target fill rate with a stated confidence.

A serial chain under the textbook's assumptions (Poisson demand, backorders, a top supplier
that never runs short, lanes that never bind) gets the exact optimum (sustain.simulate.serial).
Any other network gets a search by simulation on the compiled kernel: every candidate runs the
same replications on the same random draws (common random numbers), so two candidates differ
only by their levels. A round tries each ordering pair's level a step up and a step down (in
days of the demand it serves), one pair of every group of items at a time in one candidate
(groups share no family, so a group's cost is its own: the holding of its items and the
shortage of its families), keeps each group's best move, and checks the moves together on the
whole cost; steps halve when no move helps. The result is then run on fresh replications
(another seed) against the days-of-cover rule, and against that rule at the same total level
in tonnes, with confidence intervals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import norm

from sustain.arrays import FloatArray, IntArray
from sustain.execute import default_workers
from sustain.network import Network
from sustain.options import DEFAULT_PRESET, SearchOptions, SimulationOptions, Uncertainty, preset
from sustain.orderbook import free_capacity
from sustain.simulate.kernel import BatchResult, pair_shortage_cost, run_batch
from sustain.simulate.serial import SerialChain, SerialLevels, optimal_levels
from sustain.simulate.setup import Setup, prepare
from sustain.simulate.uncertainty import Draws, draw, transit_days


@dataclass(frozen=True)
class LevelChoice:
    """The chosen levels and what they give, against the days-of-cover rule."""

    method: str  # "exact serial chain" or "simulation search"
    note: str  # why a search, where no exact method applies
    levels: pd.DataFrame  # per ordering (site, item)
    comparison: pd.DataFrame  # per policy: cost and fill with confidence intervals
    fill_rates: pd.DataFrame  # per policy, formation and family
    exact_cost_per_day: float | None  # steady state, for a serial chain
    cover_days_same_stock: float  # the days-of-cover rule's days at the same total level
    evaluations: int  # candidates run by the search
    rounds: int
    seconds: float
    interrupted: bool = False  # a Ctrl-C stopped the search: the best levels found so far

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """`policies` is the scenario's table of that name (levels with their units): copied
        into a scenario, `sustain simulate` runs the chosen levels."""
        scenario_table = pd.DataFrame(
            {
                "site": self.levels["site"],
                "item": self.levels["item"],
                "level": [
                    f"{level:.12g} {unit}"
                    for level, unit in zip(self.levels["level"], self.levels["unit"], strict=True)
                ],
            }
        )
        return {
            "levels": self.levels,
            "comparison": self.comparison,
            "fill_rates": self.fill_rates,
            "policies": scenario_table,
        }


class _Evaluator:
    """Runs candidate levels on fixed draws, on worker threads (the kernel runs outside the
    GIL), and scores them per group of items."""

    def __init__(
        self,
        setup: Setup,
        uncertainty: Uncertainty,
        seed: int,
        replications: int,
        search: SearchOptions,
        workers: int,
    ) -> None:
        self.setup, self.uncertainty, self.search = setup, uncertainty, search
        self.numbers = np.arange(replications, dtype=np.int64)
        self.draws: Draws = draw(setup.network, uncertainty, seed, self.numbers)
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.count = 0
        n, x = setup.network, setup.inputs
        self.group_of_item = item_groups(n)
        self.groups = int(self.group_of_item.max()) + 1 if self.group_of_item.size else 0
        self.pair_group = self.group_of_item[
            np.asarray([setup.family_items[m][0] for m in setup.pair_family], dtype=np.int64)
        ]
        self.pair_cost = pair_shortage_cost(setup)
        n_items = len(n.items)
        self.order_item = x.order_cell % n_items
        recorded = np.searchsorted(x.stock_cell, x.order_cell)
        self.order_record = recorded  # where each ordering cell's stock is recorded
        self.order_mass = n.item_mass[self.order_item].astype(np.float64)
        self.z = float(norm.ppf(search.confidence))
        self.size = 0.0  # the last score's scale: the run's cost, or its stock in tonnes

    def run(self, candidates: list[FloatArray]) -> list[BatchResult]:
        self.count += len(candidates)
        return list(self.pool.map(self._one, candidates))

    def _one(self, levels: FloatArray) -> BatchResult:
        inputs = self.setup.inputs._replace(order_level=levels, order_target=levels)
        setup = replace(self.setup, inputs=inputs)
        return run_batch(setup, self.uncertainty, self.draws, self.numbers)

    def fill(self, result: BatchResult) -> FloatArray:
        """(R, pairs) the share of realised demand met the day it was asked."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(result.demanded > 0, 1.0 - result.shortfall / result.demanded, 1.0)

    def stock_tonnes(self, result: BatchResult) -> FloatArray:
        """(J,) mean tonnes on hand at each ordering pair over the days and replications."""
        assert result.series is not None
        mean = result.series.stock.mean(axis=(0, 1), dtype=np.float64)
        tonnes: FloatArray = mean[self.order_record] * self.order_mass
        return tonnes

    def scores(self, result: BatchResult) -> tuple[FloatArray, FloatArray]:
        """Per replication (rows; one row under fill-rate, whose score is a whole-run figure),
        the score of each group, and of the whole (lower is better)."""
        if self.search.objective == "cost":
            shortage = result.backlog_days if self.setup.options.backorders else result.shortfall
            group = self._by_group(self.pair_group, (shortage * self.pair_cost).T).T
            group += self._by_group(self.group_of_item, result.item_holding_cost.T).T
            total = result.holding_cost + result.ordering_cost + result.shortage_cost
            self.size = float(abs(total.mean()))
            return group, total
        fill = self.fill(result)
        lower = fill.mean(axis=0) - self.z * fill.std(axis=0, ddof=1) / np.sqrt(fill.shape[0])
        missing = np.maximum(self.search.target_fill_rate - lower, 0.0)
        # Meeting the target comes first (a thousandth of fill rate outweighs any stock);
        # then the least stock, in tonnes on hand on an average day.
        needs = self._by_group(self.pair_group, missing) * 1e12
        tonnes = self._by_group(self.group_of_item[self.order_item], self.stock_tonnes(result))
        self.size = float(tonnes.sum())
        needs += tonnes
        return needs[None, :], np.asarray([needs.sum()])

    def better(self, before: FloatArray, after: FloatArray) -> npt.NDArray[np.bool_]:
        """Whether `after` beats `before`, column by column, by at least the tolerance's
        share of the run's score and, on common random numbers, by a mean of the paired
        differences above twice its standard error (a gain that noise alone would give about
        once in 40 tries is not taken)."""
        gain = before - after
        least = max(self.search.tolerance * self.size, 1e-12)
        if gain.shape[0] == 1:  # a whole-run score
            return np.asarray(gain[0] > least)
        error = gain.std(axis=0, ddof=1) / np.sqrt(gain.shape[0])
        return np.asarray(gain.mean(axis=0) > np.maximum(2.0 * error, least))

    def _by_group(self, group: IntArray, values: FloatArray) -> FloatArray:
        """Sums over the first axis of `values` (one row per item or pair) by group."""
        summed = np.zeros((self.groups, *values.shape[1:]))
        np.add.at(summed, group, values)
        return summed

    def close(self) -> None:
        self.pool.shutdown()


def item_groups(network: Network) -> IntArray:
    """(items,) the group of each item: its family (a family's items draw on each other)."""
    family = network.item_family.astype(np.int64)
    _, group = np.unique(family, return_inverse=True)
    return group.astype(np.int64)


def _search(
    evaluator: _Evaluator,
    start: FloatArray,
    served: FloatArray,
    progress: Callable[[int, float], None] | None,
) -> tuple[FloatArray, int, bool]:
    """Coordinate search from `start` (levels per ordering pair); returns the best levels
    found, the rounds run, and whether a Ctrl-C stopped it (the levels are then the best so
    far)."""
    state = _SearchState(start.copy(), 0)
    try:
        _improve(evaluator, state, served, progress)
    except KeyboardInterrupt:
        return state.levels, state.rounds, True
    return state.levels, state.rounds, False


@dataclass
class _SearchState:
    levels: FloatArray  # the best so far
    rounds: int


def _improve(
    evaluator: _Evaluator,
    state: _SearchState,
    served: FloatArray,
    progress: Callable[[int, float], None] | None,
) -> None:
    search = evaluator.search
    group = evaluator.group_of_item[evaluator.order_item]
    parent = evaluator.setup.inputs.order_parent
    members = [np.flatnonzero(group == g) for g in range(evaluator.groups)]
    current = state.levels.copy()
    scores, total = evaluator.scores(evaluator.run([current])[0])
    for step in search.steps_days:
        while evaluator.count < search.max_evaluations:
            state.rounds += 1
            if progress is not None:
                progress(evaluator.count, float(total.mean()))
            # Each group's moves: a level up or down by the step, or the step's stock shifted
            # between a site and the site that supplies it (the ridge of a serial chain, where
            # a site can hold less only if the one above holds more).
            by_group = [_moves(current, pairs, parent, step * served) for pairs in members]
            width = max((len(m) for m in by_group), default=0)
            candidates: list[FloatArray] = []
            moves: list[list[tuple[int, dict[int, float]]]] = []  # (group, {pair: level})
            for k in range(width):
                levels, moved = current.copy(), []
                for g, options in enumerate(by_group):
                    if k < len(options):
                        for j, new in options[k].items():
                            levels[j] = new
                        moved.append((g, options[k]))
                candidates.append(levels)
                moves.append(moved)
            best: dict[int, tuple[float, dict[int, float]]] = {}  # group: (mean gain, move)
            for result, moved in zip(evaluator.run(candidates), moves, strict=True):
                tried, _ = evaluator.scores(result)
                wins = evaluator.better(scores, tried)
                gains = (scores - tried).mean(axis=0)
                for g, change in moved:
                    if wins[g] and gains[g] > best.get(g, (0.0, {}))[0]:
                        best[g] = (float(gains[g]), change)
            if not best:
                break
            together = current.copy()
            for _, change in best.values():
                for j, new in change.items():
                    together[j] = new
            new_scores, new_total = evaluator.scores(evaluator.run([together])[0])
            if not evaluator.better(total[:, None], new_total[:, None])[0] and len(best) > 1:
                # The moves interfere: the best one alone.
                _, change = max(best.values(), key=lambda entry: entry[0])
                together = current.copy()
                for j, new in change.items():
                    together[j] = new
                new_scores, new_total = evaluator.scores(evaluator.run([together])[0])
            if not evaluator.better(total[:, None], new_total[:, None])[0]:
                break
            current, scores, total = together, new_scores, new_total
            state.levels = current.copy()


def _moves(
    levels: FloatArray, pairs: IntArray, parent: IntArray, step: FloatArray
) -> list[dict[int, float]]:
    """The moves of one group's pairs: each level up and down by its step, and its step's
    stock shifted to and from the pair that supplies it (levels never below 0)."""
    moves: list[dict[int, float]] = []
    for j in (int(p) for p in pairs):
        moves.append({j: levels[j] + step[j]})
        if levels[j] > 0:
            moves.append({j: max(levels[j] - step[j], 0.0)})
        up = int(parent[j])
        if up >= 0:
            given = min(step[j], levels[j])  # from the site to its supplier
            if given > 0:
                moves.append({j: levels[j] - given, up: levels[up] + given})
            taken = min(step[j], levels[up])  # from the supplier to the site
            if taken > 0:
                moves.append({j: levels[j] + taken, up: levels[up] - taken})
    return moves


def serial_chain(setup: Setup, uncertainty: Uncertainty) -> tuple[SerialChain | None, str]:
    """The scenario as a serial chain, where the exact recursion holds; else why not."""
    n, x, options = setup.network, setup.inputs, setup.options
    if not options.backorders:
        return None, "the exact method assumes backorders"
    if replace(uncertainty, poisson_demand=False, random_failures=False) != Uncertainty():
        return None, "the exact method assumes Poisson demand and no other uncertainty"
    if not uncertainty.poisson_demand:
        return None, "the exact method assumes Poisson demand"
    if x.pair_formation.size != 1 or setup.family_items[int(setup.pair_family[0])].size != 1:
        return None, "not a serial chain: more than one formation and family, or item"
    rate = x.expected[:, 0]
    if rate.size == 0 or not np.allclose(rate, rate[0]) or rate[0] <= 0:
        return None, "the exact method assumes the same demand every day"
    if (np.diff(x.order_in_start) != 1).any() or x.flow_lane.size != x.order_cell.size:
        return None, "not a serial chain: a site with several suppliers or customers"
    # From the formation's site up: each pair's one supplier is the pair above it.
    n_items = len(n.items)
    bottom = np.flatnonzero(x.order_cell // n_items == x.pair_site[0])
    if bottom.size != 1:
        return None, "not a serial chain: the formation's site does not order"
    path: list[int] = []
    j = int(bottom[0])
    while j >= 0 and len(path) <= x.order_cell.size:
        path.append(j)
        j = int(x.order_parent[j])
    if len(path) != x.order_cell.size:
        return None, "not a serial chain: the ordering sites do not form one path"
    flows = x.order_in_start[np.asarray(path)]
    top_cell = int(x.flow_from[flows[-1]])
    spare = x.initial[top_cell] - x.floor[top_cell]
    if spare < 2.0 * rate.sum() and not (x.line_cell == top_cell).any():
        return None, "the exact method assumes a top supplier that never runs short"
    mass = float(n.item_mass[x.order_cell[0] % n_items])
    levels = x.order_target[np.asarray(path)]
    if mass > 0 and x.lane_rate.size and x.lane_rate.min() * 1.0 < mass * max(levels.sum(), 1.0):
        return None, "the exact method assumes lanes that never bind"
    if np.isfinite(x.site_throughput).any():
        return None, "the exact method assumes sites with no handling limit"
    lanes = x.flow_lane[flows]
    chain = SerialChain(
        rate=float(rate[0]),
        transit_days=tuple(int(d) for d in transit_days(n)[lanes]),
        holding=tuple(float(x.cell_holding[x.order_cell[p]]) for p in path),
        backorder_cost=float(pair_shortage_cost(setup)[0]),
    )
    if chain.backorder_cost <= 0:
        return None, "the exact method needs a shortage cost above 0"
    return chain, ""


def choose_levels(
    network: Network,
    options: SimulationOptions | None = None,
    uncertainty: Uncertainty | None = None,
    search: SearchOptions | None = None,
    *,
    workers: int | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> LevelChoice:
    """Levels per ordering (site, item) under base-stock on the options' positions, and what
    they give on fresh replications against the days-of-cover rule. `progress(candidates
    run, score)` before each round of the search. A Ctrl-C during the search keeps the best
    levels found so far (`interrupted`) and judges them."""

    began = time.perf_counter()
    # The search compares costs only: whose goods met the demand is not asked.
    options = replace(options or SimulationOptions(), by_nation=False)
    search = search or SearchOptions()
    uncertainty = preset(DEFAULT_PRESET) if uncertainty is None else uncertainty
    _check(options, search)
    capacity = None
    if len(network.orders):
        capacity = free_capacity(network)
    setup = prepare(network, options, None, capacity)
    x = setup.inputs
    if x.order_cell.size == 0:
        raise ValueError("no site orders anything: there are no levels to choose")
    n_items = len(network.items)
    served = setup.served.ravel()[x.order_cell]
    start = x.order_target.copy()
    workers = workers or default_workers()
    chain, why = (None, "")
    if search.method != "search":
        chain, why = serial_chain(setup, uncertainty)
        if search.objective != "cost":
            chain, why = None, "the exact method chooses levels by cost"
        if chain is None and search.method == "exact":
            raise ValueError(f"no exact method for this case: {why}")
    exact_cost = None
    rounds, evaluations, interrupted = 0, 0, False
    if chain is not None:
        exact = optimal_levels(chain)
        chosen = _serial_levels(setup, exact, options.position)
        exact_cost = exact.cost
        method, note = "exact serial chain", ""
    else:
        searcher = _Evaluator(setup, uncertainty, search.seed, search.replications, search, workers)
        try:
            chosen, rounds, interrupted = _search(searcher, start, served, progress)
        finally:
            searcher.close()
        evaluations = searcher.count
        method, note = "simulation search", why
    rule = replace(options, scenario_levels=False)
    cover = _same_stock_cover(network, rule, capacity, chosen)
    same_stock = prepare(network, replace(rule, cover_days=cover), None, capacity)
    named = len(network.policy_site) > 0 and options.scenario_levels
    candidates = {
        "chosen": chosen,
        "the scenario's levels" if named else f"days of cover ({options.cover_days:g})": start,
        f"days of cover at the same stock ({cover:.1f})": same_stock.inputs.order_target,
    }
    judge = _Evaluator(
        setup, uncertainty, search.seed + 1, search.evaluation_replications, search, workers
    )
    try:
        results = dict(zip(candidates, judge.run(list(candidates.values())), strict=True))
    finally:
        judge.close()
    site, item = np.divmod(x.order_cell, n_items)
    mass = network.item_mass[item]
    levels = pd.DataFrame(
        {
            "site": np.asarray(network.sites.names, dtype=object)[site],
            "item": np.asarray(network.items.names, dtype=object)[item],
            "unit": np.asarray(network.item_unit, dtype=object)[item],
            "served_per_day": served,
            "start_level": start,
            "level": chosen,
            "level_days": np.where(served > 0, chosen / np.maximum(served, 1e-300), np.nan),
            "level_t": chosen * mass,
            "change_t": np.abs(chosen - start) * mass,
        }
    ).sort_values(["item", "site"], ignore_index=True)
    comparison, fill_rates = _report(judge, candidates, results, mass)
    return LevelChoice(
        method=method,
        note=note,
        levels=levels,
        comparison=comparison,
        fill_rates=fill_rates,
        exact_cost_per_day=exact_cost,
        cover_days_same_stock=cover,
        evaluations=evaluations,
        rounds=rounds,
        interrupted=interrupted,
        seconds=time.perf_counter() - began,
    )


def _check(options: SimulationOptions, search: SearchOptions) -> None:
    if options.policy != "base-stock":
        raise ValueError("levels are chosen for the base-stock policy")
    if (
        search.objective == "cost"
        and options.shortage_cost <= 0
        and not any(cost > 0 for _, cost in options.family_shortage_costs)
    ):
        raise ValueError(
            "choosing levels by cost needs a shortage cost above 0 (one for all families or "
            "per family: --shortage-cost, --family-shortage-cost), or the fill-rate objective"
        )
    if not 0.0 < search.target_fill_rate <= 1.0:
        raise ValueError("the target fill rate must be above 0 and at most 1")
    if not 0.5 <= search.confidence < 1.0:
        raise ValueError("the confidence must be at least 0.5 and below 1")
    if search.replications < 2 or search.evaluation_replications < 2:
        raise ValueError("choosing levels needs at least 2 replications")
    if not search.steps_days or min(search.steps_days) <= 0:
        raise ValueError("the search steps must be days above 0")


def _serial_levels(setup: Setup, exact: SerialLevels, position: str) -> FloatArray:
    """The exact levels on the ordering pairs, bottom stage first along the path."""
    x = setup.inputs
    n_items = len(setup.network.items)
    j = int(np.flatnonzero(x.order_cell // n_items == x.pair_site[0])[0])
    chosen = x.order_target.copy()
    values = exact.echelon if position == "echelon" else exact.installation
    for value in values:
        chosen[j] = float(value)
        j = int(x.order_parent[j])
    return chosen


def _same_stock_cover(
    network: Network,
    options: SimulationOptions,
    capacity: FloatArray | None,
    chosen: FloatArray,
) -> float:
    """The days of cover whose levels add up to the chosen ones in tonnes (levels are linear
    in the cover days); 0 when even no cover holds more."""
    n_items = len(network.items)
    at = [
        prepare(network, replace(options, cover_days=days), None, capacity).inputs
        for days in (0.0, 1.0)
    ]
    mass = network.item_mass[at[0].order_cell % n_items]
    tonnes = [float((inputs.order_target * mass).sum()) for inputs in at]
    per_day = tonnes[1] - tonnes[0]
    if per_day <= 0:
        return options.cover_days
    return max((float((chosen * mass).sum()) - tonnes[0]) / per_day, 0.0)


def _interval(values: FloatArray) -> tuple[float, float, float]:
    """Mean and its 95% confidence interval over replications."""
    mean = float(values.mean())
    half = 1.96 * float(values.std(ddof=1)) / np.sqrt(values.size)
    return mean, mean - half, mean + half


def _report(
    judge: _Evaluator,
    candidates: dict[str, FloatArray],
    results: dict[str, BatchResult],
    mass: FloatArray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per policy: its levels and mean stock in tonnes, cost with its 95% interval and parts,
    weighted shortfall, lowest fill rate; per policy and demand pair: the fill rate."""
    setup = judge.setup
    n = setup.network
    rows, fills = [], []
    for name, result in results.items():
        cost = result.holding_cost + result.ordering_cost + result.shortage_cost
        mean, low, high = _interval(cost)
        fill = judge.fill(result)
        stock_t = judge.stock_tonnes(result).sum()
        rows.append(
            {
                "policy": name,
                "levels_t": float(candidates[name] @ mass),
                "mean_stock_t": float(stock_t),
                "cost_eur": mean,
                "cost_low_eur": low,
                "cost_high_eur": high,
                "holding_eur": float(result.holding_cost.mean()),
                "ordering_eur": float(result.ordering_cost.mean()),
                "shortage_eur": float(result.shortage_cost.mean()),
                "weighted_shortfall": float(result.weighted_shortfall.mean()),
                "lowest_fill_rate": float(fill.mean(axis=0).min()) if fill.size else 1.0,
            }
        )
        for p in range(fill.shape[1]):
            f_mean, f_low, f_high = _interval(fill[:, p])
            fills.append(
                {
                    "policy": name,
                    "formation": n.formations.names[int(setup.pair_formation[p])],
                    "family": n.families.names[int(setup.pair_family[p])],
                    "fill_rate": f_mean,
                    "fill_rate_low": f_low,
                    "fill_rate_high": f_high,
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(fills)

"""Re-solving knock-out cases: each worker builds the planner once, solves the base plan, and
starts every case from the base plan's basis (HiGHS dual simplex, bounds changed in place)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain.arrays import FloatArray, IntArray
from sustain.network import Network
from sustain.options import Closure, PlanOptions
from sustain.plan import Model, Planner, Solution, TimeLimitError
from sustain.resilience.cases import LOST, closures
from sustain.timegrid import bucket_of

USED = 1e-6  # t in a period: a lane carrying less counts as unused
# The sweep's figures are shortfall (added, and survival against the base plan's): its solves
# stop after the shortfall stage of a lexicographic solve (lateness and cost as the weighted
# sum's optimum left them; the cost stage took 41.6 of 69.6 s of the benchmark's N-1 sweep on
# one worker). Which lanes a plan uses (`first_use`, what the screen settles cases by) is that
# of one shortfall-optimal plan among many: any of them settles a case it avoids exactly. The
# base plan is solved the same way, so that every case is measured alike.
THROUGH = "shortfall"
SHORT_SLACK = 1e-6  # of the largest demand: shortfall this close to the base plan's is no more


@dataclass(frozen=True)
class SweepInput:
    """What every worker shares."""

    network: Network
    plan_options: PlanOptions
    loss_day: float
    check: bool  # verify every re-solved plan with the independent checker
    warm_start: bool  # from the base plan's basis; from scratch (the naive sweep) if False
    token: str  # names this sweep in each worker's cache of planners


@dataclass(frozen=True)
class Outcome:
    """One solve of a case, as the engine needs it."""

    short: FloatArray  # (short columns,) shortfall in family units, by (formation, family, period)
    first_use: IntArray  # (lanes,) first period from the loss on with anything on the lane
    # Lost for good: the first period in which no plan can keep every formation and family at
    # or below the base plan's shortfall any more (the periods of the model if none).
    survive_period: int


class _Worker:
    def __init__(self, shared: SweepInput) -> None:
        self.planner = Planner(shared.network, shared.plan_options)
        started = time.perf_counter()
        self.base = self.planner.resolve(through=THROUGH)
        self.cold_seconds = time.perf_counter() - started
        model = self.planner.model
        self.loss_period = int(bucket_of(shared.network.period_edges, shared.loss_day))
        if self.loss_period > 0:
            # The loss strikes a plan under way: what the base plan did before the loss's
            # period is done, and the re-plan cannot foresee the loss.
            periods = column_periods(model)
            before = np.flatnonzero((periods >= 0) & (periods < self.loss_period))
            values = self.base.col_value[before]
            self.planner.bound_columns(before, values, values)
            self.base = self.planner.resolve(through=THROUGH)
        self.basis = self.planner.basis()
        matrix = model.matrix
        assert matrix is not None
        lane_rows = model.rows["lane"]
        self.lane_matrix = matrix.tocsr()[lane_rows.start : lane_rows.stop]
        short = model.columns["short"]
        self.short_columns = np.arange(short.start, short.stop, dtype=np.int64)
        self.base_short = self.base.col_value[short.slice()]
        self.short_upper = model.col_upper[short.slice()]
        demand = shared.network.demand[
            model.short_period, model.short_formation, model.short_family
        ]
        self.short_slack = SHORT_SLACK * max(1.0, float(demand.max(initial=0.0)))

    def solve(self, closed: tuple[Closure, ...]) -> Solution:
        """From the base plan's basis. Most such re-solves take a small share of a solve from
        scratch, but a few wander for many times longer (the solve from scratch presolves the
        closed lanes away; this one cannot): past the time of the base solve, start afresh."""
        self.planner.start_from(self.basis)
        try:
            return self.planner.resolve(
                closed, time_limit=max(self.cold_seconds, 0.05), through=THROUGH
            )
        except TimeLimitError:
            return self.solve_from_scratch(closed)

    def solve_from_scratch(self, closed: tuple[Closure, ...]) -> Solution:
        self.planner.start_afresh()
        return self.planner.resolve(closed, through=THROUGH)

    def survival(self, short: FloatArray) -> int:
        """The first period from which no plan under the closures now in the model keeps every
        formation and family at or below the base plan's shortfall. `short` is the optimal
        re-plan's, which keeps to it up to its own first excess; each further trial asks for a
        plan that keeps to it one period longer, and the plan found (the best under that cap)
        keeps to it up to its own first excess: usually one or two solves."""
        model = self.planner.model
        n_periods = model.n_periods
        longest = self.kept_until(short)  # some plan keeps to the base plan before this
        if longest >= n_periods:
            return n_periods
        periods = model.short_period
        after_loss = periods >= self.loss_period
        columns = self.short_columns[after_loss]
        planner = self.planner
        # Each trial starts from where the last solve ended (the re-plan, then the last plan
        # found): HiGHS keeps its factorisation when only bounds change.
        while longest < n_periods:
            # Shortfall at most the base plan's before the trial period, free from it on.
            trial = longest + 1
            upper = np.where(periods < trial, self.base_short + self.short_slack, self.short_upper)
            planner.bound_columns(columns, model.col_lower[columns], upper[after_loss])
            try:
                holds = planner.feasible(time_limit=max(self.cold_seconds, 0.05))
            except TimeLimitError:
                planner.start_afresh()
                holds = planner.feasible()
            if not holds:
                break
            found = planner.column_values()[self.short_columns]
            longest = max(trial, self.kept_until(found))
        # The columns before the loss stay as they were (fixed on a later loss day).
        planner.bound_columns(columns, model.col_lower[columns], model.col_upper[columns])
        return min(longest, n_periods)

    def kept_until(self, short: FloatArray) -> int:
        """The first period (from the loss's) in which `short` exceeds the base plan's
        shortfall for some formation and family; the model's periods if none."""
        model = self.planner.model
        over = (model.short_period >= self.loss_period) & (
            short - self.base_short > self.short_slack
        )
        return int(model.short_period[over].min()) if over.any() else model.n_periods

    def outcome(self, solution: Solution, *, lost: bool = False) -> Outcome:
        model = self.planner.model
        x = solution.col_value
        carried = self.lane_matrix @ x
        used = (carried > USED) & (model.lane_row_period >= self.loss_period)
        first_use = np.full(len(model.network.lanes), model.n_periods, dtype=np.int64)
        np.minimum.at(first_use, model.lane_row_lane[used], model.lane_row_period[used])
        short = x[model.columns["short"].slice()].copy()
        return Outcome(
            short=short,
            first_use=first_use,
            survive_period=self.survival(short) if lost else model.n_periods,
        )


def column_periods(model: Model) -> IntArray:
    """(columns,) the period each column belongs to; -1 for columns of no period."""
    periods = np.full(model.n_columns, -1, dtype=np.int64)
    for name, block in model.columns.items():
        of_block = getattr(model, f"{name}_period", None)
        if of_block is not None and block.size:
            periods[block.slice()] = of_block
    return periods


_WORKERS: dict[str, _Worker] = {}


def worker(shared: SweepInput) -> _Worker:
    """This process's planner for the sweep, built and solved on first use."""
    if shared.token not in _WORKERS:
        _WORKERS.clear()  # one sweep at a time per process
        _WORKERS[shared.token] = _Worker(shared)
    return _WORKERS[shared.token]


def base_outcome(shared: SweepInput) -> Outcome:
    w = worker(shared)
    return w.outcome(w.base)


def solve_cases(shared: SweepInput, task: list[tuple[Any, int]]) -> list[Outcome]:
    """Solve each (assets, mode) of the task from the base plan's basis."""
    w = worker(shared)
    n = shared.network
    results = []
    for assets, mode in task:
        closed = closures(n, np.asarray(assets), shared.loss_day, mode)
        solution = w.solve(closed) if shared.warm_start else w.solve_from_scratch(closed)
        if shared.check:
            w.planner.check(solution, closed)
        results.append(w.outcome(solution, lost=mode == LOST))
    return results

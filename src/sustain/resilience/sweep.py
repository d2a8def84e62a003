"""Re-solving knock-out cases: each worker builds the planner once, solves the base plan, and
starts every case from the base plan's basis (HiGHS dual simplex, bounds changed in place)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sustain.network import Network
from sustain.plan import Closure, Planner, PlanOptions, TimeLimitError
from sustain.plan.check import check_plan
from sustain.plan.model import Model
from sustain.plan.results import tables
from sustain.plan.solve import Solution
from sustain.resilience.cases import LOST, closures

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
USED = 1e-6  # t in a period: a lane carrying less counts as unused
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
        self.base = self.planner.resolve()
        self.cold_seconds = time.perf_counter() - started
        model = self.planner.model
        self.loss_period = int(shared.loss_day // shared.network.period_days)
        if self.loss_period > 0:
            # The loss strikes a plan under way: what the base plan did before the loss's
            # period is done, and the re-plan cannot foresee the loss.
            periods = column_periods(model)
            before = np.flatnonzero((periods >= 0) & (periods < self.loss_period))
            values = self.base.col_value[before]
            self.planner.solver.set_column_bounds(before, values, values)
            self.base = self.planner.resolve()
        self.basis = self.planner.solver.basis()
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
        self.planner.solver.set_basis(self.basis)
        try:
            return self.planner.resolve(closed, time_limit=max(self.cold_seconds, 0.05))
        except TimeLimitError:
            return self.solve_from_scratch(closed)

    def solve_from_scratch(self, closed: tuple[Closure, ...]) -> Solution:
        self.planner.solver.clear()
        return self.planner.resolve(closed)

    def survival(self, short: FloatArray) -> int:
        """The first period from which no plan under the closures now in the model keeps every
        formation and family at or below the base plan's shortfall; `short` is the optimal
        re-plan's, which keeps to it up to its own first excess. Searched by feasibility: one
        solve when the re-plan already holds out longest, a bisection of the periods left
        otherwise."""
        model = self.planner.model
        periods = model.short_period
        after_loss = periods >= self.loss_period
        over = after_loss & (short - self.base_short > self.short_slack)
        if not over.any():
            return model.n_periods
        held = int(periods[over].min())  # the re-plan keeps to the base plan before this
        solver = self.planner.solver
        basis = solver.basis()
        longest, unknown_from = held, model.n_periods + 1
        trial = held + 1
        while trial < unknown_from:
            # Shortfall at most the base plan's before the trial period, free from it on.
            upper = np.where(periods < trial, self.base_short + self.short_slack, self.short_upper)
            columns = self.short_columns[after_loss]
            solver.set_column_bounds(columns, model.col_lower[columns], upper[after_loss])
            solver.set_basis(basis)
            try:
                holds = solver.feasible(time_limit=max(self.cold_seconds, 0.05))
            except TimeLimitError:
                solver.clear()
                holds = solver.feasible()
            if holds:
                longest = trial
            else:
                unknown_from = trial
            trial = (longest + unknown_from) // 2 if longest > held else longest + 1
            if trial <= longest:
                break
        columns = self.short_columns[after_loss]  # those before the loss stay as they were
        solver.set_column_bounds(columns, model.col_lower[columns], model.col_upper[columns])
        solver.set_basis(basis)
        return min(longest, model.n_periods)

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
            check_plan(w.planner.network, tables(w.planner.model, solution), closed)
        results.append(w.outcome(solution, lost=mode == LOST))
    return results

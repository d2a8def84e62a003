"""Solving the planning LP with HiGHS (highspy), in bulk arrays; re-solving after a change of
bounds from the previous basis (the resilience engine closes a few lanes and re-solves).

The objective's parts (model.STAGES) are minimised in order: their weighted sum is solved
first, then each part by primal simplex from the basis the run before left (it stays primal
feasible), each part's optimum becoming a bound on it (a row kept free until then) before the
next is minimised. The duals reported are those of the first part's stage: what one more unit
of a capacity is worth in shortfall."""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from sustain.arrays import FloatArray
from sustain.highs import quiet_highs
from sustain.plan.model import STAGES, Model

# How far a later stage may move an earlier part off its optimum: HiGHS's own optimality
# tolerance is 1e-7 relative to the costs; this keeps each bound feasible after rounding.
STAGE_RELATIVE = 1e-9
STAGE_ABSOLUTE = 1e-7
CHOOSE_SIMPLEX, PRIMAL_SIMPLEX = 1, 4  # HiGHS's simplex_strategy values
# A model with nothing to decide (no formation demands anything) is solved: its plan is empty.
SOLVED = (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kModelEmpty)

# What `auto` stands for, measured side by side (benchmarks/solver_choice.py,
# docs/benchmarks.md): interior point is about twice as fast as dual simplex only on large
# models of long horizons (300,000 variables over 52 weeks: 171 s against 348 s); on
# multicommodity shapes (many items sharing the lanes over 1 to 4 periods) dual simplex is as
# fast or faster up to 1.2 million variables (0.63 to 1.16 times interior point's time) and
# leaves a basis to warm-start re-solves from.
AUTO_IPM_COLUMNS = 100_000
AUTO_IPM_PERIODS = 13


def method(solver: str, n_columns: int, n_periods: int) -> str:
    """The HiGHS method `auto` stands for at this shape; other names stand for themselves."""
    if solver != "auto":
        return solver
    long_and_large = n_columns >= AUTO_IPM_COLUMNS and n_periods >= AUTO_IPM_PERIODS
    return "ipm-nox" if long_and_large else "simplex"


class PlanError(RuntimeError):
    """The model could not be solved to optimality; the message says why and what is involved."""


class TimeLimitError(PlanError):
    """A solve given a time limit stopped at it."""


@dataclass(frozen=True)
class Solution:
    status: str
    objective: float  # the parts added up
    col_value: FloatArray
    col_dual: FloatArray  # of the first stage
    row_dual: FloatArray  # of the first stage, for the model's rows
    solve_seconds: float
    iterations: int
    parts: dict[str, float] | None = None  # each part of the objective at the solution


class Solver:
    """One HiGHS instance holding one model, solved and re-solved."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.highs = quiet_highs()
        options = model.options
        self.method = method(options.solver, model.n_columns, model.network.n_periods)
        if self.method == "ipm-nox" and options.lexicographic:
            self.method = "ipm"  # the stages after the first go on from a basis: cross over
        if self.method == "simplex":
            self.highs.setOptionValue("solver", "simplex")
        elif self.method in ("ipm", "ipm-nox"):
            self.highs.setOptionValue("solver", "ipm")
            self.highs.setOptionValue("run_crossover", "on" if self.method == "ipm" else "off")
        elif self.method == "pdlp":
            self.highs.setOptionValue("solver", "pdlp")
        self.time_limit = options.time_limit  # of the whole solve (the options'), or None
        if options.time_limit is not None:
            self.highs.setOptionValue("time_limit", float(options.time_limit))
        self.highs.passModel(self._lp())
        self._costs: FloatArray | None = model.cost  # as passed
        self.stages = self._stages()
        self._stages_free = True  # added free
        self._sum_basis: highspy.HighsBasis | None = None
        self._iterations = 0  # simplex and interior point iterations of a solve's runs

    def _lp(self) -> highspy.HighsLp:
        model = self.model
        matrix = model.matrix
        assert matrix is not None
        lp = highspy.HighsLp()
        lp.num_col_ = model.n_columns
        lp.num_row_ = model.n_rows
        lp.col_cost_ = model.cost
        lp.col_lower_ = model.col_lower
        lp.col_upper_ = model.col_upper
        lp.row_lower_ = model.row_lower
        lp.row_upper_ = model.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data
        invest = model.columns.get("invest")
        if model.options.investments == "whole" and invest is not None and invest.size:
            kinds = [highspy.HighsVarType.kContinuous] * model.n_columns
            for k in range(invest.start, invest.stop):
                kinds[k] = highspy.HighsVarType.kInteger
            lp.integrality_ = kinds
        return lp

    def _stages(self) -> list[tuple[str, FloatArray, int]]:
        """The stages of a lexicographic solve after the first: the part's name and costs, and
        the row (added free, after the model's) that bounds the part before it once it is
        solved. Parts with no cost are left out."""
        model = self.model
        if not model.options.lexicographic:
            return []
        parts = [(name, model.objectives[name]) for name in STAGES]
        parts = [parts[0]] + [(name, c) for name, c in parts[1:] if np.any(c != 0.0)]
        stages = []
        for k in range(1, len(parts)):
            previous = parts[k - 1][1]
            columns = np.flatnonzero(previous).astype(np.int32)
            row = self.highs.getNumRow()
            self.highs.addRow(
                -np.inf, np.inf, columns.size, columns, previous[columns].astype(np.float64)
            )
            stages.append((parts[k][0], parts[k][1], row))
        return stages

    def _run_stages(self, time_limit: float | None, through: str) -> tuple[FloatArray, FloatArray]:
        """Minimise the parts in order up to `through`; returns the first stage's duals
        (columns, rows).

        The weighted sum of the parts is solved first (dual simplex, with presolve from
        scratch): its optimum is feasible for every stage and usually optimal for the first
        already, where shortfall alone is so degenerate that dual simplex takes longer on it.
        From there each stage is a primal simplex run from the basis the one before left."""
        highs = self.highs
        self._set_costs(self.model.cost)
        self._free_stage_bounds()
        self._run(time_limit)
        self._sum_basis = highs.getBasis()
        previous: FloatArray | None = None
        duals: tuple[FloatArray, FloatArray] | None = None
        first = (STAGES[0], self.model.objectives[STAGES[0]], -1)
        for name, costs, row in [first, *self.stages]:
            if highs.getModelStatus() not in SOLVED:
                break
            if STAGES.index(name) > STAGES.index(through):
                break
            if previous is not None:
                value = float(previous @ np.asarray(highs.getSolution().col_value))
                bound = value + STAGE_ABSOLUTE + STAGE_RELATIVE * abs(value)
                highs.changeRowsBounds(  # type: ignore[attr-defined]
                    1, np.array([row], np.int32), np.array([-np.inf]), np.array([bound])
                )
                self._stages_free = False
            self._set_costs(costs)
            self._run_primal(time_limit)
            duals = duals or self._duals()
            previous = costs
        return duals or self._duals()

    def _duals(self) -> tuple[FloatArray, FloatArray]:
        solution = self.highs.getSolution()
        return np.asarray(solution.col_dual), np.asarray(solution.row_dual)

    def _run_primal(self, time_limit: float | None) -> None:
        """A run by primal simplex, which goes on from a primal feasible basis (dual simplex,
        without presolve on a warm start, wanders)."""
        _, method = self.highs.getOptionValue("solver")  # interior point or PDLP solve afresh
        self.highs.setOptionValue("solver", "simplex")
        self.highs.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
        try:
            self._run(time_limit)
        finally:
            self.highs.setOptionValue("simplex_strategy", CHOOSE_SIMPLEX)
            self.highs.setOptionValue("solver", method)

    def solve(self, time_limit: float | None = None, *, through: str = STAGES[-1]) -> Solution:
        """Solve; with `time_limit` (seconds), raise TimeLimitError when it runs out. A
        lexicographic solve minimises the parts in order up to `through` (the parts after it
        are left as the weighted sum's optimum made them: the resilience sweep's figures are
        shortfall, and the cost stage takes most of a re-solve's time)."""
        if through not in STAGES:
            raise ValueError(f'unknown part "{through}": use one of {", ".join(STAGES)}')
        highs = self.highs
        start_time = highs.getRunTime()
        self._iterations = 0
        duals = self._solve_once(time_limit, through)
        status = highs.getModelStatus()
        text = highs.modelStatusToString(status)
        if status == highspy.HighsModelStatus.kTimeLimit:
            limit = time_limit if time_limit is not None else self.time_limit
            raise TimeLimitError(f"no optimal plan within {limit:g} s (raise time_limit)")
        if status not in SOLVED:
            raise PlanError(self._explain(text))
        solution = highs.getSolution()
        values = np.asarray(solution.col_value)
        parts = {name: float(c @ values) for name, c in self.model.objectives.items()}
        n_rows = self.model.n_rows
        solved = Solution(
            status=text,
            objective=sum(parts.values()),
            col_value=values,
            col_dual=duals[0] if duals is not None else np.asarray(solution.col_dual),
            row_dual=(duals[1] if duals is not None else np.asarray(solution.row_dual))[:n_rows],
            solve_seconds=float(highs.getRunTime() - start_time),
            iterations=self._iterations,
            parts=parts,
        )
        if self.model.options.lexicographic:
            # Leave the weighted sum as the objective, with no bound on the parts, and the
            # basis optimal for it: the next solve's first run (a re-solve after closures, or
            # a feasibility trial) starts from it as after a single solve. From the last
            # stage's basis, which is not dual feasible for the sum, dual simplex takes 50
            # times longer on the example's re-solves.
            self._set_costs(self.model.cost)
            self._free_stage_bounds()
            if self._sum_basis is not None:
                highs.setBasis(self._sum_basis)
        return solved

    def _solve_once(
        self, time_limit: float | None, through: str
    ) -> tuple[FloatArray, FloatArray] | None:
        """Run the solve (staged when lexicographic; a MIP first when investments are whole)
        and return the first stage's duals, or None when the last run's are the ones."""
        highs = self.highs
        staged = self.model.options.lexicographic
        invest = self.model.columns.get("invest")
        if self.model.options.investments == "whole" and invest is not None and invest.size:
            if staged:
                # The MIP chooses the options on shortfall and the tiny weight per euro of
                # investment (options removing nothing stay unmade); the LP stages follow.
                chosen_on = self.model.objectives[STAGES[0]].copy()
                chosen_on[invest.slice()] += self.model.objectives["cost"][invest.slice()]
                self._set_costs(chosen_on)
                self._free_stage_bounds()
            self._run(time_limit)
            if highs.getModelStatus() not in SOLVED:
                return None
            # A MIP has no duals: fix the whole investments chosen and solve the LP left.
            chosen = np.round(np.asarray(highs.getSolution().col_value)[invest.slice()])
            columns = np.arange(invest.start, invest.stop, dtype=np.int32)
            highs.changeColsIntegrality(
                columns.size,
                columns,
                np.array([highspy.HighsVarType.kContinuous] * columns.size),
            )
            highs.changeColsBounds(columns.size, columns, chosen, chosen)
            # The basis the MIP leaves makes a poor start (129,000 dual simplex iterations on
            # the example against 27,000 from scratch with presolve): start afresh.
            highs.clearSolver()
        if staged:
            return self._run_stages(time_limit, through)
        self._run(time_limit)
        return None

    def _set_costs(self, costs: FloatArray) -> None:
        """Make `costs` the objective, unless they already are: HiGHS drops what it keeps
        for a hot start on any change of costs, and re-solves after closures begin with the
        costs they ended with."""
        if self._costs is not None and np.array_equal(self._costs, costs):
            return
        self.highs.changeColsCost(costs.size, np.arange(costs.size, dtype=np.int32), costs)
        self._costs = costs

    def _free_stage_bounds(self) -> None:
        """Take off the bounds an earlier staged solve left on the parts."""
        if self._stages_free:
            return
        rows = np.array([row for _, _, row in self.stages], dtype=np.int32)
        if rows.size:
            free = np.full(rows.size, np.inf)
            self.highs.changeRowsBounds(rows.size, rows, -free, free)  # type: ignore[attr-defined]
        self._stages_free = True

    def feasible(self, time_limit: float | None = None) -> bool:
        """Whether the model as it stands has a solution (an LP's objective is bounded below
        here: every cost is nonnegative); with `time_limit`, raise TimeLimitError when it runs
        out. A staged solve leaves no bound on the parts, and the weighted sum of the parts as
        the objective: the plan found is the best by that sum among those allowed."""
        self._run(time_limit)
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kTimeLimit:
            limit = time_limit if time_limit is not None else self.time_limit
            raise TimeLimitError(f"no answer within {limit:g} s (raise time_limit)")
        if status in SOLVED:
            return True
        if status in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return False
        raise PlanError(self.highs.modelStatusToString(status))

    def column_values(self) -> FloatArray:
        """The values of the last solution found."""
        return np.asarray(self.highs.getSolution().col_value)

    def _run(self, time_limit: float | None) -> None:
        highs = self.highs
        if time_limit is not None:
            # HiGHS compares its limit with the time of every run of this instance together.
            highs.setOptionValue("time_limit", highs.getRunTime() + time_limit)
        try:
            highs.run()
        finally:
            if time_limit is not None:
                highs.setOptionValue("time_limit", float("inf"))
            info = highs.getInfo()
            self._iterations += int(info.simplex_iteration_count + info.ipm_iteration_count)

    def set_column_bounds(
        self, columns: npt.NDArray[np.int64], lower: FloatArray, upper: FloatArray
    ) -> None:
        self.highs.changeColsBounds(columns.size, columns.astype(np.int32), lower, upper)

    def basis(self) -> highspy.HighsBasis:
        """The current basis, to start later solves from (`set_basis`)."""
        return self.highs.getBasis()

    def set_basis(self, basis: highspy.HighsBasis) -> None:
        self.highs.setBasis(basis)

    def clear(self) -> None:
        """Forget the basis and solution: the next solve starts from scratch."""
        self.highs.clearSolver()

    def set_row_upper(self, rows: npt.NDArray[np.int64], upper: FloatArray) -> None:
        """Change row upper bounds in place. The next solve starts from the last basis; a
        model first solved by interior point without crossover has none, so re-solves switch
        to dual simplex, which profits from the basis it leaves."""
        if self.method == "ipm-nox":
            self.highs.setOptionValue("solver", "simplex")
            self.method = "simplex"
        if rows.size:
            lower = self.model.row_lower[rows]
            self.highs.changeRowsBounds(  # type: ignore[attr-defined]
                rows.size, rows.astype(np.int32), lower, upper
            )

    def _explain(self, status: str) -> str:
        message = f"HiGHS stopped with status '{status}'."
        if "nfeasible" not in status:
            return message
        involved = self._irreducible_rows()
        hint = (
            " Every demand has a shortfall slack, so this comes from fixed figures that "
            "contradict each other (stock or pledges arriving where storage cannot hold them "
            "and nothing can carry them away, or floors above storage)."
        )
        if involved:
            hint += " The constraints involved: " + "; ".join(involved[:12]) + "."
        return message + hint

    def _irreducible_rows(self) -> list[str]:
        """Names of the rows in HiGHS's irreducible infeasible subset, where it finds one."""
        try:
            # Only the strategy that works from the LP itself finds rows (HiGHS 1.15).
            self.highs.setOptionValue("presolve", "off")
            self.highs.setOptionValue("iis_strategy", 2)
            status, iis = self.highs.getIis()
        except (AttributeError, RuntimeError):  # older HiGHS without IIS
            return []
        if status != highspy.HighsStatus.kOk or not iis.valid_:
            return []
        return [describe_row(self.model, int(row)) for row in iis.row_index_]


def describe_row(model: Model, row: int) -> str:
    """A constraint row in a planner's words."""
    n = model.network
    for name, block in model.rows.items():
        if block.start <= row < block.stop:
            k = row - block.start
            if name == "lane":
                return (
                    f"capacity of lane {n.lanes.names[model.lane_row_lane[k]]} in period "
                    f"{model.lane_row_period[k]}"
                )
            if name == "storage":
                return (
                    f"storage at {n.sites.names[model.storage_row_site[k]]} in period "
                    f"{model.storage_row_period[k]}"
                )
            if name in ("site_out", "site_in"):
                sites = getattr(model, f"{name}_row_site")
                periods = getattr(model, f"{name}_row_period")
                return f"handling at {n.sites.names[sites[k]]} in period {periods[k]}"
            if name == "balance":
                pair, period = divmod(k, model.n_periods)
                site = model.inv_site[pair * model.n_periods]
                item = model.inv_item[pair * model.n_periods]
                return (
                    f"conservation of {n.items.names[item]} at {n.sites.names[site]} in "
                    f"period {period}"
                )
            return f"{name} row {k}"
    return f"row {row}"

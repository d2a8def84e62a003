"""Solving the planning LP with HiGHS (highspy), in bulk arrays; re-solving after a change of
bounds from the previous basis (the resilience engine closes a few lanes and re-solves)."""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from sustain.plan.model import Model

FloatArray = npt.NDArray[np.float64]

SOLVERS = ("auto", "choose", "simplex", "ipm", "ipm-nox", "pdlp")
# Measured on the benchmark ladder (docs/benchmarks.md): dual simplex is fastest on small
# models and gives a basis to warm-start re-solves from; interior point without crossover is
# several times faster on large ones.
AUTO_IPM_COLUMNS = 100_000


def method(solver: str, n_columns: int) -> str:
    """The HiGHS method `auto` stands for at this size; other names stand for themselves."""
    if solver != "auto":
        return solver
    return "ipm-nox" if n_columns >= AUTO_IPM_COLUMNS else "simplex"


class PlanError(RuntimeError):
    """The model could not be solved to optimality; the message says why and what is involved."""


class TimeLimitError(PlanError):
    """A solve given a time limit stopped at it."""


@dataclass(frozen=True)
class Solution:
    status: str
    objective: float
    col_value: FloatArray
    col_dual: FloatArray
    row_dual: FloatArray
    solve_seconds: float
    iterations: int


class Solver:
    """One HiGHS instance holding one model, solved and re-solved."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.highs = highspy.Highs()  # type: ignore[no-untyped-call]
        self.highs.setOptionValue("output_flag", False)
        options = model.options
        if options.solver not in SOLVERS:
            raise ValueError(f'unknown solver "{options.solver}": use one of {", ".join(SOLVERS)}')
        self.method = method(options.solver, model.n_columns)
        if self.method == "simplex":
            self.highs.setOptionValue("solver", "simplex")
        elif self.method in ("ipm", "ipm-nox"):
            self.highs.setOptionValue("solver", "ipm")
            self.highs.setOptionValue("run_crossover", "on" if self.method == "ipm" else "off")
        elif self.method == "pdlp":
            self.highs.setOptionValue("solver", "pdlp")
        if options.time_limit is not None:
            self.highs.setOptionValue("time_limit", float(options.time_limit))
        self.highs.passModel(self._lp())

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

    def solve(self, time_limit: float | None = None) -> Solution:
        """Solve; with `time_limit` (seconds), raise TimeLimitError when it runs out."""
        highs = self.highs
        self._run(time_limit)
        invest = self.model.columns.get("invest")
        if (
            self.model.options.investments == "whole"
            and invest is not None
            and invest.size
            and highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        ):
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
            highs.run()
        status = highs.getModelStatus()
        text = highs.modelStatusToString(status)
        if status == highspy.HighsModelStatus.kTimeLimit:
            raise TimeLimitError(f"no optimal plan within {time_limit} s")
        if status != highspy.HighsModelStatus.kOptimal:
            raise PlanError(self._explain(text))
        solution = highs.getSolution()
        info = highs.getInfo()
        return Solution(
            status=text,
            objective=float(info.objective_function_value),
            col_value=np.asarray(solution.col_value),
            col_dual=np.asarray(solution.col_dual),
            row_dual=np.asarray(solution.row_dual),
            solve_seconds=float(highs.getRunTime()),
            iterations=int(info.simplex_iteration_count + info.ipm_iteration_count),
        )

    def feasible(self, time_limit: float | None = None) -> bool:
        """Whether the model as it stands has a solution (an LP's objective is bounded below
        here: every cost is nonnegative); with `time_limit`, raise TimeLimitError when it runs
        out."""
        self._run(time_limit)
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kTimeLimit:
            raise TimeLimitError(f"no answer within {time_limit} s")
        if status == highspy.HighsModelStatus.kOptimal:
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

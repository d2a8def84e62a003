"""The planner: the delivery plan that minimises priority-weighted shortfall, then lateness,
then cost, solved with HiGHS; every plan is verified by an independent checker before it is
returned, and the duals rank the capacities that limit it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sustain.arrays import FloatArray, IntArray
from sustain.capacity import with_investments
from sustain.facts import open_share
from sustain.graph import reachable
from sustain.network import Network
from sustain.options import SOLVERS, Closure, PlanOptions
from sustain.orderbook import free_capacity
from sustain.plan import provenance
from sustain.plan.check import PlanCheckError, check_plan
from sustain.plan.model import STAGES, Model, build
from sustain.plan.results import FLEET_NAME, tables
from sustain.plan.size import ModelTooLargeError, check_fits
from sustain.plan.solve import PlanError, Solution, Solver, TimeLimitError
from sustain.units import counted

__all__ = [
    "SOLVERS",
    "Closure",
    "Model",
    "ModelTooLargeError",
    "Plan",
    "PlanCheckError",
    "PlanError",
    "PlanOptions",
    "Planner",
    "Solution",
    "TimeLimitError",
    "plan",
]


@dataclass(frozen=True)
class Plan:
    """A verified plan: tidy tables, the objective, and how long each step took."""

    network: Network
    options: PlanOptions
    objective: float  # the objective's parts added up
    tables: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    # Each part of the objective (shortfall, lateness, cost) at the plan, minimised in order.
    parts: dict[str, float] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables: dict[str, pd.DataFrame] = self.__dict__["tables"]
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def total_shortfall(self) -> float:
        return float(self.tables["shortfall"]["weighted_shortfall"].sum())

    def summary(self) -> pd.DataFrame:
        """Shortfall by formation and family over the horizon."""
        short = self.tables["shortfall"]
        grouped = short.groupby(["formation", "family", "unit"], as_index=False)[
            ["demand", "delivered", "shortfall", "weighted_shortfall"]
        ].sum()
        grouped["fill_rate"] = grouped["delivered"] / grouped["demand"]
        first_short = (
            short[short["shortfall"] > 1e-6]
            .groupby(["formation", "family"], as_index=False)
            .agg(first_short=("date", "min"))
        )
        grouped = grouped.merge(first_short, on=["formation", "family"], how="left")
        return grouped.sort_values("weighted_shortfall", ascending=False, ignore_index=True)

    def explanation(self) -> str:
        """One sentence on the largest shortfall and the binding limits upstream of it."""
        summary = self.summary()
        if summary.empty or summary["shortfall"].iloc[0] <= 1e-6:
            return "Every formation's demand is met in every period."
        top = summary.iloc[0]
        n = self.network
        formation = n.formations[str(top["formation"])]
        upstream = _upstream_sites(n, int(n.formation_site[formation]))
        limits = self.tables["bottlenecks"]
        family = str(top["family"])
        relevant = limits[[_touches(n, name, upstream, family) for name in limits["name"]]].head(3)
        causes = "; ".join(describe_bottleneck(row) for row in relevant.to_dict("records"))
        start = pd.Timestamp(top["first_short"]).date().isoformat()
        sentence = (
            f"{top['formation']} is short of {top['family']} by "
            f"{counted(float(top['shortfall']), str(top['unit']))} "
            f"({1 - top['fill_rate']:.0%} of its need) from {start} on"
        )
        if causes:
            return f"{sentence}; the binding limits upstream are: {causes}."
        return (
            f"{sentence}; no capacity upstream binds: no more of it can reach the formation in "
            "time (what is upstream is used, held at floors that do not bind, or too far away)."
        )


def bottleneck_gain(row: Mapping[Any, Any]) -> str:
    """What one more unit of a capacity removes, at least: '340 rounds of 155mm-NATO', '96
    system-days of systems out of action' (the dual's worth at the dearest unit's weight)."""
    if row["family"] == FLEET_NAME:
        return f"at least {counted(row['equivalent'], 'system-day')} of {FLEET_NAME}"
    if row["family"]:
        return f"at least {counted(row['equivalent'], row['family_unit'])} of {row['family']}"
    return f"{row['value_per_unit']:,.1f} of weighted shortfall"


def describe_bottleneck(row: Mapping[Any, Any]) -> str:
    """'rail lane przemysl-lviv (+1 t/day removes at least 340 rounds of 155mm-NATO
    shortfall)'."""
    gain = bottleneck_gain(row)
    if row["family"] and row["family"] != FLEET_NAME:
        gain = f"{gain} shortfall"
    return f"{row['name']} (+1 {row['unit']} removes {gain})"


def _upstream_sites(network: Network, site: int) -> set[int]:
    """Sites with a lane path to `site` (including itself)."""
    seed = np.zeros(len(network.sites), dtype=bool)
    seed[site] = True
    upstream = reachable(len(network.sites), network.lane_destination, network.lane_origin, seed)
    return set(np.flatnonzero(upstream[0]).tolist())


def _touches(network: Network, name: str, sites: set[int], family: str) -> bool:
    """Whether a bottleneck (by its display name) lies upstream of the given sites and, for a
    line or a stock floor, concerns an item of the family."""
    last = name.rsplit(" ", 1)[-1]
    if " lane " in f" {name}":
        return int(network.lane_destination[network.lanes[last]]) in sites
    if name.startswith("production line"):
        line = network.lines[last]
        item_family = network.families.names[network.item_family[network.line_item[line]]]
        return item_family == family and int(network.line_site[line]) in sites
    if name.startswith("stock floor"):
        site, item = last.split("/")
        item_family = network.families.names[network.item_family[network.items[item]]]
        return item_family == family and network.sites[site] in sites
    if name.startswith("repair hub"):
        return False
    return last in network.sites and network.sites[last] in sites


class Planner:
    """A built model and its HiGHS instance, for solving and re-solving with closures."""

    def __init__(
        self,
        network: Network,
        options: PlanOptions | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.network = network
        self.options = options or PlanOptions()
        self._progress = progress or (lambda _: None)
        if self.options.upside and not network.upside:
            raise ValueError(
                "upside asks for offered pledges, and this network was compiled without them "
                "(compile_network(scenario, upside=True))"
            )
        _check_storage(network)
        if self.options.order_books and len(network.orders):
            network = dataclasses.replace(network, line_capacity=free_capacity(network))
            self.network = network
        base_capacity = None
        self.without_investments: Network | None = None
        if self.options.investments != "none" and len(network.investments):
            self.without_investments = network
            # Plan on the network with every option made; the model decides which to make.
            base_capacity = np.concatenate(
                [
                    network.line_capacity,
                    np.zeros((network.n_periods, int((network.invest_line < 0).sum()))),
                ],
                axis=1,
            )
            network = with_investments(network, range(len(network.investments)))
            self.network = network
        self.estimated_size = check_fits(network, self.options)  # before anything that large
        self._progress("building the model")
        start = time.perf_counter()
        self.model: Model = build(network, self.options, base_capacity)
        self.build_seconds = time.perf_counter() - start
        self._progress("passing the model to HiGHS")
        start = time.perf_counter()
        self.solver = Solver(self.model)
        self.pass_seconds = time.perf_counter() - start

    def resolve(
        self,
        closures: tuple[Closure, ...] | None = None,
        *,
        time_limit: float | None = None,
        through: str = STAGES[-1],
    ) -> Solution:
        """Solve (again) and return HiGHS's solution only, without tables or the check;
        `closures` replace the options' closures, warm-starting from the current basis. With
        `time_limit` (seconds), raise TimeLimitError when it runs out. A lexicographic solve
        minimises the objective's parts in order up to `through` (model.STAGES)."""
        if closures is not None:
            share = open_share(self.network, closures)
            capacity = self.network.lane_capacity * share
            self.model.lane_capacity = capacity
            rows = self.model.rows["lane"].positions()
            upper = capacity[self.model.lane_row_period, self.model.lane_row_lane]
            self.model.row_upper[rows] = upper
            self.solver.set_row_upper(rows, upper)
            self.model.options = PlanOptions(**{**self.options.__dict__, "closures": closures})
        self._progress("solving with HiGHS")
        return self.solver.solve(time_limit, through=through)

    # The re-solve interface (the resilience sweep's): bounds changed in place, the basis kept
    # or dropped, feasibility asked; the model's index arrays say what each column is.

    def bound_columns(self, columns: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        """Change the bounds of some columns in place (the model's bounds stay the built
        ones: pass them back to undo)."""
        self.solver.set_column_bounds(columns, lower, upper)

    def basis(self) -> Any:
        """The current basis, to start later solves from (`start_from`)."""
        return self.solver.basis()

    def start_from(self, basis: Any) -> None:
        """Start the next solve from `basis` (from `basis()` of this planner)."""
        self.solver.set_basis(basis)

    def start_afresh(self) -> None:
        """Forget the basis and solution: the next solve starts from scratch."""
        self.solver.clear()

    def feasible(self, time_limit: float | None = None) -> bool:
        """Whether the model as it now stands has a solution (see Solver.feasible); with
        `time_limit`, raise TimeLimitError when it runs out."""
        return self.solver.feasible(time_limit=time_limit)

    def column_values(self) -> FloatArray:
        """The columns' values in the last solution found."""
        return self.solver.column_values()

    def check(self, solution: Solution, closures: tuple[Closure, ...]) -> None:
        """Verify a solution with the independent checker (raises PlanCheckError)."""
        check_plan(self.network, tables(self.model, solution), closures, lags=self.options.lags)

    def solve(self, closures: tuple[Closure, ...] | None = None) -> Plan:
        """Solve (again); `closures` replace the options' closures, warm-starting from the
        previous basis."""
        solution = self.resolve(closures)
        options = self.model.options
        start = time.perf_counter()
        result = tables(self.model, solution)
        result.update(provenance.tables(self.model, solution.col_value))
        tables_seconds = time.perf_counter() - start
        check_seconds = 0.0
        if options.check:
            self._progress("checking the plan")
            start = time.perf_counter()
            check_plan(
                self.network, result, options.closures, self.without_investments, options.lags
            )
            check_seconds = time.perf_counter() - start
        return Plan(
            network=self.network,
            options=options,
            objective=solution.objective,
            parts=dict(solution.parts or {}),
            tables=result,
            timings={
                "build_s": self.build_seconds,
                "pass_s": self.pass_seconds,
                "solve_s": solution.solve_seconds,
                "tables_s": tables_seconds,
                "check_s": check_seconds,
            },
            size={
                "columns": self.model.n_columns,
                "rows": self.model.n_rows,
                "nonzeros": int(self.model.matrix.nnz) if self.model.matrix is not None else 0,
                "iterations": solution.iterations,
            },
        )


def plan(
    network: Network,
    options: PlanOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """The optimal, independently checked delivery plan for a Network."""
    return Planner(network, options, progress).solve()


def _check_storage(network: Network) -> None:
    """Initial stock heavier than a site's storage makes the model infeasible: say where."""
    mass = np.zeros(len(network.sites))
    np.add.at(
        mass, network.stock_site, network.stock_quantity * network.item_mass[network.stock_item]
    )
    over = np.flatnonzero(mass > network.site_storage * (1 + 1e-9))
    if over.size:
        listed = ", ".join(
            f"{network.sites.names[s]} holds {mass[s]:,.1f} t against storage of "
            f"{network.site_storage[s]:,.1f} t"
            for s in over
        )
        raise PlanError(f"initial stock exceeds storage: {listed}")

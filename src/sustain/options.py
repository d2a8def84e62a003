"""What each engine can be asked: its options and their vocabularies.

Light to import (no solver, no compiled kernel, no pandas): the command line reads the
defaults and the allowed words before any engine is loaded, and the service layer and the API
check a request against them before any work starts. The engines import their options from
here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sustain.ranges import CENTURY_DAYS, check_range, check_word
from sustain.timegrid import LAGS

# Options read from JSON (the API's requests) refuse a field they do not have (pydantic reads
# this as the dataclass's config; a plain dict keeps this module free of pydantic's import).
STRICT: Any = {"extra": "forbid"}

# The planner (sustain.plan).


@dataclass(frozen=True)
class Closure:
    """An asset (or a single lane) out of action from `start_day` up to, not including,
    `end_day`, counted in days from the scenario start."""

    __pydantic_config__ = STRICT

    start_day: float
    end_day: float
    asset: str | None = None
    lane: str | None = None


SOLVERS = ("auto", "choose", "simplex", "ipm", "ipm-nox", "pdlp")  # HiGHS methods (solve.py)

INVESTMENT_MODES = ("none", "relax", "whole")

ALLOCATIONS = ("priority", "fair")


@dataclass(frozen=True)
class PlanOptions:
    """Weights of the objective and how to solve. The objective has three parts, minimised in
    order (`lexicographic`): what the force lacks (priority-weighted shortfall and systems out
    of action), then lateness (the same shortfall weighted towards the first periods), then
    cost. Each later part is minimised only among the plans optimal for the ones before, so no
    cost, however large, turns into shortfall. `lexicographic=False` minimises their weighted
    sum in one solve instead (keep the weights in that order of size then)."""

    __pydantic_config__ = STRICT

    shortfall_weight: float = 1.0
    lateness_weight: float = 0.1  # shortfall in the first period costs 10% more than in the last
    # Per system out of action (not in repair) per day, times the type's value (fleet.py).
    repair_weight: float = 1.0
    cost_weight: float = 1e-6  # per euro of transport
    lexicographic: bool = True
    # How a lag (transit, repair) that is not whole periods arrives (timegrid.LAGS): "late",
    # all in the first period by whose start all of it has come; "split", shared by the
    # periods it falls in; "mean", all in the period of its mean arrival. Only "late" plans
    # are sure to run as planned day by day (timegrid).
    lags: str = "late"
    # How shortfall is shared when not every formation can be served (ALLOCATIONS):
    # "priority", each unit short weighs priority x criticality whatever its formation already
    # lacks (the higher priority is served first, strictly); "fair", the same weight times 1 to
    # FAIR_STEPS as the formation's share short in the period grows, so fill rates move
    # together, tilted by priority.
    allocation: str = "priority"
    solver: str = "auto"  # auto, choose, simplex, ipm, ipm-nox, pdlp (see solve.method)
    closures: tuple[Closure, ...] = ()
    time_limit: float | None = None
    check: bool = True
    # Investment options as decisions: "none" (ignored), "relax" (any share of each, an LP),
    # "whole" (each made or not, a MIP); within `budget_eur` if given. A tiny weight per euro
    # keeps options that remove no shortfall unmade.
    order_books: bool = True  # production first serves other customers' orders (FIFO)
    investments: str = "none"
    budget_eur: float | None = None
    investment_weight: float = 1e-9
    upside: bool = False  # count offered pledges too (read when the network is compiled)

    def __post_init__(self) -> None:
        check_range("shortfall_weight", self.shortfall_weight, above=0)
        for name in ("lateness_weight", "repair_weight", "cost_weight", "investment_weight"):
            check_range(name, getattr(self, name), least=0)
        check_range("budget_eur", self.budget_eur, least=0, optional=True)
        check_range("time_limit", self.time_limit, above=0, optional=True)
        check_word("solver", self.solver, SOLVERS)
        check_word("lags", self.lags, LAGS)
        check_word("allocation", self.allocation, ALLOCATIONS)
        check_word("investments mode", self.investments, INVESTMENT_MODES)


# The simulator (sustain.simulate).

POLICIES = ("base-stock", "s-S", "plan")
POSITIONS = ("installation", "echelon")


@dataclass(frozen=True)
class SimulationOptions:
    """How to run: what moves (a replenishment policy, or a plan), the policy's levels, the
    costs counted, and whether unmet demand is lost (the default: a round not fired today is
    not fired tomorrow) or backordered."""

    __pydantic_config__ = STRICT

    policy: str = "base-stock"  # base-stock, s-S, or plan (needs a plan)
    cover_days: float = 14.0  # order-up-to level: days of the demand a site serves, + lead time
    # The scenario's policies table sets the levels of the pairs it names (else days of cover
    # everywhere, as when comparing a choice of levels with the rule).
    scenario_levels: bool = True
    reorder_days: float = 7.0  # (s, S): reorder when the position falls to this many days
    backorders: bool = False
    # What a level is compared with: the site's installation position (on hand + in transit +
    # owed to it - owed by it), or its echelon position (that and the positions of every site
    # it supplies: the stock of its whole echelon, less what is owed to its formations).
    position: str = "installation"
    holding_cost: float = 0.0  # EUR per t per day held
    ordering_cost: float = 0.0  # EUR per order placed
    # EUR per family unit lost (lost sales) or per unit and day waited (backorders): the
    # run's rate, or a family's own in `family_shortage_costs` ((family, EUR), ...).
    shortage_cost: float = 0.0
    family_shortage_costs: tuple[tuple[str, float], ...] = ()
    closures: tuple[Closure, ...] = ()  # scripted disruptions, on top of random outages
    # Tell each nation's goods apart (a stock's owner, a pledge's donor, a line's nation),
    # mixed in proportion wherever they meet: what each delivered to whom.
    by_nation: bool = True
    upside: bool = False  # count offered pledges too (read when the network is compiled)

    def __post_init__(self) -> None:
        check_word("policy", self.policy, POLICIES)
        check_word("position", self.position, POSITIONS)
        # Levels beyond a century of demand are a typing error, not a policy.
        for name in ("cover_days", "reorder_days"):
            check_range(name, getattr(self, name), least=0, most=CENTURY_DAYS)
        for name in ("holding_cost", "ordering_cost", "shortage_cost"):
            check_range(name, getattr(self, name), least=0)
        for family, cost in self.family_shortage_costs:
            check_range(f"the shortage cost of {family}", cost, least=0)


# The simulator's sources of uncertainty (sustain.simulate.uncertainty).

NOISE_SHAPES = ("lognormal", "normal")  # of the daily demand factor


@dataclass(frozen=True)
class Uncertainty:
    """Each source of uncertainty, switchable. All off gives the expected-value war."""

    __pydantic_config__ = STRICT

    # Demand: a daily factor of mean 1 around each formation's intensity schedule (lognormal,
    # or normal cut at 0), surges (a formation's demand multiplied by `surge_factor` for
    # `surge_days`) starting at random, and Poisson counts around the result.
    demand_noise: float = 0.0  # standard deviation of the factor (of its log if lognormal)
    demand_distribution: str = "lognormal"  # of the factor: lognormal or normal
    surge_probability: float = 0.0  # per formation per day
    surge_factor: float = 2.0
    surge_days: int = 7
    poisson_demand: bool = False  # integer Poisson demand around the (noisy) mean
    # Outages: each asset fails with this probability a day and is out for an exponentially
    # distributed time with mean the asset's recovery time.
    asset_failure_probability: float = 0.0
    # Transit: each day's departures on a lane take a transit time drawn from a gamma
    # distribution with the lane's mean and this coefficient of variation, rounded to days.
    transit_cv: float = 0.0
    # Production: a daily yield factor (beta around `yield_mean`) and slips (a line producing
    # nothing for `slip_days` after a slip starting with `slip_probability` a day).
    yield_mean: float = 1.0
    yield_cv: float = 0.0
    slip_probability: float = 0.0
    slip_days: int = 30
    # Failures of systems: Poisson counts around the expected breakdowns and combat damage.
    random_failures: bool = False

    def __post_init__(self) -> None:
        check_word("demand distribution", self.demand_distribution, NOISE_SHAPES)
        # A factor's spread beyond these is no longer noise around the schedule.
        check_range("demand_noise", self.demand_noise, least=0, most=10)
        check_range("transit_cv", self.transit_cv, least=0, most=10)
        for name in ("surge_probability", "asset_failure_probability", "slip_probability"):
            check_range(name, getattr(self, name), least=0, most=1)
        check_range("surge_factor", self.surge_factor, least=0, most=1e6)
        check_range("yield_mean", self.yield_mean, above=0, most=1)
        check_range("yield_cv", self.yield_cv, least=0, most=0.99)
        for name in ("surge_days", "slip_days"):
            check_range(name, getattr(self, name), least=1, most=CENTURY_DAYS)


# What `sustain simulate` and `simulate()` run when not told otherwise: the theatre's usual
# frictions (a fifth of demand as daily noise, surges, outages of assets, variable transit
# and yield, slips of lines, random failures of systems). "expected-value" switches every
# source off: the war of the expected figures, the plan's question.
PRESETS: dict[str, Uncertainty] = {
    "theatre": Uncertainty(
        demand_noise=0.2,
        surge_probability=0.01,
        asset_failure_probability=0.002,
        transit_cv=0.2,
        yield_mean=0.9,
        yield_cv=0.1,
        slip_probability=0.0005,
        random_failures=True,
    ),
    "expected-value": Uncertainty(),
}
DEFAULT_PRESET = "theatre"


# Demand as a user names it: the daily factor's shape, or Poisson counts (around the mean
# the factor gives).
DEMANDS = (*NOISE_SHAPES, "poisson")


def preset(name: str, demand: str | None = None, **changes: Any) -> Uncertainty:
    """A named preset, with some of its figures changed, and its demand named as in DEMANDS.
    A yield variation given without a mean yield takes the mean 1 - cv, as the presets do
    (a line loses on average what its yield varies: it cannot make more than its rate)."""
    if name not in PRESETS:
        raise ValueError(f'unknown uncertainty preset "{name}": use one of {", ".join(PRESETS)}')
    if demand is not None:
        if demand not in DEMANDS:
            raise ValueError(f'unknown demand "{demand}": use one of {", ".join(DEMANDS)}')
        changes["poisson_demand"] = demand == "poisson"
        if demand != "poisson":
            changes["demand_distribution"] = demand
    if "yield_cv" in changes and "yield_mean" not in changes:
        changes["yield_mean"] = 1.0 - changes["yield_cv"]
    return replace(PRESETS[name], **changes)


# The choice of base-stock levels (sustain.simulate.optimise).

OBJECTIVES = ("cost", "fill-rate")
METHODS = ("auto", "exact", "search")


@dataclass(frozen=True)
class SearchOptions:
    __pydantic_config__ = STRICT

    objective: str = "cost"  # cost, or fill-rate: the least stock meeting the target
    method: str = "auto"  # auto (exact where it holds, else search), exact, or search
    target_fill_rate: float = 0.95  # every (formation, family), under fill-rate
    confidence: float = 0.9  # that the fill rate is at least the target (one-sided)
    replications: int = 32  # common random numbers of every candidate
    evaluation_replications: int = 200  # fresh ones, to report the result
    seed: int = 0  # of the search; the evaluation uses seed + 1
    steps_days: tuple[float, ...] = (16.0, 8.0, 4.0, 2.0, 1.0, 0.5)  # of a pair's demand
    # A move is taken only if it gains at least this share of the run's cost (or, under
    # fill-rate, of its stock): gains smaller than that are not worth a planner's change.
    tolerance: float = 1e-4
    max_evaluations: int = 5000

    def __post_init__(self) -> None:
        check_word("objective", self.objective, OBJECTIVES)
        check_word("method", self.method, METHODS)
        check_range("target_fill_rate", self.target_fill_rate, least=0, most=1)
        check_range("confidence", self.confidence, least=0.5, most=0.999)
        for name in ("replications", "evaluation_replications"):
            check_range(name, getattr(self, name), least=2)
        check_range("max_evaluations", self.max_evaluations, least=1)
        check_range("tolerance", self.tolerance, least=0, most=1)
        for step in self.steps_days:
            check_range("a step of the search", step, above=0, most=CENTURY_DAYS)


# The knock-out sweep (sustain.resilience).


@dataclass(frozen=True)
class ResilienceOptions:
    __pydantic_config__ = STRICT

    k: int = 1  # 1: every asset alone; 2: also every pair
    loss_day: float = 0.0  # days from the scenario start
    assets: tuple[str, ...] | None = None  # the assets to knock out; all by default
    screen: bool = True  # settle cases the base plan avoids without re-solving them
    warm_start: bool = True  # start re-solves from the base plan's basis, not from scratch
    check: bool = False  # verify every re-solved plan with the independent checker
    mitigate: bool = True  # try the scenario's mitigation options on the vulnerabilities
    plan_options: PlanOptions = field(default_factory=lambda: PlanOptions(check=False))
    cases_per_task: int = 8

    def __post_init__(self) -> None:
        check_word("k", str(self.k), ("1", "2"))
        check_range("loss_day", self.loss_day, least=0, most=CENTURY_DAYS)
        check_range("cases_per_task", self.cases_per_task, least=1)

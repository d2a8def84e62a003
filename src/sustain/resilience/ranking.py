"""The knock-out cases of one run: each settled by a plan that already avoids it or re-solved
on the executor, then ranked by the shortfall it adds (pairs that add nothing beyond one of
their assets last)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sustain.arrays import IntArray, ObjectArray
from sustain.execute import run_tasks
from sustain.network import ASSET_KINDS, Network
from sustain.options import ResilienceOptions
from sustain.resilience.cases import (
    LOST,
    MODES,
    RECOVERY,
    asset_sets,
    avoided,
    closed_through,
    free_until,
    lanes_of_assets,
)
from sustain.resilience.sweep import Outcome, SweepInput, base_outcome, solve_cases, worker

# Called as work is done: what is being done, how much of it is done, and how much there is.
Progress = Callable[[str, int, int], None]


CASE_COLUMNS = [
    "case",
    "assets",
    "kinds",
    "time_to_recover_days",
    "time_to_survive_days",
    "survives_horizon",
    "vulnerable",
    "gap_days",
    "weighted_shortfall_added",
    "first_hit_date",
    "first_hit",
    "settled_by",
]


@dataclass(frozen=True)
class Swept:
    table: pd.DataFrame  # ranked
    base_weighted_shortfall: float
    solves: int
    base_seconds: float
    interrupted: bool = False


def ranked_cases(
    n: Network,
    options: ResilienceOptions,
    *,
    executor: str,
    workers: int | None,
    address: str | None,
    progress: Progress | None,
) -> Swept:
    """Every case of the options on the network, solved or settled, ranked."""
    chosen = None
    if options.assets is not None:
        chosen = n.assets.positions(list(options.assets)).astype(np.int64)
    started = time.perf_counter()
    shared = SweepInput(
        network=n,
        plan_options=options.plan_options,
        loss_day=float(options.loss_day),
        check=options.check,
        warm_start=options.warm_start,
        token=uuid.uuid4().hex,
    )
    base = base_outcome(shared)  # this process's planner also serves the serial executor
    base_seconds = time.perf_counter() - started
    singles = asset_sets(len(n.assets), 1, chosen)
    sweep = _Sweep(shared, base, options, executor, workers, address, progress)
    single_outcomes = sweep.run(singles, [])
    groups = [(singles, single_outcomes)]
    if options.k == 2:
        pairs = asset_sets(len(n.assets), 2, chosen)
        groups.append((pairs, sweep.run(pairs, [(singles, single_outcomes)])))
    frames = [sweep.table(cases, outcomes) for cases, outcomes in groups]
    if len(frames) == 2:
        frames[1] = _against_singles(frames[1], frames[0], sweep.tolerance)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    table["same_as"] = table["same_as"].fillna("") if "same_as" in table else ""
    # Pairs that add nothing beyond one of their assets come after the ranked cases, unranked,
    # and the cases an interruption left unrun after them.
    same = table["same_as"] != ""
    table["_group"] = np.where(same, 1, np.where(table["weighted_shortfall_added"].isna(), 2, 0))
    table = table.sort_values(
        ["_group", "weighted_shortfall_added", "gap_days"],
        ascending=[True, False, False],
        ignore_index=True,
    ).drop(columns="_group")
    ranked = (table["same_as"] == "") & table["weighted_shortfall_added"].notna()
    rank = np.full(len(table), np.nan)
    rank[ranked.to_numpy()] = np.arange(1, int(ranked.sum()) + 1)
    table.insert(0, "rank", pd.Series(rank, dtype="Int64"))
    return Swept(
        table=table,
        base_weighted_shortfall=float(base.short @ sweep.weight),
        solves=sweep.solves,
        base_seconds=base_seconds,
        interrupted=sweep.interrupted,
    )


def _against_singles(pairs: pd.DataFrame, singles: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """A pair that adds no shortfall beyond the worse of its two assets alone, and survives as
    long, is that asset's case again: marked `same_as` it, with its figures (its recovery time,
    not the pair's longer one), and never a vulnerability of its own."""
    pairs = pairs.copy()
    if pairs.empty:
        pairs["same_as"] = pd.Series(dtype=object)
        return pairs
    single = singles.set_index("case")
    first, second = zip(*(case.split(" + ") for case in pairs["case"]), strict=True)
    added = pairs["weighted_shortfall_added"].to_numpy()
    a_added = single.loc[list(first), "weighted_shortfall_added"].to_numpy()
    b_added = single.loc[list(second), "weighted_shortfall_added"].to_numpy()
    worse = np.where(a_added >= b_added, np.array(first), np.array(second))
    worse_rows = single.loc[list(worse)]
    same = (added <= worse_rows["weighted_shortfall_added"].to_numpy() + tolerance) & (
        pairs["time_to_survive_days"].to_numpy() >= worse_rows["time_to_survive_days"].to_numpy()
    )
    pairs["same_as"] = np.where(same, worse, "")
    for column in ("time_to_recover_days", "gap_days", "vulnerable"):
        pairs[column] = pairs[column].where(~same, worse_rows[column].to_numpy())
    pairs["vulnerable"] = pairs["vulnerable"].astype(bool) & ~same
    return pairs


class _Sweep:
    """Settles or solves the cases of one size, both modes."""

    def __init__(
        self,
        shared: SweepInput,
        base: Outcome,
        options: ResilienceOptions,
        executor: str,
        workers: int | None,
        address: str | None,
        progress: Progress | None,
    ) -> None:
        self.shared = shared
        self.base = base
        self.options = options
        self.executor, self.workers, self.address = executor, workers, address
        self.progress = progress
        self.solves = 0
        self.interrupted = False  # a Ctrl-C stopped the re-planning
        self.by_member: set[tuple[int, int, int]] = set()  # (k, mode, row) settled so
        model = worker(shared).planner.model
        self.model = model
        n = shared.network
        self.by_asset = lanes_of_assets(n)
        self.through = [closed_through(n, shared.loss_day, mode) for mode in (RECOVERY, LOST)]
        self.weight = model.short_weight
        demand = n.demand[model.short_period, model.short_formation, model.short_family]
        self.tolerance = 1e-7 * max(1.0, float(demand @ model.short_weight))
        self.unit_tolerance = worker(shared).short_slack

    def run(
        self, cases: IntArray, smaller: list[tuple[IntArray, list[dict[int, Outcome]]]]
    ) -> list[dict[int, Outcome]]:
        """For each mode, each case's outcome: settled by the base plan or by the plan of a
        case it contains (a single asset of a pair), or re-solved."""
        outcomes: list[dict[int, Outcome]] = []
        base_free = self._free(self.base)
        for mode in (RECOVERY, LOST):
            found: dict[int, Outcome] = {}
            if self.options.screen:
                for row in np.flatnonzero(avoided(cases, base_free, self.through[mode])):
                    found[int(row)] = self.base
                for members, member_outcomes in smaller:
                    self._settle_by_members(cases, members, member_outcomes[mode], mode, found)
            outcomes.append(found)
        # Both modes of a case are queued together, so that a Ctrl-C leaves few cases half run
        # (tasks finish out of order; a half-run case is reported unrun).
        todo = [
            (row, mode)
            for row in range(len(cases))
            for mode in (RECOVERY, LOST)
            if row not in outcomes[mode]
        ]
        for (case_row, case_mode), outcome in self._solve(cases, todo).items():
            outcomes[case_mode][case_row] = outcome
        return outcomes

    def _settle_by_members(
        self,
        cases: IntArray,
        members: IntArray,
        member_outcomes: dict[int, Outcome],
        mode: int,
        found: dict[int, Outcome],
    ) -> None:
        """A pair whose one asset's own plan avoids the other asset's closure has that plan."""
        through = self.through[mode]
        row_of_asset = {int(a): k for k, a in enumerate(members[:, 0])}
        free: dict[int, IntArray] = {}
        for row, (a, b) in enumerate(cases.tolist()):
            if row in found:
                continue
            for one, other in ((a, b), (b, a)):
                k = row_of_asset.get(one)
                if k is None or k not in member_outcomes:  # not an asset, or left unrun
                    continue
                outcome = member_outcomes[k]
                if k not in free:
                    free[k] = self._free(outcome)
                # Lost for good, the plan of one asset is a witness of the pair's survival only
                # when it holds out to the end; otherwise the pair's may end sooner.
                holds = mode == RECOVERY or outcome.survive_period >= self.model.n_periods
                if holds and free[k][other] >= through[other]:
                    found[row] = outcome
                    self.by_member.add((cases.shape[1], mode, row))
                    break

    def _free(self, outcome: Outcome) -> IntArray:
        return free_until(self.by_asset, outcome.first_use, self.model.n_periods)

    def _solve(
        self, cases: IntArray, todo: list[tuple[int, int]]
    ) -> dict[tuple[int, int], Outcome]:
        """The outcomes of (row, mode) pairs, re-solved; those a Ctrl-C stopped are left out."""
        size = self.options.cases_per_task
        tasks = [
            [(cases[row].tolist(), mode) for row, mode in todo[k : k + size]]
            for k in range(0, len(todo), size)
        ]
        rows = todo
        found: dict[tuple[int, int], Outcome] = {}
        if self.interrupted:
            return found
        done = 0
        try:
            for number, outcomes in run_tasks(
                solve_cases,
                self.shared,
                tasks,
                executor=self.executor,
                workers=self.workers,
                address=self.address,
            ):
                for offset, outcome in enumerate(outcomes):
                    found[rows[number * size + offset]] = outcome
                done += len(outcomes)
                self.solves += len(outcomes)
                if self.progress is not None:
                    self.progress("re-planning knock-out cases", done, len(rows))
        except KeyboardInterrupt:  # keep the cases re-planned; the rest are reported unrun
            self.interrupted = True
        return found

    def table(self, cases: IntArray, outcomes: list[dict[int, Outcome]]) -> pd.DataFrame:
        n = self.shared.network
        loss_day = self.shared.loss_day
        period_start = n.period_edges
        names = np.asarray(n.assets.names, dtype=object)
        kinds = np.asarray(ASSET_KINDS, dtype=object)[n.asset_kind]
        recover = n.asset_recovery_days
        rows = []
        for row, assets in enumerate(cases.tolist()):
            if row not in outcomes[RECOVERY] or row not in outcomes[LOST]:
                rows.append(self._unrun(assets, names, kinds))
                continue
            hit = outcomes[RECOVERY][row]
            lost = outcomes[LOST][row]
            added = float((hit.short - self.base.short) @ self.weight)
            first = self._first_excess(hit) if added > self.tolerance else None
            survives = lost.survive_period >= n.n_periods
            survive = (
                float(n.n_days - loss_day)
                if survives
                else max(0.0, float(period_start[lost.survive_period]) - loss_day)
            )
            recovery = float(recover[assets].max())
            rows.append(
                {
                    "case": " + ".join(names[assets]),
                    "assets": len(assets),
                    "kinds": ", ".join(kinds[assets]),
                    "time_to_recover_days": recovery,
                    "time_to_survive_days": survive,
                    "survives_horizon": survives,
                    # A loss the network outlasts adds nothing while the asset is out; the
                    # re-plan for a loss for good may still ration from the start.
                    "vulnerable": added > self.tolerance and recovery > survive,
                    "gap_days": recovery - survive,
                    # Solver noise is no shortfall: it would rank cases that add none.
                    "weighted_shortfall_added": added if added > self.tolerance else 0.0,
                    "first_hit_date": (n.period_start[first] if first is not None else pd.NaT),
                    "first_hit": self._hit_pairs(hit, first),
                    "settled_by": self._how(len(assets), row, hit, lost),
                }
            )
        return pd.DataFrame(rows, columns=CASE_COLUMNS)  # the columns even with no asset

    def _unrun(self, assets: list[int], names: ObjectArray, kinds: ObjectArray) -> dict[str, Any]:
        """A case a Ctrl-C left unsolved: named, its figures missing, never ranked."""
        return {
            "case": " + ".join(names[assets]),
            "assets": len(assets),
            "kinds": ", ".join(kinds[assets]),
            "time_to_recover_days": float(self.shared.network.asset_recovery_days[assets].max()),
            "time_to_survive_days": np.nan,
            "survives_horizon": pd.NA,
            "vulnerable": False,
            "gap_days": np.nan,
            "weighted_shortfall_added": np.nan,
            "first_hit_date": pd.NaT,
            "first_hit": "",
            "settled_by": "not run (interrupted)",
        }

    def _first_excess(self, outcome: Outcome) -> int | None:
        """The first period in which some formation and family is shorter than in the base
        plan (the loss's period on)."""
        period = worker(self.shared).kept_until(outcome.short)
        return period if period < self.model.n_periods else None

    def _hit_pairs(self, outcome: Outcome, period: int | None) -> str:
        """Formations and families short of the base plan by that period, most first."""
        if period is None:
            return ""
        model = self.model
        n = self.shared.network
        upto = model.short_period <= period
        key = model.short_formation * len(n.families) + model.short_family
        extra = np.bincount(
            key[upto], (outcome.short - self.base.short)[upto], len(n.formations) * len(n.families)
        )
        worst = np.argsort(-extra, kind="stable")
        worst = worst[extra[worst] > self.unit_tolerance][:3]
        return ", ".join(
            f"{n.formations.names[k // len(n.families)]}/{n.families.names[k % len(n.families)]}"
            for k in worst
        )

    def _how(self, k: int, row: int, hit: Outcome, lost: Outcome) -> str:
        parts = []
        for mode, outcome in enumerate((hit, lost)):
            if outcome is self.base:
                how = "base plan"
            elif (k, mode, row) in self.by_member:
                how = "one asset's plan"
            else:
                how = "solved"
            parts.append(f"{MODES[mode]}: {how}")
        return "; ".join(parts)

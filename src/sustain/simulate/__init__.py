"""The simulator: Monte Carlo of sustainment under uncertainty, many replications at once.

`simulate(network, replications=..., seed=...)` runs batches of replications through the daily
kernel (sustain.simulate.kernel) on the chosen executor and returns a Simulation of tidy tables.
Each replication draws from its own seed sequence, so the results are the same for a seed
whatever the executor, the number of workers and the batch size.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sustain.execute import default_workers, run_tasks
from sustain.network import Network
from sustain.options import (
    DEFAULT_PRESET,
    POLICIES,
    PRESETS,
    SimulationOptions,
    Uncertainty,
    preset,
)
from sustain.orderbook import free_capacity
from sustain.simulate.kernel import BatchResult, run_batch
from sustain.simulate.series import Series, stock_days, stock_every
from sustain.simulate.setup import Setup, prepare
from sustain.simulate.uncertainty import draw

__all__ = [
    "DEFAULT_PRESET",
    "POLICIES",
    "PRESETS",
    "Simulation",
    "SimulationOptions",
    "Uncertainty",
    "preset",
    "simulate",
]

PERCENTILES = (5, 50, 95)
# Batches hold a multiple of 16 replications: the kernel's loops over a block of replications
# run as vector instructions only when they run at least 16 times.
BATCH_MULTIPLE = 16


@dataclass(frozen=True)
class Simulation:
    """The merged results of the replications that finished, in replication order."""

    network: Network
    options: SimulationOptions
    uncertainty: Uncertainty
    seed: int
    replications: int  # asked for
    batches: list[BatchResult] = field(repr=False)
    series: Series = field(repr=False)  # a row per replication asked for
    setup: Setup = field(repr=False)
    stock_every: int = 1  # stock on hand recorded every this many days
    interrupted: bool = False

    def _merged(self, name: str) -> npt.NDArray[Any]:
        numbers = np.concatenate([b.replications for b in self.batches])
        if name in Series.names():
            rows = self.series[name]
            return rows if numbers.size == rows.shape[0] else rows[np.sort(numbers)]
        return np.concatenate([getattr(b, name) for b in self.batches])[np.argsort(numbers)]

    @property
    def finished(self) -> int:
        return sum(b.replications.size for b in self.batches)

    @property
    def weighted_shortfall(self) -> npt.NDArray[np.float64]:
        return self._merged("weighted_shortfall")

    def _pairs(self) -> tuple[list[str], list[str]]:
        n = self.network
        return (
            n.formations.take(self.setup.pair_formation),
            n.families.take(self.setup.pair_family),
        )

    def stockout(self) -> pd.DataFrame:
        """Per formation, family and day: the probability it has run short by that day."""
        first = self._merged("first_short")  # (R, pairs)
        days = self.setup.n_days
        counts = np.zeros((days + 1, first.shape[1]))
        np.add.at(counts, (first, np.arange(first.shape[1])[None, :]), 1.0)
        by_day = np.cumsum(counts[:days], axis=0) / max(first.shape[0], 1)  # (days, pairs)
        formations, families = self._pairs()
        day, pair = np.divmod(np.arange(by_day.size), by_day.shape[1])
        return pd.DataFrame(
            {
                "formation": np.asarray(formations, dtype=object)[pair],
                "family": np.asarray(families, dtype=object)[pair],
                "day": day,
                "date": self.network.start + day.astype("timedelta64[D]"),
                "probability_short_by": by_day.ravel(),
            }
        )

    def days_of_supply(self) -> pd.DataFrame:
        """Per formation, family and day: percentiles of the days of supply at its site."""
        dos = self._merged("days_of_supply").astype(np.float64)  # (R, days, pairs)
        with warnings.catch_warnings():  # days without demand have no days of supply
            warnings.simplefilter("ignore", RuntimeWarning)
            levels = (  # (3, days, pairs)
                np.nanpercentile(dos, PERCENTILES, axis=0)
                if dos.size
                else np.full((len(PERCENTILES), *dos.shape[1:]), np.nan)  # nothing demanded
            )
        formations, families = self._pairs()
        day, pair = np.divmod(np.arange(levels[0].size), levels.shape[2])
        frame = pd.DataFrame(
            {
                "formation": np.asarray(formations, dtype=object)[pair],
                "family": np.asarray(families, dtype=object)[pair],
                "day": day,
                "date": self.network.start + day.astype("timedelta64[D]"),
            }
        )
        for k, p in enumerate(PERCENTILES):
            frame[f"p{p}"] = levels[k].ravel()
        return frame

    def shortfall(self) -> pd.DataFrame:
        """Per formation and family over the horizon: the demand (nominal: the schedule's; and
        the mean realised), the fill rate (the share of realised demand met from stock the day
        it was asked), the chance of any shortfall, the mean and percentiles of the shortfall
        (a unit backordered counts once, on the day it was not met) and the backlog-days.
        Sorted by the shortfall's share of the demand, so that families counted in small
        units (m3 of diesel) are not hidden under those counted in rounds."""
        short = self._merged("shortfall")  # (R, pairs)
        demanded = self._merged("demanded")
        with np.errstate(divide="ignore", invalid="ignore"):
            fill = np.where(demanded > 0, 1.0 - short / demanded, 1.0)
        first = self._merged("first_short")
        formations, families = self._pairs()
        n = self.network
        frame = pd.DataFrame(
            {
                "formation": formations,
                "family": families,
                "unit": [n.family_unit[m] for m in self.setup.pair_family],
                "nominal_demand": n.demand.sum(axis=0)[
                    self.setup.pair_formation, self.setup.pair_family
                ],
                "mean_demand": demanded.mean(axis=0),
                "fill_rate": fill.mean(axis=0),
                "probability_short": (first < self.setup.n_days).mean(axis=0),
                "median_first_short": self.network.start
                + np.median(first, axis=0).astype("timedelta64[D]"),
                "mean_shortfall": short.mean(axis=0),
            }
        )
        for p in PERCENTILES:
            frame[f"p{p}_shortfall"] = np.percentile(short, p, axis=0)
        # Backordered units x the days they waited (a unit short is counted once above).
        frame["mean_backlog_days"] = self._merged("backlog_days").mean(axis=0)
        frame["share_short"] = frame["mean_shortfall"] / frame["mean_demand"].where(
            frame["mean_demand"] > 0
        )
        return frame.sort_values(
            ["share_short", "mean_shortfall"],
            ascending=False,
            ignore_index=True,
            na_position="last",
        )

    def daily(self) -> pd.DataFrame:
        """Per formation, family and day: the probability of being short that day, and the
        mean and 95th percentile of the shortfall (backordered demand, if backorders are on)."""
        short = self._merged("daily_shortfall").astype(np.float64)  # (R, days, pairs)
        formations, families = self._pairs()
        day, pair = np.divmod(np.arange(short[0].size), short.shape[2])
        return pd.DataFrame(
            {
                "formation": np.asarray(formations, dtype=object)[pair],
                "family": np.asarray(families, dtype=object)[pair],
                "day": day,
                "date": self.network.start + day.astype("timedelta64[D]"),
                "probability_short": (short > 1e-6).mean(axis=0).ravel(),
                "mean_shortfall": short.mean(axis=0).ravel(),
                "p95_shortfall": np.percentile(short, 95, axis=0).ravel(),
            }
        )

    def fleet(self) -> pd.DataFrame:
        """Per system type in the repair loop and day: percentiles of the share of the fleet
        available (not failed, travelling, queueing or in repair)."""
        share = self._merged("availability").astype(np.float64)  # (R, days, types)
        levels = np.percentile(share, PERCENTILES, axis=0)
        types = self.network.systems.take(self.setup.repair_types)
        day, kind = np.divmod(np.arange(levels[0].size), levels.shape[2])
        frame = pd.DataFrame(
            {
                "system": np.asarray(types, dtype=object)[kind],
                "day": day,
                "date": self.network.start + day.astype("timedelta64[D]"),
                "mean": share.mean(axis=0).ravel(),
            }
        )
        for k, p in enumerate(PERCENTILES):
            frame[f"p{p}"] = levels[k].ravel()
        return frame

    def stock(self) -> pd.DataFrame:
        """Per site, item and day recorded (every day, or every `stock_every` days on runs
        whose record would not fit in memory): the mean and percentiles of the stock on hand
        at the day's end, in the item's unit, for every cell that can hold stock."""
        on_hand = self._merged("stock").astype(np.float64)  # (R, recorded days, cells)
        levels = np.percentile(on_hand, PERCENTILES, axis=0)
        n, cells = self.network, self.setup.inputs.stock_cell
        site, item = np.divmod(cells, len(n.items))
        slot, k = np.divmod(np.arange(levels[0].size), cells.size)
        day = slot * self.stock_every
        frame = pd.DataFrame(
            {
                "site": np.asarray(n.sites.names, dtype=object)[site[k]],
                "item": np.asarray(n.items.names, dtype=object)[item[k]],
                "unit": np.asarray(n.item_unit, dtype=object)[item[k]],
                "day": day,
                "date": n.start + day.astype("timedelta64[D]"),
                "mean": on_hand.mean(axis=0).ravel(),
            }
        )
        for j, p in enumerate(PERCENTILES):
            frame[f"p{p}"] = levels[j].ravel()
        return frame

    def stock_left(self, stock: pd.DataFrame | None = None) -> pd.DataFrame:
        """Stock on hand on the last recorded day at the sites that order, in days of the
        demand they serve (the median), fewest first; `stock` is the stock table if made."""
        stock = self.stock() if stock is None else stock
        last = stock[stock["day"] == stock["day"].max()]
        n = self.network
        cell = (n.sites.positions(last["site"]), n.items.positions(last["item"]))
        served = self.setup.served[cell]
        orders = (self.setup.supplier_lane[cell] >= 0) & (served > 0)
        days = last["p50"].to_numpy() / np.where(orders, served, np.nan)
        kept = last.assign(days_served=days)[orders]
        columns = ["site", "item", "unit", "date", "p5", "p50", "p95", "days_served"]
        ordered: pd.DataFrame = kept.sort_values("days_served", ignore_index=True)[columns]
        return ordered

    def nations(self) -> pd.DataFrame:
        """Per nation and item: what its goods did over the horizon (its stocks, pledges and
        lines' output told apart from every other nation's and mixed in proportion wherever
        they meet), the mean over replications, and the percentiles of what formations used.
        The two sides balance in every replication: held + pledged + produced = delivered +
        used_in_repairs + stock_at_end + in_transit_at_end."""
        n, origins = self.network, self.setup.origins
        ledger = {
            "held": self._merged("origin_initial"),
            "pledged": self._merged("origin_pledged"),
            "produced": self._merged("origin_produced"),
            "delivered": self._merged("origin_consumed"),
            "used_in_repairs": self._merged("origin_parts"),
            "stock_at_end": self._merged("origin_on_hand"),
            "in_transit_at_end": self._merged("origin_in_transit"),
            "shipped": self._merged("origin_shipped"),
        }  # each (R, origins, items)
        origin, item = np.divmod(np.arange(origins.size * len(n.items)), len(n.items))
        frame = pd.DataFrame(
            {
                "nation": np.asarray(n.nations.names, dtype=object)[origins[origin]],
                "item": np.asarray(n.items.names, dtype=object)[item],
                "family": np.asarray(n.families.names, dtype=object)[n.item_family[item]],
                "unit": np.asarray(n.item_unit, dtype=object)[item],
            }
        )
        for name, figures in ledger.items():
            frame[name] = figures.mean(axis=0).ravel()
        # Rounding leaves crumbs (1e-15 of a round) where a nation's goods ran out.
        scale = frame[["held", "pledged", "produced"]].sum(axis=1).to_numpy()
        for name in ledger:
            crumbs = np.abs(frame[name].to_numpy()) <= 1e-9 * scale
            frame.loc[crumbs, name] = 0.0
        delivered = ledger["delivered"].reshape(ledger["delivered"].shape[0], -1)
        for p in (5, 95):
            frame[f"p{p}_delivered"] = (
                np.percentile(delivered, p, axis=0) if delivered.size else np.zeros(len(frame))
            )
        frame["shipped_t"] = frame["shipped"] * n.item_mass[item]
        moved = np.flatnonzero(frame[list(ledger)].to_numpy().any(axis=1))
        return frame.iloc[moved].reset_index(drop=True)

    def deliveries_by_nation(self) -> pd.DataFrame:
        """Per formation, family and nation: what of that nation's goods the formation used,
        in family units (mean and percentiles over replications), and its share of all the
        formation used of the family."""
        n, origins = self.network, self.setup.origins
        delivered = self._merged("origin_delivered")  # (R, origins, pairs)
        formations, families = self._pairs()
        pairs = len(formations)
        origin, pair = np.divmod(np.arange(origins.size * pairs), max(pairs, 1))
        mean = delivered.mean(axis=0)  # (origins, pairs)
        total = mean.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total > 0, mean / total, 0.0)
        frame = pd.DataFrame(
            {
                "formation": np.asarray(formations, dtype=object)[pair],
                "family": np.asarray(families, dtype=object)[pair],
                "unit": np.asarray(n.family_unit, dtype=object)[self.setup.pair_family[pair]],
                "nation": np.asarray(n.nations.names, dtype=object)[origins[origin]],
                "mean": mean.ravel(),
            }
        )
        flat = delivered.reshape(delivered.shape[0], -1)
        for p in PERCENTILES:
            frame[f"p{p}"] = np.percentile(flat, p, axis=0) if flat.size else np.zeros(len(frame))
        frame["share"] = share.ravel()
        used = frame["mean"].to_numpy() > 0
        ordered: pd.DataFrame = frame[used].sort_values(
            ["formation", "family", "mean"], ascending=[True, True, False], ignore_index=True
        )
        return ordered

    def replication_table(self) -> pd.DataFrame:
        """Per replication: weighted shortfall and costs."""
        return pd.DataFrame(
            {
                "replication": self._merged("replications"),
                "weighted_shortfall": self._merged("weighted_shortfall"),
                "holding_cost_eur": self._merged("holding_cost"),
                "ordering_cost_eur": self._merged("ordering_cost"),
                "shortage_cost_eur": self._merged("shortage_cost"),
            }
        )

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        stock = self.stock()
        return {
            "shortfall": self.shortfall(),
            "stockout": self.stockout(),
            "daily": self.daily(),
            "fleet": self.fleet(),
            "days_of_supply": self.days_of_supply(),
            "stock": stock,
            "stock_left": self.stock_left(stock),
            "replications": self.replication_table(),
            "nations": self.nations(),
            "deliveries_by_nation": self.deliveries_by_nation(),
        }


def _batch(
    shared: tuple[Setup, Uncertainty, int, Series | None, int], numbers: npt.NDArray[np.int64]
) -> BatchResult:
    """Replications of a run (consecutive numbers), with the run's seed; their day-by-day
    outputs are written in place into the run's arrays when this process holds them, else
    sent back."""
    setup, uncertainty, seed, series, every = shared
    draws = draw(setup.network, uncertainty, seed, numbers)
    if series is None:
        return run_batch(setup, uncertainty, draws, numbers, stock_every=every)
    rows = series.rows(int(numbers[0]), numbers.size)
    return replace(run_batch(setup, uncertainty, draws, numbers, rows, every), series=None)


def simulate(
    network: Network,
    replications: int = 100,
    seed: int = 0,
    uncertainty: Uncertainty | None = None,
    options: SimulationOptions | None = None,
    plan_tables: dict[str, pd.DataFrame] | None = None,
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Simulation:
    """Run `replications` replications; `progress(done, total)` after each batch. A Ctrl-C
    stops the run and returns the replications finished (`interrupted` is then True). Without
    `uncertainty`, the DEFAULT_PRESET ("theatre"), as `sustain simulate` runs;
    `Uncertainty()` (or the "expected-value" preset) switches every source off."""
    if replications < 1:
        raise ValueError("replications must be at least 1")
    uncertainty = preset(DEFAULT_PRESET) if uncertainty is None else uncertainty
    options = options or SimulationOptions()
    capacity = None
    if len(network.orders):
        capacity = free_capacity(network)
    setup = prepare(network, options, plan_tables, capacity)
    if batch_size is None:  # two batches per worker, in multiples of 16
        per_batch = -(-replications // (2 * (workers or default_workers())))
        batch_size = min(256, -(-per_batch // BATCH_MULTIPLE) * BATCH_MULTIPLE)
    numbers = np.arange(replications, dtype=np.int64)
    tasks = [numbers[k : k + batch_size] for k in range(0, replications, batch_size)]
    # Compile the kernel here (or load it from the disk cache) before the workers start, so
    # that they do not each compile it at once.
    run_batch(setup, uncertainty, draw(network, uncertainty, seed, numbers[:0]), numbers[:0])
    shape = (replications, setup.n_days, setup.pair_formation.size, setup.repair_types.size)
    stock_cells = setup.inputs.stock_cell.size
    every = stock_every(replications, setup.n_days, stock_cells)
    # Local workers are threads of this process (the kernel runs outside the GIL) and write
    # their rows into the run's arrays; Ray's workers send them back.
    series = Series.zeros(*shape, (stock_days(setup.n_days, every), stock_cells))
    in_place = series if executor != "ray" else None
    batches: list[BatchResult] = []
    finished = 0
    interrupted = False
    try:
        for _, result in run_tasks(
            _batch,
            (setup, uncertainty, seed, in_place, every),
            tasks,
            executor=executor,
            workers=workers,
            address=address,
            threads=True,
        ):
            if result.series is not None:
                series.put(result.replications, result.series)
                result.series = None
            batches.append(result)
            finished += result.replications.size
            if progress is not None:
                progress(finished, replications)
    except KeyboardInterrupt:
        interrupted = True
        if not batches:
            raise
    return Simulation(
        network=network,
        options=options,
        uncertainty=uncertainty,
        seed=seed,
        replications=replications,
        batches=batches,
        series=series,
        setup=setup,
        stock_every=every,
        interrupted=interrupted,
    )

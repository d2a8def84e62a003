"""Runs asked for by request (through the API): what each engine may be asked, how a request
becomes a Run through the service layer, and the workers that carry runs out, each in a
process of its own so that cancelling one stops it without touching the server.

A request's life, all of it in the store: queued (`Store.submit`), running once a worker takes
it (`Store.start`), its progress written as it goes, then finished with its tables, failed with
its error, or cancelled. A worker killed at any moment leaves the run whole or without a
table, and its run is marked failed.

    python -m sustain.jobs DATABASE_URL RUN_ID      # a worker: carries out one queued run
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from sustain.options import (
    PRESETS,
    PlanOptions,
    ResilienceOptions,
    SimulationOptions,
    Uncertainty,
)
from sustain.results import Run

if TYPE_CHECKING:
    from sustain.store import Store

MAX_REPLICATIONS = 100_000


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: int = Field(
        ge=1, le=2**31 - 1, description="The scenario version to run (its id in the store)."
    )


class PlanRequest(_Request):
    """The optimal delivery plan, with its bottlenecks."""

    engine: Literal["plan"]
    options: PlanOptions = Field(default_factory=PlanOptions)


class SimulateRequest(_Request):
    """Monte Carlo replications of a replenishment policy, or of a stored plan run."""

    engine: Literal["simulate"]
    replications: int = Field(100, ge=1, le=MAX_REPLICATIONS)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    preset: Literal[tuple(PRESETS)] = Field(  # type: ignore[valid-type]
        "theatre", description="The uncertainty, unless `uncertainty` gives it in full."
    )
    uncertainty: Uncertainty | None = None
    options: SimulationOptions | None = None
    plan: str | None = Field(None, description="A finished plan run to execute day by day.")


class ResilienceRequest(_Request):
    """Every knock-out case, the fronts' smallest cuts, the mitigations."""

    engine: Literal["resilience"]
    options: ResilienceOptions = Field(default_factory=ResilienceOptions)


class IndustryRequest(_Request):
    """Order books, lead times, the race, stockpiles, investments."""

    engine: Literal["industry"]
    every_days: int = Field(91, ge=1, le=36_500)
    by_priority: bool = False
    upside: bool = Field(False, description="Count offered pledges too.")


RunRequest = Annotated[
    PlanRequest | SimulateRequest | ResilienceRequest | IndustryRequest,
    Field(discriminator="engine"),
]
REQUEST: TypeAdapter[Any] = TypeAdapter(RunRequest)

# A worker writes its progress at most this often (seconds): the store is not a log.
PROGRESS_EVERY = 0.5


class _Progress:
    """A run's progress, written to the store now and then."""

    def __init__(self, store: Any, run_id: str) -> None:
        self.store, self.run_id, self.last = store, run_id, 0.0

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY and (total is None or done != total):
            return
        self.last = now
        fraction = done / total if done is not None and total else None
        self.store.set_progress(
            self.run_id, {"stage": stage, "done": done, "total": total, "fraction": fraction}
        )


def make_run(request: Any, scenario: Any, store: Any, progress: _Progress) -> Run:
    """The Run a request asks for, through the service layer."""
    from sustain import service

    source = f"scenario {request.scenario}"
    if isinstance(request, PlanRequest):
        return service.plan_run(scenario, request.options, progress=progress, source=source)
    if isinstance(request, SimulateRequest):
        return service.simulate_run(
            scenario,
            replications=request.replications,
            seed=request.seed,
            uncertainty=request.uncertainty or PRESETS[request.preset],
            options=request.options,
            plan=store.run(request.plan) if request.plan is not None else None,
            progress=lambda done, total: progress("replications", done, total),
            source=source,
        )
    if isinstance(request, ResilienceRequest):
        return service.resilience_run(scenario, request.options, progress=progress, source=source)
    progress("order books and the race")
    return service.industry_run(
        scenario,
        every_days=request.every_days,
        by_priority=request.by_priority,
        upside=request.upside,
        source=source,
    )


def execute(url: str, run_id: str) -> None:
    """Carry out a queued run: running, then finished with its tables, or failed with its
    error. A run cancelled before this takes it is left as it is."""
    from sustain.plan import PlanCheckError, PlanError
    from sustain.scenario.upload import load_bytes
    from sustain.store import Store

    store = Store.open(url)
    if not store.start(run_id):
        return
    try:
        request = REQUEST.validate_python(store.run_summary(run_id).request)
        filename, content = store.scenario_file(request.scenario)
        scenario = load_bytes(filename, content)
        run = make_run(request, scenario, store, _Progress(store, run_id))
        run.id = run_id
        store.finish(run)
    except (ValueError, PlanError, PlanCheckError) as exc:  # what the request or data say
        store.fail(run_id, str(exc))
    except Exception as exc:  # anything else, recorded with its kind; the worker ends cleanly
        store.fail(run_id, f"{type(exc).__name__}: {exc}")


class Workers:
    """Carries out queued runs, `slots` at a time, each in a worker process (`python -m
    sustain.jobs`); the rest wait their turn in the order they came."""

    def __init__(self, store: Store, url: str, slots: int = 2) -> None:
        self.store, self.url = store, url
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="sustain-job")
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._closing = False

    def submit(self, run_id: str) -> None:
        self._pool.submit(self._work, run_id)

    def _work(self, run_id: str) -> None:
        if self._closing:
            return
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "sustain.jobs", self.url, run_id],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:  # no process to be had (out of memory, of pids)
            self.store.fail(run_id, f"its worker could not start: {exc}")
            return
        with self._lock:
            self._children[run_id] = child
        _, stderr = child.communicate()
        with self._lock:
            self._children.pop(run_id, None)
        if child.returncode != 0:  # killed, or died before it could say why
            tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            why = f"its worker ended with exit code {child.returncode}"
            self.store.fail(run_id, why + (f": {tail[0]}" if tail else ""))

    def close(self) -> None:
        """Stop taking runs and stop the workers still running (their runs failed)."""
        self._closing = True
        with self._lock:
            children = list(self._children.values())
        for child in children:
            child.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m sustain.jobs DATABASE_URL RUN_ID", file=sys.stderr)
        return 2
    execute(argv[0], argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

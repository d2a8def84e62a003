"""The local executor: process workers leave the parallelism to themselves."""

from __future__ import annotations

from typing import Any

from threadpoolctl import threadpool_info

from sustain.execute import run_tasks


def blas_threads(shared: Any, task: int) -> list[int]:
    """The thread counts of the BLAS libraries loaded in the worker running the task."""
    import numpy as np

    np.ones(4) @ np.ones(4)  # BLAS loaded
    return [int(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_process_workers_run_blas_on_one_thread() -> None:
    # BLAS threads spinning in two workers at once on two cores made each worker's LP
    # re-solves 2.2 times slower (docs/benchmarks.md, resilience).
    found = dict(run_tasks(blas_threads, None, [0, 1, 2], workers=2))
    assert sorted(found) == [0, 1, 2]
    assert all(counts and set(counts) == {1} for counts in found.values()), found

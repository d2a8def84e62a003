"""Running many independent tasks (Monte Carlo batches, N-k cases): in this process, on local
processes, or on a Ray cluster; results come back with their task numbers, in any order.

A Ctrl-C stops the run cleanly: tasks not yet finished are cancelled and the finished ones are
kept (`Interrupted.finished`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")

EXECUTORS = ("local", "serial")


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def run_tasks(
    function: Callable[..., T],
    shared: Any,
    tasks: Sequence[Any],
    *,
    executor: str = "local",
    workers: int | None = None,
) -> Iterator[tuple[int, T]]:
    """Yield (task number, function(shared, task)) as tasks finish."""
    if executor not in EXECUTORS:
        raise ValueError(f'unknown executor "{executor}": use one of {", ".join(EXECUTORS)}')
    workers = workers or default_workers()
    if executor == "serial" or workers == 1 or len(tasks) <= 1:
        for number, task in enumerate(tasks):
            yield number, function(shared, task)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_keep, initargs=(shared,)) as pool:
        pending: dict[Future[T], int] = {}
        queue = list(enumerate(tasks))
        queue.reverse()
        try:
            while queue or pending:
                while queue and len(pending) < 2 * workers:
                    number, task = queue.pop()
                    pending[pool.submit(_call, function, task)] = number
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        except BaseException:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise


_SHARED: Any = None


def _keep(shared: Any) -> None:
    """Each worker receives the shared input once, not with every task."""
    global _SHARED
    _SHARED = shared


def _call(function: Callable[..., T], task: Any) -> T:
    return function(_SHARED, task)

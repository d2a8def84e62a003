"""Running many independent tasks (Monte Carlo batches, N-k cases): in this process, on local
processes (or threads, for work that runs outside the GIL), or on a Ray cluster; results come
back with their task numbers, in any order.

A Ctrl-C stops the run cleanly: tasks not yet finished are cancelled and the finished ones are
kept (`Interrupted.finished`)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from functools import partial
from typing import Any, TypeVar

from threadpoolctl import threadpool_limits

T = TypeVar("T")

EXECUTORS = ("local", "serial", "ray")


class MissingDependencyError(RuntimeError):
    """An optional package a run asked for is not installed; the message says how to add it."""


def require_executor(executor: str) -> None:
    """Raise, before any work, unless `executor` is known and its package installed."""
    if executor not in EXECUTORS:
        raise ValueError(f'unknown executor "{executor}": use one of {", ".join(EXECUTORS)}')
    if executor == "ray" and not _installed("ray"):
        raise MissingDependencyError(
            'the Ray executor needs Ray, which is not installed: pip install "sustain[ray]"'
        )


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # blocked, or a broken installation
        return False


def run_tasks(
    function: Callable[..., T],
    shared: Any,
    tasks: Sequence[Any],
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    threads: bool = False,
) -> Iterator[tuple[int, T]]:
    """Yield (task number, function(shared, task)) as tasks finish. With Ray, `address` is an
    existing cluster's ("host:port", or "auto"); without it a local one is started for the run.
    With `threads`, local workers are threads of this process, for functions whose work runs
    outside the GIL (compiled kernels): nothing to start or copy, and `shared` is the caller's
    own object."""
    require_executor(executor)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if executor == "ray":
        yield from _on_ray(function, shared, tasks, address)
        return
    workers = workers or default_workers()
    if executor == "serial" or workers == 1 or len(tasks) <= 1:
        for number, task in enumerate(tasks):
            yield number, function(shared, task)
        return
    pool: Executor
    call: Callable[[Any], T]  # of a task
    if threads:
        pool, call = ThreadPoolExecutor(max_workers=workers), partial(function, shared)
    else:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_keep, initargs=(shared,))
        call = partial(_call, function)  # the worker holds `shared`
    pending: dict[Future[T], int] = {}
    queue = list(enumerate(tasks))
    queue.reverse()
    try:
        while queue or pending:
            while queue and len(pending) < 2 * workers:
                number, task = queue.pop()
                pending[pool.submit(call, task)] = number
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()
    finally:
        # Every result is in (or the run is stopped): the workers are left to exit in the
        # background rather than waited for.
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def _on_ray(
    function: Callable[..., T], shared: Any, tasks: Sequence[Any], address: str | None
) -> Iterator[tuple[int, T]]:
    import ray  # an optional dependency: require_executor has checked it is there

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        shared_ref = ray.put(shared)  # sent to the cluster once
        remote: Any = ray.remote(_apply)
        pending = {remote.remote(function, shared_ref, task): k for k, task in enumerate(tasks)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                yield pending.pop(done[0]), ray.get(done[0])
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started_here:
            ray.shutdown()


def _apply(function: Callable[..., T], shared: Any, task: Any) -> T:
    return function(shared, task)


_SHARED: Any = None
_LIMITS: Any = None


def _keep(shared: Any) -> None:
    """Each worker receives the shared input once, not with every task. Its BLAS runs on one
    thread: the workers are the parallelism, and BLAS threads spinning in every worker at once
    made the resilience sweep's re-solves 2.2 times slower with two workers than with one."""
    global _SHARED, _LIMITS
    _SHARED = shared
    _LIMITS = threadpool_limits(limits=1)


def _call(function: Callable[..., T], task: Any) -> T:
    return function(_SHARED, task)

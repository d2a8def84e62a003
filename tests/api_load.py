"""A bounded load on a running Sustain server: `clients` concurrent clients, each a loop of
requests a coordination cell makes (who am I, the runs, a page of a scoped table, an
aggregate), for `seconds`, over loopback; every answer's status and time kept.

Used by tests/test_api_load.py (zero errors) and benchmarks/api_load.py (the latencies)."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

import httpx
import numpy as np


@dataclass
class Load:
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    paths: list[str] = field(default_factory=list)  # what each request asked for
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # transport errors and non-200 answers

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        return float(np.percentile(self.latencies, p)) if self.latencies else float("nan")


def paths(plan: str) -> list[str]:
    """What one client asks for, in turn."""
    table = f"/runs/{plan}/tables"
    return [
        "/me",
        "/runs",
        f"{table}/shortfall?limit=100",
        f"{table}/shipments?limit=200&offset=100",
        f"{table}/shortfall/aggregate",
        f"{table}/bottlenecks",
    ]


async def _client(
    url: str, token: str, asks: list[str], until: float, load: Load, offset: int
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        for path in itertools.islice(itertools.cycle(asks), offset, None):
            if time.monotonic() >= until:
                return
            started = time.perf_counter()
            try:
                answer = await client.get(path)
            except httpx.HTTPError as exc:
                load.failures.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            load.latencies.append(time.perf_counter() - started)
            load.paths.append(path)
            load.statuses[answer.status_code] = load.statuses.get(answer.status_code, 0) + 1
            if answer.status_code != 200:
                load.failures.append(f"{path}: {answer.status_code} {answer.text[:200]}")


def run_load(url: str, tokens: list[str], plan: str, *, clients: int, seconds: float) -> Load:
    """`clients` clients (tokens taken in turn) for `seconds`."""
    load = Load(seconds)
    asks = paths(plan)

    async def everyone() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(_client(url, tokens[k % len(tokens)], asks, until, load, k) for k in range(clients))
        )

    asyncio.run(everyone())
    return load

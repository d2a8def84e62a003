"""A bounded load test on loopback: 50 concurrent clients of three nations and roles for 60 s
against `sustain serve` holding the example theatre and its plan. Zero errors (every answer a
200, no connection refused or timed out); the latencies are the benchmark's
(benchmarks/api_load.py, docs/benchmarks.md), not asserted here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_load import run_load
from tests.api_server import Server, serving, uploaded, wait_for
from tests.conftest import EXAMPLES

USERS = {
    "chief": ("UKR", "coordinator"),
    "planner-POL": ("POL", "planner"),
    "viewer-USA": ("USA", "viewer"),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    with serving(tmp_path_factory.mktemp("load"), USERS) as server:
        scenario = uploaded(server, EXAMPLES[0], "chief")
        with server.client("chief") as chief:
            plan = chief.post("/runs", json={"engine": "plan", "scenario": scenario}).json()
            assert wait_for(chief, plan["id"], until=("finished", "failed"))["status"] == "finished"
        yield server, plan["id"]


def test_fifty_clients_for_a_minute_get_no_error(loaded: tuple[Server, str]) -> None:
    server, plan = loaded
    load = run_load(server.url, list(server.tokens.values()), plan, clients=50, seconds=60)
    assert load.failures == []
    assert load.requests > 500 and set(load.statuses) == {200}
    assert "Traceback" not in server.log()

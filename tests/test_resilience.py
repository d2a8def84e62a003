"""Resilience against answers worked out by hand: a single point of failure, a redundant pair
of routes, time-to-survive from the stock at the front, min cuts; and the screen never
settling a case differently from re-solving it."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sustain.cli import app
from sustain.plan import Closure, Planner, PlanOptions
from sustain.resilience import ResilienceOptions, resilience
from sustain.scenario.writers import write
from tests.scenarios import base, formation, lane, load_document, random_network, site

DAYS, DEMAND, FRONT_STOCK, RECOVERY = 20, 10, 30, 10


def one_front(bridges: int) -> dict[str, Any]:
    """A depot feeding a front over `bridges` parallel lanes (a bridge each, 1 day transit);
    the front holds 3 days of its brigade's 10 rounds a day."""
    doc = base(days=DAYS)
    site(doc, "depot", "depot")
    site(doc, "front", "front")
    doc["assets"] = []
    for k in range(bridges):
        doc["assets"].append(
            {"id": f"bridge-{k}", "kind": "bridge", "recovery_time": f"{RECOVERY} days"}
        )
        lane(
            doc, f"road-{k}", "depot", "front", "1000 t/day", transit="1 day", assets=f"bridge-{k}"
        )
    doc["stocks"] += [
        {"site": "depot", "item": "shell", "quantity": "10000 rounds"},
        {"site": "front", "item": "shell", "quantity": f"{FRONT_STOCK} rounds"},
    ]
    formation(doc, "bde", "front", guns=DEMAND)
    return doc


def weighted(network: Any, periods: range) -> float:
    """The objective's weight of the brigade's demand in these periods (one formation, one
    family: the short columns are by period)."""
    model = Planner(network, PlanOptions(check=False)).model
    return float(sum(DEMAND * model.short_weight[model.short_period == p].sum() for p in periods))


def test_a_single_point_of_failure() -> None:
    network = load_document(one_front(1))
    result = resilience(network, executor="serial")
    case = result.cases.set_index("case").loc["bridge-0"]
    # The front's 30 rounds last days 0-2; the bridge is back on day 10 and what leaves then
    # arrives on day 11: days 3 to 10 go short (80 rounds).
    assert case["time_to_survive_days"] == FRONT_STOCK / DEMAND
    assert case["time_to_recover_days"] == RECOVERY
    assert bool(case["vulnerable"])
    assert case["gap_days"] == RECOVERY - FRONT_STOCK / DEMAND
    assert case["weighted_shortfall_added"] == pytest.approx(weighted(network, range(3, 11)))
    assert case["first_hit"] == "bde/fam"
    assert case["first_hit_date"] == pd.Timestamp("2024-01-04")
    cut = result.cuts.set_index("front").loc["front"]
    assert cut["cut_assets"] == "bridge-0"
    assert bool(cut["single_point"])
    assert cut["max_flow_t_per_day"] == 1000


def test_a_cut_takes_away_the_flow_upstream_lets_through_not_its_lanes_capacity() -> None:
    # 700 t/day of rail into a hub, then a 6,000 t/day bridge to the front: the bridge is the
    # front's one asset cut, and losing it takes away 700 t/day, the front's whole max flow.
    doc = base(days=DAYS)
    for name, kind in (("depot", "depot"), ("hub", "rail_hub"), ("front", "front")):
        site(doc, name, kind)
    doc["assets"] = [{"id": "bridge", "kind": "bridge", "recovery_time": "10 days"}]
    lane(doc, "rail", "depot", "hub", "700 t/day", transit="1 day")
    lane(doc, "over-bridge", "hub", "front", "6000 t/day", transit="1 day", assets="bridge")
    lane(doc, "spur", "hub", "depot", "50 t/day", transit="1 day", assets="bridge")
    doc["stocks"] += [{"site": "depot", "item": "shell", "quantity": "10000 rounds"}]
    formation(doc, "bde", "front", guns=DEMAND)
    cut = resilience(load_document(doc), executor="serial").cuts.set_index("front").loc["front"]
    assert cut["max_flow_t_per_day"] == 700
    assert cut["cut_assets"] == "bridge"
    assert cut["cut_lanes"] == "over-bridge"  # the spur leads away from the front
    assert "cut_capacity_t_per_day" not in cut.index


def test_time_to_survive_is_the_longest_every_formation_holds() -> None:
    # Two brigades at the front, 10 rounds a day each, 60 rounds there, the bridge lost for
    # good. The best re-plan feeds the priority-3 brigade and shorts the other from day 0;
    # yet both can be fed in full for 3 days (60 / 20): that is the time to survive.
    doc = one_front(1)
    doc["stocks"][-1]["quantity"] = "60 rounds"
    doc["formations"][0]["priority"] = 3
    formation(doc, "low", "front", guns=DEMAND, priority=1)
    network = load_document(doc)
    options = ResilienceOptions(mitigate=False)
    case = resilience(network, options, executor="serial").cases.iloc[0]
    assert case["time_to_survive_days"] == 3
    planner = Planner(network, PlanOptions(check=False))
    replan = planner.solve((Closure(0, DAYS, asset="bridge-0"),)).tables["shortfall"]
    assert replan[replan["formation"] == "low"]["date"].min() == pd.Timestamp("2024-01-01")


def test_a_redundant_route_is_no_vulnerability_until_both_go() -> None:
    network = load_document(one_front(2))
    result = resilience(network, ResilienceOptions(k=2), executor="serial")
    cases = result.cases.set_index("case")
    for single in ("bridge-0", "bridge-1"):
        assert cases.loc[single, "weighted_shortfall_added"] == pytest.approx(0.0, abs=1e-6)
        assert bool(cases.loc[single, "survives_horizon"])
        assert not bool(cases.loc[single, "vulnerable"])
    both = cases.loc["bridge-0 + bridge-1"]
    assert both["weighted_shortfall_added"] == pytest.approx(weighted(network, range(3, 11)))
    assert both["time_to_survive_days"] == 3
    assert bool(both["vulnerable"])
    assert result.cases.iloc[0]["case"] == "bridge-0 + bridge-1"  # ranked first
    cut = result.cuts.set_index("front").loc["front"]
    assert cut["cut_size"] == 2
    assert not bool(cut["single_point"])
    assert cut["max_flow_t_per_day"] == 2000


def test_a_pair_adding_nothing_beyond_one_of_its_assets_is_that_case_unranked() -> None:
    # The bridge and a spare lane's ferry that no plan needs, the ferry slow to recover: the
    # pair is the bridge's loss again, with the bridge's recovery time, not the ferry's.
    doc = one_front(1)
    doc["assets"].append({"id": "ferry", "kind": "port", "recovery_time": "50 days"})
    site(doc, "yard", "depot")
    lane(doc, "spare", "depot", "yard", "10 t/day", transit="1 day", assets="ferry")
    result = resilience(load_document(doc), ResilienceOptions(k=2), executor="serial")
    cases = result.cases.set_index("case")
    pair, bridge = cases.loc["bridge-0 + ferry"], cases.loc["bridge-0"]
    assert pair["same_as"] == "bridge-0"
    assert pd.isna(pair["rank"])
    assert not bool(pair["vulnerable"])
    assert pair["time_to_recover_days"] == RECOVERY
    assert pair["weighted_shortfall_added"] == pytest.approx(bridge["weighted_shortfall_added"])
    assert bridge["rank"] == 1 and bool(bridge["vulnerable"]) and bridge["same_as"] == ""
    assert result.cases.iloc[-1]["case"] == "bridge-0 + ferry"
    assert list(result.vulnerabilities["case"]) == ["bridge-0"]


def test_a_later_loss_strikes_the_plan_under_way() -> None:
    # Lost on day 5: the base plan's decisions before it stand, so the re-plan cannot move
    # stock forward in anticipation; the front holds what the base plan left there.
    network = load_document(one_front(1))
    early = resilience(network, executor="serial").cases.iloc[0]
    late = resilience(network, ResilienceOptions(loss_day=5), executor="serial").cases.iloc[0]
    assert late["time_to_recover_days"] == early["time_to_recover_days"]
    assert late["weighted_shortfall_added"] > 0
    assert late["first_hit_date"] >= pd.Timestamp("2024-01-06")


def test_a_pair_is_settled_by_the_plan_of_one_of_its_assets() -> None:
    # Depot -> hub (bridge a) -> front (bridge b), and a slower, dearer direct road. Without
    # bridge a nothing reaches the hub, so a's own plan leaves b's lane idle while b is out:
    # the pair's answer is a's, exactly, without a solve. Lost for good, a's plan falls short
    # before the direct road delivers: how long the pair holds out is solved for.
    doc = base(days=12)
    for name, kind in (("depot", "depot"), ("hub", "hub"), ("front", "front")):
        site(doc, name, kind)
    doc["assets"] = [
        {"id": name, "kind": "bridge", "recovery_time": "5 days"} for name in ("a", "b")
    ]
    lane(doc, "depot-hub", "depot", "hub", "100 t/day", transit="1 day", assets="a")
    lane(doc, "hub-front", "hub", "front", "100 t/day", transit="1 day", assets="b")
    lane(doc, "direct", "depot", "front", "100 t/day", transit="3 days", cost="100 EUR/t")
    doc["stocks"] += [
        {"site": "depot", "item": "shell", "quantity": "1000 rounds"},
        {"site": "front", "item": "shell", "quantity": "10 rounds"},
    ]
    formation(doc, "bde", "front", guns=DEMAND)
    network = load_document(doc)
    screened = resilience(network, ResilienceOptions(k=2), executor="serial").cases
    naive = resilience(network, ResilienceOptions(k=2, screen=False), executor="serial").cases
    pair = screened.set_index("case").loc["a + b"]
    assert pair["settled_by"] == "recovery: one asset's plan; lost: solved"
    single = screened.set_index("case").loc["a"]
    assert pair["weighted_shortfall_added"] == single["weighted_shortfall_added"] > 0
    expected = naive.set_index("case").loc["a + b"]
    assert pair["weighted_shortfall_added"] == pytest.approx(expected["weighted_shortfall_added"])
    assert pair["time_to_survive_days"] == expected["time_to_survive_days"]


def with_mitigations() -> dict[str, Any]:
    """The single point of failure with four options: a spare bridge (a lane of its own), spare
    spans (the bridge back in 5 days, not 10), 100 more rounds at the front (two rows of one
    option, 60 + 40), and a lane that leads elsewhere."""
    doc = one_front(1)
    site(doc, "elsewhere", "hub")
    stock = {"kind": "stock", "site": "front", "item": "shell"}
    doc["mitigations"] = [
        {"id": "spare-bridge", "kind": "lane", "cost": "40 MEUR", "from": "depot", "to": "front"}
        | {"mode": "road", "capacity": "1000 t/day", "transit_time": "1 day"},
        {"id": "spans", "kind": "recovery", "cost": "5 MEUR", "asset": "bridge-0"}
        | {"recovery_time": "5 days"},
        {"id": "forward-stock", "cost": "0.6 MEUR", "quantity": "60 rounds"} | stock,
        {"id": "forward-stock", "cost": "0.4 MEUR", "quantity": "40 rounds"} | stock,
        {"id": "elsewhere", "kind": "lane", "cost": "0.5 MEUR", "from": "depot"}
        | {"to": "elsewhere", "mode": "road", "capacity": "10 t/day", "transit_time": "1 day"},
    ]
    return doc


def test_mitigations_of_a_single_point_of_failure() -> None:
    network = load_document(with_mitigations())
    assert [m.id for m in network.mitigations] == [
        "spare-bridge",
        "spans",
        "forward-stock",
        "elsewhere",
    ]
    assert network.mitigations[2].cost == pytest.approx(1e6)  # its two rows' costs added
    result = resilience(network, executor="serial")
    lost = weighted(network, range(3, 11))  # days 3 to 10 short without a mitigation
    table = result.mitigations.set_index("option")
    assert list(result.mitigations["case"].unique()) == ["bridge-0"]
    # 130 rounds at the front outlast the 10 days out (110 rounds to day 10): all removed,
    # and the cheapest option that does.
    stock = table.loc["forward-stock"]
    assert bool(stock["removes_all_added"]) and bool(stock["cheapest"])
    assert stock["weighted_shortfall_removed"] == pytest.approx(lost)
    assert stock["time_to_survive_days"] == 13 and not bool(stock["vulnerable"])
    spare = table.loc["spare-bridge"]
    assert bool(spare["removes_all_added"]) and not bool(spare["cheapest"])
    # Back on day 5, what leaves then arrives on day 6: days 3 to 5 still go short.
    spans = table.loc["spans"]
    assert spans["time_to_recover_days"] == 5
    assert not bool(spans["removes_all_added"])
    assert spans["weighted_shortfall_added"] == pytest.approx(weighted(network, range(3, 6)))
    assert spans["weighted_shortfall_removed"] == pytest.approx(weighted(network, range(6, 11)))
    assert table.loc["elsewhere", "weighted_shortfall_removed"] == 0
    # Full fixes cheapest first, then the partial ones by what they remove.
    order = ["forward-stock", "spare-bridge", "spans", "elsewhere"]
    assert list(result.mitigations["option"]) == order
    assert result.cases.set_index("case").loc["bridge-0", "cheapest_mitigation"] == "forward-stock"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"id": "x", "kind": "lane", "from": "depot", "to": "front"}, "mode", "is required"),
        ({"id": "x", "kind": "stock", "site": "front", "item": "shell"}, "quantity", "required"),
        (
            {"id": "x", "kind": "stock", "site": "front", "item": "shell", "quantity": "5 kits"},
            "quantity",
            "not in a unit of item",
        ),
        (
            {"id": "x", "kind": "recovery", "asset": "bridge-0", "recovery_time": "2 days"}
            | {"site": "front"},
            "site",
            "must be blank in a recovery row",
        ),
        (
            {"id": "x", "kind": "recovery", "asset": "bridge-9", "recovery_time": "2 days"},
            "asset",
            'unknown asset "bridge-9"',
        ),
    ],
)
def test_bad_mitigation_rows_are_reported_where_they_are(
    tmp_path: Path, row: dict[str, str], field: str, message: str
) -> None:
    document = one_front(1)
    document["scenario"] = [document["scenario"]]
    document["mitigations"] = [row]
    write(document, tmp_path / "scenario", "csv")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "scenario"), "--json"])
    assert result.exit_code == 2
    problems = json.loads(result.output)["problems"]
    assert any(
        p["where"].endswith("mitigations.csv:2") and p["field"] == field and message in p["message"]
        for p in problems
    ), problems


def with_assets(seed: int) -> dict[str, Any]:
    """A random network whose lanes depend on a few random assets."""
    rng = random.Random(seed)
    doc = random_network(seed)
    doc["assets"] = [
        {"id": f"asset-{k}", "kind": "bridge", "recovery_time": f"{rng.randint(1, 8)} days"}
        for k in range(5)
    ]
    for entry in doc["lanes"]:
        entry["assets"] = ";".join(rng.sample([a["id"] for a in doc["assets"]], rng.randint(0, 2)))
    return doc


@pytest.mark.parametrize("seed", range(6))
def test_the_screen_settles_cases_as_re_solving_them_would(seed: int) -> None:
    network = load_document(with_assets(seed))
    options = ResilienceOptions(k=2, loss_day=seed % 3, check=True)
    screened = resilience(network, options, executor="serial")
    naive = resilience(
        network, ResilienceOptions(k=2, loss_day=seed % 3, screen=False), executor="serial"
    )
    assert naive.counts["settled_without_solving"] == 0
    left = screened.cases.set_index("case").sort_index()
    right = naive.cases.set_index("case").sort_index()
    scale = max(1.0, float(right["weighted_shortfall_added"].abs().max()))
    assert np.allclose(
        left["weighted_shortfall_added"], right["weighted_shortfall_added"], atol=1e-6 * scale
    )
    assert (left["time_to_survive_days"] == right["time_to_survive_days"]).all()
    assert (left["vulnerable"] == right["vulnerable"]).all()


def test_the_local_executor_gives_the_serial_results() -> None:
    network = load_document(with_assets(1))
    options = ResilienceOptions(k=2, cases_per_task=2)
    serial = resilience(network, options, executor="serial").cases
    local = resilience(network, options, executor="local", workers=2).cases
    columns = ["case", "weighted_shortfall_added", "time_to_survive_days", "vulnerable"]
    pd.testing.assert_frame_equal(serial[columns], local[columns], atol=1e-6)


def test_the_command_ranks_cases_and_refuses_unknown_assets(tmp_path: Path) -> None:
    document = with_mitigations()
    document["scenario"] = [document["scenario"]]  # a table of one row, as files hold it
    write(document, tmp_path / "scenario", "csv")
    runner = CliRunner()
    result = runner.invoke(
        app, ["resilience", str(tmp_path / "scenario"), "--json", "--executor", "serial"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["rows"]["cases"][0]["case"] == "bridge-0"
    assert body["rows"]["cuts"][0]["single_point"] is True
    assert body["rows"]["mitigations"][0]["option"] == "forward-stock"
    assert body["rows"]["mitigations"][0]["cheapest"] is True
    assert body["rows"]["cases"][0]["cheapest_mitigation"] == "forward-stock"
    bad = runner.invoke(
        app, ["resilience", str(tmp_path / "scenario"), "--asset", "bridge-9", "--json"]
    )
    assert bad.exit_code == 2
    assert "unknown assets: bridge-9" in bad.output


def test_a_ray_cluster_gives_the_serial_results(ray_cluster: str) -> None:
    network = load_document(with_mitigations())
    options = ResilienceOptions(k=2, cases_per_task=1)
    serial = resilience(network, options, executor="serial")
    on_ray = resilience(network, options, executor="ray", address=ray_cluster)
    pd.testing.assert_frame_equal(serial.cases, on_ray.cases)
    pd.testing.assert_frame_equal(serial.mitigations, on_ray.mitigations)
    assert on_ray.counts == serial.counts

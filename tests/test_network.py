"""The compiled Network of the tiny scenario, against figures worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

import sustain
from sustain.network import SITE_KINDS, compile_network
from tests.conftest import TINY

MONTH_DAYS = 365.25 / 12


@pytest.fixture(scope="module")
def network() -> sustain.Network:
    return compile_network(sustain.load(TINY))


def test_dimensions_and_periods(network: sustain.Network) -> None:
    assert network.n_periods == 4
    assert network.n_days == 28
    assert network.grid == "week"
    assert network.period_length.tolist() == [7, 7, 7, 7]
    assert list(network.period_start.astype(str)) == [
        "2023-01-02",
        "2023-01-09",
        "2023-01-16",
        "2023-01-23",
    ]
    assert network.demand.shape == (4, 1, 3)


def test_demand_follows_holdings_consumption_and_intensity(network: sustain.Network) -> None:
    bde = network.formations["bde-1"]
    f155, f152, diesel = (network.families[f] for f in ("155mm-NATO", "152mm-Soviet", "diesel"))
    # 10 M109 at 10 rounds/day (low) for two weeks, then 40 rounds/day (high).
    assert network.demand[:, bde, f155] == pytest.approx([700, 700, 2800, 2800])
    # 5 2S3 consume only at high intensity: 30 rounds/day.
    assert network.demand[:, bde, f152] == pytest.approx([0, 0, 1050, 1050])
    # Diesel: 10 M109 at 0.1 then 0.2 m3/day; the 2S3 has no diesel row.
    assert network.demand[:, bde, diesel] == pytest.approx([7, 7, 14, 14])
    assert network.formation_level_days.sum() == 28


def test_production_capacity_is_output_a_production_time_later(network: sustain.Network) -> None:
    line = network.lines["line-155"]
    base = 14000 / MONTH_DAYS
    # Lots take 2 months (60.9 days): everything finished in the 4 weeks was started before
    # the start at the base rate; the change to 700/day on day 17 shows from day 77.9 on.
    assert network.line_production_days[line] == pytest.approx(2 * MONTH_DAYS)
    assert network.line_capacity[:, line] == pytest.approx([7 * base] * 4, rel=1e-12)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        # No production time: the change to 700/day on 2023-01-19 (day 17) leaves three days of
        # week 3 at the old rate.
        (0.0, lambda b: [7 * b, 7 * b, 3 * b + 4 * 700, 7 * 700]),
        # 10 days: day 17's starts finish on day 27, the last day of week 4.
        (10.0, lambda b: [7 * b, 7 * b, 7 * b, 6 * b + 700]),
        # 2.5 days: day 17's starts finish half on day 19, half on day 20; day 18's on 20 and 21.
        (2.5, lambda b: [7 * b, 7 * b, 5.5 * b + 0.5 * 700 + 700, 7 * 700]),
    ],
)
def test_production_time_shifts_output_by_the_day(
    tiny: sustain.Scenario, days: float, expected: Callable[[float], list[float]]
) -> None:
    lines = [line.model_copy(update={"production_time": days}) for line in tiny.production_lines]
    network = sustain.compile_network(tiny.model_copy(update={"production_lines": tuple(lines)}))
    capacity = network.line_capacity[:, network.lines["line-155"]]
    assert capacity == pytest.approx(expected(14000 / MONTH_DAYS), rel=1e-12)


def test_lanes(network: sustain.Network) -> None:
    sea, rail = network.lanes["sea"], network.lanes["rail"]
    assert network.lane_origin[sea] == network.sites["factory"]
    assert network.lane_destination[rail] == network.sites["front"]
    assert network.lane_transit_days[sea] == 14
    assert network.lane_transit_days[rail] == 2  # kept in days, never rounded to weeks
    assert network.lane_capacity[:, rail] == pytest.approx([700.0] * 4)
    assert network.lane_cost[sea] == 50.0


def test_lane_asset_incidence_includes_site_assets(network: sustain.Network) -> None:
    incidence = network.lane_assets.toarray()
    bridge, yard = network.assets["bridge"], network.assets["hub-yard"]
    sea, rail = network.lanes["sea"], network.lanes["rail"]
    assert incidence[rail, bridge] == 1 and incidence[sea, bridge] == 0
    # The hub yard is a whole-site asset: every lane touching the hub depends on it.
    assert incidence[rail, yard] == 1 and incidence[sea, yard] == 1


def test_stocks_pledges_and_owners(network: sustain.Network) -> None:
    shells = np.flatnonzero(network.stock_item == network.items["shell-152"])[0]
    assert network.stock_quantity[shells] == 5000
    assert network.stock_floor[shells] == 1000
    assert np.isnan(network.stock_target[shells])
    assert network.stock_nation[shells] == network.nations["POL"]  # the hub's owner
    pledge = network.pledges["p1"]
    assert network.pledge_period[pledge] == 1  # available 2023-01-10, in the second week
    assert network.pledge_quantity[pledge] == 3000
    assert network.order_quantity[0] == 100000
    assert str(network.order_date[0]) == "2022-06-01"


def test_compatibility(network: sustain.Network) -> None:
    m109, s2s3 = network.systems["m109"], network.systems["2s3"]
    f155, f152 = network.families["155mm-NATO"], network.families["152mm-Soviet"]
    assert network.system_family[m109, f155] and not network.system_family[m109, f152]
    assert network.system_family[s2s3, f152] and not network.system_family[s2s3, f155]
    assert network.formation_family[0].all()
    assert network.item_family[network.items["shell-155"]] == f155


def test_sites(network: sustain.Network) -> None:
    hub = network.sites["hub"]
    assert SITE_KINDS[network.site_kind[hub]] == "hub"
    assert network.site_throughput[hub] == 500
    assert np.isinf(network.site_storage[hub])
    assert network.site_nation[hub] == network.nations["POL"]


def test_arrays_are_read_only(network: sustain.Network) -> None:
    for name, array in network.arrays().items():
        assert not array.flags.writeable, name
    with pytest.raises(ValueError, match="read-only"):
        network.demand[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        network.lane_assets.data[0] = 0


def test_units_convert_within_a_family_and_partial_last_period(tmp_path: Path) -> None:
    document = yaml.safe_load(TINY.read_text())
    document["scenario"]["horizon"] = "30 days"  # four weeks and two days
    document["items"].append(
        {
            "id": "diesel-l",
            "supply_class": "fuel",
            "family": "diesel",
            "unit": "L",
            "mass": "0.84 kg",
        }
    )
    document["stocks"].append({"site": "hub", "item": "diesel-l", "quantity": "2 m3"})
    path = tmp_path / "litres.yaml"
    path.write_text(yaml.safe_dump(document))
    network = compile_network(sustain.load(path))
    litre = network.items["diesel-l"]
    assert network.item_family_factor[litre] == pytest.approx(0.001)  # litres to m3
    row = np.flatnonzero(network.stock_item == litre)[0]
    assert network.stock_quantity[row] == pytest.approx(2000.0)  # written in m3, kept in L
    assert network.period_length.tolist() == [7, 7, 7, 7, 2]
    diesel = network.families["diesel"]
    assert network.demand[4, 0, diesel] == pytest.approx(2 * 0.2 * 10)
    assert network.lane_capacity[4, network.lanes["rail"]] == pytest.approx(200.0)

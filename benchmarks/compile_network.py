"""Benchmark: load and compile generated scenarios of growing size.

For each rung (lanes, items) it generates a valid scenario, writes it as a CSV folder, then
times loading (read + validate + cross-check) and compiling (Scenario -> Network), and measures
the peak memory the compile allocates (tracemalloc, numpy included).

    .venv/bin/python benchmarks/compile_network.py            # the whole ladder
    .venv/bin/python benchmarks/compile_network.py --quick    # the two smallest rungs
"""

from __future__ import annotations

import argparse
import platform
import random
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sustain
from sustain.scenario.writers import write

RUNGS = [
    (100, 10, "week"),
    (1_000, 50, "week"),
    (10_000, 200, "week"),
    (10_000, 200, "day"),
    (100_000, 200, "week"),
]


def generate(
    n_lanes: int,
    n_items: int,
    period: str,
    seed: int = 0,
    *,
    n_assets: int | None = None,
    site_wide_share: float = 0.0,
    weeks: int = 52,
) -> dict[str, list[Any]]:
    """A valid layered network: sources -> hubs -> front supply points. Site 0 holds every
    item and reaches every hub through a chain of lanes, so every formation can be reached.
    Lanes depend on 0 to 2 random bridges (`n_assets` of them, a tenth of the lanes by
    default); `site_wide_share` of the assets are instead ports or airbases whose whole site
    fails with them."""
    rng = random.Random(seed)
    start = date(2023, 1, 2)

    def week(k: float) -> str:  # the week k/52 of the way into the horizon, never past its end
        return (start + timedelta(weeks=int(k * weeks / 52))).isoformat()

    n_sites = max(10, n_lanes // 4)
    n_sources = max(2, n_sites // 10)
    n_fronts = max(2, n_sites // 4)
    n_hubs = n_sites - n_sources - n_fronts
    sources = [f"src-{i}" for i in range(n_sources)]
    hubs = [f"hub-{i}" for i in range(n_hubs)]
    fronts = [f"front-{i}" for i in range(n_fronts)]
    layer = {s: 0 for s in sources} | {h: 1 + i for i, h in enumerate(hubs)}
    layer |= {f: n_hubs + 1 for f in fronts}
    nations = [f"N{i}" for i in range(12)]

    def site(name: str, kind: str) -> dict[str, Any]:
        return {
            "id": name,
            "kind": kind,
            "lat": f"{rng.uniform(40, 55):.4f}",
            "lon": f"{rng.uniform(-10, 40):.4f}",
            "nation": rng.choice(nations),
            "throughput": f"{rng.randint(500, 5000)} t/day",
        }

    sites = [site(s, "depot") for s in sources] + [site(h, "hub") for h in hubs]
    sites += [site(f, "front") for f in fronts]
    assets = [
        {"id": f"asset-{i}", "kind": "bridge", "recovery_time": f"{rng.randint(3, 90)} days"}
        for i in range(n_assets if n_assets is not None else max(5, n_lanes // 10))
    ]
    for asset in assets[: round(site_wide_share * len(assets))]:
        asset["kind"] = rng.choice(["port", "airbase"])
        asset["site"] = rng.choice(sources + hubs)
    lane_assets = [a["id"] for a in assets if "site" not in a]
    pairs: list[tuple[str, str]] = []
    for i, hub in enumerate(hubs):  # chain: every hub reachable from src-0
        pairs.append((sources[0] if i == 0 else rng.choice([sources[0], *hubs[:i]]), hub))
    pairs += [(rng.choice(hubs), front) for front in fronts]
    everything = sources + hubs + fronts
    while len(pairs) < n_lanes:
        a, b = rng.sample(everything, 2)
        if layer[a] < layer[b]:
            pairs.append((a, b))
    modes = ["rail", "road", "sea", "air"]
    lanes = [
        {
            "id": f"lane-{k}",
            "from": a,
            "to": b,
            "mode": rng.choice(modes),
            "capacity": f"{rng.randint(50, 3000)} t/day",
            "transit_time": f"{rng.randint(1, 20)} days",
            "cost": f"{rng.randint(10, 500)} EUR/t",
            "assets": ";".join(rng.sample(lane_assets, min(len(lane_assets), rng.randint(0, 2)))),
        }
        for k, (a, b) in enumerate(pairs[:n_lanes])
    ]
    n_families = max(2, n_items // 4)
    families = [f"fam-{i}" for i in range(n_families)]
    items = [
        {
            "id": f"item-{i}",
            "supply_class": "ammunition",
            "family": families[i % n_families],
            "unit": "round",
            "mass": f"{rng.randint(1, 60)} kg",
        }
        for i in range(n_items)
    ]
    n_systems = max(2, -(-n_families // 2))  # two families each: every family is used
    systems = []
    consumption = []
    for k in range(n_systems):
        used = {families[(2 * k) % n_families], families[(2 * k + 1) % n_families]}
        used.add(rng.choice(families))
        systems.append({"id": f"sys-{k}", "standard": "nato", "families": ";".join(sorted(used))})
        for family in sorted(used):
            for level, rate in (("low", rng.randint(1, 10)), ("high", rng.randint(10, 80))):
                consumption.append(
                    {
                        "system": f"sys-{k}",
                        "family": family,
                        "intensity": level,
                        "rate": f"{rate} rounds/day",
                    }
                )
    n_formations = max(2, n_lanes // 50)
    formations, holdings, intensity = [], [], []
    for k in range(n_formations):
        name = f"bde-{k}"
        formations.append(
            {"id": name, "nation": "N0", "site": rng.choice(fronts), "priority": rng.randint(1, 3)}
        )
        for system in rng.sample(range(n_systems), min(3, n_systems)):
            holdings.append(
                {"formation": name, "system": f"sys-{system}", "quantity": rng.randint(5, 40)}
            )
        intensity.append({"formation": name, "start": start.isoformat(), "level": "low"})
        if week(22) != start.isoformat():  # a horizon too short to change has one level
            intensity.append({"formation": name, "start": week(22), "level": "high"})
    stocks = [
        {"site": sources[0], "item": i["id"], "quantity": "100000 rounds", "floor": "20000 rounds"}
        for i in items
    ]
    for source in sources[1:]:
        for item in rng.sample(items, min(10, n_items)):
            stocks.append(
                {
                    "site": source,
                    "item": item["id"],
                    "quantity": f"{rng.randint(1000, 50000)} rounds",
                }
            )
    lines = [
        {
            "id": f"line-{k}",
            "site": rng.choice(sources),
            "item": items[k % n_items]["id"],
            "capacity": f"{rng.randint(1000, 30000)} rounds/month",
            "production_time": "12 months",
        }
        for k in range(max(2, n_items // 2))
    ]
    changes = [
        {"line": line["id"], "start": week(26), "capacity": "40000 rounds/month"}
        for line in lines[::3]
    ]
    pledges = [
        {
            "id": f"pledge-{k}",
            "donor": rng.choice(nations),
            "item": rng.choice(items)["id"],
            "site": rng.choice(sources),
            "quantity": f"{rng.randint(100, 10000)} rounds",
            "available": (
                f"2023-{rng.randint(1, 12):02d}-01" if weeks == 52 else week(rng.randint(0, 51))
            ),
        }
        for k in range(max(2, n_items))
    ]
    return {
        "scenario": [
            {
                "name": f"generated-{n_lanes}",
                "start": start.isoformat(),
                "horizon": f"{weeks} weeks",
                "period": period,
            }
        ],
        "nations": [{"id": n} for n in nations],
        "items": items,
        "systems": systems,
        "consumption": consumption,
        "formations": formations,
        "holdings": holdings,
        "intensity": intensity,
        "sites": sites,
        "assets": assets,
        "lanes": lanes,
        "stocks": stocks,
        "production_lines": lines,
        "capacity_changes": changes,
        "pledges": pledges,
    }


def measure(n_lanes: int, n_items: int, period: str, repeats: int) -> dict[str, Any]:
    rows = generate(n_lanes, n_items, period)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "scenario"
        write(rows, folder, "csv")
        start = time.perf_counter()
        scenario = sustain.load(folder)
        load_s = time.perf_counter() - start
    compile_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        network = sustain.compile_network(scenario)
        compile_times.append(time.perf_counter() - start)
    tracemalloc.start()
    sustain.compile_network(scenario)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "lanes": n_lanes,
        "items": n_items,
        "period": period,
        "sites": len(network.sites),
        "periods": network.n_periods,
        "stocks": network.stock_item.size,
        "load_s": load_s,
        "compile_s": min(compile_times),
        "peak_mib": peak / 2**20,
        "network_mib": network.nbytes() / 2**20,
    }


def network_for(n_lanes: int, n_items: int) -> sustain.Network:
    """The generated network of a plan-ladder rung (weekly periods), loaded like a user's."""
    rows = generate(n_lanes, n_items, "week")
    with tempfile.TemporaryDirectory() as tmp:
        write(rows, Path(tmp) / "scenario", "csv")
        return sustain.compile_network(sustain.load(Path(tmp) / "scenario"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the two smallest rungs")
    parser.add_argument("--repeats", type=int, default=3, help="compile runs per rung (best kept)")
    args = parser.parse_args()
    rungs = RUNGS[:2] if args.quick else RUNGS
    print(
        f"python {platform.python_version()}, {platform.machine()}, "
        f"{platform.processor() or 'cpu'}; sustain {sustain.__version__}"
    )
    print(
        "| lanes | items | period | sites | periods | stock rows | load (s) | compile (s) "
        "| compile peak (MiB) | network (MiB) |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n_lanes, n_items, period in rungs:
        r = measure(n_lanes, n_items, period, args.repeats)
        print(
            f"| {r['lanes']:,} | {r['items']} | {r['period']} | {r['sites']:,} | "
            f"{r['periods']} | {r['stocks']:,} | {r['load_s']:.2f} | {r['compile_s']:.3f} | "
            f"{r['peak_mib']:.1f} | {r['network_mib']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

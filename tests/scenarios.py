"""Small scenarios written in code for tests: hand-solvable cases and random networks."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import yaml

import sustain


def load_document(document: dict[str, Any]) -> sustain.Network:
    """Write a scenario document as YAML, load it like a user file, compile it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return sustain.compile_network(sustain.load(path))


def base(days: int = 10, period: str = "day") -> dict[str, Any]:
    """A scenario skeleton: one nation, one ammunition family and one gun that fires it."""
    return {
        "scenario": {
            "name": "case",
            "start": "2024-01-01",
            "horizon": f"{days} days",
            "period": period,
        },
        "nations": [{"id": "A"}],
        "items": [
            {
                "id": "shell",
                "supply_class": "ammunition",
                "family": "fam",
                "unit": "round",
                "mass": "50 kg",
            }
        ],
        "systems": [{"id": "gun", "standard": "nato", "families": "fam"}],
        "consumption": [
            {"system": "gun", "family": "fam", "intensity": "x", "rate": "1 round/day"}
        ],
        "formations": [],
        "holdings": [],
        "intensity": [],
        "sites": [],
        "lanes": [],
        "stocks": [],
    }


def mortar_family(document: dict[str, Any]) -> None:
    """A second, incompatible family: mortar bombs ("other") and the mortar that fires them."""
    document["items"].append(
        {
            "id": "other",
            "supply_class": "ammunition",
            "family": "other",
            "unit": "round",
            "mass": "50 kg",
        }
    )
    document["systems"].append({"id": "mortar", "standard": "soviet", "families": "other"})
    document["consumption"].append(
        {"system": "mortar", "family": "other", "intensity": "x", "rate": "1 round/day"}
    )


def site(document: dict[str, Any], name: str, kind: str = "hub", **extra: Any) -> None:
    document["sites"].append(
        {"id": name, "kind": kind, "lat": 50.0, "lon": 20.0, "nation": "A", **extra}
    )


def lane(
    document: dict[str, Any],
    name: str,
    origin: str,
    destination: str,
    capacity: str,
    transit: str = "0 days",
    **extra: Any,
) -> None:
    document["lanes"].append(
        {
            "id": name,
            "from": origin,
            "to": destination,
            "mode": "rail",
            "capacity": capacity,
            "transit_time": transit,
            **extra,
        }
    )


def formation(
    document: dict[str, Any],
    name: str,
    at: str,
    guns: int,
    priority: float = 1.0,
    system: str = "gun",
) -> None:
    """A formation whose `guns` systems each use 1 unit a day: demand = guns per day."""
    document["formations"].append({"id": name, "nation": "A", "site": at, "priority": priority})
    document["holdings"].append({"formation": name, "system": system, "quantity": guns})
    document["intensity"].append({"formation": name, "start": "2024-01-01", "level": "x"})


def random_network(seed: int) -> dict[str, Any]:
    """A random small layered network: depots and a factory feeding hubs feeding fronts,
    two families (one with two interchangeable items), random capacities, floors, pledges."""
    rng = random.Random(seed)
    days = rng.choice([6, 8, 10])
    doc = base(days=days)
    doc["items"] = [
        {"id": "a1", "supply_class": "ammunition", "family": "A", "unit": "round", "mass": "40 kg"},
        {
            "id": "a2",
            "supply_class": "ammunition",
            "family": "A",
            "unit": "round",
            "mass": "60 kg",
            "criticality": 1.5,
        },
        {"id": "b1", "supply_class": "fuel", "family": "B", "unit": "m3", "mass": "0.8 t"},
    ]
    doc["systems"] = [
        {"id": "gun", "standard": "nato", "families": "A"},
        {
            "id": "truck",
            "standard": "nato",
            "families": "B",
            "breakdown_rate": f"{rng.randint(1, 4)} %/day",
            "repair_time": f"{rng.randint(1, 3)} days",
            "mass": f"{rng.randint(2, 12)} t",
        },
    ]
    doc["consumption"] = [
        {
            "system": "gun",
            "family": "A",
            "intensity": "x",
            "rate": f"{rng.randint(1, 5)} rounds/day",
        },
        {"system": "truck", "family": "B", "intensity": "x", "rate": "0.1 m3/day"},
    ]
    n_depots, n_hubs, n_fronts = rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 3)
    depots = [f"d{i}" for i in range(n_depots)]
    hubs = [f"h{i}" for i in range(n_hubs)]
    fronts = [f"f{i}" for i in range(n_fronts)]
    for name in depots:
        site(doc, name, "depot")
    site(doc, "plant", "factory")
    for name in hubs:
        site(doc, name, "hub", throughput=f"{rng.randint(5, 40)} t/day")
    for name in fronts:
        site(doc, name, "front", storage=f"{rng.randint(200, 2000)} t")
    k = 0
    for hub in hubs:
        for source in [*depots, "plant"]:
            if rng.random() < 0.8 or source == depots[0]:
                lane(
                    doc,
                    f"l{k}",
                    source,
                    hub,
                    f"{rng.randint(2, 30)} t/day",
                    f"{rng.randint(0, 3)} days",
                )
                k += 1
    for front in fronts:
        for hub in hubs:
            if rng.random() < 0.7 or hub == hubs[0]:
                lane(
                    doc,
                    f"l{k}",
                    hub,
                    front,
                    f"{rng.randint(2, 30)} t/day",
                    f"{rng.randint(0, 2)} days",
                )
                k += 1
    # A workshop repairing trucks, with lanes back from some fronts and out to others.
    site(doc, "workshop", "repair_hub", repair_capacity=f"{rng.randint(1, 4)} systems/day")
    for front in fronts:
        for origin, destination in ((front, "workshop"), ("workshop", front)):
            if rng.random() < 0.7:
                lane(
                    doc,
                    f"l{k}",
                    origin,
                    destination,
                    f"{rng.randint(5, 40)} t/day",
                    f"{rng.randint(0, 2)} days",
                )
                k += 1
    for depot in depots:
        for item, unit in (("a1", "rounds"), ("a2", "rounds"), ("b1", "m3")):
            if rng.random() < 0.7 or depot == depots[0]:
                quantity = rng.randint(50, 2000)
                doc["stocks"].append(
                    {
                        "site": depot,
                        "item": item,
                        "quantity": f"{quantity} {unit}",
                        "floor": f"{rng.randint(0, quantity)} {unit}",
                    }
                )
    doc["production_lines"] = [
        {
            "id": "line",
            "site": "plant",
            "item": "a1",
            "capacity": f"{rng.randint(10, 200)} rounds/day",
        }
    ]
    doc["pledges"] = [
        {
            "id": "p",
            "donor": "A",
            "item": "a2",
            "site": depots[-1],
            "quantity": f"{rng.randint(10, 500)} rounds",
            "available": f"2024-01-0{rng.randint(2, 5)}",
        }
    ]
    for i, front in enumerate(fronts):
        name = f"bde{i}"
        doc["formations"].append(
            {"id": name, "nation": "A", "site": front, "priority": rng.choice([1, 2, 3])}
        )
        doc["holdings"].append({"formation": name, "system": "gun", "quantity": rng.randint(5, 60)})
        doc["holdings"].append(
            {"formation": name, "system": "truck", "quantity": rng.randint(5, 60)}
        )
        doc["intensity"].append({"formation": name, "start": "2024-01-01", "level": "x"})
    return doc


def repair_case(days: int = 10) -> dict[str, Any]:
    """100 guns failing at 1 %/day (one a day), repaired in 5 days with one kit each."""
    doc = base(days=days)
    doc["items"].append(
        {
            "id": "kit",
            "supply_class": "spare_parts",
            "family": "kits",
            "unit": "kit",
            "mass": "100 kg",
        }
    )
    doc["systems"][0].update(
        {
            "breakdown_rate": "1 %/day",
            "repair_time": "5 days",
            "spare_part": "kit",
            "spare_parts_per_repair": "1 kit",
            "mass": "40 t",
        }
    )
    site(doc, "depot", "depot")
    lane(doc, "parts", "depot", "workshop", "100 t/day")
    doc["stocks"] += [
        {"site": "depot", "item": "shell", "quantity": "100000 rounds"},
        {"site": "workshop", "item": "kit", "quantity": "100 kits"},
    ]
    return doc


def evacuation_case(evacuation: str = "20 t/day") -> dict[str, Any]:
    """The repair case with the brigade at a front, its hulls evacuated to the workshop over a
    lane of `evacuation` (20 t/day: half a 40-t hull a day) and back in a day."""
    doc = repair_case()
    site(doc, "front", "front")
    site(doc, "workshop", "repair_hub", repair_capacity="2 systems/day")
    lane(doc, "rail", "depot", "front", "100 t/day")
    lane(doc, "evacuation", "front", "workshop", evacuation, transit="1 day")
    lane(doc, "back", "workshop", "front", "400 t/day", transit="1 day")
    formation(doc, "bde", "front", guns=100)
    return doc

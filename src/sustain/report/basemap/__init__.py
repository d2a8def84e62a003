"""Country borders and coasts for the report's map, from a bundled Natural Earth file (see
NOTICE.md): the TopoJSON arcs, decoded once, cut to the part of the world a theatre spans."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

import numpy as np

from sustain.arrays import FloatArray

SOURCE = "Natural Earth 4.1.0 (1:50m, public domain), via world-atlas 2.0.2"


@cache
def _arcs() -> tuple[FloatArray, ...]:
    """Every arc (a border or coast, each once) as (points, 2) longitude and latitude."""
    document = json.loads(files(__package__).joinpath("countries-50m.json").read_text())
    scale = np.asarray(document["transform"]["scale"])
    translate = np.asarray(document["transform"]["translate"])
    # Quantised TopoJSON: each arc's first point is absolute, the rest deltas from the last.
    return tuple(
        np.cumsum(np.asarray(arc, dtype=np.float64), axis=0) * scale + translate
        for arc in document["arcs"]
    )


def borders(lon: tuple[float, float], lat: tuple[float, float]) -> tuple[FloatArray, FloatArray]:
    """The arcs with a point inside the box, as longitudes and latitudes with NaN between
    arcs (one line trace draws them all)."""
    kept = [
        arc
        for arc in _arcs()
        if (
            (arc[:, 0] >= lon[0])
            & (arc[:, 0] <= lon[1])
            & (arc[:, 1] >= lat[0])
            & (arc[:, 1] <= lat[1])
        ).any()
    ]
    if not kept:
        return np.zeros(0), np.zeros(0)
    gap = np.full((1, 2), np.nan)
    joined = np.concatenate([part for arc in kept for part in (arc, gap)])
    return joined[:, 0], joined[:, 1]

"""Reachability along lanes, for many seed sets at once (scipy's compressed graphs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_array
from scipy.sparse.csgraph import breadth_first_order


def reachable(
    n_nodes: int,
    origin: npt.NDArray[np.integer[Any]],
    destination: npt.NDArray[np.integer[Any]],
    seeds: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """(sets, nodes): the nodes reachable along the arcs origin -> destination from any seed
    node of each set (a seed reaches itself). Reverse the arcs to look upstream."""
    seeds = np.atleast_2d(seeds)
    reach = np.zeros_like(seeds, dtype=bool)
    arcs = coo_array(
        (np.ones(origin.size), (origin, destination)), shape=(n_nodes + 1, n_nodes + 1)
    ).tocsr()
    for k in range(seeds.shape[0]):
        start = np.flatnonzero(seeds[k])
        if start.size == 0:
            continue
        # A super-source (node n_nodes) with an arc to every seed of the set.
        feed = coo_array(
            (np.ones(start.size), (np.full(start.size, n_nodes), start)),
            shape=(n_nodes + 1, n_nodes + 1),
        ).tocsr()
        order = breadth_first_order(arcs + feed, n_nodes, directed=True, return_predecessors=False)
        reach[k, order[order < n_nodes]] = True
    return reach

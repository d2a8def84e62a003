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
    n_sets = seeds.shape[0]
    reach = np.zeros_like(seeds, dtype=bool)
    # One graph for all the sets: a super-source per set (node n_nodes + k) with an arc to
    # every seed of the set, searched from each super-source in turn.
    feed_set, feed_node = np.nonzero(seeds)
    arcs = coo_array(
        (
            np.ones(origin.size + feed_set.size),
            (
                np.concatenate([origin, n_nodes + feed_set]),
                np.concatenate([destination, feed_node]),
            ),
        ),
        shape=(n_nodes + n_sets, n_nodes + n_sets),
    ).tocsr()
    for k in np.unique(feed_set):
        order = breadth_first_order(arcs, n_nodes + k, directed=True, return_predecessors=False)
        reach[k, order[order < n_nodes]] = True
    return reach

"""A process that writes one large run into a store, for tests/test_store.py to kill: it says
"writing" (flushed) just before the run's tables and status go in, in one transaction.

    python tests/store_writer.py DATABASE_URL ROWS
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from sustain.results import Run
from sustain.store import Store


def large_run(rows: int) -> Run:
    """An info run whose sites table has `rows` rows (tens of MB of Parquet)."""
    rng = np.random.default_rng(rows)
    sites = pd.DataFrame(
        {
            "site": [f"site-{k}" for k in range(rows)],
            "kind": "depot",
            "nation": "POL",
            "release": "",
            "lat": rng.uniform(-60, 60, rows),
            "lon": rng.uniform(-180, 180, rows),
            "throughput_t_per_day": rng.uniform(0, 1000, rows),
            "storage_t": rng.uniform(0, 1e5, rows),
            "repair_capacity_per_day": rng.uniform(0, 5, rows),
        }
    )
    return Run(engine="info", scenario={"name": "large"}, options={}, tables={"sites": sites})


def main() -> None:
    url, rows = sys.argv[1], int(sys.argv[2])
    store = Store.open(url)
    run = large_run(rows)
    store.begin(run.id, run.engine, None)
    print(f"begun {run.id}", flush=True)
    print("writing", flush=True)
    store.finish(run)
    print("finished", flush=True)


if __name__ == "__main__":
    main()

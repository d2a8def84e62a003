"""Results are tidy tables; this writes them out, each as CSV and Parquet, atomically."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sustain.output import atomic_output


def write_tables(tables: Mapping[str, pd.DataFrame], out: Path, *, force: bool = False) -> None:
    """Write `name.csv` and `name.parquet` for every table into the folder `out`."""
    with atomic_output(out, force=force, is_dir=True) as folder:
        for name, table in tables.items():
            table.to_csv(folder / f"{name}.csv", index=False)
            table.to_parquet(folder / f"{name}.parquet", index=False)

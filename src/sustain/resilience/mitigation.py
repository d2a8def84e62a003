"""The scenario's mitigation options tried on the vulnerabilities and single points of
failure: each option's network swept for those cases, one task per option."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from sustain.execute import run_tasks
from sustain.network import Network
from sustain.options import ResilienceOptions
from sustain.resilience.ranking import Progress, Swept, ranked_cases

MITIGATION_COLUMNS = [
    "case",
    "option",
    "name",
    "kinds",
    "cost_eur",
    "weighted_shortfall_removed",
    "removes_all_added",
    "weighted_shortfall_added",
    "time_to_recover_days",
    "time_to_survive_days",
    "vulnerable",
    "cheapest",
]


def mitigate(
    n: Network,
    options: ResilienceOptions,
    table: pd.DataFrame,
    cuts: pd.DataFrame,
    *,
    executor: str,
    workers: int | None,
    address: str | None,
    progress: Progress | None,
) -> pd.DataFrame:
    """Each mitigation option against each single asset whose loss is a vulnerability, or cuts
    a front off and adds shortfall: the case re-run on the network with the option taken (one
    task per option). An option removes what the loss adds with the option in place."""
    single_points = set(cuts.loc[cuts["single_point"], "cut_assets"])
    singles = table[table["assets"] == 1]
    target = singles[
        singles["vulnerable"]
        | (singles["case"].isin(single_points) & (singles["weighted_shortfall_added"] > 0))
    ]
    if not n.mitigations or target.empty or not options.mitigate:
        return pd.DataFrame(columns=MITIGATION_COLUMNS)
    cases = list(target["case"])
    added_before = target["weighted_shortfall_added"].to_numpy()
    per_option = replace(options, k=1, assets=tuple(cases))
    frames: list[pd.DataFrame] = [pd.DataFrame()] * len(n.mitigations)
    tasks = list(range(len(n.mitigations)))
    finished = run_tasks(
        _option_cases,
        (n, per_option),
        tasks,
        executor=executor,
        workers=workers,
        address=address,
    )
    for done, (k, taken) in enumerate(finished, start=1):
        if progress is not None:
            progress("trying mitigation options", done, len(tasks))
        option = n.mitigations[k]
        after = taken.table.set_index("case").loc[cases].reset_index()
        added_after = after["weighted_shortfall_added"].to_numpy()
        tolerance = 1e-7 * max(1.0, abs(taken.base_weighted_shortfall))
        frames[k] = pd.DataFrame(
            {
                "case": cases,
                "option": option.id,
                "name": option.name,
                "kinds": ", ".join(option.kinds),
                "cost_eur": option.cost,
                "weighted_shortfall_removed": np.where(
                    np.abs(added_before - added_after) > tolerance, added_before - added_after, 0.0
                ),
                "removes_all_added": added_after <= tolerance,
                "weighted_shortfall_added": added_after,
                "time_to_recover_days": after["time_to_recover_days"],
                "time_to_survive_days": after["time_to_survive_days"],
                "vulnerable": after["vulnerable"],
            }
        )
    found = pd.concat(frames, ignore_index=True)
    # Per case: the options that remove all the loss adds, cheapest first; then the others,
    # the most they remove first.
    order = pd.DataFrame(
        {
            "case": found["case"].map({case: k for k, case in enumerate(cases)}),
            "partial": ~found["removes_all_added"],
            "fix_cost": found["cost_eur"].where(found["removes_all_added"], 0.0),
            "removed": -found["weighted_shortfall_removed"],
            "cost": found["cost_eur"],
        }
    )
    found = found.loc[order.sort_values(list(order.columns), kind="stable").index]
    found = found.reset_index(drop=True)
    found["cheapest"] = ~found.duplicated("case") & found["removes_all_added"]
    return found


def _option_cases(shared: tuple[Network, ResilienceOptions], k: int) -> Swept:
    """The cases on the network with mitigation option k taken, in this process."""
    network, options = shared
    return ranked_cases(
        network.mitigations[k].network,
        options,
        executor="serial",
        workers=None,
        address=None,
        progress=None,
    )

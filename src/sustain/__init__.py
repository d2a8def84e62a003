"""Sustain: plan and stress-test the sustainment of a partner force by a coalition of donors."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sustain.scenario import Scenario, ScenarioError, load

if TYPE_CHECKING:
    from sustain.network import Network, compile_network

__all__ = ["Network", "Scenario", "ScenarioError", "compile_network", "load"]
__version__ = "0.1.0"

# The engines and the Network, imported on first use (`sustain.plan.plan(network)` after
# `import sustain`): `import sustain` stays quick for the command line and for reading
# scenarios.
ENGINES = ("plan", "industry", "simulate", "resilience")
LAZY = {"Network": "sustain.network", "compile_network": "sustain.network"}


def __getattr__(name: str) -> Any:
    if name in ENGINES:
        return importlib.import_module(f"sustain.{name}")
    if name in LAZY:
        return getattr(importlib.import_module(LAZY[name]), name)
    raise AttributeError(f"module 'sustain' has no attribute {name!r}")

"""Sustain: plan and stress-test the sustainment of a partner force by a coalition of donors."""

from __future__ import annotations

import importlib
from types import ModuleType

from sustain.network import Network, compile_network
from sustain.scenario import Scenario, ScenarioError, load

__all__ = ["Network", "Scenario", "ScenarioError", "compile_network", "load"]
__version__ = "0.1.0"

# The engines, imported on first use (`sustain.plan.plan(network)` after `import sustain`):
# `import sustain` stays quick for the command line and for reading scenarios.
ENGINES = ("plan", "industry", "simulate", "resilience")


def __getattr__(name: str) -> ModuleType:
    if name in ENGINES:
        return importlib.import_module(f"sustain.{name}")
    raise AttributeError(f"module 'sustain' has no attribute {name!r}")

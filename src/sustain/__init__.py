"""Sustain: plan and stress-test the sustainment of a partner force by a coalition of donors."""

from sustain.network import Network, compile_network
from sustain.scenario import Scenario, ScenarioError, load

__all__ = ["Network", "Scenario", "ScenarioError", "compile_network", "load"]
__version__ = "0.1.0"

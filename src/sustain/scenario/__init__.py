"""The scenario: what a planner writes, validated and in canonical units."""

from sustain.scenario.errors import Problem, ScenarioError
from sustain.scenario.load import load
from sustain.scenario.schema import TABLES, Scenario

__all__ = ["TABLES", "Problem", "Scenario", "ScenarioError", "load"]

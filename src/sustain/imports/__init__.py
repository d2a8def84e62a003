"""Importing public data into scenarios: the Kiel Institute's Ukraine Support Tracker."""

"""Experiment tracking: MLflow adapter, in-memory tracker, CO2 accounting, lineage."""

from gazer.tracking.co2 import Emissions, measure_emissions
from gazer.tracking.lineage import git_commit
from gazer.tracking.memory import MemoryTracker
from gazer.tracking.protocol import Tracker
from gazer.tracking.resolve import tracker_from_settings

__all__ = [
    "Emissions",
    "MemoryTracker",
    "Tracker",
    "git_commit",
    "measure_emissions",
    "tracker_from_settings",
]

"""Pick the tracker the settings ask for."""

from __future__ import annotations

from gazer.settings import Settings
from gazer.tracking.memory import MemoryTracker
from gazer.tracking.protocol import Tracker


def tracker_from_settings(settings: Settings) -> Tracker:
    """MLflow at the configured URI, or an in-memory tracker when tracking is off."""
    if not settings.tracking.enabled or settings.tracking_uri.startswith("memory"):
        return MemoryTracker()
    from gazer.tracking.mlflow import MlflowTracker

    return MlflowTracker(settings.tracking_uri, settings.mlflow_artifact_uri)

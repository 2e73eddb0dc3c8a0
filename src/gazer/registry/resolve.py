"""Pick the registry the settings ask for."""

from __future__ import annotations

from gazer.registry.memory import MemoryRegistry
from gazer.registry.protocol import Registry
from gazer.settings import Settings


def registry_from_settings(settings: Settings) -> Registry:
    """The MLflow registry at the tracking URI, or an in-memory one when tracking is off."""
    if not settings.tracking.enabled or settings.tracking_uri.startswith("memory"):
        return MemoryRegistry()
    from gazer.registry.mlflow import MlflowRegistry

    return MlflowRegistry(settings.tracking_uri, settings.mlflow_artifact_uri)

"""gazer: a local-first MLOps platform."""

from gazer.core.artifacts import ArtifactRef, Metrics
from gazer.core.context import StepContext, current
from gazer.core.pipeline import Pipeline
from gazer.core.runner import Runner
from gazer.core.runs import RunRecord, SqlRunStore, StepRecord
from gazer.core.step import Step, step
from gazer.errors import GazerError
from gazer.settings import Settings, get_settings

__all__ = [
    "ArtifactRef",
    "GazerError",
    "Metrics",
    "Pipeline",
    "RunRecord",
    "Runner",
    "Settings",
    "SqlRunStore",
    "Step",
    "StepContext",
    "StepRecord",
    "current",
    "get_settings",
    "step",
]

"""The ``Tracker`` protocol: where runs log params, metrics, artifacts and datasets."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gazer.spec import ServiceSpec


@runtime_checkable
class Tracker(Protocol):
    """An experiment tracker; every call names the tracking run it writes to."""

    def start_run(self, experiment: str, name: str, tags: Mapping[str, str]) -> str:
        """Open a run in ``experiment`` and return its id."""

    def reopen_run(self, run_id: str) -> None:
        """Mark a finished or failed run as running again (for ``--resume``)."""

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, float], step: int | None = None
    ) -> None: ...

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None: ...

    def log_dataset(
        self,
        run_id: str,
        *,
        name: str,
        digest: str,
        source: str,
        schema: Mapping[str, str],
        rows: int | None,
        context: str,
    ) -> None:
        """Record a dataset input with its content hash."""

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    def end_run(self, run_id: str, status: str) -> None:
        """Close the run: ``status`` is succeeded, failed or interrupted."""

    def run_url(self, run_id: str) -> str:
        """Where a person can look at the run."""

    def run_metrics(self, run_id: str) -> dict[str, float]:
        """The latest value of each metric of a run (``{}`` for an unknown run)."""

    def metric_history(self, run_id: str) -> dict[str, list[tuple[int, float]]]:
        """Every metric of a run as ``[(step, value), ...]`` sorted by step (per-epoch
        curves); ``{}`` for an unknown run."""

    def list_artifacts(self, run_id: str) -> list[tuple[str, int]]:
        """Every artifact file of a run: ``(path, bytes)``, sorted by path."""

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """One artifact file's content (``path`` as ``list_artifacts`` gives it)."""

    def describe(self) -> ServiceSpec | None:
        """How another process opens this tracker (``None``: only this process sees it)."""

"""The ``Registry`` protocol: model versions, aliases and their lineage."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

CHAMPION, CHALLENGER = "champion", "challenger"


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model."""

    name: str
    version: int
    aliases: tuple[str, ...]
    tags: Mapping[str, str]
    source: str
    run_id: str | None
    created_at: float

    @property
    def metrics(self) -> dict[str, float]:
        """Metrics recorded at registration (tags ``metric.<name>``)."""
        out = {}
        for key, value in self.tags.items():
            if key.startswith("metric."):
                try:
                    out[key[len("metric.") :]] = float(value)
                except ValueError:
                    continue
        return out


@runtime_checkable
class Registry(Protocol):
    """Where model versions are registered and aliased."""

    def register(
        self,
        name: str,
        model: Any,
        *,
        tracking_run_id: str | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        input_example: Any = None,
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name``."""

    def get_version(self, name: str, ref: str | int) -> ModelVersion:
        """A version by number or alias; raise ``ModelNotFound``."""

    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version an alias points to, or ``None``."""

    def set_alias(self, name: str, alias: str, version: int) -> None: ...

    def delete_alias(self, name: str, alias: str) -> None: ...

    def list_models(self) -> list[str]: ...

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Versions of ``name``, newest first; raise ``ModelNotFound``."""

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None: ...

    def model_tags(self, name: str) -> dict[str, str]: ...

    def set_model_tags(self, name: str, tags: Mapping[str, str]) -> None: ...

    def load_model(self, name: str, ref: str | int = CHAMPION) -> Any:
        """The model object of a version, rebuilt from its stored artifact."""

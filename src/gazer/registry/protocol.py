"""The ``Registry`` protocol: model versions, aliases and their lineage."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from gazer.spec import ServiceSpec

CHAMPION, CHALLENGER = "champion", "challenger"
EXAMPLE_TAG = "gazer.input_example"
_EXAMPLE_LIMIT = 4000


# A model's desired traffic, set by a retraining policy (``gazer.triggers.policies``) and
# applied by every server following the model (``Endpoint.apply_traffic_tags``).
TRAFFIC_POLICY_TAG = "gazer.traffic.policy"
TRAFFIC_WEIGHT_TAG = "gazer.traffic.canary_weight"


def encode_example(example: Any) -> str | None:
    """A small input example as JSON (``columns`` + ``data``), or ``None`` if too big."""
    if example is None:
        return None
    if hasattr(example, "columns") and hasattr(example, "to_numpy"):
        payload = {"columns": [str(c) for c in example.columns],
                   "data": example.to_numpy().tolist()}
    elif hasattr(example, "tolist"):
        payload = {"data": example.tolist()}
    else:
        payload = {"data": example}
    text = json.dumps(payload, default=str)
    return text if len(text) <= _EXAMPLE_LIMIT else None


def version_tags(
    tags: Mapping[str, str] | None, metrics: Mapping[str, float] | None, input_example: Any
) -> dict[str, str]:
    """The tags a new version carries: the caller's, ``metric.*`` and the input example."""
    out = dict(tags or {})
    out.update({f"metric.{k}": repr(float(v)) for k, v in (metrics or {}).items()})
    example = encode_example(input_example)
    if example is not None:
        out[EXAMPLE_TAG] = example
    return out


def decode_example(text: str | None) -> Any:
    """Rebuild an example stored by ``encode_example`` (a DataFrame when it had columns)."""
    if not text:
        return None
    payload = json.loads(text)
    if "columns" in payload:
        import pandas as pd

        return pd.DataFrame(payload["data"], columns=payload["columns"])
    import numpy as np

    return np.asarray(payload["data"])


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

    def describe(self) -> ServiceSpec | None:
        """How another process opens this registry (``None``: only this process sees it)."""

"""``MlflowRegistry``: the MLflow model registry (same backend as tracking).

Models are saved in their MLflow flavour (scikit-learn, PyTorch, pyfunc), so
``mlflow models serve`` and any MLflow tool can read them; other objects are stored with
cloudpickle beside a small ``gazer-model.json``. This module is the only one in
``registry/`` that imports mlflow; its errors become ``ModelNotFound`` or
``TrackingError`` here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gazer.errors import ModelNotFound, TrackingError
from gazer.registry.protocol import CHAMPION, ModelVersion, version_tags
from gazer.spec import ServiceSpec
from gazer.tracking.mlflow import MlflowTracker


@dataclasses.dataclass(frozen=True)
class MlflowRegistrySpec(ServiceSpec):
    """The MLflow registry at a tracking URI, with its artifact root."""

    tracking_uri: str
    artifact_uri: str | None

    def open(self) -> MlflowRegistry:
        return MlflowRegistry(self.tracking_uri, self.artifact_uri)

_PICKLE_MARKER = "gazer-model.json"


class MlflowRegistry:
    """Register, alias and load models in MLflow at ``tracking_uri``."""

    def __init__(self, tracking_uri: str, artifact_uri: str | None = None) -> None:
        self.tracker = MlflowTracker(tracking_uri, artifact_uri)

    def describe(self) -> MlflowRegistrySpec:
        return MlflowRegistrySpec(self.tracker.tracking_uri, self.tracker.artifact_uri)

    @property
    def client(self) -> Any:
        return self.tracker.client

    @contextlib.contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except (ModelNotFound, TrackingError):
            raise
        except Exception as exc:
            code = getattr(exc, "error_code", "")
            if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in str(exc).lower():
                raise ModelNotFound(f"{what}: not in the registry ({exc})") from exc
            if code == "INVALID_PARAMETER_VALUE":  # a name MLflow cannot hold: no such model
                raise ModelNotFound(f"{what}: no model can have that name ({exc})") from exc
            if type(exc).__module__.startswith(("mlflow", "sqlalchemy")):
                raise TrackingError(f"MLflow registry failed on {what}: {exc}") from exc
            raise

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
        run_id = tracking_run_id or self.tracker.start_run("gazer-registry", name, {})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model"
            save_model_dir(model, path, input_example)
            self.tracker.log_artifact(run_id, path, f"registered/{name}/model")
        all_tags = version_tags(tags, metrics, input_example)
        with self._translated(f"register {name!r}"):
            with contextlib.suppress(Exception):
                self.client.create_registered_model(name)
            run = self.client.get_run(run_id)
            source = f"{run.info.artifact_uri}/registered/{name}/model"
            mv = self.client.create_model_version(name, source, run_id=run_id, tags=all_tags)
        if tracking_run_id is None:
            self.tracker.end_run(run_id, "succeeded")
        return self.get_version(name, int(mv.version))

    def get_version(self, name: str, ref: str | int) -> ModelVersion:
        with self._translated(f"model {name!r} version or alias {ref!r}"):
            if isinstance(ref, int) or str(ref).isdigit():
                mv = self.client.get_model_version(name, str(ref))
            else:
                mv = self.client.get_model_version_by_alias(name, str(ref))
        return _to_version(mv)

    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        try:
            return self.get_version(name, alias)
        except ModelNotFound:
            return None

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.get_version(name, version)
        with self._translated(f"set alias {alias!r} of {name!r}"):
            self.client.set_registered_model_alias(name, alias, str(version))

    def delete_alias(self, name: str, alias: str) -> None:
        with self._translated(f"delete alias {alias!r} of {name!r}"), contextlib.suppress(
            ModelNotFound
        ):
            self.client.delete_registered_model_alias(name, alias)

    def list_models(self) -> list[str]:
        with self._translated("list models"):
            return sorted(m.name for m in self.client.search_registered_models())

    def list_versions(self, name: str) -> list[ModelVersion]:
        with self._translated(f"model {name!r}"):
            aliases = dict(self.client.get_registered_model(name).aliases or {})
            found = self.client.search_model_versions(f"name='{name}'")
        versions = []
        for mv in found:
            own = tuple(sorted(a for a, v in aliases.items() if str(v) == str(mv.version)))
            versions.append(dataclasses.replace(_to_version(mv), aliases=own))
        return sorted(versions, key=lambda v: -v.version)

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        with self._translated(f"tag {name!r} version {version}"):
            for k, v in tags.items():
                self.client.set_model_version_tag(name, str(version), k, str(v))

    def model_tags(self, name: str) -> dict[str, str]:
        with self._translated(f"model {name!r}"):
            return dict(self.client.get_registered_model(name).tags)

    def set_model_tags(self, name: str, tags: Mapping[str, str]) -> None:
        with self._translated(f"tag model {name!r}"):
            for k, v in tags.items():
                self.client.set_registered_model_tag(name, k, str(v))

    def load_model(self, name: str, ref: str | int = CHAMPION) -> Any:
        mv = self.get_version(name, ref)
        import mlflow.artifacts

        with self._translated(f"download {name!r} version {mv.version}"):
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=mv.source, tracking_uri=self.tracker.tracking_uri
            )
        return load_model_dir(Path(local))


def _to_version(mv: Any) -> ModelVersion:
    return ModelVersion(
        name=mv.name,
        version=int(mv.version),
        aliases=tuple(sorted(getattr(mv, "aliases", []) or [])),
        tags=dict(mv.tags or {}),
        source=mv.source,
        run_id=mv.run_id,
        created_at=(mv.creation_timestamp or 0) / 1000,
    )


def save_model_dir(model: Any, path: Path, input_example: Any = None) -> None:
    """Save ``model`` in its MLflow flavour when it has one, else with cloudpickle."""
    import mlflow.pyfunc
    from sklearn.base import BaseEstimator

    if isinstance(model, BaseEstimator):
        import mlflow.sklearn

        mlflow.sklearn.save_model(model, str(path), input_example=input_example)
    elif _is_torch(model):
        import mlflow.pytorch

        mlflow.pytorch.save_model(model, str(path))
    elif isinstance(model, mlflow.pyfunc.PythonModel):
        mlflow.pyfunc.save_model(str(path), python_model=model, input_example=input_example)
    else:
        import cloudpickle

        path.mkdir(parents=True)
        (path / "model.pkl").write_bytes(cloudpickle.dumps(model))
        (path / _PICKLE_MARKER).write_text(json.dumps({"format": "cloudpickle",
                                                        "type": type(model).__qualname__}))


def load_model_dir(path: Path) -> Any:
    """Rebuild a model saved by ``save_model_dir``."""
    if (path / _PICKLE_MARKER).exists():
        import pickle  # nosec B403 # loads only what save_model_dir wrote to the registry

        return pickle.loads((path / "model.pkl").read_bytes())  # nosec B301 # the registry's own model.pkl, written by save_model_dir
    import yaml

    flavors = yaml.safe_load((path / "MLmodel").read_text()).get("flavors", {})
    if "sklearn" in flavors:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(path))
    if "pytorch" in flavors:
        import mlflow.pytorch

        return mlflow.pytorch.load_model(str(path), map_location="cpu")
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(path))


def _is_torch(model: Any) -> bool:
    return any(c.__name__ == "Module" and c.__module__ == "torch.nn.modules.module"
               for c in type(model).__mro__)

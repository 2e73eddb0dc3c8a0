"""``MemoryRegistry``: versions and aliases in dicts, for tests and throw-away runs."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Mapping
from typing import Any

from gazer.errors import ModelNotFound
from gazer.registry.protocol import CHAMPION, ModelVersion, version_tags


class MemoryRegistry:
    """A registry held in this process; models are kept as deep copies."""

    def describe(self) -> None:
        return None  # its versions live in this process's memory

    def __init__(self) -> None:
        self._models: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()

    def _model(self, name: str) -> dict[str, Any]:
        if name not in self._models:
            raise ModelNotFound(f"no registered model {name!r}; known: "
                                f"{', '.join(sorted(self._models)) or 'none'}")
        return self._models[name]

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
        with self._lock:
            entry = self._models.setdefault(
                name, {"versions": {}, "objects": {}, "aliases": {}, "tags": {}}
            )
            version = len(entry["versions"]) + 1
            all_tags = version_tags(tags, metrics, input_example)
            entry["versions"][version] = {"tags": all_tags, "run_id": tracking_run_id,
                                          "created_at": time.time()}
            entry["objects"][version] = copy.deepcopy(model)
            return self.get_version(name, version)

    def get_version(self, name: str, ref: str | int) -> ModelVersion:
        with self._lock:
            entry = self._model(name)
            version = entry["aliases"].get(ref) if isinstance(ref, str) and not ref.isdigit() \
                else int(ref)
            if version is None or version not in entry["versions"]:
                raise ModelNotFound(f"model {name!r} has no version or alias {ref!r}")
            data = entry["versions"][version]
            aliases = tuple(sorted(a for a, v in entry["aliases"].items() if v == version))
            return ModelVersion(name, version, aliases, dict(data["tags"]),
                                f"memory://{name}/{version}", data["run_id"], data["created_at"])

    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        with self._lock:
            if name not in self._models or alias not in self._models[name]["aliases"]:
                return None
            return self.get_version(name, alias)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        with self._lock:
            self.get_version(name, version)
            self._models[name]["aliases"][alias] = int(version)

    def delete_alias(self, name: str, alias: str) -> None:
        with self._lock:
            self._model(name)["aliases"].pop(alias, None)

    def list_models(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def list_versions(self, name: str) -> list[ModelVersion]:
        with self._lock:
            return [self.get_version(name, v)
                    for v in sorted(self._model(name)["versions"], reverse=True)]

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        with self._lock:
            self.get_version(name, version)
            self._models[name]["versions"][int(version)]["tags"].update(tags)

    def model_tags(self, name: str) -> dict[str, str]:
        with self._lock:
            return dict(self._model(name)["tags"])

    def set_model_tags(self, name: str, tags: Mapping[str, str]) -> None:
        with self._lock:
            self._model(name)["tags"].update(tags)

    def load_model(self, name: str, ref: str | int = CHAMPION) -> Any:
        with self._lock:
            mv = self.get_version(name, ref)
            return copy.deepcopy(self._models[name]["objects"][mv.version])

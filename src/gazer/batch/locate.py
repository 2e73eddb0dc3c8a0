"""Turn a batch ``--input``/``--output`` into a store and a key, and a model into a loader
that a worker process can call."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from gazer.registry.protocol import Registry
from gazer.settings import Settings
from gazer.spec import ServiceSpec
from gazer.storage.local import LocalStorage
from gazer.storage.protocol import Storage
from gazer.storage.resolve import open_storage


def locate(uri: str, settings: Settings, default: Storage) -> tuple[Storage, str]:
    """``s3://bucket/key``, ``file:///path`` or a local path, else a key in ``default``
    (gazer's own store)."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return open_storage(f"s3://{bucket}", settings.storage), key
    path = Path(uri[len("file://") :] if uri.startswith("file://") else uri)
    if uri.startswith("file://") or path.is_absolute() or path.exists():
        path = path.resolve()
        return LocalStorage(path.parent), path.name
    return default, uri.strip("/")


@dataclasses.dataclass(frozen=True)
class RegisteredModel:
    """Loads ``name@ref`` from the described registry, in whichever process calls it."""

    registry: ServiceSpec
    name: str
    ref: str

    def __call__(self) -> Any:
        return self.registry.open().load_model(self.name, self.ref)


@dataclasses.dataclass(frozen=True)
class LoadedModel:
    """A model loaded here, pickled to the workers: for a registry only this process sees."""

    model: Any

    def __call__(self) -> Any:
        return self.model


def model_loader(registry: Registry, name: str, ref: str | int) -> RegisteredModel | LoadedModel:
    """What a batch worker calls to get its model."""
    spec = registry.describe()
    if spec is None:
        return LoadedModel(registry.load_model(name, ref))
    return RegisteredModel(spec, name, str(ref))

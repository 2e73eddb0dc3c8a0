"""Turn a batch ``--input``/``--output`` into a store and a key."""

from __future__ import annotations

from pathlib import Path

from gazer.settings import Settings
from gazer.storage.local import LocalStorage
from gazer.storage.protocol import Storage
from gazer.storage.resolve import open_storage, storage_from_settings


def locate(uri: str, settings: Settings) -> tuple[Storage, str]:
    """``s3://bucket/key``, ``file:///path`` or a local path, else a key in gazer's store."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return open_storage(f"s3://{bucket}", settings.storage), key
    path = Path(uri[len("file://") :] if uri.startswith("file://") else uri)
    if uri.startswith("file://") or path.is_absolute() or path.exists():
        path = path.resolve()
        return LocalStorage(path.parent), path.name
    return storage_from_settings(settings), uri.strip("/")


def load_registered(settings: Settings, name: str, ref: str) -> object:
    """Load ``name@ref`` from the registry (runs in each batch worker)."""
    from gazer.registry.resolve import registry_from_settings

    return registry_from_settings(settings).load_model(name, ref)

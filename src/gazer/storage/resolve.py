"""Open the right ``Storage`` for a URI: ``file://`` or a path, ``s3://``, ``memory://``."""

from __future__ import annotations

from gazer.errors import InvalidInput
from gazer.settings import Settings, StorageSettings
from gazer.storage.local import LocalStorage
from gazer.storage.memory import MemoryStorage
from gazer.storage.protocol import Storage


def open_storage(uri: str, options: StorageSettings | None = None) -> Storage:
    """Return the store for ``uri``; S3 options (endpoint, keys) come from ``options``."""
    options = options or StorageSettings()
    if uri.startswith("memory://"):
        # a new, empty store each time: share one by passing the object (see Services)
        return MemoryStorage(uri[len("memory://") :] or "default")
    if uri.startswith("s3://"):
        from gazer.storage.s3 import S3Storage

        return S3Storage(
            uri,
            endpoint_url=options.endpoint_url,
            key=options.key,
            secret=options.secret,
            region=options.region,
            connect_timeout_s=options.connect_timeout_s,
        )
    if uri.startswith("file://"):
        return LocalStorage(uri[len("file://") :])
    if "://" in uri:
        raise InvalidInput(
            f"storage URI must start with file://, s3:// or memory://, or be a folder path; "
            f"got {uri!r}"
        )
    return LocalStorage(uri)


def storage_from_settings(settings: Settings) -> Storage:
    """The store named by ``settings`` (a folder under ``GAZER_HOME`` by default)."""
    return open_storage(settings.storage_uri, settings.storage)

"""Object storage behind one protocol: local folder, S3-compatible, in-memory."""

from gazer.storage.local import LocalStorage
from gazer.storage.memory import MemoryStorage
from gazer.storage.protocol import ZONES, ObjectInfo, Storage, normalize_key, zone_key
from gazer.storage.resolve import open_storage, storage_from_settings

__all__ = [
    "ZONES",
    "LocalStorage",
    "MemoryStorage",
    "ObjectInfo",
    "Storage",
    "normalize_key",
    "open_storage",
    "storage_from_settings",
    "zone_key",
]

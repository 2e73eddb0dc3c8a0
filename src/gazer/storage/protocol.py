"""The ``Storage`` protocol: objects under keys, written atomically.

Keys are relative POSIX paths such as ``curated/runs/abc/train/model.joblib``. The first
segment is usually one of the zones in ``ZONES``. Every implementation guarantees that a
reader sees either the whole previous object or the whole new one, never half a file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from gazer.errors import InvalidInput
from gazer.spec import ServiceSpec

ZONES = ("landing", "raw", "curated", "models", "output")


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows about one object."""

    key: str
    size: int
    modified: float
    etag: str | None = None


@runtime_checkable
class Storage(Protocol):
    """An object store addressed by keys under one root URI."""

    uri: str

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key`` atomically, replacing any previous object."""

    def put_file(self, src: Path, key: str) -> None:
        """Store the local file ``src`` at ``key`` atomically."""

    def read_bytes(self, key: str) -> bytes:
        """Return the object's bytes; raise ``ArtifactNotFound`` if absent."""

    def open(self, key: str) -> BinaryIO:
        """Open the object for binary reading; raise ``ArtifactNotFound`` if absent."""

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""

    def info(self, key: str) -> ObjectInfo:
        """Size, modification time and etag; raise ``ArtifactNotFound`` if absent."""

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix``, sorted."""

    def delete(self, key: str) -> None:
        """Remove the object; absent objects are ignored."""

    def url(self, key: str) -> str:
        """The full URI of ``key`` (``file://``, ``s3://`` or ``memory://``)."""

    def describe(self) -> ServiceSpec | None:
        """How another process opens this store (``None``: only this process sees it)."""

    def local_path(self, key: str) -> Path | None:
        """A path on this machine holding the object, when the store is local."""


def normalize_key(key: str) -> str:
    """Return ``key`` as a clean relative POSIX path, or raise ``InvalidInput``."""
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput(f"storage key must be a non-empty string; got {key!r}")
    clean = posixpath.normpath(key.replace("\\", "/")).lstrip("/")
    if clean in ("", ".") or clean.startswith("..") or "/../" in f"/{clean}/":
        raise InvalidInput(
            f"storage key must be a relative path inside the store, such as "
            f"'raw/data.csv'; got {key!r}"
        )
    return clean


def zone_key(zone: str, *parts: str) -> str:
    """Join ``parts`` under one of the ``ZONES``: ``zone_key("raw", "a.csv")``."""
    if zone not in ZONES:
        raise InvalidInput(f"zone must be one of {', '.join(ZONES)}; got {zone!r}")
    return normalize_key("/".join((zone, *parts)))

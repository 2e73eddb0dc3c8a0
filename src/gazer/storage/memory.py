"""``MemoryStorage``: objects in a dict, for tests and throw-away runs."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import BinaryIO

from gazer.errors import ArtifactNotFound
from gazer.storage.protocol import ObjectInfo, normalize_key


class MemoryStorage:
    """A process-local object store; each object is replaced whole under a lock."""

    def describe(self) -> None:
        return None  # its objects live in this process's memory

    def __init__(self, name: str = "default") -> None:
        self.uri = f"memory://{name}"
        self._objects: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._lock:
            self._objects[normalize_key(key)] = (bytes(data), time.time())

    def put_file(self, src: Path, key: str) -> None:
        try:
            data = Path(src).read_bytes()
        except FileNotFoundError as exc:
            raise ArtifactNotFound(f"no local file to upload at {src}") from exc
        self.write_bytes(key, data)

    def read_bytes(self, key: str) -> bytes:
        with self._lock:
            try:
                return self._objects[normalize_key(key)][0]
            except KeyError as exc:
                raise ArtifactNotFound(f"no object at {self.url(key)}") from exc

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self.read_bytes(key))

    def exists(self, key: str) -> bool:
        with self._lock:
            return normalize_key(key) in self._objects

    def info(self, key: str) -> ObjectInfo:
        with self._lock:
            try:
                data, modified = self._objects[normalize_key(key)]
            except KeyError as exc:
                raise ArtifactNotFound(f"no object at {self.url(key)}") from exc
        return ObjectInfo(key=normalize_key(key), size=len(data), modified=modified)

    def list(self, prefix: str = "") -> list[str]:
        with self._lock:
            return sorted(k for k in self._objects if k.startswith(prefix))

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(normalize_key(key), None)

    def url(self, key: str) -> str:
        return f"{self.uri}/{normalize_key(key)}"

    def local_path(self, key: str) -> Path | None:
        return None

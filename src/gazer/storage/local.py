"""``LocalStorage``: a folder on this machine, the default object store."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gazer.errors import ArtifactNotFound, StorageError
from gazer.spec import ServiceSpec
from gazer.storage.protocol import ObjectInfo, normalize_key


@dataclass(frozen=True)
class LocalSpec(ServiceSpec):
    """A folder every process on this machine (or on a shared mount) sees."""

    root: str

    def open(self) -> LocalStorage:
        return LocalStorage(self.root)

_TMP_MARK = ".gazer-tmp-"


class LocalStorage:
    """Objects as files under ``root``; writes go to a temporary file, then ``os.replace``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = self.root.as_uri()

    def describe(self) -> LocalSpec:
        return LocalSpec(str(self.root))

    def _path(self, key: str) -> Path:
        return self.root / normalize_key(key)

    def _temp_beside(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.with_name(f"{_TMP_MARK}{uuid.uuid4().hex}-{path.name}")

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = self._temp_beside(path)
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot write {self.url(key)}: {exc}") from exc

    def put_file(self, src: Path, key: str) -> None:
        path = self._path(key)
        tmp = self._temp_beside(path)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, path)
        except FileNotFoundError as exc:
            tmp.unlink(missing_ok=True)
            raise ArtifactNotFound(f"no local file to upload at {src}") from exc
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot write {self.url(key)}: {exc}") from exc

    def move_file(self, src: Path, key: str) -> None:
        """Move ``src`` into the store without copying when it is on the same disk."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, path)
        except OSError:
            self.put_file(src, key)
            Path(src).unlink(missing_ok=True)

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise ArtifactNotFound(f"no object at {self.url(key)}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def info(self, key: str) -> ObjectInfo:
        try:
            st = self._path(key).stat()
        except FileNotFoundError as exc:
            raise ArtifactNotFound(f"no object at {self.url(key)}") from exc
        return ObjectInfo(key=normalize_key(key), size=st.st_size, modified=st.st_mtime)

    def list(self, prefix: str = "") -> list[str]:
        base = self.root
        keys = []
        if not base.exists():
            return []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith(_TMP_MARK):
                    continue
                rel = Path(dirpath, name).relative_to(base).as_posix()
                if rel.startswith(prefix):
                    keys.append(rel)
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return f"{self.uri}/{normalize_key(key)}"

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

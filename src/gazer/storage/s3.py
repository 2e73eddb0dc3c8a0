"""``S3Storage``: any S3-compatible store (AWS S3, SeaweedFS, MinIO) through s3fs.

S3 makes a ``PUT`` (and a completed multipart upload) visible all at once, so objects are
atomic by nature. This is the only module that imports s3fs and botocore; their errors
are translated to gazer's here.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from gazer.errors import ArtifactNotFound, InvalidInput, StorageError, StorageUnavailable
from gazer.spec import ServiceSpec
from gazer.storage.protocol import ObjectInfo, normalize_key

_UNREACHABLE = (
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "ReadTimeoutError",
)


@dataclasses.dataclass(frozen=True)
class S3Spec(ServiceSpec):
    """A bucket and prefix, with the endpoint and keys to reach them."""

    uri: str
    endpoint_url: str | None
    key: str | None = dataclasses.field(repr=False)
    secret: str | None = dataclasses.field(repr=False)
    region: str | None
    connect_timeout_s: float

    def open(self) -> S3Storage:
        return S3Storage(self.uri, endpoint_url=self.endpoint_url, key=self.key,
                         secret=self.secret, region=self.region,
                         connect_timeout_s=self.connect_timeout_s)


class S3Storage:
    """Objects under ``s3://bucket/prefix`` on any endpoint URL."""

    def __init__(
        self,
        uri: str,
        *,
        endpoint_url: str | None = None,
        key: str | None = None,
        secret: str | None = None,
        region: str | None = None,
        connect_timeout_s: float = 3.0,
    ) -> None:
        import s3fs

        if not uri.startswith("s3://") or len(uri) <= len("s3://"):
            raise InvalidInput(f"S3 storage URI must look like s3://bucket/prefix; got {uri!r}")
        self.uri = uri.rstrip("/")
        self.bucket = self.uri[len("s3://") :].split("/", 1)[0]
        self.endpoint_url = endpoint_url
        self._spec = S3Spec(self.uri, endpoint_url, key, secret, region, connect_timeout_s)
        self._bucket_checked = False
        self.fs = s3fs.S3FileSystem(
            key=key,
            secret=secret,
            endpoint_url=endpoint_url,
            client_kwargs={"region_name": region or "us-east-1"},
            config_kwargs={
                "connect_timeout": connect_timeout_s,
                "read_timeout": 60,
                "retries": {"max_attempts": 2, "mode": "standard"},
            },
            use_listings_cache=False,
            skip_instance_cache=True,
        )
        self.fs.retries = 1  # fail fast on an unreachable endpoint; botocore retries too

    def describe(self) -> S3Spec:
        return self._spec

    def _path(self, key: str) -> str:
        return f"{self.uri[len('s3://'):]}/{normalize_key(key)}"

    @contextlib.contextmanager
    def _translated(self, key: str, action: str) -> Iterator[None]:
        where = self.url(key) if key else self.uri
        try:
            yield
        except FileNotFoundError as exc:
            raise ArtifactNotFound(f"no object at {where}") from exc
        except Exception as exc:
            names = {type(e).__name__ for e in _chain(exc)}
            if names & set(_UNREACHABLE) or isinstance(exc, (ConnectionError, TimeoutError)):
                raise StorageUnavailable(
                    f"cannot reach the S3 endpoint {self.endpoint_url or 'AWS default'} "
                    f"to {action} {where}: {exc}. Check GAZER_STORAGE__ENDPOINT_URL "
                    f"and that the server is running."
                ) from exc
            raise StorageError(f"cannot {action} {where}: {exc}") from exc

    def _ensure_bucket(self) -> None:
        if self._bucket_checked:
            return
        with self._translated("", "create the bucket of"):
            if not self.fs.exists(self.bucket):
                with contextlib.suppress(FileExistsError):
                    self.fs.mkdir(self.bucket)
        self._bucket_checked = True

    def write_bytes(self, key: str, data: bytes) -> None:
        self._ensure_bucket()
        with self._translated(key, "write"):
            self.fs.pipe_file(self._path(key), data)

    def put_file(self, src: Path, key: str) -> None:
        if not Path(src).is_file():
            raise ArtifactNotFound(f"no local file to upload at {src}")
        self._ensure_bucket()
        with self._translated(key, "write"):
            self.fs.put_file(str(src), self._path(key))

    def read_bytes(self, key: str) -> bytes:
        with self._translated(key, "read"):
            data: bytes = self.fs.cat_file(self._path(key))
            return data

    def open(self, key: str) -> BinaryIO:
        with self._translated(key, "open"):
            fh: BinaryIO = self.fs.open(self._path(key), "rb", block_size=8 * 2**20)
            return fh

    def exists(self, key: str) -> bool:
        try:
            return self.info(key).size >= 0
        except ArtifactNotFound:
            return False

    def info(self, key: str) -> ObjectInfo:
        with self._translated(key, "stat"):
            meta: dict[str, Any] = self.fs.info(self._path(key))
        modified = meta.get("LastModified")
        return ObjectInfo(
            key=normalize_key(key),
            size=int(meta.get("size", 0)),
            modified=modified.timestamp() if modified is not None else 0.0,
            etag=str(meta.get("ETag", "")).strip('"') or None,
        )

    def list(self, prefix: str = "") -> list[str]:
        root = self.uri[len("s3://") :]
        with self._translated(prefix, "list"):
            # not fs.exists(bucket) first: it answers False when the endpoint is down, and an
            # outage must raise, not look like an empty store
            try:
                found = self.fs.find(root, prefix=prefix) if prefix else self.fs.find(root)
            except FileNotFoundError:  # no such bucket yet: nothing written
                return []
        return sorted(p[len(root) + 1 :] for p in found)

    def delete(self, key: str) -> None:
        with self._translated(key, "delete"), contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def url(self, key: str) -> str:
        return f"{self.uri}/{normalize_key(key)}"

    def local_path(self, key: str) -> Path | None:
        return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__

"""One contract, every Storage: local folder, in-memory, and S3 on a real SeaweedFS."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gazer.errors import ArtifactNotFound, InvalidInput, StorageUnavailable
from gazer.settings import StorageSettings
from gazer.storage import LocalStorage, MemoryStorage, Storage, open_storage, zone_key


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=pytest.mark.integration)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "store")
    elif request.param == "memory":
        yield MemoryStorage(uuid.uuid4().hex)
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        options = StorageSettings(endpoint_url=endpoint, key="any", secret="any")
        yield open_storage(f"s3://gazer-test-{uuid.uuid4().hex[:8]}/prefix", options)


def test_written_bytes_read_back_whole(storage: Storage) -> None:
    storage.write_bytes("raw/a/b.bin", b"hello")
    assert storage.read_bytes("raw/a/b.bin") == b"hello"
    with storage.open("raw/a/b.bin") as fh:
        assert fh.read() == b"hello"
    assert storage.info("raw/a/b.bin").size == 5


def test_rewrite_replaces_the_whole_object(storage: Storage) -> None:
    storage.write_bytes("curated/x.txt", b"first version, long")
    storage.write_bytes("curated/x.txt", b"second")
    assert storage.read_bytes("curated/x.txt") == b"second"


def test_put_file_uploads_a_local_file(storage: Storage, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"\x00" * 3_000_000)
    storage.put_file(src, "models/m.bin")
    assert storage.read_bytes("models/m.bin") == b"\x00" * 3_000_000


def test_list_returns_sorted_keys_under_a_prefix(storage: Storage) -> None:
    for key in ["landing/b.csv", "landing/a.csv", "output/c.csv"]:
        storage.write_bytes(key, b"x")
    assert storage.list("landing/") == ["landing/a.csv", "landing/b.csv"]
    assert storage.list() == ["landing/a.csv", "landing/b.csv", "output/c.csv"]


def test_missing_objects_raise_artifact_not_found(storage: Storage) -> None:
    assert not storage.exists("raw/nope.bin")
    with pytest.raises(ArtifactNotFound, match="nope.bin"):
        storage.read_bytes("raw/nope.bin")
    with pytest.raises(ArtifactNotFound):
        storage.info("raw/nope.bin")


def test_delete_removes_and_ignores_absent(storage: Storage) -> None:
    storage.write_bytes("raw/d.bin", b"x")
    storage.delete("raw/d.bin")
    storage.delete("raw/d.bin")
    assert not storage.exists("raw/d.bin")


def test_keys_escaping_the_store_are_refused(storage: Storage) -> None:
    with pytest.raises(InvalidInput, match="relative path"):
        storage.write_bytes("../etc/passwd", b"x")


def test_url_names_the_scheme(storage: Storage) -> None:
    assert storage.url("raw/a.csv").endswith("/raw/a.csv")
    assert storage.url("raw/a.csv").split("://")[0] in ("file", "memory", "s3")


def test_readers_never_see_half_a_file(storage: Storage) -> None:
    big_a, big_b = b"a" * 2_000_000, b"b" * 2_000_000
    storage.write_bytes("curated/race.bin", big_a)
    seen: set[bytes] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = storage.read_bytes("curated/race.bin")
            seen.add(data[:1] + data[-1:] + str(len(data)).encode())

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(6):
        storage.write_bytes("curated/race.bin", big_a if i % 2 else big_b)
    stop.set()
    reader.join()
    assert seen <= {b"aa2000000", b"bb2000000"}


def test_zone_key_accepts_only_known_zones() -> None:
    assert zone_key("raw", "x", "y.csv") == "raw/x/y.csv"
    with pytest.raises(InvalidInput, match="landing, raw, curated, models, output"):
        zone_key("tmp", "y.csv")


def test_local_storage_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    store.write_bytes("raw/a.bin", b"x")
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["a.bin"]


def test_open_storage_rejects_unknown_schemes() -> None:
    with pytest.raises(InvalidInput, match="file://, s3:// or memory://"):
        open_storage("ftp://host/x")


@pytest.mark.integration
def test_unreachable_s3_endpoint_gives_storage_unavailable() -> None:
    from tests.servers import free_port

    options = StorageSettings(endpoint_url=f"http://127.0.0.1:{free_port()}", key="k",
                              secret="s", connect_timeout_s=1)
    store = open_storage("s3://bucket/x", options)
    with pytest.raises(StorageUnavailable, match="cannot reach the S3 endpoint"):
        store.write_bytes("raw/a.bin", b"x")


def test_listing_an_unreachable_s3_endpoint_raises_instead_of_looking_empty() -> None:
    from gazer.errors import StorageUnavailable
    from gazer.storage.s3 import S3Storage

    store = S3Storage("s3://bucket/x", endpoint_url="http://127.0.0.1:9", key="k", secret="s",
                      connect_timeout_s=1)
    with pytest.raises(StorageUnavailable, match="cannot reach the S3 endpoint"):
        store.list("landing/")

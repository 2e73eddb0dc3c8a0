"""The operator console's pages and APIs on a big store: 10,000 runs and 200 model versions.

    python benchmarks/console.py                 # 10,000 runs, 200 versions, 20 requests each
    python benchmarks/console.py --runs 1000 --versions 40 --requests 5   # a quick look

Seeds a fresh ``GAZER_HOME``: the runs (7 steps each, one in ten failed) go straight into the
run store's tables; the versions are in the real MLflow registry (two models; see
``seed_versions``), each tagged with its run. It then serves the
console with uvicorn on loopback and times every page and API it reads (the round trip on
loopback: the server's time plus well under a millisecond of transport). The peer
is MLflow's own client on the same SQLite stores answering what its UI asks for the same
views (search runs, get run, search model versions, get version); its runs are seeded the
same way, as MLflow runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("GAZER_TRACKING__CO2", "false")

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from gazer.db import RunRow, StepRow  # noqa: E402
from gazer.settings import Settings  # noqa: E402

STEPS = ["load", "split", "train_logreg", "train_tree", "evaluate_logreg", "evaluate_tree",
         "select"]


def _progress(label: str, done: int, total: int, started: float) -> None:
    if done % max(1, total // 10) == 0 or done == total:
        rate = done / max(time.monotonic() - started, 1e-9)
        eta = (total - done) / rate if rate else 0
        print(f"  {label}: {done}/{total} ({100 * done / total:.0f}%) ETA {eta:.0f}s",
              flush=True)


def seed_runs(services: Any, n: int) -> list[str]:
    """``n`` runs of ``example`` with 7 steps each, newest last; one in ten failed."""
    now = time.time() - n * 60
    ids: list[str] = []
    started = time.monotonic()
    for chunk in range(0, n, 500):
        with services.db.session() as s:  # one transaction per 500 runs
            for i in range(chunk, min(n, chunk + 500)):
                ids.append(_add_run(s, i, now + i * 60))
                _progress("runs", i + 1, n, started)
    return ids


def _add_run(s: Any, i: int, created: float) -> str:
    rid = f"bench-{i:06d}-{uuid.uuid4().hex[:6]}"
    failed = i % 10 == 9
    s.add(RunRow(id=rid, pipeline="example" if i % 3 else "characters",
                 status="failed" if failed else "succeeded",
                 params={"load.n": 300 + i % 50, "train_logreg.C": 1.0}, executor="local",
                 created_at=created, finished_at=created + 42, host="bench", pid=1,
                 tracking_run_id=None, error="train_logreg: C must be > 0" if failed else None,
                 resumes=0))
    for j, step in enumerate(STEPS):
        bad = failed and step == "train_logreg"
        s.add(StepRow(run_id=rid, name=step, status="failed" if bad else (
            "pending" if failed and j > 2 else "succeeded"), cache_key=uuid.uuid4().hex,
            cached=bool(i % 2 and j < 2), attempts=1, started_at=created + j,
            finished_at=created + j + 1, outputs={},
            metrics={"accuracy": 0.9 + (i % 7) / 100} if step.startswith("eval") else {},
            log_path=None, error="C must be > 0" if bad else None))
    return rid


def seed_versions(services: Any, n: int, run_ids: list[str]) -> list[tuple[str, int]]:
    """``n`` versions of two models in the MLflow registry (three quarters in the first).

    The first version of each model is registered through gazer (a small scikit-learn model
    logged and saved: seconds each, MLflow infers its requirements); the others are MLflow
    model versions of the same source with gazer's tags, as ``register`` makes them, which
    is what the pages read."""
    from sklearn.linear_model import LogisticRegression

    from gazer.registry.protocol import version_tags

    x = np.random.default_rng(0).random((40, 4))
    model = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    client = services.registry.client
    made: list[tuple[str, int]] = []
    first: dict[str, Any] = {}
    started = time.monotonic()
    for i in range(n):
        name = "bench-big" if i < 3 * n // 4 else "bench-small"
        tags = {"gazer.run_id": run_ids[-1 - i], "gazer.gate": "passed",
                "gazer.gate_metric": "accuracy"}
        metrics = {"accuracy": 0.8 + (i % 17) / 100}
        if name not in first:
            first[name] = services.registry.register(name, model, metrics=metrics, tags=tags)
            made.append((name, first[name].version))
        else:
            mv = client.create_model_version(name, first[name].source,
                                             run_id=first[name].run_id,
                                             tags=version_tags(tags, metrics, None))
            made.append((name, int(mv.version)))
        _progress("versions", i + 1, n, started)
    for name in ("bench-big", "bench-small"):
        services.registry.set_alias(name, "champion", max(v for m, v in made if m == name))
    return made


def seed_mlflow_runs(uri: str, n: int) -> tuple[Any, str, list[str]]:
    """The peer's store: ``n`` MLflow runs with params, metrics and tags like gazer's."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("bench")
    ids = []
    started = time.monotonic()
    for i in range(n):
        run = client.create_run(exp, run_name=f"run-{i}", tags={"gazer.pipeline": "example"})
        now = int(time.time() * 1000)
        client.log_batch(run.info.run_id, metrics=[Metric("accuracy", 0.9, now, 0)],
                         params=[Param("load.n", str(300 + i % 50))],
                         tags=[RunTag("gazer.status", "succeeded")])
        client.set_terminated(run.info.run_id, "FAILED" if i % 10 == 9 else "FINISHED")
        ids.append(run.info.run_id)
        _progress("MLflow runs", i + 1, n, started)
    return client, exp, ids


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1,
                                                   int(round(0.95 * (len(samples) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--no-peer", action="store_true", help="skip MLflow's side")
    args = parser.parse_args()

    from gazer.services import Services
    from gazer.serving.app import create_app
    from tests.serving.factory import live_server

    home = Path(tempfile.mkdtemp(prefix="gazer-console-bench-"))
    settings = Settings(home=home, tracking={"co2": False},  # type: ignore[arg-type]
                        serving={"poll_interval_s": 3600.0})
    print(f"seeding {args.runs} runs and {args.versions} model versions under {home}")
    with Services(settings) as services:
        run_ids = seed_runs(services, args.runs)
        versions = seed_versions(services, args.versions, run_ids)
        big = max(v for m, v in versions if m == "bench-big")
        middle = run_ids[len(run_ids) // 2]
        app = create_app(settings, services=services, endpoints=[])
        targets = [
            ("page", "/runs"), ("page", f"/runs/{middle}"), ("page", "/models"),
            ("page", "/models/bench-big"), ("page", f"/models/bench-big/{big}"),
            ("page", "/deployments"),
            ("api", "/api/runs"), ("api", "/api/runs?status=failed"),
            ("api", "/api/runs?pipeline=characters&offset=3000"),
            ("api", f"/api/runs?offset={args.runs // 2}"), ("api", f"/api/runs/{middle}"),
            ("api", f"/api/runs/{run_ids[-1]}"), ("api", "/api/models"),
            ("api", "/api/models/bench-big"), ("api", f"/api/models/bench-big/{big}"),
            ("api", "/api/deployments"),
        ]
        rows = []
        with live_server(app) as base, httpx.Client(base_url=base, timeout=60) as http:
            for kind, path in targets:
                def get(path: str = path) -> None:
                    answer = http.get(path)
                    assert answer.status_code == 200, (path, answer.status_code,
                                                       answer.text[:300])
                p50, p95 = timed(get, args.requests)
                rows.append((kind, path, p50, p95))
                print(f"  {path}: p50 {p50:.1f} ms", flush=True)

    peer: list[tuple[str, float, float]] = []
    if not args.no_peer:
        uri = f"sqlite:///{home / 'mlflow-peer.db'}"
        client, exp, ids = seed_mlflow_runs(uri, args.runs)
        mlflow_registry = Settings(home=home).tracking_uri
        from mlflow.tracking import MlflowClient

        reg = MlflowClient(tracking_uri=mlflow_registry, registry_uri=mlflow_registry)
        peer = [
            ("search_runs(max_results=50)", *timed(lambda: client.search_runs(
                [exp], max_results=50), args.requests)),
            ("search_runs(status FAILED, 50)", *timed(lambda: client.search_runs(
                [exp], "attributes.status = 'FAILED'", max_results=50), args.requests)),
            ("get_run", *timed(lambda: client.get_run(ids[len(ids) // 2]), args.requests)),
            ("search_registered_models", *timed(lambda: reg.search_registered_models(),
                                                args.requests)),
            ("search_model_versions(bench-big)", *timed(lambda: reg.search_model_versions(
                "name='bench-big'", max_results=1000), args.requests)),
            ("get_model_version", *timed(lambda: reg.get_model_version("bench-big", str(big)),
                                         args.requests)),
        ]

    print(f"\nconsole on {args.runs} runs and {args.versions} model versions "
          f"({args.requests} requests each, loopback, 2 cores)")
    print(f"{'gazer':<8} {'route':<48} {'p50 ms':>8} {'p95 ms':>8} {'< 300 ms':>9}")
    for kind, path, p50, p95 in rows:
        print(f"{kind:<8} {path:<48} {p50:8.1f} {p95:8.1f} {'yes' if p95 < 300 else 'NO':>9}")
    if peer:
        print(f"\n{'MLflow':<8} {'client call on the same store size':<48} {'p50 ms':>8} "
              f"{'p95 ms':>8}")
        for name, p50, p95 in peer:
            print(f"{'':<8} {name:<48} {p50:8.1f} {p95:8.1f}")
    worst = max(p95 for *_x, p95 in rows)
    print(f"\nslowest gazer p95: {worst:.1f} ms ({'within' if worst < 300 else 'OVER'} "
          f"the 300 ms target)")
    return 0 if worst < 300 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())

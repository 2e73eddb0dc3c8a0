"""Scale-out figures on one machine, from one ``gazer cluster`` (docs/scale-out.md).

Starts a whole stack (PostgreSQL, SeaweedFS, an MLflow server, a Ray head and a worker,
``gazer serve`` replicas, HAProxy; with ``--namespaces`` (root) each replica and the worker in
its own network namespace), trains the example app on it, then measures in one run:

1. requests/s and p50/p99 with ``wrk`` (POST, c=8): one replica directly, HAProxy in front of
   one replica (the other disabled on HAProxy's admin socket), HAProxy in front of two;
2. time for a promotion to reach every replica (alias moved, each replica asked until it
   answers with the new version), over several moves;
3. failover: sequential requests through HAProxy while a replica is killed (SIGKILL), and
   while a replica's network is cut (``--namespaces``): failed requests, the slowest request,
   and the time until HAProxy takes the replica out;
4. per-step overhead of a 20-step no-op chain on the Ray cluster against the local executor,
   both with the cluster's stores (PostgreSQL, S3, the MLflow server).

Usage: python benchmarks/scale_out.py [--namespaces] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from serving import wrk  # noqa: E402  (the serving benchmark's wrk runner)

from gazer.cluster import Cluster, State, load_spec  # noqa: E402
from gazer.core.pipeline import Pipeline  # noqa: E402
from gazer.core.step import step  # noqa: E402

BODY = {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [1.0] * 30}]}


def _start() -> int:
    return 0


def _noop(value: int) -> int:
    return value + 1


def chain(n: int) -> Pipeline:
    steps = [step(name="s0", outputs="v0")(_start)]
    wiring = {}
    for i in range(1, n):
        steps.append(step(name=f"s{i}", outputs=f"v{i}")(_noop))
        wiring[f"s{i}.value"] = f"s{i - 1}"
    return Pipeline("noop-chain", steps, wiring=wiring)


def _env(cluster: Cluster) -> None:
    from dotenv import dotenv_values

    for key, value in dotenv_values(cluster.env_file).items():
        if value is not None:
            os.environ[key] = value


def _serving_version(address: str, key: str) -> str | None:
    try:
        meta = httpx.get(f"http://{address}/v2/models/example", timeout=2,
                         headers={"X-API-Key": key}).json()
        versions = meta.get("versions") or []  # [] while the replica is still loading
        return str(versions[0]) if versions else None
    except (httpx.HTTPError, ValueError):
        return None


def wait(what: str, check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def throughput(cluster: Cluster, key: str, seconds: int) -> list[tuple[str, dict[str, float]]]:
    from gazer.serving.haproxy import haproxy_command

    sock = str(cluster.dir / "haproxy.sock")
    state = State.load(cluster.dir)
    replicas = cluster.replica_addresses(state)
    front = f"http://{cluster.spec.haproxy_address}:{cluster.spec.ports.haproxy}"
    body = {**BODY}
    rows = []
    rows.append(("one replica, direct", wrk(f"http://{replicas[0][1]}/v2/models/example/infer",
                                            body, 8, seconds, headers={"X-API-Key": key})))
    haproxy_command(sock, f"disable server replicas/{replicas[1][0]}")
    time.sleep(1)
    rows.append(("HAProxy, 1 replica", wrk(f"{front}/v2/models/example/infer", body, 8, seconds,
                                           headers={"X-API-Key": key})))
    haproxy_command(sock, f"enable server replicas/{replicas[1][0]}")
    wait("both replicas UP", lambda: _all_up(cluster), 30)
    rows.append(("HAProxy, 2 replicas", wrk(f"{front}/v2/models/example/infer", body, 8,
                                            seconds, headers={"X-API-Key": key})))
    return rows


def _all_up(cluster: Cluster) -> bool:
    from gazer.serving.haproxy import haproxy_status

    return set(haproxy_status(str(cluster.dir / "haproxy.sock")).values()) == {"UP"}


def swap_times(cluster: Cluster, key: str, moves: int) -> list[float]:
    from gazer.registry.promotion import promote
    from gazer.registry.resolve import registry_from_settings
    from gazer.settings import get_settings

    registry = registry_from_settings(get_settings())
    replicas = cluster.replica_addresses(State.load(cluster.dir))
    times = []
    for i in range(moves):
        version = 1 if i % 2 == 0 else 2
        began = time.monotonic()
        promote(registry, "example", version, reason="benchmark")
        wait(f"v{version} everywhere", lambda v=version: all(  # type: ignore[misc]
            _serving_version(a, key) == str(v) for _, a in replicas), 60)
        times.append(time.monotonic() - began)
    return times


def failover(cluster: Cluster, key: str, how: str) -> dict[str, float]:
    """Sequential requests through HAProxy; after 50 of them ``how`` (kill or cut) hits
    serve-1. Returns failures, the slowest request, and the seconds to DOWN."""
    from gazer.serving.haproxy import haproxy_status

    sock = str(cluster.dir / "haproxy.sock")
    state = State.load(cluster.dir)
    victim = next(p for p in state.processes if p.name == "serve-1")
    front = f"http://{cluster.spec.haproxy_address}:{cluster.spec.ports.haproxy}"
    latencies: list[float] = []
    failed = 0
    hit_at = down_at = 0.0
    with httpx.Client(base_url=front, timeout=60, headers={"X-API-Key": key}) as http:
        for i in range(400):
            if i == 50:
                hit_at = time.monotonic()
                if how == "kill":
                    os.kill(victim.pid, signal.SIGKILL)
                else:
                    cluster.set_link("serve-1", up=False)
            t = time.perf_counter()
            try:
                ok = http.post("/v2/models/example/infer", json=BODY).status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - t) * 1000)
            failed += not ok
            if i > 50 and not down_at and haproxy_status(sock).get("serve-1") == "DOWN":
                down_at = time.monotonic()
            if down_at and i > 150:
                break
    if how == "kill":
        cluster.restart("serve-1")
    else:
        cluster.set_link("serve-1", up=True)
    wait("serve-1 back", lambda: _all_up(cluster), 120)
    return {"requests": len(latencies), "failed": failed, "slowest_ms": max(latencies[50:]),
            "p50_ms": statistics.median(latencies), "down_s": down_at - hit_at}


def step_overhead(n: int, repeats: int) -> dict[str, float]:
    from gazer.core.runner import Runner
    from gazer.settings import get_settings

    out = {}
    for kind in ("local", "ray"):
        per_step = []
        for _ in range(repeats):
            runner = Runner(get_settings(executor={"kind": kind, "ray_address":
                                                   os.environ["GAZER_EXECUTOR__RAY_ADDRESS"]}))
            try:
                runner.run(chain(2))  # warm: tables, Ray
                t = time.perf_counter()
                record = runner.run(chain(n))
                assert record.status == "succeeded", record.error
                per_step.append((time.perf_counter() - t) / n * 1000)
            finally:
                runner.close()
        out[kind] = statistics.median(per_step)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--moves", type=int, default=6)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gazer-scale-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own user and must reach it
    spec = {"name": "gzb", "dir": "state", "namespaces": args.namespaces, "subnet": "10.81.0",
            "replicas": 2, "ray_workers": 1, "ray_worker_cpus": 1, "health_check_ms": 500,
            "server_timeout_s": 3,
            "settings": {"serving": {"poll_interval_s": 0.5, "log_predictions": True,
                                     "endpoints": [{"name": "example", "model": "example"}]},
                         "tracking": {"co2": False}}}
    (folder / "cluster.yaml").write_text(yaml.safe_dump(spec))
    cluster = Cluster(load_spec(folder / "cluster.yaml"), echo=print)
    began = time.monotonic()
    cluster.up()
    up_s = time.monotonic() - began
    try:
        _env(cluster)
        import json

        key = json.loads((cluster.dir / "keys.json").read_text())["predict"]
        from gazer.catalog import get_pipeline
        from gazer.core.runner import Runner
        from gazer.settings import get_settings

        runner = Runner(get_settings())
        try:
            t = time.monotonic()
            for c in (1.0, 0.05):  # two versions to move the champion between
                assert runner.run(get_pipeline("example"), {"train_logreg.C": c}).status == \
                    "succeeded"
            train_s = (time.monotonic() - t) / 2
        finally:
            runner.close()
        replicas = cluster.replica_addresses(State.load(cluster.dir))
        # the gate decides which of the two is champion; both replicas serve it
        wait("one champion everywhere", lambda: len({_serving_version(a, key)
                                                     for _, a in replicas} - {None}) == 1)
        rows = throughput(cluster, key, args.seconds)
        swaps = swap_times(cluster, key, args.moves)
        kill = failover(cluster, key, "kill")
        cut = failover(cluster, key, "cut") if args.namespaces else None
        steps = step_overhead(args.steps, 3)
    except BaseException:
        traceback.print_exc()  # before the stack goes (a Ray driver dies with its head)
        raise
    finally:
        if "ray" in sys.modules:
            sys.modules["ray"].shutdown()
        cluster.down()

    where = "each replica and the Ray worker in its own network namespace" if args.namespaces \
        else "every process on 127.0.0.1"
    print(f"\n## Scale-out on one machine ({os.cpu_count()} cores, {where})\n")
    print(f"`gazer cluster up`: {up_s:.1f} s; training the example app on the Ray worker: "
          f"{train_s:.1f} s a run.\n")
    print(f"| serving (wrk, POST, c=8, {args.seconds} s) | req/s | p50 ms | p99 ms | failed |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
              f"{int(r['failed'])} |")
    print(f"\nA promotion reaches both replicas in median {statistics.median(swaps):.2f} s "
          f"(max {max(swaps):.2f} s, {len(swaps)} moves; watch interval 0.5 s).\n")
    print("| failover (sequential requests through HAProxy) | requests | failed | slowest ms | "
          "p50 ms | out of HAProxy after s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in (("serve-1 killed (SIGKILL)", kill), ("serve-1's network cut", cut)):
        if f is not None:
            print(f"| {name} | {f['requests']} | {f['failed']} | {f['slowest_ms']:.0f} | "
                  f"{f['p50_ms']:.1f} | {f['down_s']:.2f} |")
    print(f"\n| {args.steps}-step no-op chain, cluster stores | ms per step |")
    print("|---|---:|")
    print(f"| local executor (threads) | {steps['local']:.0f} |")
    print(f"| Ray cluster (worker node) | {steps['ray']:.0f} |")


if __name__ == "__main__":
    main()

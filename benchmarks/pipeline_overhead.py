"""Pipeline overhead: per-step cost of the runner, and artifact throughput.

Prints a markdown table. Two measurements:
1. a 20-step chain of no-op steps on the local executor (fresh run and all-cache-hit run),
   with the in-memory tracker and with MLflow (SQLite) tracking; SQLite run store both ways;
2. a 3-step pipeline passing a ~200 MB DataFrame (Parquet on the local store): wall time,
   and save/load throughput of the artifact by itself.

    python benchmarks/pipeline_overhead.py [--steps 20] [--mb 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gazer import Pipeline, Settings, step
from gazer.core.artifacts import load_artifact, save_artifact
from gazer.core.runner import Runner
from gazer.registry.memory import MemoryRegistry
from gazer.storage.local import LocalStorage
from gazer.tracking.memory import MemoryTracker


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


def _make_frame(mb: int = 200) -> pd.DataFrame:
    rows = mb * 2**20 // (8 * 5)
    rng = np.random.default_rng(0)
    return pd.DataFrame({f"c{i}": rng.normal(size=rows) for i in range(5)})


@step(outputs="frame")
def make_frame(mb: int = 200) -> pd.DataFrame:
    return _make_frame(mb)


@step(outputs="scaled")
def scale(frame: pd.DataFrame) -> pd.DataFrame:
    return frame * 2.0


@step(outputs="total")
def total(scaled: pd.DataFrame) -> float:
    return float(scaled.to_numpy().sum())


def _runner(home: Path, tracking: str) -> Runner:
    settings = Settings(home=home, tracking={"co2": False})  # type: ignore[arg-type]
    if tracking == "memory":
        return Runner(settings, tracker=MemoryTracker(), registry=MemoryRegistry())
    return Runner(settings)


def bench_chain(n: int, repeats: int, tracking: str) -> dict[str, float]:
    fresh, cached = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            runner = _runner(Path(tmp), tracking)
            runner.run(chain(2))  # warm imports and database tables
            t = time.perf_counter()
            record = runner.run(chain(n))
            fresh.append(time.perf_counter() - t)
            assert record.status == "succeeded", record.error
            t = time.perf_counter()
            record = runner.run(chain(n))
            cached.append(time.perf_counter() - t)
            assert record.cache_hits == n
            runner.close()
    return {"fresh": statistics.median(fresh) / n * 1000,
            "cached": statistics.median(cached) / n * 1000}


def bench_frame(mb: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        storage = LocalStorage(Path(tmp) / "s")
        frame = _make_frame(mb)
        size_mb = frame.memory_usage(index=True).sum() / 2**20
        t = time.perf_counter()
        ref = save_artifact(storage, "curated/bench", "frame", frame, Path(tmp) / "t")
        save_s = time.perf_counter() - t
        t = time.perf_counter()
        back = load_artifact(storage, ref)
        load_s = time.perf_counter() - t
        assert back.shape == frame.shape
        runner = _runner(Path(tmp) / "home", "memory")
        t = time.perf_counter()
        record = runner.run(Pipeline("frame", [make_frame, scale, total]), {"make_frame.mb": mb})
        wall = time.perf_counter() - t
        assert record.status == "succeeded", record.error
        runner.close()
        steps = {s.name: s.duration_s for s in record.steps}
    return {"size_mb": size_mb, "file_mb": ref.size / 2**20, "save_s": save_s, "load_s": load_s,
            "wall": wall, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"## Per-step overhead, {args.steps}-step no-op chain, local executor "
          f"(median of {args.repeats})\n")
    print("| tracking | fresh run, ms/step | all cache hits, ms/step | target |")
    print("|---|---|---|---|")
    for tracking in ("memory", "mlflow"):
        r = bench_chain(args.steps, args.repeats, tracking)
        print(f"| {tracking} | {r['fresh']:.1f} | {r['cached']:.1f} | < 50 ms |", flush=True)

    f = bench_frame(args.mb)
    print(f"\n## A {f['size_mb']:.0f} MB DataFrame through artifacts (Parquet, local store)\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| in-memory size | {f['size_mb']:.0f} MB |")
    print(f"| Parquet file | {f['file_mb']:.0f} MB |")
    print(f"| save (serialise + hash + commit) | {f['save_s']:.2f} s "
          f"({f['size_mb'] / f['save_s']:.0f} MB/s) |")
    print(f"| load | {f['load_s']:.2f} s ({f['size_mb'] / f['load_s']:.0f} MB/s) |")
    print(f"| 3-step pipeline wall time | {f['wall']:.2f} s |")
    for name, took in f["steps"].items():
        print(f"| step {name} (incl. its artifact I/O) | {took:.2f} s |")


if __name__ == "__main__":
    main()

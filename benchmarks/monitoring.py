"""Monitoring benchmark: what logging costs a request, how fast a readout is, and whether the
sequential A/B test calls the right model.

1. Logging every prediction with full payloads against logging off, in the same run: a
   scikit-learn logistic regression behind ``ServingState.predict`` (the path every route
   takes), 8 threads calling at once, p50 and p99 per request.
2. A quality readout and an A/B readout over 1,000,000 logged predictions and 100,000
   feedback rows in SQLite.
3. Simulated A/B tests with a known 3-point accuracy difference (80% against 83%): over 200
   seeded runs each way, how often the sequential test calls the better model better and
   the worse one better, and the median number of labelled pairs it needed; plus 200 runs
   with no difference.

    python benchmarks/monitoring.py [--requests 4000] [--rows 1000000] [--runs 200]
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gazer.db import Database, rollups  # noqa: E402
from gazer.monitoring.readout import ab_readout, quality  # noqa: E402
from gazer.monitoring.stats import SequentialTest  # noqa: E402


def logging_overhead(requests: int, rounds: int = 5) -> list[tuple[str, float, float]]:
    """Off and on, alternated ``rounds`` times; the median of each round's p50 and p99."""
    by_label: dict[str, list[tuple[float, float]]] = {}
    for i in range(rounds):
        for label, p50, p99 in _logging_round(requests):
            by_label.setdefault(label, []).append((p50, p99))
        print(f"  round {i + 1}/{rounds} done", flush=True)
    return [(label, float(np.median([p for p, _ in v])), float(np.median([q for _, q in v])))
            for label, v in by_label.items()]


def _logging_round(requests: int) -> list[tuple[str, float, float]]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    from gazer.registry.memory import MemoryRegistry
    from gazer.registry.promotion import promote
    from gazer.services import Services
    from gazer.serving.endpoint import Endpoint
    from gazer.serving.state import ServingState
    from gazer.settings import EndpointSettings, Settings

    x, y = load_breast_cancer(return_X_y=True)
    model = LogisticRegression(max_iter=5000).fit(x, y)
    rows = [x[i : i + 1] for i in range(len(x))]
    results = []
    for label, log_on in (("logging off", False), ("logging on, full payloads", True)):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(home=Path(tmp), tracking={"co2": False},  # type: ignore[arg-type]
                                serving={"log_predictions": log_on})
            registry = MemoryRegistry()
            registry.register("m", model, input_example=x[:2])
            promote(registry, "m", 1)
            services = Services(settings, registry=registry)
            endpoint = Endpoint(EndpointSettings(name="m", batching=False), registry)
            state = ServingState(settings, registry, [endpoint],
                                 services.predictions if log_on else None, services=services)
            state.watcher.sync_once()

            def one(i: int, state: ServingState = state) -> float:
                started = time.perf_counter()
                state.predict("m", rows[i % len(rows)], f"r{i}")
                return (time.perf_counter() - started) * 1000

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(one, range(200)))  # warm up
                latencies = list(pool.map(one, range(requests)))
            if log_on:
                services.predictions.flush(60)
            written = services.predictions.written if log_on else 0
            state.close()
            services.close()
            p50, p99 = np.percentile(latencies, [50, 99])
            if log_on:
                print(f"  {written} rows written", flush=True)
            results.append((label, float(p50), float(p99)))
    return results


def readout_speed(rows: int, feedback: int) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/g.db"
        db = Database(url)
        conn = sqlite3.connect(f"{tmp}/g.db")
        rng = np.random.default_rng(0)
        now = time.time()
        started = time.perf_counter()
        versions = rng.integers(1, 3, rows)
        data = ((now - rng.random() * 6 * 86400, "e", "m", int(v),
                 "champion" if v == 1 else "challenger", 200, float(rng.gamma(2, 1)), "d",
                 "", f"r{i}", "x", "yes" if rng.random() < 0.8 + 0.03 * (v - 1) else "no",
                 float(rng.random())) for i, v in enumerate(versions))
        conn.executemany(
            "INSERT INTO gazer_predictions (at, endpoint, model, version, role, status, "
            "latency_ms, input_digest, output, request_id, input, answer, confidence) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", data)
        conn.executemany(
            "INSERT INTO gazer_feedback (request_id, endpoint, label, at, revisions) "
            "VALUES (?, 'e', 'yes', ?, 1)", ((f"r{i}", now) for i in
                                             rng.choice(rows, feedback, replace=False)))
        conn.commit()
        conn.close()
        print(f"  filled {rows} predictions and {feedback} feedback rows in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
        started = time.perf_counter()
        with db.engine.begin() as c:  # what the log writer adds as it writes the rows
            rollups.rebuild(c)
        print(f"  rolled them up in {time.perf_counter() - started:.1f}s", flush=True)
        timings = []
        for name, fn in (("quality readout", lambda: quality(db, "e")),
                         ("A/B readout (canary)",
                          lambda: ab_readout(db, "e", 1, 2, "canary", 0.5))):
            fn()  # the first call reads the file into the page cache
            started = time.perf_counter()
            result = fn()
            timings.append((name, time.perf_counter() - started))
            if "verdict" in result:
                print(f"  verdict: {result['verdict']['decision']} after "
                      f"{result['verdict']['pairs']} pairs", flush=True)
        db.close()
    return timings


def simulate(runs: int, cap: int = 60_000) -> list[tuple[str, dict[str, int], float]]:
    """Each run draws pairs until the test decides (or ``cap`` pairs), looking after each."""
    test = SequentialTest()
    threshold = math.log(1 / test.alpha)
    out = []
    for name, pa, pb in (("challenger 3 points better", 0.80, 0.83),
                         ("challenger 3 points worse", 0.83, 0.80),
                         ("no difference", 0.80, 0.80)):
        calls = {"better": 0, "worse": 0, "not known yet": 0}
        needed = []
        for seed in range(runs):
            rng = np.random.default_rng(seed)
            d = (rng.random(cap) < pb).astype(float) - (rng.random(cap) < pa).astype(float)
            n = np.arange(1, cap + 1)
            mean = np.cumsum(d) / n
            var = (np.cumsum(d * d) - n * mean**2) / np.maximum(n - 1, 1)
            var = np.maximum(np.maximum(var, 0.25 / n), 1e-6)  # the test's own floor
            v = var + n * test.tau2
            llr = 0.5 * np.log(var / v) + (n * n * test.tau2 * mean * mean) / (2 * var * v)
            hit = np.flatnonzero((llr >= threshold) & (n >= 2))
            if not len(hit):
                calls["not known yet"] += 1
                continue
            i = int(hit[0])
            calls["better" if mean[i] > 0 else "worse"] += 1
            needed.append(i + 1)
        out.append((name, calls, float(np.median(needed)) if needed else float("nan")))
    # the vectorised check above is the test's own statistic: confirm on one run
    rng = np.random.default_rng(0)
    a = (rng.random(5000) < 0.80).astype(float).tolist()
    b = (rng.random(5000) < 0.83).astype(float).tolist()
    assert test.verdict(a, b).pairs == 5000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--feedback", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--only", choices=("logging", "readout", "ab"),
                        help="run one section only")
    args = parser.parse_args()
    if args.only in (None, "logging"):
        _logging(args)
    if args.only in (None, "readout"):
        _readout(args)
    if args.only in (None, "ab"):
        _ab(args)


def _logging(args: argparse.Namespace) -> None:
    print("## 1. What logging costs a request (8 threads, ServingState.predict; median of 5 "
          "alternating rounds)\n", flush=True)
    results = logging_overhead(args.requests)
    print("| | p50 ms | p99 ms |\n|---|---|---|")
    for label, p50, p99 in results:
        print(f"| {label} | {p50:.3f} | {p99:.3f} |")
    print(f"\nlogging costs {results[1][1] - results[0][1]:+.3f} ms at p50\n", flush=True)


def _readout(args: argparse.Namespace) -> None:
    print(f"## 2. Readouts over {args.rows} predictions and {args.feedback} feedback rows "
          f"(SQLite)\n", flush=True)
    timings = readout_speed(args.rows, args.feedback)
    print("\n| readout | seconds |\n|---|---|")
    for name, seconds in timings:
        print(f"| {name} | {seconds:.2f} |")


def _ab(args: argparse.Namespace) -> None:
    print(f"\n## 3. Sequential A/B test, {args.runs} seeded runs each (alpha 0.05)\n",
          flush=True)
    print("| truth | called better | called worse | not known (60,000 pairs) | "
          "median pairs to a verdict |\n|---|---|---|---|---|")
    for name, calls, median in simulate(args.runs):
        print(f"| {name} | {calls['better']} | {calls['worse']} | {calls['not known yet']} | "
              f"{median:.0f} |")


if __name__ == "__main__":
    main()

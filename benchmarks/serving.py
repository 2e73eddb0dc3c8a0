"""Serving benchmark: gazer vs `mlflow models serve` vs plain FastAPI (the floor).

Same scikit-learn model (logistic regression, 30 features), same machine, load from `wrk`
(Debian package) on 127.0.0.1, bounded in time. Prints markdown tables and writes
docs/images/serving-latency.png.

    python benchmarks/serving.py [--seconds 10] [--swap-seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train() -> tuple[Any, list[str], list[float]]:
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer(as_frame=True)
    x: pd.DataFrame = data.data
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, data.target)
    return model, [str(c) for c in x.columns], x.iloc[0].tolist()


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def wrk(url: str, body: dict[str, Any], connections: int, seconds: int,
        headers: dict[str, str] | None = None) -> dict[str, float]:
    extra = "".join(f'\nwrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(textwrap.dedent(f"""
            wrk.method = "POST"
            wrk.body = [==[{json.dumps(body)}]==]
            wrk.headers["Content-Type"] = "application/json"
        """) + extra + "\n")
        script = fh.name
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", script, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    return parse_wrk(out)


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(\w+)", text)
    if match is None:
        raise RuntimeError(f"cannot read a latency from {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(out: str) -> dict[str, float]:
    if "99%" not in out:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        "requests": requests,
        "failed": (int(bad.group(1)) if bad else 0)
        + (sum(int(g) for g in errors.groups()) if errors else 0),
    }


PLAIN_APP = """
import joblib, numpy as np, pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel
model = joblib.load({path!r})
columns = {columns!r}
app = FastAPI()
class Body(BaseModel):
    data: list[list[float]]
@app.get("/healthz")
def health():
    return {{"ok": True}}
@app.post("/predict")
def predict(body: Body):
    rows = pd.DataFrame(np.asarray(body.data), columns=columns)
    return {{"predict": model.predict(rows).tolist()}}
"""


class Servers:
    """Start the three servers as subprocesses; stop them all at the end."""

    def __init__(self, work: Path, model: Any, columns: list[str]) -> None:
        self.work, self.model, self.columns = work, model, columns
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
                    "GAZER_HOME": str(work / "home"), "GAZER_TRACKING__CO2": "false"}

    def start(self, cmd: list[str], ready: str, cwd: Path | None = None) -> None:
        log = open(self.work / f"server-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        self.procs.append(proc)
        wait_ready(ready, proc)

    def gazer(self, registry: Any) -> int:
        from gazer.registry.promotion import promote

        example = np.zeros((2, len(self.columns)))
        import pandas as pd

        frame = pd.DataFrame(example, columns=self.columns)
        for _ in range(2):
            registry.register("bench", self.model, input_example=frame)
        promote(registry, "bench", 1)
        port = free_port()
        self.env.update({
            "GAZER_SERVING__ENDPOINTS": json.dumps([
                {"name": "bench"},
                {"name": "cold", "model": "bench", "serverless": True, "idle_s": 1.0}]),
            "GAZER_SERVING__POLL_INTERVAL_S": "0.5",
        })
        self.start([str(BIN / "gazer"), "serve", "--port", str(port)],
                   f"http://127.0.0.1:{port}/readyz")
        return port

    def mlflow(self) -> int:
        import mlflow.sklearn

        path = self.work / "mlflow-model"
        mlflow.sklearn.save_model(self.model, str(path))
        port = free_port()
        self.start([str(BIN / "mlflow"), "models", "serve", "-m", str(path), "--env-manager",
                    "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
                   f"http://127.0.0.1:{port}/ping")
        return port

    def plain(self) -> int:
        import joblib

        joblib.dump(self.model, self.work / "model.joblib")
        (self.work / "plain_app.py").write_text(PLAIN_APP.format(
            path=str(self.work / "model.joblib"), columns=self.columns))
        port = free_port()
        self.start([str(BIN / "python"), "-m", "uvicorn", "plain_app:app", "--host", "127.0.0.1",
                    "--port", str(port), "--log-level", "warning", "--no-access-log"],
                   f"http://127.0.0.1:{port}/healthz", cwd=self.work)
        return port

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def swaps_under_load(port: int, body: dict[str, Any], registry: Any, seconds: int,
                     swaps: int) -> dict[str, float]:
    from gazer.registry.promotion import promote

    result: dict[str, float] = {}
    load = threading.Thread(target=lambda: result.update(
        wrk(f"http://127.0.0.1:{port}/v2/models/bench/infer", body, 8, seconds)))
    load.start()
    time.sleep(1)
    for i in range(swaps):
        promote(registry, "bench", 2 if i % 2 == 0 else 1, reason="benchmark")
        time.sleep((seconds - 3) / swaps)
    load.join()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
        metrics = r.read().decode()
    done = re.search(r'gazer_swaps_total\{endpoint="bench",result="ok",role="champion"\} ([\d.]+)',
                     metrics)
    result["swaps_done"] = float(done.group(1)) if done else 0.0
    return result


def cold_start(port: int, body: dict[str, Any], repeats: int = 3) -> list[float]:
    times = []
    for _ in range(repeats):
        time.sleep(3.0)  # idle 1 s plus the watcher's 0.5 s poll: the model is unloaded
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/cold/infer",
                                         data=json.dumps(body).encode(),
                                         headers={"content-type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as r:
            assert r.status == 200
        times.append((time.perf_counter() - started) * 1000)
    return times


def chart(rows: list[tuple[str, int, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    short = {"gazer": "gazer", "mlflow models serve": "mlflow", "plain FastAPI (floor)": "plain"}
    labels = [f"{short.get(name, name)}\nc={c}" for name, c, _ in rows]
    axes[0].bar(labels, [r["rps"] for _, _, r in rows], color="#2456d6")
    axes[0].set_title("requests/s (higher is better)")
    x = np.arange(len(rows))
    axes[1].bar(x - 0.2, [r["p50"] for _, _, r in rows], 0.4, label="p50")
    axes[1].bar(x + 0.2, [r["p99"] for _, _, r in rows], 0.4, label="p99")
    axes[1].set_xticks(x, labels)
    axes[1].set_title("latency, ms (lower is better)")
    axes[1].legend()
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--swap-seconds", type=int, default=30)
    parser.add_argument("--swaps", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    from gazer.registry.mlflow import MlflowRegistry

    model, columns, row = train()
    work = Path(tempfile.mkdtemp(prefix="gazer-bench-"))
    registry = MlflowRegistry(f"sqlite:///{work / 'home' / 'mlflow.db'}",
                              (work / "home" / "mlartifacts").as_uri())
    (work / "home").mkdir()
    servers = Servers(work, model, columns)
    bodies = {
        "gazer": ("/v2/models/bench/infer", {"inputs": [
            {"name": "x", "shape": [1, len(row)], "datatype": "FP64", "data": row}]}),
        "mlflow models serve": ("/invocations", {"dataframe_split": {"columns": columns,
                                                                   "data": [row]}}),
        "plain FastAPI (floor)": ("/predict", {"data": [row]}),
    }
    try:
        ports = {"gazer": servers.gazer(registry), "mlflow models serve": servers.mlflow(),
                 "plain FastAPI (floor)": servers.plain()}
        rows = []
        print("## Real-time serving: one small scikit-learn model, wrk on 127.0.0.1\n")
        print(f"{args.seconds} s per cell, 1 wrk thread; the servers and wrk share 2 cores.\n")
        print("| server | concurrency | requests/s | p50 ms | p99 ms | failed |")
        print("|---|---|---|---|---|---|")
        for conc in (1, 8):
            for name, port in ports.items():
                path, body = bodies[name]
                wrk(f"http://127.0.0.1:{port}{path}", body, conc, 2)  # warm-up, not counted
                r = wrk(f"http://127.0.0.1:{port}{path}", body, conc, args.seconds)
                rows.append((name, conc, r))
                print(f"| {name} | {conc} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                      f"{int(r['failed'])} |", flush=True)
        by = {(n, c): r for n, c, r in rows}
        overhead = by[("gazer", 1)]["p50"] - by[("plain FastAPI (floor)", 1)]["p50"]
        ratio = by[("gazer", 8)]["rps"] / by[("mlflow models serve", 8)]["rps"]
        print(f"\ngazer p50 overhead over the direct call (c=1): {overhead:.2f} ms (target < 2)")
        print(f"gazer requests/s vs mlflow models serve (c=8): {ratio:.1f}x (target >= 2x)")
        chart(rows, ROOT / "docs" / "images" / "serving-latency.png")

        swap = swaps_under_load(ports["gazer"], bodies["gazer"][1], registry,
                                args.swap_seconds, args.swaps)
        print(f"\n## {args.swaps} alias moves during a {args.swap_seconds} s load (c=8)\n")
        print("| requests sent | failed | swaps completed | p50 ms | p99 ms |")
        print("|---|---|---|---|---|")
        print(f"| {swap['requests']:.0f} | {swap['failed']:.0f} | {swap['swaps_done']:.0f} | "
              f"{swap['p50']:.2f} | {swap['p99']:.2f} |")
        cold = cold_start(ports["gazer"], bodies["gazer"][1])
        print("\n## Serverless endpoint cold start (first request after idle unload)\n")
        print("| attempt | first-request latency ms |")
        print("|---|---|")
        for i, ms in enumerate(cold, 1):
            print(f"| {i} | {ms:.0f} |")
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

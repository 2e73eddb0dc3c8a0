"""Serving benchmark: gazer vs MLflow, Ray Serve and BentoML, and a plain FastAPI floor.

Two models, each behind every server as a separate process on the same machine, load from
`wrk` (Debian package) on 127.0.0.1, bounded in time, at concurrency 1, 8 and 32:

- sklearn: a scikit-learn pipeline (standard scaler + logistic regression, 30 features);
- torch: the characters app's CNN (``build_cnn(CnnConfig())``, 28x28 uint8 images), with
  gazer's adaptive batching on and the peers' own batching (``@serve.batch``, BentoML
  ``batchable``).

Ray Serve and BentoML run from their own venv (``.venv-peers``, made here from
``benchmarks/peers/requirements.txt``); a peer that cannot be installed or started is a row
saying why. Then, for the sklearn model: alias moves under load, a serverless cold start,
and (``--profile``) py-spy profiles of gazer at c=8 and c=32. Prints markdown and writes
docs/images/serving-latency.png.

    python benchmarks/serving.py [--model sklearn|torch|both] [--seconds 10] [--profile]

This module is over 500 lines: one benchmark, its servers and its report read together.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PEERS = ROOT / "benchmarks" / "peers"
PEERS_VENV = ROOT / ".venv-peers"
CONCURRENCY = (1, 8, 32)
GAZER, MLFLOW, RAY, BENTO, PLAIN = ("gazer", "mlflow models serve", "Ray Serve", "BentoML",
                                    "plain FastAPI (floor)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train_sklearn() -> tuple[Any, list[str], list[float]]:
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer(as_frame=True)
    x: pd.DataFrame = data.data
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, data.target)
    return model, [str(c) for c in x.columns], x.iloc[0].tolist()


def make_cnn() -> tuple[Any, list[int]]:
    """The characters CNN at its default shape (seeded weights: speed, not accuracy), and one
    28x28 uint8 image as a flat list."""
    import torch

    from gazer.apps.characters.model import CnnConfig, build_cnn

    torch.manual_seed(0)
    net = build_cnn(CnnConfig()).eval()
    image = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    return net, image.reshape(-1).tolist()


class PeerUnavailable(RuntimeError):
    """A peer server could not be installed or started; the table says why."""


def peers_python() -> Path:
    """The peers' venv python, made (or brought up to date) from requirements.txt first."""
    requirements = PEERS / "requirements.txt"
    python = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / ".requirements"
    if stamp.exists() and stamp.read_text() == requirements.read_text():
        return python
    try:
        if not python.exists():
            subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv",
                            str(PEERS_VENV)], check=True, capture_output=True, text=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)],
                       check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["no output"]
        raise PeerUnavailable(f"pip install -r {requirements.name} failed: {tail[0]}") from exc
    stamp.write_text(requirements.read_text())
    return python


def wait_ready(url: str, body: dict[str, Any], proc: subprocess.Popen[bytes],
               timeout_s: float = 180) -> None:
    """Until ``url`` answers ``body`` with 200: the model is loaded, not just the port open."""
    deadline = time.time() + timeout_s
    data = json.dumps(body).encode()
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        request = urllib.request.Request(url, data=data,
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer 200 within {timeout_s:.0f} s")


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
                          "--timeout", "10s", "-s", script, url],
                         capture_output=True, text=True, check=True).stdout
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


PLAIN_SKLEARN = """
import joblib, numpy as np, pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel
model = joblib.load({path!r})
columns = {columns!r}
app = FastAPI()
class Body(BaseModel):
    data: list[list[float]]
@app.post("/predict")
def predict(body: Body):
    rows = pd.DataFrame(np.asarray(body.data), columns=columns)
    return {{"predict": model.predict(rows).tolist()}}
"""

PLAIN_TORCH = """
import numpy as np, torch
from fastapi import FastAPI
from pydantic import BaseModel
net = torch.load({path!r}, weights_only=False).eval()
app = FastAPI()
class Body(BaseModel):
    data: list[int]
@app.post("/predict")
def predict(body: Body):
    x = torch.from_numpy(np.asarray(body.data, dtype=np.uint8).reshape(-1, 1, 28, 28))
    with torch.inference_mode():
        return {{"predict": net(x.float().div(255)).argmax(1).tolist()}}
"""


def _mlflow_torch_model(net_path: str) -> Any:
    """A pyfunc around the saved CNN: uint8 images in, class indexes out (MLflow's way to
    add preprocessing; pickled by value, so the server needs no code of ours)."""
    import mlflow.pyfunc

    class CnnPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def load_context(self, context: Any) -> None:
            import torch

            self.net = torch.load(context.artifacts["net"], weights_only=False).eval()

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            import torch

            x = np.asarray(model_input, dtype=np.uint8).reshape(-1, 1, 28, 28)
            with torch.inference_mode():
                return self.net(torch.from_numpy(x).float().div(255)).argmax(1).numpy()

    return CnnPyfunc()


@dataclasses.dataclass
class Target:
    """One server under test: where to POST, what, and its process."""

    name: str
    url: str = ""
    body: dict[str, Any] = dataclasses.field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    error: str | None = None


class Servers:
    """Start the servers as subprocesses, each in its own session; stop them all at the end."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
                    "GAZER_HOME": str(work / "home"), "GAZER_TRACKING__CO2": "false",
                    "BENTOML_DO_NOT_TRACK": "True", "RAY_USAGE_STATS_ENABLED": "0"}

    def start(self, target: Target, cmd: list[str], path: str, body: dict[str, Any],
              cwd: Path | None = None, env: dict[str, str] | None = None) -> Target:
        """Start ``cmd`` on a free port (``{port}`` in it) and wait until it answers."""
        port = free_port()
        log = open(self.work / f"server-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([c.replace("{port}", str(port)) for c in cmd],
                                env={**self.env, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        self.procs.append(proc)
        target.url, target.body, target.proc = f"http://127.0.0.1:{port}{path}", body, proc
        try:
            wait_ready(target.url, body, proc)
        except (RuntimeError, TimeoutError) as exc:
            last = (self.work / f"server-{len(self.procs) - 1}.log").read_text(
                errors="replace").strip().splitlines()[-1:] or [""]
            target.error = f"{exc}; last log line: {last[0][:160]}"
            self._stop(proc)
        return target

    def peer(self, name: str, cmd: list[str], path: str, body: dict[str, Any],
             env: dict[str, str] | None = None) -> Target:
        try:
            python = peers_python()
        except PeerUnavailable as exc:
            return Target(name, error=str(exc))
        cmd = [str(python) if c == "{python}" else c for c in cmd]
        return self.start(Target(name), cmd, path, body, cwd=PEERS, env=env)

    def stop(self) -> None:
        for proc in self.procs:
            self._stop(proc)
        self.procs.clear()

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        # the server's own session: its workers (Ray, BentoML) go with it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def gazer_serve(servers: Servers, endpoints: list[dict[str, Any]], path: str,
                body: dict[str, Any]) -> Target:
    servers.env.update({"GAZER_SERVING__ENDPOINTS": json.dumps(endpoints),
                        "GAZER_SERVING__POLL_INTERVAL_S": "0.5"})
    return servers.start(Target(GAZER), [str(BIN / "gazer"), "serve", "--port", "{port}"],
                         path, body)


def mlflow_serve(servers: Servers, path: Path, body: dict[str, Any]) -> Target:
    return servers.start(Target(MLFLOW), [
        str(BIN / "mlflow"), "models", "serve", "-m", str(path), "--env-manager", "local",
        "-h", "127.0.0.1", "-p", "{port}", "-w", "1"], "/invocations", body)


def plain_serve(servers: Servers, source: str, body: dict[str, Any]) -> Target:
    (servers.work / "plain_app.py").write_text(source)
    return servers.start(Target(PLAIN), [
        str(BIN / "python"), "-m", "uvicorn", "plain_app:app", "--host", "127.0.0.1",
        "--port", "{port}", "--log-level", "warning", "--no-access-log"], "/predict", body,
        cwd=servers.work)


def peer_serve(servers: Servers, name: str, kind: str, model_path: Path,
               columns: list[str], body: dict[str, Any]) -> Target:
    if name == RAY:
        return servers.peer(RAY, ["{python}", "ray_server.py", "--port", "{port}", "--kind",
                                  kind, "--model", str(model_path), "--columns",
                                  json.dumps(columns)], "/predict", body)
    service = "SklearnModel" if kind == "sklearn" else "TorchModel"
    return servers.peer(BENTO, [str(PEERS_VENV / "bin" / "bentoml"), "serve",
                                f"bentoml_service:{service}", "--host", "127.0.0.1",
                                "--port", "{port}"], "/predict", body,
                        env={"PEER_MODEL": str(model_path), "PEER_COLUMNS": json.dumps(columns)})


Starter = tuple[str, Callable[[], Target]]


def sklearn_servers(servers: Servers, registry: Any) -> list[Starter]:
    """How to start each server on the scikit-learn model (its artifacts written first)."""
    import joblib
    import mlflow.sklearn
    import pandas as pd

    from gazer.registry.promotion import promote

    model, columns, row = train_sklearn()
    frame = pd.DataFrame(np.zeros((2, len(columns))), columns=columns)
    for _ in range(2):
        registry.register("bench", model, input_example=frame)
    promote(registry, "bench", 1)
    oip = {"inputs": [{"name": "x", "shape": [1, len(row)], "datatype": "FP64", "data": row}]}
    mlflow_path, joblib_path = servers.work / "mlflow-sklearn", servers.work / "model.joblib"
    mlflow.sklearn.save_model(model, str(mlflow_path))
    joblib.dump(model, joblib_path)
    plain = PLAIN_SKLEARN.format(path=str(joblib_path), columns=columns)
    return [
        (GAZER, lambda: gazer_serve(servers, [{"name": "bench"}, {
            "name": "cold", "model": "bench", "serverless": True, "idle_s": 1.0}],
            "/v2/models/bench/infer", oip)),
        (MLFLOW, lambda: mlflow_serve(servers, mlflow_path, {
            "dataframe_split": {"columns": columns, "data": [row]}})),
        *[(peer, lambda peer=peer: peer_serve(servers, peer, "sklearn", joblib_path, columns,
                                              {"data": [row]})) for peer in (RAY, BENTO)],
        (PLAIN, lambda: plain_serve(servers, plain, {"data": [row]})),
    ]


def torch_servers(servers: Servers, registry: Any) -> list[Starter]:
    """How to start each server on the CNN (its artifacts written first)."""
    import mlflow.pyfunc
    import torch

    from gazer.apps.characters.model import CnnConfig, CnnImageClassifier
    from gazer.apps.characters.preprocess import ImageTransform
    from gazer.ml.torchnet import cpu_state
    from gazer.registry.promotion import promote

    net, image = make_cnn()
    classifier = CnnImageClassifier(CnnConfig(), cpu_state(net), tuple("0123456789"),
                                    ImageTransform())
    registry.register("bench-cnn", classifier, input_example=np.zeros((2, 28, 28), np.uint8))
    promote(registry, "bench-cnn", 1)
    oip = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "UINT8", "data": image}]}
    net_path = servers.work / "cnn.pt"
    torch.save(net, net_path)
    mlflow_path = servers.work / "mlflow-cnn"
    mlflow.pyfunc.save_model(str(mlflow_path), python_model=_mlflow_torch_model(str(net_path)),
                             artifacts={"net": str(net_path)})
    bodies = {RAY: {"data": image}, BENTO: {"data": np.reshape(image, (1, 28, 28)).tolist()}}
    return [
        (GAZER, lambda: gazer_serve(servers, [{"name": "cnn", "model": "bench-cnn"}],
                                    "/v2/models/cnn/infer", oip)),
        (MLFLOW, lambda: mlflow_serve(servers, mlflow_path, {"inputs": [image]})),
        *[(peer, lambda peer=peer: peer_serve(servers, peer, "torch", net_path, [],
                                              bodies[peer])) for peer in (RAY, BENTO)],
        (PLAIN, lambda: plain_serve(servers, PLAIN_TORCH.format(path=str(net_path)),
                                    {"data": image})),
    ]


Rows = list[tuple[str, int, dict[str, float] | None, str | None]]


def measure(servers: Servers, starters: list[Starter], seconds: int,
            then: Callable[[Target], None] | None = None) -> tuple[Rows, str]:
    """Each server alone on the machine: start it, load it at every concurrency (a 2 s
    warm-up first, not counted), ``then(target)`` for gazer, stop it. Prints the rows;
    returns them and what ``then`` printed."""
    rows: Rows = []
    later = io.StringIO()
    print("| server | concurrency | requests/s | p50 ms | p99 ms | failed |")
    print("|---|---|---|---|---|---|")
    for name, start in starters:
        target = start()
        try:
            for conc in CONCURRENCY:
                if target.error is not None:
                    rows.append((name, conc, None, target.error))
                    print(f"| {name} | {conc} | not run: {target.error} | | | |", flush=True)
                    continue
                wrk(target.url, target.body, conc, 2)
                r = wrk(target.url, target.body, conc, seconds)
                rows.append((name, conc, r, None))
                print(f"| {name} | {conc} | {r['rps']:.0f} | {r['p50']:.2f} | "
                      f"{r['p99']:.2f} | {int(r['failed'])} |", flush=True)
            if then is not None and name == GAZER and target.error is None:
                with contextlib.redirect_stdout(later):
                    then(target)
        finally:
            servers.stop()
    return rows, later.getvalue()


def ratios(rows: Rows) -> None:
    by = {(n, c): r for n, c, r, _ in rows if r is not None}

    def vs(other: str, conc: int, target: float) -> None:
        if (GAZER, conc) in by and (other, conc) in by:
            x = by[(GAZER, conc)]["rps"] / by[(other, conc)]["rps"]
            print(f"- gazer requests/s vs {other} (c={conc}): {x:.2f}x (target >= {target:g}x)")
        else:
            print(f"- gazer vs {other} (c={conc}): not measured")

    print()
    vs(MLFLOW, 8, 2)
    for peer in (RAY, BENTO):
        for conc in (8, 32):
            vs(peer, conc, 1)
    if (GAZER, 1) in by and (PLAIN, 1) in by:
        overhead = by[(GAZER, 1)]["p50"] - by[(PLAIN, 1)]["p50"]
        print(f"- gazer p50 overhead over the plain FastAPI floor (c=1): {overhead:.2f} ms "
              f"(target < 1)")


def profile(target: Target, conc: int, seconds: int, out: Path) -> None:
    """py-spy samples gazer while wrk loads it; prints where the samples fall."""
    assert target.proc is not None
    spy = PEERS_VENV / "bin" / "py-spy"
    if not spy.exists():
        print(f"\n(no profile at c={conc}: {spy} is missing)")
        return
    load = threading.Thread(target=wrk, args=(target.url, target.body, conc, seconds + 2))
    load.start()
    time.sleep(1)
    done = subprocess.run([str(spy), "record", "-p", str(target.proc.pid), "-d", str(seconds),
                           "-r", "250", "-f", "raw", "-o", str(out), "--nonblocking"],
                          capture_output=True, text=True)
    load.join()
    if done.returncode != 0 or not out.exists():
        print(f"\n(no profile at c={conc}: py-spy said {done.stderr.strip()[-200:]})")
        return
    print(f"\n### Where gazer's time goes at c={conc} (py-spy, {seconds} s, all threads)\n")
    print("| share of samples | inclusive of |")
    print("|---|---|")
    for label, share in summarise_profile(out.read_text()):
        print(f"| {share:.0%} | {label} |")


PROFILE_BUCKETS = (  # first match wins, checked from the leaf of each stack up
    ("sklearn/numpy predict (incl. pandas DataFrame)", ("sklearn/", "pandas/")),
    ("torch forward", ("torch/",)),
    ("prediction log (gazer.monitoring.predictions)", ("monitoring/predictions",)),
    ("Prometheus metrics", ("prometheus_client/",)),
    ("pydantic validation/serialisation", ("pydantic", "fastapi/_compat", "encoders.py")),
    ("JSON encode/decode", ("json/",)),
    ("OIP decode/encode (gazer.serving.protocol)", ("serving/protocol",)),
    ("batcher hand-off (gazer.serving.batcher, futures, queue)", ("serving/batcher",
                                                                   "concurrent/futures")),
    ("thread-pool hand-off (anyio)", ("anyio/",)),
    ("uvicorn/h11 HTTP", ("uvicorn/", "h11/", "httptools")),
    ("starlette/fastapi routing and middleware", ("starlette/", "fastapi/",
                                                  "serving/middleware")),
    ("asyncio event loop", ("asyncio/",)),
)


def summarise_profile(raw: str) -> list[tuple[str, float]]:
    """Collapsed stacks -> share of samples per bucket, by the innermost frame that names one."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        frames = stack.split(";")[::-1]
        for frame in frames:
            bucket = next((label for label, keys in PROFILE_BUCKETS
                           if any(k in frame for k in keys)), None)
            if bucket is not None:
                counts[bucket] += int(n)
                break
        else:
            counts[f"other ({frames[0][:60]})" if frames else "other"] += int(n)
    merged: collections.Counter[str] = collections.Counter()
    for label, n in counts.items():
        merged[label if not label.startswith("other") or n / max(total, 1) >= 0.02
               else "other (each < 2%)"] += n
    return [(label, n / max(total, 1)) for label, n in merged.most_common()]


def chart(tables: dict[str, Rows], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    short = {GAZER: "gazer", MLFLOW: "mlflow", RAY: "ray", BENTO: "bento", PLAIN: "plain"}
    fig, axes = plt.subplots(len(tables), 2, figsize=(14, 4 * len(tables)), squeeze=False)
    for (model, rows), (left, right) in zip(tables.items(), axes, strict=True):
        done = [(n, c, r) for n, c, r, _ in rows if r is not None]
        labels = [f"{short.get(n, n)}\nc={c}" for n, c, _ in done]
        x = np.arange(len(done))
        colours = ["#2456d6" if n == GAZER else "#8a8a8a" for n, _, _ in done]
        left.bar(x, [r["rps"] for _, _, r in done], color=colours)
        left.set_title(f"{model}: requests/s (higher is better)")
        right.bar(x - 0.2, [r["p50"] for _, _, r in done], 0.4, label="p50")
        right.bar(x + 0.2, [r["p99"] for _, _, r in done], 0.4, label="p99")
        right.set_yscale("log")
        right.set_title(f"{model}: latency, ms, log scale (lower is better)")
        right.legend()
        for ax in (left, right):
            ax.set_xticks(x, labels)
            ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def swaps_under_load(target: Target, registry: Any, seconds: int,
                     swaps: int) -> dict[str, float]:
    from gazer.registry.promotion import promote

    result: dict[str, float] = {}
    load = threading.Thread(target=lambda: result.update(wrk(target.url, target.body, 8,
                                                             seconds)))
    load.start()
    time.sleep(1)
    for i in range(swaps):
        promote(registry, "bench", 2 if i % 2 == 0 else 1, reason="benchmark")
        time.sleep((seconds - 3) / swaps)
    load.join()
    base = target.url.split("/v2/")[0]
    with urllib.request.urlopen(f"{base}/metrics") as r:
        metrics = r.read().decode()
    done = re.search(r'gazer_swaps_total\{endpoint="bench",result="ok",role="champion"\} ([\d.]+)',
                     metrics)
    result["swaps_done"] = float(done.group(1)) if done else 0.0
    return result


def cold_start(target: Target, repeats: int = 3) -> list[float]:
    times = []
    url = target.url.replace("/models/bench/", "/models/cold/")
    for _ in range(repeats):
        time.sleep(3.0)  # idle 1 s plus the watcher's 0.5 s poll: the model is unloaded
        request = urllib.request.Request(url, data=json.dumps(target.body).encode(),
                                         headers={"content-type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as r:
            assert r.status == 200
        times.append((time.perf_counter() - started) * 1000)
    return times


def gazer_extras(target: Target, registry: Any, args: argparse.Namespace, work: Path) -> None:
    """Profiles (``--profile``); for the scikit-learn model (``registry`` given), alias moves
    under load and serverless cold starts."""
    if args.profile:
        for conc in (8, 32):
            profile(target, conc, args.seconds, work / f"profile-{conc}-{time.time():.0f}.txt")
    if registry is None or args.swap_seconds <= 0:
        return
    swap = swaps_under_load(target, registry, args.swap_seconds, args.swaps)
    print(f"\n## {args.swaps} alias moves during a {args.swap_seconds} s load (c=8)\n")
    print("| requests sent | failed | swaps completed | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    print(f"| {swap['requests']:.0f} | {swap['failed']:.0f} | {swap['swaps_done']:.0f} | "
          f"{swap['p50']:.2f} | {swap['p99']:.2f} |")
    cold = cold_start(target)
    print("\n## Serverless endpoint cold start (first request after idle unload)\n")
    print("| attempt | first-request latency ms |")
    print("|---|---|")
    for i, ms in enumerate(cold, 1):
        print(f"| {i} | {ms:.0f} |")


TITLES = {"sklearn": "one small scikit-learn model", "torch": "the characters CNN (torch)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["sklearn", "torch", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--swap-seconds", type=int, default=30, help="0: skip the swaps")
    parser.add_argument("--swaps", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="py-spy gazer at c=8 and c=32")
    parser.add_argument("--only", default="", help="comma-separated servers, e.g. gazer,plain")
    parser.add_argument("--chart", type=Path,
                        default=ROOT / "docs" / "images" / "serving-latency.png")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    from gazer.registry.mlflow import MlflowRegistry

    work = Path(tempfile.mkdtemp(prefix="gazer-bench-"))
    (work / "home").mkdir()
    registry = MlflowRegistry(f"sqlite:///{work / 'home' / 'mlflow.db'}",
                              (work / "home" / "mlartifacts").as_uri())
    tables: dict[str, Rows] = {}
    try:
        for model in ("sklearn", "torch") if args.model == "both" else (args.model,):
            servers = Servers(work)
            try:
                starters = (sklearn_servers if model == "sklearn" else torch_servers)(
                    servers, registry)
                if args.only:
                    keep = [w.strip().lower() for w in args.only.split(",")]
                    starters = [s for s in starters if any(k in s[0].lower() for k in keep)]
                print(f"## Real-time serving: {TITLES[model]}, wrk on 127.0.0.1\n")
                print(f"{args.seconds} s per cell, 1 wrk thread, one server running at a "
                      f"time; it and wrk share {os.cpu_count()} cores.\n", flush=True)
                then = ((lambda t: gazer_extras(t, registry, args, work)) if model == "sklearn"
                        else (lambda t: gazer_extras(t, None, args, work)))
                tables[model], extras = measure(servers, starters, args.seconds, then)
                ratios(tables[model])
                print(extras)
            finally:
                servers.stop()
        chart(tables, args.chart)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

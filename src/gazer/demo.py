"""``gazer demo``: serve every registered app at once, and train the ones that have no
champion in the background, one at a time.

The pages show what is training (``GET /api/training``: the app, its step, its epochs and
ETA) and each app goes live when its champion lands: the server's watcher swaps it in, with
no restart. ``--check`` does the same on a free loopback port, waits for the training to
end, asks every endpoint for a prediction over HTTP, and exits: a green check means a
newcomer's ``make demo`` works.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np
import uvicorn

from gazer.catalog import App, list_apps
from gazer.core.progress import active
from gazer.core.runner import run_id_in
from gazer.errors import RunFailed
from gazer.registry.protocol import CHAMPION, EXAMPLE_TAG, decode_example
from gazer.services import Services
from gazer.serving.app import create_app, serve
from gazer.settings import Settings


class BackgroundTraining:
    """The apps whose model has no champion, trained one at a time on a daemon thread.

    ``snapshot()`` is what ``GET /api/training`` answers: each app's state (queued,
    training, live, refused, failed), the step running now, and the progress of its loops
    (epochs, ETA). ``params`` override an app's quick configuration (``{app: {key: value}}``).
    """

    def __init__(self, services: Services, echo: Callable[[str], None],
                 apps: list[App] | None = None,
                 params: dict[str, dict[str, Any]] | None = None) -> None:
        self.services = services
        self.echo = echo
        self.params = params or {}
        self.lock = threading.Lock()
        self.apps: list[App] = []
        self.states: dict[str, dict[str, Any]] = {}
        for app in apps if apps is not None else list_apps():
            champion = (services.registry.find_alias(app.model_name, CHAMPION)
                        if app.model_name else None)
            if champion is not None:
                echo(f"== app {app.name}: champion v{champion.version} exists; not retraining")
                continue
            self.apps.append(app)
            self.states[app.name] = {"app": app.name, "model": app.model_name or None,
                                     "endpoint": app.endpoint or app.model_name or None,
                                     "status": "queued", "step": None, "run_id": None,
                                     "version": None, "detail": "", "started": None,
                                     "finished": None}
        self.thread: threading.Thread | None = None
        self.ok = True

    def start(self) -> BackgroundTraining:
        self.thread = threading.Thread(target=self.run, name="gazer-demo-training", daemon=True)
        self.thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            apps = [dict(self.states[a.name]) for a in self.apps]
        current = next((a["app"] for a in apps if a["status"] == "training"), None)
        return {"active": any(a["status"] in ("queued", "training") for a in apps),
                "current": current, "apps": apps,
                "progress": active() if current else []}

    def _set(self, name: str, **fields: Any) -> None:
        with self.lock:
            self.states[name].update(fields)

    def run(self) -> None:
        for app in self.apps:
            self._train(app)

    def _train(self, app: App) -> None:
        name = app.name
        self.echo(f"== app {name}: {app.description}")
        self._set(name, status="training", started=time.time())

        def echo(line: str) -> None:
            self.echo(line)
            run_id = run_id_in(line)
            if run_id:
                self._set(name, run_id=run_id)
            step = re.match(r"\s*▶ (\S+)", line)
            if step:
                self._set(name, step=step.group(1))

        params = {**app.quick_params, **self.params.get(name, {})}
        try:
            record = self.services.run_pipeline(app.build(), params, echo=echo)
        except RunFailed as failed:
            self.echo(f"   details: gazer runs show {failed.run.id}")
            self._set(name, status="failed", run_id=failed.run.id, step=None,
                      detail=str(failed.run.error or failed)[:500], finished=time.time())
            self.ok = False
            return
        except Exception as exc:  # noqa: BLE001 - one app's crash must not stop the others
            self.echo(f"   {name} crashed: {exc!r}")
            self._set(name, status="failed", step=None, detail=repr(exc)[:500],
                      finished=time.time())
            self.ok = False
            return
        self.echo(f"   details: gazer runs show {record.id}")
        champion = (self.services.registry.find_alias(app.model_name, CHAMPION)
                    if app.model_name else None)
        if app.model_name and champion is None:
            latest = self.services.registry.list_versions(app.model_name)[0]
            reasons = latest.tags.get("gazer.gate_reasons", "?")
            self.echo(f"   {app.model_name}: the gate refused v{latest.version}: {reasons}")
            self._set(name, status="refused", step=None, version=latest.version,
                      detail=reasons, finished=time.time(), run_id=record.id)
            self.ok = False
            return
        self._set(name, status="live", step=None, run_id=record.id, finished=time.time(),
                  version=champion.version if champion else None)


def run_demo(settings: Settings, echo: Callable[[str], None], check: bool = False) -> bool:
    """Serve now and train what is missing in the background (or, with ``check``, wait for
    the training, probe every endpoint and exit)."""
    with Services(settings) as services:
        return _demo(services, echo, check)


def _demo(services: Services, echo: Callable[[str], None], check: bool) -> bool:
    settings = services.settings
    training = BackgroundTraining(services, echo)
    echo(f"Runs:      gazer runs list        (store: {settings.runs_url})")
    echo(f"Models:    gazer models list      (MLflow: {settings.tracking_uri})")
    echo(f"MLflow UI: mlflow ui --backend-store-uri {settings.tracking_uri}")
    echo(f"Logs:      {settings.logs_dir}")
    if training.apps:
        echo(f"Training in the background, one at a time: "
             f"{', '.join(a.name for a in training.apps)} (the pages show progress)")
    if check:
        return check_serving(services, echo, training)
    echo("Ctrl-C to stop")
    serve(services, echo=echo, training=training.start())
    return True


def check_serving(services: Services, echo: Callable[[str], None],
                  training: BackgroundTraining | None = None) -> bool:
    """Serve on a free port while ``training`` runs, wait for it to end, then ask each
    endpoint for one prediction (each must have gone live without a restart), stop."""
    port = _free_port()
    served = create_app(services.settings, services=services)
    served.state.training = training
    server = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/healthz", 120)
        echo(f"   serving on {base} while training")
        if training is not None:
            training.run()
            if not training.ok:
                return False
        _wait_for(f"{base}/readyz", 120)
        registry = services.registry
        ok = True
        for app in list_apps():
            if not app.model_name:
                continue
            champion = registry.get_version(app.model_name, CHAMPION)
            example = decode_example(champion.tags.get(EXAMPLE_TAG))
            try:
                answer = _infer(base, app.endpoint or app.model_name, example)
            except urllib.error.HTTPError as exc:
                echo(f"   {app.name}: HTTP {exc.code}: {exc.read().decode()[:300]}")
                ok = False
                continue
            echo(f"   {app.name}: v{champion.version} answered {answer}")
        return ok
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _infer(base: str, name: str, example: Any) -> Any:
    rows = example.to_numpy() if hasattr(example, "to_numpy") else np.asarray(example)
    datatype = "BYTES" if rows.dtype.kind in "OUS" else "FP64"
    body = {"inputs": [{"name": "input-0", "shape": list(rows.shape), "datatype": datatype,
                        "data": rows.reshape(-1).tolist()}]}
    request = urllib.request.Request(f"{base}/v2/models/{name}/infer",
                                     data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310 # base is http://127.0.0.1:PORT, the server this demo started
        return json.loads(response.read())["outputs"][0]["data"]


def _wait_for(url: str, timeout_s: float) -> None:
    """Until ``url`` answers 200 (the watcher swaps a new champion in within its interval)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # nosec B310 # url is on http://127.0.0.1:PORT, the server this demo started
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer 200 within {timeout_s:.0f}s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

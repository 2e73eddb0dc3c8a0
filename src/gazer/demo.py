"""``gazer demo``: train every registered app that has no champion, then serve them all.

``--check`` starts the server on a free loopback port instead, asks every endpoint for a
prediction over HTTP, and exits: a green check means a newcomer's ``make demo`` works.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np
import uvicorn

from gazer.catalog import list_apps
from gazer.errors import RunFailed
from gazer.registry.protocol import CHAMPION, EXAMPLE_TAG, decode_example
from gazer.services import Services
from gazer.serving.app import create_app, serve
from gazer.settings import Settings


def train_missing(services: Services, echo: Callable[[str], None]) -> bool:
    """Run each app's quick configuration when its model has no champion yet."""
    registry = services.registry
    ok = True
    for app in list_apps():
        echo(f"== app {app.name}: {app.description}")
        champion = registry.find_alias(app.model_name, CHAMPION) if app.model_name else None
        if champion is not None:
            echo(f"   champion v{champion.version} exists; not retraining")
            continue
        try:
            record = services.run_pipeline(app.build(), app.quick_params, echo=echo)
        except RunFailed as failed:
            echo(f"   details: gazer runs show {failed.run.id}")
            ok = False
            continue
        echo(f"   details: gazer runs show {record.id}")
        if app.model_name and registry.find_alias(app.model_name, CHAMPION) is None:
            latest = registry.list_versions(app.model_name)[0]
            echo(f"   {app.model_name}: the gate refused v{latest.version}: "
                 f"{latest.tags.get('gazer.gate_reasons', '?')}")
            ok = False
    return ok


def run_demo(settings: Settings, echo: Callable[[str], None], check: bool = False) -> bool:
    """Train what is missing, then serve (or, with ``check``, probe every endpoint and exit)."""
    with Services(settings) as services:
        return _demo(services, echo, check)


def _demo(services: Services, echo: Callable[[str], None], check: bool) -> bool:
    settings = services.settings
    if not train_missing(services, echo):
        return False
    echo("")
    echo(f"Runs:      gazer runs list        (store: {settings.runs_url})")
    echo(f"Models:    gazer models list      (MLflow: {settings.tracking_uri})")
    echo(f"MLflow UI: mlflow ui --backend-store-uri {settings.tracking_uri}")
    echo(f"Logs:      {settings.logs_dir}")
    if check:
        return check_serving(services, echo)
    echo("Ctrl-C to stop")
    serve(services, echo=echo)
    return True


def check_serving(services: Services, echo: Callable[[str], None]) -> bool:
    """Serve on a free port, ask each endpoint for one prediction, stop."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(services.settings, services=services),
                                           host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
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


def _wait_ready(base: str, timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:  # nosec B310 # base is http://127.0.0.1:PORT, the server this demo started
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"the server at {base} was not ready within {timeout_s:.0f}s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

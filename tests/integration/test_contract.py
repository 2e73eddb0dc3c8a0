"""``schemathesis run --checks all`` against a real ``gazer serve``: the OpenAPI document is the
contract, and the server keeps it (statuses, error bodies, schemas, auth, Allow on 405).

In CI, ``make check`` has trained every app's champion into ``GAZER_HOME`` before the tests,
and the run covers every endpoint with its model loaded. Without that home (a plain local
``make test``) the example app is trained into a temporary home and only it is served.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.apps.papers.test_arxiv import (
    Replay,
    replay,  # noqa: F401 - the fixture
)
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
KEY = "contract-admin-key-0123456789"


def _home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    given = os.environ.get("GAZER_HOME")
    if given and (Path(given) / "mlflow.db").exists():
        return Path(given), {}
    home = tmp_path / "home"
    env = {**os.environ, "GAZER_HOME": str(home), "GAZER_TRACKING__CO2": "false"}
    trained = subprocess.run([sys.executable, "-m", "gazer.cli", "run", "example"], env=env,
                             capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr[-2000:]
    return home, {"GAZER_SERVING__ENDPOINTS": json.dumps([{"name": "example"}])}


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as r:  # nosec B310 # loopback
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"gazer serve was not ready in 300 s: {log.read_text()[-3000:]}")


@pytest.mark.integration
def test_schemathesis_finds_no_failure_against_gazer_serve(tmp_path: Path,
                                                           replay: Replay) -> None:  # noqa: F811
    home, extra = _home(tmp_path)
    port = free_port()
    env = {**os.environ, **extra, "GAZER_HOME": str(home), "GAZER_TRACKING__CO2": "false",
           "GAZER_SERVING__API_KEYS": json.dumps([{"name": "ci", "key": KEY,
                                                   "scopes": ["admin"]}]),
           # arXiv is a replay server on loopback: no generated request leaves the machine
           "GAZER_PAPERS__ARXIV_API": f"{replay.base}/api/query",
           "GAZER_PAPERS__ARXIV_PDF": f"{replay.base}/pdf/",
           "GAZER_PAPERS__ARXIV_INTERVAL_S": "0"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gazer.cli", "serve", "--port", str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc, log)
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "--config-file",
             str(ROOT / "schemathesis.toml"), "run", f"{base}/openapi.json", "--checks", "all",
             "--seed", "1", "--max-examples", "25", "-H", f"Authorization: Bearer {KEY}"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    report = run.stdout[-12000:]
    assert run.returncode == 0, report
    assert "No issues found" in report or " passed" in report, report

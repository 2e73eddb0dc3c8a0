"""kill -9 mid-run: the run is marked interrupted and --resume completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gazer.core.runs import SqlRunStore


def _gazer(env: dict[str, str], *args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gazer.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)  # type: ignore[call-overload]


def test_kill_9_marks_the_run_interrupted_and_resume_finishes_it(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "GAZER_HOME": str(tmp_path / "home"), "GAZER_TRACKING__CO2": "false",
           "PYTHONPATH": str(root)}
    marker = tmp_path / "marks"
    marker.mkdir()
    params = [f"--param={name}.marker_dir={marker}"
              for name in ("produce", "wait_then_double", "total")]
    proc = _gazer(env, "run", "tests.core.crashable:pipeline", *params, start_new_session=True)
    deadline = time.time() + 120
    while not (marker / "started").exists():
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.time() < deadline, "the run never reached its middle step"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the machine dies: the run and any step process
    proc.wait(30)

    store = SqlRunStore(f"sqlite:///{tmp_path / 'home' / 'runs.db'}")
    (run,) = store.list_runs()
    show = subprocess.run([sys.executable, "-m", "gazer.cli", "runs", "show", run.id], env=env,
                          text=True, capture_output=True, check=True)
    assert "status=interrupted" in show.stdout
    interrupted = store.get_run(run.id)
    assert interrupted.step("produce").status == "succeeded"
    assert interrupted.step("wait_then_double").status == "interrupted"

    (marker / "go").touch()
    resumed = _gazer(env, "run", "tests.core.crashable:pipeline", "--resume", run.id)
    output, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, output
    final = store.get_run(run.id)
    assert final.status == "succeeded"
    assert (marker / "calls.txt").read_text().split() == [
        "produce", "wait_then_double", "wait_then_double", "total"]
    store.close()

"""The gazer command: runs, runs show, models, and one clear line per bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gazer.cli import parse_params
from gazer.errors import InvalidParam


def _gazer(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GAZER_HOME": str(home), "GAZER_TRACKING__CO2": "false"}
    return subprocess.run([sys.executable, "-m", "gazer.cli", *args], env=env, text=True,
                          capture_output=True, timeout=300)


def test_params_parse_as_json_when_they_can() -> None:
    assert parse_params(["a.b=0.5", "a.c=true", "a.d=text", "a.e=[1,2]"]) == {
        "a.b": 0.5, "a.c": True, "a.d": "text", "a.e": [1, 2]}
    with pytest.raises(InvalidParam, match="STEP.PARAM=VALUE"):
        parse_params(["noequals"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "nope"], "no pipeline named 'nope'"),
        (["run", "example", "--param", "train.C=1"], "did you mean 'train_logreg.C'"),
        (["run", "example", "--param", "xx"], "--param must look like STEP.PARAM=VALUE"),
        (["run", "example", "--param", "train_logreg.C=abc"], "expects float; got 'abc'"),
        (["runs", "show", "missing-run"], "no run 'missing-run'"),
        (["run", "example", "--executor", "spark"], "executor must be 'local' or 'ray'"),
    ],
)
def test_bad_input_gives_one_clear_line_and_no_traceback(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    result = _gazer(tmp_path, *args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = _gazer(tmp_path, "--debug", "run", "nope")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_run_then_show_then_models_from_the_shell(tmp_path: Path) -> None:
    run = _gazer(tmp_path, "run", "example", "--param", "train_logreg.C=0.5")
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = run.stdout.strip().splitlines()[-1].split()[-1]
    show = _gazer(tmp_path, "runs", "show", run_id)
    assert "status=succeeded" in show.stdout
    for name in ["load", "split", "train_logreg", "train_tree", "select"]:
        assert name in show.stdout
    assert "train_logreg.C=0.5" in show.stdout
    again = _gazer(tmp_path, "run", "example", "--param", "train_logreg.C=0.5")
    assert again.stdout.count("(cache hit)") == 7  # an identical run registers nothing new
    models = _gazer(tmp_path, "models", "show", "example")
    assert "champion" in models.stdout and "v1" in models.stdout
    listed = _gazer(tmp_path, "runs", "list")
    assert listed.stdout.count("example") == 2
    rollback = _gazer(tmp_path, "models", "rollback", "example")
    assert rollback.returncode == 2 and "no earlier champion" in rollback.stderr
    third = _gazer(tmp_path, "run", "example", "--param", "train_tree.max_depth=1",
                   "--param", "select.margin=0.5")
    assert third.returncode == 0, third.stdout + third.stderr
    promote = _gazer(tmp_path, "models", "promote", "example", "2")
    assert "champion → v2" in promote.stdout
    back = _gazer(tmp_path, "models", "rollback", "example")
    assert "rolled back → v1" in back.stdout


def test_an_unreachable_storage_endpoint_is_one_line_and_leaves_no_run(tmp_path: Path) -> None:
    from tests.servers import free_port

    env_extra = {"GAZER_STORAGE__URI": "s3://bucket/x",
                 "GAZER_STORAGE__ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
                 "GAZER_STORAGE__CONNECT_TIMEOUT_S": "1", "GAZER_STORAGE__KEY": "k",
                 "GAZER_STORAGE__SECRET": "s"}
    env = {**os.environ, "GAZER_HOME": str(tmp_path), "GAZER_TRACKING__CO2": "false",
           **env_extra}
    result = subprocess.run([sys.executable, "-m", "gazer.cli", "run", "example"], env=env,
                            text=True, capture_output=True, timeout=300)
    assert result.returncode == 1
    assert "cannot reach the S3 endpoint" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "example" not in _gazer(tmp_path, "runs", "list").stdout

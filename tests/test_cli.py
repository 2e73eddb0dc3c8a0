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

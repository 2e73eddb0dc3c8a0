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


def _usage_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``gazer ARGS`` in-process; the exit code and what it wrote to stderr."""
    from gazer.cli import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    return int(exited.value.code or 0), capsys.readouterr().err


@pytest.fixture
def no_debug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAZER_HOME", str(tmp_path))
    monkeypatch.delenv("GAZER_DEBUG", raising=False)


@pytest.mark.usefixtures("no_debug")
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["runs", "lst"],
         "error: no command 'lst' in 'gazer runs'; did you mean 'list'? (see gazer runs --help)"),
        (["rn", "example"],
         "error: no command 'rn' in 'gazer'; did you mean 'run'? (see gazer --help)"),
        (["runs", "zzzzzz"], "error: no command 'zzzzzz' in 'gazer runs' (see gazer runs --help)"),
    ],
)
def test_a_typo_in_a_command_prints_one_line_with_the_closest_command(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert _usage_error(args, capsys) == (2, expected + "\n")


@pytest.mark.usefixtures("no_debug")
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["runs", "list", "--bogus"],
         "error: no option '--bogus' for 'gazer runs list' (see gazer runs list --help)"),
        (["runs", "list", "--limt", "3"],
         "error: no option '--limt' for 'gazer runs list'; did you mean '--limit'? "
         "(see gazer runs list --help)"),
    ],
)
def test_an_unknown_option_prints_one_line_with_the_closest_option(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert _usage_error(args, capsys) == (2, expected + "\n")


@pytest.mark.usefixtures("no_debug")
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run"], "error: missing argument 'pipeline' for 'gazer run' (see gazer run --help)"),
        (["batch", "run"],
         "error: missing option '--model' for 'gazer batch run' (see gazer batch run --help)"),
        (["pipelines", "show", "wordpredict"],
         "error: 'gazer pipelines' takes no arguments; got 'show wordpredict' "
         "(see gazer pipelines --help)"),
        (["runs", "show", "a", "b"],
         "error: unexpected extra argument(s) 'b' for 'gazer runs show' "
         "(see gazer runs show --help)"),
    ],
)
def test_a_missing_or_extra_argument_prints_one_line_naming_the_command(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert _usage_error(args, capsys) == (2, expected + "\n")


@pytest.mark.usefixtures("no_debug")
def test_a_bad_option_value_prints_one_line_naming_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = _usage_error(["runs", "list", "--limit", "abc"], capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: invalid value for '--limit' in 'gazer runs list': ")
    assert err.endswith(" (see gazer runs list --help)\n")


@pytest.mark.usefixtures("no_debug")
@pytest.mark.parametrize("args", [["runs"], ["models"], [], ["--help"], ["runs", "--help"]])
def test_help_and_a_group_without_a_command_print_the_help_and_exit_0(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    from gazer.cli import main

    try:
        main(args)
        code: object = 0
    except SystemExit as exited:
        code = exited.code
    captured = capsys.readouterr()
    assert code in (0, None)
    assert "Usage: gazer" in captured.out and captured.err == ""


@pytest.mark.usefixtures("no_debug")
def test_debug_re_raises_a_usage_error_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import typer

    from gazer.cli import main

    usage_error = type(typer.BadParameter("x")).__mro__[1]  # click's UsageError, as typer uses it
    with pytest.raises(usage_error, match="No such command 'lst'"):
        main(["--debug", "runs", "lst"])
    monkeypatch.setenv("GAZER_DEBUG", "1")
    with pytest.raises(usage_error, match="No such command 'lst'"):
        main(["runs", "lst"])


@pytest.mark.parametrize("args", [["runs", "lst"], ["pipelines", "show", "wordpredict"]])
def test_a_usage_error_from_the_shell_is_one_line_with_no_traceback(
    tmp_path: Path, args: list[str]
) -> None:
    result = _gazer(tmp_path, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")


def test_debug_from_the_shell_shows_the_traceback_of_a_usage_error(tmp_path: Path) -> None:
    result = _gazer(tmp_path, "--debug", "runs", "lst")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_invalid_settings_print_one_line_not_a_traceback(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from gazer.cli import main

    monkeypatch.setenv("GAZER_SERVING__API_KEYS", '[{"key": "short"}]')
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "list"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert err.startswith("error: invalid settings (Settings): serving.api_keys.0.key")


def test_pipelines_shows_parallel_branches_side_by_side_not_as_a_chain() -> None:
    from gazer.catalog import get_pipeline
    from gazer.cli import dag_shape

    pipeline = get_pipeline("example")
    assert pipeline.levels() == [["load"], ["split"], ["train_logreg", "train_tree"],
                                 ["evaluate_logreg", "evaluate_tree"], ["select"]]
    assert dag_shape(pipeline) == (
        "load → split → train_logreg ‖ train_tree → evaluate_logreg (← split, train_logreg) ‖ "
        "evaluate_tree (← split, train_tree) → select")

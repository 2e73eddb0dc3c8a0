"""The cluster file and the settings file it produces (no processes: see
tests/integration/test_cluster.py for the stack itself)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gazer.cli import app
from gazer.cluster import cluster_env, load_spec, write_env_file
from gazer.errors import InvalidInput
from gazer.settings import Settings, get_settings

KEYS = {"admin": "a" * 32, "predict": "p" * 32, "s3_key": "gazer", "s3_secret": "s" * 24,
        "postgres": "pg" * 12, "ray": "r" * 64}


def test_the_example_cluster_file_is_valid_and_its_dir_is_relative_to_it() -> None:
    path = Path(__file__).resolve().parents[1] / "deploy" / "cluster.yaml"
    spec = load_spec(path)
    assert spec.dir == (path.parent / ".." / ".gazer-cluster").resolve()
    assert (spec.replicas, spec.ray_workers, spec.namespaces) == (2, 1, False)


@pytest.mark.parametrize(("text", "message"), [
    ("replicas: 0\n", "greater than or equal to 1"),
    ("colour: red\n", "colour"),
    ("settings: {servin: {port: 1}}\n", "unknown settings sections \\['servin'\\]"),
    ("name: Big-Name\n", "name"),
    ("- a\n- b\n", "must be a mapping"),
    ("replicas: [\n", "not valid YAML"),
])
def test_a_bad_cluster_file_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message):
        load_spec(path)
    with pytest.raises(InvalidInput, match="no cluster file"):
        load_spec(tmp_path / "missing.yaml")


def test_the_env_file_is_every_setting_a_gazer_command_needs(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("namespaces: true\nsubnet: 10.9.8\nsettings:\n  serving:\n"
                    "    poll_interval_s: 0.5\n    endpoints: [{name: example}]\n")
    spec = load_spec(path)
    env = cluster_env(spec, KEYS)
    env_file = tmp_path / "gazer.env"
    write_env_file(env_file, env)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600  # it holds the keys
    settings = Settings(_env_file=str(env_file))  # type: ignore[call-arg]
    assert settings.runs_url == f"postgresql+psycopg://postgres:{KEYS['postgres']}@10.9.8.1:" \
                                "25432/gazer"
    assert settings.storage_uri == "s3://gazer/zones"
    assert settings.storage.endpoint_url == "http://10.9.8.1:28333"
    assert settings.tracking_uri == "http://10.9.8.1:25000"
    assert settings.mlflow_artifact_uri is None  # the server's artifact store, not a folder
    assert (settings.executor.kind, settings.executor.ray_address) == ("ray", "10.9.8.1:26379")
    assert settings.serving.poll_interval_s == 0.5
    assert [e.name for e in settings.serving.endpoints or []] == ["example"]
    assert {k.name: k.scopes for k in settings.serving.api_keys} == {
        "admin": ["admin"], "predict": ["predict", "feedback", "query"]}
    with pytest.raises(InvalidInput, match="quote"):
        write_env_file(tmp_path / "bad.env", {"GAZER_X": "it's"})


def test_gazer_env_file_points_every_command_at_the_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in ("GAZER_ENV_FILE", "GAZER_RUNS__URL"):  # put back as they were at the end
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "gazer.env"
    runs = tmp_path / "elsewhere.db"
    env_file.write_text(f"GAZER_RUNS__URL='sqlite:///{runs}'\n")
    monkeypatch.setenv("GAZER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GAZER_ENV_FILE", str(env_file))
    assert get_settings().runs_url == f"sqlite:///{runs}"
    monkeypatch.setenv("GAZER_ENV_FILE", str(tmp_path / "missing.env"))
    with pytest.raises(ValueError, match="not a file"):
        get_settings()
    os.environ.pop("GAZER_ENV_FILE")
    result = CliRunner().invoke(app, ["--env-file", str(env_file), "runs", "list"])
    assert result.exit_code == 0, result.output
    assert runs.exists()  # the command used the file's run store
    assert os.environ["GAZER_ENV_FILE"] == str(env_file.resolve())  # and so will its children
    os.environ.pop("GAZER_ENV_FILE")
    os.environ.pop("GAZER_RUNS__URL")
    missing = CliRunner().invoke(app, ["--env-file", str(tmp_path / "nope.env"), "runs", "list"])
    assert missing.exit_code != 0 and "no file at" in missing.output


def test_cluster_status_of_a_cluster_never_started_says_so(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("dir: state\n")
    result = CliRunner().invoke(app, ["cluster", "status", str(path)])
    assert result.exit_code == 1 and "no cluster is running" in result.output
    cut = CliRunner().invoke(app, ["cluster", "cut", str(path), "serve-1"])
    assert cut.exit_code != 0

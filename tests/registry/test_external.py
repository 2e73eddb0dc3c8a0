"""Models trained elsewhere, registered with their lineage: MLflow directories, skops files,
pickles only when trusted; and ``gazer models register`` on the real MLflow registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from gazer.errors import InvalidInput
from gazer.registry.external import content_sha256, register_external
from gazer.registry.memory import MemoryRegistry

X = np.random.default_rng(0).random((60, 3))
Y = (X[:, 0] > 0.5).astype(int)


@pytest.fixture
def model() -> LogisticRegression:
    return LogisticRegression().fit(X, Y)


def test_an_mlflow_directory_registers_with_where_it_came_from(tmp_path: Path,
                                                               model: LogisticRegression) -> None:
    import mlflow.sklearn

    folder = tmp_path / "trained-on-gpu"
    mlflow.sklearn.save_model(model, str(folder))
    registry = MemoryRegistry()
    version = register_external(registry, "ext", folder, metrics={"accuracy": 0.91},
                                tags={"team": "vision"}, origin="gpu-box-3")
    assert version.version == 1 and version.metrics == {"accuracy": 0.91}
    tags = version.tags
    assert (tags["gazer.source"], tags["gazer.origin"], tags["gazer.source_format"]) == (
        "external", "gpu-box-3", "mlflow")
    assert tags["gazer.source_path"] == str(folder) and tags["team"] == "vision"
    assert tags["gazer.source_sha256"] == content_sha256(folder)
    loaded = registry.load_model("ext", 1)
    assert (loaded.predict(X) == model.predict(X)).all()
    assert registry.find_alias("ext", "champion") is None  # no alias moves by itself


def test_skops_loads_safely_and_a_pickle_needs_trust(tmp_path: Path,
                                                     model: LogisticRegression) -> None:
    registry = MemoryRegistry()
    safe = tmp_path / "model.skops"
    skops.io.dump(model, safe)
    assert register_external(registry, "ext", safe).tags["gazer.source_format"] == "skops"
    pickled = tmp_path / "model.joblib"
    joblib.dump(model, pickled)
    with pytest.raises(InvalidInput, match="is a pickle: loading it runs whatever code"):
        register_external(registry, "ext", pickled)
    assert register_external(registry, "ext", pickled, trust_pickle=True).version == 2
    with pytest.raises(InvalidInput, match="no model at"):
        register_external(registry, "ext", tmp_path / "missing")
    (tmp_path / "weights.bin").write_bytes(b"\0")
    with pytest.raises(InvalidInput, match="expected an MLflow model directory"):
        register_external(registry, "ext", tmp_path / "weights.bin")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="without an MLmodel file"):
        register_external(registry, "ext", tmp_path / "empty")
    assert [v.version for v in registry.list_versions("ext")] == [2, 1]  # nothing half-made


def _gazer(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GAZER_HOME": str(home), "GAZER_TRACKING__CO2": "false"}
    return subprocess.run([sys.executable, "-m", "gazer.cli", *args], env=env, text=True,
                          capture_output=True, timeout=300, check=False)


def test_gazer_models_register_on_the_mlflow_registry_and_promote(
        tmp_path: Path, model: LogisticRegression) -> None:
    safe = tmp_path / "model.skops"
    skops.io.dump(model, safe)
    home = tmp_path / "home"
    done = _gazer(home, "models", "register", "ext", str(safe), "--metric", "accuracy=0.9",
                  "--origin", "notebook train.ipynb", "--promote")
    assert done.returncode == 0, done.stderr
    assert "registered v1 from notebook train.ipynb (skops" in done.stdout
    assert "champion → v1" in done.stdout
    shown = _gazer(home, "models", "show", "ext")
    assert "champion" in shown.stdout and "accuracy=0.9" in shown.stdout
    bad = _gazer(home, "models", "register", "ext", str(safe), "--metric", "accuracy=high")
    assert bad.returncode != 0 and "--metric takes KEY=NUMBER" in bad.stderr
    assert "Traceback" not in bad.stderr

"""A 5-step pipeline with a branch, end to end on the local executor and on Ray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gazer import Metrics, Pipeline, current, step
from gazer.core.runner import Runner
from gazer.core.runs import SqlRunStore
from gazer.settings import Settings


@step(outputs="frame")
def make(n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    frame["y"] = (frame["x"] + 0.5 * frame["z"] > 0).astype(int)
    current().log_dataset(frame, "synthetic")
    return frame


@step(outputs="features")
def featurize(frame: pd.DataFrame) -> np.ndarray:
    return frame[["x", "z"]].to_numpy()


@step(outputs="labels")
def labels(frame: pd.DataFrame) -> np.ndarray:
    return frame["y"].to_numpy()


@step(outputs="model")
def fit(features: np.ndarray, labels: np.ndarray, C: float = 1.0):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C).fit(features, labels)


@step(outputs="metrics")
def score(model, features: np.ndarray, labels: np.ndarray) -> Metrics:  # type: ignore[no-untyped-def]
    return Metrics(accuracy=float(model.score(features, labels)))


def five_steps() -> Pipeline:
    return Pipeline("five", [make, featurize, labels, fit, score])


def _run_twice(settings: Settings, executor: str) -> tuple[float, int, list[str]]:
    runner = Runner(settings, executor=executor)
    try:
        first = runner.run(five_steps())
        assert first.status == "succeeded", first.error
        second = runner.run(five_steps())
    finally:
        runner.close()
    assert second.status == "succeeded"
    accuracy = first.step("score").metrics["accuracy"]
    return accuracy, second.cache_hits, [s.name for s in first.steps]


def _settings(tmp_path: Path, name: str) -> Settings:
    return Settings(home=tmp_path / name, tracking={"co2": False})  # type: ignore[arg-type]


@pytest.mark.integration
def test_local_and_ray_give_the_same_results_with_cache_hits(tmp_path: Path) -> None:
    local = _run_twice(_settings(tmp_path, "local"), "local")
    ray = _run_twice(_settings(tmp_path, "ray"), "ray")
    assert local[0] == ray[0] > 0.9
    assert local[1] == ray[1] == 5
    assert sorted(local[2]) == sorted(ray[2])
    runs = SqlRunStore(_settings(tmp_path, "ray").runs_url).list_runs()
    assert {r.executor for r in runs} == {"ray"}


@pytest.mark.integration
def test_tracking_lands_in_a_real_mlflow_store(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    settings = _settings(tmp_path, "mlflow").model_copy(
        update={"tracking": _settings(tmp_path, "mlflow").tracking.model_copy(
            update={"co2": True})})
    runner = Runner(settings)
    try:
        record = runner.run(five_steps(), {"fit.C": 0.5})
    finally:
        runner.close()
    client = MlflowClient(settings.tracking_uri)
    run = client.get_run(record.tracking_run_id)
    assert run.data.params["fit.C"] == "0.5"
    assert run.data.tags["gazer.run_id"] == record.id
    assert run.data.metrics["accuracy"] > 0.9
    assert "co2_kg" in run.data.metrics and "energy_kwh" in run.data.metrics
    assert run.data.metrics["co2_kg"] >= 0
    assert run.info.status == "FINISHED"
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "synthetic"


@step(outputs="assigned", resources={"num_cpus": 1, "memory": "50MB"})
def sized() -> dict[str, float]:
    import ray

    return dict(ray.get_runtime_context().get_assigned_resources())


@step(outputs="gpu_only", resources={"num_gpus": 1})
def needs_gpu(assigned: dict[str, float]) -> int:
    return len(assigned)


@pytest.mark.integration
def test_ray_schedules_each_step_with_the_resources_it_asks_for(tmp_path: Path) -> None:
    runner = Runner(_settings(tmp_path, "resources"), executor="ray")
    try:
        record = runner.run(Pipeline("sized", [sized, needs_gpu]))
    finally:
        runner.close()
    from gazer.core.artifacts import ArtifactRef, load_artifact

    ref = ArtifactRef.from_dict(record.step("sized").outputs["assigned"])
    assigned = load_artifact(runner.storage, ref)
    assert assigned == {"CPU": 1.0, "memory": 50_000_000.0}
    gpu = record.step("needs_gpu")
    assert record.status == "failed" and gpu.status == "failed"  # no GPU: fails, never hangs
    assert "asks for GPU=1: no node of the Ray cluster has that much" in (gpu.error or "")

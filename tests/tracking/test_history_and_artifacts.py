"""Both trackers give a run's metric curves and its artifact files back, for the run page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gazer.tracking.memory import MemoryTracker
from gazer.tracking.mlflow import MlflowTracker


@pytest.fixture(params=["memory", "mlflow"])
def tracker(request: Any, tmp_path: Path) -> Any:
    if request.param == "memory":
        return MemoryTracker()
    return MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}", (tmp_path / "art").as_uri())


def test_metric_history_is_every_point_by_step_and_artifacts_come_back(tracker: Any,
                                                                      tmp_path: Path) -> None:
    run = tracker.start_run("curves", "r", {})
    for epoch, loss in enumerate([0.9, 0.5, 0.3]):
        tracker.log_metrics(run, {"loss": loss}, step=epoch)
    tracker.log_metrics(run, {"accuracy": 0.8})
    figure = tmp_path / "curve.png"
    figure.write_bytes(b"\x89PNG fake")
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}")
    (folder / "sub" / "weights.bin").write_bytes(b"\x00" * 10)
    tracker.log_artifact(run, figure, "plots")
    tracker.log_artifact(run, folder, "model")
    history = tracker.metric_history(run)
    assert history["loss"] == [(0, 0.9), (1, 0.5), (2, 0.3)]
    assert history["accuracy"] == [(0, 0.8)]
    assert tracker.list_artifacts(run) == [("model/MLmodel", 11), ("model/sub/weights.bin", 10),
                                           ("plots/curve.png", 9)]
    assert tracker.read_artifact(run, "plots/curve.png") == b"\x89PNG fake"
    assert tracker.read_artifact(run, "model/sub/weights.bin") == b"\x00" * 10

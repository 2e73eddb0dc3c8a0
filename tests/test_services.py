"""The services object: one behaviour for a failed run, services that follow a step to
another process by their own description, and one registry for everything an app starts."""

from __future__ import annotations

import io
import os
import pickle
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from gazer.errors import InvalidInput, RunFailed, StepFailed
from gazer.registry.memory import MemoryRegistry
from gazer.registry.promotion import promote
from gazer.services import Services
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings, Settings
from gazer.storage.local import LocalStorage
from gazer.storage.memory import MemoryStorage
from gazer.tracking.memory import MemoryTracker
from gazer.tracking.mlflow import MlflowTracker
from gazer.triggers.actions import make_action
from gazer.triggers.ledger import WatchLedger
from gazer.triggers.watcher import Binding, StorageWatcher
from tests.kernel_pipelines import failing, in_a_child
from tests.serving.factory import VersionModel
from tests.test_cli import _gazer


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(home=tmp_path / "home", tracking={"co2": False}, **extra)  # type: ignore[arg-type]


def test_a_failed_run_is_run_failed_from_services_pipeline_and_trigger(tmp_path: Path) -> None:
    with Services(_settings(tmp_path)) as services:
        with pytest.raises(RunFailed, match="boom after 1") as caught:
            services.run_pipeline(failing)
        record = caught.value.run
        assert record.status == "failed" and caught.value.step == "boom"
        assert f"--resume {record.id}" in str(caught.value)
        assert services.runs.get_run(record.id).step("fine").status == "succeeded"

        with pytest.raises(StepFailed, match="boom after 1"):  # RunFailed is a StepFailed
            failing.run(settings=services.settings)

        services.storage.write_bytes("landing/in/a.csv", b"x")
        binding = Binding(name="b", prefix="landing/in/", pipeline="tests.kernel_pipelines:failing")
        ledger = WatchLedger(services.db)
        watcher = StorageWatcher(services.storage, [binding], ledger,
                                 make_action(services, lambda _l: None), lambda _l: None)
        assert watcher.scan_once() == [("landing/in/a.csv", "failed")]
        [entry] = ledger.entries()
        assert "boom after 1" in (entry.result or "") and "--resume" in (entry.result or "")


def test_gazer_run_of_a_failing_pipeline_exits_1_naming_the_resume(tmp_path: Path) -> None:
    result = _gazer(tmp_path / "home", "run", "tests.kernel_pipelines:failing")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "boom after 1" in result.stdout and "--resume" in result.stdout


def test_every_service_describes_itself_for_another_process(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path / "store")
    spec = local.describe()
    assert pickle.loads(pickle.dumps(spec)).open().root == local.root
    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'm.db'}", (tmp_path / "a").as_uri())
    assert tracker.describe().open().tracking_uri == tracker.tracking_uri
    assert MemoryStorage().describe() is None and MemoryTracker().describe() is None
    assert MemoryRegistry().describe() is None


def test_a_step_in_a_child_process_gets_the_services_by_their_description(
        tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with Services(settings) as services:
        record = services.run_pipeline(in_a_child)
        child_pid = services.tracker.client.get_run(record.tracking_run_id).data.metrics
        assert child_pid["child_pid"] != os.getpid()  # logged from the child, into MLflow

    with Services(settings, storage=MemoryStorage()) as in_memory, \
            pytest.raises(InvalidInput, match="cannot see in-memory storage"):
        in_memory.run_pipeline(in_a_child)


def test_a_batch_job_over_http_uses_the_registry_given_to_the_app(tmp_path: Path) -> None:
    registry = MemoryRegistry()  # only this process sees it: the workers get the model
    registry.register("m", VersionModel(7))
    promote(registry, "m", 1)
    app = create_app(_settings(tmp_path), registry=registry,
                     endpoints=[EndpointSettings(name="m")])
    csv = pd.DataFrame({"text": ["a", "b", "c"]}).to_csv(index=False).encode()
    with TestClient(app) as client:
        started = client.post("/api/batch/jobs", files={"file": ("in.csv", csv, "text/csv")},
                              data={"model": "m@champion"})
        assert started.status_code == 202, started.text
        url = started.json()["status_url"]
        deadline = time.time() + 120
        while (job := client.get(url).json())["status"] in ("queued", "running"):
            assert time.time() < deadline, job
            time.sleep(0.2)
        assert job["status"] == "done", job
        result = pd.read_csv(io.BytesIO(client.get(f"{url}/result.csv").content))
    assert list(result["prediction"]) == [7, 7, 7]

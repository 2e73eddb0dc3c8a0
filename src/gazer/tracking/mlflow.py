"""``MlflowTracker``: runs in MLflow (SQLite under ``GAZER_HOME`` or any tracking URI).

Uses ``MlflowClient`` with explicit run ids, never MLflow's global active run, so steps
running in parallel threads or on Ray workers can all log to the same run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gazer.errors import TrackingError
from gazer.spec import ServiceSpec

_STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}


@dataclasses.dataclass(frozen=True)
class MlflowSpec(ServiceSpec):
    """An MLflow tracking URI and artifact root."""

    tracking_uri: str
    artifact_uri: str | None

    def open(self) -> MlflowTracker:
        return MlflowTracker(self.tracking_uri, self.artifact_uri)


class MlflowTracker:
    """Log to MLflow at ``tracking_uri``; artifacts go under ``artifact_uri``."""

    def __init__(self, tracking_uri: str, artifact_uri: str | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_uri = artifact_uri
        self._client: Any = None

    def describe(self) -> MlflowSpec:
        return MlflowSpec(self.tracking_uri, self.artifact_uri)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None}

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            logging.getLogger("mlflow").setLevel(logging.WARNING)

            with self._translated("connect to"):
                self._client = MlflowClient(
                    tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
                )
        return self._client

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except TrackingError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("mlflow", "sqlalchemy", "requests", "urllib3")):
                raise TrackingError(
                    f"MLflow at {self.tracking_uri} failed to {action}: {exc}"
                ) from exc
            raise

    def experiment_id(self, experiment: str) -> str:
        with self._translated(f"open experiment {experiment!r}"):
            exp = self.client.get_experiment_by_name(experiment)
            if exp is not None:
                return str(exp.experiment_id)
            location = f"{self.artifact_uri}/{experiment}" if self.artifact_uri else None
            return str(self.client.create_experiment(experiment, artifact_location=location))

    def start_run(self, experiment: str, name: str, tags: Mapping[str, str]) -> str:
        exp_id = self.experiment_id(experiment)
        with self._translated("start a run"):
            run = self.client.create_run(exp_id, run_name=name, tags=dict(tags))
        return str(run.info.run_id)

    def reopen_run(self, run_id: str) -> None:
        with self._translated("reopen the run"):
            self.client.update_run(run_id, status="RUNNING")

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, _param_value(v)) for k, v in params.items()]
        with self._translated("log params"):
            for i in range(0, len(items), 100):
                self.client.log_batch(run_id, params=items[i : i + 100])

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, float], step: int | None = None
    ) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        with self._translated("log metrics"):
            self.client.log_batch(run_id, metrics=items)

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        with self._translated(f"log artifact {path}"):
            if Path(path).is_dir():
                self.client.log_artifacts(run_id, str(path), artifact_path)
            else:
                self.client.log_artifact(run_id, str(path), artifact_path)

    def log_dataset(
        self,
        run_id: str,
        *,
        name: str,
        digest: str,
        source: str,
        schema: Mapping[str, str],
        rows: int | None,
        context: str,
    ) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        dataset = Dataset(
            name=name,
            digest=digest[:36],
            source_type="gazer",
            source=json.dumps({"uri": source}),
            schema=json.dumps({"columns": dict(schema)}),
            profile=json.dumps({"num_rows": rows, "sha256": digest}),
        )
        with self._translated("log a dataset input"):
            self.client.log_inputs(
                run_id, datasets=[DatasetInput(dataset, [InputTag("mlflow.data.context", context)])]
            )

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        with self._translated("set tags"):
            self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def end_run(self, run_id: str, status: str) -> None:
        with self._translated("end the run"):
            self.client.set_terminated(run_id, _STATUS.get(status, "FAILED"))

    def run_url(self, run_id: str) -> str:
        return f"{self.tracking_uri} run {run_id} (browse: mlflow ui --backend-store-uri " \
               f"{self.tracking_uri})"

    def run_metrics(self, run_id: str) -> dict[str, float]:
        with self._translated(f"read the metrics of run {run_id}"):
            return dict(self.client.get_run(run_id).data.metrics)

    def metric_history(self, run_id: str) -> dict[str, list[tuple[int, float]]]:
        with self._translated(f"read the metric history of run {run_id}"):
            keys = self.client.get_run(run_id).data.metrics
            return {k: sorted((int(m.step), float(m.value))
                              for m in self.client.get_metric_history(run_id, k))
                    for k in sorted(keys)}

    def list_artifacts(self, run_id: str) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        with self._translated(f"list the artifacts of run {run_id}"):
            folders = [None]
            while folders:
                for info in self.client.list_artifacts(run_id, folders.pop()):
                    if info.is_dir:
                        folders.append(info.path)
                    else:
                        found.append((info.path, int(info.file_size or 0)))
        return sorted(found)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        import tempfile

        with self._translated(f"read artifact {path} of run {run_id}"), \
                tempfile.TemporaryDirectory(prefix="gazer-artifact-") as tmp:
            local = self.client.download_artifacts(run_id, path, tmp)
            return Path(local).read_bytes()


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:6000]

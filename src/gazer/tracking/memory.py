"""``MemoryTracker``: keeps everything in dicts; for tests and tracking-off runs."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class MemoryTracker:
    """A tracker whose runs live in this process; ``runs[id]`` holds what was logged."""

    def describe(self) -> None:
        return None  # its runs live in this process's memory

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.files: dict[tuple[str, str], bytes] = {}  # (run id, artifact path) -> content
        self._lock = threading.Lock()

    def start_run(self, experiment: str, name: str, tags: Mapping[str, str]) -> str:
        run_id = uuid.uuid4().hex
        with self._lock:
            self.runs[run_id] = {
                "experiment": experiment, "name": name, "tags": dict(tags), "params": {},
                "metrics": {}, "artifacts": [], "datasets": [], "status": "running",
            }
        return run_id

    def reopen_run(self, run_id: str) -> None:
        with self._lock:
            self.runs[run_id]["status"] = "running"

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        with self._lock:
            self.runs[run_id]["params"].update({k: str(v) for k, v in params.items()})

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, float], step: int | None = None
    ) -> None:
        with self._lock:
            for k, v in metrics.items():
                self.runs[run_id]["metrics"].setdefault(k, []).append((step or 0, float(v)))

    def run_metrics(self, run_id: str) -> dict[str, float]:
        with self._lock:
            metrics = self.runs.get(run_id, {}).get("metrics", {})
            return {k: values[-1][1] for k, values in metrics.items() if values}

    def metric_history(self, run_id: str) -> dict[str, list[tuple[int, float]]]:
        with self._lock:
            metrics = self.runs.get(run_id, {}).get("metrics", {})
            return {k: sorted(v) for k, v in sorted(metrics.items())}

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        path = Path(path)
        prefix = f"{artifact_path}/" if artifact_path else ""
        files = ({f"{prefix}{path.name}": path} if path.is_file() else
                 {f"{prefix}{f.relative_to(path).as_posix()}": f
                  for f in sorted(path.rglob("*")) if f.is_file()})
        with self._lock:
            for name, f in files.items():
                self.runs[run_id]["artifacts"].append(name)
                self.files[(run_id, name)] = f.read_bytes()

    def list_artifacts(self, run_id: str) -> list[tuple[str, int]]:
        with self._lock:
            return sorted((name, len(data)) for (rid, name), data in self.files.items()
                          if rid == run_id)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        with self._lock:
            return self.files[(run_id, path)]

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
        entry = {"name": name, "digest": digest, "source": source, "rows": rows,
                 "schema": dict(schema), "context": context}
        with self._lock:
            self.runs[run_id]["datasets"].append(entry)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        with self._lock:
            self.runs[run_id]["tags"].update(tags)

    def end_run(self, run_id: str, status: str) -> None:
        with self._lock:
            self.runs[run_id]["status"] = status

    def run_url(self, run_id: str) -> str:
        return f"memory://{run_id}"

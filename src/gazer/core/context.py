"""``current()``: what a running step knows about its run, and how it logs to it.

Inside a step, ``current().log_metric("loss", 0.3, step=epoch)`` goes to the pipeline's
tracking run. Outside a pipeline (a step called as a plain function) the same calls work
and are kept on a detached context, so step code never needs an ``if``.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from gazer.core.datasets import keep
from gazer.core.progress import Progress
from gazer.core.steplog import step_logger
from gazer.data.versions import describe_schema, hash_dataset
from gazer.db import open_database
from gazer.errors import InvalidInput
from gazer.registry.gate import Gate, GateDecision, publish
from gazer.registry.protocol import ModelVersion, Registry
from gazer.settings import Settings, get_settings
from gazer.storage.protocol import Storage
from gazer.tracking.protocol import Tracker

T = TypeVar("T")


@dataclasses.dataclass
class StepContext:
    """The run, step and tracker of the step running on this thread."""

    run_id: str = "detached"
    step: str = "detached"
    attempt: int = 1
    tracker: Tracker | None = None
    tracking_run_id: str | None = None
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    datasets: dict[str, str] = dataclasses.field(default_factory=dict)
    work_dir: Path | None = None
    registry: Registry | None = None
    settings: Settings | None = None
    storage: Storage | None = None  # the run's storage (datasets read are kept there)

    @property
    def log(self) -> logging.Logger:
        """A logger whose lines land in this step's log file."""
        return step_logger

    @property
    def tracking(self) -> bool:
        return self.tracker is not None and self.tracking_run_id is not None

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log numbers, once per ``step`` (epoch) for curves."""
        clean = {k: float(v) for k, v in metrics.items()}
        self.metrics.update(clean)
        if self.tracking:
            self.tracker.log_metrics(self.tracking_run_id, clean, step)  # type: ignore[union-attr,arg-type]

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        self.log_metrics({name: value}, step)

    def log_params(self, params: Mapping[str, Any]) -> None:
        if self.tracking:
            self.tracker.log_params(self.tracking_run_id, params)  # type: ignore[union-attr,arg-type]

    def set_tags(self, tags: Mapping[str, str]) -> None:
        if self.tracking:
            self.tracker.set_tags(self.tracking_run_id, tags)  # type: ignore[union-attr,arg-type]

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Attach a file or folder (report, plot) to the run, under the step's name."""
        if self.tracking:
            self.tracker.log_artifact(  # type: ignore[union-attr]
                self.tracking_run_id,  # type: ignore[arg-type]
                Path(path),
                artifact_path or self.step,
            )

    def log_figure(self, figure: Any, filename: str) -> Path:
        """Save a matplotlib figure as an image and attach it; returns the file."""
        out = self.scratch_dir() / filename
        figure.savefig(out, dpi=110, bbox_inches="tight")
        self.log_artifact(out)
        return out

    def log_text(self, text: str, filename: str) -> Path:
        out = self.scratch_dir() / filename
        out.write_text(text, encoding="utf-8")
        self.log_artifact(out)
        return out

    def log_dataset(
        self, data: Any, name: str, source: str = "", context: str = "training"
    ) -> str:
        """Record a dataset input with its content hash (its version); returns the hash."""
        digest = hash_dataset(data)
        schema, rows = describe_schema(data)
        self.datasets[name] = digest
        self._keep_dataset(data, name, digest, source, context, rows)
        if self.tracking:
            self.tracker.log_dataset(  # type: ignore[union-attr]
                self.tracking_run_id,  # type: ignore[arg-type]
                name=name, digest=digest, source=source or name, schema=schema, rows=rows,
                context=context,
            )
        return digest

    def progress(
        self, items: Iterable[T], total: int | None = None, desc: str = "", every_s: float = 5.0
    ) -> Iterator[T]:
        """Iterate while printing periodic ``done/total, rate, ETA`` lines."""
        return iter(Progress(items, total=total, desc=f"{self.step} {desc}".strip(),
                             every_s=every_s))

    def publish(
        self,
        name: str,
        model: Any,
        metrics: Mapping[str, float],
        gate: Gate,
        *,
        lineage: Mapping[str, str] | None = None,
        input_example: Any = None,
        profile_inputs: Any = None,
        champion_metrics: Mapping[str, float] | None = None,
    ) -> tuple[ModelVersion, GateDecision]:
        """Register ``model`` with lineage tags and let ``gate`` decide its alias.

        ``profile_inputs`` (validation inputs, as the model takes them) become the version's
        reference profile (``gazer.ml.profiles``), stored beside it for drift checks."""
        if self.registry is None:  # publishing into a throwaway registry would lose the model
            raise InvalidInput(
                f"step {self.step!r} has no model registry to publish {name!r} to: it runs "
                f"outside a run, or in another process (timeout_s or the Ray executor), which "
                f"cannot see an in-memory registry; use the MLflow registry (the default) or "
                f"run the step without timeout_s on the local executor")
        tags = {"gazer.run_id": self.run_id, "gazer.step": self.step,
                **{f"gazer.dataset.{k}": v for k, v in self.datasets.items()}, **(lineage or {})}
        version, decision = publish(
            self.registry, name, model, metrics, gate,
            tracker=self.tracker, tracking_run_id=self.tracking_run_id, lineage=tags,
            input_example=input_example,
            auto_promote=(self.settings or get_settings()).runs.auto_promote,
            champion_metrics=champion_metrics,
        )
        self.log.info("gate for %s v%d: %s; %s", name, version.version,
                      "passed" if decision.passed else "failed", "; ".join(decision.reasons))
        if profile_inputs is not None:
            from gazer.storage.resolve import storage_from_settings

            key = store_profile(storage_from_settings(self.settings or get_settings()), name,
                                version.version, model, profile_inputs)
            if key:
                self.registry.set_version_tags(name, version.version, {"gazer.profile": key})
                self.log.info("profile of %s v%d: %s", name, version.version, key)
        return version, decision

    def _keep_dataset(self, data: Any, name: str, digest: str, source: str, context: str,
                      rows: int | None) -> None:
        """Record the version in the run's database and keep its content (``gazer data
        versions``, ``gazer data checkout``); nothing outside a run."""
        settings = self.settings
        if self.run_id == "detached" or settings is None or not settings.runs.keep_datasets:
            return
        db, owned = open_database(settings.runs_url)
        try:
            keep(db, self.storage, data, name=name, digest=digest, run_id=self.run_id,
                 step=self.step, source=source or name, context=context, rows=rows,
                 keep_max_mb=settings.runs.keep_datasets_max_mb)
        finally:
            if owned:
                db.close()

    def scratch_dir(self) -> Path:
        if self.work_dir is None:
            self.work_dir = Path(tempfile.mkdtemp(prefix=f"gazer-{self.step}-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self.work_dir


def store_profile(storage: Storage, name: str, version: int, model: Any,
                  inputs: Any) -> str | None:
    """Profile ``inputs`` and ``model``'s answers on them; store it; return its key."""
    from gazer.ml.profiles import build_profile, profile_key, vocabulary_of

    predicted = confidence = None
    if hasattr(model, "predict_proba"):  # a classifier: its answers and their confidence
        confidence = np.asarray(model.predict_proba(inputs)).max(axis=1)
        predicted = model.predict(inputs)  # what the prediction log will record as answers
    profile = build_profile(inputs, predicted, confidence,
                            getattr(model, "class_names", None), vocabulary_of(model))
    if profile is None:
        return None
    key = profile_key(name, version)
    storage.write_bytes(key, profile.to_json().encode())
    return key


_current: ContextVar[StepContext | None] = ContextVar("gazer_step_context", default=None)


def current() -> StepContext:
    """The context of the step running on this thread (a detached one outside a run)."""
    ctx = _current.get()
    if ctx is None:
        ctx = StepContext()
        _current.set(ctx)
    return ctx


def current_settings() -> Settings:
    """The settings of the run this step belongs to (the environment's outside a run)."""
    ctx = _current.get()
    if ctx is not None and ctx.settings is not None:
        return ctx.settings
    return get_settings()


def enter_context(ctx: StepContext) -> Any:
    """Make ``ctx`` current; returns a token for ``leave_context``."""
    return _current.set(ctx)


def leave_context(token: Any) -> None:
    _current.reset(token)

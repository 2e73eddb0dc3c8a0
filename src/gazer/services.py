"""``Services``: the platform's services, built once from ``Settings`` and shared.

The CLI, the HTTP app, the trigger loop and the demo all hold one ``Services``: the
database (``gazer.db``) with the run store on it, the storage, the tracker, the registry and
(on first use) the prediction log. Its two verbs are the only places that start work:

- ``run_pipeline`` runs a pipeline (by name or object) and returns the stored run; a run that
  does not succeed raises ``RunFailed``, everywhere.
- ``start_batch`` runs a registered model over a file in chunks, resumably.

Serving takes the same object: ``gazer.serving.app.serve(services, host, port)`` (and
``create_app(settings, services=...)`` under it). ``serve`` lives in ``gazer.serving``, the
layer above this one, so that a services object never imports the HTTP stack.
Services given explicitly (an in-memory registry in a test, say) are shared by everything
built from this object, so a batch job started over HTTP sees the app's registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gazer.batch.job import BatchResult, BatchRunner, BatchSpec
from gazer.batch.locate import locate, model_loader
from gazer.batch.progress_store import ChunkLedger
from gazer.catalog import get_pipeline
from gazer.core.executors.protocol import Executor
from gazer.core.pipeline import Pipeline
from gazer.core.runner import run_once
from gazer.core.runs import RunRecord, SqlRunStore
from gazer.db import Database
from gazer.ml import embeddings
from gazer.monitoring.predictions import PredictionLog
from gazer.registry.protocol import CHAMPION, Registry
from gazer.registry.resolve import registry_from_settings
from gazer.settings import Settings
from gazer.storage.protocol import Storage
from gazer.storage.resolve import storage_from_settings
from gazer.tracking.protocol import Tracker
from gazer.tracking.resolve import tracker_from_settings

Echo = Callable[[str], None]


class Services:
    """One of each service for a process; ``close()`` releases what it opened."""

    def __init__(
        self,
        settings: Settings,
        *,
        db: Database | None = None,
        storage: Storage | None = None,
        tracker: Tracker | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.settings = settings
        embedding = settings.embeddings
        embeddings.configure(embedding.backend, threads=embedding.threads,
                             cache_dir=embedding.cache_dir, memo_size=embedding.memo_size)
        self._owns_db = db is None
        self.db = db or Database(settings.runs_url)
        self.runs = SqlRunStore(self.db)
        self.storage = storage or storage_from_settings(settings)
        self.tracker = tracker or tracker_from_settings(settings)
        self.registry = registry or registry_from_settings(settings)
        self._predictions: PredictionLog | None = None

    @property
    def predictions(self) -> PredictionLog:
        """The prediction log, started on first use (its writer is a thread)."""
        if self._predictions is None:
            serving = self.settings.serving
            self._predictions = PredictionLog(
                self.db, serving.prediction_flush_s, storage=self.storage,
                max_payload_bytes=serving.max_payload_bytes,
                retention_days=serving.prediction_retention_days,
                retention_rows=serving.prediction_retention_rows)
        return self._predictions

    def run_pipeline(
        self,
        pipeline: Pipeline | str,
        params: Mapping[str, Any] | None = None,
        *,
        resume: str | None = None,
        executor: str | Executor | None = None,
        echo: Echo | None = None,
        auto_promote: bool = True,
    ) -> RunRecord:
        """Run ``pipeline`` (or resume run ``resume``); raises ``RunFailed`` unless it
        succeeded, with the stored run on the exception. Without ``auto_promote`` the
        versions it publishes become challengers even when their gate passes."""
        pipe = get_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
        settings = self.settings if auto_promote else self.settings.model_copy(update={
            "runs": self.settings.runs.model_copy(update={"auto_promote": False})})
        return run_once(pipe, params, settings=settings, resume=resume,
                        executor=executor, echo=echo, store=self.runs, storage=self.storage,
                        tracker=self.tracker, registry=self.registry)

    def start_batch(
        self,
        model: str,
        input: str,  # noqa: A002 - the CLI's word
        output: str,
        *,
        column: str = "text",
        chunk_rows: int = 500,
        keep: tuple[str, ...] = (),
        workers: int = 2,
        executor: str = "local",
        source: Storage | None = None,
        echo: Echo | None = None,
        on_rows: Callable[[int, int], None] | None = None,
    ) -> BatchResult:
        """Run ``NAME[@ALIAS|@VERSION]`` (champion by default) over ``input``, writing
        ``output``: keys in gazer's storage (or in ``source``), ``s3://`` URIs or paths.
        ``keep`` names input columns copied into the output beside ``row_id``."""
        name, _, ref = model.partition("@")
        version = self.registry.get_version(name, ref or CHAMPION).version
        if source is not None:
            src, key = source, input
            dst, prefix = source, output
        else:
            src, key = locate(input, self.settings, self.storage)
            dst, prefix = locate(output, self.settings, self.storage)
        spec = BatchSpec(f"{name}@{version}", key, prefix, column, chunk_rows,
                         keep=tuple(keep))
        runner = BatchRunner(src, dst, ChunkLedger(self.db), workers, echo=echo,
                             on_rows=on_rows, executor=executor,
                             ray_address=self.settings.executor.ray_address)
        return runner.run(spec, model_loader(self.registry, name, version), version)

    def close(self) -> None:
        if self._predictions is not None:
            self._predictions.close()
            self._predictions = None
        if self._owns_db:
            self.db.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

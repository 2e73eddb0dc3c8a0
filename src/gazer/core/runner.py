"""``Runner``: runs a pipeline's steps in dependency order, with cache, resume and tracking.

One coordinating thread owns the run: it asks the executor to run every step whose
inputs are ready (so independent steps run in parallel), records each step in the run
store, and is the only writer of run state. A step whose code hash, params and input
artifacts match an earlier successful step is not run again (a cache hit); ``resume``
re-runs only the failed and downstream steps of an earlier run, in the same run id.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from gazer.core.artifacts import ArtifactRef
from gazer.core.datasets import carry
from gazer.core.executors.protocol import Executor
from gazer.core.executors.resolve import open_executor
from gazer.core.pipeline import Pipeline
from gazer.core.runs import (
    FAILED,
    INTERRUPTED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    RunRecord,
    SqlRunStore,
    StepRecord,
)
from gazer.core.task import StepResult, StepTask
from gazer.errors import InvalidInput, InvalidParam, RunFailed
from gazer.registry.protocol import Registry
from gazer.registry.resolve import registry_from_settings
from gazer.settings import Settings
from gazer.spec import ServiceSpec
from gazer.storage.protocol import Storage
from gazer.storage.resolve import storage_from_settings
from gazer.tracking.co2 import Emissions, measure_emissions
from gazer.tracking.lineage import git_commit
from gazer.tracking.protocol import Tracker
from gazer.tracking.resolve import tracker_from_settings

Outputs = dict[str, ArtifactRef]


def cache_keys(pipeline: Pipeline, params: Mapping[str, Any]) -> dict[str, str]:
    """Each step's cache key: its code hash, its params and its inputs' upstream keys."""
    keys: dict[str, str] = {}
    for name in pipeline.order:
        step = pipeline.steps[name]
        own = {k: params[f"{name}.{k}"] for k in step.params}
        upstream = sorted(
            (inp, keys[src[0]], src[1]) for inp, src in pipeline.edges[name].items() if src
        )
        blob = json.dumps([step.code_hash, own, upstream], sort_keys=True, default=repr)
        keys[name] = hashlib.sha256(blob.encode()).hexdigest()[:32]
    return keys


class Runner:
    """Runs pipelines with one run store, storage, tracker and executor."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: SqlRunStore | None = None,
        storage: Storage | None = None,
        tracker: Tracker | None = None,
        registry: Registry | None = None,
        executor: str | Executor | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or SqlRunStore(settings.runs_url)
        self.storage = storage or storage_from_settings(settings)
        self.tracker = tracker or tracker_from_settings(settings)
        self.registry = registry or registry_from_settings(settings)
        self._executor_arg = executor or settings.executor.kind
        if isinstance(self._executor_arg, str) and self._executor_arg not in ("local", "ray"):
            raise InvalidInput(f"executor must be 'local' or 'ray'; got {self._executor_arg!r}")
        self._executor: Executor | None = None
        self.echo = echo or (lambda _line: None)

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            arg = self._executor_arg
            self._executor = open_executor(arg, self.settings) if isinstance(arg, str) else arg
        return self._executor

    def close(self) -> None:
        if self._executor is not None and isinstance(self._executor_arg, str):
            self._executor.shutdown()

    def run(
        self,
        pipeline: Pipeline,
        params: Mapping[str, Any] | None = None,
        *,
        resume: str | None = None,
    ) -> RunRecord:
        """Run ``pipeline`` (or resume run ``resume``) and return the stored record."""
        executor_name = self._executor_arg if isinstance(self._executor_arg, str) \
            else self._executor_arg.name
        if resume:
            record, resolved, prior = self._reopen(pipeline, resume, params)
        else:
            resolved = pipeline.resolve_params(params)
            self._check_executor(executor_name)
            self.storage.exists("curated/.gazer-probe")  # unreachable storage fails here, early
            _ = self.executor  # start workers first: a failure here leaves no run behind
            record, prior = self.store.create_run(pipeline.name, resolved, executor_name), {}
            self.echo(f"run {record.id} of {pipeline.name!r} started")
        keys = cache_keys(pipeline, resolved)
        try:
            tracking_id = self._start_tracking(pipeline, record, resolved)
        except Exception as exc:  # the run must not stay "running" with nothing running it
            self.store.update_run(record.id, status=FAILED, finished_at=time.time(),
                                  error=f"tracking: {type(exc).__name__}: {exc}")
            raise
        started = time.time()
        status: str = INTERRUPTED
        error: str | None = "interrupted"
        co2 = Emissions()
        try:
            with measure_emissions(self.settings.tracking.country,
                                   self.settings.tracking.co2) as co2:
                status, error = self._schedule(pipeline, record, resolved, keys, prior,
                                               tracking_id)
        except Exception as exc:
            status, error = FAILED, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._finish(record.id, tracking_id, status, error, started, co2.as_metrics())
            shutil.rmtree(self.settings.home / "tmp" / record.id, ignore_errors=True)
        return self.store.get_run(record.id)

    def _check_executor(self, executor_name: str) -> None:
        if executor_name != "local" and self.storage.describe() is None:
            raise InvalidInput(
                f"the {executor_name} executor's workers cannot see in-memory storage; set "
                f"GAZER_STORAGE__URI to a folder or s3:// URI (got {self.storage.uri})"
            )

    def _reopen(
        self, pipeline: Pipeline, run_id: str, params: Mapping[str, Any] | None
    ) -> tuple[RunRecord, dict[str, Any], dict[str, StepRecord]]:
        self.store.reap_interrupted()
        record = self.store.get_run(run_id)
        if record.pipeline != pipeline.name:
            raise InvalidInput(
                f"run {run_id} is a run of {record.pipeline!r}, not {pipeline.name!r}"
            )
        if params:
            raise InvalidParam("--resume reuses the run's own params; drop --param")
        if record.status == RUNNING:
            raise InvalidInput(f"run {run_id} is still running (pid {record.pid})")
        self._check_executor(record.executor)
        self.store.update_run(run_id, status=RUNNING, error=None, finished_at=None,
                              resumes=record.resumes + 1)
        self.echo(f"resuming run {run_id} of {pipeline.name!r}")
        prior = {s.name: s for s in record.steps if s.status == SUCCEEDED}
        return record, pipeline.resolve_params(
            {k: v for k, v in record.params.items() if k in pipeline.defaults()}
        ), prior

    def _start_tracking(
        self, pipeline: Pipeline, record: RunRecord, params: Mapping[str, Any]
    ) -> str:
        if record.tracking_run_id:
            self.tracker.reopen_run(record.tracking_run_id)
            return record.tracking_run_id
        tags = {"gazer.run_id": record.id, "gazer.pipeline": pipeline.name,
                "gazer.executor": record.executor, "gazer.git_commit": git_commit()}
        tracking_id = self.tracker.start_run(pipeline.name, f"{pipeline.name}-{record.id}", tags)
        self.tracker.log_params(tracking_id, params)
        self.store.update_run(record.id, tracking_run_id=tracking_id)
        return tracking_id

    def _schedule(
        self,
        pipeline: Pipeline,
        record: RunRecord,
        params: Mapping[str, Any],
        keys: Mapping[str, str],
        prior: Mapping[str, StepRecord],
        tracking_id: str,
    ) -> tuple[str, str | None]:
        done: dict[str, Outputs] = {}
        pending = list(pipeline.order)
        running: dict[Future[StepResult], str] = {}
        failure: str | None = None
        try:
            while pending or running:
                if failure is None:
                    self._submit_ready(pipeline, record.id, params, keys, prior, tracking_id,
                                       pending, done, running)
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    error = self._record_result(record.id, name, future.result(), done)
                    failure = failure or error
        except BaseException:
            for name in running.values():
                self.store.save_step(record.id, name, status=INTERRUPTED, finished_at=time.time())
            raise
        for name in pending:
            self.store.save_step(record.id, name, status=SKIPPED, cache_key=keys[name],
                                 error=f"not run: {failure}")
        return (FAILED, failure) if failure else (SUCCEEDED, None)

    def _submit_ready(
        self,
        pipeline: Pipeline,
        run_id: str,
        params: Mapping[str, Any],
        keys: Mapping[str, str],
        prior: Mapping[str, StepRecord],
        tracking_id: str,
        pending: list[str],
        done: dict[str, Outputs],
        running: dict[Future[StepResult], str],
    ) -> None:
        progressed = True
        while progressed:
            progressed = False
            for name in [n for n in pending if pipeline.upstream(n) <= done.keys()]:
                pending.remove(name)
                progressed = True
                reused = self._reuse(run_id, name, keys[name], prior,
                                     pipeline.steps[name].cache)
                if reused is not None:
                    done[name] = reused
                    continue
                task = self._task(pipeline, run_id, name, params, done, tracking_id)
                self.store.save_step(run_id, name, status=RUNNING, cache_key=keys[name],
                                     cached=False, started_at=time.time(), finished_at=None,
                                     log_path=task.log_path, error=None, traceback=None)
                self.echo(f"  ▶ {name}")
                running[self.executor.submit(task)] = name

    def _reuse(
        self, run_id: str, name: str, key: str, prior: Mapping[str, StepRecord], cache: bool
    ) -> Outputs | None:
        before = prior.get(name)
        if before is not None and before.cache_key == key:
            outputs = self._existing(before.outputs)
            if outputs is not None:
                self.echo(f"  = {name} (done before this resume)")
                return outputs
        found = self.store.find_cached(key) if cache else None
        outputs = self._existing(found) if found is not None else None
        if outputs is None:
            return None
        now = time.time()
        self.store.save_step(run_id, name, status=SUCCEEDED, cache_key=key, cached=True,
                             started_at=now, finished_at=now, outputs=found, attempts=0,
                             error=None, traceback=None)
        db = getattr(self.store, "db", None)
        if db is not None and self.settings.runs.keep_datasets:
            carry(db, key, name, run_id)  # the datasets it read are this run's too
        self.echo(f"  ↺ {name} (cache hit)")
        return outputs

    def _existing(self, stored: Mapping[str, Any]) -> Outputs | None:
        refs = {k: ArtifactRef.from_dict(v) for k, v in stored.items()}
        return refs if all(self.storage.exists(r.key) for r in refs.values()) else None

    def _task(
        self,
        pipeline: Pipeline,
        run_id: str,
        name: str,
        params: Mapping[str, Any],
        done: Mapping[str, Outputs],
        tracking_id: str,
    ) -> StepTask:
        step = pipeline.steps[name]
        storage: Storage | ServiceSpec | None = self.storage
        tracker: Tracker | ServiceSpec | None = self.tracker
        registry: Registry | ServiceSpec | None = self.registry
        if not (self.executor.shares_memory and step.timeout_s is None):
            # another process: each service travels as its own description, or not at all
            storage, tracker, registry = (self.storage.describe(), self.tracker.describe(),
                                          self.registry.describe())
        if storage is None:
            raise InvalidInput(
                    f"step {name!r} runs in another process (timeout_s or a remote executor), "
                    f"which cannot see in-memory storage; use a folder or s3:// storage"
                )
        inputs = {inp: done[src[0]][src[1]] for inp, src in pipeline.edges[name].items() if src}
        return StepTask(
            run_id=run_id,
            step=step,
            params={k: params[f"{name}.{k}"] for k in step.params},
            inputs=inputs,
            storage=storage,
            settings=self.settings,
            artifact_prefix=f"curated/runs/{run_id}/{name}",
            log_path=str(self.settings.logs_dir / run_id / f"{name}.log"),
            tmp_dir=str((self.settings.home / "tmp" / run_id).resolve()),
            tracker=tracker,
            tracking_run_id=tracking_id if tracker is not None else None,
            registry=registry,
        )

    def _record_result(
        self, run_id: str, name: str, result: StepResult, done: dict[str, Outputs]
    ) -> str | None:
        fields = dict(status=SUCCEEDED if result.ok else FAILED, attempts=result.attempts,
                      started_at=result.started_at, finished_at=result.finished_at,
                      outputs={k: v.to_dict() for k, v in result.outputs.items()},
                      metrics=result.metrics, error=result.error, traceback=result.traceback)
        self.store.save_step(run_id, name, **fields)
        took = result.finished_at - result.started_at
        if result.ok:
            done[name] = result.outputs
            self.echo(f"  ✓ {name} {took:.2f}s")
            return None
        self.echo(f"  ✗ {name} failed after {result.attempts} attempt(s): {result.error}")
        return f"step {name!r} failed: {result.error}"

    def _finish(
        self,
        run_id: str,
        tracking_id: str,
        status: str,
        error: str | None,
        started: float,
        co2: Mapping[str, float],
    ) -> None:
        record = self.store.get_run(run_id)
        metrics = {**co2, "run_duration_s": time.time() - started,
                   "cache_hits": float(record.cache_hits)}
        for s in record.steps:
            if s.duration_s is not None and not s.cached:
                metrics[f"step_duration_s.{s.name}"] = s.duration_s
        try:
            self.tracker.log_metrics(tracking_id, metrics)
            self.tracker.set_tags(tracking_id, {"gazer.status": status})
            self.tracker.end_run(tracking_id, status)
        finally:
            self.store.update_run(run_id, status=status, error=error, finished_at=time.time())
        self.echo(f"run {run_id} {status}" + (f": {error}" if error else ""))


_ANNOUNCED = re.compile(r"(?:run (\S+) of .* started|resuming run (\S+) of )")


def run_id_in(line: str) -> str | None:
    """The run id in the line a runner echoes when a run starts or resumes, else ``None``
    (for callers that follow a run through its ``echo``)."""
    found = _ANNOUNCED.match(line)
    return (found.group(1) or found.group(2)) if found else None


def run_once(
    pipeline: Pipeline,
    params: Mapping[str, Any] | None = None,
    *,
    settings: Settings,
    resume: str | None = None,
    executor: str | Executor | None = None,
    echo: Callable[[str], None] | None = None,
    **services: Any,
) -> RunRecord:
    """Build a runner on ``services`` (the rest from ``settings``), run, close; the run's
    record, or ``RunFailed`` when it did not succeed. Every caller (``Services``,
    ``Pipeline.run``) goes through here, so a failed run behaves the same everywhere."""
    runner = Runner(settings, executor=executor, echo=echo, **services)
    try:
        record = runner.run(pipeline, params, resume=resume)
    finally:
        runner.close()
    if record.status != SUCCEEDED:
        raise RunFailed(record, next((s.name for s in record.steps if s.status == FAILED), None))
    return record

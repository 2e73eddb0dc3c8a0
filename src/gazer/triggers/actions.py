"""What a binding starts: a batch job or a pipeline run, for one object."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from gazer.settings import Settings
from gazer.storage.protocol import Storage
from gazer.triggers.watcher import Action, Binding


def _fields(key: str, storage: Storage) -> dict[str, str]:
    local = storage.local_path(key)
    return {"key": key, "name": PurePosixPath(key).name, "stem": PurePosixPath(key).stem,
            "url": storage.url(key), "path": str(local) if local else storage.url(key)}


def _format(value: Any, fields: dict[str, str]) -> Any:
    return value.format(**fields) if isinstance(value, str) else value


def make_action(settings: Settings, echo: Callable[[str], None]) -> Action:
    """The action that runs a binding's batch job or pipeline for one object."""

    def act(binding: Binding, key: str, storage: Storage) -> str:
        fields = _fields(key, storage)
        if binding.batch:
            return _batch(settings, binding.batch, key, storage, fields, echo)
        return _pipeline(settings, binding, fields, echo)

    return act


def _batch(settings: Settings, config: dict[str, Any], key: str, storage: Storage,
           fields: dict[str, str], echo: Callable[[str], None]) -> str:
    from gazer.batch.job import BatchRunner, BatchSpec
    from gazer.batch.locate import load_registered
    from gazer.batch.progress_store import ChunkLedger
    from gazer.registry.resolve import registry_from_settings

    name, _, ref = str(config["model"]).partition("@")
    version = registry_from_settings(settings).get_version(name, ref or "champion").version
    output = _format(config.get("output", "output/{stem}"), fields)
    spec = BatchSpec(f"{name}@{version}", key, output, config.get("column", "text"),
                     int(config.get("chunk_rows", 500)))
    loader = functools.partial(load_registered, settings, name, str(version))
    ledger = ChunkLedger(settings.runs_url)
    try:
        result = BatchRunner(storage, storage, ledger, int(config.get("workers", 2)),
                             echo=echo).run(spec, loader, version)
    finally:
        ledger.close()
    return (f"batch {result.job_id[:12]}: {result.predicted} predicted, {result.errors} "
            f"errors → {storage.url(output)}")


def _pipeline(settings: Settings, binding: Binding, fields: dict[str, str],
              echo: Callable[[str], None]) -> str:
    from gazer.catalog import get_pipeline
    from gazer.core.runner import Runner

    params = {k: _format(v, fields) for k, v in binding.params.items()}
    runner = Runner(settings, echo=echo)
    try:
        record = runner.run(get_pipeline(str(binding.pipeline)), params)
    finally:
        runner.close()
    if record.status != "succeeded":
        raise RuntimeError(f"run {record.id} {record.status}: {record.error}")
    return f"run {record.id} succeeded"


def start_scheduled(settings: Settings, schedule: Any, echo: Callable[[str], None]) -> str:
    """Run a schedule's pipeline; raises when the run does not succeed."""
    binding = Binding(name=schedule.name, prefix="", pipeline=schedule.pipeline,
                      params=dict(schedule.params))
    return _pipeline(settings, binding, {}, echo)

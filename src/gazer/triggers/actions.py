"""What a binding starts: a batch job or a pipeline run, for one object, on the services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from gazer.catalog import get_app, list_apps
from gazer.errors import InvalidInput
from gazer.services import Services
from gazer.storage.protocol import Storage
from gazer.triggers.watcher import Action, Binding


def _fields(key: str, storage: Storage) -> dict[str, str]:
    local = storage.local_path(key)
    return {"key": key, "name": PurePosixPath(key).name, "stem": PurePosixPath(key).stem,
            "url": storage.url(key), "path": str(local) if local else storage.url(key)}


def _format(value: Any, fields: dict[str, str]) -> Any:
    return value.format(**fields) if isinstance(value, str) else value


def make_action(services: Services, echo: Callable[[str], None]) -> Action:
    """The action that runs a binding's batch job or pipeline for one object; a run that
    does not succeed raises ``RunFailed``, which the watcher records as the outcome."""

    def act(binding: Binding, key: str, storage: Storage) -> str:
        fields = _fields(key, storage)
        if binding.batch:
            return _batch(services, binding.batch, key, storage, fields, echo)
        if binding.app:
            return _ingest(services, binding.app, key, storage)
        return _pipeline(services, binding, fields, echo)

    return act


def _batch(services: Services, config: dict[str, Any], key: str, storage: Storage,
           fields: dict[str, str], echo: Callable[[str], None]) -> str:
    output = _format(config.get("output", "output/{stem}"), fields)
    model = str(config["model"])
    result = services.start_batch(model, key, output, column=config.get("column", "text"),
                                  chunk_rows=int(config.get("chunk_rows", 500)),
                                  workers=int(config.get("workers", 2)), source=storage,
                                  echo=echo)
    return (f"batch {result.job_id[:12]}: {result.predicted} predicted, {result.errors} "
            f"errors → {storage.url(output)}")


def _ingest(services: Services, name: str, key: str, storage: Storage) -> str:
    app = get_app(name)
    if app.ingest is None:
        raise InvalidInput(f"app {name!r} does not ingest objects; apps that do: "
                           f"{', '.join(a.name for a in list_apps() if a.ingest) or 'none'}")
    return app.ingest(services, key, storage.read_bytes(key))


def _pipeline(services: Services, binding: Binding, fields: dict[str, str],
              echo: Callable[[str], None]) -> str:
    params = {k: _format(v, fields) for k, v in binding.params.items()}
    record = services.run_pipeline(str(binding.pipeline), params, echo=echo)
    return f"run {record.id} succeeded"


def start_scheduled(services: Services, schedule: Any, echo: Callable[[str], None]) -> str:
    """Run a schedule's pipeline; raises ``RunFailed`` when the run does not succeed."""
    binding = Binding(name=schedule.name, prefix="", pipeline=schedule.pipeline,
                      params=dict(schedule.params))
    return _pipeline(services, binding, {}, echo)

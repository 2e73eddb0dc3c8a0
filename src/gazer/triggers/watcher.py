"""``StorageWatcher``: new objects under a prefix start a batch job or a pipeline.

Bindings come from a config file (YAML or JSON)::

    bindings:
      - name: reviews
        prefix: landing/reviews/
        batch: {model: summarizer@champion, column: text, output: output/reviews/{stem}}
        on_success: move        # move to processed/<key> (or "keep")
      - name: nightly
        prefix: landing/articles/
        pipeline: summarizer
        params: {corpus.path: "{path}"}
      - name: papers
        prefix: landing/papers/
        app: papers             # the app's own ingest (the papers app indexes each PDF)
        suffixes: [.pdf]

Each object is claimed in the ledger before any work (exactly once, across restarts and
watchers); objects that arrived while the watcher was down are simply found on the next scan.
A processed input moves to ``processed/``, a failed one to ``failed/`` beside an
``.error.json`` report, unless ``on_success``/``on_failure`` say ``keep``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gazer.errors import InvalidInput
from gazer.storage.protocol import ObjectInfo, Storage
from gazer.triggers.ledger import DONE, FAILED, WatchLedger

log = logging.getLogger("gazer.triggers")


@dataclasses.dataclass(frozen=True)
class Binding:
    """A watched prefix and what to start for each new object under it."""

    name: str
    prefix: str
    batch: dict[str, Any] | None = None
    pipeline: str | None = None
    app: str | None = None  # an app that ingests each object itself (``App.ingest``)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    on_success: str = "move"
    on_failure: str = "move"
    suffixes: tuple[str, ...] = (".csv", ".jsonl", ".parquet", ".json")

    def wants(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffixes) and \
            "/." not in f"/{key}"


def read_config(path: str | Path) -> dict[str, Any]:
    """The watch config file (YAML or JSON) as a dict."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InvalidInput(f"cannot read the watch config {path}: {exc}") from exc
    data = yaml.safe_load(text) if not str(path).endswith(".json") else json.loads(text)
    if not isinstance(data, dict) or not (data.get("bindings") or data.get("schedules")):
        raise InvalidInput(f"{path}: expected 'bindings:' and/or 'schedules:' lists")
    return data


def load_bindings(path: str | Path) -> list[Binding]:
    """Read bindings from a YAML or JSON file; every mistake is named."""
    items = read_config(path).get("bindings") or []
    if not isinstance(items, list):
        raise InvalidInput(f"{path}: expected a 'bindings:' list; got {type(items).__name__}")
    bindings = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "prefix" not in item or "name" not in item:
            raise InvalidInput(f"{path}: binding {i} needs 'name' and 'prefix'; got {item!r}")
        if sum(bool(item.get(k)) for k in ("batch", "pipeline", "app")) != 1:
            raise InvalidInput(f"{path}: binding {item['name']!r} needs exactly one of "
                               f"'batch', 'pipeline' or 'app'")
        known = {f.name for f in dataclasses.fields(Binding)}
        unknown = set(item) - known
        if unknown:
            raise InvalidInput(f"{path}: binding {item['name']!r} has unknown keys "
                               f"{sorted(unknown)}; known: {sorted(known)}")
        if "suffixes" in item:
            item = {**item, "suffixes": tuple(item["suffixes"])}
        bindings.append(Binding(**item))
    return bindings


Action = Callable[[Binding, str, Storage], str]


class StorageWatcher:
    """Scans bindings' prefixes and runs ``action`` once per new object."""

    def __init__(self, storage: Storage, bindings: list[Binding], ledger: WatchLedger,
                 action: Action, echo: Callable[[str], None] | None = None) -> None:
        self.storage, self.bindings, self.ledger, self.action = storage, bindings, ledger, action
        self.echo = echo or (lambda _line: None)

    def scan_once(self) -> list[tuple[str, str]]:
        """Process every new object now; returns ``(key, status)`` for each one handled."""
        handled = []
        for binding in self.bindings:
            for key in self.storage.list(binding.prefix):
                if not binding.wants(key):
                    continue
                info = self.storage.info(key)
                if not self.ledger.claim(binding.name, key, _version(info), info.size):
                    continue
                handled.append((key, self._handle(binding, key, info)))
        return handled

    def _handle(self, binding: Binding, key: str, info: ObjectInfo) -> str:
        self.echo(f"{binding.name}: new object {key} ({info.size} bytes)")
        try:
            result = self.action(binding, key, self.storage)
        except Exception as exc:  # the trigger loop is a process boundary: record, go on
            error = f"{type(exc).__name__}: {exc}"
            report = {"key": key, "binding": binding.name, "error": error,
                      "traceback": traceback.format_exc(), "at": time.time()}
            self.ledger.finish(binding.name, key, _version(info), FAILED, error)
            if binding.on_failure == "move":
                self._move(key, f"failed/{key}")
                self.storage.write_bytes(f"failed/{key}.error.json",
                                         json.dumps(report, indent=2).encode())
            self.echo(f"{binding.name}: {key} failed: {error}")
            return FAILED
        self.ledger.finish(binding.name, key, _version(info), DONE, result)
        if binding.on_success == "move":
            self._move(key, f"processed/{key}")
        self.echo(f"{binding.name}: {key} done: {result}")
        return DONE

    def _move(self, key: str, target: str) -> None:
        self.storage.write_bytes(target, self.storage.read_bytes(key))
        self.storage.delete(key)

    def run_forever(self, interval_s: float = 5.0, stop: Callable[[], bool] | None = None) -> None:
        while not (stop and stop()):
            try:
                self.scan_once()
            except Exception:  # keep watching through a storage outage
                log.exception("watch scan failed")
            time.sleep(interval_s)


def _version(info: ObjectInfo) -> str:
    return info.etag or f"{info.size}-{info.modified:.6f}"

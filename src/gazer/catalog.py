"""The app catalogue: apps register their pipeline, endpoint, routes and page under a name.

Apps are plug-ins: every module named in the ``gazer.apps`` entry-point group is imported
once, and registers itself with ``@register_app``. The built-in apps are declared in gazer's
own ``pyproject.toml`` like any third-party package would declare its own, so the platform
(serving, UI, triggers) reaches apps only through this catalogue and imports none by name.

``gazer run NAME`` finds a pipeline here; ``gazer run package.module:attr`` runs a
user's own ``Pipeline`` (or a function returning one) without registering it.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from collections.abc import Callable, Mapping
from typing import Any

from gazer.core.pipeline import Pipeline
from gazer.errors import GazerError, PipelineNotFound

ENTRY_POINT_GROUP = "gazer.apps"


@dataclasses.dataclass(frozen=True)
class App:
    """A registered app: how to build its pipeline and how to try it quickly."""

    name: str
    build: Callable[[], Pipeline]
    description: str = ""
    model_name: str | None = None
    quick_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    smoke: Callable[[Any], str] | None = None
    endpoint: str | None = None  # the served endpoint's name (default: the model name)
    mount: Callable[[Any], None] | None = None  # adds the app's own routes to the server app
    page: str | None = None  # the app's web page, linked from the home page
    # a version's validation inputs rebuilt from its lineage tags, for versions registered
    # before drift profiles existed (``gazer.monitoring.drift`` profiles them on demand)
    profile_inputs: Callable[[Any], Any] | None = None
    # ``ingest(services, key, data)`` takes one object landed under a watched prefix (a
    # binding with ``app: NAME``) and returns what it did
    ingest: Callable[[Any, str, bytes], str] | None = None


_APPS: dict[str, App] = {}


def register_app(
    name: str,
    *,
    description: str = "",
    model_name: str | None = None,
    quick_params: Mapping[str, Any] | None = None,
    smoke: Callable[[Any], str] | None = None,
    endpoint: str | None = None,
    mount: Callable[[Any], None] | None = None,
    page: str | None = None,
    profile_inputs: Callable[[Any], Any] | None = None,
    ingest: Callable[[Any, str, bytes], str] | None = None,
) -> Callable[[Callable[[], Pipeline]], Callable[[], Pipeline]]:
    """Register a pipeline factory under ``name``; a second app with that name is an error."""

    def wrap(build: Callable[[], Pipeline]) -> Callable[[], Pipeline]:
        if name in _APPS:
            raise GazerError(f"an app named {name!r} is already registered")
        _APPS[name] = App(name, build, description, model_name, dict(quick_params or {}), smoke,
                          endpoint, mount, page, profile_inputs, ingest)
        return build

    return wrap


_loaded: set[str] = set()


def load_apps() -> None:
    """Import every app module in the ``gazer.apps`` entry-point group (each once)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.value in _loaded:
            continue
        try:
            importlib.import_module(entry.value)
        except ImportError as exc:
            raise GazerError(f"app {entry.name!r} ({entry.value}) from the {ENTRY_POINT_GROUP} "
                             f"entry points cannot be imported: {exc}") from exc
        _loaded.add(entry.value)


def list_apps() -> list[App]:
    load_apps()
    return [_APPS[k] for k in sorted(_APPS)]


def app_for_model(model: str) -> App | None:
    """The app that registers ``model``: its own model name, or one named ``APP-...``."""
    return next((a for a in list_apps() if a.model_name == model
                 or model.startswith(f"{a.name}-")), None)


def get_app(name: str) -> App:
    load_apps()
    if name not in _APPS:
        close = difflib.get_close_matches(name, list(_APPS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PipelineNotFound(
            f"no pipeline named {name!r}{hint} Known: {', '.join(sorted(_APPS))}; "
            f"or give your own as package.module:attribute"
        )
    return _APPS[name]


def get_pipeline(name: str) -> Pipeline:
    """A registered app's pipeline, or ``module:attr`` naming a Pipeline or its factory."""
    if ":" not in name:
        return get_app(name).build()
    module_name, _, attr = name.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise PipelineNotFound(f"cannot import pipeline {name!r}: {exc}") from exc
    pipeline = target() if callable(target) and not isinstance(target, Pipeline) else target
    if not isinstance(pipeline, Pipeline):
        raise PipelineNotFound(f"{name!r} is a {type(pipeline).__name__}, not a gazer Pipeline")
    return pipeline

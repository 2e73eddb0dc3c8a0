"""The app catalogue: built-in apps register their pipeline under a unique name.

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

BUILTIN_APPS = (
    "gazer.apps.example.pipeline",
    "gazer.apps.characters.pipeline",
    "gazer.apps.summarizer.pipeline",
    "gazer.apps.wordpredict.pipeline",
    "gazer.apps.enrichment.pipeline",
)


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
) -> Callable[[Callable[[], Pipeline]], Callable[[], Pipeline]]:
    """Register a pipeline factory under ``name``; a second app with that name is an error."""

    def wrap(build: Callable[[], Pipeline]) -> Callable[[], Pipeline]:
        if name in _APPS:
            raise GazerError(f"an app named {name!r} is already registered")
        _APPS[name] = App(name, build, description, model_name, dict(quick_params or {}), smoke,
                          endpoint, mount, page)
        return build

    return wrap


def load_builtin_apps() -> None:
    for module in BUILTIN_APPS:
        importlib.import_module(module)


def list_apps() -> list[App]:
    load_builtin_apps()
    return [_APPS[k] for k in sorted(_APPS)]


def get_app(name: str) -> App:
    load_builtin_apps()
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

"""The enrichment workflows as apps: ``gazer run social-listening`` (and multilingual,
reviews, or any workflow in ``.gazer/workflows.yaml``); ``gazer watch`` binds them to landing
prefixes; ``gazer query`` reads what they wrote."""

from __future__ import annotations

from typing import Any

from gazer.apps.enrichment.serving import mount
from gazer.apps.enrichment.workflows import build_workflow, load_workflows
from gazer.catalog import _APPS, register_app
from gazer.core.pipeline import Pipeline
from gazer.settings import get_settings


def _register(name: str, spec: dict[str, Any]) -> None:
    if name in _APPS:  # a user's entry with a built-in app's name is refused by the catalogue
        return

    def build() -> Pipeline:
        return build_workflow(name, spec)

    build_workflow(name, spec)  # a broken config entry fails here, at start-up, by name
    register_app(name, description=f"enrichment workflow: {spec.get('description', '')}",
                 quick_params=dict(spec.get("demo_params") or {}), mount=mount,
                 page="/apps/enrichment")(build)


def register_workflows() -> None:
    for name, spec in load_workflows(get_settings().home).items():
        _register(name, spec)


register_workflows()

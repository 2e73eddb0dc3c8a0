"""Workflows from config: a list of catalogue steps becomes a ``Pipeline`` and an app.

The packaged ``workflows.yaml`` declares ``social-listening``, ``multilingual`` and
``reviews``; ``.gazer/workflows.yaml`` (or the file in ``GAZER_WORKFLOWS``) adds or replaces
entries, so a new workflow is a config entry and no code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from gazer.apps.enrichment.steps import CATALOGUE
from gazer.core.pipeline import Pipeline
from gazer.errors import InvalidPipeline

PACKAGED = Path(__file__).with_name("workflows.yaml")


def _read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) or {}
    flows = data.get("workflows", {})
    if not isinstance(flows, dict):
        raise InvalidPipeline(f"{path}: 'workflows' must be a mapping of name → workflow")
    return flows


def load_workflows(home: Path | None = None) -> dict[str, dict[str, Any]]:
    """Packaged workflows updated by the user's file."""
    flows = _read(PACKAGED)
    user = os.environ.get("GAZER_WORKFLOWS")
    candidates = [Path(user)] if user else []
    if home is not None:
        candidates.append(home / "workflows.yaml")
    for path in candidates:
        if path.is_file():
            flows.update(_read(path))
    return flows


def _entry(item: Any, name: str) -> tuple[str, str, dict[str, Any]]:
    """(catalogue step, name in the pipeline, param defaults) of one steps entry."""
    if isinstance(item, str):
        return item, item, {}
    if isinstance(item, dict) and "step" in item:
        return str(item["step"]), str(item.get("as", item["step"])), dict(item.get("params") or {})
    if isinstance(item, dict) and len(item) == 1:
        (step_name, params), = item.items()
        return str(step_name), str(step_name), dict(params or {})
    raise InvalidPipeline(f"workflow {name!r}: a step is a name, {{name: {{params}}}} or "
                          f"{{step: NAME, as: NAME, params: {{...}}}}; got {item!r}")


def build_workflow(name: str, spec: dict[str, Any]) -> Pipeline:
    """A linear pipeline: each step's ``messages`` comes from the step before it."""
    items = spec.get("steps") or []
    if not items:
        raise InvalidPipeline(f"workflow {name!r} has no steps")
    steps, wiring, previous = [], {}, None
    for item in items:
        base_name, step_name, params = _entry(item, name)
        if base_name not in CATALOGUE:
            raise InvalidPipeline(f"workflow {name!r}: no step {base_name!r} in the catalogue; "
                                  f"known: {', '.join(sorted(CATALOGUE))}")
        step = CATALOGUE[base_name].named(step_name).with_params(**params)
        if previous is not None and "messages" in step.inputs:
            wiring[f"{step_name}.messages"] = f"{previous}.messages"
        elif previous is None and step.inputs:
            raise InvalidPipeline(f"workflow {name!r} must start with a source step (ingest, "
                                  f"ingest_files); {step_name!r} needs {step.inputs}")
        steps.append(step)
        previous = step_name
    return Pipeline(name, steps, wiring=wiring, description=spec.get("description", ""))

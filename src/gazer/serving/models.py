"""``/api/models``: registered models for the operator console: every model with its
champion and challenger, one model's versions with their metrics side by side, and one
version's gate result, model card, behaviour tests, reference profile and lineage (dataset
version → run → version → endpoints serving it)."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from markdown_it import MarkdownIt

from gazer.errors import GazerError, ModelNotFound
from gazer.monitoring.drift import load_profile
from gazer.registry.protocol import CHALLENGER, CHAMPION, ModelVersion
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.inference import state_of

router = APIRouter(tags=["models"], dependencies=[require("predict")])
log = logging.getLogger("gazer.serving.models")
# Markdown a run logged (model cards, behaviour tests) as HTML: raw HTML in it is escaped
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def _version(v: ModelVersion) -> dict[str, Any]:
    return {"version": v.version, "aliases": list(v.aliases), "metrics": v.metrics,
            "gate": v.tags.get("gazer.gate"), "gate_metric": v.tags.get("gazer.gate_metric"),
            "gate_reasons": [r for r in v.tags.get("gazer.gate_reasons", "").split(" | ") if r],
            "run_id": v.tags.get("gazer.run_id") or v.run_id, "created_at": v.created_at,
            "dataset": v.tags.get("gazer.dataset"), "profile": v.tags.get("gazer.profile")}


def _versions(request: Request, name: str) -> list[ModelVersion]:
    registry = state_of(request).registry
    if name not in registry.list_models():
        raise ModelNotFound(f"no registered model {name!r}; registered: "
                            f"{', '.join(sorted(registry.list_models())) or 'none'}")
    return sorted(registry.list_versions(name), key=lambda v: v.version)


@router.get("/api/models", responses=errors())
def list_models(request: Request) -> list[dict[str, Any]]:
    """Every registered model: its version count and champion and challenger versions."""
    registry = state_of(request).registry
    out = []
    for name in sorted(registry.list_models()):
        champion, challenger = registry.find_alias(name, CHAMPION), registry.find_alias(
            name, CHALLENGER)
        out.append({"name": name, "versions": len(registry.list_versions(name)),
                    "champion": champion.version if champion else None,
                    "challenger": challenger.version if challenger else None})
    return out


@router.get("/api/models/{name}", responses=errors(404))
def get_model(name: str, request: Request) -> dict[str, Any]:
    """A model's versions, oldest first, with metrics, gate results and runs; ``gate_metric``
    is what its gate compares (the chart's y axis)."""
    versions = [_version(v) for v in _versions(request, name)]
    metric = next((v["gate_metric"] for v in reversed(versions) if v["gate_metric"]), None)
    if metric is None and versions and versions[-1]["metrics"]:
        metric = sorted(versions[-1]["metrics"])[0]
    return {"name": name, "gate_metric": metric, "versions": versions}


@router.get("/api/models/{name}/{version}", responses=errors(404))
def get_model_version(name: str, version: int, request: Request) -> dict[str, Any]:
    """One version: metrics, gate, tags, and its lineage to the endpoints serving it."""
    found = next((v for v in _versions(request, name) if v.version == version), None)
    if found is None:
        raise ModelNotFound(f"model {name!r} has no version {version}")
    state = state_of(request)
    serving = []
    for endpoint in state.endpoints.values():
        for role, slot in (("champion", endpoint.champion), ("challenger", endpoint.challenger)):
            current = slot.current
            if current is not None and current.name == name and current.version == version:
                serving.append({"endpoint": endpoint.name, "role": role,
                                "monitoring": f"/monitoring/{endpoint.name}"})
    out = _version(found)
    return {**out, "name": name, "tags": dict(found.tags),
            **_documents(state, out["run_id"], name, version),
            "reference_profile": _profile(state, name, version), "lineage": {
        "dataset": out["dataset"], "run": out["run_id"],
        "run_page": f"/runs/{out['run_id']}" if out["run_id"] else None,
        "version": f"{name} v{version}", "endpoints": serving,
        "external": {k: found.tags.get(f"gazer.{k}") for k in (
            "origin", "source_path", "source_sha256", "source_format", "registered_by")}
        if found.tags.get("gazer.source") == "external" else None}}


def _documents(state: Any, run_id: str | None, name: str, version: int) -> dict[str, Any]:
    """The Markdown documents and the gate decision the version's run logged: its model
    card, behaviour-test report and dataset card, rendered, and ``gate/gate.json``."""
    out: dict[str, Any] = {"model_card": None, "behaviour_tests": None, "documents": [],
                           "gate_decision": None, "documents_error": None}
    if not run_id:
        return out
    try:
        tracking_id = state.services.runs.get_run(run_id).tracking_run_id
        tracker = state.services.tracker
        files = [p for p, _size in tracker.list_artifacts(tracking_id)] if tracking_id else []
        for path in files:
            if path.endswith(".md"):
                text = tracker.read_artifact(tracking_id, path).decode(errors="replace")
                doc = {"path": path, "html": _MARKDOWN.render(text)}
                out["documents"].append(doc)
                if path.endswith("model_card.md") and out["model_card"] is None:
                    out["model_card"] = doc
                if "behaviour" in path:
                    out["behaviour_tests"] = doc
            elif path.endswith("gate.json"):
                decision = json.loads(tracker.read_artifact(tracking_id, path))
                if decision.get("model") == name and decision.get("version") == version:
                    out["gate_decision"] = decision
    except GazerError as exc:  # the run or the tracker is gone: the rest of the page stays
        log.warning("documents of %s v%d: %s", name, version, exc)
        out["documents_error"] = str(exc)
    return out


def _profile(state: Any, name: str, version: int) -> dict[str, Any] | None:
    """A summary of the version's reference profile (what drift compares traffic with)."""
    try:
        profile = load_profile(state.services.storage, state.registry, name, version)
    except GazerError as exc:
        log.warning("reference profile of %s v%d: %s", name, version, exc)
        return None
    if profile is None:
        return None
    features = {}
    for feature, sample in list(profile.scalars.items())[:50]:
        values = np.asarray(sample, dtype=float)
        features[feature] = {"n": int(values.size), "mean": float(values.mean()) if values.size
                             else None, "std": float(values.std()) if values.size else None,
                             "p5": float(np.percentile(values, 5)) if values.size else None,
                             "p95": float(np.percentile(values, 95)) if values.size else None}
    return {"kind": profile.kind, "n": profile.n, "features": features,
            "scalar_features": len(profile.scalars), "vectors": len(profile.vectors),
            "top_tokens": profile.top_tokens[:15],
            "predicted": dict(sorted(profile.predicted.items(), key=lambda kv: -kv[1])[:15])}

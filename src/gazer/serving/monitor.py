"""Quality and A/B readouts of a served endpoint, from its prediction log and feedback."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Request

from gazer.errors import NotFound
from gazer.monitoring.drift import drift_report
from gazer.monitoring.drift import history as drift_history
from gazer.monitoring.readout import ab_readout, quality
from gazer.monitoring.resources import energy, history
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.endpoint import Endpoint
from gazer.serving.inference import state_of
from gazer.triggers.policies import decisions as policy_decisions
from gazer.triggers.policies import load_policies, policy_files

router = APIRouter(tags=["monitoring"], dependencies=[require("predict")])
DAYS = Query(7.0, gt=0, le=366, description="The window: this many days back from now")


def endpoint_ab(state: Any, endpoint: Endpoint, days: float = 7.0) -> dict[str, Any]:
    """The A/B readout of ``endpoint`` between the versions it serves now."""
    champion = endpoint.champion.current
    challenger = endpoint.challenger.current
    return ab_readout(state.services.db, endpoint.name,
                      champion.version if champion else None,
                      challenger.version if challenger else None,
                      endpoint.config.policy, endpoint.config.canary_weight, days=days)


@router.get("/v2/models/{name}/quality", responses=errors(404))
def quality_route(name: str, request: Request, days: float = DAYS) -> dict[str, Any]:
    """Per version: predictions, errors, latency p50/p99, labelled accuracy and mean rating
    with 95% intervals and the counts behind them, and accuracy per day."""
    state = state_of(request)
    endpoint = state.endpoint(name)
    if state.predictions is not None:
        state.predictions.flush()
    report = quality(state.services.db, endpoint.name, days=days)
    report["energy"] = energy(state.services.db, endpoint.name, report["since"])
    report["training_co2_kg"] = _training_co2(state, endpoint.config.model_name,
                                              [v["version"] for v in report["versions"]])
    return report


def _training_co2(state: Any, model: str, versions: list[int | None]) -> dict[str, float]:
    """CO2 of the run that trained each version, as its tracker recorded it."""
    out = {}
    for version in {v for v in versions if v is not None}:
        try:
            run_id = state.registry.get_version(model, version).run_id
            co2 = state.services.tracker.run_metrics(run_id).get("co2_kg") if run_id else None
        except Exception:  # a version or a run the tracker no longer has
            co2 = None
        if co2 is not None:
            out[str(version)] = float(co2)
    return out


@router.get("/api/monitoring/resources", responses=errors())
def resources_route(request: Request, days: float = DAYS) -> list[dict[str, Any]]:
    """The serving process's samples: CPU, memory, disk and network I/O, energy and CO2."""
    return history(state_of(request).services.db, time.time() - days * 86400)


@router.get("/v2/models/{name}/ab", responses=errors(404))
def ab_route(name: str, request: Request, days: float = DAYS) -> dict[str, Any]:
    """Champion against challenger under canary or shadow traffic: latency, errors,
    agreement, labelled accuracy with intervals, a sequential verdict that stays valid
    however often it is read (mSPRT), and a sample-ratio check of the canary split."""
    state = state_of(request)
    endpoint = state.endpoint(name)
    if state.predictions is not None:
        state.predictions.flush()
    return endpoint_ab(state, endpoint, days)


WINDOW = Query(None, max_length=40, pattern=r"^(\d+|\d+(\.\d+)?[dh]|\d{4}-\d{2}-\d{2}.*)$",
               description="The window: 1h, 7d, a date (UTC), or N for the last N answers; "
                           "default 1h")


def endpoint_drift(state: Any, endpoint: Endpoint, window: str | None = None,
                   record: bool = True) -> dict[str, Any]:
    """The drift report of the version ``endpoint`` serves as champion now."""
    champion = endpoint.champion.current
    if champion is None:
        raise NotFound(f"endpoint {endpoint.name!r} serves no champion yet")
    if state.predictions is not None:
        state.predictions.flush()
    return drift_report(state.services.db, state.services.storage, state.registry,
                        endpoint.name, endpoint.config.model_name, window,
                        version=champion.version, record=record)


@router.get("/v2/models/{name}/drift", responses=errors(404))
def drift_route(name: str, request: Request, window: str | None = WINDOW) -> dict[str, Any]:
    """The recent window of logged inputs and answers against the serving version's
    reference profile: per feature its test, p-value (Holm-corrected), effect size and
    histograms, and one verdict (``drifted`` true, false, or null when not known) with the
    features that drove it. Each call is recorded in the drift history."""
    state = state_of(request)
    return endpoint_drift(state, state.endpoint(name), window)


@router.get("/v2/models/{name}/drift/history", responses=errors(404))
def drift_history_route(name: str, request: Request,
                        limit: int = Query(50, ge=1, le=1000)) -> list[dict[str, Any]]:
    """The endpoint's recorded drift checks, newest first."""
    state = state_of(request)
    return drift_history(state.services.db, state.endpoint(name).name, limit)


@router.get("/api/policies", responses=errors())
def policies_route(request: Request) -> list[dict[str, Any]]:
    """Every retraining policy this server knows (the apps' files and the user's)."""
    state = state_of(request)
    found = load_policies(policy_files(state.settings))
    return [p.model_dump() for p in found.values()]


@router.get("/api/policies/decisions", responses=errors())
def decisions_route(request: Request, policy: str | None = Query(None, max_length=200),
                    limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """What the retraining policies decided, fired or not, and why, newest first."""
    return policy_decisions(state_of(request).services.db, policy, limit)

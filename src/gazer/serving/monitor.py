"""Quality and A/B readouts of a served endpoint, from its prediction log and feedback."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Request

from gazer.monitoring.readout import ab_readout, quality
from gazer.monitoring.resources import energy, history
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.endpoint import Endpoint
from gazer.serving.inference import state_of

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

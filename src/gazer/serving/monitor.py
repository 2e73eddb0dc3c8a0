"""Quality and A/B readouts of a served endpoint, from its prediction log and feedback."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from gazer.monitoring.readout import ab_readout, quality
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
    return quality(state.services.db, endpoint.name, days=days)


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

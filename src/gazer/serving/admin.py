"""Admin routes (API key required): promote, rollback, traffic policy, swap history."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gazer.errors import Conflict
from gazer.registry.promotion import promote, rollback
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.inference import state_of
from gazer.serving.monitor import endpoint_ab
from gazer.serving.protocol import MAX_VERSION, JsonInt

router = APIRouter(prefix="/admin", tags=["admin (API key)"],
                   dependencies=[require("admin")])


class PromoteBody(BaseModel):
    model_config = ConfigDict(strict=True)

    version: JsonInt = Field(ge=1, le=MAX_VERSION, description="The version to make champion.")
    require_evidence: bool = Field(default=False, description=(
        "Promote only when the A/B readout of an endpoint serving this version as its "
        "challenger says it is better (409 otherwise, with the readout)"))


class TrafficBody(BaseModel):
    model_config = ConfigDict(strict=True)

    policy: Literal["champion", "canary", "shadow"]
    canary_weight: float = Field(default=0.1, ge=0.0, le=1.0)


class AliasChange(BaseModel):
    model: str
    champion: int
    swaps: list[dict[str, object]]


def _sync(request: Request) -> list[dict[str, object]]:
    return [vars(e) for e in state_of(request).watcher.sync_once()]


@router.post("/models/{model}/promote", response_model=AliasChange,
             responses=errors(404, 409, 502))
def promote_route(model: str, body: PromoteBody, request: Request) -> AliasChange:
    """Point ``champion`` at a version; served endpoints swap to it once it is warm. With
    ``require_evidence`` the version must have won its A/B readout."""
    state = state_of(request)
    reason = "admin API"
    if body.require_evidence:
        reason = "admin API, A/B evidence: " + _evidence(state, model, body.version)
    version = promote(state.registry, model, body.version, reason=reason)
    return AliasChange(model=model, champion=version.version, swaps=_sync(request))


def _evidence(state: Any, model: str, version: int) -> str:
    """The verdict that lets ``version`` be promoted, or ``Conflict`` saying why not."""
    serving = [e for e in state.endpoints.values() if e.config.model_name == model
               and e.challenger.current is not None and e.challenger.current.version == version]
    if not serving:
        raise Conflict(f"no endpoint serves {model} v{version} as its challenger, so there is "
                       f"no A/B evidence for it; set the challenger alias and a canary or "
                       f"shadow policy, or promote without require_evidence")
    readouts = [endpoint_ab(state, e) for e in serving]
    for readout in readouts:
        verdict = readout["verdict"]
        if verdict["decision"] == "better":
            return (f"better on {readout['endpoint']} by {verdict['difference']:+.3f} "
                    f"({verdict['pairs']} pairs)")
    verdict = readouts[0]["verdict"]
    needed = f"; about {verdict['labels_needed']} more labels at the observed difference" \
        if verdict.get("labels_needed") else ""
    raise Conflict(f"the A/B readout does not say {model} v{version} is better: "
                   f"{verdict['decision']} after {verdict['pairs']} pairs{needed}")


@router.post("/models/{model}/rollback", response_model=AliasChange,
             responses=errors(404, 409, 502))
def rollback_route(model: str, request: Request) -> AliasChange:
    """Point ``champion`` back at the previous champion."""
    version = rollback(state_of(request).registry, model)
    return AliasChange(model=model, champion=version.version, swaps=_sync(request))


@router.put("/endpoints/{name}/traffic", responses=errors(404))
def traffic_route(name: str, body: TrafficBody, request: Request) -> dict[str, object]:
    """Change an endpoint's policy; a challenger is loaded for canary and shadow."""
    endpoint = state_of(request).endpoint(name)
    endpoint.config = endpoint.config.model_copy(
        update={"policy": body.policy, "canary_weight": body.canary_weight})
    _sync(request)
    return endpoint.status()


@router.get("/swaps")
def swaps_route(request: Request) -> list[dict[str, object]]:
    """The last 200 swap attempts on every endpoint, newest first, kept across restarts."""
    return state_of(request).swap_log.recent()

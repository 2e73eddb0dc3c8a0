"""``/api/deployments``: every endpoint with its traffic policy, champion and challenger
versions, canary weight and live request rate (from the prediction log's per-minute rollups,
so it counts every replica that logs to the same database)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from gazer.db import PredictionMinuteRow
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.inference import state_of

router = APIRouter(tags=["deployments"], dependencies=[require("predict")])


@router.get("/api/deployments", responses=errors())
def deployments(request: Request, minutes: int = Query(5, ge=1, le=1440, description=(
        "The window the request rate is averaged over"))) -> list[dict[str, Any]]:
    """Endpoints with policy, versions, weight, and requests per second by role over the
    last ``minutes`` whole minutes."""
    state = state_of(request)
    now_minute = int(time.time() // 60)
    c = PredictionMinuteRow
    with state.services.db.session() as s:
        rows = s.execute(select(c.endpoint, c.role, func.sum(c.predictions), func.sum(c.errors))
                         .where(c.minute >= now_minute - minutes).group_by(c.endpoint, c.role)
                         ).all()
    rates: dict[str, dict[str, Any]] = {}
    for endpoint, role, n, failed in rows:
        rates.setdefault(endpoint, {})[role] = {
            "per_s": round(float(n or 0) / (minutes * 60), 4), "errors": int(failed or 0)}
    return [{**e.status(), "rate": rates.get(e.name, {}), "window_minutes": minutes}
            for e in state.endpoints.values()]

"""``create_app(settings)``: one FastAPI app serving every endpoint, the APIs and the UI.

Models load in the lifespan (never at import): the champion of every always-on endpoint
is loaded and warmed before the server reports ready, then a watcher thread follows the
registry's aliases and swaps new versions in.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from gazer.batch import http as batch_http
from gazer.catalog import list_apps
from gazer.core.progress import active
from gazer.errors import GazerError
from gazer.registry.protocol import Registry
from gazer.services import Services
from gazer.serving import admin, deployments, feedback, inference, models, monitor, runs
from gazer.serving.auth import KeyRing, check_public_bind, require
from gazer.serving.contract import allowed_methods, install_contract
from gazer.serving.endpoint import Endpoint
from gazer.serving.middleware import AccessLogMiddleware, BodyLimitMiddleware
from gazer.serving.state import ServingState
from gazer.settings import EndpointSettings, Settings
from gazer.ui.pages import mount_ui

log = logging.getLogger("gazer.serving")


class AppTraining(BaseModel):
    app: str
    model: str | None
    endpoint: str | None
    status: str = Field(description="queued, training, live, refused (by the gate) or failed")
    step: str | None = Field(description="The step running now")
    run_id: str | None
    version: int | None = Field(description="The version it registered")
    detail: str = Field(description="Why it failed or was refused")
    started: float | None
    finished: float | None


class LoopProgress(BaseModel):
    desc: str
    done: int
    total: int | None
    pct: float | None
    elapsed_s: float
    eta_s: float | None


class TrainingStatus(BaseModel):
    active: bool = Field(description="Something is queued or training")
    current: str | None = Field(description="The app training now")
    apps: list[AppTraining]
    progress: list[LoopProgress] = Field(description="The loops running now (epochs, rows)")


def default_endpoints() -> list[EndpointSettings]:
    """One endpoint per registered app that has a model."""
    return [EndpointSettings(name=a.endpoint or a.model_name, model=a.model_name)
            for a in list_apps() if a.model_name]


def create_app(
    settings: Settings,
    *,
    registry: Registry | None = None,
    endpoints: Sequence[EndpointSettings] | None = None,
    services: Services | None = None,
) -> FastAPI:
    """Build the app on ``services`` (built from ``settings`` in the lifespan when not
    given, with ``registry`` if given); ``endpoints`` default to what ``settings`` name."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = services if services is not None else await run_in_threadpool(
            lambda: Services(settings, registry=registry))
        reg = svc.registry
        configs = list(endpoints or settings.serving.endpoints or default_endpoints())
        predictions = svc.predictions if settings.serving.log_predictions else None
        state = ServingState(settings, reg, [Endpoint(c, reg) for c in configs], predictions,
                             services=svc)
        app.state.gazer = state
        events = await run_in_threadpool(state.watcher.sync_once)
        for event in events:
            log.info("loaded %s %s v%d in %.2fs (ok=%s)", event.endpoint, event.role,
                     event.to_version, event.seconds, event.ok)
        state.watcher.start()
        state.start_resource_sampler()
        state.start_drift_checks()
        # Everything loaded so far lives as long as the server: keep it out of the cyclic
        # GC's full collections, which otherwise stall requests for tens of milliseconds.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await run_in_threadpool(state.close)
            if services is None:
                await run_in_threadpool(svc.close)

    app = FastAPI(
        title="gazer",
        summary="Every registered model behind the Open Inference Protocol, plus each app's "
                "own routes and the web UI.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.keyring = KeyRing(settings.serving)
    install_contract(app, app.state.keyring)
    _add_error_handlers(app)
    app.include_router(inference.router)
    app.include_router(admin.router)
    app.include_router(feedback.router)
    app.include_router(monitor.router)
    app.include_router(runs.router)
    app.include_router(runs.admin_router)
    app.include_router(models.router)
    app.include_router(deployments.router)
    app.include_router(batch_http.make_router([require("predict")]))
    _add_platform_routes(app)
    for built_in in list_apps():
        if built_in.mount is not None:
            built_in.mount(app)
    mount_ui(app)
    app.add_middleware(BodyLimitMiddleware, limit=settings.serving.max_body_bytes)
    if settings.serving.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.serving.cors_origins,
                           allow_methods=["GET", "POST", "PUT"], allow_headers=["*"])
    app.add_middleware(AccessLogMiddleware)
    return app


def serve(services: Services, host: str | None = None, port: int | None = None,
          echo: Callable[[str], None] | None = None, training: Any = None) -> None:
    """Serve ``create_app`` on ``services`` at ``host:port`` (the settings' by default) until
    stopped. A non-loopback address without API keys is refused first (``check_public_bind``).
    ``training`` (anything with ``snapshot() -> dict``, e.g. the demo's background training)
    is what ``GET /api/training`` reports."""
    settings = services.settings
    host, port = host or settings.serving.host, port or settings.serving.port
    check_public_bind(host, settings.serving)
    if echo is not None:
        echo(f"gazer serving on http://{host}:{port}/  (API docs: /docs, metrics: /metrics)")
    app = create_app(settings, services=services)
    app.state.training = training
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _add_platform_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["platform"])
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["platform"], response_model=inference.ServerReady,
             responses={503: {"model": inference.ServerReady,
                              "description": "An always-on endpoint has no model loaded yet"}})
    def readyz(request: Request) -> JSONResponse:
        """Readiness: 200 once every always-on endpoint has a model loaded, else 503."""
        ready = inference.ready(request).ready
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["platform"], response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "Prometheus text exposition format"}})
    def metrics(request: Request) -> Response:
        """Prometheus metrics."""
        return Response(inference.state_of(request).metrics.render(),
                         media_type="text/plain; version=0.0.4")

    @app.get("/api/training", tags=["platform"], dependencies=[require("predict")],
             response_model=TrainingStatus)
    def training_status(request: Request) -> dict[str, Any]:
        """What trains in this process now: the demo's queue of apps without a champion
        (queued, training, live, refused, failed), the step running and its loops'
        progress (done/total, ETA). ``active`` is false once nothing is queued."""
        training = getattr(request.app.state, "training", None)
        if training is None:
            return {"active": False, "current": None, "apps": [], "progress": active()}
        return training.snapshot()  # type: ignore[no-any-return]

    @app.get("/api/endpoints", tags=["platform"], dependencies=[require("predict")])
    def endpoints_status(request: Request) -> list[dict[str, Any]]:
        """Every endpoint with its policy, loaded versions and state."""
        return [e.status() for e in inference.state_of(request).endpoints.values()]


def _error(kind: str, detail: str, status: int, headers: dict[str, str] | None = None
           ) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GazerError)
    async def gazer_error(_request: Request, exc: GazerError) -> JSONResponse:
        retry = getattr(exc, "retry_after_s", None)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return _error(type(exc).__name__, str(exc), exc.status_code, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error("InvalidInput", describe_validation(exc.errors()), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        detail = str(exc.detail)
        if exc.status_code == 400:  # FastAPI's own: a body it could not decode at all
            return _error("InvalidInput", f"the request body could not be read: {detail}; "
                                          f"expected the declared content type", 422)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {_request.url.path}; see /docs for the routes"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(_request.app, _request.url.path))
            detail = (f"{_request.method} is not allowed on {_request.url.path}; allowed: "
                      f"{headers['Allow']}")
        return _error(kind, detail, exc.status_code, headers)

    @app.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error("InternalError", f"{type(exc).__name__}: {exc}", 500)


def describe_validation(errors: Sequence[Any]) -> str:
    """Pydantic errors as one readable line: where, what was expected, what was got."""
    parts = []
    for err in list(errors)[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        got = err.get("input")
        got_text = repr(got)[:80] if got is not None else "nothing"
        if err.get("type") == "json_invalid":
            parts.append(f"request body is not valid JSON ({err.get('ctx', {}).get('error', '')})")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}; got {got_text}")
    return "; ".join(parts)

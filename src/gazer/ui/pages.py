"""Server-rendered pages (Jinja2 + a little vanilla JS, no build step)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gazer.catalog import list_apps

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def mount_ui(app: FastAPI) -> None:
    """Add the home, operator and monitoring pages and the static files to ``app``."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    mount_monitoring(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        state = request.app.state.gazer
        locked = "predict" not in request.app.state.keyring.anonymous
        apps = [{"name": a.name, "description": a.description, "model": a.model_name,
                 "page": a.page, "endpoint_name": a.endpoint or a.model_name,
                 "endpoint": state.endpoints.get(a.endpoint or a.model_name)}
                for a in list_apps()]
        return templates.TemplateResponse(request, "home.html", {
            "apps": apps, "locked": locked,
            "endpoints": [_shown(e.status(), locked) for e in state.endpoints.values()]})

    @app.get("/operator", response_class=HTMLResponse, include_in_schema=False)
    def operator(request: Request) -> HTMLResponse:
        state = request.app.state.gazer
        locked = bool(request.app.state.keyring.keys)  # a page request carries no key
        models: list[dict[str, Any]] = []
        for name in [] if locked else state.registry.list_models():
            versions = state.registry.list_versions(name)
            models.append({"name": name, "versions": versions[:10]})
        swaps = [] if locked else sorted((s for e in state.endpoints.values() for s in e.swaps),
                                         key=lambda s: -s.at)[:30]
        return templates.TemplateResponse(request, "operator.html", {
            "models": models, "swaps": swaps, "locked": locked,
            "endpoints": [_shown(e.status(), locked) for e in state.endpoints.values()]})


def mount_monitoring(app: FastAPI) -> None:
    """``/monitoring/{endpoint}`` and ``/monitoring/{endpoint}/drift``: the pages; their
    scripts read the quality, A/B, resource and drift routes with the tab's key."""

    @app.get("/monitoring", response_class=HTMLResponse, include_in_schema=False)
    def monitoring_index(request: Request) -> HTMLResponse:
        endpoints = [{"name": e.name, "model": e.config.model_name, "policy": e.config.policy}
                     for e in request.app.state.gazer.endpoints.values()]
        return templates.TemplateResponse(request, "monitoring_index.html",
                                          {"endpoints": endpoints})

    @app.get("/monitoring/{endpoint}", response_class=HTMLResponse, include_in_schema=False)
    def monitoring(endpoint: str, request: Request) -> HTMLResponse:
        served = request.app.state.gazer.endpoint(endpoint)  # 404 for an unknown endpoint
        return templates.TemplateResponse(request, "monitoring.html", {
            "endpoint": served.name, "model": served.config.model_name,
            "policy": served.config.policy})


    @app.get("/monitoring/{endpoint}/drift", response_class=HTMLResponse,
             include_in_schema=False)
    def drift(endpoint: str, request: Request) -> HTMLResponse:
        served = request.app.state.gazer.endpoint(endpoint)
        return templates.TemplateResponse(request, "drift.html", {
            "endpoint": served.name, "model": served.config.model_name,
            "window": request.app.state.gazer.settings.serving.drift_window})


    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs(request: Request) -> HTMLResponse:
        pipelines = sorted(a.name for a in list_apps())
        return templates.TemplateResponse(request, "runs.html", {"pipelines": pipelines})

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(run_id: str, request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "run.html", {"run_id": run_id})

    @app.get("/models", response_class=HTMLResponse, include_in_schema=False)
    def models_page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "models.html", {"name": None})

    @app.get("/models/{name}", response_class=HTMLResponse, include_in_schema=False)
    def model_page(name: str, request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "models.html", {"name": name})

    @app.get("/models/{name}/{version}", response_class=HTMLResponse, include_in_schema=False)
    def version_page(name: str, version: int, request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "model_version.html",
                                          {"name": name, "version": version})

    @app.get("/deployments", response_class=HTMLResponse, include_in_schema=False)
    def deployments_page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "deployments.html", {})

    @app.get("/policies", response_class=HTMLResponse, include_in_schema=False)
    def policies(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "policies.html", {})


def _shown(status: dict[str, Any], locked: bool) -> dict[str, Any]:
    """An endpoint's status for a page: only its name and model when keys guard the data
    (the page's script then fills in versions and state with the tab's key)."""
    if not locked:
        return status
    hidden = {"version": None, "state": "needs an API key", "error": None}
    return {**status, "policy": "-", "champion": hidden, "challenger": hidden}

"""The OpenAPI document as the contract: one error body, every status an operation returns.

FastAPI documents the 2xx of each route and a 422 of its own shape (``HTTPValidationError``)
that gazer never sends. ``install_contract`` rewrites the generated document once:

- every error status is ``{"error": str, "detail": str}`` (the ``Error`` schema), the body
  the handlers in ``serving/app.py`` send;
- statuses every route of a kind can return are added from what the route is: 500 (the crash
  handler, which should never answer but can, on any route), 422 when it
  takes parameters or a body, 413 when it takes a body (the body-limit middleware), 401 and
  403 when it needs a scope; the rest (404, 409, 503, ...) a route declares itself with
  ``responses=errors(404, ...)``;
- a scoped operation names its scope (``x-gazer-scope``), and one whose scope is open without
  a key (no keys configured) says so: its security requirement includes the empty one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from gazer.serving.auth import KeyRing, scope_of

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "The error's kind, e.g. InvalidInput",
                  "examples": ["InvalidInput"]},
        "detail": {"type": "string", "description": "What was expected and what was got"},
    },
}
DESCRIPTIONS = {
    401: "No API key, or one that matches no configured key",
    403: "The key lacks the route's scope, or the scope is disabled (no key configured)",
    404: "No such model, version, endpoint, job or table",
    409: "The resource is not in a state that allows this yet",
    413: "The request body is over the size limit",
    422: "The input is not what the route expects: the detail says what was expected and "
         "what was got",
    500: "The server failed (a bug); the detail names the exception",
    502: "A backend (registry, tracking, storage) failed",
    503: "The model is not loaded yet (see Retry-After), or a backend is unreachable",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for error statuses a route returns beyond the common ones."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}


def install_contract(app: FastAPI, keyring: KeyRing) -> None:
    """Replace ``app.openapi`` with one that returns the rewritten document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 description=app.description, routes=app.routes)
            _rewrite(schema, app, keyring)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every ``APIRoute``, also inside included routers (FastAPI 0.165 wraps them)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif getattr(route, "original_router", None) is not None:
            found += _api_routes(route.original_router.routes)
    return found


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route takes on ``path`` (two routes may share one path)."""
    methods = {m for route in _api_routes(app.routes) if route.path_regex.match(path)
               for m in route.methods or ()}
    return sorted(methods)


def _rewrite(schema: dict[str, Any], app: FastAPI, keyring: KeyRing) -> None:
    for route in _api_routes(app.routes):
        if not route.include_in_schema:
            continue
        path = schema["paths"].get(route.path_format, {})
        common = _common_statuses(route.dependant)
        scope = _scope(route.dependant)
        for method in route.methods or ():
            operation = path.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            wanted = {int(s) for s in responses if s.isdigit() and int(s) >= 400} | common
            for status in sorted(wanted):
                entry = responses.setdefault(str(status), {})
                entry.setdefault("description", DESCRIPTIONS.get(status, "Error"))
                content = entry.get("content", {}).get("application/json", {})
                if not content or "HTTPValidationError" in str(content.get("schema", "")):
                    entry["content"] = {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}}}
            if scope is not None:
                operation["x-gazer-scope"] = scope
                if scope in keyring.anonymous:
                    operation["security"] = [{}, *operation.get("security", [])]
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components["Error"] = ERROR_SCHEMA


def _common_statuses(dependant: Dependant) -> set[int]:
    statuses: set[int] = {500}  # the crash handler's answer, on any route
    params = _walk(dependant, lambda d: [*d.path_params, *d.query_params, *d.header_params,
                                         *d.cookie_params, *d.body_params])
    if params:
        statuses.add(422)
    if _walk(dependant, lambda d: list(d.body_params)):
        statuses.add(413)
    if _scope(dependant) is not None:
        statuses |= {401, 403}
    return statuses


def _scope(dependant: Dependant) -> str | None:
    scopes = _walk(dependant, lambda d: [s for s in [scope_of(d.call)] if s] if d.call else [])
    return str(scopes[0]) if scopes else None


def _walk(dependant: Dependant, pick: Callable[[Dependant], list[Any]]) -> list[Any]:
    found = list(pick(dependant))
    for sub in dependant.dependencies:
        found += _walk(sub, pick)
    return found

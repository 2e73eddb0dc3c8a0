"""API keys for admin and (optionally) prediction routes, compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import Request

from gazer.errors import Forbidden, Unauthorized


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def check_key(request: Request, expected: str | None, *, required: bool) -> None:
    """Raise unless the request carries ``expected``.

    ``required`` routes (admin) are disabled outright when no key is configured.
    """
    if expected is None:
        if required:
            raise Forbidden("admin routes are disabled: set GAZER_SERVING__ADMIN_API_KEY")
        return
    given = presented_key(request)
    if given is None:
        raise Unauthorized("this route needs an API key: send 'Authorization: Bearer KEY'")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("the API key is not valid for this route")

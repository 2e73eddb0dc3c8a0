"""Scoped API keys: ``predict``, ``feedback``, ``query``, ``admin`` (admin implies the rest).

Keys come from ``serving.api_keys`` (plain or as sha256 digests, so a settings file need hold
no secret) and the ``admin_api_key``/``predict_api_key`` shorthands. A request presents its
key as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; it is hashed and compared with
every configured digest in constant time. A route declares its scope with
``dependencies=[require("predict")]``; the OpenAPI contract reads the scope from there.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from typing import Any, get_args

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from gazer.errors import Forbidden, InvalidInput, Unauthorized
from gazer.settings import ApiKey, Scope, ServingSettings

SCOPES: tuple[str, ...] = get_args(Scope)
bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="Authorization: Bearer KEY")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                              description="X-API-Key: KEY")


class KeyRing:
    """The configured keys as digests, and which scopes are open without one."""

    def __init__(self, serving: ServingSettings) -> None:
        keys = list(serving.api_keys)
        if serving.admin_api_key:
            keys.append(ApiKey(name="admin_api_key", key=serving.admin_api_key, scopes=["admin"]))
        if serving.predict_api_key:
            keys.append(ApiKey(name="predict_api_key", key=serving.predict_api_key,
                               scopes=["predict"]))
        self.keys = [(k.name, _digest(k), _expand(k.scopes)) for k in keys]
        default = [] if self.keys else ["predict", "feedback", "query"]
        self.anonymous = frozenset(
            default if serving.anonymous_scopes is None else _expand(serving.anonymous_scopes))

    def check(self, presented: str | None, scope: str) -> str | None:
        """The name of the key that grants ``scope`` (``None``: open anonymously); raises
        ``Unauthorized`` (no or unknown key) or ``Forbidden`` (key without the scope)."""
        if presented is None:
            if scope in self.anonymous:
                return None
            if not self.keys:
                needed = "admin" if scope == "admin" else f"{scope} (or admin)"
                raise Forbidden(f"{scope} routes are disabled: configure a key with the "
                                f"{needed} scope in GAZER_SERVING__API_KEYS "
                                f"(see docs/security.md)")
            raise Unauthorized(f"this route needs an API key with the {scope!r} scope: send "
                               f"'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
        given = hashlib.sha256(presented.encode()).digest()
        match = None
        for name, digest, scopes in self.keys:  # no early exit: same time for every key
            if hmac.compare_digest(given, digest):
                match = (name, scopes)
        if match is None:
            raise Unauthorized(f"the API key is not valid: it matches no configured key; "
                               f"this route needs one with the {scope!r} scope")
        if scope not in match[1]:
            raise Forbidden(f"the API key {match[0]!r} lacks the {scope!r} scope; it has "
                            f"{', '.join(sorted(match[1]))}")
        return match[0]


def _digest(key: ApiKey) -> bytes:
    if key.sha256 is not None:
        return bytes.fromhex(key.sha256)
    return hashlib.sha256(str(key.key).encode()).digest()


def _expand(scopes: list[Scope] | list[str]) -> frozenset[str]:
    return frozenset(SCOPES) if "admin" in scopes else frozenset(scopes)


def presented_key(credentials: HTTPAuthorizationCredentials | None, header: str | None
                  ) -> str | None:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials.strip()
    return header


def require(scope: Scope) -> Any:
    """A route dependency: the request must be allowed ``scope``."""

    # async: a hash and a dict look-up, not worth a worker-thread hop on every request
    async def check(request: Request,
                    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                    header: str | None = Depends(api_key_header)) -> str | None:
        ring: KeyRing = request.app.state.keyring
        name = ring.check(presented_key(credentials, header), scope)
        request.scope.setdefault("state", {})["api_key"] = name
        return name

    check.scope = scope  # type: ignore[attr-defined]  # read by the OpenAPI contract
    return Depends(check)


def scope_of(dependency: Callable[..., Any]) -> str | None:
    return getattr(dependency, "scope", None)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_public_bind(host: str, serving: ServingSettings) -> None:
    """Refuse to listen beyond loopback with no key configured, unless told to."""
    if is_loopback(host) or serving.allow_anonymous or KeyRing(serving).keys:
        return
    raise InvalidInput(
        f"refusing to serve on {host}: it is reachable from other machines and no API key is "
        f"configured. Set keys, e.g. GAZER_SERVING__API_KEYS='[{{\"name\": \"ops\", "
        f"\"sha256\": \"<sha256 of the key>\", \"scopes\": [\"admin\"]}}]' (docs/security.md), "
        f"or pass --allow-anonymous to serve openly")

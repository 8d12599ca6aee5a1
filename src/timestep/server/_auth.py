"""Token authentication and cross-site request protection for the inbox.

Every request needs the inbox token, sent as ``Authorization: Bearer <token>`` or as the
cookie that visiting ``/?token=<token>`` sets. State-changing requests (POST) made with the cookie
must also carry the CSRF token (``X-CSRF-Token``, derived from the inbox token and embedded in the
page); any POST whose ``Origin`` is not the server's own origin is refused, whatever its
credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE_NAME = "timestep_inbox_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    """A fresh random inbox token."""
    return secrets.token_urlsafe(32)


def csrf_token(token: str) -> str:
    """The CSRF token that goes with an inbox token."""
    return hmac.new(token.encode(), b"timestep-inbox-csrf", hashlib.sha256).hexdigest()


def _bearer(headers: Headers) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, credential = value.partition(" ")
    if scheme.lower() == "bearer" and credential:
        return credential.strip()
    return None


def _same_origin(origin: str, headers: Headers, scheme: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == scheme and parts.netloc == headers.get("host", "")


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status)


class TokenAuthMiddleware:
    """Refuse requests without the inbox token (401) and cross-site state changes (403)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token
        self.csrf = csrf_token(token)

    def _matches(self, candidate: str | None, expected: str) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode(), expected.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        method = scope["method"]
        bearer = _bearer(conn.headers)
        cookie = conn.cookies.get(COOKIE_NAME)
        query_token = conn.query_params.get("token") if conn.url.path == "/" else None
        if self._matches(bearer, self.token):
            via = "bearer"
        elif self._matches(cookie, self.token):
            via = "cookie"
        elif method in _SAFE_METHODS and self._matches(query_token, self.token):
            via = "query"
        else:
            reason = "a wrong token" if (bearer or cookie or query_token) else "no token"
            response = _error(
                401,
                "unauthorized",
                f"request has {reason}; send 'Authorization: Bearer <token>' or open the URL "
                "printed by 'timestep serve'",
            )
            await response(scope, receive, send)
            return
        if method not in _SAFE_METHODS:
            origin = conn.headers.get("origin")
            if origin is not None and not _same_origin(origin, conn.headers, conn.url.scheme):
                response = _error(403, "cross_site", f"cross-site request from {origin} refused")
                await response(scope, receive, send)
                return
            if via == "cookie" and not self._matches(conn.headers.get(CSRF_HEADER), self.csrf):
                response = _error(
                    403,
                    "csrf",
                    "missing or wrong X-CSRF-Token header for a cookie-authenticated request",
                )
                await response(scope, receive, send)
                return
        scope.setdefault("state", {})["auth_via"] = via
        await self.app(scope, receive, send)

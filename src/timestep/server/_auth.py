"""Token authentication and cross-site request protection for the inbox.

The inbox has one or more users, each with a token (``name:token`` pairs; a single anonymous token
is the user ``inbox``). A request carries a token as ``Authorization: Bearer <token>`` or as the
cookie that the login page (or visiting ``/?token=<token>``) sets. State-changing requests made
with the cookie must also carry the CSRF token (``X-CSRF-Token``, derived from the user's token and
embedded in the page); any POST whose ``Origin`` is not the server's own origin is refused,
whatever its credentials. A browser without credentials asking for a page is sent to ``/login``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .._errors import ConfigurationError

COOKIE_NAME = "timestep_inbox_token"
CSRF_HEADER = "x-csrf-token"
MIN_TOKEN_LENGTH = 16
ANONYMOUS = "inbox"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN_PATHS = frozenset({"/login", "/logout"})  # signing in or out needs no token


@dataclass(frozen=True)
class User:
    """An inbox user: decisions made with ``token`` are recorded as made by ``name``."""

    name: str
    token: str
    named: bool = True


def new_token() -> str:
    """A fresh random inbox token."""
    return secrets.token_urlsafe(32)


def csrf_token(token: str) -> str:
    """The CSRF token that goes with an inbox token."""
    return hmac.new(token.encode(), b"timestep-inbox-csrf", hashlib.sha256).hexdigest()


def check_token(token: str, source: str = "the inbox token") -> str:
    """``token`` stripped, or ``ConfigurationError`` when it is too short to be a secret."""
    token = token.strip()
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(
            f"{source} has {len(token)} characters; use at least {MIN_TOKEN_LENGTH} "
            "(e.g. from 'python -c \"import secrets; print(secrets.token_urlsafe(32))\"')"
        )
    return token


def parse_users(text: str, source: str = "users") -> list[User]:
    """Parse ``name:token`` pairs (one a line or comma-separated; ``#`` starts a comment)."""
    users: list[User] = []
    seen: set[str] = set()
    for raw in text.replace(",", "\n").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, token = line.partition(":")
        name = name.strip()
        if not sep or not name:
            raise ConfigurationError(f"{source}: {line[:20]!r}… is not of the form name:token")
        if name in seen:
            raise ConfigurationError(f"{source}: user {name!r} is listed twice")
        seen.add(name)
        users.append(User(name, check_token(token, f"{source}: the token of {name!r}")))
    if not users:
        raise ConfigurationError(f"{source}: no name:token pairs found")
    if len({u.token for u in users}) != len(users):
        raise ConfigurationError(f"{source}: two users share a token")
    return users


def read_secret_file(path: Path) -> str:
    """A token or users file's text, with a typed error naming the file when unreadable."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read {path}: {error}") from None


def _bearer(headers: Headers) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, credential = value.partition(" ")
    if scheme.lower() == "bearer" and credential:
        return credential.strip()
    return None


def same_origin(origin: str, headers: Headers, scheme: str) -> bool:
    """Whether ``origin`` is this server's own (scheme and host as the request names them)."""
    parts = urlsplit(origin)
    return parts.scheme == scheme and parts.netloc == headers.get("host", "")


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _wants_page(conn: HTTPConnection) -> bool:
    path = conn.url.path
    return conn.scope["method"] == "GET" and (path == "/" or path.startswith("/runs/"))


class Users:
    """The inbox's users, looked up by token in constant time per user."""

    def __init__(self, users: Mapping[str, str] | None = None, token: str | None = None) -> None:
        entries = [User(name, tok) for name, tok in (users or {}).items()]
        if token is not None:
            entries.append(User(ANONYMOUS, token, named=False))
        if not entries:
            raise ConfigurationError("the inbox needs a token or at least one name:token user")
        self.entries = entries

    def find(self, candidate: str | None) -> User | None:
        """The user whose token is ``candidate``."""
        if not candidate:
            return None
        found = None
        for user in self.entries:
            if hmac.compare_digest(candidate.encode(), user.token.encode()):
                found = user
        return found


class TokenAuthMiddleware:
    """Refuse requests without a user's token (401, or a redirect to the login page for a
    browser) and cross-site state changes (403)."""

    def __init__(self, app: ASGIApp, users: Users) -> None:
        self.app = app
        self.users = users

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        method = scope["method"]
        if conn.url.path in _OPEN_PATHS:
            if method not in _SAFE_METHODS:
                origin = conn.headers.get("origin")
                if origin is not None and not same_origin(origin, conn.headers, conn.url.scheme):
                    response = _error(
                        403, "cross_site", f"cross-site request from {origin} refused"
                    )
                    await response(scope, receive, send)
                    return
            await self.app(scope, receive, send)
            return
        bearer = _bearer(conn.headers)
        cookie = conn.cookies.get(COOKIE_NAME)
        query_token = conn.query_params.get("token") if conn.url.path == "/" else None
        user = self.users.find(bearer)
        via = "bearer"
        if user is None:
            user, via = self.users.find(cookie), "cookie"
        if user is None and method in _SAFE_METHODS:
            user, via = self.users.find(query_token), "query"
        if user is None:
            if _wants_page(conn) and not bearer:
                raw = scope.get("raw_path") or conn.url.path.encode()
                path = raw.decode("latin-1")  # as sent: keeps %2F in run ids
                target = path + (f"?{conn.url.query}" if conn.url.query else "")
                redirect = RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
                await redirect(scope, receive, send)
                return
            reason = "a wrong token" if (bearer or cookie or query_token) else "no token"
            response = _error(
                401,
                "unauthorized",
                f"request has {reason}; send 'Authorization: Bearer <token>' or sign in at /login",
            )
            await response(scope, receive, send)
            return
        if method not in _SAFE_METHODS:
            origin = conn.headers.get("origin")
            if origin is not None and not same_origin(origin, conn.headers, conn.url.scheme):
                response = _error(403, "cross_site", f"cross-site request from {origin} refused")
                await response(scope, receive, send)
                return
            if via == "cookie" and not hmac.compare_digest(
                conn.headers.get(CSRF_HEADER, "").encode(), csrf_token(user.token).encode()
            ):
                response = _error(
                    403,
                    "csrf",
                    "missing or wrong X-CSRF-Token header for a cookie-authenticated request",
                )
                await response(scope, receive, send)
                return
        state = scope.setdefault("state", {})
        state["auth_via"] = via
        state["user"] = user
        await self.app(scope, receive, send)

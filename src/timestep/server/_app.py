"""The approvals inbox: a Starlette app serving the JSON API, live events and the web page."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from .._errors import (
    ApprovalAlreadyDecidedError,
    ApprovalError,
    RunNotFoundError,
    UnknownCallError,
)
from ..runs import AgentRegistry, list_summaries, pending_approvals, resume_run, run_detail
from ..state import RUN_STATUSES, DecisionKind, undecided
from ._auth import COOKIE_NAME, TokenAuthMiddleware, csrf_token
from ._openapi import openapi_schema

if TYPE_CHECKING:
    from agents import Agent

    from ..state import RunStateStore

logger = logging.getLogger("timestep.server")
_KEEPALIVE_SECONDS = 15.0


class _Changes:
    """Wakes event streams when this process changes something (others are seen by polling)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _page(token: str) -> str:
    html = resources.files(__package__).joinpath("static/index.html").read_text("utf-8")
    return html.replace("{{CSRF_TOKEN}}", csrf_token(token))


class _Inbox:
    def __init__(
        self,
        store: RunStateStore,
        token: str,
        registry: AgentRegistry,
        poll_interval: float,
    ) -> None:
        self.store = store
        self.token = token
        self.registry = registry
        self.poll_interval = poll_interval
        self.changes = _Changes()
        self.tasks: set[asyncio.Task[None]] = set()
        self.resuming: set[str] = set()

    async def index(self, request: Request) -> Response:
        query_token = request.query_params.get("token", "")
        if query_token and hmac.compare_digest(query_token.encode(), self.token.encode()):
            response: Response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE_NAME, self.token, httponly=True, samesite="strict", path="/")
            return response
        return HTMLResponse(_page(self.token), headers={"Cache-Control": "no-store"})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_schema())

    async def approvals(self, request: Request) -> Response:
        return JSONResponse({"approvals": await pending_approvals(self.store)})

    async def runs(self, request: Request) -> Response:
        status = request.query_params.get("status")
        if status is not None and status not in RUN_STATUSES:
            return _error(400, "bad_request", f"status must be one of {', '.join(RUN_STATUSES)}")
        return JSONResponse({"runs": await list_summaries(self.store, status)})

    async def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            return JSONResponse(await run_detail(self.store, run_id))
        except RunNotFoundError as error:
            return _error(404, "not_found", str(error))

    async def _decide(self, request: Request, decision: DecisionKind) -> Response:
        run_id = request.path_params["run_id"]
        call_id = request.path_params["call_id"]
        body: Any = {}
        raw = await request.body()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "bad_request", "request body is not valid JSON")
        if not isinstance(body, dict):
            return _error(400, "bad_request", "request body must be a JSON object")
        reason = body.get("reason")
        decided_by = body.get("decided_by")
        always = body.get("always", False)
        if not isinstance(reason, str | None) or not isinstance(decided_by, str | None):
            return _error(400, "bad_request", "'reason' and 'decided_by' must be strings")
        if not isinstance(always, bool):
            return _error(400, "bad_request", "'always' must be a boolean")
        if decision == "reject" and not (reason and reason.strip()):
            return _error(400, "bad_request", "a rejection needs a non-empty 'reason'")
        try:
            outcome = await self.store.decide(
                run_id,
                call_id,
                decision,
                reason=reason,
                decided_by=decided_by or "inbox",
                always=always,
            )
        except (RunNotFoundError, UnknownCallError) as error:
            return _error(404, "not_found", str(error))
        except ApprovalAlreadyDecidedError as error:
            return _error(409, "already_decided", str(error))
        except ApprovalError as error:
            return _error(409, "not_waiting", str(error))
        self.changes.notify()
        resuming = await self._maybe_resume(run_id)
        return JSONResponse({"decision": outcome.record.to_dict(), "resuming": resuming})

    async def approve(self, request: Request) -> Response:
        return await self._decide(request, "approve")

    async def reject(self, request: Request) -> Response:
        return await self._decide(request, "reject")

    async def _maybe_resume(self, run_id: str) -> bool:
        """Resume the run in the background once all its approvals are decided."""
        if not self.registry or run_id in self.resuming:
            return False
        latest = await self.store.get(run_id)
        if undecided(latest, await self.store.decisions(run_id)):
            return False
        agent = self.registry.find(latest.agent_name)
        if agent is None:
            return False
        self.resuming.add(run_id)
        task = asyncio.create_task(self._resume(run_id, agent))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    async def _resume(self, run_id: str, agent: Agent[Any]) -> None:
        try:
            await resume_run(self.store, run_id, agent)
        except Exception:
            logger.exception("resuming run %s failed", run_id)
        finally:
            self.resuming.discard(run_id)
            self.changes.notify()

    async def events(self, request: Request) -> Response:
        return StreamingResponse(
            self._event_stream(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _event_stream(self, request: Request) -> AsyncIterator[str]:
        last: dict[str, str] = {}
        yield "retry: 2000\n\n"
        quiet = 0.0
        seen: object = None
        while True:
            current = await self.store.change_marker()
            snapshot = {}
            if current != seen:
                seen = current
                snapshot = {
                    "approvals": {"approvals": await pending_approvals(self.store)},
                    "runs": {"runs": await list_summaries(self.store)},
                }
            for name, payload in snapshot.items():
                text = json.dumps(payload, separators=(",", ":"))
                if last.get(name) != text:
                    last[name] = text
                    quiet = 0.0
                    yield f"event: {name}\ndata: {text}\n\n"
            if quiet >= _KEEPALIVE_SECONDS:
                quiet = 0.0
                yield ": keep-alive\n\n"  # a comment line: keeps proxies from closing the stream
            if await request.is_disconnected():
                return
            await self.changes.wait(self.poll_interval)
            quiet += self.poll_interval


def create_app(
    store: RunStateStore,
    *,
    token: str,
    agents: list[Agent[Any]] | None = None,
    poll_interval: float = 1.0,
) -> Starlette:
    """The inbox app for ``store``; every request must carry ``token``.

    With ``agents``, a run whose approvals are all decided is resumed in the background.
    """
    inbox = _Inbox(store, token, AgentRegistry(agents or []), poll_interval)
    routes = [
        Route("/", inbox.index, methods=["GET"]),
        Route("/openapi.json", inbox.openapi, methods=["GET"]),
        Route("/api/approvals", inbox.approvals, methods=["GET"]),
        Route("/api/events", inbox.events, methods=["GET"]),
        Route("/api/runs", inbox.runs, methods=["GET"]),
        Route("/api/runs/{run_id}", inbox.run, methods=["GET"]),
        Route("/api/runs/{run_id}/approvals/{call_id}/approve", inbox.approve, methods=["POST"]),
        Route("/api/runs/{run_id}/approvals/{call_id}/reject", inbox.reject, methods=["POST"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(TokenAuthMiddleware, token=token)])
    app.state.inbox = inbox
    return app
